/**
 * ICMP for IPv4 (RFC 792): encode and decode the 8-byte header and its payload. Values are host
 * numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { checksum } from './checksum.js';
import { type BaseHeader, decodeBase, encodeBase, restOf } from './icmpbase.js';
import { obj, parseIPv4 } from './util.js';

/** Type 0, echo reply. */
export const ECHO_REPLY = 0;
/** Type 3, destination unreachable (code 4: fragmentation needed, with the next-hop MTU). */
export const DEST_UNREACH = 3;
/** Type 5, redirect (with the gateway address). */
export const REDIRECT = 5;
/** Type 8, echo request. */
export const ECHO_REQUEST = 8;
/** Type 11, time exceeded. */
export const TIME_EXCEEDED = 11;
/** Type 12, parameter problem (with a pointer to the faulty byte). */
export const PARAMETER_PROBLEM = 12;
/** Type 13, timestamp request. */
export const TIMESTAMP = 13;
/** Type 14, timestamp reply. */
export const TIMESTAMP_REPLY = 14;

/** The ICMP header length: 8 bytes. */
export const HEADER_LENGTH = 8;

/** Types whose rest of header is an identifier and a sequence number. */
const ECHO_LIKE = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

/**
 * The fields of an ICMP header, for {@link encode}. The 32-bit word after the checksum is
 * `restOfHeader` when given; otherwise it is built from whichever one of `identifier`/`sequence`,
 * `gateway`, `mtu` or `pointer` is given (giving two of them is an error), or 0.
 */
export interface Header {
  /** Message type, 8 bits (8 echo request, 0 echo reply, 3 destination unreachable, ...). */
  type: number;
  /** Message code, 8 bits; default 0. */
  code?: number;
  /** The checksum, 16 bits; default computed over the header and payload. Verbatim when given. */
  checksum?: number;
  /** The whole 32-bit word after the checksum, written verbatim; it overrides the typed fields below. */
  restOfHeader?: number;
  /** Echo, timestamp, information and address-mask messages: the identifier, 16 bits; default 0. */
  identifier?: number;
  /** Echo, timestamp, information and address-mask messages: the sequence number, 16 bits; default 0. */
  sequence?: number;
  /** Redirect (type 5): the gateway address, e.g. '192.0.2.1'. */
  gateway?: string;
  /** Destination unreachable, fragmentation needed (type 3 code 4): next-hop MTU, 16 bits (RFC 1191). */
  mtu?: number;
  /** Parameter problem (type 12): the offset of the faulty byte in the original datagram, 8 bits. */
  pointer?: number;
}

/**
 * A decoded ICMP message. The typed views of the rest of header are set only for the types they
 * belong to: `identifier`/`sequence` for echo (0, 8), timestamp (13, 14), information (15, 16) and
 * address mask (17, 18); `gateway` for redirect (5); `mtu` for type 3 code 4; `pointer` for type 12.
 */
export interface Packet {
  /** Message type. */
  type: number;
  /** Message code. */
  code: number;
  /** The checksum field as on the wire. */
  checksum: number;
  /** Whether the checksum over the whole message verifies. */
  checksumValid: boolean;
  /** The 32-bit word after the checksum. */
  restOfHeader: number;
  /** Identifier (echo-like types). */
  identifier?: number;
  /** Sequence number (echo-like types). */
  sequence?: number;
  /** Gateway address (redirect). */
  gateway?: string;
  /** Next-hop MTU (fragmentation needed). */
  mtu?: number;
  /** Pointer to the faulty byte (parameter problem). */
  pointer?: number;
  /**
   * Everything after the 8-byte header (echo data, or the original IP header and its first bytes for
   * errors): a view into the decoded buffer, not a copy.
   */
  payload: Buffer;
}

/**
 * Builds an ICMP message: the 8-byte header, then `payload`.
 * @param header - the header fields.
 * @param payload - the bytes after the header (echo data, ...); none by default.
 * @returns a new Buffer, to send on a `SOCK_RAW`/`IPPROTO_ICMP` socket or as an IPv4 payload.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width; TypeError
 *   `ERR_INVALID_ARG_VALUE` for a bad gateway address or two typed rest-of-header groups.
 * @example
 * const ping = icmp.encode({ type: icmp.ECHO_REQUEST, identifier: 1, sequence: 1 }, Buffer.from('hi'));
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const extra: [string, number] | undefined =
    header.gateway === undefined ? undefined : ['gateway', parseIPv4(header.gateway, 'gateway').readUInt32BE(0)];
  const rest = restOf(header as BaseHeader, 0xffff, 24, 0xff, extra);
  return encodeBase(header, rest, payload, (message) => checksum(message));
}

/**
 * Parses an ICMP message. Never reads outside `buffer`.
 * @param buffer - the message, from its type byte (the payload of an IPv4 packet).
 * @returns the fields, whether the checksum verifies, and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) field `header` for fewer than 8 bytes.
 */
export function decode(buffer: Uint8Array): Packet {
  const [b, base] = decodeBase('icmp', buffer);
  const out: Packet = { ...base, checksumValid: checksum(b) === 0 };
  const rest = base.restOfHeader;
  if (ECHO_LIKE.has(base.type)) {
    out.identifier = rest >>> 16;
    out.sequence = rest & 0xffff;
  } else if (base.type === REDIRECT) {
    out.gateway = `${rest >>> 24}.${(rest >>> 16) & 0xff}.${(rest >>> 8) & 0xff}.${rest & 0xff}`;
  } else if (base.type === DEST_UNREACH && base.code === 4) {
    out.mtu = rest & 0xffff;
  } else if (base.type === PARAMETER_PROBLEM) {
    out.pointer = rest >>> 24;
  }
  return out;
}
