/**
 * Netlink messages over sockfd's own AF_NETLINK sockets: building requests (nlmsghdr, a fixed
 * header, nested attributes), parsing replies, and one synchronous request/answer exchange with the
 * kernel, bounded by SO_RCVTIMEO. Netlink headers and attributes are in host byte order. Used by
 * `sockfd/netns` (NETLINK_ROUTE) and the hand-off helpers (NETLINK_SOCK_DIAG).
 * @internal
 * @packageDocumentation
 */
import { endianness } from 'node:os';
import { constants as osConstants } from 'node:os';
import {
  AF_NETLINK,
  NETLINK_EXT_ACK,
  NLMSGERR_ATTR_MSG,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVTIMEO,
  SO_SNDBUF,
} from './constants.generated.js';
import { SystemError } from './errors.js';
import { bind, getsockname } from './connection.js';
import { recv, send } from './io.js';
import { close, socket } from './socket.js';
import { socketIn, type NetnsRef } from './socketin.js';
import { setsockopt } from './sockopt.js';

const LE = endianness() === 'LE';
const { EAGAIN, EPROTO } = osConstants.errno;

/** Bytes rounded up to netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN). */
export const align4 = (n: number): number => (n + 3) & ~3;

/** Host-order integer writers and readers. */
export const u16 = (b: Uint8Array, o: number): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength)[LE ? 'readUInt16LE' : 'readUInt16BE'](o);
export const u32 = (b: Uint8Array, o: number): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength)[LE ? 'readUInt32LE' : 'readUInt32BE'](o);
export const i32 = (b: Uint8Array, o: number): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength)[LE ? 'readInt32LE' : 'readInt32BE'](o);

/** A 32-bit host-order value as 4 bytes. */
export function u32Bytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(value >>> 0);
  else b.writeUInt32BE(value >>> 0);
  return b;
}

/** A NUL-terminated string attribute value. */
export const cString = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);

/** One attribute: a type and either bytes or nested attributes (NLA_F_NESTED is not set, as iproute2 does). */
export type Attr = [type: number, value: Uint8Array | Attr[]];

/** Encodes attributes (struct rtattr/nlattr: u16 length, u16 type, value, padding). */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of attrs) {
    const payload = Array.isArray(value) ? encodeAttrs(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const head = Buffer.alloc(4);
    const len = 4 + payload.length;
    if (LE) {
      head.writeUInt16LE(len, 0);
      head.writeUInt16LE(type, 2);
    } else {
      head.writeUInt16BE(len, 0);
      head.writeUInt16BE(type, 2);
    }
    parts.push(head, payload, Buffer.alloc(align4(len) - len));
  }
  return Buffer.concat(parts);
}

/** Decodes attributes into type -> value (the last of a repeated type wins; NLA_F_* bits masked). */
export function decodeAttrs(bytes: Uint8Array): Map<number, Buffer> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<number, Buffer>();
  for (let o = 0; o + 4 <= b.length; ) {
    const len = u16(b, o);
    if (len < 4 || o + len > b.length) break;
    out.set(u16(b, o + 2) & 0x3fff, b.subarray(o + 4, o + len));
    o += align4(len);
  }
  return out;
}

/** One netlink message of a reply. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** What follows the nlmsghdr: the fixed header, then the attributes. */
  body: Buffer;
}

/** Splits a datagram into its messages. */
export function decodeMessages(bytes: Uint8Array): NlMessage[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: NlMessage[] = [];
  for (let o = 0; o + 16 <= b.length; ) {
    const len = u32(b, o);
    if (len < 16 || o + len > b.length) break;
    out.push({ type: u16(b, o + 4), flags: u16(b, o + 6), seq: u32(b, o + 8), pid: u32(b, o + 12), body: b.subarray(o + 16, o + len) });
    o += align4(len);
  }
  return out;
}

/** Encodes a message: nlmsghdr, then the fixed header, then the attributes. */
export function encodeMessage(type: number, flags: number, seq: number, header: Uint8Array, attrs: readonly Attr[] = []): Buffer {
  const body = Buffer.concat([Buffer.from(header.buffer, header.byteOffset, header.byteLength), Buffer.alloc(align4(header.byteLength) - header.byteLength), encodeAttrs(attrs)]);
  const m = Buffer.alloc(16);
  const len = 16 + body.length;
  if (LE) {
    m.writeUInt32LE(len, 0);
    m.writeUInt16LE(type, 4);
    m.writeUInt16LE(flags, 6);
    m.writeUInt32LE(seq, 8);
  } else {
    m.writeUInt32BE(len, 0);
    m.writeUInt16BE(type, 4);
    m.writeUInt16BE(flags, 6);
    m.writeUInt32BE(seq, 8);
  }
  return Buffer.concat([m, body]);
}

/** How long one exchange may wait for the kernel's answer. */
const ANSWER_MS = 5000;

/**
 * A netlink socket of one protocol, optionally inside another network namespace (made there with
 * `socketIn`, so the kernel answers for that namespace). Synchronous: each exchange sends a request
 * and reads the answer, waiting at most 5 s (SO_RCVTIMEO).
 */
export class NetlinkSocket {
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = Buffer.alloc(65536);
  private portId = 0;

  constructor(protocol: number, netns?: NetnsRef) {
    this.fd = netns === undefined ? socket(AF_NETLINK, SOCK_RAW, protocol) : socketIn(netns, AF_NETLINK, SOCK_RAW, protocol);
    try {
      setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, ANSWER_MS);
      setsockopt(this.fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
      try {
        setsockopt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      } catch {
        // Kernels before 4.12 have no extended acks: errors then come without the kernel's text.
      }
      bind(this.fd, { family: AF_NETLINK, pid: 0, groups: 0 });
      const name = getsockname(this.fd);
      this.portId = 'pid' in name && typeof name.pid === 'number' ? name.pid : 0;
    } catch (err) {
      close(this.fd);
      throw err;
    }
  }

  /**
   * Sends one request and returns the messages of its answer: for a dump, every message before
   * NLMSG_DONE; otherwise the reply messages before the ack (NLM_F_ACK is added). An error answer
   * throws a SystemError named after `what` (`syscall` = the message type's name), with the kernel's
   * extended-ack text in the message when it gives one.
   */
  exchange(what: string, type: number, flags: number, header: Uint8Array, attrs: readonly Attr[] = [], context?: string): NlMessage[] {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const message = encodeMessage(type, flags | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK), seq, header, attrs);
    send(this.fd, message);
    const replies: NlMessage[] = [];
    for (;;) {
      let n: number;
      try {
        n = recv(this.fd, this.buf);
      } catch (err) {
        if ((err as SystemError).code === 'EAGAIN') throw new SystemError(EAGAIN, what, undefined, `the kernel did not answer within ${ANSWER_MS} ms`);
        throw err;
      }
      for (const m of decodeMessages(this.buf.subarray(0, n))) {
        if (m.seq !== seq || (m.pid !== this.portId && m.pid !== 0)) continue; // not the answer to this request
        if (m.type === NLMSG_ERROR) {
          const errno = -i32(m.body, 0);
          if (errno === 0) return replies;
          throw new SystemError(errno, what, undefined, [context, extAckMessage(m)].filter(Boolean).join(': ') || undefined);
        }
        if (m.type === NLMSG_DONE) {
          if (dump) return replies;
          continue;
        }
        replies.push({ ...m, body: Buffer.from(m.body) }); // a copy: the next recv reuses the buffer
      }
      if (n === 0) throw new SystemError(EPROTO, what, undefined, 'the netlink socket was closed');
    }
  }

  close(): void {
    close(this.fd);
  }
}

/** The kernel's text of an extended ack (NLMSGERR_ATTR_MSG), if it sent one. */
function extAckMessage(m: NlMessage): string | undefined {
  if ((m.flags & NLM_F_ACK_TLVS) === 0) return undefined;
  // struct nlmsgerr: int error, then the request's nlmsghdr (and, unless capped, the whole request).
  const requestLength = (m.flags & NLM_F_CAPPED) !== 0 ? 16 : u32(m.body, 4);
  const tlvs = decodeAttrs(m.body.subarray(4 + align4(requestLength)));
  const text = tlvs.get(NLMSGERR_ATTR_MSG);
  return text ? text.toString('utf8').replace(/\0.*$/s, '') : undefined;
}
