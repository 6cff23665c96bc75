/**
 * TCP headers (RFC 9293): encode and decode, with options and the pseudo-header checksum over IPv4 or
 * IPv6. Values are host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { type PseudoHeader, pseudoHeaderChecksum } from './checksum.js';
import { PacketError, invalidArgValue, outOfRange } from './errors.js';
import { type OptionSpan, type RawOption, encodeOptions, encodeRaw, walkOptions } from './options.js';
import { asBuffer, bool, need, obj, optObj, optUint, pad4, payloadOf, uint } from './util.js';

export type { PseudoHeader } from './checksum.js';
export type { RawOption } from './options.js';

/** The IP protocol number of TCP: 6. */
export const PROTOCOL = 6;

/** The smallest TCP header: 20 bytes, `dataOffset` 5. */
export const HEADER_LENGTH = 20;

/** Option kind 0, end of option list. */
export const OPT_EOL = 0;
/** Option kind 1, no operation. */
export const OPT_NOP = 1;
/** Option kind 2, maximum segment size. */
export const OPT_MSS = 2;
/** Option kind 3, window scale (RFC 7323). */
export const OPT_WSCALE = 3;
/** Option kind 4, SACK permitted (RFC 2018). */
export const OPT_SACK_PERMITTED = 4;
/** Option kind 5, SACK blocks (RFC 2018). */
export const OPT_SACK = 5;
/** Option kind 8, timestamps (RFC 7323). */
export const OPT_TIMESTAMPS = 8;

/** The control bits. Unset bits are false. */
export interface Flags {
  /** FIN: no more data from the sender. */
  fin?: boolean;
  /** SYN: synchronize sequence numbers. */
  syn?: boolean;
  /** RST: reset the connection. */
  rst?: boolean;
  /** PSH: push function. */
  psh?: boolean;
  /** ACK: the acknowledgment field is significant. */
  ack?: boolean;
  /** URG: the urgent pointer is significant. */
  urg?: boolean;
  /** ECE: ECN echo (RFC 3168). */
  ece?: boolean;
  /** CWR: congestion window reduced (RFC 3168). */
  cwr?: boolean;
  /** NS / AE: the bit before CWR (ECN nonce, RFC 3540, historic; accurate ECN's AE). */
  ns?: boolean;
}

/** End of option list, kind 0: one byte; the encoder pads the options with zero bytes anyway. */
export interface EolOption {
  /** `'eol'`. */
  kind: 'eol';
}

/** No operation, kind 1: one byte. */
export interface NopOption {
  /** `'nop'`. */
  kind: 'nop';
}

/** Maximum segment size, kind 2, length 4. */
export interface MssOption {
  /** `'mss'`. */
  kind: 'mss';
  /** The largest segment the sender can receive, in bytes, 16 bits. */
  value: number;
}

/** Window scale, kind 3, length 3 (RFC 7323). */
export interface WindowScaleOption {
  /** `'windowScale'`. */
  kind: 'windowScale';
  /** The shift count applied to the window field, 8 bits (at most 14 is meaningful). */
  shift: number;
}

/** SACK permitted, kind 4, length 2 (RFC 2018). */
export interface SackPermittedOption {
  /** `'sackPermitted'`. */
  kind: 'sackPermitted';
}

/** One SACK block: the sequence numbers bounding a block of received data. */
export interface SackBlock {
  /** The first sequence number of the block, 32 bits. */
  left: number;
  /** The sequence number just past the block, 32 bits. */
  right: number;
}

/** SACK, kind 5, length `2 + 8 * blocks.length` (RFC 2018). */
export interface SackOption {
  /** `'sack'`. */
  kind: 'sack';
  /** The blocks (at least one; at most four fit in a header). */
  blocks: SackBlock[];
}

/** Timestamps, kind 8, length 10 (RFC 7323). */
export interface TimestampsOption {
  /** `'timestamps'`. */
  kind: 'timestamps';
  /** TSval: the sender's timestamp clock, 32 bits. */
  value: number;
  /** TSecr: the timestamp echoed back, 32 bits (0 on a SYN). */
  echoReply: number;
}

/**
 * A TCP option. Kinds the decoder does not interpret, and interpreted kinds whose length is not the
 * one their RFC gives, are {@link RawOption}s with the numeric kind.
 */
export type Option =
  | EolOption
  | NopOption
  | MssOption
  | WindowScaleOption
  | SackPermittedOption
  | SackOption
  | TimestampsOption
  | RawOption;

/**
 * The fields of a TCP header, for {@link encode}. Only the ports are required; `dataOffset` and the
 * checksum are computed unless given, and a given value is written verbatim even when wrong.
 */
export interface Header {
  /** Source port, 16 bits. */
  sourcePort: number;
  /** Destination port, 16 bits. */
  destinationPort: number;
  /** Sequence number, 32 bits; default 0. */
  sequenceNumber?: number;
  /** Acknowledgment number, 32 bits; default 0. */
  acknowledgmentNumber?: number;
  /**
   * Header length in 32-bit words (5 to 15); default 5 plus the options' length in words. A given
   * value is written verbatim; when it says more than the options fill, the header is padded with
   * zero bytes up to `dataOffset * 4`.
   */
  dataOffset?: number;
  /** The 3 reserved bits between the data offset and the NS bit; default 0. */
  reserved?: number;
  /** Control bits; none set by default. */
  flags?: Flags;
  /** Receive window, 16 bits (scaled by the window scale option once negotiated); default 65535. */
  window?: number;
  /**
   * The checksum, 16 bits, written verbatim when given. Otherwise it is computed when the encoder is
   * given the pseudo-header addresses, and left 0 when not.
   */
  checksum?: number;
  /** Urgent pointer, 16 bits: offset from the sequence number to the end of urgent data; default 0. */
  urgentPointer?: number;
  /** Options, written in order and padded with zero bytes to a 4-byte boundary (at most 40 bytes). */
  options?: readonly Option[];
}

/** A decoded TCP segment: every header field as on the wire, and the payload. */
export interface Packet extends Required<Header> {
  /** Every control bit, true or false. */
  flags: Required<Flags>;
  /** The options, up to and including an end-of-list option (the bytes after it are padding). */
  options: Option[];
  /**
   * Whether the checksum verifies under the pseudo-header; present only when `decode` was given one.
   *
   * A segment this host sent and that is read back before it left — on `lo` (a raw or `AF_PACKET`
   * socket there, `sockfd/packet`'s `probe` to 127.0.0.1, a capture of `lo`), or on any interface
   * whose NIC computes checksums — reads `false`: the kernel leaves the checksum to the hardware
   * (CHECKSUM_PARTIAL), so the field holds only the pseudo-header's sum, and on loopback nothing ever
   * completes it, since no wire needs it. The receiving kernel knows and accepts it. Segments that came
   * in over a wire (or a veth) read true when they are intact.
   */
  checksumValid?: boolean;
  /** The bytes after the header (`dataOffset * 4` bytes in): a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

const FLAG_BITS: [keyof Flags, number][] = [
  ['fin', 0x001],
  ['syn', 0x002],
  ['rst', 0x004],
  ['psh', 0x008],
  ['ack', 0x010],
  ['urg', 0x020],
  ['ece', 0x040],
  ['cwr', 0x080],
  ['ns', 0x100],
];

function encodeOption(o: Option, name: string): Buffer {
  switch (o.kind) {
    case 'eol':
      return Buffer.from([OPT_EOL]);
    case 'nop':
      return Buffer.from([OPT_NOP]);
    case 'mss': {
      const out = Buffer.from([OPT_MSS, 4, 0, 0]);
      out.writeUInt16BE(uint(o.value, `${name}.value`, 0xffff), 2);
      return out;
    }
    case 'windowScale':
      return Buffer.from([OPT_WSCALE, 3, uint(o.shift, `${name}.shift`, 0xff)]);
    case 'sackPermitted':
      return Buffer.from([OPT_SACK_PERMITTED, 2]);
    case 'sack': {
      if (!Array.isArray(o.blocks)) throw invalidArgValue(`${name}.blocks`, 'must be an array of { left, right }', o.blocks);
      const length = 2 + 8 * o.blocks.length;
      if (length > 0xff) throw outOfRange(`${name}.blocks.length`, '<= 31', o.blocks.length);
      const out = Buffer.alloc(length);
      out[0] = OPT_SACK;
      out[1] = length;
      o.blocks.forEach((block, i) => {
        obj(block, `${name}.blocks[${i}]`);
        out.writeUInt32BE(uint(block.left, `${name}.blocks[${i}].left`, 0xffffffff), 2 + 8 * i);
        out.writeUInt32BE(uint(block.right, `${name}.blocks[${i}].right`, 0xffffffff), 6 + 8 * i);
      });
      return out;
    }
    case 'timestamps': {
      const out = Buffer.alloc(10);
      out[0] = OPT_TIMESTAMPS;
      out[1] = 10;
      out.writeUInt32BE(uint(o.value, `${name}.value`, 0xffffffff), 2);
      out.writeUInt32BE(uint(o.echoReply, `${name}.echoReply`, 0xffffffff), 6);
      return out;
    }
    default:
      if (typeof o.kind !== 'number') {
        throw invalidArgValue(`${name}.kind`, 'must be an option name or a kind number', (o as { kind: unknown }).kind);
      }
      return encodeRaw(o, name);
  }
}

function decodeOption(span: OptionSpan): Option {
  if (!('code' in span)) return span;
  const { code, data } = span;
  switch (code) {
    case OPT_MSS:
      if (data.length === 2) return { kind: 'mss', value: data.readUInt16BE(0) };
      break;
    case OPT_WSCALE:
      if (data.length === 1) return { kind: 'windowScale', shift: data[0]! };
      break;
    case OPT_SACK_PERMITTED:
      if (data.length === 0) return { kind: 'sackPermitted' };
      break;
    case OPT_SACK:
      if (data.length > 0 && data.length % 8 === 0) {
        const blocks: SackBlock[] = [];
        for (let at = 0; at < data.length; at += 8) blocks.push({ left: data.readUInt32BE(at), right: data.readUInt32BE(at + 4) });
        return { kind: 'sack', blocks };
      }
      break;
    case OPT_TIMESTAMPS:
      if (data.length === 8) return { kind: 'timestamps', value: data.readUInt32BE(0), echoReply: data.readUInt32BE(4) };
      break;
    default:
      break;
  }
  return { kind: code, data };
}

/**
 * Builds a TCP segment: the header (with options and padding), then `payload`.
 * @param header - the header fields.
 * @param payload - the data; none by default.
 * @param pseudo - the IP source and destination, to compute the checksum (unless `header.checksum`
 *   is given); without them the checksum field is 0.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width or options longer than 40
 *   bytes; TypeError `ERR_INVALID_ARG_VALUE` for a bad address or option.
 * @example
 * const syn = tcp.encode(
 *   { sourcePort: 40000, destinationPort: 80, sequenceNumber: 1, flags: { syn: true },
 *     options: [{ kind: 'mss', value: 1460 }, { kind: 'sackPermitted' }] },
 *   undefined,
 *   { source: '192.0.2.1', destination: '192.0.2.2' },
 * );
 */
export function encode(header: Header, payload?: Uint8Array, pseudo?: PseudoHeader): Buffer {
  obj(header, 'header');
  optObj(pseudo, 'pseudo');
  const body = payloadOf(payload);
  const opts = encodeOptions(header.options, encodeOption);
  const optLength = pad4(opts.length);
  if (optLength > 40) throw outOfRange('options', 'at most 40 bytes long once padded to 4 bytes', optLength);
  const dataOffset = optUint(header.dataOffset, 'dataOffset', 15, 5 + optLength / 4);
  const headerLength = Math.max(HEADER_LENGTH + optLength, dataOffset * 4);
  const out = Buffer.alloc(headerLength + body.length);
  out.writeUInt16BE(uint(header.sourcePort, 'sourcePort', 0xffff), 0);
  out.writeUInt16BE(uint(header.destinationPort, 'destinationPort', 0xffff), 2);
  out.writeUInt32BE(optUint(header.sequenceNumber, 'sequenceNumber', 0xffffffff, 0), 4);
  out.writeUInt32BE(optUint(header.acknowledgmentNumber, 'acknowledgmentNumber', 0xffffffff, 0), 8);
  let bits = (dataOffset << 12) | (optUint(header.reserved, 'reserved', 7, 0) << 9);
  const flags = header.flags === undefined ? {} : header.flags;
  if (flags === null || typeof flags !== 'object') throw invalidArgValue('flags', 'must be an object of booleans', flags);
  for (const [name, bit] of FLAG_BITS) if (bool(flags[name], `flags.${name}`)) bits |= bit;
  out.writeUInt16BE(bits, 12);
  out.writeUInt16BE(optUint(header.window, 'window', 0xffff, 0xffff), 14);
  out.writeUInt16BE(optUint(header.urgentPointer, 'urgentPointer', 0xffff, 0), 18);
  opts.copy(out, HEADER_LENGTH);
  body.copy(out, headerLength);
  let sum = optUint(header.checksum, 'checksum', 0xffff, 0);
  if (header.checksum === undefined && pseudo !== undefined) sum = pseudoHeaderChecksum(pseudo, PROTOCOL, out);
  out.writeUInt16BE(sum, 16);
  return out;
}

/** Checks the fixed header and the data offset; returns the buffer and the header length. */
function checked(buffer: Uint8Array): [Buffer, number] {
  const b = asBuffer(buffer, 'buffer');
  need('tcp', 'header', b.length, 0, HEADER_LENGTH);
  const dataOffset = b[12]! >> 4;
  if (dataOffset < 5) throw new PacketError('tcp', 'dataOffset', 12, `is ${dataOffset}, less than 5 (a header is at least 20 bytes)`);
  const headerLength = dataOffset * 4;
  if (headerLength > b.length) {
    const detail = `is ${dataOffset} (a ${headerLength}-byte header), but the segment has ${b.length} bytes`;
    throw new PacketError('tcp', 'dataOffset', 12, detail);
  }
  return [b, headerLength];
}

/**
 * Parses a TCP segment. Never reads outside `buffer`. TCP has no length field: the segment is the
 * whole buffer, so pass exactly the IP payload.
 * @param buffer - the segment, from its first header byte.
 * @param pseudo - the IP addresses it travelled between; when given, `checksumValid` is set.
 * @returns the header fields, options and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 20 bytes, `dataOffset`
 *   below 5 or beyond the segment, `options` for an option that is truncated or whose length is below 2.
 */
export function decode(buffer: Uint8Array, pseudo?: PseudoHeader): Packet {
  const [b, headerLength] = checked(buffer);
  optObj(pseudo, 'pseudo');
  const bits = b.readUInt16BE(12);
  const flags = {} as Required<Flags>;
  for (const [name, bit] of FLAG_BITS) flags[name] = (bits & bit) !== 0;
  const out: Packet = {
    sourcePort: b.readUInt16BE(0),
    destinationPort: b.readUInt16BE(2),
    sequenceNumber: b.readUInt32BE(4),
    acknowledgmentNumber: b.readUInt32BE(8),
    dataOffset: bits >> 12,
    reserved: (bits >> 9) & 7,
    flags,
    window: b.readUInt16BE(14),
    checksum: b.readUInt16BE(16),
    urgentPointer: b.readUInt16BE(18),
    options: walkOptions('tcp', b, HEADER_LENGTH, headerLength).map(decodeOption),
    payload: b.subarray(headerLength),
  };
  if (pseudo !== undefined) out.checksumValid = pseudoHeaderChecksum(pseudo, PROTOCOL, b) === 0;
  return out;
}

/**
 * Whether a TCP segment's checksum verifies under its pseudo-header (the whole buffer is the segment).
 * @param buffer - the segment.
 * @param pseudo - the IP source and destination.
 * @throws PacketError `header` or `dataOffset` as {@link decode}.
 */
export function verifyChecksum(buffer: Uint8Array, pseudo: PseudoHeader): boolean {
  const [b] = checked(buffer);
  return pseudoHeaderChecksum(obj(pseudo, 'pseudo'), PROTOCOL, b) === 0;
}
