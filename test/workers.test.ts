// sockfd in worker_threads: the context-aware addon loads in several workers at once, and a worker
// terminated with busy sockets (pending sockfd/promises calls, watch subscriptions, datagrams
// arriving) goes away without taking the process down: its environment's cleanup hook closes its
// poll watchers (were one left open, Node would abort in uv_loop_close when the worker ends).
//
// fds are per process: terminating a worker does not close the sockets it opened (that is the
// caller's job). So the workers post their fd numbers, and the main thread checks them and closes
// them after the worker is gone.
//
// Workers load the compiled package (dist/, built by `node scripts/build-ts.mjs`); the main thread
// uses src/ through vitest. Both load the same native addon file. Every wait is bounded.
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_STREAM,
  close,
  getsockname,
  sendto,
  socket,
  socketpair,
  type SockAddrIn,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { within } from './helpers/async.js';
import { DIST_INDEX, DIST_PROMISES, message } from './helpers/workers.js';
import { checkFdLeaks, fdTarget } from './helpers/fds.js';

checkFdLeaks();

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 5000;
const T = { timeout: WAIT_MS };

// ---------------------------------------------------------------------------------------------
// Resources; afterEach releases what a test did not.

const owned = new Set<number>();
const workers = new Set<Worker>();
const timers = new Set<NodeJS.Timeout>();

function own(fd: number): number {
  owned.add(fd);
  return fd;
}
function closeFd(fd: number): void {
  owned.delete(fd);
  close(fd);
}

afterEach(async () => {
  for (const t of timers) clearInterval(t);
  timers.clear();
  await Promise.all([...workers].map((w) => w.terminate().catch(() => undefined)));
  workers.clear();
  for (const fd of owned) {
    try {
      close(fd);
    } catch {
      // already gone
    }
  }
  owned.clear();
});


/** A worker running `body` (CommonJS, with `s` = sockfd and `p` = sockfd/promises in scope). */
function spawn(body: string, workerData?: unknown): Worker {
  const code = `
    'use strict';
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const s = require(${JSON.stringify(DIST_INDEX)});
    const p = require(${JSON.stringify(DIST_PROMISES)});
    const report = (err) => parentPort.postMessage({ error: String((err && err.stack) || err) });
    (async () => { ${body} })().catch(report);
  `;
  const w = new Worker(code, { eval: true, workerData });
  workers.add(w);
  return w;
}


/** Terminates `w` (bounded) and returns its exit code. */
async function terminate(w: Worker): Promise<number> {
  const code = await within(w.terminate(), 'worker.terminate()');
  workers.delete(w);
  return code;
}

/** Waits for `w` to exit by itself (bounded) and returns its exit code. */
async function exited(w: Worker): Promise<number> {
  const code = await within(
    new Promise<number>((resolve, reject) => {
      w.once('exit', resolve);
      w.once('error', reject);
    }),
    'worker exit',
  );
  workers.delete(w);
  return code;
}

/** fd numbers open in this process (from /proc/self/fd). */
function fdSet(): Set<number> {
  return new Set(readdirSync('/proc/self/fd').map(Number));
}

/** A quick proof that sockfd still works on the main thread: a socketpair round trip through sockfd/promises. */
async function mainRoundTrip(text: string): Promise<string> {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  own(a);
  own(b);
  try {
    await p.send(a, Buffer.from(text), T);
    const buf = Buffer.alloc(256);
    const n = await p.recv(b, buf, T);
    return buf.toString('latin1', 0, n);
  } finally {
    closeFd(a);
    closeFd(b);
  }
}

// The worker held by the terminate tests: a listening TCP socket with a sockfd/promises accept
// pending on it, and a bound UDP socket drained by a `watch` callback. It posts `ready` with its fds
// and ports, then `busy` once it has received 10 datagrams.
const BUSY_WORKER = `
  const l = s.socket(s.AF_INET, s.SOCK_STREAM);
  s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
  s.listen(l, 16);
  p.accept(l).then(
    (r) => parentPort.postMessage({ error: 'the pending accept completed with fd ' + r.fd }),
    () => {},
  );
  const u = s.socket(s.AF_INET, s.SOCK_DGRAM);
  s.bind(u, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
  const buf = Buffer.alloc(2048);
  let received = 0;
  let announced = false;
  s.watch(u, s.POLLIN, (err) => {
    if (err) return report(err);
    for (;;) {
      try {
        s.recv(u, buf, undefined, s.MSG_DONTWAIT);
        received++;
      } catch (e) {
        if (e.code === 'EAGAIN') break;
        throw e;
      }
    }
    if (!announced && received >= 10) {
      announced = true;
      parentPort.postMessage({ busy: received });
    }
  });
  parentPort.postMessage({
    ready: true,
    fds: [l, u],
    targets: [l, u].map((fd) => fs.readlinkSync('/proc/self/fd/' + fd)),
    listenPort: s.getsockname(l).port,
    udpPort: s.getsockname(u).port,
  });
`;

interface Ready {
  ready: true;
  fds: [number, number];
  targets: [string, string];
  listenPort: number;
  udpPort: number;
}

/** Sends a stream of datagrams to `port` from the main thread until stopped. */
function pump(port: number): () => void {
  const tx = own(socket(AF_INET, SOCK_DGRAM));
  const dst: SockAddrIn = { family: AF_INET, address: LOOPBACK, port };
  const payload = Buffer.alloc(200, 0x61);
  const timer = setInterval(() => {
    for (let i = 0; i < 20; i++) {
      try {
        sendto(tx, payload, undefined, MSG_DONTWAIT, dst);
      } catch {
        break; // EAGAIN (the receiver is behind) or ECONNREFUSED: try again next tick
      }
    }
  }, 1);
  timers.add(timer);
  return () => {
    clearInterval(timer);
    timers.delete(timer);
    closeFd(tx);
  };
}

/** Runs one busy worker, terminates it while datagrams stream in, and returns what it had open. */
async function terminateBusyWorker(): Promise<{ ready: Ready; code: number }> {
  const w = spawn(BUSY_WORKER);
  const ready = await message<Ready>(w, 'ready', 'the worker to set up');
  const stop = pump(ready.udpPort);
  try {
    await message(w, 'busy', 'the worker to receive datagrams');
    const code = await terminate(w);
    return { ready, code };
  } finally {
    stop();
  }
}

// ---------------------------------------------------------------------------------------------

describe('sockfd in worker_threads', () => {
  it('loads in 4 workers at once; each round-trips data on its own socketpair with real, distinct fds', async () => {
    const body = `
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
      const text = 'hello from worker ' + workerData.id;
      const sent = await p.send(a, Buffer.from(text), { timeout: 5000 });
      const buf = Buffer.alloc(64);
      const n = await p.recv(b, buf, { timeout: 5000 });
      parentPort.postMessage({
        fds: [a, b],
        targets: [a, b].map((fd) => fs.readlinkSync('/proc/self/fd/' + fd)),
        sent,
        echoed: buf.toString('latin1', 0, n),
      });
      parentPort.once('message', () => {
        s.close(a);
        s.close(b);
      });
    `;
    interface Report {
      fds: [number, number];
      targets: [string, string];
      sent: number;
      echoed: string;
    }
    const ws = [0, 1, 2, 3].map((id) => spawn(body, { id }));
    const reports = await Promise.all(ws.map((w, id) => message<Report>(w, 'fds', `worker ${id}'s report`)));

    reports.forEach((r, id) => {
      expect(r.echoed).toBe(`hello from worker ${id}`);
      expect(r.sent).toBe(r.echoed.length);
      r.fds.forEach((fd, i) => {
        expect(r.targets[i]).toMatch(/^socket:\[\d+\]$/);
        // The worker's fd is this process's fd: the main thread sees the same socket under that number.
        expect(fdTarget(fd), `worker ${id} fd ${fd}`).toBe(r.targets[i]);
      });
    });
    const all = reports.flatMap((r) => r.fds);
    expect(new Set(all).size).toBe(8);
    expect(new Set(reports.flatMap((r) => r.targets)).size).toBe(8);

    // Let them close their sockets and end by themselves.
    const exits = ws.map((w) => exited(w));
    for (const w of ws) w.postMessage('close');
    expect(await Promise.all(exits)).toEqual([0, 0, 0, 0]);
    reports.forEach((r) => r.fds.forEach((fd, i) => expect(fdTarget(fd)).not.toBe(r.targets[i])));
  });

  it('terminating a worker with a pending accept and a watch leaves the process running, the fds open, and sockfd usable', async () => {
    const { ready, code } = await terminateBusyWorker();
    expect(code).toBe(1); // worker.terminate()'s exit code
    const [l, u] = ready.fds;
    own(l);
    own(u);
    // Termination does not close the worker's sockets: they are the process's.
    expect(fdTarget(l)).toBe(ready.targets[0]);
    expect(fdTarget(u)).toBe(ready.targets[1]);

    // The listener still works, now from the main thread: a connection lands in its backlog and a
    // main-thread sockfd/promises accept takes it (nobody in the dead worker steals it).
    const c = own(socket(AF_INET, SOCK_STREAM));
    const accepted = p.accept(l, T);
    await p.connect(c, { family: AF_INET, address: LOOPBACK, port: ready.listenPort }, T);
    const a = own((await accepted).fd);
    expect((getsockname(a) as SockAddrIn).port).toBe(ready.listenPort);

    expect(await mainRoundTrip('still alive')).toBe('still alive');
    for (const fd of [a, c, l, u]) closeFd(fd);
  });

  it('10 terminations of busy workers do not grow the process fd count once their sockets are closed', async () => {
    const before = fdSet();
    const extra: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { ready, code } = await terminateBusyWorker();
      expect(code).toBe(1);
      ready.fds.forEach((fd, k) => {
        own(fd);
        expect(fdTarget(fd), `iteration ${i}: worker fd ${fd}`).toBe(ready.targets[k]);
      });
      for (const fd of ready.fds) closeFd(fd);
      extra.push([...fdSet()].filter((fd) => !before.has(fd)).length);
    }
    // Each worker's event loop (epoll fd, eventfd, ...) is gone with it; what stays is at most a
    // small constant of things Node opens once.
    expect(Math.max(...extra), `fds beyond the baseline, per iteration: ${extra.join(' ')}`).toBeLessThanOrEqual(3);
    expect(extra[9]!, `per iteration: ${extra.join(' ')}`).toBeLessThanOrEqual(extra[0]!);
    expect(await mainRoundTrip('after 10 terminations')).toBe('after 10 terminations');
  });

  it('a worker that exits by itself (process.exit) with a pending accept and a ref\'d watch ends cleanly', async () => {
    const w = spawn(`
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      s.listen(l, 16);
      p.accept(l).catch(() => {});
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
      s.watch(a, s.POLLIN, () => {});
      parentPort.postMessage({ fds: [l, a, b] });
      setTimeout(() => process.exit(7), 20);
    `);
    const exit = exited(w);
    const { fds } = await message<{ fds: number[] }>(w, 'fds', 'the worker to set up');
    fds.forEach((fd) => own(fd));
    expect(await exit).toBe(7);
    for (const fd of fds) {
      expect(fdTarget(fd), `fd ${fd} after the worker exited`).toMatch(/^socket:/);
      closeFd(fd);
    }
    expect(await mainRoundTrip('after exit')).toBe('after exit');
  });
});
