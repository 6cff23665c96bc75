/**
 * Messages: sendmsg and recvmsg, with scatter/gather over several buffers and ancillary data
 * (control messages) as typed objects in both directions.
 *
 * A control message is `{ level, type, ...fields }`. The ones sockfd knows are decoded into fields
 * (and encoded from them); every other one comes back as `{ level, type, data: Buffer }` and can be
 * sent the same way. Received items always keep their raw `data` too.
 * @packageDocumentation
 */
import * as os from 'node:os';
import { native } from './binding.js';
import {
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_PKTINFO,
  IPV6_RECVERR,
  IPV6_TCLASS,
  IP_PKTINFO,
  IP_RECVERR,
  IP_TOS,
  IP_TTL,
  MSG_CTRUNC,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SCM_TIMESTAMP,
  SCM_TIMESTAMPING,
  SCM_TIMESTAMPNS,
  SOL_SOCKET,
  AF_INET,
  AF_INET6,
} from './constants.generated.js';
import { check, invalidArgType, invalidArgValue, outOfRange, value } from './errors.js';
import { inet_ntop, inet_pton } from './inet.js';
import type { AnySockAddr, SockAddr } from './sockaddr.js';
import { type MMsgBatch, batchRange, isBatch, recvBatch, sendBatch } from './batch.js';

/** Any control message: known ones carry decoded fields, all carry `level` and `type`. */
export interface ControlMessage {
  level: number;
  type: number;
  /** The raw bytes: always present on received items; on items to send, used when no fields are. */
  data?: Uint8Array;
  /** SCM_RIGHTS: the fds passed (received ones are close-on-exec, and yours to close). */
  fds?: number[];
  /** SCM_CREDENTIALS (`struct ucred`). */
  pid?: number;
  uid?: number;
  gid?: number;
  /** IP_PKTINFO / IPV6_PKTINFO: the interface index. */
  ifindex?: number;
  /** IP_PKTINFO / IPV6_PKTINFO: the destination address of a received datagram, or the source to use when sending. */
  addr?: string;
  /** IP_PKTINFO: the local address the route chose (`ipi_spec_dst`). */
  specDst?: string;
  /** IP_TTL, IPV6_HOPLIMIT, IP_TOS, IPV6_TCLASS: the value. */
  value?: number;
  /** SCM_TIMESTAMP (µs in `nsec` × 1000), SCM_TIMESTAMPNS: seconds and nanoseconds. */
  sec?: number;
  nsec?: number;
  /** SCM_TIMESTAMPING: the software, (legacy) and hardware timestamps, each `{ sec, nsec }`. */
  timestamps?: { sec: number; nsec: number }[];
  /** IP_RECVERR / IPV6_RECVERR: the decoded `struct sock_extended_err`. */
  error?: ExtendedError;
}

/** `struct sock_extended_err` and its offender address (IP_RECVERR / IPV6_RECVERR with MSG_ERRQUEUE). */
export interface ExtendedError {
  /** The error number (positive, as in C): ECONNREFUSED for a port unreachable, EMSGSIZE, ... */
  errno: number;
  /** SO_EE_ORIGIN_*: 0 none, 1 local, 2 ICMP, 3 ICMPv6, 4 TXSTATUS, 5 ZEROCOPY, 6 TXTIME. */
  origin: number;
  /** The ICMP type, for ICMP origins. */
  type: number;
  /** The ICMP code, for ICMP origins. */
  code: number;
  info: number;
  data: number;
  /** The address of the node that reported the error (SO_EE_OFFENDER), or null. */
  offender: SockAddr | null;
}

const le = os.endianness() === 'LE';
const i32 = (b: Buffer, o: number): number => (le ? b.readInt32LE(o) : b.readInt32BE(o));
const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
const i64 = (b: Buffer, o: number): number => Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o));
function w32(b: Buffer, v: number, o: number, name: string, min = -(2 ** 31), max = 2 ** 31 - 1): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, v);
  if (v < 0) le ? b.writeInt32LE(v, o) : b.writeInt32BE(v, o);
  else le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
}

interface Codec {
  /** The smallest complete item: a shorter one was cut short by the kernel (MSG_CTRUNC). */
  min: number;
  encode?(item: ControlMessage): Buffer;
  decode(data: Buffer, item: ControlMessage): void;
}

function intCodec(): Codec {
  return {
    min: 1,
    encode(item) {
      const b = Buffer.alloc(4);
      w32(b, item.value as number, 0, 'control[].value');
      return b;
    },
    decode(data, item) {
      // IP_TOS arrives as one byte; the others as an int.
      if (data.length >= 4) item.value = i32(data, 0);
      else if (data.length >= 1) item.value = data[0];
    },
  };
}

const codecs = new Map<string, Codec>();
const key = (level: number, type: number): string => `${level}:${type}`;

codecs.set(key(SOL_SOCKET, SCM_RIGHTS), {
  min: 4,
  encode(item) {
    const fds = item.fds;
    if (!Array.isArray(fds) || fds.length === 0 || fds.length > 253) {
      throw outOfRange('control[].fds', 'an array of 1 to 253 fds (SCM_MAX_FD)', Array.isArray(fds) ? fds.length : fds);
    }
    const b = Buffer.alloc(fds.length * 4);
    fds.forEach((fd, i) => w32(b, fd, i * 4, `control[].fds[${i}]`, 0));
    return b;
  },
  decode(data, item) {
    item.fds = [];
    for (let o = 0; o + 4 <= data.length; o += 4) item.fds.push(i32(data, o));
  },
});

codecs.set(key(SOL_SOCKET, SCM_CREDENTIALS), {
  min: 12,
  encode(item) {
    const b = Buffer.alloc(12);
    w32(b, item.pid as number, 0, 'control[].pid', 0);
    w32(b, item.uid as number, 4, 'control[].uid', 0, 2 ** 32 - 1);
    w32(b, item.gid as number, 8, 'control[].gid', 0, 2 ** 32 - 1);
    return b;
  },
  decode(data, item) {
    if (data.length < 12) return;
    item.pid = i32(data, 0);
    item.uid = u32(data, 4);
    item.gid = u32(data, 8);
  },
});

codecs.set(key(IPPROTO_IP, IP_PKTINFO), {
  min: 12,
  encode(item) {
    const b = Buffer.alloc(12); // int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr
    w32(b, item.ifindex ?? 0, 0, 'control[].ifindex', 0);
    if (item.specDst !== undefined) inet_pton(AF_INET, item.specDst).copy(b, 4);
    if (item.addr !== undefined) inet_pton(AF_INET, item.addr).copy(b, 8);
    return b;
  },
  decode(data, item) {
    if (data.length < 12) return;
    item.ifindex = i32(data, 0);
    item.specDst = inet_ntop(AF_INET, data.subarray(4, 8));
    item.addr = inet_ntop(AF_INET, data.subarray(8, 12));
  },
});

codecs.set(key(IPPROTO_IPV6, IPV6_PKTINFO), {
  min: 20,
  encode(item) {
    const b = Buffer.alloc(20); // struct in6_addr ipi6_addr; unsigned ipi6_ifindex
    if (item.addr !== undefined) inet_pton(AF_INET6, item.addr).copy(b, 0);
    w32(b, item.ifindex ?? 0, 16, 'control[].ifindex', 0, 2 ** 32 - 1);
    return b;
  },
  decode(data, item) {
    if (data.length < 20) return;
    item.addr = inet_ntop(AF_INET6, data.subarray(0, 16));
    item.ifindex = u32(data, 16);
  },
});

for (const [level, type] of [
  [IPPROTO_IP, IP_TTL],
  [IPPROTO_IP, IP_TOS],
  [IPPROTO_IPV6, IPV6_HOPLIMIT],
  [IPPROTO_IPV6, IPV6_TCLASS],
] as const) {
  codecs.set(key(level, type), intCodec());
}

codecs.set(key(SOL_SOCKET, SCM_TIMESTAMPNS), {
  min: 16,
  decode(data, item) {
    if (data.length < 16) return;
    item.sec = i64(data, 0);
    item.nsec = i64(data, 8);
  },
});
codecs.set(key(SOL_SOCKET, SCM_TIMESTAMP), {
  min: 16,
  decode(data, item) {
    if (data.length < 16) return;
    item.sec = i64(data, 0);
    item.nsec = i64(data, 8) * 1000;
  },
});
codecs.set(key(SOL_SOCKET, SCM_TIMESTAMPING), {
  min: 16,
  decode(data, item) {
    item.timestamps = [];
    for (let o = 0; o + 16 <= data.length && item.timestamps.length < 3; o += 16) {
      item.timestamps.push({ sec: i64(data, o), nsec: i64(data, o + 8) });
    }
  },
});

const recverr: Codec = {
  min: 16,
  decode(data, item) {
    if (data.length < 16) return;
    item.error = {
      errno: u32(data, 0),
      origin: data[4]!,
      type: data[5]!,
      code: data[6]!,
      info: u32(data, 8),
      data: u32(data, 12),
      offender: data.length > 16 ? native.decodeRawSockaddr(data.subarray(16)) : null,
    };
    // An unset offender is all zeros: family AF_UNSPEC.
    if (item.error.offender && item.error.offender.family === 0) item.error.offender = null;
  },
};
codecs.set(key(IPPROTO_IP, IP_RECVERR), recverr);
codecs.set(key(IPPROTO_IPV6, IPV6_RECVERR), recverr);

/** A control message as the bytes the kernel takes. @internal */
export function encodeControl(item: ControlMessage, i: number): { level: number; type: number; data: Uint8Array } {
  if (typeof item !== 'object' || item === null) throw invalidArgValue(`control[${i}]`, 'must be an object { level, type, ... }', item);
  const { level, type } = item;
  if (!Number.isInteger(level) || !Number.isInteger(type)) {
    throw invalidArgValue(`control[${i}]`, 'must have integer level and type', item);
  }
  if (item.data !== undefined) {
    if (!ArrayBuffer.isView(item.data)) throw invalidArgValue(`control[${i}].data`, 'must be an ArrayBufferView', item.data);
    return { level, type, data: item.data };
  }
  const codec = codecs.get(key(level, type));
  if (!codec?.encode) {
    throw invalidArgValue(`control[${i}]`, 'is a control message sockfd cannot encode from fields: give its bytes as `data`', item);
  }
  return { level, type, data: codec.encode(item) };
}

/** Options of `sendmsg`. */
export interface SendMsgOptions {
  /** Ancillary data to send. */
  control?: readonly ControlMessage[];
  /** MSG_* flags (MSG_NOSIGNAL is always added). */
  flags?: number;
  /** The destination, for an unconnected datagram socket. */
  addr?: AnySockAddr;
}

/**
 * Sends a message gathered from several buffers, with ancillary data; corresponds to `sendmsg(2)`.
 * The buffers' own memory is sent (no copies). Every control item is checked and encoded before the
 * call: a malformed one is a TypeError/RangeError and nothing is sent.
 * @returns the number of bytes sent.
 * @throws SystemError `sendmsg`
 * @example
 * sendmsg(a, [Buffer.from('fd for you')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] }] });
 */
export function sendmsg(fd: number, buffers: readonly ArrayBufferView[], options: SendMsgOptions = {}): number {
  const control = options.control?.map(encodeControl);
  return check(native.sendmsg(fd, buffers, control, options.flags ?? 0, options.addr), 'sendmsg', options.addr);
}

/** What `recvmsg` returns. */
export interface RecvMsgResult {
  /** Bytes received (the real datagram length with MSG_TRUNC, even where the buffers held fewer). */
  bytes: number;
  /** MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_ERRQUEUE as the kernel set them. */
  flags: number;
  /** The sender (null where the kernel gives none). */
  address: SockAddr | null;
  /** The complete control messages received, decoded where sockfd knows them. */
  control: ControlMessage[];
}

/** Options of `recvmsg`. */
export interface RecvMsgOptions {
  /** Bytes of room for ancillary data (CMSG_SPACE of what you expect); 0 for none. Default 0. */
  controlLength?: number;
  /** MSG_PEEK, MSG_TRUNC, MSG_ERRQUEUE, MSG_DONTWAIT, ... (MSG_CMSG_CLOEXEC is always added). */
  flags?: number;
}

/**
 * Decodes the raw control items of a recvmsg result. Under MSG_CTRUNC the kernel cuts the last item
 * short and shrinks its length to match, so an item shorter than its type's struct is dropped (fds
 * always arrive whole, and the native side closes those of any item it drops). @internal
 */
export function decodeControl(raw: { level: number; type: number; data: Buffer }[], flags: number): ControlMessage[] {
  const out: ControlMessage[] = [];
  for (const item of raw) {
    const codec = codecs.get(key(item.level, item.type));
    if (codec && item.data.length < codec.min && flags & MSG_CTRUNC) continue;
    const decoded: ControlMessage = { level: item.level, type: item.type, data: item.data };
    codec?.decode(item.data, decoded);
    out.push(decoded);
  }
  return out;
}

/**
 * Receives a message scattered into several buffers, with ancillary data; corresponds to
 * `recvmsg(2)`. Fds received with SCM_RIGHTS are close-on-exec (MSG_CMSG_CLOEXEC) and yours to close;
 * when the control buffer is too small the kernel reports MSG_CTRUNC, and any fds of a truncated item
 * are closed rather than leaked.
 * @throws SystemError `recvmsg`
 * @example
 * const r = recvmsg(b, [Buffer.alloc(64)], { controlLength: 64 });
 * const [passed] = r.control.find((c) => c.type === SCM_RIGHTS)!.fds!;
 */
export function recvmsg(fd: number, buffers: readonly ArrayBufferView[], options: RecvMsgOptions = {}): RecvMsgResult {
  const r = value(native.recvmsg(fd, buffers, options.controlLength ?? 0, options.flags ?? 0), 'recvmsg');
  return { bytes: r.bytes, flags: r.flags, address: r.address, control: decodeControl(r.control, r.flags) };
}

/** One datagram for `sendmmsg`: a view, or a view with its own destination. */
export type MMsg = ArrayBufferView | { buf: ArrayBufferView; addr?: AnySockAddr };

/** Splits `sendmmsg` messages into the binding's parallel arrays. @internal */
export function splitMMsg(messages: readonly MMsg[]): [ArrayBufferView[], (AnySockAddr | undefined)[] | undefined] {
  if (!Array.isArray(messages)) throw invalidArgValue('messages', 'must be an array', messages);
  const buffers: ArrayBufferView[] = [];
  let addrs: (AnySockAddr | undefined)[] | undefined;
  messages.forEach((m, i) => {
    if (ArrayBuffer.isView(m)) {
      buffers.push(m);
      addrs?.push(undefined);
    } else if (typeof m === 'object' && m !== null) {
      buffers.push(m.buf);
      addrs ??= new Array<AnySockAddr | undefined>(i).fill(undefined);
      addrs.push(m.addr);
    } else throw invalidArgValue(`messages[${i}]`, 'must be an ArrayBufferView or { buf, addr? }', m);
  });
  return [buffers, addrs];
}

/**
 * Sends several datagrams in one system call; corresponds to `sendmmsg(2)`. Each message is a view
 * (for a connected socket) or `{ buf, addr }`.
 * @returns how many messages were sent (possibly fewer than given; send the rest again).
 * @throws SystemError `sendmmsg` when not even the first could be sent.
 * @example
 * sendmmsg(fd, [Buffer.from('Michael'), Buffer.from('Tracy'), Buffer.from('Sarah')]);
 */
export function sendmmsg(fd: number, messages: readonly MMsg[], flags?: number): number;
/**
 * Sends slots `[start, start + count)` of a reusable batch in one system call: slot `i` carries
 * `batch.lengths[i]` bytes, to `batch.address(i)` when the batch keeps addresses (an empty one, or
 * none, means the connected peer). Nothing is created per call.
 * @param count - defaults to every slot from `start` on.
 * @returns how many messages were sent (possibly fewer than `count`; send the rest with `start` moved on).
 * @throws SystemError `sendmmsg` when not even the first could be sent.
 * @example
 * const batch = new MMsgBatch(64, 64, { addresses: true });
 * for (let i = 0; i < 64; i++) batch.set(i, Buffer.from('hi'), { family: AF_INET, address: '127.0.0.1', port: 9999 });
 * sendmmsg(fd, batch); // 64 datagrams
 */
export function sendmmsg(fd: number, batch: MMsgBatch, flags?: number, count?: number, start?: number): number;
export function sendmmsg(fd: number, messages: readonly MMsg[] | MMsgBatch, flags = 0, count?: number, start = 0): number {
  if (isBatch(messages)) return check(sendBatch(fd, messages, flags, start, batchRange(messages, start, count)), 'sendmmsg');
  const [buffers, addrs] = splitMMsg(messages);
  return check(native.sendmmsg(fd, buffers, addrs, flags), 'sendmmsg');
}

/** Options of `recvmmsg`. */
export interface RecvMMsgOptions {
  /** MSG_WAITFORONE, MSG_DONTWAIT, MSG_TRUNC, ... */
  flags?: number;
  /** Milliseconds: recvmmsg's own timeout, which the kernel checks only after each datagram. */
  timeout?: number;
}

/** Options of `recvmmsgInto` with an MMsgBatch: which slots to fill, besides flags and timeout. */
export interface RecvMMsgBatchOptions extends RecvMMsgOptions {
  /** The first slot to fill (default 0). */
  start?: number;
  /** How many slots to offer (default: every slot from `start` on). */
  count?: number;
}

/** One message of a `recvmmsg` result. */
export interface MMsgResult {
  /** The datagram's length (its true length under MSG_TRUNC; the view holds at most its own size). */
  bytes: number;
  /** MSG_TRUNC etc. for this message. */
  flags: number;
  address: SockAddr | null;
}

function mmsgTimeout(timeout: number | undefined): number {
  if (timeout === undefined) return -1;
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 2 ** 31 - 1) throw outOfRange('options.timeout', 'an integer >= 0 and <= 2147483647', timeout);
  return timeout;
}

const noLengths = new Uint32Array(1024);

/**
 * Receives up to `buffers.length` datagrams in one system call, one into each view; corresponds to
 * `recvmmsg(2)`.
 * @returns one entry per datagram received, with its length, flags and sender.
 * @throws SystemError `recvmmsg` (EAGAIN on a non-blocking socket with nothing to read, ...)
 */
export function recvmmsg(fd: number, buffers: readonly ArrayBufferView[], options: RecvMMsgOptions = {}): MMsgResult[] {
  const lengths = buffers.length <= noLengths.length ? noLengths : new Uint32Array(buffers.length);
  return value(native.recvmmsg(fd, buffers, options.flags ?? 0, mmsgTimeout(options.timeout), lengths, true), 'recvmmsg');
}

/**
 * The allocation-free form of `recvmmsg` for hot loops: writes each datagram's length into
 * `lengths[i]` and returns how many arrived; nothing is created per call.
 * @param lengths - at least `buffers.length` entries.
 * @throws SystemError `recvmmsg`
 */
export function recvmmsgInto(fd: number, buffers: readonly ArrayBufferView[], lengths: Uint32Array, options?: RecvMMsgOptions): number;
/**
 * Receives up to `count` datagrams into a reusable batch, message k into slot `start + k`: its length
 * in `batch.lengths`, its flags in `batch.flags`, its sender in `batch.address(...)` when the batch
 * keeps addresses. Nothing is created per call.
 * @returns how many datagrams arrived.
 * @throws SystemError `recvmmsg`
 * @example
 * const batch = new MMsgBatch(64, 2048, { addresses: true });
 * const n = recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT });
 */
export function recvmmsgInto(fd: number, batch: MMsgBatch, options?: RecvMMsgBatchOptions): number;
export function recvmmsgInto(
  fd: number,
  buffers: readonly ArrayBufferView[] | MMsgBatch,
  lengths?: Uint32Array | RecvMMsgBatchOptions,
  options?: RecvMMsgOptions,
): number {
  if (isBatch(buffers)) {
    // recvmmsgInto(fd, batch, options): the options are the third argument, and there is no fourth.
    if (lengths !== undefined && (typeof lengths !== 'object' || lengths === null || ArrayBuffer.isView(lengths))) {
      throw invalidArgType('options', 'of type object (recvmmsgInto(fd, batch, options) takes no lengths array)', lengths);
    }
    if (options !== undefined) throw invalidArgValue('options', 'must be the third argument with a batch: recvmmsgInto(fd, batch, options)', options);
    const o = (lengths ?? {}) as RecvMMsgBatchOptions;
    const start = o.start === undefined ? 0 : o.start;
    return check(recvBatch(fd, buffers, o.flags ?? 0, mmsgTimeout(o.timeout), start, batchRange(buffers, start, o.count)), 'recvmmsg');
  }
  if (!(lengths instanceof Uint32Array)) throw invalidArgValue('lengths', 'must be a Uint32Array', lengths);
  const o = options ?? {};
  return check(native.recvmmsg(fd, buffers, o.flags ?? 0, mmsgTimeout(o.timeout), lengths, false) as number, 'recvmmsg');
}
