/**
 * UDP (RFC 768): encode and decode, with the pseudo-header checksum over IPv4 or IPv6. Values are
 * host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { type PseudoHeader, pseudoHeaderChecksum } from './checksum.js';
import { PacketError, outOfRange } from './errors.js';
import { asBuffer, need, obj, optObj, optUint, payloadOf, uint } from './util.js';

export type { PseudoHeader } from './checksum.js';

/** The IP protocol number of UDP: 17. */
export const PROTOCOL = 17;

/** The UDP header length: 8 bytes. */
export const HEADER_LENGTH = 8;

/** The fields of a UDP header, for {@link encode}. */
export interface Header {
  /** Source port, 16 bits (0 when unused). */
  sourcePort: number;
  /** Destination port, 16 bits. */
  destinationPort: number;
  /** Header plus payload length in bytes, 16 bits; default the bytes written. Verbatim when given. */
  length?: number;
  /**
   * The checksum, 16 bits, written verbatim when given. Otherwise it is computed when the encoder is
   * given the pseudo-header addresses (a computed 0 is sent as 0xffff, RFC 768), and left 0 ("no
   * checksum", allowed over IPv4 only) when not.
   */
  checksum?: number;
}

/** A decoded UDP datagram. */
export interface Packet extends Required<Header> {
  /**
   * Whether the checksum verifies under the pseudo-header (see {@link verifyChecksum}); present only
   * when `decode` was given one. A datagram this host sent, read back on `lo` (or before a NIC that
   * computes checksums) reads `false`: the kernel left a partial checksum for hardware to finish
   * (CHECKSUM_PARTIAL), which on loopback never happens; see `tcp.Packet.checksumValid`.
   */
  checksumValid?: boolean;
  /** The bytes from the end of the header to `length`: a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

/**
 * Builds a UDP datagram: the 8-byte header, then `payload`.
 * @param header - the header fields.
 * @param payload - the data; none by default.
 * @param pseudo - the IP source and destination, to compute the checksum (unless `header.checksum` is given).
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width or a datagram longer than 65535
 *   bytes when `length` is computed; TypeError `ERR_INVALID_ARG_VALUE` for a bad address.
 * @example
 * const pseudo = { source: '192.0.2.1', destination: '192.0.2.2' };
 * const datagram = udp.encode({ sourcePort: 5000, destinationPort: 53 }, query, pseudo);
 */
export function encode(header: Header, payload?: Uint8Array, pseudo?: PseudoHeader): Buffer {
  obj(header, 'header');
  optObj(pseudo, 'pseudo');
  const body = payloadOf(payload);
  const out = Buffer.alloc(HEADER_LENGTH + body.length);
  out.writeUInt16BE(uint(header.sourcePort, 'sourcePort', 0xffff), 0);
  out.writeUInt16BE(uint(header.destinationPort, 'destinationPort', 0xffff), 2);
  let length: number;
  if (header.length === undefined) {
    length = out.length;
    if (length > 0xffff) throw outOfRange('length', 'at most 65535 (the payload is too long)', length);
  } else {
    length = uint(header.length, 'length', 0xffff);
  }
  out.writeUInt16BE(length, 4);
  body.copy(out, HEADER_LENGTH);
  let sum = optUint(header.checksum, 'checksum', 0xffff, 0);
  if (header.checksum === undefined && pseudo !== undefined) sum = pseudoHeaderChecksum(pseudo, PROTOCOL, out) || 0xffff;
  out.writeUInt16BE(sum, 6);
  return out;
}

/** Checks the header and its length field; returns the buffer and the length. */
function checked(buffer: Uint8Array): [Buffer, number] {
  const b = asBuffer(buffer, 'buffer');
  need('udp', 'header', b.length, 0, HEADER_LENGTH);
  const length = b.readUInt16BE(4);
  if (length < HEADER_LENGTH) throw new PacketError('udp', 'length', 4, `is ${length}, less than the 8-byte header`);
  if (length > b.length) throw new PacketError('udp', 'length', 4, `is ${length}, but the buffer has ${b.length} bytes`);
  return [b, length];
}

function verify(b: Buffer, length: number, pseudo: PseudoHeader): boolean {
  const valid = pseudoHeaderChecksum(pseudo, PROTOCOL, b.subarray(0, length)) === 0;
  if (b.readUInt16BE(6) === 0) return !pseudo.source.includes(':');
  return valid;
}

/**
 * Parses a UDP datagram. Never reads outside `buffer`; bytes after `length` are ignored.
 * @param buffer - the datagram, from its first header byte (the payload of an IP packet).
 * @param pseudo - the IP addresses it travelled between; when given, `checksumValid` is set.
 * @returns the header fields and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 8 bytes, `length` below 8
 *   or beyond the buffer.
 */
export function decode(buffer: Uint8Array, pseudo?: PseudoHeader): Packet {
  const [b, length] = checked(buffer);
  optObj(pseudo, 'pseudo');
  const out: Packet = {
    sourcePort: b.readUInt16BE(0),
    destinationPort: b.readUInt16BE(2),
    length,
    checksum: b.readUInt16BE(6),
    payload: b.subarray(HEADER_LENGTH, length),
  };
  if (pseudo !== undefined) out.checksumValid = verify(b, length, pseudo);
  return out;
}

/**
 * Whether a UDP datagram's checksum verifies under its pseudo-header, over the `length` bytes its
 * header gives. A zero checksum field means "no checksum": accepted over IPv4 (RFC 768), rejected over
 * IPv6 (RFC 8200 section 8.1).
 * @param buffer - the datagram.
 * @param pseudo - the IP source and destination.
 * @throws PacketError as {@link decode}.
 */
export function verifyChecksum(buffer: Uint8Array, pseudo: PseudoHeader): boolean {
  const [b, length] = checked(buffer);
  return verify(b, length, obj(pseudo, 'pseudo'));
}
