// Small assertions shared by the test files.
import { expect } from 'vitest';
import { POLLERR, POLLHUP, poll } from '../../src/index.js';

/** The exception `fn` throws; fails the test when it returns instead. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function thrown<T = any>(fn: () => unknown): T {
  try {
    fn();
  } catch (err) {
    return err as T;
  }
  throw new Error('expected a throw');
}

/**
 * Fails unless `fd` reports one of `events` within 2 s (or, with `orError`, an error or hang-up);
 * returns revents.
 */
export function waitFor(fd: number, events: number, orError = false): number {
  const [r] = poll([{ fd, events }], 2000);
  const wanted = orError ? events | POLLERR | POLLHUP : events;
  expect(r!.revents & wanted, `fd ${fd} not ready for ${events} within 2 s`).not.toBe(0);
  return r!.revents;
}
