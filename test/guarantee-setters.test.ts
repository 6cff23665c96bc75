// Guarantee: results are own data properties, and no fd leaks while a result is built (issue 12,
// item 1, as a class). Every call that creates fds or returns a structured result is run once without
// traps (the baseline, whose field names are collected recursively), then again with an accessor on
// Object.prototype and Array.prototype for every one of those names (and the indices "0".."3"):
//  - swallowing setters (record and drop the value): the result must equal the baseline field for
//    field, as own data properties, and every new socket must be one the result hands over;
//  - throwing setters: the call may fail, but then no new socket may exist; if it returns, as above.
// The sockets of this process are counted from /proc/self/fd before and after each call. Traps are
// installed only around the call under test (a bounding timer is made before them, since Node's own
// timer heap is an array) and always removed in a finally block. SystemError fields (code, errno,
// syscall, address, port) under the same traps: test/guarantee-setters-errors.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as s from '../src/index.js';
import * as P from '../src/promises.js';
import { checkFdLeaks } from './helpers/fds.js';
import { canonical, collectNames, fdsIn, installTraps, newSockets, socketFds, type TrapMode } from './helpers/traps.js';

checkFdLeaks();

const { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, IPPROTO_IP, IPPROTO_TCP } = s;
const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-setters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Paths are numbered from 0 in each run (runOnce resets the count), so that every run of a scenario
// binds the same paths and its results compare equal; a path left by the previous run is removed.
let serial = 0;
const unixPath = (): string => {
  const p = path.join(dir, `s${serial++}`);
  rmSync(p, { force: true });
  return p;
};
const LO4 = { family: AF_INET, address: '127.0.0.1', port: 0 };
const LO6 = { family: AF_INET6, address: '::1', port: 0 };
const ipv6 = ((): boolean => {
  const fd = s.socket(AF_INET6, SOCK_DGRAM);
  try {
    s.bind(fd, LO6);
    return true;
  } catch {
    return false;
  } finally {
    s.close(fd);
  }
})();

/** One run of a call: `call` is what runs under traps; `cleanup` closes what `prepare` made. */
interface Run {
  call(): unknown;
  cleanup(): void;
}
interface Scenario {
  name: string;
  /**
   * The call waits on the event loop: its traps leave out the array indices, since sockfd's waiter
   * queues are arrays (that case is tested on its own, in a child process, below).
   */
  waits?: boolean;
  /** Keys whose values differ from run to run (their type is compared, not their value). */
  volatile?: string[];
  prepare(): Run;
}

/** Closes every fd, even when closing one throws (then it throws the first error at the end). */
function closeAll(...fds: number[]): void {
  const errors: string[] = [];
  for (const fd of fds) closeRecording(fd, errors);
  if (errors.length > 0) throw new Error(errors.join('; '));
}

/** A listener on `addr` with, unless `queued` is false, one connection from a client waiting. */
function listener(addr: s.SockAddr, queued = true, clientAddr?: s.SockAddr): { l: number; c: number; at: s.SockAddr; cleanup(): void } {
  const l = s.socket(addr.family, SOCK_STREAM);
  s.bind(l, addr);
  s.listen(l, 8);
  const at = s.getsockname(l);
  const c = s.socket(addr.family, SOCK_STREAM);
  if (clientAddr) s.bind(c, clientAddr);
  if (queued) s.connect(c, at);
  return { l, c, at, cleanup: () => closeAll(c, l) };
}

/** A unix datagram pair with four sockets in flight to `b` as SCM_RIGHTS (and a payload). */
function fdsInFlight(): { b: number; send(): void; cleanup(): void } {
  const [a, b] = s.socketpair(AF_UNIX, SOCK_DGRAM);
  const send = (): void => {
    const passed = [0, 1, 2, 3].map(() => s.socket(AF_INET, SOCK_DGRAM));
    s.sendmsg(a!, [Buffer.from('four fds')], { control: [{ level: SOL_SOCKET, type: s.SCM_RIGHTS, fds: passed }] });
    closeAll(...passed);
  };
  return { b: b!, send, cleanup: () => closeAll(a!, b!) };
}

/** A UDP receiver with one datagram from a bound sender waiting (pktinfo: IP_PKTINFO on). */
function udpQueued(pktinfo = false, send = true): { r: number; send(): void; cleanup(): void } {
  const r = s.socket(AF_INET, SOCK_DGRAM);
  s.bind(r, LO4);
  if (pktinfo) s.setsockopt(r, IPPROTO_IP, s.IP_PKTINFO, 1);
  const w = s.socket(AF_INET, SOCK_DGRAM);
  s.bind(w, LO4);
  const go = (): void => {
    s.sendto(w, Buffer.from('datagram'), undefined, 0, s.getsockname(r));
    s.poll([{ fd: r, events: s.POLLIN }], 2000);
  };
  if (send) go();
  return { r, send: go, cleanup: () => closeAll(w, r) };
}

/** A unix datagram receiver bound to a path, with three datagrams from a bound sender waiting. */
function unixDgrams(): { r: number; cleanup(): void } {
  const r = s.socket(AF_UNIX, SOCK_DGRAM);
  const rp = unixPath();
  s.bind(r, { family: AF_UNIX, path: rp });
  const w = s.socket(AF_UNIX, SOCK_DGRAM);
  s.bind(w, { family: AF_UNIX, path: unixPath() });
  for (const text of ['one', 'two', 'three']) s.sendto(w, Buffer.from(text), undefined, 0, { family: AF_UNIX, path: rp });
  return { r, cleanup: () => closeAll(w, r) };
}

const recvBufs = (): Buffer[] => [Buffer.alloc(16), Buffer.alloc(16)];
const scenarios: Scenario[] = [
  { name: 'socket', volatile: [], prepare: () => ({ call: () => s.socket(AF_INET, SOCK_DGRAM), cleanup() {} }) },
  { name: 'socketpair', volatile: ['0', '1'], prepare: () => ({ call: () => s.socketpair(AF_UNIX, SOCK_STREAM), cleanup() {} }) },
  ...[LO4, ...(ipv6 ? [LO6] : [])].map((addr) => ({
    name: `accept (${addr.family === AF_INET ? 'AF_INET' : 'AF_INET6'})`,
    prepare() {
      const t = listener(addr);
      return { call: () => s.accept(t.l), cleanup: t.cleanup };
    },
  })),
  {
    name: 'accept (AF_UNIX, client bound to a path)',
    prepare() {
      const t = listener({ family: AF_UNIX, path: unixPath() }, true, { family: AF_UNIX, path: unixPath() });
      return { call: () => s.accept(t.l), cleanup: t.cleanup };
    },
  },
  {
    name: 'promises.accept, connection queued',
    prepare() {
      const t = listener(LO4);
      return { call: () => P.accept(t.l), cleanup: t.cleanup };
    },
  },
  {
    name: 'promises.accept, waiting for the connection',
    waits: true,
    prepare() {
      const t = listener(LO4, false);
      return {
        call() {
          const p = P.accept(t.l);
          s.connect(t.c, t.at);
          return p;
        },
        cleanup: t.cleanup,
      };
    },
  },
  ...(['sync', 'promises, queued', 'promises, waiting'] as const).map((how) => ({
    name: `recvmsg with SCM_RIGHTS of 4 fds (${how})`,
    volatile: ['data'],
    waits: how === 'promises, waiting',
    prepare() {
      const t = fdsInFlight();
      if (how !== 'promises, waiting') t.send();
      const opts = { controlLength: 256 };
      return {
        call() {
          if (how === 'sync') return s.recvmsg(t.b, recvBufs(), opts);
          const p = P.recvmsg(t.b, recvBufs(), opts);
          if (how === 'promises, waiting') t.send();
          return p;
        },
        cleanup: t.cleanup,
      };
    },
  })),
  ...(['sync', 'promises, waiting'] as const).map((how) => ({
    name: `recvmsg with IP_PKTINFO from a UDP sender (${how})`,
    waits: how === 'promises, waiting',
    prepare() {
      const t = udpQueued(true, how === 'sync');
      return {
        call() {
          if (how === 'sync') return s.recvmsg(t.r, recvBufs(), { controlLength: 64 });
          const p = P.recvmsg(t.r, recvBufs(), { controlLength: 64 });
          t.send();
          return p;
        },
        cleanup: t.cleanup,
      };
    },
  })),
  ...(['sync', 'promises'] as const).map((how) => ({
    name: `recvmmsg of 3 unix datagrams (${how})`,
    prepare() {
      const t = unixDgrams();
      const bufs = [0, 1, 2, 3].map(() => Buffer.alloc(8));
      return { call: () => (how === 'sync' ? s.recvmmsg(t.r, bufs, { flags: s.MSG_DONTWAIT }) : P.recvmmsg(t.r, bufs)), cleanup: t.cleanup };
    },
  })),
  ...(['sync', 'promises'] as const).map((how) => ({
    name: `recvfrom a UDP sender (${how})`,
    prepare() {
      const t = udpQueued();
      return { call: () => (how === 'sync' ? s.recvfrom(t.r, Buffer.alloc(16)) : P.recvfrom(t.r, Buffer.alloc(16))), cleanup: t.cleanup };
    },
  })),
  {
    name: 'poll of 4 fds',
    prepare() {
      const [a, b] = s.socketpair(AF_UNIX, SOCK_STREAM);
      const u = udpQueued();
      return {
        call: () => s.poll([{ fd: a!, events: s.POLLIN }, { fd: b!, events: s.POLLOUT }, { fd: u.r, events: s.POLLIN }, { fd: 2 ** 30, events: s.POLLIN }], 0),
        cleanup: () => (closeAll(a!, b!), u.cleanup()),
      };
    },
  },
  {
    name: 'getsockname/getpeername of connected TCP and unix sockets',
    prepare() {
      const t = listener(ipv6 ? LO6 : LO4);
      const u = listener({ family: AF_UNIX, path: unixPath() });
      return { call: () => [s.getsockname(t.c), s.getpeername(t.c), s.getsockname(u.c), s.getpeername(u.c)], cleanup: () => (t.cleanup(), u.cleanup()) };
    },
  },
  ...(['listening', 'connected'] as const).map((what) => ({
    name: `inspect of a ${what} TCP socket`,
    volatile: ['info'],
    prepare() {
      const t = listener(LO4);
      return { call: () => s.inspect(what === 'listening' ? t.l : t.c), cleanup: t.cleanup };
    },
  })),
  {
    name: 'inspect of a UDP socket',
    prepare() {
      const t = udpQueued();
      return { call: () => s.inspect(t.r), cleanup: t.cleanup };
    },
  },
  {
    name: 'getsockopt of structured options (SO_LINGER, SO_PEERCRED, SO_RCVTIMEO, TCP_INFO)',
    volatile: ['info'],
    prepare() {
      const t = listener(LO4);
      const [a, b] = s.socketpair(AF_UNIX, SOCK_STREAM);
      return {
        call: () => ({
          linger: s.getsockopt(t.c, SOL_SOCKET, s.SO_LINGER),
          cred: s.getsockopt(a!, SOL_SOCKET, s.SO_PEERCRED),
          timeout: s.getsockopt(t.c, SOL_SOCKET, s.SO_RCVTIMEO),
          info: s.getsockopt(t.c, IPPROTO_TCP, s.TCP_INFO),
        }),
        cleanup: () => (closeAll(a!, b!), t.cleanup()),
      };
    },
  },
  {
    name: 'decodeSockaddr(encodeSockaddr(x)) for AF_INET6 and AF_UNIX',
    prepare: () => ({
      call: () => [
        s.decodeSockaddr(s.encodeSockaddr({ family: AF_INET6, address: '::1', port: 7, flowinfo: 3, scopeId: 1 })),
        s.decodeSockaddr(s.encodeSockaddr({ family: AF_UNIX, path: '/tmp/x' })),
        s.decodeSockaddr(s.encodeSockaddr({ family: AF_UNIX, path: '\0abstract' })),
      ],
      cleanup() {},
    }),
  },
];

const VOLATILE = new Set(['fd', 'fds', 'port', 'inode']);
const TIMED_OUT = Symbol('timed out');

interface Outcome {
  value?: unknown;
  error?: unknown;
  /** New sockets the result does not hand over. */
  leaked: number[];
  /** What closing the run's sockets threw, after the traps were removed (sockfd state left corrupt). */
  cleanupErrors: string[];
}

/** Closes `fd` with sockfd's close; if that throws, records it and closes it again. */
function closeRecording(fd: number, errors: string[]): void {
  try {
    s.close(fd);
  } catch (err) {
    errors.push(`close(${fd}) threw ${String(err)}`);
    try {
      s.close(fd);
    } catch {
      // closed by the first attempt after all
    }
  }
}

/** Runs a scenario once, under traps of `mode` (or none), counting the sockets around the call. */
async function runOnce(sc: Scenario, mode: TrapMode | null, names: Iterable<string>): Promise<Outcome> {
  serial = 0;
  const run = sc.prepare();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<typeof TIMED_OUT>((r) => (timer = setTimeout(() => r(TIMED_OUT), 3000)));
  const before = socketFds();
  const out: Outcome = { leaked: [], cleanupErrors: [] };
  const trapped = sc.waits ? [...names].filter((n) => !/^\d+$/.test(n)) : names;
  const restore = mode ? installTraps(trapped, mode) : () => undefined;
  try {
    out.value = await Promise.race([run.call(), bound]);
  } catch (err) {
    out.error = err;
  } finally {
    restore();
    clearTimeout(timer);
  }
  if (out.value === TIMED_OUT) out.error = new Error(`${sc.name} did not settle within 3 s`);
  const created = newSockets(before, socketFds());
  const handed = out.error === undefined ? fdsIn(out.value) : new Set<number>();
  out.leaked = created.filter((fd) => !handed.has(fd));
  for (const fd of created) closeRecording(fd, out.cleanupErrors);
  try {
    run.cleanup();
  } catch (err) {
    out.cleanupErrors.push(`cleanup threw ${String(err)}`);
    for (const fd of newSockets(before, socketFds())) closeRecording(fd, []);
  }
  return out;
}

const canon = (sc: Scenario, v: unknown): unknown => canonical(v, new Set([...VOLATILE, ...(sc.volatile ?? [])]));
const baselines = new Map<string, unknown>();
const NAMES = new Set(['0', '1', '2', '3']);

beforeAll(async () => {
  for (const sc of scenarios) {
    const r = await runOnce(sc, null, []);
    if (r.error !== undefined) throw new Error(`baseline of ${sc.name} failed: ${String(r.error)}`);
    expect(r.leaked, `baseline of ${sc.name}`).toEqual([]);
    baselines.set(sc.name, canon(sc, r.value));
    collectNames(r.value, NAMES);
  }
  for (const key of ['code', 'errno', 'syscall', 'address', 'port']) NAMES.add(key);
});

describe('results under setters on Object.prototype and Array.prototype', () => {
  it('the trapped names include every field of every result (fd, address, port, control, fds, revents, tcp, ...)', () => {
    for (const name of ['fd', 'address', 'port', 'family', 'path', 'bytes', 'flags', 'control', 'level', 'type', 'data', 'fds', 'revents', 'tcp']) {
      expect(NAMES.has(name), name).toBe(true);
    }
  });

  it.each(scenarios.map((sc) => [sc.name, sc] as const))('%s: swallowing setters drop no field and leak no fd', async (_, sc) => {
    const r = await runOnce(sc, 'swallowing', NAMES);
    expect(r.error).toBeUndefined();
    expect(r.leaked, 'new sockets the result does not hand over').toEqual([]);
    expect(canon(sc, r.value)).toEqual(baselines.get(sc.name));
    expect(r.cleanupErrors, 'closing the sockets afterwards').toEqual([]);
  });

  it.each(scenarios.map((sc) => [sc.name, sc] as const))('%s: throwing setters give the same result or fail with no fd left open', async (_, sc) => {
    const r = await runOnce(sc, 'throwing', NAMES);
    expect(r.leaked, `new sockets left open (the call ${r.error === undefined ? 'returned' : `threw ${String(r.error)}`})`).toEqual([]);
    expect(String(r.error ?? ''), 'the call hung').not.toMatch(/did not settle/);
    if (r.error === undefined) expect(canon(sc, r.value)).toEqual(baselines.get(sc.name));
    expect(r.cleanupErrors, 'closing the sockets afterwards').toEqual([]);
  });
});
