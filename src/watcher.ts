/**
 * Readiness on the event loop: one native libuv poll watcher per fd, shared by every asynchronous
 * operation on that fd (the waiters of `sockfd/promises`) and by `watch()` subscriptions.
 *
 * Policy, in one place:
 * - Creating an fd's watcher (a `watch`, or a `sockfd/promises` call that has to wait or has no
 *   MSG_DONTWAIT form) runs libuv's `uv_poll_init`, which sets O_NONBLOCK on the fd. The flag stays set
 *   until the program clears it; a sync call on the fd then fails with EAGAIN where it would have
 *   waited, as in C.
 * - An operation first tries its system call; only on EAGAIN does it queue and wait for readiness,
 *   then tries again (readiness can be spurious: EAGAIN means wait again). Waiters of one direction
 *   are served first come, first served, at most `BUDGET` per wake-up, so a flood on one fd cannot
 *   starve timers and other fds.
 * - The watcher is stopped lazily, when it reports an event nobody waits for, and holds the event
 *   loop open (is ref'd) only while someone waits (or a `watch` is ref'd).
 * - `close(fd)` from sockfd stops and closes the watcher before the fd is closed and rejects its
 *   waiters; no callback runs for that fd afterwards, even if the number is reused at once.
 * @packageDocumentation
 */
import { native, type NativeWatcher } from './binding.js';
import { POLLERR, POLLIN, POLLOUT, POLLPRI, POLLRDHUP } from './constants.generated.js';
import { fdArg } from './argerrors.js';
import { SystemError, invalidArgType, outOfRange } from './errors.js';
import { onClose } from './lifecycle.js';
import { constants as osConstants } from 'node:os';

const { EEXIST, EPERM } = osConstants.errno;

// libuv's event bits (uv.h).
const UV_READABLE = 1;
const UV_WRITABLE = 2;
const UV_DISCONNECT = 4;
const UV_PRIORITIZED = 8;

/** The most waiters of one direction served in one wake-up. */
const BUDGET = 64;

/** @internal One queued operation. */
export interface Waiter {
  /** Tries the system call once more; true when the waiter has settled, false to keep waiting. */
  attempt(): boolean;
  /** Settles the waiter with an error (close, abort, poll error). */
  fail(err: Error): void;
}

/** A subscription made with {@link watch}. */
export interface FdWatch {
  /** The fd watched. */
  readonly fd: number;
  /** Ends the subscription; its callback is not called again. Idempotent. */
  close(): void;
  /** Makes the subscription keep the event loop alive (the default). */
  ref(): this;
  /** Lets the process exit while this subscription is its only remaining work. */
  unref(): this;
}

class Subscription implements FdWatch {
  closed = false;
  refed = true;
  constructor(
    readonly state: FdState,
    readonly uvEvents: number,
    readonly callback: (err: Error | null, revents: number) => void,
  ) {}
  get fd(): number {
    return this.state.fd;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.watches.delete(this);
    this.state.update();
  }
  ref(): this {
    this.refed = true;
    if (!this.closed) this.state.update();
    return this;
  }
  unref(): this {
    this.refed = false;
    if (!this.closed) this.state.update();
    return this;
  }
}

/** @internal */
export class FdState {
  // Sets, which iterate in insertion order: FIFO queues that no setter a program put on
  // Array.prototype can disturb (an array's push assigns its new element).
  readonly readers = new Set<Waiter>();
  readonly writers = new Set<Waiter>();
  readonly watches = new Set<Subscription>();
  private started = 0;
  private refed = true;
  closed = false;
  readonly handle: NativeWatcher;

  constructor(readonly fd: number) {
    this.handle = new native.Watcher(fd, (status, events) => this.onEvents(status, events));
  }

  /** What the watcher must report, from who is waiting. */
  private wanted(): number {
    let events = 0;
    if (this.readers.size > 0) events |= UV_READABLE;
    if (this.writers.size > 0) events |= UV_WRITABLE;
    for (const w of this.watches) events |= w.uvEvents;
    return events;
  }

  /** Brings the watcher's events and ref in line with the waiters; widens at once, narrows lazily. */
  update(): void {
    if (this.closed) return;
    const wanted = this.wanted();
    if ((wanted & ~this.started) !== 0) {
      const events = this.started | wanted;
      const r = this.handle.start(events);
      if (r < 0) return this.failAll(new SystemError(-r, 'uv_poll_start'));
      this.started = events;
    }
    let refed = this.readers.size > 0 || this.writers.size > 0;
    for (const w of this.watches) refed ||= w.refed;
    if (refed !== this.refed) {
      this.refed = refed;
      if (refed) this.handle.ref();
      else this.handle.unref();
    }
  }

  private narrow(): void {
    if (this.closed) return;
    const wanted = this.wanted();
    if (wanted === this.started) return;
    if (wanted === 0) this.handle.stop();
    else {
      const r = this.handle.start(wanted);
      if (r < 0) return this.failAll(new SystemError(-r, 'uv_poll_start'));
    }
    this.started = wanted;
  }

  private serve(queue: Set<Waiter>): void {
    for (let n = 0; n < BUDGET && !this.closed; n++) {
      const first = queue.values().next();
      if (first.done === true) return;
      if (!first.value.attempt()) return;
      queue.delete(first.value);
    }
  }

  private onEvents(status: number, events: number): void {
    if (this.closed) return;
    let extra = 0;
    if (status < 0) {
      // libuv reports POLLERR on the fd as status UV_EBADF and stops the watcher. The fd is fine;
      // the socket has a pending error (a refused connect, a reset), which the next system call
      // reports. So wake everyone, as poll(2) would with POLLERR.
      this.started = 0;
      events = this.wanted();
      extra = POLLERR;
    }
    // An event nobody waits for is the moment to narrow the watcher (lazily: a request/response
    // loop keeps its watcher started and pays no epoll_ctl per round trip).
    const unwanted = events & ~this.wanted();
    if (events & (UV_READABLE | UV_DISCONNECT)) this.serve(this.readers);
    if (events & UV_WRITABLE) this.serve(this.writers);
    if (this.watches.size > 0 && !this.closed) {
      const revents = toPollEvents(events);
      for (const w of [...this.watches]) {
        if (this.closed) return;
        if (!w.closed && events & w.uvEvents) w.callback(null, (revents & toPollEvents(w.uvEvents)) | extra);
      }
    }
    if (unwanted !== 0) this.narrow();
    this.update();
  }

  private failAll(err: Error): void {
    for (const w of drain(this.readers)) w.fail(err);
    for (const w of drain(this.writers)) w.fail(err);
    for (const w of [...this.watches]) if (!w.closed) w.callback(err, 0);
  }

  /** Closes the watcher and rejects every waiter with `err`; subscriptions end silently. */
  destroy(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    states.delete(this.fd);
    this.handle.close();
    for (const w of this.watches) w.closed = true;
    this.watches.clear();
    for (const w of drain(this.readers)) w.fail(err);
    for (const w of drain(this.writers)) w.fail(err);
  }

  /** Adds a waiter and makes sure the watcher reports its direction. */
  enqueue(waiter: Waiter, writable: boolean): void {
    (writable ? this.writers : this.readers).add(waiter);
    this.update();
  }

  /** Removes a waiter that gave up (abort, timeout). */
  remove(waiter: Waiter): void {
    this.readers.delete(waiter);
    this.writers.delete(waiter);
    this.update();
  }

  /** Whether a new operation must queue behind others instead of trying at once. */
  busy(writable: boolean): boolean {
    return (writable ? this.writers : this.readers).size > 0;
  }
}

/** Empties a queue, returning what it held, in order. */
function drain(queue: Set<Waiter>): Waiter[] {
  const all = [...queue];
  queue.clear();
  return all;
}

const states = new Map<number, FdState>();
let reserved = false;

/**
 * The fd's shared watcher state, created on first use (which sets O_NONBLOCK on the fd).
 * @internal
 */
export function fdState(fd: number): FdState {
  const state = tryFdState(fd);
  if (typeof state === 'number') throw watchError(fd, state);
  return state;
}

/**
 * The fd's watcher state, or the negative errno from `uv_poll_init` when the fd cannot be watched
 * (EBADF: not open; EPERM: a regular file; EEXIST: net/dgram watches it).
 * @internal
 */
export function tryFdState(fd: number): FdState | number {
  let state = states.get(fd);
  if (state) return state;
  if (!reserved) {
    // The spare fd for accept under EMFILE (native/fd.h), opened with the first watcher, as libuv
    // opens its own with the first stream: later, the process may be out of fds.
    reserved = native.reserveFd() === 0;
  }
  state = new FdState(fd);
  const r = state.handle.init();
  if (r < 0) {
    state.closed = true;
    return r;
  }
  states.set(fd, state);
  return state;
}

/** @internal The error for an fd `uv_poll_init` refused. */
export function watchError(fd: number, result: number): SystemError {
  const hint =
    result === -EEXIST
      ? `another handle on this event loop already watches fd ${fd}: a net or dgram socket owns it`
      : result === -EPERM
        ? `fd ${fd} cannot be polled: it is not a socket, pipe or character device`
        : undefined;
  return new SystemError(-result, 'uv_poll_init', undefined, hint);
}

/** @internal The state of an fd sockfd already watches, if any. */
export function existingFdState(fd: number): FdState | undefined {
  return states.get(fd);
}

/** An error for the waiters of an fd that was closed or released under them. */
function canceled(fd: number, why: string): Error {
  const err = new Error(`sockfd: fd ${fd} was ${why} while an operation was waiting on it`);
  (err as Error & { code: string }).code = 'ERR_SOCKET_CLOSED';
  return err;
}

onClose((fd) => states.get(fd)?.destroy(canceled(fd, 'closed')));

/**
 * Stops and frees sockfd's watcher on `fd` without closing the fd, rejecting any waiters with
 * `ERR_SOCKET_CLOSED`. Call it before handing an fd that `sockfd/promises` or `watch` used to
 * `net`/`dgram`, since libuv lets only one handle of a loop watch an fd. A no-op for an fd
 * sockfd does not watch.
 * @throws TypeError/RangeError for an `fd` that is not an integer from 0 to 2^31-1, as every call.
 */
export function release(fd: number): void {
  states.get(fdArg(fd))?.destroy(canceled(fd, 'released'));
}

function toUvEvents(events: number): number {
  let uv = 0;
  if (events & POLLIN) uv |= UV_READABLE;
  if (events & POLLOUT) uv |= UV_WRITABLE;
  if (events & POLLPRI) uv |= UV_PRIORITIZED;
  if (events & POLLRDHUP) uv |= UV_DISCONNECT;
  return uv;
}

function toPollEvents(uv: number): number {
  let events = 0;
  if (uv & UV_READABLE) events |= POLLIN;
  if (uv & UV_WRITABLE) events |= POLLOUT;
  if (uv & UV_PRIORITIZED) events |= POLLPRI;
  if (uv & UV_DISCONNECT) events |= POLLRDHUP;
  return events;
}

/**
 * Subscribes to readiness events of an fd on the event loop, for programs that drive their own
 * non-blocking I/O. Uses the fd's shared libuv poll watcher (so it sets O_NONBLOCK on the fd).
 * The watch is level-triggered: the callback is called on every loop iteration while the fd stays
 * ready, so read until EAGAIN (or close the watch) inside it.
 * @param events - POLLIN, POLLOUT, POLLPRI and/or POLLRDHUP, or-ed together. Errors and hang-ups
 *   are reported as the requested events (the next system call tells which).
 * @param callback - `(err, revents)`: `revents` holds the ready events of those requested, plus
 *   POLLERR when the socket has a pending error; `err` is set (and `revents` 0) when polling itself
 *   failed.
 * @throws SystemError `uv_poll_init` (EEXIST when `net`/`dgram` already watches the fd, EPERM for
 *   an fd that cannot be polled).
 * @example
 * const w = watch(fd, POLLIN, (err, revents) => { if (revents & POLLIN) drain(fd); });
 * w.unref(); // do not keep the process alive for this
 */
export function watch(fd: number, events: number, callback: (err: Error | null, revents: number) => void): FdWatch {
  if (typeof events !== 'number') throw invalidArgType('events', 'of type number', events);
  const uvEvents = toUvEvents(events);
  if (!Number.isInteger(events) || uvEvents === 0 || (events & ~(POLLIN | POLLOUT | POLLPRI | POLLRDHUP)) !== 0) {
    throw outOfRange('events', 'a non-empty combination of POLLIN, POLLOUT, POLLPRI and POLLRDHUP', events);
  }
  if (typeof callback !== 'function') {
    throw invalidArgType('callback', 'of type function', callback);
  }
  const state = fdState(fd);
  const sub = new Subscription(state, uvEvents, callback);
  state.watches.add(sub);
  state.update();
  return sub;
}
