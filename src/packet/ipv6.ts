/**
 * IPv6 fixed headers (RFC 8200 section 3): encode and decode. Extension headers are not interpreted:
 * they are the start of the payload, and `nextHeader` says which comes first. Values are host numbers;
 * the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { PacketError, outOfRange } from './errors.js';
import { asBuffer, formatIPv6, need, obj, optUint, parseIPv6, payloadOf, uint } from './util.js';

/** The IPv6 fixed header's length: 40 bytes. */
export const HEADER_LENGTH = 40;

/**
 * The fields of an IPv6 header, for {@link encode}. `nextHeader`, `source` and `destination` are
 * required; `payloadLength` is computed unless given, and a given value is written verbatim.
 */
export interface Header {
  /** The version field, 4 bits; default 6. */
  version?: number;
  /** Traffic class, 8 bits (DSCP in the high 6 bits, ECN in the low 2); default 0. */
  trafficClass?: number;
  /** Flow label, 20 bits; default 0. */
  flowLabel?: number;
  /** The length in bytes of everything after the 40-byte header, 16 bits; default the payload's length. */
  payloadLength?: number;
  /** The type of the header after this one (6 TCP, 17 UDP, 58 ICMPv6, or an extension header), 8 bits. */
  nextHeader: number;
  /** Hop limit, 8 bits; default 64. */
  hopLimit?: number;
  /** Source address, e.g. '2001:db8::1'. */
  source: string;
  /** Destination address. */
  destination: string;
}

/** A decoded IPv6 packet: the fixed header's fields as on the wire, and the payload. */
export interface Packet extends Required<Header> {
  /**
   * The `payloadLength` bytes after the fixed header (extension headers included): a view into the
   * decoded buffer, not a copy. Bytes past them (such as Ethernet padding) are not part of it.
   */
  payload: Buffer;
}

/**
 * Builds an IPv6 packet: the 40-byte fixed header, then `payload`.
 * @param header - the header fields.
 * @param payload - the bytes after the header; none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width or a payload longer than 65535
 *   bytes when `payloadLength` is computed (jumbograms are not supported); TypeError
 *   `ERR_INVALID_ARG_VALUE` for an address that is not an IPv6 literal.
 * @example
 * const packet = ipv6.encode({ nextHeader: 58, source: 'fe80::1', destination: 'ff02::1' }, message);
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  let payloadLength: number;
  if (header.payloadLength === undefined) {
    payloadLength = body.length;
    if (payloadLength > 0xffff) throw outOfRange('payloadLength', 'at most 65535 (the payload is too long)', payloadLength);
  } else {
    payloadLength = uint(header.payloadLength, 'payloadLength', 0xffff);
  }
  const out = Buffer.alloc(HEADER_LENGTH + body.length);
  const version = optUint(header.version, 'version', 15, 6);
  const trafficClass = optUint(header.trafficClass, 'trafficClass', 0xff, 0);
  const flowLabel = optUint(header.flowLabel, 'flowLabel', 0xfffff, 0);
  out.writeUInt32BE(((version << 28) | (trafficClass << 20) | flowLabel) >>> 0, 0);
  out.writeUInt16BE(payloadLength, 4);
  out[6] = uint(header.nextHeader, 'nextHeader', 0xff);
  out[7] = optUint(header.hopLimit, 'hopLimit', 0xff, 64);
  parseIPv6(header.source, 'source').copy(out, 8);
  parseIPv6(header.destination, 'destination').copy(out, 24);
  body.copy(out, HEADER_LENGTH);
  return out;
}

/**
 * Parses an IPv6 packet's fixed header. Never reads outside `buffer`; bytes after the payload are ignored.
 * @param buffer - the packet, from its first header byte.
 * @returns the header fields and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) naming the field: `header` for fewer than 40
 *   bytes, `version` other than 6, `payloadLength` beyond the buffer.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('ipv6', 'header', b.length, 0, HEADER_LENGTH);
  const first = b.readUInt32BE(0);
  const version = first >>> 28;
  if (version !== 6) throw new PacketError('ipv6', 'version', 0, `is ${version}, not 6`);
  const payloadLength = b.readUInt16BE(4);
  if (HEADER_LENGTH + payloadLength > b.length) {
    throw new PacketError('ipv6', 'payloadLength', 4, `is ${payloadLength}, but only ${b.length - HEADER_LENGTH} bytes follow the header`);
  }
  return {
    version,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader: b[6]!,
    hopLimit: b[7]!,
    source: formatIPv6(b, 8),
    destination: formatIPv6(b, 24),
    payload: b.subarray(HEADER_LENGTH, HEADER_LENGTH + payloadLength),
  };
}
