// Worker threads in tests: the built package to require inside a worker, and waiting for a message.
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { within } from './async.js';

/** The compiled entry points of this checkout (workers run plain JS, so they load dist/, not src/). */
export const DIST_INDEX = fileURLToPath(new URL('../../dist/cjs/index.js', import.meta.url));
export const DIST_PROMISES = fileURLToPath(new URL('../../dist/cjs/promises.js', import.meta.url));

/** The next message from `w` that has key `key`; rejects on a worker error, an error report or exit. */
export function message<M extends object>(w: Worker, key: string, what: string, ms = 5000): Promise<M> {
  return within(
    new Promise<M>((resolve, reject) => {
      const cleanup = (): void => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (m: Record<string, unknown>): void => {
        if (typeof m.error === 'string') {
          cleanup();
          reject(new Error(`worker reported: ${m.error}`));
        } else if (key in m) {
          cleanup();
          resolve(m as M);
        }
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`worker exited (${code}) before sending '${key}'`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
    }),
    what,
    ms,
  );
}
