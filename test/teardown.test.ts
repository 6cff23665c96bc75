// Workers and teardown: worker_threads created and terminated in a loop while their sockets are busy
// — a sockfd/promises recvfrom loop on a UDP socket the main thread keeps sending datagrams to, a
// watch on a socketpair end the main thread keeps writing to, a pending sockfd/promises accept — must
// not abort the process, leak, or call back into a dead environment (the addon's async cleanup hook
// closes a worker's poll watchers with its loop). The traffic goes on for a while after each
// terminate, at the sockets the dead worker was watching, so a watcher left behind would fire into a
// freed environment (an abort, or an ASan report under `npm run test:asan`).
//
// fds belong to the process, not the worker: terminate does not close them. Each worker posts its fds
// (with what /proc/self/fd says they are); the main thread checks them and closes them once the worker
// is gone, and then has exactly the sockets it had before (the check checkFdLeaks makes for a file).
//
// Each scenario runs in a child node process (loading the compiled package, dist/), whose main thread
// plays the part of the application: a native abort takes a whole process down, and in a child it is
// reported as this test's failure, with the child's stderr, instead of killing the test runner's
// worker and every other test of the file with it. Every wait is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const DIST_INDEX = path.join(root, 'dist/cjs/index.js');
const DIST_PROMISES = path.join(root, 'dist/cjs/promises.js');

const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([...children].map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  children.clear();
});

// The busy worker. It posts `ready` with its fds as soon as they exist, then `busy` once its
// recvfrom loop has had 5 datagrams and its watch has fired.
const BUSY_WORKER = `
  'use strict';
  const { parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  const s = require(${JSON.stringify(DIST_INDEX)});
  const p = require(${JSON.stringify(DIST_PROMISES)});
  const report = (err) => parentPort.postMessage({ error: String((err && err.stack) || err) });
  const u = s.socket(s.AF_INET, s.SOCK_DGRAM);
  s.bind(u, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
  const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
  const l = s.socket(s.AF_INET, s.SOCK_STREAM);
  s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
  s.listen(l, 16);
  const fds = [u, a, b, l];
  parentPort.postMessage({ ready: true, fds, targets: fds.map((fd) => fs.readlinkSync('/proc/self/fd/' + fd)), udpPort: s.getsockname(u).port });
  let datagrams = 0;
  let watched = 0;
  let announced = false;
  const announce = () => {
    if (!announced && datagrams >= 5 && watched >= 1) {
      announced = true;
      parentPort.postMessage({ busy: true });
    }
  };
  (async () => {
    const buf = Buffer.alloc(2048);
    for (;;) {
      await p.recvfrom(u, buf);
      datagrams++;
      announce();
    }
  })().catch(report);
  const drain = Buffer.alloc(4096);
  s.watch(a, s.POLLIN, (err) => {
    if (err) return report(err);
    try { while (s.recv(a, drain, undefined, s.MSG_DONTWAIT) > 0); } catch (e) { if (e.code !== 'EAGAIN') report(e); }
    watched++;
    announce();
  });
  p.accept(l).then((r) => report(new Error('the pending accept completed with fd ' + r.fd)), report);
`;

// The child's main thread: helpers shared by the scenarios. `say` prints one JSON line per event.
const MAIN_PROLOGUE = `
  'use strict';
  const { Worker } = require('node:worker_threads');
  const fs = require('node:fs');
  const s = require(${JSON.stringify(DIST_INDEX)});
  const p = require(${JSON.stringify(DIST_PROMISES)});
  const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const within = (promise, what, ms = 10000) => Promise.race([promise, sleep(ms).then(() => { throw new Error('timed out waiting for ' + what); })]);
  const sockets = () => new Set(fs.readdirSync('/proc/self/fd').filter((fd) => {
    try { return fs.readlinkSync('/proc/self/fd/' + fd).startsWith('socket:'); } catch { return false; }
  }).map(Number));
  const target = (fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch { return undefined; } };
  const BUSY = ${JSON.stringify(BUSY_WORKER)};
  const message = (w, key) => within(new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (typeof m.error === 'string') { cleanup(); reject(new Error('worker reported: ' + m.error)); }
      else if (key in m) { cleanup(); resolve(m); }
    };
    const onError = (e) => { cleanup(); reject(e); };
    const onExit = (code) => { cleanup(); reject(new Error('worker exited (' + code + ') before ' + key)); };
    const cleanup = () => { w.off('message', onMessage); w.off('error', onError); w.off('exit', onExit); };
    w.on('message', onMessage); w.on('error', onError); w.on('exit', onExit);
  }), 'worker message ' + key);
  // Datagrams to the worker's UDP socket and bytes into its socketpair end b, every millisecond.
  const keepBusy = (ready) => {
    const tx = s.socket(s.AF_INET, s.SOCK_DGRAM);
    const dst = { family: s.AF_INET, address: '127.0.0.1', port: ready.udpPort };
    const payload = Buffer.alloc(200, 0x61);
    const t = setInterval(() => {
      for (let i = 0; i < 50; i++) { try { s.sendto(tx, payload, undefined, s.MSG_DONTWAIT, dst); } catch { break; } }
      try { s.send(ready.fds[2], payload, undefined, s.MSG_DONTWAIT); } catch {}
    }, 1);
    return () => { clearInterval(t); s.close(tx); };
  };
  // The worker's fds are still its sockets after it is gone; then they are closed here.
  const reclaim = (ready, who) => ready.fds.forEach((fd, k) => {
    const now = target(fd);
    if (now !== ready.targets[k]) throw new Error(who + ': fd ' + fd + ' is ' + now + ', not the worker\\'s ' + ready.targets[k]);
    s.close(fd);
  });
  // sockfd still works on this thread: a promises round trip and a watch.
  const stillWorks = async () => {
    const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
    await p.send(a, Buffer.from('alive'), { timeout: 5000 });
    const buf = Buffer.alloc(16);
    const n = await p.recv(b, buf, { timeout: 5000 });
    s.close(a); s.close(b);
    const u = s.socket(s.AF_INET, s.SOCK_DGRAM);
    s.bind(u, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
    const tx = s.socket(s.AF_INET, s.SOCK_DGRAM);
    const watched = await within(new Promise((resolve) => {
      const w = s.watch(u, s.POLLIN, () => { const m = Buffer.alloc(16); const k = s.recv(u, m, undefined, s.MSG_DONTWAIT); w.close(); resolve(m.toString('latin1', 0, k)); });
      s.sendto(tx, Buffer.from('watched'), undefined, 0, s.getsockname(u));
    }), 'a watch');
    s.close(u); s.close(tx);
    return buf.toString('latin1', 0, n) + ' ' + watched;
  };
`;

interface Outcome {
  code: number | null;
  signal: string | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

/** Runs `body` (after MAIN_PROLOGUE) in a child node process; resolves with how it ended and what it said. */
async function runChild(body: string, ms = 50_000): Promise<Outcome> {
  const script = `${MAIN_PROLOGUE}\n(async () => { ${body} })().then(() => process.exit(0), (e) => { console.error(e && e.stack || e); process.exit(2); });`;
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => c.kill('SIGKILL'), ms);
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => c.once('exit', (code, sig) => r([code, sig])));
  clearTimeout(timer);
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, signal, lines, stderr };
}

/** Fails unless the child ended normally; names its last report and shows its stderr. */
function expectSurvived(r: Outcome): void {
  const last = r.lines.length > 0 ? JSON.stringify(r.lines[r.lines.length - 1]) : 'nothing';
  expect({ code: r.code, signal: r.signal }, `the child ended abnormally; its last report was ${last}; stderr:\n${r.stderr}`).toEqual({
    code: 0,
    signal: null,
  });
}

// ---------------------------------------------------------------------------------------------

describe('busy workers terminated in a loop', () => {
  it('30 workers, one after another, terminated while their sockets are busy: no abort, no leak, sockfd still works after', async () => {
    const r = await runChild(`
      const before = sockets();
      for (let i = 0; i < 30; i++) {
        const w = new Worker(BUSY, { eval: true });
        const ready = await message(w, 'ready');
        const stop = keepBusy(ready);
        await message(w, 'busy');
        await sleep((i * 7) % 11);
        const code = await within(w.terminate(), 'terminate');
        await sleep(20); // traffic goes on at the sockets the dead worker watched
        stop();
        reclaim(ready, 'worker ' + i);
        const extra = [...sockets()].filter((fd) => !before.has(fd));
        say({ terminated: i, code, extra });
      }
      say({ after: await stillWorks() });
    `);
    expectSurvived(r);
    const terminated = r.lines.filter((l) => 'terminated' in l);
    expect(terminated).toHaveLength(30);
    for (const l of terminated) expect(l, `worker ${String(l.terminated)}`).toMatchObject({ code: 1, extra: [] });
    expect(r.lines[r.lines.length - 1]).toEqual({ after: 'alive watched' });
  }, 60_000);

  it('20 busy workers alive at once, terminated together: no abort, no leak, sockfd still works after', async () => {
    const r = await runChild(`
      const before = sockets();
      for (let round = 0; round < 2; round++) {
        const ws = Array.from({ length: 20 }, () => new Worker(BUSY, { eval: true }));
        const readies = await Promise.all(ws.map((w) => message(w, 'ready')));
        const stops = readies.map(keepBusy);
        await Promise.all(ws.map((w) => message(w, 'busy')));
        const codes = await within(Promise.all(ws.map((w) => w.terminate())), 'terminate');
        await sleep(20);
        stops.forEach((stop) => stop());
        readies.forEach((ready, i) => reclaim(ready, 'round ' + round + ' worker ' + i));
        say({ round, codes, extra: [...sockets()].filter((fd) => !before.has(fd)) });
      }
      say({ after: await stillWorks() });
    `);
    expectSurvived(r);
    const rounds = r.lines.filter((l) => 'round' in l);
    expect(rounds).toHaveLength(2);
    for (const l of rounds) expect(l).toMatchObject({ codes: new Array(20).fill(1), extra: [] });
    expect(r.lines[r.lines.length - 1]).toEqual({ after: 'alive watched' });
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// Terminating a worker at any moment: worker.terminate() stops a worker's JS wherever it is, and
// from then on its environment refuses to run JS, so a native call still running at that moment
// cannot throw into it (or create objects for it). These two make that moment likely: the worker
// spends its time in exactly such calls.

/** 20 workers running `workerBody`, each terminated 30 ms after it starts. */
function terminateLoop(workerBody: string): Promise<Outcome> {
  const worker = `
    const s = require(${JSON.stringify(DIST_INDEX)});
    const p = require(${JSON.stringify(DIST_PROMISES)});
    require('node:worker_threads').parentPort.postMessage({ started: true });
    ${workerBody}
  `;
  return runChild(`
    const body = ${JSON.stringify(worker)};
    for (let i = 0; i < 20; i++) {
      const w = new Worker(body, { eval: true });
      await message(w, 'started');
      await sleep(30);
      const code = await within(w.terminate(), 'terminate');
      say({ terminated: i, code });
    }
  `);
}

describe('terminating a worker at any moment', () => {
  it('a worker terminated while it keeps starting sockfd/promises waits on new sockets (a watcher each) does not abort the process', async () => {
    const r = await terminateLoop(`
      const buf = Buffer.alloc(16);
      (async () => {
        for (;;) {
          const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
          const pending = p.recv(a, buf); // nothing to read: creates a's watcher and waits
          s.close(a);
          s.close(b);
          await pending.catch(() => {});
        }
      })();
    `);
    expectSurvived(r);
    expect(r.lines.filter((l) => 'terminated' in l)).toHaveLength(20);
  }, 40_000);

  it('a worker terminated while a sockfd call throws an argument error does not abort the process', async () => {
    const r = await terminateLoop(`
      for (;;) { try { s.close('not an fd'); } catch {} }
    `);
    expectSurvived(r);
    expect(r.lines.filter((l) => 'terminated' in l)).toHaveLength(20);
  }, 40_000);
});
