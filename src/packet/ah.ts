/**
 * The IP Authentication Header (RFC 4302), protocol / next header 51, as opaque bytes: its fixed
 * fields and the integrity check value, with the length it declares. Nothing is verified (that needs
 * the security association's keys).
 * @packageDocumentation
 */
import { PacketError } from './errors.js';
import { asBuffer, need, obj, optUint, payloadOf, uint } from './util.js';

/** The protocol / next header value of AH: 51. */
export const NEXT_HEADER = 51;

/** The fixed part of AH before the ICV: 12 bytes. */
export const HEADER_LENGTH = 12;

/** The fields of an Authentication Header, for {@link encode}. */
export interface Header {
  /** The type of the header after this one, 8 bits. */
  nextHeader: number;
  /** Payload Len: AH's length in 4-byte units minus 2, 8 bits; default computed. Verbatim when given. */
  payloadLength?: number;
  /** The 16 reserved bits; default 0. */
  reserved?: number;
  /** Security parameters index, 32 bits. */
  spi: number;
  /** Sequence number, 32 bits; default 0. */
  sequence?: number;
  /** The integrity check value (and its padding): a multiple of 4 bytes (8 over IPv6); none by default. */
  icv?: Uint8Array;
}

/** A decoded Authentication Header. */
export interface Packet extends Required<Header> {
  /** The ICV bytes: a view into the decoded buffer. */
  icv: Buffer;
  /** The bytes after the header: a view into the decoded buffer, not a copy. */
  payload: Buffer;
}

/**
 * Builds an Authentication Header, then `payload`.
 * @param header - the fields.
 * @param payload - the bytes after the header; none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width.
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const icv = header.icv === undefined ? Buffer.alloc(0) : asBuffer(header.icv, 'icv');
  const size = HEADER_LENGTH + icv.length;
  const out = Buffer.alloc(size + body.length);
  out[0] = uint(header.nextHeader, 'nextHeader', 0xff);
  out[1] = optUint(header.payloadLength, 'payloadLength', 0xff, Math.max(0, Math.ceil(size / 4) - 2));
  out.writeUInt16BE(optUint(header.reserved, 'reserved', 0xffff, 0), 2);
  out.writeUInt32BE(uint(header.spi, 'spi', 0xffffffff), 4);
  out.writeUInt32BE(optUint(header.sequence, 'sequence', 0xffffffff, 0), 8);
  icv.copy(out, HEADER_LENGTH);
  body.copy(out, size);
  return out;
}

/**
 * Parses an Authentication Header. Never reads outside `buffer`.
 * @param buffer - the header, from its next-header byte.
 * @returns the fields, the ICV and the payload as views.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 12 bytes,
 *   `payloadLength` below 1 or beyond the buffer.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('ah', 'header', b.length, 0, HEADER_LENGTH);
  const payloadLength = b[1]!;
  const size = (payloadLength + 2) * 4;
  if (size < HEADER_LENGTH) throw new PacketError('ah', 'payloadLength', 1, `is ${payloadLength}, less than 1 (a header is at least 12 bytes)`);
  if (size > b.length) throw new PacketError('ah', 'payloadLength', 1, `is ${payloadLength} (a ${size}-byte header), but the buffer has ${b.length} bytes`);
  return {
    nextHeader: b[0]!,
    payloadLength,
    reserved: b.readUInt16BE(2),
    spi: b.readUInt32BE(4),
    sequence: b.readUInt32BE(8),
    icv: b.subarray(HEADER_LENGTH, size),
    payload: b.subarray(size),
  };
}
