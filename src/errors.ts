/**
 * The one place where an errno becomes a JS error. Errors have the shape of Node's own system errors,
 * so a failure from sockfd can be compared field by field with the same failure from `net` or `dgram`:
 * `code` (`'ECONNREFUSED'`), `errno` (negative, Node's convention), `syscall`, `address`/`port` when a
 * call was given an address, and a message such as `connect ECONNREFUSED 127.0.0.1:1`.
 * @packageDocumentation
 */
import * as util from 'node:util';
import { invalidArgType, outOfRange } from './argerrors.js';
import { native } from './binding.js';
import type { ErrnoName } from './constants.generated.js';
import type { AnySockAddr, SockAddr } from './sockaddr.js';
import { own } from './own.js';

// The C names of errno values, from the system headers (native/constants.txt lists them, EAGAIN
// before EWOULDBLOCK); names have no underscore, which keeps out ETH_P_* and the like.
const cNames = new Map<number, string>();
for (const [name, value] of Object.entries(native.constants)) {
  if (/^E[A-Z0-9]+$/.test(name) && !cNames.has(value)) cNames.set(value, name);
}

/** The largest errno Linux defines is 133 (EHWPOISON); 4095 is the kernel's MAX_ERRNO. */
const MAX_ERRNO = 4095;

/** A positive or negative errno, checked: a non-zero integer of at most MAX_ERRNO. */
function errnoArg(errno: unknown): number {
  if (typeof errno !== 'number') throw invalidArgType('errno', 'of type number', errno);
  if (!Number.isInteger(errno) || errno === 0 || Math.abs(errno) > MAX_ERRNO) {
    throw outOfRange('errno', `a non-zero integer from -${MAX_ERRNO} to ${MAX_ERRNO}`, errno);
  }
  return errno;
}

/**
 * The name Node gives an errno (what `util.getSystemErrorName` returns, e.g. `ENOTSUP` for 95), or
 * the C name where Node has none (`EINPROGRESS`), or `E<number>` where neither has one.
 * @param errno - a positive errno value or Node's negative form.
 */
export function errnoName(errno: number): ErrnoName {
  const n = Math.abs(errnoArg(errno));
  const name = util.getSystemErrorName(-n);
  // ErrnoName lists every name these two sources give (scripts/gen-constants.mjs, checked by
  // test/constants.test.ts for every errno up to 4095).
  if (!name.startsWith('Unknown system error')) return name as ErrnoName;
  return (cNames.get(n) as ErrnoName | undefined) ?? `E${n}`;
}

/**
 * A failed system call. `instanceof SystemError` tells sockfd's system errors from argument errors;
 * its `name` is `'Error'`, as for Node's own, so the two print alike.
 */
export class SystemError extends Error {
  /**
   * The errno's name, e.g. `'ECONNREFUSED'`: one of {@link ErrnoName}, so a comparison with a
   * misspelt name (`e.code === 'ECONNREFUZED'`) does not compile. A string at run time.
   */
  declare code: ErrnoName;
  /** The negative errno, as in Node's errors (e.g. -111). */
  declare errno: number;
  /** The system call that failed, e.g. `'connect'`. */
  declare syscall: string;
  /** The address the call was given (IP literal or unix path), when it had one. */
  declare address?: string;
  /** The port the call was given, when it had one (and it was not 0). */
  declare port?: number;

  /**
   * @param errno - the positive (C) or negative (Node) errno: a non-zero integer (a RangeError
   *   `ERR_OUT_OF_RANGE` otherwise, as for 0, which is no error).
   * @param syscall - the system call's name.
   * @param given - the address the call was given (object or binary form), for `address`/`port` and the message.
   * @param hint - a sentence appended to the message in parentheses (what to do about it).
   */
  constructor(errno: number, syscall: string, given?: AnySockAddr, hint?: string) {
    const code = errnoName(errno);
    if (typeof syscall !== 'string') throw invalidArgType('syscall', 'of type string', syscall);
    if (hint !== undefined && typeof hint !== 'string') throw invalidArgType('hint', 'of type string', hint);
    // The address is read once, and a caller's object that throws (a revoked Proxy) costs the error
    // its address, never the error itself.
    let address: string | undefined;
    let port: number | undefined;
    try {
      const addr: SockAddr | null | undefined = ArrayBuffer.isView(given) ? native.decodeSockaddr(given) : given;
      // Own properties only: `in` would also see a property a program put on Object.prototype.
      const has = (key: string): boolean => addr != null && Object.prototype.hasOwnProperty.call(addr, key);
      if (addr && has('address')) {
        address = (addr as { address: string }).address;
        port = (addr as { port: number }).port;
      } else if (addr && has('path')) {
        const path = (addr as { path: string | Uint8Array }).path;
        address = typeof path === 'string' ? path : Buffer.from(path).toString();
      }
    } catch {
      address = port = undefined; // a malformed binary address: the error still stands, without it
    }
    // The same text as Node's exceptionWithHostPort: "connect ECONNREFUSED 127.0.0.1:1".
    let details = '';
    if (port !== undefined && port > 0) details = ` ${address}:${port}`;
    else if (address) details = ` ${address}`;
    super(`${syscall} ${code}${details}${hint ? ` (${hint})` : ''}`);
    // Defined, not assigned: a setter a program put on Object.prototype cannot drop a field.
    own(this, 'errno', -Math.abs(errno));
    own(this, 'code', code);
    own(this, 'syscall', syscall);
    if (address !== undefined) own(this, 'address', address);
    if (port !== undefined && port > 0) own(this, 'port', port);
  }
}
Object.defineProperty(SystemError.prototype, 'name', { value: 'Error', writable: true, configurable: true });

/**
 * Makes a SystemError whose stack starts at the public function that called `helper`, as Node's own
 * errors do, capturing the stack once (not in the constructor and again here).
 */
function systemError(errno: number, syscall: string, addr: AnySockAddr | undefined, helper: Function): SystemError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let err: SystemError;
  try {
    err = new SystemError(errno, syscall, addr);
  } finally {
    Error.stackTraceLimit = limit;
  }
  Error.captureStackTrace(err, helper);
  return err;
}

/**
 * Throws a SystemError for a binding's negative result; returns non-negative results unchanged.
 * @internal
 */
export function check(result: number, syscall: string, addr?: AnySockAddr): number {
  if (result < 0) throw systemError(-result, syscall, addr, check);
  return result;
}

/**
 * `check` for a call that was given an address (bind, connect, sendto, sendmsg): the error names the
 * address the native layer converted and used, which it records when a call does not complete
 * (`lastAddress`), so the caller's object is never read a second time.
 * @internal
 */
export function checkAt(result: number, syscall: string): number {
  if (result < 0) throw systemError(-result, syscall, native.lastAddress, checkAt);
  return result;
}

/**
 * A copy of the address the last address-taking binding call was given, for a call that goes on
 * waiting and must not read the caller's object again.
 * @internal
 */
export function lastAddress(): Buffer {
  return Buffer.from(native.lastAddress);
}

/**
 * Unwraps a binding result that is a value or a negative errno.
 * @internal
 */
export function value<T>(result: T | number, syscall: string, addr?: AnySockAddr): T {
  if (typeof result === 'number') throw systemError(-result, syscall, addr, value);
  return result;
}

export { invalidArgType, invalidArgValue, outOfRange } from './argerrors.js';
