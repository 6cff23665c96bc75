/**
 * The IPv6 Destination Options header (RFC 8200 section 4.6), next header value 60: the format of the
 * Hop-by-Hop Options header (see `hopopts`), with the same options.
 * @packageDocumentation
 */
import { type Header, type Packet, decodeOptionsHeader, encode as encodeOptions } from './hopopts.js';

export {
  HEADER_LENGTH,
  OPT_HOME_ADDRESS,
  OPT_JUMBO,
  OPT_PAD1,
  OPT_PADN,
  OPT_ROUTER_ALERT,
  OPT_TUNNEL_LIMIT,
} from './hopopts.js';
export type { Header, JumboOption, Option, Packet, Pad1Option, PadNOption, RawTlvOption, RouterAlertOption } from './hopopts.js';

/** The next header value that announces a Destination Options header: 60. */
export const NEXT_HEADER = 60;

/**
 * Builds a Destination Options header, then `payload` (as `hopopts.encode`).
 * @param header - the fields.
 * @param payload - the bytes after the header; none by default.
 * @returns a new Buffer.
 * @throws as `hopopts.encode`.
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  return encodeOptions(header, payload);
}

/**
 * Parses a Destination Options header (as `hopopts.decode`, errors naming `dstopts`).
 * @param buffer - the header, from its next-header byte.
 * @returns the fields, the options and the payload as a view.
 * @throws PacketError as `hopopts.decode`.
 */
export function decode(buffer: Uint8Array): Packet {
  return decodeOptionsHeader(buffer, 'dstopts');
}
