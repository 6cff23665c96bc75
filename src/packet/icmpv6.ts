/**
 * ICMPv6 (RFC 4443): encode and decode the 8-byte header and its payload, with the pseudo-header
 * checksum. Values are host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { type PseudoHeader, pseudoHeaderChecksum } from './checksum.js';
import { type BaseHeader, decodeBase, encodeBase, restOf } from './icmpbase.js';
import { obj, optObj } from './util.js';

export type { PseudoHeader } from './checksum.js';

/** The IP protocol (next header) number of ICMPv6: 58. */
export const PROTOCOL = 58;

/** Type 1, destination unreachable. */
export const DEST_UNREACH = 1;
/** Type 2, packet too big (with the MTU). */
export const PACKET_TOO_BIG = 2;
/** Type 3, time exceeded. */
export const TIME_EXCEEDED = 3;
/** Type 4, parameter problem (with a pointer to the faulty byte). */
export const PARAMETER_PROBLEM = 4;
/** Type 128, echo request. */
export const ECHO_REQUEST = 128;
/** Type 129, echo reply. */
export const ECHO_REPLY = 129;
/** Type 133, router solicitation (RFC 4861). */
export const ROUTER_SOLICITATION = 133;
/** Type 134, router advertisement (RFC 4861). */
export const ROUTER_ADVERTISEMENT = 134;
/** Type 135, neighbor solicitation (RFC 4861). */
export const NEIGHBOR_SOLICITATION = 135;
/** Type 136, neighbor advertisement (RFC 4861). */
export const NEIGHBOR_ADVERTISEMENT = 136;
/** Type 137, redirect (RFC 4861). */
export const REDIRECT = 137;

/** The ICMPv6 header length: 8 bytes. */
export const HEADER_LENGTH = 8;

/**
 * The fields of an ICMPv6 header, for {@link encode}. The 32-bit word after the checksum is
 * `restOfHeader` when given; otherwise it is built from whichever one of `identifier`/`sequence`,
 * `mtu` or `pointer` is given (giving two of them is an error), or 0.
 */
export interface Header {
  /** Message type, 8 bits (128 echo request, 129 echo reply, 1 destination unreachable, ...). */
  type: number;
  /** Message code, 8 bits; default 0. */
  code?: number;
  /**
   * The checksum, 16 bits, written verbatim when given. Otherwise it is computed when the encoder is
   * given the pseudo-header addresses, and left 0 when not (a `SOCK_RAW`/`IPPROTO_ICMPV6` socket has
   * the kernel fill it in).
   */
  checksum?: number;
  /** The whole 32-bit word after the checksum, written verbatim; it overrides the typed fields below. */
  restOfHeader?: number;
  /** Echo request and reply: the identifier, 16 bits; default 0. */
  identifier?: number;
  /** Echo request and reply: the sequence number, 16 bits; default 0. */
  sequence?: number;
  /** Packet too big (type 2): the MTU of the next-hop link, 32 bits. */
  mtu?: number;
  /** Parameter problem (type 4): the offset of the faulty byte in the original packet, 32 bits. */
  pointer?: number;
}

/**
 * A decoded ICMPv6 message. The typed views of the rest of header are set only for the types they
 * belong to: `identifier`/`sequence` for echo (128, 129), `mtu` for packet too big (2), `pointer`
 * for parameter problem (4).
 */
export interface Packet {
  /** Message type. */
  type: number;
  /** Message code. */
  code: number;
  /** The checksum field as on the wire. */
  checksum: number;
  /** Whether the checksum verifies under the pseudo-header; present only when `decode` was given one. */
  checksumValid?: boolean;
  /** The 32-bit word after the checksum (for neighbor discovery, its flags and reserved bits). */
  restOfHeader: number;
  /** Identifier (echo). */
  identifier?: number;
  /** Sequence number (echo). */
  sequence?: number;
  /** MTU (packet too big). */
  mtu?: number;
  /** Pointer to the faulty byte (parameter problem). */
  pointer?: number;
  /** Everything after the 8-byte header: a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

/**
 * Builds an ICMPv6 message: the 8-byte header, then `payload`.
 * @param header - the header fields.
 * @param payload - the bytes after the header; none by default.
 * @param pseudo - the IPv6 source and destination, to compute the checksum (unless `header.checksum`
 *   is given); without them the checksum field is 0.
 * @returns a new Buffer, to send on a `SOCK_RAW`/`IPPROTO_ICMPV6` socket or as an IPv6 payload.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width; TypeError
 *   `ERR_INVALID_ARG_VALUE` for a bad address or two typed rest-of-header groups.
 * @example
 * const ping = icmpv6.encode({ type: icmpv6.ECHO_REQUEST, identifier: 1, sequence: 1 }, data, { source: '::1', destination: '::1' });
 */
export function encode(header: Header, payload?: Uint8Array, pseudo?: PseudoHeader): Buffer {
  obj(header, 'header');
  optObj(pseudo, 'pseudo');
  const rest = restOf(header as BaseHeader, 0xffffffff, 0, 0xffffffff);
  const sum = pseudo === undefined ? undefined : (message: Buffer) => pseudoHeaderChecksum(pseudo, PROTOCOL, message);
  return encodeBase(header, rest, payload, sum);
}

/**
 * Parses an ICMPv6 message. Never reads outside `buffer`.
 * @param buffer - the message, from its type byte (what an `IPPROTO_ICMPV6` raw socket receives).
 * @param pseudo - the IPv6 addresses it travelled between; when given, `checksumValid` is set.
 * @returns the fields and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) field `header` for fewer than 8 bytes.
 */
export function decode(buffer: Uint8Array, pseudo?: PseudoHeader): Packet {
  const [b, base] = decodeBase('icmpv6', buffer);
  optObj(pseudo, 'pseudo');
  const out: Packet = { ...base };
  if (pseudo !== undefined) out.checksumValid = pseudoHeaderChecksum(pseudo, PROTOCOL, b) === 0;
  const rest = base.restOfHeader;
  if (base.type === ECHO_REQUEST || base.type === ECHO_REPLY) {
    out.identifier = rest >>> 16;
    out.sequence = rest & 0xffff;
  } else if (base.type === PACKET_TOO_BIG) {
    out.mtu = rest;
  } else if (base.type === PARAMETER_PROBLEM) {
    out.pointer = rest;
  }
  return out;
}

/**
 * Whether an ICMPv6 message's checksum verifies under its pseudo-header (RFC 4443 section 2.3).
 * @param buffer - the whole message.
 * @param pseudo - the IPv6 source and destination.
 * @throws PacketError field `header` for fewer than 8 bytes.
 */
export function verifyChecksum(buffer: Uint8Array, pseudo: PseudoHeader): boolean {
  const [b] = decodeBase('icmpv6', buffer);
  obj(pseudo, 'pseudo');
  return pseudoHeaderChecksum(pseudo, PROTOCOL, b) === 0;
}
