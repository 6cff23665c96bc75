/**
 * Multicast Listener Discovery: the bodies of MLDv1 (RFC 2710) Query (130), Report (131) and Done
 * (132), and MLDv2 (RFC 3810) Query (130, 28 bytes or more) and Report (143). As in `nd`,
 * `encodeBody` gives the word after the ICMPv6 checksum and the bytes after it; `decodeBody` reads
 * them, or gives null when they are not a well-formed body of the type.
 * @packageDocumentation
 */
import { invalidArgValue } from './errors.js';
import { type MulticastRecord, decodeQuerySources, decodeRecords, encodeQuerySources, encodeRecords, hasQuerySources } from './records.js';
import { asBuffer, formatIPv6, nameArg, obj, optArray, optUint, parseIPv6, uint } from './util.js';

export type { MulticastRecord } from './records.js';

/** ICMPv6 type 130, Multicast Listener Query (v1 and v2). */
export const QUERY = 130;
/** ICMPv6 type 131, MLDv1 Report. */
export const REPORT = 131;
/** ICMPv6 type 132, MLDv1 Done. */
export const DONE = 132;
/** ICMPv6 type 143, MLDv2 Report. */
export const V2_REPORT = 143;

/** Record types of an MLDv2 (and IGMPv3) report. */
export const MODE_IS_INCLUDE = 1;
/** Current state: exclude mode. */
export const MODE_IS_EXCLUDE = 2;
/** Filter mode changed to include. */
export const CHANGE_TO_INCLUDE_MODE = 3;
/** Filter mode changed to exclude. */
export const CHANGE_TO_EXCLUDE_MODE = 4;
/** Sources added. */
export const ALLOW_NEW_SOURCES = 5;
/** Sources removed. */
export const BLOCK_OLD_SOURCES = 6;

/**
 * A Multicast Listener Query (type 130). With `sources` (even empty), `suppress`, `qrv` or `qqic` it is
 * an MLDv2 query (28 bytes and more); without them an MLDv1 query (24 bytes).
 */
export interface MldQuery {
  kind: 'mldQuery';
  /** Maximum Response Code (v2) / Delay in ms (v1), 16 bits; default 0. */
  maxResponseCode?: number;
  /** The 16 reserved bits; default 0. */
  reserved?: number;
  /** The multicast address queried, '::' for a general query. */
  multicastAddress: string;
  /** v2: the 4 reserved bits before S; default 0. */
  flagsReserved?: number;
  /** v2: S, suppress router-side processing. */
  suppress?: boolean;
  /** v2: the querier's robustness variable, 3 bits; default 0. */
  qrv?: number;
  /** v2: the querier's query interval code, 8 bits; default 0. */
  qqic?: number;
  /** v2: the sources of a multicast-address-and-source-specific query. */
  sources?: readonly string[];
  /** v2: the count of sources to write instead of `sources.length`, 16 bits (a lying count). */
  numberOfSources?: number;
}

/** An MLDv1 Report (131) or Done (132). */
export interface MldReport {
  kind: 'mldReport' | 'mldDone';
  /** Maximum Response Delay, 16 bits; default 0 (unused in reports). */
  maxResponseCode?: number;
  /** The 16 reserved bits; default 0. */
  reserved?: number;
  /** The multicast address joined or left. */
  multicastAddress: string;
}

/** An MLDv2 Report (143). */
export interface Mldv2Report {
  kind: 'mldv2Report';
  /** The 16 reserved bits after the checksum; default 0. */
  reserved?: number;
  /** The multicast address records. */
  records: readonly MulticastRecord[];
  /** The count of records to write instead of `records.length`, 16 bits (a lying count). */
  numberOfRecords?: number;
}

/** An MLD message body, tagged by `kind`. */
export type MldBody = MldQuery | MldReport | Mldv2Report;

const v6 = (a: unknown, n: string): Buffer => parseIPv6(a, n);

/**
 * The word after the ICMPv6 checksum and the bytes after it, for an MLD body.
 * @param body - the body.
 * @returns `[restOfHeader, payload]`.
 * @throws TypeError/RangeError naming the field at fault.
 */
export function encodeBody(body: MldBody, name = 'body'): [number, Buffer] {
  nameArg(name);
  obj(body, name);
  switch (body.kind) {
    case 'mldQuery':
    case 'mldReport':
    case 'mldDone': {
      const rest = ((optUint(body.maxResponseCode, `${name}.maxResponseCode`, 0xffff, 0) << 16) | optUint(body.reserved, `${name}.reserved`, 0xffff, 0)) >>> 0;
      const address = parseIPv6(body.multicastAddress, `${name}.multicastAddress`);
      if (body.kind !== 'mldQuery') return [rest, address];
      if (!hasQuerySources(body)) return [rest, address];
      return [rest, Buffer.concat([address, encodeQuerySources(body, `${name}.`, v6)])];
    }
    case 'mldv2Report': {
      const records = encodeRecords(body.records, `${name}.records`, v6);
      const count = optUint(body.numberOfRecords, `${name}.numberOfRecords`, 0xffff, optArray(body.records, `${name}.records`).length);
      return [((optUint(body.reserved, `${name}.reserved`, 0xffff, 0) << 16) | count) >>> 0, records];
    }
    default:
      throw invalidArgValue(`${name}.kind`, 'must be an MLD message kind', (body as { kind: unknown }).kind);
  }
}

/**
 * Reads an MLD body of ICMPv6 `type`; null when `type` is not an MLD type or the bytes are not a
 * well-formed body of it.
 * @param type - the ICMPv6 type (130, 131, 132, 143).
 * @param rest - the 32-bit word after the checksum.
 * @param payload - the bytes after it.
 * @returns the body, or null.
 */
export function decodeBody(type: number, rest: number, payload: Uint8Array): MldBody | null {
  uint(type, 'type', 0xff);
  uint(rest, 'rest', 0xffffffff);
  const p = asBuffer(payload, 'payload');
  if (type === QUERY || type === REPORT || type === DONE) {
    if (p.length < 16) return null;
    const base = { maxResponseCode: rest >>> 16, reserved: rest & 0xffff, multicastAddress: formatIPv6(p, 0) };
    if (type === REPORT) return p.length === 16 ? { kind: 'mldReport', ...base } : null;
    if (type === DONE) return p.length === 16 ? { kind: 'mldDone', ...base } : null;
    if (p.length === 16) return { kind: 'mldQuery', ...base };
    const v2 = decodeQuerySources(p, 16, 16, formatIPv6);
    return v2 && v2.end === p.length ? { kind: 'mldQuery', ...base, ...v2.fields } : null;
  }
  if (type === V2_REPORT) {
    const records = decodeRecords(p, rest & 0xffff, 16, formatIPv6);
    return records === null ? null : { kind: 'mldv2Report', reserved: rest >>> 16, records };
  }
  return null;
}
