// watch(fd, events, cb): raw readiness on the event loop (POLLIN when data arrives, POLLOUT when
// writable), close() and unref() of a subscription, argument and fd-type errors, and release(fd),
// which frees sockfd's watcher without closing the fd so that net can take the fd over.
//
// Every wait is bounded (until() and within() give up after a few seconds).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_UNIX,
  POLLIN,
  POLLOUT,
  POLLPRI,
  SOCK_STREAM,
  SystemError,
  close,
  poll,
  read,
  recv,
  release,
  socketpair,
  watch,
  write,
  type FdWatch,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { checkFdLeaks, fdTarget } from './helpers/fds.js';

checkFdLeaks();

const root = path.resolve(__dirname, '..');
const distIndex = path.join(root, 'dist/cjs/index.js');

const owned = new Set<number>();
const watches: FdWatch[] = [];
function own(fd: number): number {
  owned.add(fd);
  return fd;
}
afterEach(() => {
  for (const w of watches.splice(0)) w.close();
  for (const fd of owned) {
    try {
      close(fd);
    } catch {
      // already gone
    }
  }
  owned.clear();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-watch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Err = Error & Record<string, unknown>;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function within<T>(pr: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([pr, t]).finally(() => clearTimeout(timer));
}

/** Waits (at most `ms`) until `cond()` holds; fails otherwise. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

function streamPair(): [number, number] {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  return [own(a), own(b)];
}

function track<T>(pr: Promise<T>): { state: string; error?: Err; done: Promise<void> } {
  const t: { state: string; error?: Err; done: Promise<void> } = { state: 'pending', done: Promise.resolve() };
  t.done = pr.then(
    () => void (t.state = 'resolved'),
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e as Err;
    },
  );
  return t;
}

// ---------------------------------------------------------------------------------------------

describe('readiness events', () => {
  it('POLLIN fires when data arrives, not before', async () => {
    const [a, b] = streamPair();
    const seen: number[] = [];
    const w = watch(a, POLLIN, (err, revents) => {
      expect(err).toBeNull();
      seen.push(revents);
      // Level-triggered: drain so it does not fire again for the same bytes.
      try {
        recv(a, Buffer.alloc(64));
      } catch {
        // EAGAIN
      }
    });
    watches.push(w);
    expect(w.fd).toBe(a);
    await sleep(50);
    expect(seen).toEqual([]);

    write(b, Buffer.from('data'));
    await until(() => seen.length > 0, 'POLLIN callback');
    expect(seen[0]! & POLLIN).toBe(POLLIN);
    expect(seen[0]! & POLLOUT).toBe(0); // not asked for
  });

  it('POLLOUT fires for a writable socket', async () => {
    const [a] = streamPair();
    const seen: number[] = [];
    const w = watch(a, POLLOUT, (err, revents) => {
      expect(err).toBeNull();
      seen.push(revents);
      w.close();
    });
    watches.push(w);
    await until(() => seen.length > 0, 'POLLOUT callback');
    expect(seen).toHaveLength(1);
    expect(seen[0]! & POLLOUT).toBe(POLLOUT);
    expect(seen[0]! & POLLIN).toBe(0);
  });

  it('close() inside the callback stops further calls although the fd stays readable', async () => {
    const [a, b] = streamPair();
    let calls = 0;
    const w = watch(a, POLLIN, () => {
      calls++;
      w.close();
      w.close(); // idempotent
    });
    watches.push(w);
    write(b, Buffer.from('never read'));
    await until(() => calls > 0, 'POLLIN callback');
    await sleep(100);
    expect(calls).toBe(1);
    expect(poll([{ fd: a, events: POLLIN }], 0)[0]!.revents & POLLIN).toBe(POLLIN);
  });

  it('close() before data arrives: the callback is never called', async () => {
    const [a, b] = streamPair();
    let calls = 0;
    const w = watch(a, POLLIN, () => {
      calls++;
    });
    w.close();
    write(b, Buffer.from('data'));
    await sleep(100);
    expect(calls).toBe(0);
  });
});

describe('event loop reference', () => {
  const distPromises = path.join(root, 'dist/cjs/promises.js');
  /** A child with a socketpair [a, b] whose `body` prints 'ready' (or more) once set up. */
  const script = (body: string): string => `
    const s = require(${JSON.stringify(distIndex)});
    const p = require(${JSON.stringify(distPromises)});
    const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
    ${body}
  `;
  // Watches `a` for POLLIN, which never comes.
  const watching = (unref: boolean): string => `
    const w = s.watch(a, s.POLLIN, () => {});
    ${unref ? 'w.unref();' : ''}
    process.stdout.write('ready');
  `;

  interface ChildResult {
    /** Whether it exited by itself before `waitMs`. */
    exitedByItself: boolean;
    code: number | null;
    signal: NodeJS.Signals | null;
    out: string;
  }

  /** Runs the child; kills it (SIGTERM) if it is still running after `waitMs`. */
  function run(body: string, waitMs: number): Promise<ChildResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script(body)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errOut = '';
      let exitedByItself = false;
      let killed = false;
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
      child.on('error', reject);
      child.on('exit', () => {
        if (!killed) exitedByItself = true;
      });
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          killed = true;
          child.kill('SIGTERM');
        }
      }, waitMs);
      // 'close': the child's stdio sockets are closed too (the fd-leak check counts them).
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (errOut) return reject(new Error(`child stderr: ${errOut}`));
        resolve({ exitedByItself, code, signal, out });
      });
    });
  }

  beforeAll(async () => {
    // The child loads the built package; build it if it is missing or older than the sources.
    const srcTime = Math.max(...fs.readdirSync(path.join(root, 'src')).map((f) => fs.statSync(path.join(root, 'src', f)).mtimeMs));
    const fresh = fs.existsSync(distIndex) && fs.statSync(distIndex).mtimeMs >= srcTime;
    if (!fresh) {
      await within(
        new Promise<void>((resolve, reject) => {
          const b = spawn(process.execPath, [path.join(root, 'scripts/build-ts.mjs')], { cwd: root, stdio: 'ignore' });
          b.on('error', reject);
          b.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`build-ts exited ${code}`))));
        }),
        60_000,
        'build-ts',
      );
    }
  }, 70_000);

  it('an unref()ed watch lets the process exit by itself', async () => {
    const r = await within(run(watching(true), 5000), 10_000, 'child');
    expect(r.out).toBe('ready');
    expect(r.exitedByItself).toBe(true);
    expect(r.code).toBe(0);
    expect(r.signal).toBeNull();
  });

  it('a ref()ed watch keeps the process alive', async () => {
    const r = await within(run(watching(false), 1000), 10_000, 'child');
    expect(r.out).toBe('ready');
    expect(r.exitedByItself).toBe(false);
    expect(r.signal).toBe('SIGTERM');
  });

  it('a settled sockfd/promises call does not keep the process alive', async () => {
    const body = `
      p.recv(a, Buffer.alloc(8), { timeout: 5000 }).then((n) => process.stdout.write('got ' + n));
      setTimeout(() => s.write(b, Buffer.from('hi')), 50);
    `;
    const r = await within(run(body, 5000), 10_000, 'child');
    expect(r.out).toBe('got 2');
    expect(r.exitedByItself).toBe(true);
    expect(r.code).toBe(0);
  });
});

describe('errors', () => {
  it('events 0 or outside POLLIN|POLLOUT|POLLPRI|POLLRDHUP are a RangeError', () => {
    const [a] = streamPair();
    expect(() => watch(a, 0, () => {})).toThrow(RangeError);
    expect(() => watch(a, 1 << 20, () => {})).toThrow(RangeError);
    expect(() => watch(a, POLLIN | (1 << 20), () => {})).toThrow(RangeError);
    // POLLPRI alone is a valid request.
    watches.push(watch(a, POLLPRI, () => {}));
  });

  it('a regular file fd is a SystemError EPERM from uv_poll_init', () => {
    const file = path.join(tmp, 'regular.txt');
    fs.writeFileSync(file, 'not pollable');
    const fd = fs.openSync(file, 'r');
    try {
      let err: Err | undefined;
      try {
        watches.push(watch(fd, POLLIN, () => {}));
      } catch (e) {
        err = e as Err;
      }
      expect(err).toBeInstanceOf(SystemError);
      expect(err?.code).toBe('EPERM');
      expect(err?.syscall).toBe('uv_poll_init');
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('release(fd)', () => {
  it('rejects pending waiters with ERR_SOCKET_CLOSED and leaves the fd open and usable', async () => {
    const [a, b] = streamPair();
    const pending = track(p.recv(a, Buffer.alloc(8), { timeout: 5000 }));
    await sleep(20);
    const target = fdTarget(a);
    release(a);
    await within(pending.done);
    expect(pending.state).toBe('rejected');
    expect(pending.error?.code).toBe('ERR_SOCKET_CLOSED');

    expect(fdTarget(a)).toBe(target);
    expect(write(a, Buffer.from('out'))).toBe(3);
    expect(poll([{ fd: b, events: POLLIN }], 2000)[0]!.revents & POLLIN).toBe(POLLIN);
    const buf = Buffer.alloc(8);
    expect(read(b, buf)).toBe(3);
    expect(buf.toString('latin1', 0, 3)).toBe('out');

    write(b, Buffer.from('in'));
    expect(poll([{ fd: a, events: POLLIN }], 2000)[0]!.revents & POLLIN).toBe(POLLIN);
    expect(read(a, buf)).toBe(2);
    expect(buf.toString('latin1', 0, 2)).toBe('in');
  });

  it('after release a net.Socket can take over the fd and read from it', async () => {
    const [a, b] = streamPair();
    const pending = track(p.recv(a, Buffer.alloc(8), { timeout: 5000 }));
    await sleep(20);
    release(a);
    await within(pending.done);
    expect(pending.error?.code).toBe('ERR_SOCKET_CLOSED');

    owned.delete(a); // net owns it now
    const sock = new net.Socket({ fd: a });
    try {
      const data = within(new Promise<Buffer>((resolve) => sock.once('data', resolve)), 5000, 'net data');
      write(b, Buffer.from('to net'));
      expect((await data).toString()).toBe('to net');
    } finally {
      const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
      sock.destroy();
      await within(closed);
    }
  });
});
