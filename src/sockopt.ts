/**
 * Socket options: getsockopt and setsockopt.
 * @packageDocumentation
 */
import { native } from './binding.js';
import { check, outOfRange } from './errors.js';

// One scratch int per environment for integer options: no allocation per call.
const scratch = new Int32Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/**
 * Reads a socket option; corresponds to `getsockopt(2)`.
 *
 * - `getsockopt(fd, level, name)` reads a C `int` option and returns it as a number (boolean options
 *   give 0 or 1).
 * - `getsockopt(fd, level, name, buflen)` reads up to `buflen` raw bytes and returns them as a Buffer
 *   of the length the kernel reported (for structured options such as TCP_INFO).
 * - `getsockopt(fd, level, name, out)` reads into `out` (any ArrayBufferView) and returns the number
 *   of bytes written, allocating nothing.
 * @throws SystemError `getsockopt` (ENOPROTOOPT for an unknown option, ...)
 * @example
 * getsockopt(fd, SOL_SOCKET, SO_TYPE) === SOCK_STREAM;
 */
export function getsockopt(fd: number, level: number, name: number): number;
export function getsockopt(fd: number, level: number, name: number, buflen: number): Buffer;
export function getsockopt(fd: number, level: number, name: number, out: ArrayBufferView): number;
export function getsockopt(fd: number, level: number, name: number, out?: number | ArrayBufferView): number | Buffer {
  if (out === undefined) {
    scratch[0] = 0;
    const n = check(native.getsockopt(fd, level, name, scratch), 'getsockopt');
    // A few options (IP_MULTICAST_TTL, IP_MULTICAST_LOOP) may answer with a single byte.
    return n === 1 ? scratchBytes[0]! : scratch[0]!;
  }
  if (typeof out === 'number') {
    if (!Number.isInteger(out) || out < 0 || out > 65536) {
      throw outOfRange('buflen', 'an integer >= 0 and <= 65536', out);
    }
    const buf = Buffer.alloc(out);
    return buf.subarray(0, check(native.getsockopt(fd, level, name, buf), 'getsockopt'));
  }
  return check(native.getsockopt(fd, level, name, out), 'getsockopt');
}

/**
 * Sets a socket option; corresponds to `setsockopt(2)`.
 * @param value - a number (passed as a C `int`), a boolean (1 or 0), or raw bytes (any ArrayBufferView)
 *   for structured options.
 * @throws SystemError `setsockopt`
 * @example
 * setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, true);
 * setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 5);
 */
export function setsockopt(fd: number, level: number, name: number, value: number | boolean | ArrayBufferView): void {
  check(native.setsockopt(fd, level, name, value), 'setsockopt');
}
