/**
 * The one waiting loop behind every `sockfd/promises` call, and the wait options they all take.
 *
 * A call is an {@link Operation}: `attempt` makes the system call once (the value, AGAIN to wait for
 * readiness, or a throw), `validate` checks the call's arguments exactly as `attempt` would (through
 * the binding's validation-only twin, src/binding.ts) without making it. Arguments are read and checked
 * when the call is made, even when it must queue behind others on the same fd; an address is read
 * from the caller's object once, and a call that waits keeps the binary form the native layer
 * converted (src/errors.ts `lastAddress`), so nothing of the caller's is read while it waits.
 * @internal
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { type FieldSpec, invalidArgType, isRevokedProxy, optionsArg, outOfRange } from './argerrors.js';
import { native } from './binding.js';
import { SystemError, lastAddress } from './errors.js';
import type { AnySockAddr } from './sockaddr.js';
import { type FdState, existingFdState, tryFdState, watchError, type Waiter } from './watcher.js';

const { EAGAIN, EEXIST, ETIMEDOUT } = osConstants.errno;

/** Options every `sockfd/promises` call takes as its last argument. */
export interface WaitOptions {
  /** Aborting it rejects the call with an `AbortError` (code `ABORT_ERR`) if it is still waiting. */
  signal?: AbortSignal;
  /** Milliseconds to wait for readiness before rejecting with a SystemError `ETIMEDOUT` (0 to 2^31-1). */
  timeout?: number;
}

/** The rejection of a call whose AbortSignal fired, in the shape of Node's own (`fs.promises`). */
export class AbortError extends Error {
  /** `'ABORT_ERR'`, as Node's. */
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    if (typeof message !== 'string') throw invalidArgType('message', 'of type string', message);
    if (options !== undefined && (typeof options !== 'object' || options === null || isRevokedProxy(options))) {
      throw invalidArgType('options', 'of type object', options);
    }
    super(message, options);
    this.name = 'AbortError';
  }
}

/** The sentinel of an attempt that would block: wait for readiness, then attempt again. @internal */
export const AGAIN = Symbol('EAGAIN');

/** One call of the promise layer. @internal */
export interface Operation<T> {
  /** Makes the system call once: the value, AGAIN to wait, or a throw (a SystemError, an argument error). */
  attempt(): T | typeof AGAIN;
  /** Checks every argument as `attempt` would, without the system call (for a call that must queue). */
  validate(): void;
  /** True for a call made with MSG_DONTWAIT: it cannot block, so it needs no watcher unless it has to wait. */
  dontwait?: boolean;
  /** The address the call was given, for a timeout's error (the binary copy once it has been converted). */
  address?(): AnySockAddr | undefined;
  /** The call's wait options, checked. */
  wait?: WaitOptions;
}

/** The fields of the wait options. @internal */
export const WAIT_FIELDS = {
  signal: (v: unknown, name: string): AbortSignal => {
    if (!(v instanceof AbortSignal)) throw invalidArgType(name, 'an instance of AbortSignal', v);
    return v;
  },
  timeout: (v: unknown, name: string): number => {
    if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
    if (!(v >= 0 && v <= 2 ** 31 - 1)) throw outOfRange(name, '>= 0 and <= 2147483647', v);
    return v;
  },
} as const satisfies Record<string, FieldSpec>;

/** Whether `x` is in the place of an options object: any object but a view. @internal */
export function isOptionsObject(x: unknown): x is object {
  // A revoked Proxy counts as options, which optionsArg then refuses with a code.
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x);
}

/**
 * The optional positional arguments of a call whose wait options may stand in place of the omitted
 * ones (`recv(fd, buf, { timeout })`): returns the positional values (undefined from the options on)
 * and the wait options. An argument after the options is a TypeError, never ignored.
 * @internal
 */
export function positional(args: readonly unknown[], names: readonly string[], wait: unknown): [unknown[], unknown] {
  const at = args.findIndex(isOptionsObject);
  if (at < 0) return [args as unknown[], wait];
  for (let i = at + 1; i < args.length; i++) {
    if (args[i] !== undefined) throw invalidArgType(names[i]!, `undefined when the options are given as the "${names[at]}" argument`, args[i]);
  }
  if (wait !== undefined) throw invalidArgType('options', `undefined when the options are given as the "${names[at]}" argument`, wait);
  return [args.map((a, i) => (i < at ? a : undefined)), args[at]];
}

/**
 * The call's own options and its wait options, which may be given together in one object or as a
 * separate last argument, but not both (a wait option given twice is a TypeError).
 * @internal
 */
export function mergedOptions<S extends Record<string, FieldSpec>>(
  options: unknown,
  wait: unknown,
  spec: S,
): [ReturnType<typeof optionsArg<S>>, WaitOptions] {
  const merged = optionsArg(options, 'options', { ...spec, ...WAIT_FIELDS });
  const separate = optionsArg(wait, 'wait', WAIT_FIELDS);
  const m = merged as Record<string, unknown>;
  for (const key of ['signal', 'timeout'] as const) {
    if (m[key] !== undefined && separate[key] !== undefined) {
      throw invalidArgType(`wait.${key}`, `undefined when options.${key} is given`, separate[key]);
    }
  }
  const waitOptions: WaitOptions = {};
  const signal = (m.signal ?? separate.signal) as AbortSignal | undefined;
  const timeout = (m.timeout ?? separate.timeout) as number | undefined;
  if (signal !== undefined) waitOptions.signal = signal;
  if (timeout !== undefined) waitOptions.timeout = timeout;
  return [merged, waitOptions];
}

/**
 * The operation of a call that passes MSG_DONTWAIT (send, recv, sendto, recvfrom, sendmsg, recvmsg,
 * sendmmsg, recvmmsg): `call(binding, to)` makes the native call through the binding or its validation
 * twin, with `to` the address (the caller's, then the converted copy once the call has to wait);
 * results that are numbers are a count or a negative errno, EAGAIN meaning wait.
 * @internal
 */
export function dontwaitOperation<R, T = R>(
  syscall: string,
  wait: WaitOptions,
  call: (b: typeof native.validate, to: AnySockAddr | undefined) => R | number,
  addr?: AnySockAddr,
  finish?: (r: R) => T,
): Operation<T> {
  return new DontwaitOperation<R, T>(syscall, wait, call, addr, finish);
}

/** One object per call (its methods on the prototype): a round trip allocates as little as it can. */
class DontwaitOperation<R, T> implements Operation<T> {
  readonly dontwait = true;
  private to: AnySockAddr | undefined;
  private kept: boolean;
  constructor(
    private readonly syscall: string,
    readonly wait: WaitOptions,
    private readonly call: (b: typeof native.validate, to: AnySockAddr | undefined) => R | number,
    private readonly addr: AnySockAddr | undefined,
    private readonly finish: ((r: R) => T) | undefined,
  ) {
    this.to = addr;
    this.kept = addr === undefined;
  }

  /** From now on the address is the binary copy the native layer converted: the caller's is not read again. */
  private keep(): void {
    if (!this.kept) {
      this.to = lastAddress();
      this.kept = true;
    }
  }

  validate(): void {
    this.call(native.validate, this.to);
    this.keep();
  }

  attempt(): T | typeof AGAIN {
    const r = this.call(native, this.to);
    if (typeof r === 'number') {
      if (r === -EAGAIN) {
        this.keep();
        return AGAIN;
      }
      if (r < 0) throw new SystemError(-r, this.syscall, this.addr === undefined ? undefined : native.lastAddress);
    }
    return this.finish === undefined ? (r as unknown as T) : this.finish(r as R);
  }

  address(): AnySockAddr | undefined {
    return this.to;
  }
}

/** A call waiting in its fd's queue: one object, its methods on the prototype. */
class Pending<T> implements Waiter {
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private onAbort: (() => void) | undefined;

  constructor(
    private readonly op: Operation<T>,
    private readonly state: FdState,
    private readonly resolve: (value: T) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  attempt(): boolean {
    let r: T | typeof AGAIN;
    try {
      r = this.op.attempt();
    } catch (err) {
      this.settle();
      this.reject(err);
      return true;
    }
    if (r === AGAIN) return false;
    this.settle();
    this.resolve(r);
    return true;
  }

  fail(err: Error): void {
    this.settle();
    this.reject(err);
  }

  abortOn(signal: AbortSignal): void {
    this.signal = signal;
    this.onAbort = () => this.giveUp(new AbortError(undefined, { cause: signal.reason }));
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  timeOutAfter(ms: number, syscall: string): void {
    this.timer = setTimeout(() => this.giveUp(new SystemError(ETIMEDOUT, syscall, this.op.address?.())), ms);
  }

  /** Leaves the queue (abort, timeout) and rejects. */
  private giveUp(err: Error): void {
    this.state.remove(this);
    this.settle();
    this.reject(err);
  }

  private settle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.signal !== undefined && this.onAbort !== undefined) this.signal.removeEventListener('abort', this.onAbort);
  }
}

/**
 * Runs an operation: `prepare` reads and checks the call's arguments and returns the operation;
 * anything it throws becomes a rejection, so no call here ever throws synchronously. The attempt is
 * made at once unless others of the same direction are already queued (first come, first served; the
 * arguments are then checked at once through `validate`), else queued on the fd's watcher until it
 * settles, is aborted or times out.
 * @internal
 */
export function operate<T>(fd: number, writable: boolean, syscall: string, prepare: () => Operation<T>): Promise<T> {
  try {
    const op = prepare();
    const { signal, timeout } = op.wait ?? {};
    if (signal?.aborted) {
      op.validate();
      return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    }
    let state = existingFdState(fd);
    if (state === undefined && op.dontwait) {
      // The call cannot block (MSG_DONTWAIT), so it needs no watcher unless it has to wait: bad
      // arguments and ready data never touch the fd's flags.
      const r = op.attempt();
      if (r !== AGAIN) return Promise.resolve(r);
    }
    if (state === undefined) {
      const created = tryFdState(fd);
      if (typeof created === 'number') {
        // Not pollable (EBADF, a regular file, an fd net owns): the call itself reports what is
        // wrong, as the sync call would; only a call that would have to wait gets the poll error.
        if (!op.dontwait) {
          if (created === -EEXIST) op.validate();
          else {
            const r = op.attempt();
            if (r !== AGAIN) return Promise.resolve(r);
          }
        }
        throw watchError(fd, created);
      }
      state = created;
      if (!op.dontwait) {
        const r = op.attempt();
        if (r !== AGAIN) return Promise.resolve(r);
      }
    } else if (!state.busy(writable)) {
      const r = op.attempt();
      if (r !== AGAIN) return Promise.resolve(r);
    } else {
      op.validate();
    }
    const fdstate = state;
    return new Promise<T>((resolve, reject) => {
      const waiter = new Pending<T>(op, fdstate, resolve, reject);
      if (signal !== undefined) waiter.abortOn(signal);
      if (timeout !== undefined) waiter.timeOutAfter(timeout, syscall);
      fdstate.enqueue(waiter, writable);
    });
  } catch (err) {
    return Promise.reject(err);
  }
}
