/**
 * `sockfd/promises`: the C mirror's I/O calls for the event loop. Each takes the sync call's arguments
 * and returns a Promise of what the sync call returns. It makes the same system call at once; only
 * when that would block (EAGAIN, or EINPROGRESS for connect) does it wait for readiness on the fd's
 * shared libuv poll watcher and try again. No thread is ever parked in a system call.
 *
 * The last argument may be `{ signal?: AbortSignal, timeout?: number }`, in place of omitted optional
 * arguments too (`accept(fd, { signal })`). An abort rejects with an `AbortError` and a timeout with a
 * SystemError `ETIMEDOUT`; neither consumes data, since the system call only runs when the fd is ready.
 *
 * Blocking mode: `send`, `recv`, `sendto` and `recvfrom` pass MSG_DONTWAIT and touch nothing else
 * when they complete at once. The first call on an fd that has to wait — and the first `read`,
 * `write`, `accept` or `connect`, which have no per-call flag — creates the fd's watcher, which sets
 * O_NONBLOCK on it (libuv's poll watcher requires it) and leaves it set. A later sync call on that
 * fd throws EAGAIN where it would have waited, as C does on a non-blocking socket.
 *
 * Buffers passed to a pending call are referenced by it until it settles, so they stay alive even if
 * the caller drops them; the native side only touches a buffer during a system call, never across
 * an await.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { native } from './binding.js';
import { MSG_DONTWAIT, SOL_SOCKET, SO_ERROR } from './constants.generated.js';
import type { AcceptResult } from './connection.js';
import { SystemError, invalidArgType, outOfRange, value } from './errors.js';
import type { RecvFromResult } from './io.js';
import {
  decodeControl,
  encodeControl,
  splitMMsg,
  type MMsg,
  type MMsgResult,
  type RecvMsgOptions,
  type RecvMsgResult,
  type SendMsgOptions,
  type RecvMMsgBatchOptions,
} from './msg.js';
import { type MMsgBatch, batchRange, isBatch, recvBatch, sendBatch } from './batch.js';
import type { AnySockAddr } from './sockaddr.js';
import { getsockopt } from './sockopt.js';
import { existingFdState, tryFdState, watchError, type Waiter } from './watcher.js';

/** Options every `sockfd/promises` call takes as its last argument. */
export interface WaitOptions {
  /** Aborting it rejects the call with an `AbortError` (code `ABORT_ERR`) if it is still waiting. */
  signal?: AbortSignal;
  /** Milliseconds to wait for readiness before rejecting with a SystemError `ETIMEDOUT`. */
  timeout?: number;
}

/** The rejection of a call whose AbortSignal fired, in the shape of Node's own (`fs.promises`). */
export class AbortError extends Error {
  /** `'ABORT_ERR'`, as Node's. */
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

const { EAGAIN, EALREADY, ECONNABORTED, EEXIST, EINPROGRESS, EISCONN, EMFILE, ENFILE, ETIMEDOUT } = osConstants.errno;
const AGAIN = Symbol('EAGAIN');
type Attempt<T> = () => T | typeof AGAIN;

function isOptions(x: unknown): x is WaitOptions {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x);
}

function checkOptions(options: WaitOptions | undefined): WaitOptions {
  if (options === undefined) return {};
  if (!isOptions(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  const { signal, timeout } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= 2 ** 31 - 1))) {
    throw outOfRange('options.timeout', '>= 0 and <= 2147483647', timeout);
  }
  return { signal, timeout };
}

/** A binding's number result, with EAGAIN turned into the AGAIN sentinel. */
function again(result: number, syscall: string, addr?: AnySockAddr): number | typeof AGAIN {
  if (result === -EAGAIN) return AGAIN;
  if (result < 0) throw new SystemError(-result, syscall, addr);
  return result;
}

/**
 * The caller's flags with MSG_DONTWAIT added, checked first: or-ing a value outside int32 would wrap
 * it silently, which the sync call refuses.
 */
function dontwait(flags: unknown): number {
  const f = flags ?? 0;
  if (typeof f !== 'number') throw invalidArgType('flags', 'of type number', f);
  if (!Number.isInteger(f) || f < -(2 ** 31) || f > 2 ** 31 - 1) {
    throw outOfRange('flags', 'an integer >= -2147483648 and <= 2147483647', f);
  }
  return f | MSG_DONTWAIT;
}

/**
 * The calls that take MSG_DONTWAIT (send, recv, sendto, recvfrom, sendmsg, recvmsg, sendmmsg,
 * recvmmsg): `prepare` checks the caller's flags (and anything else) once and returns the system call,
 * whose result is the value, a negative errno, or EAGAIN to wait for readiness.
 */
function withDontwait<R, T = R>(
  fd: number,
  writable: boolean,
  syscall: string,
  prepare: () => () => R | number,
  options: WaitOptions | undefined,
  addr?: AnySockAddr,
  finish: (r: R) => T = (r) => r as unknown as T,
): Promise<T> {
  return operate<T>(
    fd,
    writable,
    () => {
      const call = prepare();
      return () => {
        const r = call();
        if (typeof r !== 'number') return finish(r);
        if (r === -EAGAIN) return AGAIN;
        if (r < 0) throw new SystemError(-r, syscall, addr);
        return finish(r as R);
      };
    },
    options,
    syscall,
    addr,
    true,
  );
}

/**
 * The one waiting loop behind every call. `prepare` checks and converts the arguments and returns
 * the attempt; anything it throws becomes a rejection, so no call here ever throws synchronously.
 * The attempt is tried at once unless others of the same direction are already queued (first come,
 * first served), else queued on the fd's watcher until it settles.
 */
function operate<T>(
  fd: number,
  writable: boolean,
  prepare: () => Attempt<T>,
  options: WaitOptions | undefined,
  syscall: string,
  addr?: AnySockAddr,
  dontwaitAttempt = false,
): Promise<T> {
  try {
    const attempt = prepare();
    const { signal, timeout } = checkOptions(options);
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    let state = existingFdState(fd);
    if (state === undefined && dontwaitAttempt) {
      // The call cannot block (MSG_DONTWAIT), so it needs no watcher unless it has to wait: bad
      // arguments and ready data never touch the fd's flags.
      const r = attempt();
      if (r !== AGAIN) return Promise.resolve(r);
    }
    if (state === undefined) {
      const created = tryFdState(fd);
      if (typeof created === 'number') {
        // Not pollable (EBADF, a regular file, an fd net owns): the call itself reports what is
        // wrong, as the sync call would; only a call that would have to wait gets the poll error.
        if (!dontwaitAttempt) {
          const r = created === -EEXIST ? AGAIN : attempt();
          if (r !== AGAIN) return Promise.resolve(r);
        }
        throw watchError(fd, created);
      }
      state = created;
      if (!dontwaitAttempt) {
        const r = attempt();
        if (r !== AGAIN) return Promise.resolve(r);
      }
    } else if (!state.busy(writable)) {
      const r = attempt();
      if (r !== AGAIN) return Promise.resolve(r);
    }
    const fdstate = state;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        attempt() {
          let r: T | typeof AGAIN;
          try {
            r = attempt();
          } catch (err) {
            finish();
            reject(err);
            return true;
          }
          if (r === AGAIN) return false;
          finish();
          resolve(r);
          return true;
        },
        fail(err) {
          finish();
          reject(err);
        },
      };
      function onAbort(): void {
        fdstate.remove(waiter);
        finish();
        reject(new AbortError(undefined, { cause: signal?.reason }));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          fdstate.remove(waiter);
          finish();
          reject(new SystemError(ETIMEDOUT, syscall, addr));
        }, timeout);
      }
      fdstate.enqueue(waiter, writable);
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

// A spare fd, held so that a listening socket whose accept fails with EMFILE can still take the
// waiting connections off its queue (and close them) instead of being woken for them forever:
// libuv's "reserve fd" trick. Opened on the first accept, once per environment.
let reserveFd: number | undefined;

/**
 * Sheds the connections waiting on a listening socket after EMFILE/ENFILE: frees the reserve fd,
 * accepts and closes each queued connection, and takes the reserve back. Returns how many it shed.
 */
function shed(fd: number): number {
  if (reserveFd === undefined) return 0;
  fs.closeSync(reserveFd);
  reserveFd = undefined;
  let shedCount = 0;
  try {
    for (;;) {
      const r = native.accept(fd, 0);
      if (typeof r === 'number') break;
      native.close(r.fd);
      shedCount++;
    }
  } finally {
    try {
      reserveFd = fs.openSync('/dev/null', 'r');
    } catch {
      reserveFd = undefined; // still no fd to spare: the next EMFILE sheds nothing
    }
  }
  return shedCount;
}

/**
 * Accepts a connection, waiting for one; corresponds to `accept4(2)`. A connection reset before it
 * was accepted (ECONNABORTED) is skipped, as libuv does. `flags` may hold SOCK_NONBLOCK for a
 * non-blocking new fd (it is close-on-exec either way). When the process is out of fds (EMFILE,
 * ENFILE), a connection that arrives is closed at once (with a spare fd kept for the purpose, as
 * libuv does) and the call rejects with that error; with no connection waiting it keeps waiting. So a
 * server that retries after EMFILE neither spins nor leaves clients hanging in the queue.
 * @example
 * const { fd: conn, address } = await accept(listener, { timeout: 5000 });
 */
export function accept(fd: number, options?: WaitOptions): Promise<AcceptResult>;
export function accept(fd: number, flags?: number, options?: WaitOptions): Promise<AcceptResult>;
export function accept(fd: number, flags?: number | WaitOptions, options?: WaitOptions): Promise<AcceptResult> {
  if (isOptions(flags)) [flags, options] = [0, flags];
  const f = flags ?? 0;
  return operate(
    fd,
    false,
    () => {
      if (reserveFd === undefined) {
        try {
          reserveFd = fs.openSync('/dev/null', 'r');
        } catch {
          // Already out of fds: go on without a spare.
        }
      }
      return () => {
        const r = native.accept(fd, f);
        if (r === -EAGAIN || r === -ECONNABORTED) return AGAIN;
        // accept4 takes an fd before it looks at the queue, so out of fds it fails even when no
        // connection waits: then wait for one. When connections were waiting, they are shed and the
        // caller hears EMFILE.
        if ((r === -EMFILE || r === -ENFILE) && shed(fd) === 0) return AGAIN;
        return value(r, 'accept');
      };
    },
    options,
    'accept',
  );
}

/**
 * Connects, waiting for the handshake; corresponds to `connect(2)` followed, when it reports
 * EINPROGRESS, by a wait for writability and a read of SO_ERROR. Rejects with the same error as the
 * sync call (e.g. `connect ECONNREFUSED 127.0.0.1:1`). After an abort or timeout the connection
 * attempt may still be under way in the kernel: close the socket.
 */
export function connect(fd: number, addr: AnySockAddr, options?: WaitOptions): Promise<void> {
  let pending = false;
  return operate<void>(
    fd,
    true,
    () => () => {
      if (pending) {
        const err = getsockopt(fd, SOL_SOCKET, SO_ERROR);
        if (err !== 0) throw new SystemError(err, 'connect', addr);
        return undefined;
      }
      const r = native.connect(fd, addr);
      if (r === 0 || r === -EISCONN) return undefined;
      if (r === -EINPROGRESS || r === -EALREADY) {
        pending = true;
        return AGAIN;
      }
      if (r === -EAGAIN) return AGAIN; // a unix socket's full backlog: try connect again when writable
      throw new SystemError(-r, 'connect', addr);
    },
    options,
    'connect',
    addr,
  );
}

/** Reads, waiting for data; corresponds to `read(2)`. Resolves to the byte count (0 at end of stream). */
export function read(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function read(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<number>;
export function read(fd: number, buf: ArrayBufferView, length?: number | WaitOptions, options?: WaitOptions): Promise<number> {
  if (isOptions(length)) [length, options] = [undefined, length];
  const len = length;
  return operate(fd, false, () => () => again(native.read(fd, buf, len), 'read'), options, 'read');
}

/** Writes, waiting for room; corresponds to `write(2)` (one call: the count may be short). */
export function write(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function write(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<number>;
export function write(fd: number, buf: ArrayBufferView, length?: number | WaitOptions, options?: WaitOptions): Promise<number> {
  if (isOptions(length)) [length, options] = [undefined, length];
  const len = length;
  return operate(fd, true, () => () => again(native.write(fd, buf, len), 'write'), options, 'write');
}

/** Sends, waiting for room; corresponds to `send(2)` with MSG_DONTWAIT added. */
export function send(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function send(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<number>;
export function send(fd: number, buf: ArrayBufferView, length?: number, flags?: number, options?: WaitOptions): Promise<number>;
export function send(
  fd: number,
  buf: ArrayBufferView,
  length?: number | WaitOptions,
  flags?: number | WaitOptions,
  options?: WaitOptions,
): Promise<number> {
  if (isOptions(length)) [length, flags, options] = [undefined, 0, length];
  else if (isOptions(flags)) [flags, options] = [0, flags];
  const len = length;
  return withDontwait<number>(fd, true, 'send', () => {
    const f = dontwait(flags);
    return () => native.send(fd, buf, len, f);
  }, options);
}

/** Receives, waiting for data; corresponds to `recv(2)` with MSG_DONTWAIT added. */
export function recv(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function recv(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<number>;
export function recv(fd: number, buf: ArrayBufferView, length?: number, flags?: number, options?: WaitOptions): Promise<number>;
export function recv(
  fd: number,
  buf: ArrayBufferView,
  length?: number | WaitOptions,
  flags?: number | WaitOptions,
  options?: WaitOptions,
): Promise<number> {
  if (isOptions(length)) [length, flags, options] = [undefined, 0, length];
  else if (isOptions(flags)) [flags, options] = [0, flags];
  const len = length;
  return withDontwait<number>(fd, false, 'recv', () => {
    const f = dontwait(flags);
    return () => native.recv(fd, buf, len, f);
  }, options);
}

/** Sends a datagram, waiting for room; corresponds to `sendto(2)` with MSG_DONTWAIT added. */
export function sendto(
  fd: number,
  buf: ArrayBufferView,
  length: number | undefined,
  flags: number,
  addr: AnySockAddr,
  options?: WaitOptions,
): Promise<number> {
  return withDontwait<number>(fd, true, 'sendto', () => {
    const f = dontwait(flags);
    return () => native.sendto(fd, buf, length, f, addr);
  }, options, addr);
}

/** Receives a datagram and its sender, waiting for one; corresponds to `recvfrom(2)` with MSG_DONTWAIT added. */
export function recvfrom(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<RecvFromResult>;
export function recvfrom(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<RecvFromResult>;
export function recvfrom(
  fd: number,
  buf: ArrayBufferView,
  length?: number,
  flags?: number,
  options?: WaitOptions,
): Promise<RecvFromResult>;
export function recvfrom(
  fd: number,
  buf: ArrayBufferView,
  length?: number | WaitOptions,
  flags?: number | WaitOptions,
  options?: WaitOptions,
): Promise<RecvFromResult> {
  if (isOptions(length)) [length, flags, options] = [undefined, 0, length];
  else if (isOptions(flags)) [flags, options] = [0, flags];
  const len = length;
  return withDontwait<RecvFromResult>(fd, false, 'recvfrom', () => {
    const f = dontwait(flags);
    return () => native.recvfrom(fd, buf, len, f);
  }, options);
}

/**
 * Sends a message, waiting for room; corresponds to `sendmsg(2)` with MSG_DONTWAIT added. The
 * control items are encoded (and checked) once, before the first attempt.
 */
export function sendmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  options: SendMsgOptions = {},
  wait?: WaitOptions,
): Promise<number> {
  return withDontwait<number>(fd, true, 'sendmsg', () => {
    const control = options.control?.map(encodeControl);
    const f = dontwait(options.flags);
    const addr = options.addr;
    return () => native.sendmsg(fd, buffers, control, f, addr);
  }, wait, options?.addr);
}

/** Receives a message, waiting for one; corresponds to `recvmsg(2)` with MSG_DONTWAIT added. */
export function recvmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  options: RecvMsgOptions = {},
  wait?: WaitOptions,
): Promise<RecvMsgResult> {
  type Raw = Exclude<ReturnType<typeof native.recvmsg>, number>;
  return withDontwait<Raw, RecvMsgResult>(
    fd,
    false,
    'recvmsg',
    () => {
      const f = dontwait(options.flags);
      const controlLength = options.controlLength ?? 0;
      return () => native.recvmsg(fd, buffers, controlLength, f);
    },
    wait,
    undefined,
    (m) => ({ bytes: m.bytes, flags: m.flags, address: m.address, control: decodeControl(m.control, m.flags) }),
  );
}

/** Sends several datagrams, waiting for room; corresponds to `sendmmsg(2)` with MSG_DONTWAIT added. */
export function sendmmsg(fd: number, messages: readonly MMsg[], flags?: number, wait?: WaitOptions): Promise<number>;
/**
 * Sends slots `[start, start + count)` of a reusable MMsgBatch, waiting for room; the sync
 * `sendmmsg(fd, batch, flags, count, start)` with MSG_DONTWAIT added. Resolves with how many were
 * sent (at least one unless `count` is 0; send the rest with `start` moved on). The wait options may
 * stand in place of `count` (then every slot is sent).
 */
export function sendmmsg(fd: number, batch: MMsgBatch, flags?: number, wait?: WaitOptions): Promise<number>;
export function sendmmsg(fd: number, batch: MMsgBatch, flags?: number, count?: number, start?: number, wait?: WaitOptions): Promise<number>;
export function sendmmsg(
  fd: number,
  messages: readonly MMsg[] | MMsgBatch,
  flags = 0,
  countOrWait?: number | WaitOptions,
  start?: number,
  wait?: WaitOptions,
): Promise<number> {
  if (isBatch(messages)) {
    const batch = messages;
    const count = isOptions(countOrWait) ? undefined : countOrWait;
    if (isOptions(countOrWait)) wait = countOrWait;
    return withDontwait<number>(fd, true, 'sendmmsg', () => {
      const f = dontwait(flags);
      const first = start === undefined ? 0 : start;
      const n = batchRange(batch, first, count);
      return () => sendBatch(fd, batch, f, first, n);
    }, wait);
  }
  const options = countOrWait as WaitOptions | undefined;
  return withDontwait<number>(fd, true, 'sendmmsg', () => {
    const [buffers, addrs] = splitMMsg(messages);
    const f = dontwait(flags);
    return () => native.sendmmsg(fd, buffers, addrs, f);
  }, options);
}

/**
 * Receives a batch of datagrams, waiting for the first; corresponds to `recvmmsg(2)` with
 * MSG_DONTWAIT added: it resolves with what is queued when the socket becomes readable (at least one).
 */
export function recvmmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  options: { flags?: number } = {},
  wait?: WaitOptions,
): Promise<MMsgResult[]> {
  return withDontwait<MMsgResult[]>(fd, false, 'recvmmsg', () => {
    const f = dontwait(options.flags);
    if (!Array.isArray(buffers)) throw invalidArgType('buffers', 'an array of ArrayBufferViews', buffers);
    const lengths = new Uint32Array(Math.max(1, buffers.length));
    return () => native.recvmmsg(fd, buffers, f, -1, lengths, true);
  }, wait);
}

/** Options of `sockfd/promises` `recvmmsgInto` with a batch: which slots and flags, and the wait options. */
export type RecvMMsgBatchWaitOptions = Omit<RecvMMsgBatchOptions, 'timeout'> & WaitOptions;

/**
 * Receives datagrams into a reusable MMsgBatch, waiting for the first; corresponds to `recvmmsg(2)`
 * with MSG_DONTWAIT added, as the sync `recvmmsgInto(fd, batch, options)`: it resolves with how many
 * arrived (at least one unless `count` is 0), each slot's length in `batch.lengths`, and creates
 * nothing per datagram. `signal` and `timeout` (the wait's, in ms) may be given with the other
 * options or as a separate last argument; recvmmsg's own kernel timeout has no use here.
 * @example
 * const batch = new MMsgBatch(64, 2048);
 * for (;;) handle(batch, await recvmmsgInto(fd, batch, { timeout: 5000 }));
 */
export function recvmmsgInto(fd: number, batch: MMsgBatch, options: RecvMMsgBatchWaitOptions = {}, wait?: WaitOptions): Promise<number> {
  const o: RecvMMsgBatchWaitOptions = isOptions(options) ? options : {};
  const w = wait ?? (o.signal !== undefined || o.timeout !== undefined ? { signal: o.signal, timeout: o.timeout } : undefined);
  return withDontwait<number>(fd, false, 'recvmmsg', () => {
    if (!isBatch(batch)) throw invalidArgType('batch', 'an MMsgBatch', batch);
    if (!isOptions(options)) throw invalidArgType('options', 'of type object', options);
    const f = dontwait(o.flags);
    const start = o.start === undefined ? 0 : o.start;
    const count = batchRange(batch, start, o.count);
    return () => recvBatch(fd, batch, f, -1, start, count);
  }, w);
}

export { close } from './socket.js';
export { sendAll, writeAll } from './promises-sendall.js';
