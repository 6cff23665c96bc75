// Signals against blocking calls. Node's signal handlers (libuv's) are installed with SA_RESTART, but
// poll(2) is never restarted, nor is a socket call with SO_RCVTIMEO/SO_SNDTIMEO: those fail with EINTR,
// and sockfd promises (native/socket.cc, io.cc, connection.cc) that a signal neither ends such a call
// early nor makes it throw EINTR, that a timeout is a timeout (poll retries with the time that
// remains), and that a connect interrupted by a signal is completed, not reissued. Every send carries
// MSG_NOSIGNAL, so a reset peer is an EPIPE error even where SIGPIPE has its default action (which is
// what it gets once a SIGPIPE listener is added and removed), and the process lives.
//
// The storm: a child node process sends SIGUSR2 to this process every millisecond (a listener is
// installed first, since SIGUSR2's default action is to terminate) for a bounded time, so that even a
// call that restarts its wait on every signal returns once the storm is over. Signal callbacks are
// queued by libuv while the main thread is blocked and run at the next loop turn, so the count taken
// right after a call is the number of signals that arrived during it.
//
// Child processes load the compiled package (dist/, `node scripts/build-ts.mjs`) and inherit this
// process's environment, so under `npm run test:asan` they use the instrumented addon too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  POLLIN,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SystemError,
  accept,
  bind,
  close,
  connect,
  getpeername,
  getsockname,
  listen,
  poll,
  read,
  recv,
  recvfrom,
  recvmsg,
  setsockopt,
  socket,
  socketpair,
  type SockAddrIn,
} from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';
import { firstLine, turns } from './helpers/storm.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const DIST_INDEX = path.join(root, 'dist/cjs/index.js');
const DIST_PROMISES = path.join(root, 'dist/cjs/promises.js');
const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// The storm and its bookkeeping.

let received = 0;
const onSignal = (): void => {
  received++;
};
const children = new Set<ChildProcess>();
const owned = new Set<number>();

function own<T extends number>(fd: T): T {
  owned.add(fd);
  return fd;
}

beforeAll(() => {
  process.on('SIGUSR2', onSignal);
});

afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([...children].map((c) => exited(c)));
  children.clear();
  for (const fd of owned) {
    try {
      close(fd);
    } catch {
      // closed by the test
    }
  }
  owned.clear();
});

afterAll(async () => {
  // Every storm is dead (afterEach); let signals still queued in libuv reach the listener first.
  await turns(3);
  process.off('SIGUSR2', onSignal);
});

function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((r) => c.once('exit', () => r()));
}

/**
 * Starts a storm of SIGUSR2 at this process (or at `pid`), one signal every millisecond for `ms`, and
 * resolves once signals are arriving here (or at once, for another process).
 */
async function storm(ms: number, pid = process.pid): Promise<ChildProcess> {
  const script = `
    const pid = ${pid};
    const end = Date.now() + ${ms};
    setInterval(() => {
      if (Date.now() > end) process.exit(0);
      try { process.kill(pid, 'SIGUSR2'); } catch { process.exit(0); }
    }, 1);
    process.stdout.write('storming\\n');
  `;
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(c);
  await firstLine(c, 'the storm to start');
  if (pid !== process.pid) return c;
  const start = received;
  const deadline = Date.now() + 5000;
  while (received - start < 5) {
    if (Date.now() > deadline) throw new Error('no SIGUSR2 arrived within 5 s of the storm starting');
    await new Promise((r) => setTimeout(r, 5));
  }
  return c;
}

/** Runs a blocking `call` and reports how long it took and how many signals arrived meanwhile. */
async function timed<T>(call: () => T): Promise<{ ms: number; signals: number; result: T | undefined; error: unknown }> {
  await turns(2);
  const before = received;
  const t0 = performance.now();
  let result: T | undefined;
  let error: unknown;
  try {
    result = call();
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - t0;
  await turns(2); // the signals that arrived during the call are delivered now
  return { ms, signals: received - before, result, error };
}

function udpSocket(): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_DGRAM));
  bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

/** A child that sends a datagram to `port` every 50 ms, starting `delay` ms from now. */
function lateSender(port: number, delay: number): ChildProcess {
  const c = spawn(
    process.execPath,
    ['-e', `const d = require('node:dgram').createSocket('udp4'); setTimeout(() => setInterval(() => d.send('late', ${port}, '${LOOPBACK}'), 50), ${delay});`],
    { stdio: 'ignore' },
  );
  children.add(c);
  return c;
}

// ---------------------------------------------------------------------------------------------

describe('a sync call with a timeout under a storm of signals', () => {
  it('poll with a 300 ms timeout on an idle socket waits its full time and returns revents 0, not EINTR', async () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM).map(own);
    await storm(3000);
    const r = await timed(() => poll([{ fd: a!, events: POLLIN }], 300));
    expect(r.error).toBeUndefined();
    expect(r.result).toEqual([{ fd: a, revents: 0 }]);
    expect(r.signals, 'signals that arrived during the poll').toBeGreaterThanOrEqual(20);
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms, 'poll stretched by the signals').toBeLessThan(1000);
  });

  it('poll without a timeout is not ended by signals: it returns when data arrives', async () => {
    const u = udpSocket();
    await storm(3000);
    lateSender(u.port, 300);
    const r = await timed(() => poll([{ fd: u.fd, events: POLLIN }], -1));
    expect(r.error).toBeUndefined();
    expect(r.result).toEqual([{ fd: u.fd, revents: POLLIN }]);
    expect(r.signals).toBeGreaterThanOrEqual(20);
    expect(r.ms).toBeGreaterThanOrEqual(250);
  });

  it('recv on a socket with SO_RCVTIMEO 300 ms throws EAGAIN, not EINTR, after 300 ms (not when the storm ends)', async () => {
    const [a] = socketpair(AF_UNIX, SOCK_DGRAM).map(own);
    setsockopt(a!, SOL_SOCKET, SO_RCVTIMEO, 300);
    await storm(2000);
    const r = await timed(() => recv(a!, Buffer.alloc(16)));
    expect(r.error).toBeInstanceOf(SystemError);
    expect(r.error).toMatchObject({ code: 'EAGAIN', syscall: 'recv' });
    expect(r.signals).toBeGreaterThanOrEqual(20);
    expect(r.ms).toBeGreaterThanOrEqual(290);
    // Each EINTR restarts a full SO_RCVTIMEO wait if the retry does not account for the time spent:
    // under a storm that never pauses, the call then only returns once the storm is over (2 s).
    expect(r.ms, `recv took ${Math.round(r.ms)} ms under a 2 s storm, for a 300 ms SO_RCVTIMEO`).toBeLessThan(1500);
  });

  const receivers: [string, (fd: number) => unknown][] = [
    ['recvfrom', (fd) => recvfrom(fd, Buffer.alloc(16))],
    ['recvmsg', (fd) => recvmsg(fd, [Buffer.alloc(16)])],
    ['read', (fd) => read(fd, Buffer.alloc(16))],
  ];
  it.each(receivers)('%s with SO_RCVTIMEO 300 ms throws EAGAIN after 300 ms under the storm', async (name, call) => {
    const [a] = socketpair(AF_UNIX, SOCK_DGRAM).map(own);
    setsockopt(a!, SOL_SOCKET, SO_RCVTIMEO, 300);
    await storm(2000);
    const r = await timed(() => call(a!));
    expect(r.error).toMatchObject({ code: 'EAGAIN', syscall: name });
    expect(r.signals).toBeGreaterThanOrEqual(20);
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms, `${name} took ${Math.round(r.ms)} ms under a 2 s storm, for a 300 ms SO_RCVTIMEO`).toBeLessThan(1500);
  });

  it('accept on a listener with SO_RCVTIMEO 300 ms throws EAGAIN after 300 ms under the storm', async () => {
    const l = own(socket(AF_INET, SOCK_STREAM));
    bind(l, { family: AF_INET, address: LOOPBACK, port: 0 });
    listen(l, 4);
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, 300);
    await storm(2000);
    const r = await timed(() => accept(l));
    expect(r.error).toMatchObject({ code: 'EAGAIN', syscall: 'accept' });
    expect(r.signals).toBeGreaterThanOrEqual(20);
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms, `accept took ${Math.round(r.ms)} ms under a 2 s storm, for a 300 ms SO_RCVTIMEO`).toBeLessThan(1500);
  });
});

// ---------------------------------------------------------------------------------------------
// connect: a listener whose accept queue is full (backlog 0 and one connection waiting) drops SYNs,
// so a connect to it stays in SYN_SENT, retransmitting its SYN (after 1 s), until room is made. The
// listener lives in a child, which makes room 500 ms after it is told to go (just before the connect
// starts), then accepts our connection and writes to it. SO_SNDTIMEO is set on the connecting socket
// (longer than the test) because without it the kernel restarts an interrupted connect by itself
// (SA_RESTART) and sockfd would never see the EINTR; with it, connect(2) fails with EINTR at the first
// signal.

const FULL_LISTENER = `
  const s = require(${JSON.stringify(DIST_INDEX)});
  const l = s.socket(s.AF_INET, s.SOCK_STREAM);
  s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
  s.listen(l, 0);
  const port = s.getsockname(l).port;
  const first = s.socket(s.AF_INET, s.SOCK_STREAM);
  s.connect(first, { family: s.AF_INET, address: '127.0.0.1', port });
  process.stdout.write(JSON.stringify({ port, queued: s.inspect(l).tcp.acceptQueue }) + '\\n');
  process.stdin.once('data', () => setTimeout(() => {
    s.close(s.accept(l).fd); // room for one more
    const c = s.accept(l); // ours, once its SYN is retransmitted
    s.write(c.fd, Buffer.from('accepted'));
    setTimeout(() => process.exit(0), 5000);
  }, 500));
`;

/** The full listener's port, and `go()` to have it make room 500 ms later. */
async function fullListener(): Promise<{ port: number; go(): void }> {
  const c = spawn(process.execPath, ['-e', FULL_LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(c);
  const { port, queued } = JSON.parse(await firstLine(c, 'the listener')) as { port: number; queued: number };
  expect(queued, "the listener's accept queue holds one connection (full, for backlog 0)").toBe(1);
  return { port, go: () => c.stdin!.write('go\n') };
}

describe('connect interrupted by signals', () => {
  it('a blocking connect to a full accept queue, interrupted by a storm, completes once the peer accepts (no EINTR, no EALREADY)', async () => {
    await storm(5000);
    const { port, go } = await fullListener();
    const fd = own(socket(AF_INET, SOCK_STREAM));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, 10_000);
    go();
    const r = await timed(() => connect(fd, { family: AF_INET, address: LOOPBACK, port }));
    expect(r.error).toBeUndefined();
    expect(r.ms, 'connect waited for the queue to free').toBeGreaterThanOrEqual(400);
    expect(r.ms).toBeLessThan(8000);
    expect(r.signals, 'signals that arrived during connect').toBeGreaterThanOrEqual(20);
    expect((getpeername(fd) as SockAddrIn).port).toBe(port);
    // The connection is the one the child accepted: its greeting arrives on it.
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 5000);
    const buf = Buffer.alloc(16);
    expect(buf.toString('latin1', 0, recv(fd, buf))).toBe('accepted');
  });

  const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!strace)('connect(2) is issued once: after EINTR sockfd waits for the handshake instead of calling connect again (strace)', async () => {
    const { port, go } = await fullListener();
    // The connecting process, under strace: it reports its pid, waits for the storm this test aims at
    // it (from a process strace does not follow, so that the storm stays fast), then connects once.
    const script = `
      const s = require(${JSON.stringify(DIST_INDEX)});
      let n = 0;
      process.on('SIGUSR2', () => n++);
      console.log(JSON.stringify({ pid: process.pid }));
      const wait = setInterval(() => {
        if (n < 5) return;
        clearInterval(wait);
        const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
        s.setsockopt(fd, s.SOL_SOCKET, s.SO_SNDTIMEO, 10000);
        const before = n;
        console.log(JSON.stringify({ connecting: true }));
        let result;
        try { s.connect(fd, { family: s.AF_INET, address: '127.0.0.1', port: ${port} }); result = 'connected'; }
        catch (e) { result = e.code; }
        setImmediate(() => { console.log(JSON.stringify({ result, signals: n - before })); process.exit(0); });
      }, 5);
    `;
    const out = path.join(tmpdir(), `sockfd-strace-${process.pid}.txt`);
    const c = spawn('strace', ['-f', '-qq', '-e', 'trace=connect', '-e', 'signal=none', '-o', out, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(c);
    let stdout = '';
    let told = false;
    c.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!told && stdout.includes('"connecting"')) {
        told = true;
        go();
      }
    });
    const { pid } = JSON.parse(await firstLine(c, 'the connecting child', 15_000)) as { pid: number };
    await storm(6000, pid);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 15_000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const trace = readFileSync(out, 'utf8').split('\n');
    rmSync(out, { force: true });
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { result?: string; signals?: number };
    const calls = trace.filter((line) => line.includes(`htons(${port})`));
    const interrupted = trace.filter((line) => /connect/.test(line) && /EINTR|ERESTART/.test(line));
    expect(report.result).toBe('connected');
    expect(report.signals).toBeGreaterThanOrEqual(20);
    expect(interrupted.length, `connect(2) was interrupted:\n${trace.join('\n')}`).toBeGreaterThan(0);
    expect(calls, 'connect(2) calls to the listener').toHaveLength(1);
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// SIGPIPE, in a clean child: adding and removing a SIGPIPE listener leaves SIGPIPE at its default
// action (terminate), where Node's own default is to ignore it. Then every way of sending on a
// socket whose peer is gone must give EPIPE (or ECONNRESET first, for TCP) and the child must live.

const SIGPIPE_CHILD = (body: string): string => `
  const s = require(${JSON.stringify(DIST_INDEX)});
  const p = require(${JSON.stringify(DIST_PROMISES)});
  const fs = require('node:fs');
  const f = () => {};
  process.on('SIGPIPE', f);
  process.off('SIGPIPE', f);
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const mask = (name) => BigInt('0x' + new RegExp('^' + name + ':\\\\s*([0-9a-f]+)$', 'm').exec(status)[1]);
  const bit = 1n << 12n; // SIGPIPE is 13
  const disposition = { ignored: (mask('SigIgn') & bit) !== 0n, caught: (mask('SigCgt') & bit) !== 0n };
  const results = [];
  const attempt = async (name, call) => {
    process.stderr.write('calling ' + name + '\\n');
    try { await call(); results.push([name, 'no error']); } catch (e) { results.push([name, e.code]); }
  };
  (async () => {
    ${body}
    console.log(JSON.stringify({ disposition, results }));
  })();
`;

async function runSigpipeChild(body: string): Promise<{ disposition: { ignored: boolean; caught: boolean }; results: [string, string][] }> {
  const c = spawn(process.execPath, ['-e', SIGPIPE_CHILD(body)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => c.once('exit', (code, sig) => r([code, sig])));
  clearTimeout(timer);
  const last = stderr.trim().split('\n').filter((l) => l.startsWith('calling ')).pop();
  expect({ code, signal }, `the child died during "${last ?? '(setup)'}"\n${stderr}`).toEqual({ code: 0, signal: null });
  return JSON.parse(stdout);
}

describe('SIGPIPE at its default action', () => {
  it('every send to a unix stream socket whose peer closed gives EPIPE, and the process lives', async () => {
    const r = await runSigpipeChild(`
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
      s.close(b);
      const x = Buffer.from('x');
      await attempt('write', () => s.write(a, x));
      await attempt('send', () => s.send(a, x));
      await attempt('sendmsg', () => s.sendmsg(a, [x]));
      await attempt('sendmmsg', () => s.sendmmsg(a, [x]));
      await attempt('promises.write', () => p.write(a, x));
      await attempt('promises.send', () => p.send(a, x));
      await attempt('promises.sendmsg', () => p.sendmsg(a, [x]));
      await attempt('promises.sendmmsg', () => p.sendmmsg(a, [x]));
      s.close(a);
    `);
    expect(r.disposition, 'SIGPIPE neither ignored nor caught in the child').toEqual({ ignored: false, caught: false });
    expect(r.results.map(([name]) => name)).toHaveLength(8);
    for (const [name, code] of r.results) expect(code, name).toBe('EPIPE');
  });

  it('sends to a TCP peer that reset the connection give ECONNRESET then EPIPE, and the process lives', async () => {
    const r = await runSigpipeChild(`
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      s.listen(l, 1);
      const addr = s.getsockname(l);
      const c = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.connect(c, addr);
      const a = s.accept(l).fd;
      s.setsockopt(a, s.SOL_SOCKET, s.SO_LINGER, { onoff: 1, linger: 0 });
      s.close(a); // RST
      s.poll([{ fd: c, events: s.POLLIN }], 5000);
      const x = Buffer.from('x');
      await attempt('write', () => s.write(c, x));
      await attempt('write again', () => s.write(c, x));
      await attempt('send', () => s.send(c, x));
      await attempt('sendto', () => s.sendto(c, x, undefined, 0, addr));
      await attempt('sendmsg', () => s.sendmsg(c, [x]));
      await attempt('sendmmsg', () => s.sendmmsg(c, [x]));
      await attempt('promises.write', () => p.write(c, x));
      await attempt('promises.send', () => p.send(c, x));
      await attempt('promises.sendmsg', () => p.sendmsg(c, [x]));
      s.close(c);
      s.close(l);
    `);
    expect(r.disposition).toEqual({ ignored: false, caught: false });
    expect(r.results).toHaveLength(9);
    expect(['ECONNRESET', 'EPIPE']).toContain(r.results[0]![1]);
    for (const [name, code] of r.results.slice(1)) expect(code, name).toBe('EPIPE');
  });
});
