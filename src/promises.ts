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
 * Arguments are read once and checked when the call is made, exactly as the sync call checks them
 * (also when the call has to queue behind others on the same fd): a bad argument rejects at once with
 * the sync call's TypeError or RangeError, and nothing the caller passed is read again while it waits.
 * Options are checked whole: a field a call does not take, or one of the wrong type, is a TypeError.
 * Wait options may stand in place of omitted optional arguments, and for the calls that take an
 * options object (sendmsg, recvmsg, recvmmsg, recvmmsgInto) may be given in it too.
 *
 * Buffers passed to a pending call are referenced by it until it settles, so they stay alive even if
 * the caller drops them; the native side only touches a buffer during a system call, never across
 * an await.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { addrArg, integerArg, invalidArgType, isRevokedProxy, optionsArg } from './argerrors.js';
import { sender, senderHolder, toBinary } from './addrmemo.js';
import { native } from './binding.js';
import { MSG_DONTWAIT, POLLIN, SOL_SOCKET, SO_ERROR } from './constants.generated.js';
import type { AcceptResult } from './connection.js';
import { SystemError, lastAddress } from './errors.js';
import type { RecvFromResult } from './io.js';
import {
  RECVMMSG_BATCH_FIELDS,
  RECVMSG_FIELDS,
  SENDMSG_FIELDS,
  recvmsgResult,
  splitMMsg,
  type MMsg,
  type MMsgResult,
  type RecvMsgOptions,
  type RecvMsgResult,
  type SendMsgOptions,
  type RecvMMsgBatchOptions,
} from './msg.js';
import { MMSG_BATCH_MAX, type MMsgBatch, batchRange, isBatch } from './batch.js';
import { AGAIN, type Operation, type WaitOptions, WAIT_FIELDS, dontwaitOperation, mergedOptions, operate, positional } from './operate.js';
import type { AnySockAddr } from './sockaddr.js';
import { encodeSockaddr } from './sockaddrcodec.js';
import { getsockopt } from './sockopt.js';

export { AbortError } from './operate.js';
export type { WaitOptions } from './operate.js';

const { EAGAIN, EALREADY, ECONNABORTED, EINPROGRESS, EISCONN, EMFILE, ENFILE } = osConstants.errno;

/** The wait options given as the last argument. */
function waitArg(wait: unknown): WaitOptions {
  return optionsArg(wait, 'options', WAIT_FIELDS);
}

/**
 * The caller's flags with MSG_DONTWAIT added, checked first: or-ing a value outside int32 would wrap
 * it silently, which the sync call refuses.
 */
function dontwait(flags: unknown): number {
  return integerArg(flags ?? 0, 'flags', -(2 ** 31), 2 ** 31 - 1) | MSG_DONTWAIT;
}

/** A call without MSG_DONTWAIT (read, write): the binding's count, EAGAIN meaning wait. */
function plainOperation(syscall: string, wait: WaitOptions, call: (b: typeof native.validate) => number): Operation<number> {
  return {
    wait,
    validate: () => void call(native.validate),
    attempt() {
      const r = call(native);
      if (r === -EAGAIN) return AGAIN;
      if (r < 0) throw new SystemError(-r, syscall);
      return r;
    },
  };
}

/** Whether a listening socket has a connection queued (poll for POLLIN without waiting). */
function connectionQueued(fd: number): boolean {
  const r = native.poll([{ fd, events: POLLIN }], 0);
  return typeof r !== 'number' && (r[0]!.revents & POLLIN) !== 0;
}

/**
 * Accepts a connection, waiting for one; corresponds to `accept4(2)`. A connection reset before it
 * was accepted (ECONNABORTED) is skipped, as libuv does. `flags` may hold SOCK_NONBLOCK for a
 * non-blocking new fd (it is close-on-exec either way).
 *
 * Out of fds (EMFILE, ENFILE) it never spins: the connections queued are closed with a spare fd that
 * the process keeps for the purpose (opened when sockfd/promises first watches an fd, as libuv opens
 * its own when its first stream is made), and the call rejects with that error; with no connection
 * queued it waits for one. When there is no spare (the process was out of fds before one could be
 * opened), a queued connection is left queued and the call rejects with the error at once. Either way
 * a server that retries after EMFILE neither spins nor waits on a listener that stays readable.
 * @example
 * const { fd: conn, address } = await accept(listener, { timeout: 5000 });
 */
export function accept(fd: number, options?: WaitOptions): Promise<AcceptResult>;
export function accept(fd: number, flags?: number, options?: WaitOptions): Promise<AcceptResult>;
export function accept(fd: number, flags?: number | WaitOptions, options?: WaitOptions): Promise<AcceptResult> {
  return operate<AcceptResult>(fd, false, 'accept', () => {
    const [[given], wait] = positional([flags], ['flags'], options);
    const f = (given ?? 0) as number;
    return {
      wait: waitArg(wait),
      validate: () => void native.validate.accept(fd, f),
      attempt() {
        const r = native.accept(fd, f);
        if (typeof r !== 'number') return r;
        if (r === -EAGAIN || r === -ECONNABORTED) return AGAIN;
        if (r === -EMFILE || r === -ENFILE) {
          // accept4 takes an fd before it looks at the queue, so out of fds it fails even when no
          // connection waits: then wait for one, since the listener is not readable.
          const shed = native.shedConnections(fd);
          if (shed > 0 || connectionQueued(fd)) throw new SystemError(-r, 'accept');
          return AGAIN;
        }
        throw new SystemError(-r, 'accept');
      },
    };
  });
}

/**
 * Connects, waiting for the handshake; corresponds to `connect(2)` followed, when it reports
 * EINPROGRESS, by a wait for writability and a read of SO_ERROR. Rejects with the same error as the
 * sync call (e.g. `connect ECONNREFUSED 127.0.0.1:1`). After an abort or timeout the connection
 * attempt may still be under way in the kernel: close the socket.
 */
export function connect(fd: number, addr: AnySockAddr, options?: WaitOptions): Promise<void> {
  return operate<void>(fd, true, 'connect', () => {
    const wait = waitArg(options);
    let to: AnySockAddr = addrArg(addr);
    let pending = false;
    return {
      wait,
      validate() {
        native.validate.connect(fd, to);
        to = lastAddress();
      },
      attempt() {
        if (pending) {
          const err = getsockopt(fd, SOL_SOCKET, SO_ERROR);
          if (err !== 0) throw new SystemError(err, 'connect', to);
          return undefined;
        }
        const r = native.connect(fd, to);
        if (r === 0 || r === -EISCONN) return undefined;
        if (r === -EINPROGRESS || r === -EALREADY || r === -EAGAIN) {
          // EAGAIN: a unix socket's full backlog, try connect again when writable. Either way the
          // address is kept as converted, never read from the caller's object again.
          pending = r !== -EAGAIN;
          to = lastAddress();
          return AGAIN;
        }
        throw new SystemError(-r, 'connect', native.lastAddress);
      },
      address: () => to,
    };
  });
}

/** Reads, waiting for data; corresponds to `read(2)`. Resolves to the byte count (0 at end of stream). */
export function read(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function read(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<number>;
export function read(fd: number, buf: ArrayBufferView, length?: number | WaitOptions, options?: WaitOptions): Promise<number> {
  return operate(fd, false, 'read', () => {
    const [[len], wait] = positional([length], ['length'], options);
    return plainOperation('read', waitArg(wait), (b) => b.read(fd, buf, len as number | undefined));
  });
}

/** Writes, waiting for room; corresponds to `write(2)` (one call: the count may be short). */
export function write(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function write(fd: number, buf: ArrayBufferView, length?: number, options?: WaitOptions): Promise<number>;
export function write(fd: number, buf: ArrayBufferView, length?: number | WaitOptions, options?: WaitOptions): Promise<number> {
  return operate(fd, true, 'write', () => {
    const [[len], wait] = positional([length], ['length'], options);
    return plainOperation('write', waitArg(wait), (b) => b.write(fd, buf, len as number | undefined));
  });
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
  return operate(fd, true, 'send', () => {
    const [[len, fl], wait] = positional([length, flags], ['length', 'flags'], options);
    const f = dontwait(fl);
    return dontwaitOperation<number>('send', waitArg(wait), (b) => b.send(fd, buf, len as number | undefined, f));
  });
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
  return operate(fd, false, 'recv', () => {
    const [[len, fl], wait] = positional([length, flags], ['length', 'flags'], options);
    const f = dontwait(fl);
    return dontwaitOperation<number>('recv', waitArg(wait), (b) => b.recv(fd, buf, len as number | undefined, f));
  });
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
  return operate(fd, true, 'sendto', () => {
    const f = dontwait(flags);
    return dontwaitOperation<number>('sendto', waitArg(options), (b, to) => b.sendto(fd, buf, length, f, to!), toBinary(addr));
  });
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
  return operate(fd, false, 'recvfrom', () => {
    const [[len, fl], wait] = positional([length, flags], ['length', 'flags'], options);
    const f = dontwait(fl);
    return dontwaitOperation<number, RecvFromResult>(
      'recvfrom',
      waitArg(wait),
      (b) => b.recvfrom(fd, buf, len as number | undefined, f, senderHolder),
      undefined,
      (bytes) => ({ bytes, address: sender() }),
    );
  });
}

/**
 * Sends a message, waiting for room; corresponds to `sendmsg(2)` with MSG_DONTWAIT added. The
 * options are the sync call's (`control`, `flags`, `addr`), and may also hold the wait options; the
 * control items are encoded (and checked) once, when the call is made.
 */
export function sendmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  options?: SendMsgOptions & WaitOptions,
  wait?: WaitOptions,
): Promise<number> {
  return operate(fd, true, 'sendmsg', () => {
    const [o, w] = mergedOptions(options, wait, SENDMSG_FIELDS);
    const f = dontwait(o.flags);
    const list = buffersArg(buffers);
    return dontwaitOperation<number>('sendmsg', w, (b, to) => b.sendmsg(fd, list, o.control, f, to), o.addr);
  });
}

/**
 * Receives a message, waiting for one; corresponds to `recvmsg(2)` with MSG_DONTWAIT added. The
 * options are the sync call's (`controlLength`, `flags`), and may also hold the wait options.
 */
export function recvmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  options?: RecvMsgOptions & WaitOptions,
  wait?: WaitOptions,
): Promise<RecvMsgResult> {
  type Raw = Exclude<ReturnType<typeof native.recvmsg>, number>;
  return operate(fd, false, 'recvmsg', () => {
    const [o, w] = mergedOptions(options, wait, RECVMSG_FIELDS);
    const f = dontwait(o.flags);
    const controlLength = o.controlLength ?? 0;
    const list = buffersArg(buffers);
    return dontwaitOperation<Raw, RecvMsgResult>('recvmsg', w, (b) => b.recvmsg(fd, list, controlLength, f), undefined, recvmsgResult);
  });
}

/**
 * A list of buffers, copied into a new array (read once; the native layer checks its length and
 * each element, exactly as the sync call's), so that nothing of the caller's array is read again
 * while the call waits. Anything but an array is passed on for the native check to refuse.
 */
function buffersArg(buffers: unknown): readonly ArrayBufferView[] {
  if (isRevokedProxy(buffers) || !Array.isArray(buffers) || buffers.length > MMSG_BATCH_MAX) return buffers as readonly ArrayBufferView[];
  return Array.from(buffers as ArrayBufferView[]);
}

/** Sends several datagrams, waiting for room; corresponds to `sendmmsg(2)` with MSG_DONTWAIT added. */
export function sendmmsg(fd: number, messages: readonly MMsg[], flags?: number, wait?: WaitOptions): Promise<number>;
/**
 * Sends slots `[start, start + count)` of a reusable MMsgBatch, waiting for room; the sync
 * `sendmmsg(fd, batch, flags, count, start)` with MSG_DONTWAIT added. Resolves with how many were
 * sent (at least one unless `count` is 0; send the rest with `start` moved on). The wait options may
 * stand in place of `flags` or `count` (then every slot is sent).
 */
export function sendmmsg(fd: number, batch: MMsgBatch, flags?: number, wait?: WaitOptions): Promise<number>;
export function sendmmsg(fd: number, batch: MMsgBatch, flags?: number, count?: number, start?: number, wait?: WaitOptions): Promise<number>;
export function sendmmsg(
  fd: number,
  messages: readonly MMsg[] | MMsgBatch,
  flags?: number | WaitOptions,
  countOrWait?: number | WaitOptions,
  start?: number | WaitOptions,
  wait?: WaitOptions,
): Promise<number> {
  return operate(fd, true, 'sendmmsg', () => {
    if (isBatch(messages)) {
      const batch = messages;
      const [[fl, count, first], w] = positional([flags, countOrWait, start], ['flags', 'count', 'start'], wait);
      const f = dontwait(fl);
      const from = (first ?? 0) as number;
      const n = batchRange(batch, from, count as number | undefined);
      return dontwaitOperation<number>('sendmmsg', waitArg(w), (b) => b.sendmmsgPacked(fd, batch.data, batch.size, batch.lengths, batch.addresses, from, n, f));
    }
    const [[fl], w] = positional([flags], ['flags'], countOrWait);
    if (start !== undefined) throw invalidArgType('start', 'undefined: sendmmsg(fd, messages, flags, options) takes no start', start);
    if (wait !== undefined) throw invalidArgType('wait', 'undefined: sendmmsg(fd, messages, flags, options) takes no further argument', wait);
    const f = dontwait(fl);
    // Each address is made binary once: nothing of the caller's is read while the call waits.
    const [buffers, addrs] = splitMMsg(messages, (a) => (ArrayBuffer.isView(a) ? a : encodeSockaddr(a)));
    return dontwaitOperation<number>('sendmmsg', waitArg(w), (b) => b.sendmmsg(fd, buffers, addrs, f));
  });
}

/**
 * Receives a batch of datagrams, waiting for the first; corresponds to `recvmmsg(2)` with
 * MSG_DONTWAIT added: it resolves with what is queued when the socket becomes readable (at least one).
 * The options hold `flags`, and may also hold the wait options (recvmmsg's own kernel timeout has no
 * use here: `timeout` is the wait's).
 */
export function recvmmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  options?: { flags?: number } & WaitOptions,
  wait?: WaitOptions,
): Promise<MMsgResult[]> {
  return operate(fd, false, 'recvmmsg', () => {
    const [o, w] = mergedOptions(options, wait, { flags: 'number' });
    const f = dontwait(o.flags);
    const list = buffersArg(buffers);
    // Sized only for a list the native call can take: a claimed length of 2**32-1 is its to refuse,
    // not a 16 GiB allocation's.
    const lengths = new Uint32Array(!isRevokedProxy(list) && Array.isArray(list) && list.length <= MMSG_BATCH_MAX ? Math.max(1, list.length) : 1);
    return dontwaitOperation<MMsgResult[]>('recvmmsg', w, (b) => b.recvmmsg(fd, list, f, -1, lengths, true));
  });
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
export function recvmmsgInto(fd: number, batch: MMsgBatch, options?: RecvMMsgBatchWaitOptions, wait?: WaitOptions): Promise<number> {
  return operate(fd, false, 'recvmmsg', () => {
    if (!isBatch(batch)) throw invalidBatch(batch);
    const { timeout: _kernelTimeout, ...fields } = RECVMMSG_BATCH_FIELDS;
    const [o, w] = mergedOptions(options, wait, fields);
    const f = dontwait(o.flags);
    const start = o.start ?? 0;
    const count = batchRange(batch, start, o.count);
    return dontwaitOperation<number>('recvmmsg', w, (b) =>
      b.recvmmsgPacked(fd, batch.data, batch.size, batch.lengths, batch.addresses, start, count, f, -1, batch.flags),
    );
  });
}

function invalidBatch(batch: unknown): TypeError {
  return invalidArgType('batch', 'an MMsgBatch', batch);
}

export { close } from './socket.js';
export { sendAll, writeAll } from './promises-sendall.js';
