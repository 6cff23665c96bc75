// Guarantees of issue 12 that the other guarantee-* files do not cover, one test per item: recvmsg's
// flags are the kernel's (6), options are honoured or refused, never ignored (7, 8), a pending call
// never reads its caller's objects again (10), lists are measured before they are walked (11), a
// queued call's arguments are checked when it is made (12), release() checks its fd (13), a refused
// bind names the address it read once (14), and errno 0 is refused by name (8).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as s from '../src/index.js';
import * as P from '../src/promises.js';
import { within } from './helpers/async.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

checkFdLeaks();
const { own } = ownFds();
const { AF_INET, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, MSG_DONTWAIT } = s;
const LO = { family: AF_INET, address: '127.0.0.1', port: 0 };
const MSG_CMSG_CLOEXEC = 0x40000000;
const DIST_INDEX = path.join(__dirname, '..', 'dist/cjs/index.js');
const DIST_PROMISES = path.join(__dirname, '..', 'dist/cjs/promises.js');

const pair = (type = SOCK_DGRAM): [number, number] => s.socketpair(AF_UNIX, type).map(own) as [number, number];
const codeOf = (err: unknown): unknown => (err as { code?: unknown }).code;
/** Nothing is queued on `fd`. */
const idle = (fd: number): boolean => s.poll([{ fd, events: s.POLLIN }], 20)[0]!.revents === 0;

/** Records uncaught exceptions and unhandled rejections while a test runs. */
const escaped: string[] = [];
const onUncaught = (e: unknown): void => void escaped.push(String(e));
afterEach(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  escaped.length = 0;
});
function catchEscapes(): void {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
}

describe('item 6: recvmsg reports the kernel flags, not its own MSG_CMSG_CLOEXEC', () => {
  it('recvmsg, promises.recvmsg and recvmmsg give the same flags for the same (truncated) datagram, without MSG_CMSG_CLOEXEC', async () => {
    const [a, b] = pair();
    s.send(a, Buffer.from('a datagram longer than four bytes'));
    const peeked = s.recvmsg(b, [Buffer.alloc(4)], { flags: s.MSG_PEEK, controlLength: 64 });
    const promised = await P.recvmsg(b, [Buffer.alloc(4)], { flags: s.MSG_PEEK });
    const [batched] = s.recvmmsg(b, [Buffer.alloc(4)], { flags: MSG_DONTWAIT });
    expect(peeked.flags & MSG_CMSG_CLOEXEC).toBe(0);
    expect(promised.flags & MSG_CMSG_CLOEXEC).toBe(0);
    expect(peeked.flags & s.MSG_TRUNC).not.toBe(0);
    expect([peeked.flags, promised.flags]).toEqual([batched!.flags, batched!.flags]);
  });
});

describe('item 7: options are honoured or refused, never ignored', () => {
  it('promises.recvmsg(fd, bufs, { controlLength, timeout }) rejects with ETIMEDOUT after its timeout', async () => {
    const [, b] = pair();
    const t0 = performance.now();
    const err = await within(P.recvmsg(b, [Buffer.alloc(8)], { controlLength: 64, timeout: 100 }).catch((e: unknown) => e), 'the timeout', 3000);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', syscall: 'recvmsg' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it.each([
    ["'abc'", 'abc'],
    ['null', null],
    ['5', 5],
    ['[]', []],
  ])('sendmsg(fd, bufs, %s) is a TypeError with a code, and sends nothing (sync and promises)', async (_, options) => {
    const [a, b] = pair();
    const sync = thrown(() => s.sendmsg(a, [Buffer.from('x')], options as never));
    const promised = await P.sendmsg(a, [Buffer.from('x')], options as never).catch((e: unknown) => e);
    for (const err of [sync, promised]) {
      expect(err).toBeInstanceOf(TypeError);
      expect(codeOf(err)).toBe('ERR_INVALID_ARG_TYPE');
    }
    expect(idle(b), 'something was sent').toBe(true);
  });

  it.each([
    ["'abcdefgh'", 'abcdefgh'],
    ['5', 5],
    ['true', true],
  ])('setsockopt SO_LINGER %s is a TypeError naming the shape { onoff, linger }, and the option is unchanged', (_, value) => {
    const fd = own(s.socket(AF_INET, SOCK_STREAM));
    s.setsockopt(fd, SOL_SOCKET, s.SO_LINGER, { onoff: 1, linger: 7 });
    const err = thrown(() => s.setsockopt(fd, SOL_SOCKET, s.SO_LINGER, value as never));
    expect(err).toBeInstanceOf(TypeError);
    expect(typeof codeOf(err)).toBe('string');
    expect(String(err.message)).toContain('{ onoff, linger }');
    expect(s.getsockopt(fd, SOL_SOCKET, s.SO_LINGER)).toEqual({ onoff: 1, linger: 7 });
  });
});

describe('item 8: argument errors have Node\'s shape', () => {
  it.each([
    ["{ control: 'SCM_RIGHTS' }", { control: 'SCM_RIGHTS' }],
    ['{ control: 5 }', { control: 5 }],
    ['{ control: [5] }', { control: [5] }],
  ])('sendmsg(a, [buf], %s) is a TypeError with a code, and sends nothing', (_, options) => {
    const [a, b] = pair();
    const err = thrown(() => s.sendmsg(a, [Buffer.from('x')], options as never));
    expect(err).toBeInstanceOf(TypeError);
    expect(codeOf(err)).toMatch(/^ERR_INVALID_ARG_(TYPE|VALUE)$/);
    expect(idle(b)).toBe(true);
  });

  it.each([
    ['recvmsg', (fd: number) => s.recvmsg(fd, [Buffer.alloc(8)], null as never)],
    ['recvmmsg', (fd: number) => s.recvmmsg(fd, [Buffer.alloc(8)], null as never)],
    ['recvmmsgInto', (fd: number) => s.recvmmsgInto(fd, [Buffer.alloc(8)], new Uint32Array(1), null as never)],
  ])('%s with null options is a TypeError ERR_INVALID_ARG_TYPE, and consumes nothing', (_, call) => {
    const [a, b] = pair();
    s.send(a, Buffer.from('kept'));
    const err = thrown(() => call(b));
    expect(err).toBeInstanceOf(TypeError);
    expect(codeOf(err)).toBe('ERR_INVALID_ARG_TYPE');
    expect(idle(b), 'the datagram was consumed').toBe(false);
  });

  it.each([
    ['errnoName(0)', () => s.errnoName(0)],
    ["new SystemError(0, 'connect')", () => new s.SystemError(0, 'connect')],
  ])('%s is a RangeError ERR_OUT_OF_RANGE naming "errno"', (_, call) => {
    const err = thrown(call);
    expect(err).toBeInstanceOf(RangeError);
    expect(codeOf(err)).toBe('ERR_OUT_OF_RANGE');
    expect(String(err.message)).toContain('"errno"');
  });
});

describe('item 10: a pending call never reads its caller\'s objects again', () => {
  /** A listener whose accept queue is full (backlog 0, one connection waiting): a connect to it waits. */
  function fullListener(): s.SockAddrIn {
    const l = own(s.socket(AF_INET, SOCK_STREAM));
    s.bind(l, LO);
    s.listen(l, 0);
    const at = s.getsockname(l) as s.SockAddrIn;
    s.connect(own(s.socket(AF_INET, SOCK_STREAM)), at);
    return at;
  }
  /** A unix datagram sender whose peer's queue is full: a sendto waits. */
  function fullPeer(): { fd: number; to: s.SockAddrUn } {
    const to = { family: AF_UNIX, path: `\0sockfd-misc-${process.pid}-${Math.random().toString(36).slice(2)}` };
    const r = own(s.socket(AF_UNIX, SOCK_DGRAM));
    s.bind(r, to);
    const w = own(s.socket(AF_UNIX, SOCK_DGRAM | s.SOCK_NONBLOCK));
    s.connect(w, to);
    for (let i = 0; i < 100_000; i++) {
      try {
        s.send(w, Buffer.alloc(64));
      } catch {
        break;
      }
    }
    return { fd: w, to };
  }

  it.each(['timeout', 'abort'] as const)('promises.connect whose address Proxy is revoked after the call started: the %s rejects, nothing escapes', async (how) => {
    const at = fullListener();
    const fd = own(s.socket(AF_INET, SOCK_STREAM));
    const { proxy, revoke } = Proxy.revocable({ ...at }, {});
    const ac = new AbortController();
    catchEscapes();
    const pending = P.connect(fd, proxy, how === 'timeout' ? { timeout: 100 } : { signal: ac.signal }).catch((e: unknown) => e);
    revoke();
    if (how === 'abort') setTimeout(() => ac.abort(), 100);
    const err = await within(pending, `the ${how}`, 3000);
    await new Promise((r) => setTimeout(r, 20));
    expect(escaped, 'uncaught exceptions').toEqual([]);
    expect(codeOf(err)).toBe(how === 'timeout' ? 'ETIMEDOUT' : 'ABORT_ERR');
    if (how === 'timeout') expect(err).toMatchObject({ address: '127.0.0.1', port: at.port });
  });

  it.each(['timeout', 'abort'] as const)('promises.sendto whose address Proxy is revoked after the call started: the %s rejects, nothing escapes', async (how) => {
    const w = fullPeer();
    const { proxy, revoke } = Proxy.revocable({ ...w.to }, {});
    const ac = new AbortController();
    catchEscapes();
    const pending = P.sendto(w.fd, Buffer.from('x'), undefined, 0, proxy, how === 'timeout' ? { timeout: 100 } : { signal: ac.signal }).catch((e: unknown) => e);
    revoke();
    if (how === 'abort') setTimeout(() => ac.abort(), 100);
    const err = await within(pending, `the ${how}`, 3000);
    await new Promise((r) => setTimeout(r, 20));
    expect(escaped, 'uncaught exceptions').toEqual([]);
    expect(codeOf(err)).toBe(how === 'timeout' ? 'ETIMEDOUT' : 'ABORT_ERR');
  });
});

describe('item 11: lists are measured before they are walked', () => {
  // In a child process (dist/), killed after 5 s: a list that is walked would block this one for good.
  const MAKERS = {
    'a sparse array of length 2**32-1': 'const a = []; a.length = 2 ** 32 - 1; return a;',
    'a Proxy reporting length 2**32-1': "return new Proxy([], { get: (t, k) => (k === 'length' ? 2 ** 32 - 1 : Reflect.get(t, k)) });",
  };
  async function inChild(make: string): Promise<Record<string, unknown>> {
    const script = `
      const s = require(${JSON.stringify(DIST_INDEX)}), P = require(${JSON.stringify(DIST_PROMISES)});
      const make = () => { ${make} };
      const shape = (e) => ({ name: e && e.constructor && e.constructor.name, code: e && e.code });
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM);
      (async () => {
        const t0 = performance.now();
        let sync = 'returned';
        try { s.sendmmsg(a, make()); } catch (e) { sync = shape(e); }
        const promised = await P.sendmmsg(a, make()).then(() => 'resolved', shape);
        const ms = performance.now() - t0;
        const sent = s.poll([{ fd: b, events: s.POLLIN }], 0)[0].revents !== 0;
        process.stdout.write(JSON.stringify({ sync, promised, ms, sent }));
        process.exit(0);
      })();`;
    const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => c.kill('SIGKILL'), 5000);
    const sig = await new Promise<string | null>((r) => c.once('exit', (_, signal) => r(signal)));
    clearTimeout(killer);
    return out ? (JSON.parse(out) as Record<string, unknown>) : { hung: `the child was ${sig === 'SIGKILL' ? 'killed after 5 s: the list was walked' : `ended by ${sig}`}` };
  }

  it.each(Object.entries(MAKERS))('sendmmsg given %s is a RangeError within milliseconds (sync and promises), and sends nothing', async (_, make) => {
    const r = await inChild(make);
    expect(r.hung).toBeUndefined();
    expect(r.ms as number, 'ms to refuse both').toBeLessThan(200);
    expect(r.sync).toEqual({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(r.promised).toEqual({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(r.sent).toBe(false);
  });

  it('sendmmsg given an array with holes is a TypeError naming the hole (sync and promises), and sends nothing', async () => {
    const [a, b] = pair();
    const holes = [Buffer.from('x'), , Buffer.from('z')] as never; // eslint-disable-line no-sparse-arrays
    const sync = thrown(() => s.sendmmsg(a, holes));
    const promised = await P.sendmmsg(a, holes).catch((e: unknown) => e);
    for (const err of [sync, promised]) {
      expect(err).toBeInstanceOf(TypeError);
      expect(String((err as Error).message)).toContain('messages[1]');
    }
    expect(idle(b)).toBe(true);
  });
});

describe('item 12: a queued call checks its arguments when it is made, as the sync call does', () => {
  it('a promises.recv with a length past its buffer, queued behind a waiting recv, rejects at once with the sync RangeError', async () => {
    const [a, b] = pair();
    const first = P.recv(b, Buffer.alloc(8), { timeout: 2000 });
    const syncErr = thrown(() => s.recv(b, Buffer.alloc(4), 99, MSG_DONTWAIT));
    const t0 = performance.now();
    const err = await within(P.recv(b, Buffer.alloc(4), 99, { timeout: 1000 }).catch((e: unknown) => e), 'the bad recv', 3000);
    expect(performance.now() - t0, 'ms until it rejected').toBeLessThan(100);
    expect(err).toBeInstanceOf(RangeError);
    expect({ code: codeOf(err), message: (err as Error).message }).toEqual({ code: codeOf(syncErr), message: syncErr.message });
    s.send(a, Buffer.from('for the first'));
    expect(await first).toBe(8);
  });

  // In the promise layer an object in the length's place is read as the wait options, so the error
  // is that options' (an unknown field "valueOf"): a TypeError with a code either way.
  it('a promises.recv with { valueOf } as its length is a TypeError, as the sync call\'s, and consumes nothing', async () => {
    const [a, b] = pair();
    s.send(a, Buffer.from('kept'));
    const length = { valueOf: () => 4 } as never;
    const syncErr = thrown(() => s.recv(b, Buffer.alloc(8), length, MSG_DONTWAIT));
    const err = await P.recv(b, Buffer.alloc(8), length).catch((e: unknown) => e);
    expect(syncErr).toBeInstanceOf(TypeError);
    expect(err).toBeInstanceOf(TypeError);
    expect(codeOf(err)).toMatch(/^ERR_INVALID_ARG_(TYPE|VALUE)$/);
    const buf = Buffer.alloc(8);
    expect(buf.toString('latin1', 0, s.recv(b, buf, undefined, MSG_DONTWAIT)), 'the datagram is still there').toBe('kept');
  });
});

describe('item 13: release() takes only what every other call takes', () => {
  it.each([
    ['fd + 2**32', (fd: number) => fd + 2 ** 32, RangeError],
    ['17.5', () => 17.5, RangeError],
    ["'17'", () => '17', TypeError],
    ['17n', () => 17n, TypeError],
  ])('release(%s) throws with a code', (_, arg, kind) => {
    const fd = own(s.socket(AF_INET, SOCK_DGRAM));
    const err = thrown(() => s.release(arg(fd) as never));
    expect(err).toBeInstanceOf(kind);
    expect(codeOf(err)).toMatch(/^ERR_/);
  });
});

describe('item 14: a refused bind names the address it read, reading each field once', () => {
  it('bind to a port in use reads the address getter once and names that value, even when a second read would differ', () => {
    const holder = own(s.socket(AF_INET, SOCK_DGRAM));
    s.bind(holder, LO);
    const { port } = s.getsockname(holder) as s.SockAddrIn;
    let reads = 0;
    const addr = {
      family: AF_INET,
      get address() {
        return reads++ === 0 ? '127.0.0.1' : '127.0.0.9';
      },
      port,
    };
    const err = thrown(() => s.bind(own(s.socket(AF_INET, SOCK_DGRAM)), addr));
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', address: '127.0.0.1', port });
    expect(reads, 'reads of the address getter').toBe(1);
  });
});
