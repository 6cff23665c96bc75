// Small assertions shared by the test files.
import { expect } from 'vitest';
import { MSG_DONTWAIT, POLLERR, POLLHUP, POLLIN, SystemError, poll, recvfrom } from '../../src/index.js';

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

/** Fails unless `fd` is readable within `ms`. */
export function waitReadable(fd: number, ms = 2000): void {
  const [r] = poll([{ fd, events: POLLIN }], ms);
  expect(r!.revents & POLLIN, `fd ${fd} not readable within ${ms} ms`).not.toBe(0);
}

/** Expects nothing queued on `fd`: not readable within 50 ms, and a non-blocking read is EAGAIN. */
export function expectNothingQueued(fd: number): void {
  const [r] = poll([{ fd, events: POLLIN }], 50);
  expect(r!.revents).toBe(0);
  const err = thrown(() => recvfrom(fd, Buffer.alloc(64), undefined, MSG_DONTWAIT));
  expect(err).toBeInstanceOf(SystemError);
  expect((err as SystemError).code).toBe('EAGAIN');
}
