/**
 * The multicast address records of MLDv2 and IGMPv3 reports (RFC 3810 section 5.2, RFC 3376 section 4.2).
 * @packageDocumentation
 * @internal
 */
import { invalidArgValue } from './errors.js';
import { asBuffer, obj, optArray, uint } from './util.js';

/** One multicast address record of an MLDv2 (or IGMPv3) report. */
export interface MulticastRecord {
  /** Record type, 8 bits: 1 MODE_IS_INCLUDE ... 6 BLOCK_OLD_SOURCES. */
  type: number;
  /** The multicast address. */
  multicastAddress: string;
  /** The sources; none by default. */
  sources?: readonly string[];
  /** Auxiliary data, a multiple of 4 bytes; none by default. */
  auxData?: Uint8Array;
}

/**
 * Encodes the records of an MLDv2 or IGMPv3 report; `parse` turns an address into its bytes.
 * @internal
 */
export function encodeRecords(records: readonly MulticastRecord[], name: string, parse: (a: unknown, n: string) => Buffer): Buffer {
  return Buffer.concat(
    optArray(records, name).map((r, i) => {
      const at = `${name}[${i}]`;
      obj(r, at);
      const sources = optArray(r.sources, `${at}.sources`);
      const aux = r.auxData === undefined ? Buffer.alloc(0) : asBuffer(r.auxData, `${at}.auxData`);
      if (aux.length % 4 !== 0 || aux.length > 255 * 4) throw invalidArgValue(`${at}.auxData`, 'must be a multiple of 4 bytes long, at most 1020', aux.length);
      const head = Buffer.alloc(4);
      head[0] = uint(r.type, `${at}.type`, 0xff);
      head[1] = aux.length / 4;
      head.writeUInt16BE(uint(sources.length, `${at}.sources.length`, 0xffff), 2);
      return Buffer.concat([head, parse(r.multicastAddress, `${at}.multicastAddress`), ...sources.map((s, j) => parse(s, `${at}.sources[${j}]`)), aux]);
    }),
  );
}

/**
 * Decodes `count` records of an MLDv2 (addrLen 16) or IGMPv3 (addrLen 4) report; null when they do not
 * fill `b` exactly.
 * @internal
 */
export function decodeRecords(b: Buffer, count: number, addrLen: number, format: (b: Buffer, at: number) => string): MulticastRecord[] | null {
  const out: MulticastRecord[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 + addrLen > b.length) return null;
    const aux = b[at + 1]! * 4;
    const n = b.readUInt16BE(at + 2);
    const end = at + 4 + addrLen * (1 + n) + aux;
    if (end > b.length) return null;
    out.push({
      type: b[at]!,
      multicastAddress: format(b, at + 4),
      sources: Array.from({ length: n }, (_, j) => format(b, at + 4 + addrLen * (1 + j))),
      auxData: b.subarray(end - aux, end),
    });
    at = end;
  }
  return at === b.length ? out : null;
}

