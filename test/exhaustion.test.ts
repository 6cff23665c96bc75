// Exhaustion: running out of fds, fd numbers above 1024, and floods.
//
// - With RLIMIT_NOFILE lowered (a child process run under `prlimit --nofile=64:64`, or `ulimit -n` where
//   util-linux's prlimit is missing), EMFILE is a clean SystemError, and a listening socket watched by
//   sockfd/promises does not spin the CPU while connections wait that cannot be accepted (libuv's own
//   servers avoid that spin with a reserve fd: they close it, accept and close the connection, and
//   reopen it). CPU time is read by this process from /proc/<pid>/stat, because a spinning child could
//   not report it.
// - fds above 1024 work with every call (nothing uses select/FD_SET): the child first fills the fd table
//   with /dev/null up to fd 1100.
// - A flood of datagrams to a watched socket does not starve timers: reads per wake-up are bounded.
//
// Child processes load the compiled package (dist/, `node scripts/build-ts.mjs`) and inherit this
// process's environment (so `npm run test:asan` instruments them too). Every wait is bounded.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AF_INET, MSG_DONTWAIT, POLLIN, SOCK_DGRAM, bind, close, getsockname, recv, socket, watch, type SockAddrIn } from '../src/index.js';
import * as p from '../src/promises.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const DIST_INDEX = path.join(root, 'dist/cjs/index.js');
const DIST_PROMISES = path.join(root, 'dist/cjs/promises.js');
const LOOPBACK = '127.0.0.1';

const children = new Set<ChildProcess>();
const sockets = new Set<net.Socket>();
const owned = new Set<number>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([...children].map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
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

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A node child running `body` (CommonJS, with `s` = sockfd and `p` = sockfd/promises), at most `nofile` fds. */
function limited(nofile: number, body: string): ChildProcess {
  const script = `
    'use strict';
    const s = require(${JSON.stringify(DIST_INDEX)});
    const p = require(${JSON.stringify(DIST_PROMISES)});
    const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    (async () => { ${body} })().catch((e) => { say({ error: String(e && e.stack || e) }); process.exit(1); });
  `;
  // prlimit and `exec` keep the pid: it is node's, for /proc/<pid>/stat.
  const c = hasPrlimit
    ? spawn('prlimit', [`--nofile=${nofile}:${nofile}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn('sh', ['-c', `ulimit -n ${nofile} && exec "$0" -e "$1"`, process.execPath, script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(c);
  return c;
}

/** The JSON lines a child prints, one at a time. */
function lines(c: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  let buf = '';
  c.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const next = queue.shift();
      if (next) return resolve(next);
      const timer = setTimeout(() => reject(new Error('timed out waiting for the child')), 10_000);
      const onExit = (code: number | null, sig: string | null): void => reject(new Error(`the child exited (${code ?? sig}) before reporting`));
      c.once('exit', onExit);
      waiting.push((line) => {
        clearTimeout(timer);
        c.off('exit', onExit);
        if (typeof line.error === 'string') reject(new Error(`the child failed: ${line.error}`));
        else resolve(line);
      });
    });
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens `n` TCP connections from this process to `port` (they wait in the child's backlog). */
function connectClients(port: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const sock = net.connect(port, LOOPBACK);
    sock.on('error', () => undefined);
    sockets.add(sock);
  }
}

// ---------------------------------------------------------------------------------------------

describe('RLIMIT_NOFILE exhausted', () => {
  it('socket() until EMFILE gives a SystemError EMFILE (errno -24, syscall socket); closing one lets the next succeed', async () => {
    const c = limited(64, `
      const fds = [];
      let err;
      for (let i = 0; i < 1000; i++) {
        try { fds.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); } catch (e) { err = e; break; }
      }
      const out = {
        opened: fds.length,
        maxFd: Math.max(...fds),
        isSystemError: err instanceof s.SystemError,
        name: err && err.name, code: err && err.code, errno: err && err.errno, syscall: err && err.syscall, message: err && err.message,
      };
      try { s.socketpair(s.AF_UNIX, s.SOCK_STREAM); out.socketpair = 'ok'; } catch (e) { out.socketpair = e.code + ' ' + e.syscall; }
      s.close(fds.pop());
      try { fds.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); out.afterClose = 'ok'; } catch (e) { out.afterClose = e.code; }
      try { fds.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); out.again = 'ok'; } catch (e) { out.again = e.code; }
      for (const fd of fds) s.close(fd);
      say(out);
    `);
    const r = await lines(c)();
    expect(r.opened as number).toBeGreaterThan(10);
    expect(r.maxFd as number).toBeLessThan(64);
    expect(r).toMatchObject({
      isSystemError: true,
      name: 'Error',
      code: 'EMFILE',
      errno: -24,
      syscall: 'socket',
      message: 'socket EMFILE',
      socketpair: 'EMFILE socketpair',
      afterClose: 'ok',
      again: 'EMFILE',
    });
  });

  // The listener for the two tests below: sockfd/promises accept on it, every other fd taken.
  const LISTENER = `
    const l = s.socket(s.AF_INET, s.SOCK_STREAM);
    s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
    s.listen(l, 16);
    const port = s.getsockname(l).port;
    const outcomes = [];
  `;
  const EXHAUST = `
    const hog = [];
    for (;;) {
      try { hog.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); } catch (e) { if (e.code !== 'EMFILE') throw e; break; }
    }
  `;

  it('a pending sockfd/promises accept rejects with EMFILE when a connection arrives and no fd is left, and the watcher then stays quiet (< 0.3 s CPU in 1 s)', async () => {
    const c = limited(64, `
      ${LISTENER}
      p.accept(l).then((r) => { outcomes.push('accepted'); s.close(r.fd); }, (e) => outcomes.push(e.code));
      ${EXHAUST}
      say({ port, hogged: hog.length });
      setTimeout(() => say({ outcomes }), 1500);
    `);
    const next = lines(c);
    const { port, hogged } = (await next()) as { port: number; hogged: number };
    expect(hogged).toBeGreaterThan(10);
    connectClients(port, 3);
    await sleep(300);
    const cpu0 = cpuSeconds(c.pid!);
    await sleep(1000);
    const cpu = cpuSeconds(c.pid!) - cpu0;
    const { outcomes } = (await next()) as { outcomes: string[] };
    expect(outcomes).toEqual(['EMFILE']);
    expect(cpu, 'CPU seconds the child used in 1 s with connections it cannot accept').toBeLessThan(0.3);
  });

  it('a server loop that retries accept after EMFILE does not spin (< 0.3 s CPU in 1 s): connections that cannot be accepted are shed, as libuv does', async () => {
    // The usual server loop: log the error and accept again. With libuv's reserve-fd trick the
    // connection that could not be accepted is taken off the queue (and closed), so the next accept
    // waits; without it the listener stays readable and every accept fails at once, forever.
    const c = limited(64, `
      ${LISTENER}
      (async () => {
        for (;;) {
          try { const r = await p.accept(l); outcomes.push('accepted'); s.close(r.fd); }
          catch (e) { if (outcomes.length < 1000) outcomes.push(e.code); }
        }
      })();
      ${EXHAUST}
      say({ port, hogged: hog.length });
      setTimeout(() => say({ outcomes: outcomes.slice(0, 5), count: outcomes.length }), 2000);
    `);
    const next = lines(c);
    const { port } = (await next()) as { port: number };
    connectClients(port, 3);
    await sleep(300);
    const cpu0 = cpuSeconds(c.pid!);
    await sleep(1000);
    const cpu = cpuSeconds(c.pid!) - cpu0;
    expect(cpu, `CPU seconds the child used in 1 s, retrying accept under EMFILE (its timers ${cpu > 0.9 ? 'were starved' : 'ran'})`).toBeLessThan(0.3);
    const report = (await next()) as { outcomes: string[]; count: number };
    expect(report.outcomes[0]).toBe('EMFILE');
  });
});

// ---------------------------------------------------------------------------------------------

describe('fds above 1024', () => {
  // Fill the fd table with /dev/null up to fd 1100, so that every socket made afterwards is above 1024.
  const HIGH = `
    const fs = require('node:fs');
    const filler = [];
    for (let fd = -1; fd < 1100; ) { fd = fs.openSync('/dev/null', 'r'); filler.push(fd); }
    const listener = () => {
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      s.listen(l, 16);
      return [l, s.getsockname(l)];
    };
  `;

  it('socket, socketpair and accept return fds above 1024, and sync poll reports their events', async () => {
    const c = limited(2048, `
      ${HIGH}
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
      const [l, addr] = listener();
      const cl = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.connect(cl, addr);
      const ac = s.accept(l).fd;
      s.write(b, Buffer.from('x'));
      s.write(cl, Buffer.from('y'));
      const polled = s.poll([{ fd: a, events: s.POLLIN }, { fd: ac, events: s.POLLIN }, { fd: l, events: s.POLLIN }], 2000);
      say({ fds: [a, b, l, cl, ac], polled, POLLIN: s.POLLIN });
      for (const fd of [a, b, l, cl, ac]) s.close(fd);
    `);
    const r = (await lines(c)()) as { fds: number[]; polled: { fd: number; revents: number }[]; POLLIN: number };
    for (const fd of r.fds) expect(fd).toBeGreaterThan(1024);
    const [a, , l, , ac] = r.fds;
    expect(r.polled).toEqual([
      { fd: a, revents: r.POLLIN },
      { fd: ac, revents: r.POLLIN },
      { fd: l, revents: 0 },
    ]);
  });

  it('sockfd/promises connect, accept, send and recv work on fds above 1024', async () => {
    const c = limited(2048, `
      ${HIGH}
      const [l, addr] = listener();
      const cl = s.socket(s.AF_INET, s.SOCK_STREAM);
      const T = { timeout: 5000 };
      const accepted = p.accept(l, T);
      await p.connect(cl, addr, T);
      const ac = (await accepted).fd;
      const buf = Buffer.alloc(16);
      const pending = p.recv(ac, buf, T); // waits: nothing sent yet
      setTimeout(() => p.send(cl, Buffer.from('over 1024'), T), 20);
      const n = await pending;
      say({ fds: [l, cl, ac], text: buf.toString('latin1', 0, n) });
      for (const fd of [l, cl, ac]) s.close(fd);
    `);
    const r = (await lines(c)()) as { fds: number[]; text: string };
    for (const fd of r.fds) expect(fd).toBeGreaterThan(1024);
    expect(r.text).toBe('over 1024');
  });

  it('watch reports readiness on an fd above 1024', async () => {
    const c = limited(2048, `
      ${HIGH}
      const u = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.bind(u, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      const to = s.getsockname(u);
      const tx = s.socket(s.AF_INET, s.SOCK_DGRAM);
      const got = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no event in 5 s')), 5000);
        const w = s.watch(u, s.POLLIN, (err, revents) => {
          if (err) return reject(err);
          const buf = Buffer.alloc(16);
          const n = s.recv(u, buf, undefined, s.MSG_DONTWAIT);
          w.close();
          clearTimeout(timer);
          resolve({ revents, text: buf.toString('latin1', 0, n) });
        });
        setTimeout(() => s.sendto(tx, Buffer.from('high'), undefined, 0, to), 20);
      });
      say({ fds: [u, tx], got, POLLIN: s.POLLIN });
      s.close(u);
      s.close(tx);
    `);
    const r = (await lines(c)()) as { fds: number[]; got: { revents: number; text: string }; POLLIN: number };
    for (const fd of r.fds) expect(fd).toBeGreaterThan(1024);
    expect(r.got).toEqual({ revents: r.POLLIN, text: 'high' });
  });
});

// ---------------------------------------------------------------------------------------------
// Floods: a child sends datagrams to a socket of this process as fast as it can for 1.5 s; meanwhile
// a 10 ms interval timer here must keep firing (at least 50 times in 1 s), and the datagrams must
// really be arriving.

async function flood(port: number): Promise<ChildProcess> {
  const c = spawn(
    process.execPath,
    [
      '-e',
      `
      const s = require(${JSON.stringify(DIST_INDEX)});
      const u = s.socket(s.AF_INET, s.SOCK_DGRAM);
      const to = { family: s.AF_INET, address: '127.0.0.1', port: ${port} };
      const b = Buffer.alloc(32, 0x66);
      process.stdout.write('flooding\\n');
      const end = Date.now() + 1500;
      while (Date.now() < end) for (let i = 0; i < 100; i++) { try { s.sendto(u, b, undefined, 0, to); } catch {} }
      `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(c);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the flood did not start')), 5000);
    c.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return c;
}

/** Ticks of a 10 ms interval during 1 s, starting 100 ms from now. */
async function ticksPerSecond(): Promise<number> {
  await sleep(100);
  let ticks = 0;
  const t = setInterval(() => ticks++, 10);
  await sleep(1000);
  clearInterval(t);
  return ticks;
}

function udpReceiver(): { fd: number; port: number } {
  const fd = socket(AF_INET, SOCK_DGRAM);
  owned.add(fd);
  bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

describe('a flood of datagrams', () => {
  it('a sockfd/promises recv loop on the flooded socket does not starve a 10 ms timer', async () => {
    const u = udpReceiver();
    let received = 0;
    let stop = false;
    const loop = (async () => {
      const buf = Buffer.alloc(64);
      while (!stop) {
        await p.recv(u.fd, buf);
        received++;
      }
    })().catch((err: { code?: string }) => {
      if (err.code !== 'ERR_SOCKET_CLOSED') throw err;
    });
    await flood(u.port);
    const r0 = received;
    const ticks = await ticksPerSecond();
    const during = received - r0;
    stop = true;
    close(u.fd);
    owned.delete(u.fd);
    await loop;
    expect(during, 'datagrams received during the measured second').toBeGreaterThan(1000);
    expect(ticks, `timer ticks in 1 s while ${during} datagrams were received`).toBeGreaterThanOrEqual(50);
  });

  it('256 concurrent sockfd/promises recv loops on the flooded socket do not starve a 10 ms timer', async () => {
    const u = udpReceiver();
    let received = 0;
    let stop = false;
    const loops = Array.from({ length: 256 }, async () => {
      const buf = Buffer.alloc(64);
      try {
        while (!stop) {
          await p.recv(u.fd, buf);
          received++;
        }
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_SOCKET_CLOSED') throw err;
      }
    });
    await flood(u.port);
    const r0 = received;
    const ticks = await ticksPerSecond();
    const during = received - r0;
    stop = true;
    close(u.fd);
    owned.delete(u.fd);
    await Promise.all(loops);
    expect(during).toBeGreaterThan(1000);
    expect(ticks, `timer ticks in 1 s while ${during} datagrams were received`).toBeGreaterThanOrEqual(50);
  });

  it('a watch callback that drains the flooded socket to EAGAIN does not starve a 10 ms timer', async () => {
    const u = udpReceiver();
    let received = 0;
    const buf = Buffer.alloc(64);
    const w = watch(u.fd, POLLIN, (err) => {
      if (err) throw err;
      for (;;) {
        try {
          recv(u.fd, buf, undefined, MSG_DONTWAIT);
          received++;
        } catch (e) {
          if ((e as { code?: string }).code === 'EAGAIN') break;
          throw e;
        }
      }
    });
    try {
      await flood(u.port);
      const r0 = received;
      const ticks = await ticksPerSecond();
      const during = received - r0;
      expect(during).toBeGreaterThan(1000);
      expect(ticks, `timer ticks in 1 s while ${during} datagrams were received`).toBeGreaterThanOrEqual(50);
    } finally {
      w.close();
    }
  });
});
