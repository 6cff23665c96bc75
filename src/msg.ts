/**
 * Messages: sendmsg and recvmsg, with scatter/gather over several buffers and ancillary data
 * (control messages, src/cmsg.ts) as typed objects in both directions, and the batches sendmmsg and
 * recvmmsg.
 *
 * A control message is `{ level, type, ...fields }`. The ones sockfd knows are decoded into fields
 * (and encoded from them); every other one comes back as `{ level, type, data: Buffer }` and can be
 * sent the same way. Received items always keep their raw `data` too.
 *
 * Options objects are read once and checked whole: `null`, a non-object, a field of the wrong type or
 * a field the call does not take is a TypeError naming it, before any system call.
 * @packageDocumentation
 */
import { native } from './binding.js';
import { type FieldSpec, integerArg, invalidArgType, invalidArgValue, listArg, optionsArg, isRevokedProxy } from './argerrors.js';
import { check, checkAt, value } from './errors.js';
import type { AnySockAddr, SockAddr } from './sockaddr.js';
import { type MMsgBatch, batchRange, isBatch, recvBatch, sendBatch } from './batch.js';
import { decodeControl, encodeControls } from './cmsg.js';
import type { ControlMessage, ControlMessageInit } from './cmsgtypes.js';

/** A SockAddr or its binary form, in an options object: the native layer checks its fields. @internal */
export function addrField(v: unknown, name: string): AnySockAddr {
  if (typeof v !== 'object' || v === null || isRevokedProxy(v)) throw invalidArgType(name, 'a SockAddr object or a binary sockaddr', v);
  return v as AnySockAddr;
}

/** A millisecond count from 0 to 2^31-1. @internal */
export function msField(v: unknown, name: string): number {
  return integerArg(v, name, 0, 2 ** 31 - 1);
}

/** The fields of sendmsg's options. @internal */
export const SENDMSG_FIELDS = {
  control: (v: unknown, name: string) => encodeControls(v, name),
  flags: 'number',
  addr: addrField,
} as const satisfies Record<string, FieldSpec>;

/** The fields of recvmsg's options. @internal */
export const RECVMSG_FIELDS = { controlLength: 'number', flags: 'number' } as const satisfies Record<string, FieldSpec>;

/** Options of `sendmsg`. */
export interface SendMsgOptions {
  /** Ancillary data to send: items sockfd encodes from fields, or any item as raw bytes. */
  control?: readonly ControlMessageInit[];
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
export function sendmsg(fd: number, buffers: readonly ArrayBufferView[], options?: SendMsgOptions): number {
  const o = optionsArg(options, 'options', SENDMSG_FIELDS);
  const addr = o.addr;
  const r = native.sendmsg(fd, buffers, o.control, o.flags ?? 0, addr);
  return addr === undefined ? check(r, 'sendmsg') : checkAt(r, 'sendmsg');
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
 * Receives a message scattered into several buffers, with ancillary data; corresponds to
 * `recvmsg(2)`. Fds received with SCM_RIGHTS are close-on-exec (MSG_CMSG_CLOEXEC) and yours to close;
 * when the control buffer is too small the kernel reports MSG_CTRUNC, and any fds of a truncated item
 * are closed rather than leaked.
 * @throws SystemError `recvmsg`
 * @example
 * const r = recvmsg(b, [Buffer.alloc(64)], { controlLength: 64 });
 * const rights = r.control.find((c) => c.level === SOL_SOCKET && c.type === SCM_RIGHTS);
 * const [passed] = rights?.fds ?? [];
 */
export function recvmsg(fd: number, buffers: readonly ArrayBufferView[], options?: RecvMsgOptions): RecvMsgResult {
  const o = optionsArg(options, 'options', RECVMSG_FIELDS);
  const r = value(native.recvmsg(fd, buffers, o.controlLength ?? 0, o.flags ?? 0), 'recvmsg');
  return recvmsgResult(r);
}

/** The result of recvmsg from the binding's: control messages decoded (their fds closed if that fails). @internal */
export function recvmsgResult(r: { bytes: number; flags: number; address: SockAddr | null; control: { level: number; type: number; data: Buffer }[] }): RecvMsgResult {
  return { bytes: r.bytes, flags: r.flags, address: r.address, control: decodeControl(r.control, r.flags) };
}

/** One datagram for `sendmmsg`: a view, or a view with its own destination. */
export type MMsg = ArrayBufferView | { buf: ArrayBufferView; addr?: AnySockAddr };

/** The most datagrams one sendmmsg/recvmmsg takes: the kernel's UIO_MAXIOV. */
const MMSG_MAX = 1024;

/**
 * Splits `sendmmsg` messages into the binding's parallel arrays, reading the list and each message
 * once: at most 1024 messages (a longer list is a RangeError before it is walked), each a view or
 * `{ buf, addr? }`; a hole is a TypeError, never skipped. `toAddress` converts each given address (the
 * promise layer makes them binary, so that no address object is read again while the call waits).
 * @internal
 */
export function splitMMsg(
  messages: unknown,
  toAddress: (addr: AnySockAddr) => AnySockAddr = (a) => a,
): [ArrayBufferView[], (AnySockAddr | undefined)[] | undefined] {
  const list = listArg(messages, 'messages', MMSG_MAX);
  let addrs: (AnySockAddr | undefined)[] | undefined;
  // Array.from defines the elements (no setter on Array.prototype can swallow one); each message's
  // buf and addr are read once.
  const buffers = Array.from(list, (m, i): ArrayBufferView => {
    if (ArrayBuffer.isView(m)) return m;
    if (typeof m !== 'object' || m === null || isRevokedProxy(m)) throw invalidArgType(`messages[${i}]`, 'an ArrayBufferView or { buf, addr? }', m);
    for (const key in m) {
      if (key !== 'buf' && key !== 'addr' && Object.prototype.hasOwnProperty.call(m, key)) {
        throw invalidArgValue(`messages[${i}]`, `has an unknown property "${key}" (it takes buf, addr)`, m);
      }
    }
    const { buf, addr } = m as { buf?: unknown; addr?: unknown };
    if (!ArrayBuffer.isView(buf)) throw invalidArgType(`messages[${i}].buf`, 'an instance of Buffer, TypedArray, or DataView', buf);
    if (addr !== undefined) {
      addrs ??= Array.from({ length: list.length }, () => undefined);
      addrs[i] = toAddress(addrField(addr, `messages[${i}].addr`)); // an element it already has: no setter runs
    }
    return buf;
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

/** The fields of recvmmsg's options. @internal */
export const RECVMMSG_FIELDS = { flags: 'number', timeout: msField } as const satisfies Record<string, FieldSpec>;
/** The fields of recvmmsgInto's options with a batch. @internal */
export const RECVMMSG_BATCH_FIELDS = { ...RECVMMSG_FIELDS, start: 'number', count: 'number' } as const satisfies Record<string, FieldSpec>;

const noLengths = new Uint32Array(MMSG_MAX);

/**
 * Receives up to `buffers.length` datagrams in one system call, one into each view; corresponds to
 * `recvmmsg(2)`.
 * @returns one entry per datagram received, with its length, flags and sender.
 * @throws SystemError `recvmmsg` (EAGAIN on a non-blocking socket with nothing to read, ...)
 */
export function recvmmsg(fd: number, buffers: readonly ArrayBufferView[], options?: RecvMMsgOptions): MMsgResult[] {
  const o = optionsArg(options, 'options', RECVMMSG_FIELDS);
  // The native layer refuses more than MMSG_MAX buffers, so noLengths always has room.
  return value(native.recvmmsg(fd, buffers, o.flags ?? 0, o.timeout ?? -1, noLengths, true), 'recvmmsg');
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
    if (ArrayBuffer.isView(lengths)) {
      throw invalidArgType('options', 'of type object (recvmmsgInto(fd, batch, options) takes no lengths array)', lengths);
    }
    if (options !== undefined) throw invalidArgValue('options', 'must be the third argument with a batch: recvmmsgInto(fd, batch, options)', options);
    const o = optionsArg(lengths, 'options', RECVMMSG_BATCH_FIELDS);
    const start = o.start ?? 0;
    const count = batchRange(buffers, start, o.count);
    return check(recvBatch(fd, buffers, o.flags ?? 0, o.timeout ?? -1, start, count), 'recvmmsg');
  }
  if (isRevokedProxy(lengths) || !(lengths instanceof Uint32Array)) throw invalidArgType('lengths', 'an instance of Uint32Array', lengths);
  const o = optionsArg(options, 'options', RECVMMSG_FIELDS);
  return check(
    native.recvmmsg(fd, buffers, o.flags ?? 0, o.timeout ?? -1, lengths, false) as number,
    'recvmmsg',
  );
}
