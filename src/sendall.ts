/**
 * Writing a whole buffer: `sendAll` and `writeAll`, the loop C programs write around `send(2)` and
 * `write(2)` (and CPython's `socket.sendall`), which a stream socket needs whenever the kernel takes
 * fewer bytes than it was given.
 * @packageDocumentation
 */
import { invalidArgType } from './argerrors.js';
import { send, write } from './io.js';

/**
 * The error of a `sendAll`/`writeAll` that failed part way: the system call's own error (a
 * SystemError, or the `AbortError`/`ETIMEDOUT` of the `sockfd/promises` forms) with the number of
 * bytes that were written before it.
 */
export type PartialWriteError = Error & {
  /** Bytes of the buffer the kernel took before the failure (they are in the socket's send queue or delivered). */
  bytesWritten: number;
};

/** @internal The bytes of any ArrayBufferView, without copying. */
export function viewBytes(buf: unknown): Uint8Array {
  if (!ArrayBuffer.isView(buf)) throw invalidArgType('buf', 'an instance of Buffer, TypedArray, or DataView', buf);
  // A view of a detached buffer is empty, as the native layer takes it (no view of it can be made).
  return buf.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** @internal Adds `bytesWritten` to an error a partial write ends with. */
export function withBytesWritten(err: unknown, bytesWritten: number): unknown {
  if (err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError)) {
    (err as PartialWriteError).bytesWritten = bytesWritten;
  }
  return err;
}

function writeLoop(bytes: Uint8Array, call: (rest: Uint8Array) => number): number {
  let written = 0;
  // At least one call, as CPython's sendall: a zero-length datagram is a datagram.
  do {
    let n: number;
    try {
      n = call(bytes.subarray(written));
    } catch (err) {
      throw withBytesWritten(err, written);
    }
    written += n;
  } while (written < bytes.byteLength);
  return written;
}

/**
 * Sends every byte of `buf`, calling `send(2)` again after each short send; returns
 * `buf.byteLength`. On a blocking socket the kernel waits for room in the send queue; on a
 * non-blocking one (or with MSG_DONTWAIT) a full queue ends the loop with EAGAIN — use `sendAll` from
 * `sockfd/promises` there, which waits for room on the event loop.
 * @param flags - as for {@link send} (MSG_NOSIGNAL is always added).
 * @throws SystemError `send` (EPIPE, ECONNRESET, EAGAIN, ...), with `bytesWritten`: how many bytes
 *   were sent before the error.
 * @example
 * sendAll(fd, Buffer.alloc(32 * 1024 * 1024)); // 33554432, however many calls it took
 */
export function sendAll(fd: number, buf: ArrayBufferView, flags = 0): number {
  return writeLoop(viewBytes(buf), (rest) => send(fd, rest, undefined, flags));
}

/**
 * Writes every byte of `buf`, calling `write(2)` again after each short write; returns
 * `buf.byteLength`. For any fd `write` takes (a socket, a pipe, a file); on a socket it is
 * {@link sendAll} with no flags.
 * @throws SystemError `write`, with `bytesWritten`.
 */
export function writeAll(fd: number, buf: ArrayBufferView): number {
  return writeLoop(viewBytes(buf), (rest) => write(fd, rest));
}

