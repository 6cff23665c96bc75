// fd accounting for tests: what this process has open, from /proc/self/fd, with what each fd is.
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { close } from '../../src/index.js';

/** fd -> what it points at (`socket:[1234]`, a path, `anon_inode:[eventpoll]`, ...). */
export function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // The fd readdir itself used is gone by now.
    }
  }
  return out;
}

/** What `/proc/self/fd/N` names for one fd, or undefined when it is not open. */
export function fdTarget(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * Call at the top of a test file: fails the file if it ends with sockets open that it did not start
 * with, naming each leaked fd and what it is.
 */
export function checkFdLeaks(): void {
  let before: Map<number, string>;
  beforeAll(() => {
    before = openFds();
  });
  afterAll(async () => {
    // Let Node finish closing its own handles (net/dgram close asynchronously).
    await new Promise((r) => setTimeout(r, 50));
    const leaked: string[] = [];
    for (const [fd, target] of openFds()) {
      if (target.startsWith('socket:') && before.get(fd) !== target) leaked.push(`fd ${fd} -> ${target}`);
    }
    expect(leaked, 'sockets left open by this test file').toEqual([]);
  });
}

/**
 * The fds a test file opens: `own(fd)` marks one, `release(fd)` closes it early, and after each test
 * every marked fd the test did not close is closed (through sockfd's close, so waiters are rejected
 * first). Call once at the top of a test file.
 */
export function ownFds(): { own(fd: number): number; release(fd: number): void } {
  const owned = new Set<number>();
  afterEach(() => {
    for (const fd of owned) {
      try {
        close(fd);
      } catch {
        // already closed by the test
      }
    }
    owned.clear();
  });
  return {
    own(fd) {
      owned.add(fd);
      return fd;
    },
    release(fd) {
      owned.delete(fd);
      close(fd);
    },
  };
}
