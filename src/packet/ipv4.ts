/**
 * IPv4 headers (RFC 791): encode and decode, with options and the fragmentation fields. Values are
 * host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { checksum } from './checksum.js';
import { PacketError, invalidArgValue, outOfRange } from './errors.js';
import { type OptionSpan, type RawOption, encodeOptions, encodeRaw, walkOptions } from './options.js';
import { asBuffer, bool, formatIPv4, need, obj, optUint, pad4, parseIPv4, payloadOf, uint } from './util.js';

export type { RawOption } from './options.js';

/** Option type 0, end of option list (the header bytes after it are padding). */
export const OPT_EOL = 0;
/** Option type 1, no operation (one byte, used to align the next option). */
export const OPT_NOP = 1;
/** Option type 7, record route. */
export const OPT_RR = 7;
/** Option type 68, internet timestamp. */
export const OPT_TS = 68;
/** Option type 131, loose source and record route. */
export const OPT_LSRR = 131;
/** Option type 137, strict source and record route. */
export const OPT_SSRR = 137;
/** Option type 148, router alert (RFC 2113). */
export const OPT_RA = 148;

/** The smallest IPv4 header: 20 bytes, `ihl` 5. */
export const HEADER_LENGTH = 20;

/** End of option list, type 0: one byte; the encoder pads the options with zero bytes anyway. */
export interface EolOption {
  /** `'eol'`. */
  kind: 'eol';
}

/** No operation, type 1: one byte. */
export interface NopOption {
  /** `'nop'`. */
  kind: 'nop';
}

/**
 * Record route (type 7), loose source route (131) or strict source route (137): a pointer and a list
 * of address slots. Length is `3 + 4 * addresses.length`.
 */
export interface RouteOption {
  /** Which of the three route options. */
  kind: 'recordRoute' | 'looseSourceRoute' | 'strictSourceRoute';
  /** The 1-based byte offset, within the option, of the next slot to use (4 is the first); default 4. */
  pointer?: number;
  /** The address slots, in order (use '0.0.0.0' for empty record-route slots). */
  addresses: string[];
}

/** One slot of a timestamp option. */
export interface TimestampEntry {
  /** Milliseconds since midnight UT, or any value with the high bit set (RFC 791). 32 bits. */
  timestamp: number;
  /** The address the timestamp belongs to, present when the option's flag is 1 or 3. */
  address?: string;
}

/** Internet timestamp, type 68. Length is `4 + 4 * entries` (flag 0) or `4 + 8 * entries` (flag 1 or 3). */
export interface TimestampOption {
  /** `'timestamp'`. */
  kind: 'timestamp';
  /** The 1-based byte offset, within the option, of the next free slot (5 is the first); default 5. */
  pointer?: number;
  /** The count of hosts that could not record a timestamp, 4 bits; default 0. */
  overflow?: number;
  /**
   * 4 bits: 0 timestamps only, 1 each host records its address and a timestamp, 3 addresses
   * prespecified by the sender. Default: 1 when any entry has an address, else 0.
   */
  flag?: number;
  /** The slots, in order. */
  entries: TimestampEntry[];
}

/** Router alert, type 148 (RFC 2113): length 4. */
export interface RouterAlertOption {
  /** `'routerAlert'`. */
  kind: 'routerAlert';
  /** The 16-bit value; 0 (the default) means "routers shall examine this packet". */
  value?: number;
}

/**
 * An IPv4 option. Types the decoder does not interpret, and interpreted types whose length does not
 * fit their format, are {@link RawOption}s with the numeric type as `kind`.
 */
export type Option = EolOption | NopOption | RouteOption | TimestampOption | RouterAlertOption | RawOption;

/**
 * The fields of an IPv4 header, for {@link encode}. Only `protocol`, `source` and `destination` are
 * required; the length and checksum fields are computed unless given, and a given value is written
 * verbatim even when it is wrong, so malformed packets can be crafted.
 */
export interface Header {
  /** The version field, 4 bits; default 4. */
  version?: number;
  /**
   * Internet header length in 32-bit words (5 to 15); default: 5 plus the options' length in words.
   * A given value is written verbatim; when it says more than the options fill, the header is padded
   * with zero bytes up to `ihl * 4`.
   */
  ihl?: number;
  /** Differentiated services code point, 6 bits (the high bits of the old TOS byte); default 0. */
  dscp?: number;
  /** Explicit congestion notification, 2 bits (0 not ECN-capable, 3 congestion experienced); default 0. */
  ecn?: number;
  /** Header plus payload length in bytes, 16 bits; default the bytes written. Verbatim when given. */
  totalLength?: number;
  /** The identification used to reassemble fragments, 16 bits; default 0. */
  identification?: number;
  /** The reserved flag bit (bit 0 of the flags; must be zero, RFC 791, or the "evil bit" of RFC 3514). */
  reservedFlag?: boolean;
  /** DF, don't fragment. */
  dontFragment?: boolean;
  /** MF, more fragments follow this one. */
  moreFragments?: boolean;
  /** This fragment's offset in the original datagram, in units of 8 bytes, 13 bits; default 0. */
  fragmentOffset?: number;
  /** Time to live (hop count), 8 bits; default 64. */
  ttl?: number;
  /** The payload's protocol number (1 ICMP, 6 TCP, 17 UDP), 8 bits. */
  protocol: number;
  /** The header checksum, 16 bits; default computed over the header as written. Verbatim when given. */
  checksum?: number;
  /** Source address, e.g. '192.0.2.1'. */
  source: string;
  /** Destination address. */
  destination: string;
  /** Options, written in order and padded with zero bytes to a 4-byte boundary (at most 40 bytes). */
  options?: readonly Option[];
}

/** A decoded IPv4 packet: every header field as it was on the wire, and the payload. */
export interface Packet extends Required<Header> {
  /** The options, up to and including an end-of-list option (the bytes after it are padding). */
  options: Option[];
  /** Whether the header checksum verifies (the checksum over the `ihl * 4` header bytes is 0). */
  checksumValid: boolean;
  /**
   * The bytes from the end of the header to `totalLength`: a view into the decoded buffer, not a copy.
   * Bytes past `totalLength` (such as Ethernet padding) are not part of it.
   */
  payload: Buffer;
}

const ROUTE_KINDS = { recordRoute: OPT_RR, looseSourceRoute: OPT_LSRR, strictSourceRoute: OPT_SSRR } as const;
const ROUTE_NAMES = new Map<number, RouteOption['kind']>([
  [OPT_RR, 'recordRoute'],
  [OPT_LSRR, 'looseSourceRoute'],
  [OPT_SSRR, 'strictSourceRoute'],
]);

function encodeOption(o: Option, name: string): Buffer {
  switch (o.kind) {
    case 'eol':
      return Buffer.from([OPT_EOL]);
    case 'nop':
      return Buffer.from([OPT_NOP]);
    case 'recordRoute':
    case 'looseSourceRoute':
    case 'strictSourceRoute': {
      if (!Array.isArray(o.addresses)) throw invalidArgValue(`${name}.addresses`, 'must be an array of IPv4 addresses', o.addresses);
      const length = 3 + 4 * o.addresses.length;
      if (length > 0xff) throw outOfRange(`${name}.addresses.length`, '<= 63', o.addresses.length);
      const out = Buffer.alloc(length);
      out[0] = ROUTE_KINDS[o.kind];
      out[1] = length;
      out[2] = optUint(o.pointer, `${name}.pointer`, 0xff, 4);
      o.addresses.forEach((a, i) => parseIPv4(a, `${name}.addresses[${i}]`).copy(out, 3 + 4 * i));
      return out;
    }
    case 'timestamp': {
      if (!Array.isArray(o.entries)) throw invalidArgValue(`${name}.entries`, 'must be an array', o.entries);
      const withAddress = o.entries.some((e, i) => obj(e, `${name}.entries[${i}]`).address !== undefined);
      const flag = optUint(o.flag, `${name}.flag`, 15, withAddress ? 1 : 0);
      const pairs = flag === 1 || flag === 3;
      const unit = pairs ? 8 : 4;
      const length = 4 + unit * o.entries.length;
      if (length > 0xff) throw outOfRange(`${name}.entries.length`, `<= ${Math.floor(251 / unit)}`, o.entries.length);
      const out = Buffer.alloc(length);
      out[0] = OPT_TS;
      out[1] = length;
      out[2] = optUint(o.pointer, `${name}.pointer`, 0xff, 5);
      out[3] = (optUint(o.overflow, `${name}.overflow`, 15, 0) << 4) | flag;
      o.entries.forEach((e, i) => {
        obj(e, `${name}.entries[${i}]`);
        const at = 4 + unit * i;
        const ts = uint(e.timestamp, `${name}.entries[${i}].timestamp`, 0xffffffff);
        const field = `${name}.entries[${i}].address`;
        if (pairs) {
          if (e.address === undefined) throw invalidArgValue(field, `is required when flag is ${flag}`, undefined);
          parseIPv4(e.address, field).copy(out, at);
          out.writeUInt32BE(ts, at + 4);
        } else {
          if (e.address !== undefined) throw invalidArgValue(field, `must be absent when flag is ${flag}`, e.address);
          out.writeUInt32BE(ts, at);
        }
      });
      return out;
    }
    case 'routerAlert': {
      const out = Buffer.from([OPT_RA, 4, 0, 0]);
      out.writeUInt16BE(optUint(o.value, `${name}.value`, 0xffff, 0), 2);
      return out;
    }
    default:
      if (typeof o.kind !== 'number') {
        throw invalidArgValue(`${name}.kind`, 'must be an option name or a type number', (o as { kind: unknown }).kind);
      }
      return encodeRaw(o, name);
  }
}

function decodeOption(span: OptionSpan): Option {
  if (!('code' in span)) return span;
  const { code, data } = span;
  const raw: RawOption = { kind: code, data };
  const routeKind = ROUTE_NAMES.get(code);
  if (routeKind !== undefined) {
    // data: pointer, then 4-byte address slots.
    if (data.length < 1 || (data.length - 1) % 4 !== 0) return raw;
    const addresses: string[] = [];
    for (let at = 1; at < data.length; at += 4) addresses.push(formatIPv4(data, at));
    return { kind: routeKind, pointer: data[0]!, addresses };
  }
  if (code === OPT_TS) {
    if (data.length < 2) return raw;
    const flag = data[1]! & 0x0f;
    if (flag !== 0 && flag !== 1 && flag !== 3) return raw;
    const unit = flag === 0 ? 4 : 8;
    if ((data.length - 2) % unit !== 0) return raw;
    const entries: TimestampEntry[] = [];
    for (let at = 2; at < data.length; at += unit) {
      if (flag === 0) entries.push({ timestamp: data.readUInt32BE(at) });
      else entries.push({ address: formatIPv4(data, at), timestamp: data.readUInt32BE(at + 4) });
    }
    return { kind: 'timestamp', pointer: data[0]!, overflow: data[1]! >> 4, flag, entries };
  }
  if (code === OPT_RA) {
    if (data.length !== 2) return raw;
    return { kind: 'routerAlert', value: data.readUInt16BE(0) };
  }
  return raw;
}

/**
 * Builds an IPv4 packet: the header, then `payload`.
 * @param header - the header fields; lengths and checksum are computed unless given.
 * @param payload - the bytes after the header (a UDP datagram, TCP segment, ...); none by default.
 * @returns a new Buffer of the header (with its options and padding) followed by the payload.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width, options longer than 40 bytes,
 *   or a packet longer than 65535 bytes when `totalLength` is computed; TypeError
 *   `ERR_INVALID_ARG_VALUE` for an address that is not an IPv4 literal.
 * @example
 * const packet = ipv4.encode({ protocol: 17, source: '192.0.2.1', destination: '192.0.2.2' }, datagram);
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const opts = encodeOptions(header.options, encodeOption);
  const optLength = pad4(opts.length);
  if (optLength > 40) throw outOfRange('options', 'at most 40 bytes long once padded to 4 bytes', optLength);
  const ihl = optUint(header.ihl, 'ihl', 15, 5 + optLength / 4);
  const headerLength = Math.max(HEADER_LENGTH + optLength, ihl * 4);
  let totalLength: number;
  if (header.totalLength === undefined) {
    totalLength = headerLength + body.length;
    if (totalLength > 0xffff) throw outOfRange('totalLength', 'at most 65535 (the header and payload are too long)', totalLength);
  } else {
    totalLength = uint(header.totalLength, 'totalLength', 0xffff);
  }
  const out = Buffer.alloc(headerLength + body.length);
  out[0] = (optUint(header.version, 'version', 15, 4) << 4) | ihl;
  out[1] = (optUint(header.dscp, 'dscp', 63, 0) << 2) | optUint(header.ecn, 'ecn', 3, 0);
  out.writeUInt16BE(totalLength, 2);
  out.writeUInt16BE(optUint(header.identification, 'identification', 0xffff, 0), 4);
  const flags =
    (bool(header.reservedFlag, 'reservedFlag') ? 0x8000 : 0) |
    (bool(header.dontFragment, 'dontFragment') ? 0x4000 : 0) |
    (bool(header.moreFragments, 'moreFragments') ? 0x2000 : 0);
  out.writeUInt16BE(flags | optUint(header.fragmentOffset, 'fragmentOffset', 0x1fff, 0), 6);
  out[8] = optUint(header.ttl, 'ttl', 0xff, 64);
  out[9] = uint(header.protocol, 'protocol', 0xff);
  parseIPv4(header.source, 'source').copy(out, 12);
  parseIPv4(header.destination, 'destination').copy(out, 16);
  opts.copy(out, HEADER_LENGTH);
  body.copy(out, headerLength);
  const sum = header.checksum === undefined ? checksum(out.subarray(0, headerLength)) : uint(header.checksum, 'checksum', 0xffff);
  out.writeUInt16BE(sum, 10);
  return out;
}

/**
 * Parses an IPv4 packet. Never reads outside `buffer`; bytes after `totalLength` are ignored.
 * @param buffer - the packet, from its first header byte (what a raw socket or `AF_PACKET` gives after
 *   the link-layer header).
 * @returns the header fields, options, whether the checksum verifies, and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) naming the field: `header` for fewer than 20
 *   bytes, `version` other than 4, `ihl` below 5 or beyond the buffer, `totalLength` below the header
 *   length or beyond the buffer, `options` for an option that is truncated or whose length is below 2.
 * @example
 * const { protocol, source, payload, checksumValid } = ipv4.decode(packet);
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('ipv4', 'header', b.length, 0, HEADER_LENGTH);
  const version = b[0]! >> 4;
  if (version !== 4) throw new PacketError('ipv4', 'version', 0, `is ${version}, not 4`);
  const ihl = b[0]! & 0x0f;
  if (ihl < 5) throw new PacketError('ipv4', 'ihl', 0, `is ${ihl}, less than 5 (a header is at least 20 bytes)`);
  const headerLength = ihl * 4;
  if (headerLength > b.length) {
    throw new PacketError('ipv4', 'ihl', 0, `is ${ihl} (a ${headerLength}-byte header), but the buffer has ${b.length} bytes`);
  }
  const totalLength = b.readUInt16BE(2);
  if (totalLength < headerLength) {
    throw new PacketError('ipv4', 'totalLength', 2, `is ${totalLength}, less than the header length ${headerLength}`);
  }
  if (totalLength > b.length) {
    throw new PacketError('ipv4', 'totalLength', 2, `is ${totalLength}, but the buffer has ${b.length} bytes`);
  }
  const frag = b.readUInt16BE(6);
  return {
    version,
    ihl,
    dscp: b[1]! >> 2,
    ecn: b[1]! & 3,
    totalLength,
    identification: b.readUInt16BE(4),
    reservedFlag: (frag & 0x8000) !== 0,
    dontFragment: (frag & 0x4000) !== 0,
    moreFragments: (frag & 0x2000) !== 0,
    fragmentOffset: frag & 0x1fff,
    ttl: b[8]!,
    protocol: b[9]!,
    checksum: b.readUInt16BE(10),
    source: formatIPv4(b, 12),
    destination: formatIPv4(b, 16),
    options: walkOptions('ipv4', b, HEADER_LENGTH, headerLength).map(decodeOption),
    checksumValid: checksum(b.subarray(0, headerLength)) === 0,
    payload: b.subarray(headerLength, totalLength),
  };
}
