/**
 * `sendAll` and `writeAll` of `sockfd/promises`: the whole buffer, waiting for room on the event
 * loop between short writes, within one deadline.
 * @internal
 * @packageDocumentation
 */
import { optionsArg } from './argerrors.js';
import { WAIT_FIELDS, positional } from './operate.js';
import { send, write, type WaitOptions } from './promises.js';
import { viewBytes, withBytesWritten } from './sendall.js';

async function writeLoop(bytes: Uint8Array, options: WaitOptions | undefined, call: (rest: Uint8Array, wait: WaitOptions) => Promise<number>): Promise<number> {
  // The wait options, read and checked as every sockfd/promises call reads them.
  const { signal, timeout } = optionsArg(options, 'options', WAIT_FIELDS);
  const deadline = timeout === undefined ? undefined : performance.now() + timeout;
  let written = 0;
  do {
    const wait: WaitOptions = {
      ...(signal !== undefined ? { signal } : {}),
      ...(deadline !== undefined ? { timeout: Math.max(0, Math.ceil(deadline - performance.now())) } : {}),
    };
    try {
      written += await call(bytes.subarray(written), wait);
    } catch (err) {
      throw withBytesWritten(err, written);
    }
  } while (written < bytes.byteLength);
  return written;
}

/**
 * Sends every byte of `buf`, waiting for room in the send queue as often as needed; resolves with
 * `buf.byteLength`. `timeout` bounds the whole transfer (not each wait) and `signal` aborts it; a
 * failure, abort or timeout rejects with the error plus `bytesWritten`, the bytes the kernel took
 * before it. The options may stand in place of `flags`.
 * @example
 * await sendAll(fd, Buffer.alloc(32 * 1024 * 1024), { timeout: 10_000 }); // 33554432
 */
export function sendAll(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number>;
export function sendAll(fd: number, buf: ArrayBufferView, flags?: number, options?: WaitOptions): Promise<number>;
export async function sendAll(fd: number, buf: ArrayBufferView, flags?: number | WaitOptions, options?: WaitOptions): Promise<number> {
  const [[given], wait] = positional([flags], ['flags'], options);
  const f = (given ?? 0) as number;
  return writeLoop(viewBytes(buf), wait as WaitOptions | undefined, (rest, w) => send(fd, rest, undefined, f, w));
}

/**
 * Writes every byte of `buf`, waiting for room as often as needed; resolves with `buf.byteLength`.
 * `timeout` bounds the whole transfer and `signal` aborts it; a failure rejects with `bytesWritten`.
 */
export async function writeAll(fd: number, buf: ArrayBufferView, options?: WaitOptions): Promise<number> {
  return writeLoop(viewBytes(buf), options, (rest, wait) => write(fd, rest, wait));
}
