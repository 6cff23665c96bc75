// Guarantee: "EMFILE is a clean SystemError; a listening socket waited on by sockfd/promises under
// EMFILE does not spin" (issue 12, item 2, as a class). Each case runs in its own child node process
// whose RLIMIT_NOFILE is 64 (`prlimit --nofile=64:64`, or `ulimit -n 64` where util-linux's prlimit is
// missing), which opens the sockets it needs, then fills its fd table with /dev/null until EMFILE and
// makes the calls: each must reject with EMFILE or complete, the caller must be told EMFILE, the
// process must not spin (CPU time over about 1 s of waiting, from process.cpuUsage, under 150 ms),
// a client must not be left hanging on a connection nobody can accept, and every fd must be
// accounted for once the filler fds are closed. The cases: accept with a connection queued and with
// none, with the spare fd (a watcher existed before exhaustion) and without it (exhausted before any
// watcher existed); the spare re-opened after shedding; connect, read, write, send, recv, sendto,
// recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg and recvmmsgInto on their waiting paths; recvmsg of
// SCM_RIGHTS that cannot be installed (sync and promises); the sync calls that create fds.
// Children load the compiled package (dist/, `npm run build:ts`) and are killed after 20 s.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;
const NOFILE = 64;

const PRELUDE = `
'use strict';
const s = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
const p = require(${JSON.stringify(path.join(root, 'dist/cjs/promises.js'))});
const fs = require('node:fs');
const out = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const LO = { family: s.AF_INET, address: '127.0.0.1', port: 0 };
const fillers = [];
// What the fd table holds, by kind (readdir needs an fd: only call it while not exhausted).
const table = () => { const t = { sockets: 0, devnull: 0 }; for (const n of fs.readdirSync('/proc/self/fd')) { try { const l = fs.readlinkSync('/proc/self/fd/' + n); if (l.startsWith('socket:')) t.sockets++; else if (l === '/dev/null') t.devnull++; } catch {} } return t; };
function exhaust() { for (let i = 0; i < 4096; i++) { try { fillers.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code === 'EMFILE') return; throw e; } } throw new Error('never EMFILE'); }
function refill() { exhaust(); }
function release() { for (const fd of fillers.splice(0)) fs.closeSync(fd); }
function listener() { const l = s.socket(s.AF_INET, s.SOCK_STREAM); s.bind(l, LO); s.listen(l, 16); return l; }
const settle = (promise) => promise.then((v) => ({ ok: true, v }), (e) => ({ code: e.code, syscall: e.syscall, message: String(e.message) }));
// Waits up to ms for the promise; the CPU this process used meanwhile, and whether it settled.
async function watchCpu(promise, ms = 1000) {
  const c0 = process.cpuUsage();
  let done = false; const result = settle(promise).then((r) => { done = true; return r; });
  await Promise.race([result, sleep(ms)]);
  const c = process.cpuUsage(c0);
  return { settled: done, cpuMs: Math.round((c.user + c.system) / 1000), result: done ? await result : undefined, pending: result };
}
// A client's fate: closed by the server (EOF or reset), or still connected.
function clientState(fd) {
  const [r] = s.poll([{ fd, events: s.POLLIN | s.POLLRDHUP }], 2000);
  if (r.revents === 0) return 'hanging';
  try { return s.recv(fd, Buffer.alloc(1), undefined, s.MSG_DONTWAIT) === 0 ? 'closed' : 'data'; } catch (e) { return e.code === 'ECONNRESET' ? 'closed' : e.code; }
}
const start = table();
function withSpare() { const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM); s.watch(a, s.POLLIN, () => {}).close(); return [a, b]; }
`;

const CASES: Record<string, string> = {
  'accept, connection queued, spare fd': `
    const keep = withSpare();
    const l = listener(); const at = s.getsockname(l);
    const c1 = s.socket(s.AF_INET, s.SOCK_STREAM), c2 = s.socket(s.AF_INET, s.SOCK_STREAM);
    exhaust();
    s.connect(c1, at);
    const t0 = Date.now();
    out.first = await settle(p.accept(l));
    out.firstMs = Date.now() - t0;
    out.client = clientState(c1);
    // Still exhausted, nothing queued: the next accept waits without spinning, until a connection
    // comes (the spare, re-opened after shedding, sheds it too).
    const w = await watchCpu(p.accept(l), 1000);
    out.wait = { settled: w.settled, cpuMs: w.cpuMs };
    s.connect(c2, at);
    out.second = await Promise.race([w.pending, sleep(3000).then(() => 'pending after 3 s')]);
    out.client2 = clientState(c2);
    release();
    [c1, c2, l, ...keep].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
  'accept, nothing queued, spare fd': `
    const keep = withSpare();
    const l = listener(); const c = s.socket(s.AF_INET, s.SOCK_STREAM);
    exhaust();
    const w = await watchCpu(p.accept(l), 1000);
    out.wait = { settled: w.settled, cpuMs: w.cpuMs };
    s.connect(c, s.getsockname(l));
    out.first = await Promise.race([w.pending, sleep(3000).then(() => 'pending after 3 s')]);
    out.client = clientState(c);
    release();
    [c, l, ...keep].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
  'accept, connection queued, exhausted before any watcher (no spare)': `
    const l = listener(); const c = s.socket(s.AF_INET, s.SOCK_STREAM);
    exhaust();
    s.connect(c, s.getsockname(l));
    const w = await watchCpu(p.accept(l), 1000);
    out.first = w.result ?? 'pending after 1 s';
    out.wait = { settled: w.settled, cpuMs: w.cpuMs };
    // The connection stays queued (no fd to shed it with): one fd freed, the next accept takes it.
    fs.closeSync(fillers.pop());
    const r = await Promise.race([settle(p.accept(l)), sleep(3000).then(() => 'pending after 3 s')]);
    out.second = r.ok ? { ok: true, peerPort: r.v.address.port === s.getsockname(c).port } : r;
    if (r.ok) { s.send(r.v.fd, Buffer.from('hi')); out.client = clientState(c); s.close(r.v.fd); }
    release();
    [c, l].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
  'accept, nothing queued, exhausted before any watcher (no spare)': `
    const l = listener(); const c = s.socket(s.AF_INET, s.SOCK_STREAM);
    exhaust();
    const w = await watchCpu(p.accept(l), 1000);
    out.wait = { settled: w.settled, cpuMs: w.cpuMs };
    s.connect(c, s.getsockname(l));
    const t0 = Date.now();
    out.first = await Promise.race([w.pending, sleep(3000).then(() => 'pending after 3 s')]);
    out.firstMs = Date.now() - t0;
    // Told EMFILE, the program frees an fd and accepts again: the client is served.
    fs.closeSync(fillers.pop());
    const r = await Promise.race([settle(p.accept(l, { timeout: 2000 })), sleep(3000).then(() => 'pending after 3 s')]);
    out.second = r.ok ? { ok: true } : r;
    if (r.ok) s.close(r.v.fd);
    release();
    [c, l].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
  'every other promise call on its waiting path': `
    const l = listener(); const c = s.socket(s.AF_INET, s.SOCK_STREAM);
    const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
    const [da, db] = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM);
    const u1 = s.socket(s.AF_INET, s.SOCK_DGRAM), u2 = s.socket(s.AF_INET, s.SOCK_DGRAM);
    s.bind(u1, LO); s.bind(u2, LO);
    const batch = new s.MMsgBatch(4, 16);
    exhaust();
    const later = (f) => setTimeout(f, 20);
    const calls = {
      connect: () => p.connect(c, s.getsockname(l)),
      recv: () => { later(() => s.send(a, Buffer.from('x'))); return p.recv(b, Buffer.alloc(8)); },
      read: () => { later(() => s.send(a, Buffer.from('x'))); return p.read(b, Buffer.alloc(8)); },
      send: () => p.send(a, Buffer.from('y')),
      write: () => p.write(a, Buffer.from('y')),
      recvfrom: () => { later(() => s.sendto(u2, Buffer.from('z'), undefined, 0, s.getsockname(u1))); return p.recvfrom(u1, Buffer.alloc(8)); },
      sendto: () => p.sendto(u2, Buffer.from('z'), undefined, 0, s.getsockname(u1)),
      recvmsg: () => { later(() => s.send(da, Buffer.from('m'))); return p.recvmsg(db, [Buffer.alloc(8)]); },
      sendmsg: () => p.sendmsg(da, [Buffer.from('m')]),
      recvmmsg: () => { later(() => s.send(da, Buffer.from('m'))); return p.recvmmsg(db, [Buffer.alloc(8), Buffer.alloc(8)]); },
      sendmmsg: () => p.sendmmsg(da, [Buffer.from('m')]),
      recvmmsgInto: () => { later(() => s.send(da, Buffer.from('m'))); return p.recvmmsgInto(db, batch); },
    };
    out.calls = {};
    for (const [name, call] of Object.entries(calls)) {
      const r = await Promise.race([settle(call()), sleep(3000).then(() => ({ code: 'pending after 3 s' }))]);
      out.calls[name] = r.ok ? 'ok' : r.code;
      while (true) { try { s.recv(u1, Buffer.alloc(8), undefined, s.MSG_DONTWAIT); } catch { break; } }
    }
    release();
    const acc = s.accept(l);
    [acc.fd, c, l, a, b, da, db, u1, u2].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
  'recvmsg of SCM_RIGHTS that cannot be installed': `
    const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM);
    const passed = [0, 1, 2].map(() => s.socket(s.AF_INET, s.SOCK_DGRAM));
    exhaust();
    const rights = [{ level: s.SOL_SOCKET, type: s.SCM_RIGHTS, fds: passed }];
    s.sendmsg(a, [Buffer.from('sync')], { control: rights });
    const shape = (r) => ({ bytes: r.bytes, ctrunc: (r.flags & s.MSG_CTRUNC) !== 0, fds: r.control.flatMap((m) => m.fds ?? []).length });
    try { out.sync = shape(s.recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 })); } catch (e) { out.sync = e.code; }
    const pending = settle(p.recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }));
    await sleep(20);
    s.sendmsg(a, [Buffer.from('promises')], { control: rights });
    const r = await Promise.race([pending, sleep(3000).then(() => ({ code: 'pending after 3 s' }))]);
    out.promised = r.ok ? shape(r.v) : r.code;
    release();
    [a, b, ...passed].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
  'sync calls that create fds': `
    const l = listener(); const c = s.socket(s.AF_INET, s.SOCK_STREAM);
    s.fcntl(l, s.F_SETFL, s.O_NONBLOCK);
    exhaust();
    s.connect(c, s.getsockname(l));
    const code = (f) => { try { f(); return 'no error'; } catch (e) { return e instanceof s.SystemError ? e.code + ' ' + e.syscall : String(e); } };
    out.sync = { socket: code(() => s.socket(s.AF_INET, s.SOCK_DGRAM)), socketpair: code(() => s.socketpair(s.AF_UNIX, s.SOCK_STREAM)), accept: code(() => s.accept(l)) };
    release();
    const acc = s.accept(l);
    [acc.fd, c, l].forEach((fd) => s.close(fd));
    out.leftover = { start, end: table() };
  `,
};

/** Runs one case in a child at RLIMIT_NOFILE 64; its report. */
async function runCase(body: string): Promise<Record<string, unknown>> {
  const script = `${PRELUDE}\n(async () => { ${body} })().then(() => { process.stdout.write(JSON.stringify(out) + '\\n'); process.exit(0); }, (e) => { process.stdout.write(JSON.stringify({ crashed: String(e && e.stack || e), out }) + '\\n'); process.exit(1); });`;
  const c = hasPrlimit
    ? spawn('prlimit', [`--nofile=${NOFILE}:${NOFILE}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('bash', ['-c', `ulimit -n ${NOFILE} && exec "$0" -e "$1"`, process.execPath, script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => c.kill('SIGKILL'), 20_000);
  const [code, sig] = await new Promise<[number | null, string | null]>((r) => c.once('exit', (n, sg) => r([n, sg])));
  clearTimeout(killer);
  const line = stdout.trim().split('\n').pop();
  if (!line) return { crashed: `exited ${code ?? sig} without a report${sig === 'SIGKILL' ? ' (killed after 20 s: it hung or spun)' : ''}: ${stderr.slice(0, 1500)}` };
  return JSON.parse(line) as Record<string, unknown>;
}

const reports = new Map<string, Record<string, unknown>>();
beforeAll(async () => {
  // The children mostly wait: run them together.
  await Promise.all(Object.entries(CASES).map(async ([name, body]) => reports.set(name, await runCase(body))));
}, 30_000);

function report(name: string): Record<string, any> {
  const r = reports.get(name)!;
  expect(r.crashed, 'the child failed').toBeUndefined();
  return r;
}
const EMFILE = { code: 'EMFILE', syscall: 'accept' };
describe(`sockfd/promises at RLIMIT_NOFILE ${NOFILE}, out of fds`, () => {
  it('accept with a connection queued rejects with EMFILE at once and closes the connection with the spare fd; waiting afterwards does not spin, and the re-opened spare sheds the next one', () => {
    const r = report('accept, connection queued, spare fd');
    expect(r.first).toMatchObject(EMFILE);
    expect(r.firstMs, 'ms until the EMFILE rejection').toBeLessThan(1000);
    expect(r.client, 'the client whose connection could not be accepted').toBe('closed');
    expect(r.wait).toEqual({ settled: false, cpuMs: expect.any(Number) });
    expect(r.wait.cpuMs, 'CPU ms used in 1 s of waiting').toBeLessThan(150);
    expect(r.second).toMatchObject(EMFILE);
    expect(r.client2).toBe('closed');
  });

  it('accept with nothing queued waits without spinning, then rejects with EMFILE when a connection comes, which it closes', () => {
    const r = report('accept, nothing queued, spare fd');
    expect(r.wait.settled, 'settled with nothing queued').toBe(false);
    expect(r.wait.cpuMs, 'CPU ms used in 1 s of waiting').toBeLessThan(150);
    expect(r.first).toMatchObject(EMFILE);
    expect(r.client).toBe('closed');
  });

  it('exhausted before any watcher existed (no spare): accept with a connection queued rejects with EMFILE without spinning, and accepts it once an fd is freed', () => {
    const r = report('accept, connection queued, exhausted before any watcher (no spare)');
    expect(r.first).toMatchObject(EMFILE);
    expect(r.wait.cpuMs, 'CPU ms used meanwhile').toBeLessThan(150);
    expect(r.second).toEqual({ ok: true, peerPort: true });
    expect(r.client, 'the client, once accepted').toBe('data');
  });

  it('exhausted before any watcher existed (no spare): accept with nothing queued waits without spinning, then rejects with EMFILE when a connection comes', () => {
    const r = report('accept, nothing queued, exhausted before any watcher (no spare)');
    expect(r.wait.settled).toBe(false);
    expect(r.wait.cpuMs, 'CPU ms used in 1 s of waiting').toBeLessThan(150);
    expect(r.first).toMatchObject(EMFILE);
    expect(r.firstMs).toBeLessThan(1000);
    expect(r.second).toEqual({ ok: true });
  });

  it('connect, read, write, send, recv, sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg and recvmmsgInto complete: they need no new fd', () => {
    const r = report('every other promise call on its waiting path');
    expect(r.calls).toEqual(Object.fromEntries(Object.keys(r.calls).map((k) => [k, 'ok'])));
    expect(Object.keys(r.calls)).toHaveLength(12);
  });

  it('recvmsg of SCM_RIGHTS that cannot be installed completes with MSG_CTRUNC and no fds (sync and promises)', () => {
    const r = report('recvmsg of SCM_RIGHTS that cannot be installed');
    expect(r.sync).toEqual({ bytes: 4, ctrunc: true, fds: 0 });
    expect(r.promised).toEqual({ bytes: 8, ctrunc: true, fds: 0 });
  });

  it('socket, socketpair and accept throw a SystemError EMFILE naming their syscall', () => {
    const r = report('sync calls that create fds');
    expect(r.sync).toEqual({ socket: 'EMFILE socket', socketpair: 'EMFILE socketpair', accept: 'EMFILE accept' });
  });

  it.each(Object.keys(CASES))('%s: every fd is accounted for afterwards (sockets closed, fillers closed, at most the spare left)', (name) => {
    const r = report(name);
    expect(r.leftover.end.sockets, 'sockets open at the end, besides those open at the start').toBe(r.leftover.start.sockets);
    expect(r.leftover.end.devnull - r.leftover.start.devnull, '/dev/null fds left open besides the spare').toBeLessThanOrEqual(1);
  });
});
