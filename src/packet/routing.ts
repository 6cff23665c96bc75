/**
 * The IPv6 Routing header (RFC 8200 section 4.4), next header value 43: encode and decode. Type 0
 * (RFC 2460, deprecated by RFC 5095 but still crafted to test that it is dropped) and type 2 (RFC 6275,
 * mobile IPv6) carry a list of addresses; type 4 is the Segment Routing Header (RFC 8754) with its
 * segment list and TLVs; any other type keeps its type-specific bytes as `data`.
 *
 * The final destination of a packet with a Routing header whose `segmentsLeft` is not 0 is the last
 * address (types 0 and 2) or the first segment (type 4): it, not the IPv6 destination, goes into the
 * pseudo-header of the upper-layer checksum (RFC 8200 section 8.1); {@link finalDestination} gives it.
 * @packageDocumentation
 */
import { PacketError, invalidArgValue, outOfRange } from './errors.js';
import { asBuffer, formatIPv6, need, obj, optArray, optUint, parseIPv6, payloadOf, uint } from './util.js';

/** The next header value that announces a Routing header: 43. */
export const NEXT_HEADER = 43;
/** Routing type 0, the deprecated source route. */
export const TYPE_SOURCE_ROUTE = 0;
/** Routing type 2, mobile IPv6's home address. */
export const TYPE_MOBILE = 2;
/** Routing type 4, the Segment Routing Header. */
export const TYPE_SEGMENT_ROUTING = 4;

/** The fixed part of a Routing header: 4 bytes (the type-specific data follows). */
export const HEADER_LENGTH = 4;

/**
 * The fields of a Routing header, for {@link encode}. Which of the type-specific fields apply
 * depends on `routingType`: `reserved` and `addresses` for types 0 and 2; `lastEntry`, `flags`, `tag`,
 * `addresses` (the segment list, last segment first) and `tlvs` for type 4; `data` for any other.
 */
export interface Header {
  /** The type of the header after this one, 8 bits. */
  nextHeader: number;
  /** Hdr Ext Len: the length in 8-byte units, not counting the first 8; default computed. Verbatim when given. */
  extLength?: number;
  /** The routing type, 8 bits: 0, 2, 4, or another. */
  routingType: number;
  /**
   * How many listed nodes are still to be visited, 8 bits; default the count of `addresses` (types 0
   * and 2), or `addresses.length - 1` (type 4, whose list also holds the current destination).
   */
  segmentsLeft?: number;
  /** Types 0 and 2: the 32 reserved bits after the fixed part; default 0. */
  reserved?: number;
  /** Types 0 and 2: the addresses; type 4: the segment list, Segment List[0] (the last segment) first. */
  addresses?: readonly string[];
  /** Type 4: the index of the last element of the segment list, 8 bits; default `addresses.length - 1`. */
  lastEntry?: number;
  /** Type 4: the flags byte; default 0. */
  flags?: number;
  /** Type 4: the 16-bit tag; default 0. */
  tag?: number;
  /** Type 4: the TLV bytes after the segment list (HMAC, padding); none by default. */
  tlvs?: Uint8Array;
  /** Other types: the bytes after the 4-byte fixed part. */
  data?: Uint8Array;
}

/** A decoded Routing header. Types 0, 2 and 4 with a consistent length are typed; others keep `data`. */
export interface Packet {
  nextHeader: number;
  extLength: number;
  routingType: number;
  segmentsLeft: number;
  reserved?: number;
  addresses?: string[];
  lastEntry?: number;
  flags?: number;
  tag?: number;
  tlvs?: Buffer;
  data?: Buffer;
  /** The bytes after the header: a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

function addressBytes(list: readonly string[]): Buffer {
  return Buffer.concat(list.map((a, i) => parseIPv6(a, `addresses[${i}]`)));
}

/**
 * Builds a Routing header, then `payload`. The header is padded with zero bytes to a multiple of 8
 * (to `(extLength + 1) * 8` when `extLength` is given and larger).
 * @param header - the fields.
 * @param payload - the bytes after the header; none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width; TypeError
 *   `ERR_INVALID_ARG_VALUE` for an address that is not an IPv6 literal or a field of another type.
 * @example
 * routing.encode({ nextHeader: 17, routingType: 4, segmentsLeft: 1, addresses: ['2001:db8::2', '2001:db8::1'] }, datagram);
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const type = uint(header.routingType, 'routingType', 0xff);
  const addresses = optArray(header.addresses, 'addresses');
  let specific: Buffer;
  if (type === TYPE_SOURCE_ROUTE || type === TYPE_MOBILE) {
    if (header.data !== undefined) throw invalidArgValue('data', `must be absent for routing type ${type} (use reserved and addresses)`, header.data);
    const reserved = Buffer.alloc(4);
    reserved.writeUInt32BE(optUint(header.reserved, 'reserved', 0xffffffff, 0), 0);
    specific = Buffer.concat([reserved, addressBytes(addresses)]);
  } else if (type === TYPE_SEGMENT_ROUTING) {
    if (header.data !== undefined) throw invalidArgValue('data', 'must be absent for routing type 4 (use addresses and tlvs)', header.data);
    const fixed = Buffer.alloc(4);
    fixed[0] = optUint(header.lastEntry, 'lastEntry', 0xff, Math.max(0, addresses.length - 1));
    fixed[1] = optUint(header.flags, 'flags', 0xff, 0);
    fixed.writeUInt16BE(optUint(header.tag, 'tag', 0xffff, 0), 2);
    const tlvs = header.tlvs === undefined ? Buffer.alloc(0) : asBuffer(header.tlvs, 'tlvs');
    specific = Buffer.concat([fixed, addressBytes(addresses), tlvs]);
  } else {
    if (addresses.length > 0) throw invalidArgValue('addresses', `must be absent for routing type ${type} (use data)`, header.addresses);
    specific = header.data === undefined ? Buffer.alloc(0) : asBuffer(header.data, 'data');
  }
  const content = HEADER_LENGTH + specific.length;
  const needed = Math.ceil(content / 8) - 1;
  if (header.extLength === undefined && needed > 0xff) throw outOfRange('addresses', 'at most 127 addresses', addresses.length);
  const extLength = optUint(header.extLength, 'extLength', 0xff, Math.max(0, needed));
  const size = Math.max(Math.ceil(content / 8) * 8, (extLength + 1) * 8);
  const out = Buffer.alloc(size + body.length);
  out[0] = uint(header.nextHeader, 'nextHeader', 0xff);
  out[1] = extLength;
  out[2] = type;
  const left = type === TYPE_SEGMENT_ROUTING ? Math.max(0, addresses.length - 1) : addresses.length;
  out[3] = optUint(header.segmentsLeft, 'segmentsLeft', 0xff, left);
  specific.copy(out, HEADER_LENGTH);
  body.copy(out, size);
  return out;
}

/**
 * Parses a Routing header. Never reads outside `buffer`.
 * @param buffer - the header, from its next-header byte.
 * @returns the fields and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 8 bytes, `extLength`
 *   beyond the buffer.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('routing', 'header', b.length, 0, 8);
  const extLength = b[1]!;
  const size = (extLength + 1) * 8;
  if (size > b.length) {
    throw new PacketError('routing', 'extLength', 1, `is ${extLength} (a ${size}-byte header), but the buffer has ${b.length} bytes`);
  }
  const out: Packet = { nextHeader: b[0]!, extLength, routingType: b[2]!, segmentsLeft: b[3]!, payload: b.subarray(size) };
  const type = out.routingType;
  const list = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => formatIPv6(b, from + 16 * i));
  if ((type === TYPE_SOURCE_ROUTE && (size - 8) % 16 === 0) || (type === TYPE_MOBILE && size === 24)) {
    out.reserved = b.readUInt32BE(4);
    out.addresses = list(8, (size - 8) / 16);
  } else if (type === TYPE_SEGMENT_ROUTING && 8 + 16 * (b[4]! + 1) <= size) {
    out.lastEntry = b[4]!;
    out.flags = b[5]!;
    out.tag = b.readUInt16BE(6);
    out.addresses = list(8, b[4]! + 1);
    out.tlvs = b.subarray(8 + 16 * (b[4]! + 1), size);
  } else {
    out.data = b.subarray(HEADER_LENGTH, size);
  }
  return out;
}

/**
 * The final destination a Routing header names, for the upper-layer pseudo-header (RFC 8200 section
 * 8.1): the last address (types 0, 2) or Segment List[0] (type 4) while `segmentsLeft` is not 0, else
 * undefined (the IPv6 destination is then the final one).
 * @param header - a Routing header's fields (as given to {@link encode} or returned by {@link decode}).
 * @returns the final destination, or undefined.
 */
export function finalDestination(header: Pick<Header, 'routingType' | 'segmentsLeft' | 'addresses'>): string | undefined {
  obj(header, 'header');
  const addresses = header.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) return undefined;
  const sr = header.routingType === TYPE_SEGMENT_ROUTING;
  const left = header.segmentsLeft ?? (sr ? addresses.length - 1 : addresses.length);
  if (left === 0) return undefined;
  if (header.routingType === TYPE_SOURCE_ROUTE || header.routingType === TYPE_MOBILE) return addresses[addresses.length - 1] as string;
  if (header.routingType === TYPE_SEGMENT_ROUTING) return addresses[0] as string;
  return undefined;
}
