/**
 * Waiting for an {@link RxRing}'s next block on the event loop: `ring.waitBlock()` (a promise) and
 * `ring.watch(callback)`, both on the fd's shared libuv poll watcher (src/watcher.ts).
 *
 * One quirk of the kernel needs care. packet_poll reports a TPACKET_V3 socket readable when the block
 * *before* the one the kernel is filling belongs to user space. While JS holds that block (it took it
 * and has not released it yet), the fd therefore stays readable although the next block is not ready,
 * and a level-triggered watcher would call back on every loop iteration. So while the previous block
 * is held, the wait checks the next block's status on a 1 ms timer instead (no system call: the
 * status is in the mapping), and goes back to the watcher once that block is released.
 * @internal
 * @packageDocumentation
 */
import { optionsArg } from './argerrors.js';
import { POLLIN, SOL_SOCKET, SO_ERROR } from './constants.generated.js';
import { SystemError } from './errors.js';
import { AbortError, WAIT_FIELDS, type WaitOptions } from './operate.js';
import type { RxBlock } from './ringframe.js';
import { getsockopt } from './sockopt.js';
import { type FdState, type FdWatch, type Waiter, fdState, watch } from './watcher.js';
import { constants as osConstants } from 'node:os';

const { ETIMEDOUT } = osConstants.errno;

/** How often the next block's status is checked while the kernel's readiness cannot be trusted. */
const HELD_POLL_MS = 1;

/** Options of `RxRing.waitBlock`: those of every `sockfd/promises` call. */
export type RingWaitOptions = WaitOptions;

/** What waiting needs of a ring. @internal */
export interface WaitableRing {
  readonly fd: number;
  readonly blockCount: number;
  nextBlock(): RxBlock | null;
  previousHeld(): boolean;
}

/** A subscription made with `RxRing.watch`. */
export interface RingWatch {
  /** The ring's fd. */
  readonly fd: number;
  /** Ends the subscription; its callback is not called again. Idempotent. */
  close(): void;
  /** Makes the subscription keep the event loop alive (the default). */
  ref(): this;
  /** Lets the process exit while this subscription is its only remaining work. */
  unref(): this;
}

/** The socket's pending error (SO_ERROR, which reading clears), as a SystemError, or null. */
function socketError(fd: number): SystemError | null {
  let err: number;
  try {
    err = getsockopt(fd, SOL_SOCKET, SO_ERROR);
  } catch (e) {
    return e as SystemError;
  }
  return err === 0 ? null : new SystemError(err, 'poll');
}

/** One promise waiting for a block. */
class Pending implements Waiter {
  #state: FdState | undefined;
  #queued = false;
  #poll: NodeJS.Timeout | undefined;
  #timeout: NodeJS.Timeout | undefined;
  #done = false;
  readonly #onAbort = (): void => this.fail(new AbortError(undefined, { cause: this.options.signal?.reason }));

  constructor(
    readonly owner: RingWaiters,
    readonly options: WaitOptions,
    readonly resolve: (block: RxBlock) => void,
    readonly reject: (err: Error) => void,
  ) {}

  start(): void {
    this.options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.options.timeout !== undefined) {
      this.#timeout = setTimeout(() => this.fail(new SystemError(ETIMEDOUT, 'poll')), this.options.timeout);
    }
    this.arm();
  }

  /** Waits the right way for the ring's state: the watcher, or the timer while the previous block is held. */
  private arm(): void {
    if (this.#done) return;
    if (this.owner.ring.previousHeld()) {
      this.#poll = setTimeout(() => {
        this.#poll = undefined;
        if (!this.check()) this.arm();
      }, HELD_POLL_MS);
      return;
    }
    try {
      this.#state ??= fdState(this.owner.ring.fd);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.#queued = true;
    this.#state.enqueue(this, false);
  }

  /** True once settled: a block, or an error. */
  private check(): boolean {
    let block: RxBlock | null;
    try {
      block = this.owner.ring.nextBlock();
    } catch (err) {
      this.fail(err as Error);
      return true;
    }
    if (block === null) return false;
    this.finish();
    this.resolve(block);
    return true;
  }

  /** The watcher reports the fd readable (Waiter): true when this waiter leaves the queue. */
  attempt(): boolean {
    if (this.check()) {
      this.#queued = false;
      return true;
    }
    if (this.owner.ring.previousHeld()) {
      // The readiness is the held block's (see the file comment): leave the queue for the timer.
      this.#queued = false;
      this.arm();
      return true;
    }
    const err = socketError(this.owner.ring.fd);
    if (err === null) return false;
    this.#queued = false;
    this.fail(err);
    return true;
  }

  fail(err: Error): void {
    if (this.#done) return;
    this.finish();
    this.reject(err);
  }

  private finish(): void {
    this.#done = true;
    this.owner.pending.delete(this);
    if (this.#queued) {
      this.#queued = false;
      this.#state?.remove(this);
    }
    if (this.#poll !== undefined) clearTimeout(this.#poll);
    if (this.#timeout !== undefined) clearTimeout(this.#timeout);
    this.options.signal?.removeEventListener('abort', this.#onAbort);
  }
}

/** A ring's waiting promises and watches. @internal */
export class RingWaiters {
  readonly pending = new Set<Pending>();
  readonly watches = new Set<RingWatchImpl>();

  constructor(readonly ring: WaitableRing) {}

  /** A promise of the next block. Never throws: bad options reject. */
  wait(options: unknown): Promise<RxBlock> {
    let o: WaitOptions;
    let block: RxBlock | null;
    try {
      o = optionsArg(options, 'options', WAIT_FIELDS);
      if (o.signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: o.signal.reason }));
      block = this.ring.nextBlock();
    } catch (err) {
      return Promise.reject(err);
    }
    if (block !== null) return Promise.resolve(block);
    return new Promise<RxBlock>((resolve, reject) => {
      const p = new Pending(this, o, resolve, reject);
      this.pending.add(p);
      p.start();
    });
  }

  /** Rejects every waiting promise with `err` and ends every watch (the ring is closing). */
  closeAll(err: Error): void {
    for (const p of [...this.pending]) p.fail(err);
    for (const w of [...this.watches]) w.close();
  }
}

class RingWatchImpl implements RingWatch {
  #sub: FdWatch | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #refed = true;

  constructor(
    readonly owner: RingWaiters,
    readonly callback: (err: Error | null, block: RxBlock | null) => void,
  ) {}

  get fd(): number {
    return this.owner.ring.fd;
  }

  /** Hands over every ready block, then waits the right way (see the file comment). */
  pump(woken: boolean): void {
    const ring = this.owner.ring;
    let given = 0;
    // At most one round of the ring per wake-up: a program that releases each block in its callback
    // would otherwise keep this loop going for as long as a flood lasts.
    while (!this.#closed && given < ring.blockCount) {
      let block: RxBlock | null;
      try {
        block = ring.nextBlock();
      } catch (err) {
        this.close();
        this.callback(err as Error, null);
        return;
      }
      if (block === null) break;
      given++;
      this.callback(null, block);
    }
    if (this.#closed) return;
    if (ring.previousHeld()) {
      this.#sub?.close();
      this.#sub = null;
      if (this.#timer === null) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.pump(false);
        }, HELD_POLL_MS);
        if (!this.#refed) this.#timer.unref();
      }
      return;
    }
    if (woken && given === 0) {
      const err = socketError(ring.fd);
      if (err !== null) {
        this.close();
        this.callback(err, null);
        return;
      }
    }
    if (this.#sub === null) {
      try {
        this.#sub = watch(ring.fd, POLLIN, (err) => {
          if (err !== null) {
            this.close();
            this.callback(err, null);
          } else this.pump(true);
        });
      } catch (err) {
        this.close();
        this.callback(err as Error, null);
        return;
      }
      if (!this.#refed) this.#sub.unref();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.owner.watches.delete(this);
    this.#sub?.close();
    this.#sub = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  ref(): this {
    this.#refed = true;
    this.#sub?.ref();
    this.#timer?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#sub?.unref();
    this.#timer?.unref();
    return this;
  }
}

/** Starts a watch of the ring's blocks. @internal */
export function watchRing(ring: { waiters: RingWaiters }, callback: (err: Error | null, block: RxBlock | null) => void): RingWatch {
  const w = new RingWatchImpl(ring.waiters, callback);
  ring.waiters.watches.add(w);
  // The first pump is on the next tick, as any event: the callback never runs inside watch().
  setImmediate(() => w.pump(false));
  return w;
}
