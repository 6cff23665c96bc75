/**
 * The IPv6 Hop-by-Hop Options header (RFC 8200 section 4.3), next header value 0: encode and decode,
 * with its type-length-value options. The Destination Options header (`dstopts`) has the same format.
 * Values are host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { PacketError, outOfRange } from './errors.js';
import { type TlvOption, encodeTlv, tlvPadding, walkTlvs } from './tlv.js';
import { asBuffer, need, obj, optArray, optUint, payloadOf, uint } from './util.js';

export {
  OPT_HOME_ADDRESS,
  OPT_JUMBO,
  OPT_PAD1,
  OPT_PADN,
  OPT_ROUTER_ALERT,
  OPT_TUNNEL_LIMIT,
} from './tlv.js';
export type { JumboOption, Pad1Option, PadNOption, RawTlvOption, RouterAlertOption, TlvOption as Option } from './tlv.js';

/** The next header value that announces a Hop-by-Hop Options header: 0. */
export const NEXT_HEADER = 0;

/** The smallest options header: 8 bytes (`extLength` 0). */
export const HEADER_LENGTH = 8;

/**
 * The fields of a Hop-by-Hop or Destination Options header, for {@link encode}. Only `nextHeader` is
 * required; `extLength` is computed unless given, and a given value is written verbatim.
 */
export interface Header {
  /** The type of the header after this one (6 TCP, 17 UDP, 58 ICMPv6, 59 none, or an extension header), 8 bits. */
  nextHeader: number;
  /**
   * Hdr Ext Len: the header's length in 8-byte units, not counting the first 8, 8 bits. Default: what
   * the options need. Given, it is written verbatim, and the header is padded with PadN up to
   * `(extLength + 1) * 8` bytes when the options fill less.
   */
  extLength?: number;
  /**
   * The options, in order. Unless the options already end on an 8-byte boundary the encoder appends
   * a Pad1 or PadN to get there (decoding shows that padding as options, so it re-encodes as it was).
   */
  options?: readonly TlvOption[];
}

/** A decoded Hop-by-Hop or Destination Options header. */
export interface Packet extends Required<Header> {
  /** Every option, padding included, in order. */
  options: TlvOption[];
  /** The bytes after the header: a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

/**
 * Builds a Hop-by-Hop (or Destination) Options header, then `payload`.
 * @param header - the fields.
 * @param payload - the bytes after the header (the next header); none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width or options longer than 2048
 *   bytes; TypeError `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a header or option that is not
 *   an object of the right shape.
 * @example
 * hopopts.encode({ nextHeader: 58, options: [{ kind: 'routerAlert', value: 0 }] }, mldReport);
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const list = optArray(header.options, 'options');
  let opts = Buffer.concat(list.map((o, i) => encodeTlv(o, `options[${i}]`)));
  opts = Buffer.concat([opts, tlvPadding(2 + opts.length)]);
  const needed = (2 + opts.length) / 8 - 1;
  if (header.extLength === undefined && needed > 0xff) throw outOfRange('options', 'at most 2046 bytes long once padded', opts.length);
  const extLength = optUint(header.extLength, 'extLength', 0xff, needed);
  const size = Math.max(2 + opts.length, (extLength + 1) * 8);
  if (size > 2 + opts.length) opts = Buffer.concat([opts, padTo(size - 2 - opts.length)]);
  const out = Buffer.alloc(size + body.length);
  out[0] = uint(header.nextHeader, 'nextHeader', 0xff);
  out[1] = extLength;
  opts.copy(out, 2);
  body.copy(out, size);
  return out;
}

/** Padding of exactly `n` bytes (n >= 1): Pad1 or one PadN. */
function padTo(n: number): Buffer {
  if (n === 1) return Buffer.from([0]);
  const out = Buffer.alloc(n);
  out[0] = 1;
  out[1] = n - 2;
  return out;
}

/**
 * Parses a Hop-by-Hop (or Destination) Options header. Never reads outside `buffer`.
 * @param buffer - the header, from its next-header byte.
 * @returns the fields, the options and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 8 bytes, `extLength`
 *   beyond the buffer, `options` for an option running past the header.
 */
export function decode(buffer: Uint8Array): Packet {
  return decodeOptionsHeader(buffer, 'hopopts');
}

/**
 * {@link decode} with errors naming `protocol` ('hopopts' or 'dstopts').
 * @internal
 */
export function decodeOptionsHeader(buffer: Uint8Array, protocol: string): Packet {
  const b = asBuffer(buffer, 'buffer');
  need(protocol, 'header', b.length, 0, HEADER_LENGTH);
  const extLength = b[1]!;
  const size = (extLength + 1) * 8;
  if (size > b.length) {
    throw new PacketError(protocol, 'extLength', 1, `is ${extLength} (a ${size}-byte header), but the buffer has ${b.length} bytes`);
  }
  return { nextHeader: b[0]!, extLength, options: walkTlvs(protocol, b, 2, size), payload: b.subarray(size) };
}
