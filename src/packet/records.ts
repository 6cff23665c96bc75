/**
 * What IGMPv3 and MLDv2 share: the multicast address records of their reports (RFC 3376 section 4.2,
 * RFC 3810 section 5.2), and the fields after the address of their queries (RFC 3376 sections
 * 4.1.5–4.1.9, RFC 3810 sections 5.1.7–5.1.10). The two differ only in the size of an address.
 * @packageDocumentation
 * @internal
 */
import { invalidArgValue } from './errors.js';
import type { MldQuery } from './mld.js';
import { asBuffer, bool, obj, optArray, optUint, uint } from './util.js';

/**
 * The fields an IGMPv3 or MLDv2 query has after its address: Resv, S and QRV in one byte, QQIC, the
 * number of sources, the sources (an IGMP `Header` has the same ones). @internal
 */
export type QuerySources = Pick<MldQuery, 'flagsReserved' | 'suppress' | 'qrv' | 'qqic' | 'sources' | 'numberOfSources'>;

/** Whether a query is a v3 (IGMP) or v2 (MLD) one: it has any of those fields (a lying count alone does not count). @internal */
export function hasQuerySources(q: QuerySources): boolean {
  return q.sources !== undefined || q.suppress !== undefined || q.qrv !== undefined || q.qqic !== undefined || q.flagsReserved !== undefined;
}

/**
 * Encodes the fields after a query's address; `prefix` leads the field names in errors ('' or
 * 'body.'), `parse` turns an address into its bytes. @internal
 */
export function encodeQuerySources(q: QuerySources, prefix: string, parse: (a: unknown, n: string) => Buffer): Buffer {
  const sources = optArray(q.sources, `${prefix}sources`);
  const fixed = Buffer.alloc(4);
  fixed[0] = (optUint(q.flagsReserved, `${prefix}flagsReserved`, 15, 0) << 4) | (bool(q.suppress, `${prefix}suppress`) ? 8 : 0) | optUint(q.qrv, `${prefix}qrv`, 7, 0);
  fixed[1] = optUint(q.qqic, `${prefix}qqic`, 0xff, 0);
  fixed.writeUInt16BE(optUint(q.numberOfSources, `${prefix}numberOfSources`, 0xffff, uint(sources.length, `${prefix}sources.length`, 0xffff)), 2);
  return Buffer.concat([fixed, ...sources.map((s, i) => parse(s, `${prefix}sources[${i}]`))]);
}

/**
 * Decodes the fields after a query's address, starting at `at` of `b`, with addresses of `addrLen`
 * bytes: the fields and where the sources end, or null when `b` ends before them. @internal
 */
export function decodeQuerySources(
  b: Buffer,
  at: number,
  addrLen: number,
  format: (b: Buffer, at: number) => string,
): { fields: Required<Omit<QuerySources, 'numberOfSources'>>; end: number } | null {
  if (at + 4 > b.length) return null;
  const n = b.readUInt16BE(at + 2);
  const end = at + 4 + addrLen * n;
  if (end > b.length) return null;
  return {
    fields: {
      flagsReserved: b[at]! >> 4,
      suppress: (b[at]! & 8) !== 0,
      qrv: b[at]! & 7,
      qqic: b[at + 1]!,
      sources: Array.from({ length: n }, (_, i) => format(b, at + 4 + addrLen * i)),
    },
    end,
  };
}

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

