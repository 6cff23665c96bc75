/**
 * The 8-byte header that ICMP (RFC 792) and ICMPv6 (RFC 4443) share: type, code, checksum and a
 * 32-bit "rest of header" whose meaning depends on the type.
 * @packageDocumentation
 * @internal
 */
import { invalidArgValue } from './errors.js';
import { asBuffer, need, obj, optUint, payloadOf, uint } from './util.js';

/** The ICMP and ICMPv6 header length: 8 bytes. @internal */
export const ICMP_HEADER_LENGTH = 8;

/** The fields both encoders accept. @internal */
export interface BaseHeader {
  type: number;
  code?: number;
  checksum?: number;
  restOfHeader?: number;
  identifier?: number;
  sequence?: number;
  mtu?: number;
  pointer?: number;
}

/**
 * The rest-of-header word: `restOfHeader` when given, else built from the one group of typed fields
 * given (`identifier`/`sequence`, `extra` such as a gateway, `mtu`, or `pointer`), else 0.
 * @internal
 */
export function restOf(h: BaseHeader, mtuMax: number, pointerShift: number, pointerMax: number, extra?: [string, number]): number {
  obj(h, 'header');
  if (h.restOfHeader !== undefined) return uint(h.restOfHeader, 'restOfHeader', 0xffffffff);
  const groups: [string, number][] = [];
  if (h.identifier !== undefined || h.sequence !== undefined) {
    const id = optUint(h.identifier, 'identifier', 0xffff, 0);
    const seq = optUint(h.sequence, 'sequence', 0xffff, 0);
    groups.push(['identifier', ((id << 16) | seq) >>> 0]);
  }
  if (extra !== undefined) groups.push(extra);
  if (h.mtu !== undefined) groups.push(['mtu', uint(h.mtu, 'mtu', mtuMax)]);
  if (h.pointer !== undefined) groups.push(['pointer', (uint(h.pointer, 'pointer', pointerMax) * 2 ** pointerShift) >>> 0]);
  if (groups.length > 1) {
    throw invalidArgValue(groups[1]![0], `cannot be given with ${groups[0]![0]} (both fill the rest of the header)`, h);
  }
  return groups[0]?.[1] ?? 0;
}

/**
 * Writes the 8-byte header and payload; the checksum is `h.checksum` verbatim, else `sum(message)`
 * over the message with a zero checksum field, else 0 when `sum` is undefined.
 * @internal
 */
export function encodeBase(h: BaseHeader, rest: number, payload: unknown, sum?: (message: Buffer) => number): Buffer {
  const body = payloadOf(payload);
  const out = Buffer.alloc(ICMP_HEADER_LENGTH + body.length);
  out[0] = uint(h.type, 'type', 0xff);
  out[1] = optUint(h.code, 'code', 0xff, 0);
  out.writeUInt32BE(rest, 4);
  body.copy(out, ICMP_HEADER_LENGTH);
  let value = 0;
  if (h.checksum !== undefined) value = uint(h.checksum, 'checksum', 0xffff);
  else if (sum !== undefined) value = sum(out);
  out.writeUInt16BE(value, 2);
  return out;
}

/** The common fields of a decoded message. @internal */
export interface BaseFields {
  type: number;
  code: number;
  checksum: number;
  restOfHeader: number;
  payload: Buffer;
}

/**
 * Reads the 8-byte header; throws PacketError `header` when the buffer is shorter.
 * @internal
 */
export function decodeBase(protocol: string, buffer: unknown): [Buffer, BaseFields] {
  const b = asBuffer(buffer, 'buffer');
  need(protocol, 'header', b.length, 0, ICMP_HEADER_LENGTH);
  return [
    b,
    {
      type: b[0]!,
      code: b[1]!,
      checksum: b.readUInt16BE(2),
      restOfHeader: b.readUInt32BE(4),
      payload: b.subarray(ICMP_HEADER_LENGTH),
    },
  ];
}
