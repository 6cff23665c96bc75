// socketIn: a socket created inside another network namespace, from the main thread and from worker
// threads (20 at once, each into its own namespace), checked against the kernel (SIOCGSKNS, the
// namespace cookie a python3 peer reads inside the namespace through `ip netns exec`) and against
// /proc/<pid>/task/*/ns/net of every thread afterwards. The namespaces are made with sockfd/netns and
// removed after each test. The way back failing is made to happen (an LD_PRELOAD shim whose setns
// fails on the return) in a child process, which must abort with a clear message.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, openSync, closeSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  FD_CLOEXEC,
  F_GETFD,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_NETNS_COOKIE,
  SystemError,
  bind,
  close,
  fcntl,
  getsockopt,
  socket,
  socketIn,
} from '../src/index.js';
import { native } from '../src/binding.js';
import { createNamespace, type Namespace } from '../src/netns/index.js';
import { expectNothingLeft, leftovers, netnsCapsMissing, toolMissing } from './helpers/caps.js';
import { checkFdLeaks, openFds } from './helpers/fds.js';
import { thrown } from './helpers/expect.js';
import { DIST_INDEX, message } from './helpers/workers.js';

const skip = netnsCapsMissing();
if (skip) console.log('skipping socketIn tests:', skip);
const noPeer = toolMissing('ip', 'iproute2') ?? toolMissing('python3', 'python3');
if (noPeer) console.log('skipping the python3 peer of the socketIn tests:', noPeer);
const noCc = toolMissing('cc', 'gcc');
if (noCc) console.log('skipping the setns shim test:', noCc);

checkFdLeaks();

/** The netns cookie of a socket (SO_NETNS_COOKIE, a u64): equal for two sockets exactly when they share a namespace. */
function cookie(fd: number): bigint {
  return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, 8).readBigUInt64LE(0);
}

/** The inode of the namespace a socket lives in, from the kernel (ioctl SIOCGSKNS). */
function socketNsInode(fd: number): number {
  const ns = native.socketNetns(fd);
  expect(ns).toBeGreaterThanOrEqual(0);
  try {
    return fstatSync(ns).ino;
  } finally {
    closeSync(ns);
  }
}

/** The network namespace of every thread of this process, as /proc/self/task/<tid>/ns/net names it. */
function threadNamespaces(): Map<string, string> {
  const out = new Map<string, string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, readlinkSync(`/proc/self/task/${tid}/ns/net`));
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

const namespaces: Namespace[] = [];
let before: ReturnType<typeof leftovers>;

describe.skipIf(skip !== null)('socketIn', () => {
  beforeEach(() => {
    before = leftovers();
  });
  afterEach(async () => {
    for (const ns of namespaces.splice(0)) await ns.close();
    expectNothingLeft(before);
  });

  function ns(): Namespace {
    const n = createNamespace();
    namespaces.push(n);
    return n;
  }

  it.skipIf(noPeer !== null)('creates the socket in the named namespace, as the kernel and a python3 peer inside it see it', () => {
    const blue = ns();
    const fd = socketIn(blue.name, AF_INET, SOCK_DGRAM);
    try {
      expect(socketNsInode(fd)).toBe(statSync(blue.path).ino);
      const peer = execFileSync(
        'ip',
        ['netns', 'exec', blue.name, 'python3', '-c', 'import socket,struct; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])'],
        { encoding: 'utf8', timeout: 10_000 },
      );
      expect(cookie(fd)).toBe(BigInt(peer.trim()));
      const here = socket(AF_INET, SOCK_DGRAM);
      expect(cookie(here)).not.toBe(cookie(fd));
      close(here);
    } finally {
      close(fd);
    }
  });

  it('leaves the calling thread in its own namespace', () => {
    const own = readlinkSync('/proc/thread-self/ns/net');
    const fd = socketIn(ns().path, AF_INET, SOCK_STREAM);
    close(fd);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(own);
    const after = socket(AF_INET, SOCK_STREAM);
    expect(socketNsInode(after)).toBe(statSync('/proc/self/ns/net').ino);
    close(after);
  });

  it('gives a socket whose binds and port space are the namespace\'s', () => {
    const a = ns(), b = ns();
    const fa = socketIn(a.name, AF_INET, SOCK_STREAM), fb = socketIn(b.name, AF_INET, SOCK_STREAM);
    const addr = { family: AF_INET, address: '127.0.0.1', port: 5555 };
    bind(fa, addr);
    bind(fb, addr); // another namespace, another port space: no EADDRINUSE
    const again = socketIn(a.name, AF_INET, SOCK_STREAM);
    expect(thrown<SystemError>(() => bind(again, addr)).code).toBe('EADDRINUSE');
    [fa, fb, again].forEach(close);
  });

  it.skipIf(noPeer !== null)('accepts a path, an open fd (left open) and { pid }', async () => {
    const blue = ns();
    const byPath = socketIn(blue.path, AF_INET6, SOCK_DGRAM);
    const nsfd = openSync(blue.path, 'r');
    const byFd = socketIn(nsfd, AF_INET6, SOCK_DGRAM);
    expect(fstatSync(nsfd).ino).toBe(statSync(blue.path).ino); // still open
    closeSync(nsfd);
    const child = spawn('ip', ['netns', 'exec', blue.name, 'sleep', '10'], { stdio: 'ignore' });
    try {
      // `ip netns exec` enters the namespace and then execs sleep, with the same pid.
      await waitFor(() => readlinkSync(`/proc/${child.pid}/exe`).endsWith('sleep'));
      const byPid = socketIn({ pid: child.pid! }, AF_INET, SOCK_STREAM);
      for (const fd of [byPath, byFd, byPid]) expect(socketNsInode(fd)).toBe(statSync(blue.path).ino);
      close(byPid);
    } finally {
      child.kill();
    }
    close(byPath);
    close(byFd);
  });

  it('returns a close-on-exec fd and closes the namespace fd it opened, on success and on failure', () => {
    const blue = ns();
    const count = (): number => openFds().size;
    const n = count();
    const fd = socketIn(blue.name, AF_INET, SOCK_STREAM);
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
    expect(count()).toBe(n + 1);
    close(fd);
    for (const bad of [() => socketIn(blue.name, 12345, SOCK_STREAM), () => socketIn('/proc/self/ns/mnt', AF_INET, SOCK_STREAM), () => socketIn(blue.name, AF_INET, SOCK_STREAM, -7)]) {
      expect(thrown(bad)).toBeInstanceOf(Error);
      expect(count()).toBe(n);
    }
  });

  it('names a namespace that does not exist, and what a wrong file is instead', () => {
    const missing = thrown<SystemError>(() => socketIn('sockfd-no-such-namespace', AF_INET, SOCK_STREAM));
    expect(missing).toBeInstanceOf(SystemError);
    expect([missing.code, missing.syscall]).toEqual(['ENOENT', 'open']);
    expect(missing.message).toContain("no network namespace named 'sockfd-no-such-namespace'");
    const mnt = thrown<SystemError>(() => socketIn('/proc/self/ns/mnt', AF_INET, SOCK_STREAM));
    expect([mnt.code, mnt.syscall]).toEqual(['EINVAL', 'setns']);
    expect(mnt.message).toContain('is a mount namespace, not a network namespace');
    const file = thrown<SystemError>(() => socketIn('/etc/hostname', AF_INET, SOCK_STREAM));
    expect([file.code, file.syscall]).toEqual(['EINVAL', 'setns']);
    expect(file.message).toContain('not a namespace file');
    const noPid = thrown<SystemError>(() => socketIn({ pid: 2 ** 31 - 1 }, AF_INET, SOCK_STREAM));
    expect(noPid.code).toBe('ENOENT');
    expect(noPid.message).toContain(`no process ${2 ** 31 - 1}`);
    expect(thrown<SystemError>(() => socketIn(2 ** 30, AF_INET, SOCK_STREAM)).code).toBe('EBADF');
  });

  it('refuses bad arguments with TypeError/RangeError naming them, before opening anything', () => {
    expect(thrown(() => socketIn(undefined as never, AF_INET, SOCK_STREAM))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => socketIn('', AF_INET, SOCK_STREAM))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(thrown(() => socketIn('a\0b', AF_INET, SOCK_STREAM))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(thrown(() => socketIn(-1, AF_INET, SOCK_STREAM))).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => socketIn({ pid: 0 }, AF_INET, SOCK_STREAM))).toMatchObject({ name: 'RangeError', message: expect.stringContaining('"netns.pid"') });
    expect(thrown(() => socketIn(ns().name, 'x' as never, SOCK_STREAM))).toMatchObject({ name: 'TypeError', message: expect.stringContaining('"domain"') });
  });

  it('works from a worker thread, which stays in its own namespace', async () => {
    const blue = ns();
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const fs = require('node:fs');
       const s = require(workerData.dist);
       const fd = s.socketIn(workerData.path, s.AF_INET, s.SOCK_STREAM);
       parentPort.postMessage({ fd, thread: fs.readlinkSync('/proc/thread-self/ns/net') });`,
      { eval: true, workerData: { dist: DIST_INDEX, path: blue.path } },
    );
    const m = await message<{ fd: number; thread: string }>(w, 'fd', 'the worker\'s socket');
    await w.terminate();
    expect(socketNsInode(m.fd)).toBe(statSync(blue.path).ino);
    expect(m.thread).toBe(readlinkSync('/proc/self/ns/net'));
    close(m.fd);
  });

  it('from 20 workers at once, each into its own namespace, never leaves a thread in the wrong namespace', async () => {
    const COUNT = 20, ROUNDS = 50;
    const spaces = Array.from({ length: COUNT }, () => ns());
    const go = new Int32Array(new SharedArrayBuffer(4));
    const workers = spaces.map(
      (space) =>
        new Worker(
          `const { parentPort, workerData } = require('node:worker_threads');
           const fs = require('node:fs');
           const s = require(workerData.dist);
           parentPort.postMessage({ ready: true });
           Atomics.wait(workerData.go, 0, 0, 10000);         // all start together
           const fds = [];
           for (let i = 0; i < workerData.rounds; i++) {
             const fd = s.socketIn(workerData.path, i % 2 ? s.AF_INET6 : s.AF_INET, s.SOCK_DGRAM);
             if (i < workerData.rounds - 2) s.close(fd); else fds.push(fd);
           }
           parentPort.postMessage({ fds, thread: fs.readlinkSync('/proc/thread-self/ns/net') });
           parentPort.on('message', () => process.exit(0));   // stay alive until the threads are checked`,
          { eval: true, workerData: { dist: DIST_INDEX, path: space.path, go, rounds: ROUNDS } },
        ),
    );
    try {
      await Promise.all(workers.map((w) => message(w, 'ready', 'a worker to start', 15_000)));
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      const results = await Promise.all(workers.map((w) => message<{ fds: number[]; thread: string }>(w, 'fds', 'a worker\'s sockets', 15_000)));
      // Every thread of the process, the 20 workers' included (still alive), is in the process's namespace.
      const home = readlinkSync('/proc/self/ns/net');
      const threads = threadNamespaces();
      expect(threads.size).toBeGreaterThan(COUNT);
      for (const [tid, netns] of threads) expect(netns, `thread ${tid}`).toBe(home);
      results.forEach((r, i) => {
        expect(r.thread).toBe(home);
        for (const fd of r.fds) {
          expect(socketNsInode(fd)).toBe(statSync(spaces[i]!.path).ino);
          close(fd);
        }
      });
    } finally {
      for (const w of workers) w.postMessage('exit');
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }, 60_000);

  it.skipIf(noCc !== null)('aborts the process with a clear message when the thread cannot return to its namespace', () => {
    const blue = ns();
    const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-setns-'));
    try {
      // An LD_PRELOAD shim whose second setns (socketIn's way back) fails with ENOMEM.
      writeFileSync(
        path.join(dir, 'shim.c'),
        `#define _GNU_SOURCE
         #include <dlfcn.h>
         #include <errno.h>
         static int calls;
         int setns(int fd, int type) {
           static int (*real)(int, int);
           if (!real) real = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");
           if (++calls == 2) { errno = ENOMEM; return -1; }
           return real(fd, type);
         }`,
      );
      const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'shim.so'), path.join(dir, 'shim.c'), '-ldl'], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const r = spawnSync('sh', ['-c', `ulimit -c 0; exec "$0" -e "$1"`, process.execPath, `const s = require(${JSON.stringify(DIST_INDEX)}); s.socketIn(${JSON.stringify(blue.path)}, s.AF_INET, s.SOCK_STREAM); console.log('returned')`], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 15_000,
        // The child runs in `dir`: a relative SOCKFD_ADDON (the cmake-js build) is made absolute; the
        // shim comes after what is preloaded already (the sanitizer runtimes of npm run test:asan).
        env: { ...process.env, ...(process.env.SOCKFD_ADDON ? { SOCKFD_ADDON: path.resolve(process.env.SOCKFD_ADDON) } : {}), LD_PRELOAD: [process.env.LD_PRELOAD, path.join(dir, 'shim.so')].filter(Boolean).join(' ') },
      });
      expect(r.signal).toBe('SIGABRT');
      expect(r.stdout).not.toContain('returned');
      expect(r.stderr).toContain('could not return the calling thread to its own network namespace');
      expect(r.stderr).toContain('Cannot allocate memory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}


