/**
 * Netlink framing, in TypeScript, for every netlink client of sockfd (sock_diag for `listSockets` and
 * the hand-off helpers, rtnetlink for `sockfd/netns`): request messages (`struct nlmsghdr`, a fixed
 * header, attributes, nested ones included), the messages of a reply datagram, attribute lists, and
 * the `struct nlmsgerr` of an error or ack with its extended-ack text. The exchanges themselves (one
 * request, its replies, bounded waits, errors as SystemErrors) are in netlinksocket.ts. Netlink
 * headers and attributes are in host byte order.
 *
 * Layouts, from <linux/netlink.h>:
 * - `struct nlmsghdr` (NLMSG_HDRLEN = 16 bytes): u32 nlmsg_len, u16 nlmsg_type, u16 nlmsg_flags,
 *   u32 nlmsg_seq, u32 nlmsg_pid; messages are padded to NLMSG_ALIGNTO (4).
 * - `struct nlmsgerr` (the body of NLMSG_ERROR): int error (a negative errno, 0 for an ACK), then the
 *   header of the request it answers (and, without NLM_F_CAPPED, the rest of the request); with
 *   NLM_F_ACK_TLVS, NLMSGERR_ATTR_* attributes follow.
 * - `struct nlattr` (NLA_HDRLEN = 4 bytes; rtnetlink's `struct rtattr` is the same): u16 nla_len
 *   (header included), u16 nla_type (whose top bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER);
 *   attributes are padded to NLA_ALIGNTO (4).
 * @internal
 * @packageDocumentation
 */
import * as os from 'node:os';
import {
  EBADMSG,
  NLA_ALIGNTO,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLMSGERR_ATTR_MSG,
  NLMSG_ALIGNTO,
  NLMSG_DONE,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from './constants.generated.js';
import { SystemError } from './errors.js';
import { append } from './own.js';

const le = os.endianness() === 'LE';

/** Reads a host-order u16 at `o`. @internal */
export const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
/** Reads a host-order u32 at `o`. @internal */
export const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
/** Reads a host-order s32 at `o`. @internal */
export const i32 = (b: Buffer, o: number): number => (le ? b.readInt32LE(o) : b.readInt32BE(o));
/** Reads a host-order u64 at `o`. @internal */
export const u64 = (b: Buffer, o: number): bigint => (le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
/** Writes a host-order u16 at `o`. @internal */
export const w16 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
/** Writes a host-order u32 at `o` (a negative s32 is written as its two's complement). @internal */
export const w32 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));

/** A host-order u32 as 4 bytes: the value of a u32 attribute. @internal */
export function u32Bytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  w32(b, value, 0);
  return b;
}

/** A NUL-terminated string: the value of a string attribute. @internal */
export const cString = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);

/** A NUL-terminated string attribute's text (up to its first NUL, or all of it without one). @internal */
export function attrString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

const align = (n: number, to: number): number => (n + to - 1) & ~(to - 1);
const bytes = (v: Uint8Array): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

/** One message of a netlink datagram. @internal */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** What follows the header, up to `nlmsg_len`: the fixed header, then the attributes. */
  body: Buffer;
}

/**
 * One attribute to encode: a type and either its value's bytes or nested attributes (NLA_F_NESTED is
 * not set, as iproute2 does not set it either). @internal
 */
export type Attr = [type: number, value: Uint8Array | readonly Attr[]];

/** Encodes an attribute list (`struct nlattr`: u16 length, u16 type, the value, padding to 4). @internal */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of attrs) {
    const payload = value instanceof Uint8Array ? bytes(value) : encodeAttrs(value);
    const head = Buffer.alloc(NLA_HDRLEN);
    const len = NLA_HDRLEN + payload.length;
    w16(head, len, 0);
    w16(head, type, 2);
    parts.push(head, payload, Buffer.alloc(align(len, NLA_ALIGNTO) - len));
  }
  return Buffer.concat(parts);
}

/**
 * Encodes a request: the `struct nlmsghdr` (nlmsg_pid 0: the kernel fills in our port id), the fixed
 * `header` padded to 4, then the attributes. @internal
 */
export function encodeMessage(type: number, flags: number, seq: number, header: Uint8Array, attrs: readonly Attr[] = []): Buffer {
  const fixed = bytes(header);
  const body = Buffer.concat([fixed, Buffer.alloc(align(fixed.length, NLMSG_ALIGNTO) - fixed.length), encodeAttrs(attrs)]);
  const h = Buffer.alloc(NLMSG_HDRLEN);
  w32(h, NLMSG_HDRLEN + body.length, 0);
  w16(h, type, 4);
  w16(h, flags, 6);
  w32(h, seq, 8);
  return Buffer.concat([h, body]);
}

/**
 * The messages of one datagram, in order; each body is a view into `datagram`.
 * @throws SystemError EBADMSG (syscall 'recv') when a header's length runs past the datagram (a
 *   malformed reply).
 * @internal
 */
export function parseMessages(datagram: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let o = 0;
  while (o + NLMSG_HDRLEN <= datagram.length) {
    const len = u32(datagram, o);
    if (len < NLMSG_HDRLEN || o + len > datagram.length) {
      throw new SystemError(EBADMSG, 'recv', undefined, `netlink: nlmsg_len ${len} at offset ${o} does not fit the ${datagram.length}-byte datagram`);
    }
    append(out, { type: u16(datagram, o + 4), flags: u16(datagram, o + 6), seq: u32(datagram, o + 8), pid: u32(datagram, o + 12), body: datagram.subarray(o + NLMSG_HDRLEN, o + len) });
    o += align(len, NLMSG_ALIGNTO);
  }
  return out;
}

/**
 * The attributes of a list (`struct nlattr` after `struct nlattr`), by type with the NLA_F_* flag
 * bits masked off (the last of a repeated type wins); each value is the attribute's payload, a view
 * into `list`. A truncated last attribute ends the list, as the kernel's own nla_ok() would.
 * @internal
 */
export function parseAttributes(list: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let o = 0;
  while (o + NLA_HDRLEN <= list.length) {
    const len = u16(list, o);
    if (len < NLA_HDRLEN || o + len > list.length) break;
    out.set(u16(list, o + 2) & NLA_TYPE_MASK, list.subarray(o + NLA_HDRLEN, o + len));
    o += align(len, NLA_ALIGNTO);
  }
  return out;
}

/**
 * The outcome an NLMSG_ERROR or NLMSG_DONE message carries: the errno (positive; 0 for an ACK or a
 * dump that ended well) and, when the kernel added extended-ack attributes (NLM_F_ACK_TLVS), its
 * text (NLMSGERR_ATTR_MSG). @internal
 */
export function messageOutcome(m: NlMessage): { errno: number; text: string | undefined } {
  const errno = m.body.length >= 4 ? 0 - i32(m.body, 0) : 0; // 0 - x: an ACK is 0, not -0
  if ((m.flags & NLM_F_ACK_TLVS) === 0) return { errno, text: undefined };
  // NLMSG_DONE: int error, then the attributes. NLMSG_ERROR (struct nlmsgerr): int error, then the
  // request's nlmsghdr (and, unless capped, the rest of the request), then the attributes.
  let start = 4;
  if (m.type !== NLMSG_DONE) {
    if (m.body.length < 4 + NLMSG_HDRLEN) return { errno, text: undefined };
    start += align((m.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : u32(m.body, 4), NLMSG_ALIGNTO);
  }
  const text = parseAttributes(m.body.subarray(start)).get(NLMSGERR_ATTR_MSG);
  return { errno, text: text ? attrString(text) : undefined };
}
