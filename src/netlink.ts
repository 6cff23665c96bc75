/**
 * Netlink framing over sockfd's own AF_NETLINK sockets, in TypeScript: request messages
 * (`struct nlmsghdr` + a body), the messages of a reply datagram, attribute lists (`struct nlattr`),
 * and a dump: one request, then every reply message until NLMSG_DONE, with NLMSG_ERROR turned into a
 * SystemError and the netlink socket closed whatever happens. Netlink headers are in host byte order.
 *
 * Layouts, from <linux/netlink.h>:
 * - `struct nlmsghdr` (NLMSG_HDRLEN = 16 bytes): u32 nlmsg_len, u16 nlmsg_type, u16 nlmsg_flags,
 *   u32 nlmsg_seq, u32 nlmsg_pid; messages are padded to NLMSG_ALIGNTO (4).
 * - `struct nlmsgerr` (the body of NLMSG_ERROR): int error (a negative errno, 0 for an ACK), then the
 *   header of the request it answers.
 * - `struct nlattr` (NLA_HDRLEN = 4 bytes): u16 nla_len (header included), u16 nla_type (whose top bits
 *   are NLA_F_NESTED and NLA_F_NET_BYTEORDER); attributes are padded to NLA_ALIGNTO (4).
 * @internal
 * @packageDocumentation
 */
import * as os from 'node:os';
import { close, socket } from './socket.js';
import { recv } from './io.js';
import { sendmsg } from './msg.js';
import { setsockopt } from './sockopt.js';
import {
  AF_NETLINK,
  EBADMSG,
  MSG_PEEK,
  MSG_TRUNC,
  NLA_ALIGNTO,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLMSG_ALIGNTO,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  SOCK_RAW,
  SOL_SOCKET,
  SO_RCVTIMEO,
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
/** Writes a host-order u32 at `o`. @internal */
export const w32 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));

const align = (n: number, to: number): number => (n + to - 1) & ~(to - 1);

/** One message of a netlink datagram. @internal */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** What follows the header, up to `nlmsg_len`. */
  body: Buffer;
}

/** The 16-byte `struct nlmsghdr` for a request whose body is `bodyLength` bytes. @internal */
export function nlmsghdr(type: number, flags: number, seq: number, bodyLength: number): Buffer {
  const h = Buffer.alloc(NLMSG_HDRLEN);
  w32(h, NLMSG_HDRLEN + bodyLength, 0);
  w16(h, type, 4);
  w16(h, flags, 6);
  w32(h, seq, 8);
  w32(h, 0, 12); // nlmsg_pid: 0, the kernel fills in our port id
  return h;
}

/**
 * The messages of one datagram, in order.
 * @throws SystemError EBADMSG when a header's length runs past the datagram (a malformed reply).
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
 * bits masked off; each value is the attribute's payload. A truncated last attribute ends the list,
 * as the kernel's own nla_ok() would.
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

/** A NUL-terminated string attribute. @internal */
export function attrString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

/** How long a dump may go without a reply datagram before it is abandoned (EAGAIN). */
const REPLY_TIMEOUT_MS = 5000;
const KERNEL = { family: AF_NETLINK, pid: 0, groups: 0 };

/** Sequence numbers of requests, so a reply can be told from anything else queued. */
let sequence = Math.floor(Math.random() * 0x7fffffff);

/**
 * Sends one dump request on a new `socket(AF_NETLINK, SOCK_RAW, protocol)` and hands every reply
 * message's type and body to `onMessage`, until NLMSG_DONE. The socket is close-on-exec, private to
 * the call, and closed before this returns or throws.
 * @param what - names the request in error messages ('SOCK_DIAG_BY_FAMILY AF_INET IPPROTO_TCP').
 * @throws SystemError the errno of an NLMSG_ERROR reply or of an NLMSG_DONE that reports one
 *   (syscall 'recv'), or of a failing socket, sendmsg or recv (EAGAIN when no reply came for 5 s).
 * @internal
 */
export function netlinkDump(protocol: number, type: number, flags: number, body: Buffer, what: string, onMessage: (type: number, body: Buffer) => void): void {
  const fd = socket(AF_NETLINK, SOCK_RAW, protocol);
  try {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, REPLY_TIMEOUT_MS);
    const seq = (sequence = (sequence + 1) >>> 0);
    sendmsg(fd, [nlmsghdr(type, flags, seq, body.length), body], { addr: KERNEL });
    let buf = Buffer.allocUnsafe(32768);
    for (;;) {
      // MSG_PEEK | MSG_TRUNC gives the datagram's whole length, so no reply is ever cut short.
      const size = recv(fd, buf, undefined, MSG_PEEK | MSG_TRUNC);
      if (size > buf.length) buf = Buffer.allocUnsafe(align(size, 4096));
      const n = recv(fd, buf);
      for (const m of parseMessages(buf.subarray(0, n))) {
        if (m.seq !== seq || m.type === NLMSG_NOOP) continue;
        // NLMSG_DONE carries the dump's outcome: 0, or a negative errno for a dump that failed to
        // start (ENOENT for a protocol without a diag module, for one).
        if (m.type === NLMSG_DONE) {
          const errno = m.body.length >= 4 ? -i32(m.body, 0) : 0;
          if (errno > 0) throw new SystemError(errno, 'recv', undefined, `the kernel ended ${what} with an error`);
          return;
        }
        if (m.type === NLMSG_ERROR) {
          const errno = m.body.length >= 4 ? -i32(m.body, 0) : 0;
          if (errno === 0) continue; // an ACK
          throw new SystemError(errno, 'recv', undefined, `the kernel answered ${what} with NLMSG_ERROR`);
        }
        if (m.type === NLMSG_OVERRUN) throw new SystemError(EBADMSG, 'recv', undefined, `netlink overrun during ${what}`);
        onMessage(m.type, m.body);
      }
    }
  } finally {
    close(fd);
  }
}
