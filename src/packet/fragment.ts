/**
 * The IPv6 Fragment header (RFC 8200 section 4.5), next header value 44: encode and decode. To split
 * a whole IPv4 or IPv6 packet into fragments and put fragments back together, see `split` and
 * `reassemble` in this namespace.
 * @packageDocumentation
 */
import { asBuffer, bool, need, obj, optUint, payloadOf, uint } from './util.js';

/** The next header value that announces a Fragment header: 44. */
export const NEXT_HEADER = 44;

/** The Fragment header's length: 8 bytes. */
export const HEADER_LENGTH = 8;

/** The fields of a Fragment header, for {@link encode}. */
export interface Header {
  /** The type of the first header of the fragmentable part, 8 bits. */
  nextHeader: number;
  /** The reserved byte after the next header; default 0. */
  reserved?: number;
  /** The offset of this fragment's data in the fragmentable part, in 8-byte units, 13 bits; default 0. */
  fragmentOffset?: number;
  /** The 2 reserved bits before the M flag; default 0. */
  reservedBits?: number;
  /** M: more fragments follow this one. */
  moreFragments?: boolean;
  /** The identification shared by all fragments of a packet, 32 bits; default 0. */
  identification?: number;
}

/** A decoded Fragment header. */
export interface Packet extends Required<Header> {
  /** The fragment's data: a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

/**
 * Builds a Fragment header, then `payload`.
 * @param header - the fields.
 * @param payload - this fragment's data; none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width.
 * @example
 * fragment.encode({ nextHeader: 17, fragmentOffset: 0, moreFragments: true, identification: 7 }, firstChunk);
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const out = Buffer.alloc(HEADER_LENGTH + body.length);
  out[0] = uint(header.nextHeader, 'nextHeader', 0xff);
  out[1] = optUint(header.reserved, 'reserved', 0xff, 0);
  const word =
    (optUint(header.fragmentOffset, 'fragmentOffset', 0x1fff, 0) << 3) |
    (optUint(header.reservedBits, 'reservedBits', 3, 0) << 1) |
    (bool(header.moreFragments, 'moreFragments') ? 1 : 0);
  out.writeUInt16BE(word, 2);
  out.writeUInt32BE(optUint(header.identification, 'identification', 0xffffffff, 0), 4);
  body.copy(out, HEADER_LENGTH);
  return out;
}

/**
 * Parses a Fragment header. Never reads outside `buffer`.
 * @param buffer - the header, from its next-header byte.
 * @returns the fields and the fragment's data as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) field `header` for fewer than 8 bytes.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('fragment', 'header', b.length, 0, HEADER_LENGTH);
  const word = b.readUInt16BE(2);
  return {
    nextHeader: b[0]!,
    reserved: b[1]!,
    fragmentOffset: word >> 3,
    reservedBits: (word >> 1) & 3,
    moreFragments: (word & 1) !== 0,
    identification: b.readUInt32BE(4),
    payload: b.subarray(HEADER_LENGTH),
  };
}
