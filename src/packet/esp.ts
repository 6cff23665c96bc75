/**
 * The IP Encapsulating Security Payload (RFC 4303), protocol / next header 50, as opaque bytes: the
 * security parameters index and sequence number, then everything else (the encrypted payload, its
 * padding, the next header and the ICV), which cannot be read without the keys.
 * @packageDocumentation
 */
import { asBuffer, need, obj, optUint, payloadOf, uint } from './util.js';

/** The protocol / next header value of ESP: 50. */
export const NEXT_HEADER = 50;

/** The cleartext part of ESP: 8 bytes. */
export const HEADER_LENGTH = 8;

/** The fields of an ESP header, for {@link encode}. */
export interface Header {
  /** Security parameters index, 32 bits. */
  spi: number;
  /** Sequence number, 32 bits; default 0. */
  sequence?: number;
}

/** A decoded ESP packet. */
export interface Packet extends Required<Header> {
  /** Everything after the sequence number, to the end of the IP payload: opaque, a view into the buffer. */
  payload: Buffer;
}

/**
 * Builds an ESP packet: SPI, sequence number, then `payload` (the already encrypted bytes).
 * @param header - the fields.
 * @param payload - the opaque rest; none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width.
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const out = Buffer.alloc(HEADER_LENGTH + body.length);
  out.writeUInt32BE(uint(header.spi, 'spi', 0xffffffff), 0);
  out.writeUInt32BE(optUint(header.sequence, 'sequence', 0xffffffff, 0), 4);
  body.copy(out, HEADER_LENGTH);
  return out;
}

/**
 * Parses an ESP packet's cleartext header. Never reads outside `buffer`.
 * @param buffer - the packet, from the SPI.
 * @returns the SPI, the sequence number and the opaque rest as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) field `header` for fewer than 8 bytes.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('esp', 'header', b.length, 0, HEADER_LENGTH);
  return { spi: b.readUInt32BE(0), sequence: b.readUInt32BE(4), payload: b.subarray(HEADER_LENGTH) };
}
