/**
 * IGMP (RFC 2236 version 2, RFC 3376 version 3; IP protocol 2): encode and decode. Queries (0x11) are
 * version 3 when they carry the v3 fields (12 bytes or more), version 1/2 otherwise (8 bytes);
 * version 1 (0x12) and 2 (0x16) reports and leave (0x17) carry a group; version 3 reports (0x22)
 * carry group records. Values are host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { checksum } from './checksum.js';
import { type MulticastRecord, decodeQuerySources, decodeRecords, encodeQuerySources, encodeRecords, hasQuerySources } from './records.js';
import { asBuffer, formatIPv4, need, obj, optArray, optUint, parseIPv4, payloadOf, uint } from './util.js';

export type { MulticastRecord } from './records.js';

/** The IP protocol number of IGMP: 2. */
export const PROTOCOL = 2;
/** Type 0x11, membership query. */
export const MEMBERSHIP_QUERY = 0x11;
/** Type 0x12, version 1 membership report. */
export const V1_REPORT = 0x12;
/** Type 0x16, version 2 membership report. */
export const V2_REPORT = 0x16;
/** Type 0x17, leave group. */
export const LEAVE_GROUP = 0x17;
/** Type 0x22, version 3 membership report. */
export const V3_REPORT = 0x22;

/** The IGMPv1/v2 message length: 8 bytes. */
export const HEADER_LENGTH = 8;

/**
 * The fields of an IGMP message, for {@link encode}. A query (0x11) with any of `sources`, `suppress`,
 * `qrv`, `qqic` is a v3 query; a v3 report (0x22) takes `records`; every other type takes `group`.
 */
export interface Header {
  /** Message type, 8 bits. */
  type: number;
  /** Max Resp Code (v3) / Max Response Time in 1/10 s (v2), 8 bits; default 0. In a v3 report, a reserved byte. */
  maxResponseCode?: number;
  /** The checksum, 16 bits; default computed over the whole message. Verbatim when given. */
  checksum?: number;
  /** The group address: '0.0.0.0' in a general query. Not used by v3 reports. */
  group?: string;
  /** v3 query: the 4 reserved bits before S; default 0. */
  flagsReserved?: number;
  /** v3 query: S, suppress router-side processing. */
  suppress?: boolean;
  /** v3 query: the querier's robustness variable, 3 bits. */
  qrv?: number;
  /** v3 query: the querier's query interval code, 8 bits. */
  qqic?: number;
  /** v3 query: the sources. */
  sources?: readonly string[];
  /** v3 query: the count of sources to write instead of `sources.length` (a lying count). */
  numberOfSources?: number;
  /** v3 report: the 16 reserved bits after the checksum; default 0. */
  reserved?: number;
  /** v3 report: the group records. */
  records?: readonly MulticastRecord[];
  /** v3 report: the count of records to write instead of `records.length` (a lying count). */
  numberOfRecords?: number;
}

/** A decoded IGMP message: the fields its type and length say it has. */
export interface Packet {
  type: number;
  maxResponseCode: number;
  checksum: number;
  /** Whether the checksum over the whole message verifies. */
  checksumValid: boolean;
  group?: string;
  flagsReserved?: number;
  suppress?: boolean;
  qrv?: number;
  qqic?: number;
  sources?: string[];
  reserved?: number;
  records?: MulticastRecord[];
  /** v3 report: the records count as on the wire, set only when it does not match the bytes (then in `payload`). */
  numberOfRecords?: number;
  /** Bytes after the message the type defines (none for a well-formed message): a view into the buffer. */
  payload: Buffer;
}

function isV3Query(h: Header): boolean {
  return h.type === MEMBERSHIP_QUERY && hasQuerySources(h);
}

/**
 * Builds an IGMP message, then `payload`.
 * @param header - the fields.
 * @param payload - bytes to append (none for a well-formed message).
 * @returns a new Buffer, the payload of an IPv4 packet with protocol 2.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width; TypeError
 *   `ERR_INVALID_ARG_VALUE` for an address that is not an IPv4 literal.
 * @example
 * igmp.encode({ type: igmp.V2_REPORT, group: '239.1.2.3' });
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const extra = payloadOf(payload);
  const head = Buffer.alloc(4);
  head[0] = uint(header.type, 'type', 0xff);
  head[1] = optUint(header.maxResponseCode, 'maxResponseCode', 0xff, 0);
  let body: Buffer;
  if (header.type === V3_REPORT) {
    const records = optArray(header.records, 'records');
    const word = Buffer.alloc(4);
    word.writeUInt16BE(optUint(header.reserved, 'reserved', 0xffff, 0), 0);
    word.writeUInt16BE(optUint(header.numberOfRecords, 'numberOfRecords', 0xffff, uint(records.length, 'records.length', 0xffff)), 2);
    body = Buffer.concat([word, encodeRecords(records, 'records', parseIPv4)]);
  } else {
    const group = parseIPv4(header.group ?? '0.0.0.0', 'group');
    if (isV3Query(header)) {
      body = Buffer.concat([group, encodeQuerySources(header, '', parseIPv4)]);
    } else {
      body = group;
    }
  }
  const out = Buffer.concat([head, body, extra]);
  out.writeUInt16BE(header.checksum === undefined ? checksum(out) : uint(header.checksum, 'checksum', 0xffff), 2);
  return out;
}

/**
 * Parses an IGMP message. Never reads outside `buffer`. A v3 query or report whose counts do not
 * match its length is read as far as its fixed part, the rest left in `payload`.
 * @param buffer - the message (the payload of an IPv4 packet with protocol 2).
 * @returns the fields, whether the checksum verifies, and any bytes past the message as `payload`.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) field `header` for fewer than 8 bytes.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('igmp', 'header', b.length, 0, HEADER_LENGTH);
  const out: Packet = { type: b[0]!, maxResponseCode: b[1]!, checksum: b.readUInt16BE(2), checksumValid: checksum(b) === 0, payload: b.subarray(8) };
  if (out.type === V3_REPORT) {
    const records = decodeRecords(b.subarray(8), b.readUInt16BE(6), 4, formatIPv4);
    out.reserved = b.readUInt16BE(4);
    if (records !== null) {
      out.records = records;
      out.payload = b.subarray(b.length);
    } else {
      // The count does not match the bytes: keep it, and the bytes as payload.
      out.records = [];
      out.numberOfRecords = b.readUInt16BE(6);
    }
    return out;
  }
  out.group = formatIPv4(b, 4);
  const v3 = out.type === MEMBERSHIP_QUERY ? decodeQuerySources(b, 8, 4, formatIPv4) : null;
  if (v3) {
    Object.assign(out, v3.fields);
    out.payload = b.subarray(v3.end);
  }
  return out;
}
