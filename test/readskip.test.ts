// Optimistic reads in sockfd/promises (src/watcher.ts FdState.tryRead/readTried, src/promises.ts
// operate): a read tries its system call at once and waits on the fd's libuv watcher only on
// EAGAIN; after MISS_LIMIT (4) misses in a row on one fd, reads skip that first try and go straight
// to the watcher, except every PROBE_EVERY-th (16th) read, which still tries first (a probe) and
// ends the skipping when it finds data; a read with `{ timeout }` always tries first.
//
// How a test tells the two paths apart without tracing: a read that tries first and finds data
// resolves through `Promise.resolve`, so it has settled after a few microtask turns; a read that
// waits on the watcher can only settle from libuv's poll phase, after the current macrotask. With
// data already queued, "settled within microtasks" therefore means "tried first".
//
// Where the skip counter stands after round trips on a fresh fd (worked out from the code, and used
// below to place reads away from a probe): the first recv on an fd sockfd does not watch yet tries,
// misses and creates the watcher (not counted); round trips 2..5 miss (4 misses); from round trip 6
// on, reads skip, and every 16th of those probes. After ROUND_TRIPS = 12 round trips the next 8 reads
// skip and the 9th probes.
//
// The echo peer is a node:dgram socket on 127.0.0.1 in this process (so a reply is never there before
// the event loop turns: every request/response read misses). The strace test runs a child node
// process on the compiled package (dist/cjs, built by `node scripts/build-ts.mjs`).
//
// Every wait is bounded (`within()`, per-call timeouts, child kill timers); every fd is closed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  FIONREAD,
  POLLIN,
  SOCK_DGRAM,
  bind,
  connect,
  getsockname,
  ioctl,
  poll,
  socket,
  type SockAddrIn,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { within } from './helpers/async.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { waitFor } from './helpers/expect.js';

checkFdLeaks();

const { own, release: closeOwned } = ownFds();

const LOOPBACK = '127.0.0.1';
const root = path.join(__dirname, '..');
const DIST_INDEX = path.join(root, 'dist/cjs/index.js');
const DIST_PROMISES = path.join(root, 'dist/cjs/promises.js');

/** Round trips that put a fresh fd in skip mode with the next probe 9 reads away (see above). */
const ROUND_TRIPS = 12;
/** FdState's PROBE_EVERY: while skipping, one read in this many tries first. */
const PROBE_EVERY = 16;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


// ---------------------------------------------------------------------------------------------
// The echo peer: 'e:<text>' comes back as '<text>'; 'b:<n>:<tag>' makes it send n datagrams
// `payload(tag, i)` back to back, and `burstSent()` resolves once all n have left (their send
// callbacks ran: on loopback the datagram is then in our receive queue).

interface Peer {
  sock: dgram.Socket;
  port: number;
  /** How many burst requests the peer has handled. */
  bursts: number;
  /** Resolves when the burst requested last has been sent in full. */
  sent: Promise<void>;
}

const peers = new Set<dgram.Socket>();

afterEach(async () => {
  for (const s of peers) await within(new Promise<void>((resolve) => s.close(() => resolve())), 'dgram close', 2000);
  peers.clear();
});

function payload(tag: string, i: number): string {
  // Varying lengths, so that a datagram read in the wrong place or truncated shows.
  return `${tag}-${i}-` + 'x'.repeat((i * 7) % 23);
}

async function echoPeer(): Promise<Peer> {
  const sock = dgram.createSocket('udp4');
  peers.add(sock);
  const peer: Peer = { sock, port: 0, bursts: 0, sent: Promise.resolve() };
  sock.on('message', (m, rinfo) => {
    const text = m.toString('latin1');
    if (text.startsWith('e:')) {
      sock.send(m.subarray(2), rinfo.port, rinfo.address);
    } else if (text.startsWith('b:')) {
      const [, n, tag] = text.split(':');
      const all: Promise<void>[] = [];
      for (let i = 0; i < Number(n); i++) {
        all.push(
          new Promise<void>((resolve, reject) =>
            sock.send(Buffer.from(payload(tag!, i), 'latin1'), rinfo.port, rinfo.address, (err) => (err ? reject(err) : resolve())),
          ),
        );
      }
      peer.sent = Promise.all(all).then(() => undefined);
      peer.bursts++;
    }
  });
  await within(new Promise<void>((resolve) => sock.bind(0, LOOPBACK, resolve)), 'dgram bind', 2000);
  peer.port = sock.address().port;
  return peer;
}

/** A UDP socket on 127.0.0.1 connected to `peer`. */
function connectedUdp(peer: Peer): number {
  const fd = own(socket(AF_INET, SOCK_DGRAM));
  bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
  connect(fd, { family: AF_INET, address: LOOPBACK, port: peer.port });
  return fd;
}

/** `n` request/response round trips with p.send + p.recv, checking every reply. */
async function roundTrips(fd: number, n: number, tag = 'rt'): Promise<void> {
  const buf = Buffer.alloc(256);
  for (let i = 0; i < n; i++) {
    const msg = `${tag}-${i}`;
    await within(p.send(fd, Buffer.from('e:' + msg, 'latin1')), 'send', 2000);
    const bytes = await within(p.recv(fd, buf), `recv of round trip ${i}`, 2000);
    expect(buf.toString('latin1', 0, bytes)).toBe(msg);
  }
}

/** Has the peer send `n` datagrams and waits until they are in `fd`'s receive queue. */
async function queueBurst(fd: number, peer: Peer, n: number, tag: string): Promise<void> {
  const before = peer.bursts;
  await within(p.send(fd, Buffer.from(`b:${n}:${tag}`, 'latin1')), 'send', 2000);
  const deadline = Date.now() + 2000;
  while (peer.bursts === before) {
    if (Date.now() > deadline) throw new Error('the peer did not get the burst request within 2 s');
    await sleep(1);
  }
  await within(peer.sent, 'the burst', 2000);
  waitFor(fd, POLLIN);
  expect(ioctl(fd, FIONREAD), 'the first datagram of the burst is queued').toBe(payload(tag, 0).length);
  await sleep(5); // loopback delivery runs in softirq context: let it finish under load
}

/** How many microtask turns a resolved read gets to settle in (it needs one). */
const TURNS = 5;

/**
 * Starts `read`, notes whether it settled within a few microtask turns (it tried its call at once
 * and found data) or not (it waited on the watcher), then awaits it (bounded).
 */
async function timedRead<T>(read: () => Promise<T>, ms = 2000): Promise<{ value: T; immediate: boolean }> {
  let settled = false;
  const pr = read().finally(() => {
    settled = true;
  });
  for (let i = 0; i < TURNS; i++) await Promise.resolve();
  const immediate = settled;
  return { value: await within(pr, 'read', ms), immediate };
}

function nothingQueued(fd: number): boolean {
  const [r] = poll([{ fd, events: POLLIN }], 0);
  return (r!.revents & POLLIN) === 0;
}

// ---------------------------------------------------------------------------------------------

describe('reads in skip mode', () => {
  const readers: Record<string, (fd: number, buf: Buffer) => Promise<number>> = {
    recv: (fd, buf) => p.recv(fd, buf),
    recvfrom: async (fd, buf) => {
      const r = await p.recvfrom(fd, buf);
      expect(r.address).toMatchObject({ family: AF_INET, address: LOOPBACK });
      return r.bytes;
    },
    recvmsg: async (fd, buf) => (await p.recvmsg(fd, [buf])).bytes,
    read: (fd, buf) => p.read(fd, buf),
  };

  for (const [name, reader] of Object.entries(readers)) {
    it(`after ${ROUND_TRIPS} round trips, 50 queued datagrams drained with ${name} all arrive, in order and intact`, async () => {
      const peer = await echoPeer();
      const fd = connectedUdp(peer);
      await roundTrips(fd, ROUND_TRIPS);
      await queueBurst(fd, peer, 50, 'q');
      const buf = Buffer.alloc(256);
      const got: string[] = [];
      const immediate: boolean[] = [];
      for (let i = 0; i < 50; i++) {
        buf.fill(0);
        const r = await timedRead(() => reader(fd, buf));
        got.push(buf.toString('latin1', 0, r.value));
        immediate.push(r.immediate);
      }
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => payload('q', i)));
      // The fd was in skip mode: the first read waited on the watcher although data was queued.
      expect(immediate[0], 'the first read after the round trips skipped its first try').toBe(false);
      // ... and a probe ended skipping within PROBE_EVERY reads: the tail tried first.
      expect(immediate.slice(PROBE_EVERY)).toEqual(Array(50 - PROBE_EVERY).fill(true));
      expect(nothingQueued(fd), 'no datagram left behind').toBe(true);
      closeOwned(fd);
    });
  }

  it('a skipping read with nothing queued waits for the next datagram and gets it', async () => {
    const peer = await echoPeer();
    const fd = connectedUdp(peer);
    await roundTrips(fd, ROUND_TRIPS);
    const buf = Buffer.alloc(64);
    const pending = within(p.recv(fd, buf), 'recv', 2000);
    await sleep(20);
    peer.sock.send('late', (getsockname(fd) as SockAddrIn).port, LOOPBACK);
    const bytes = await pending;
    expect(buf.toString('latin1', 0, bytes)).toBe('late');
    closeOwned(fd);
  });
});

describe('reads with a timeout in skip mode', () => {
  it('recv with { timeout: 1 } and data queued resolves with the data at once, never ETIMEDOUT (5 times)', async () => {
    const peer = await echoPeer();
    const fd = connectedUdp(peer);
    await roundTrips(fd, ROUND_TRIPS);
    const buf = Buffer.alloc(256);
    // Control: a read without a timeout, data queued, waits on the watcher (the fd skips).
    await queueBurst(fd, peer, 1, 'control');
    const control = await timedRead(() => p.recv(fd, buf));
    expect(buf.toString('latin1', 0, control.value)).toBe(payload('control', 0));
    expect(control.immediate, 'the fd is in skip mode').toBe(false);

    for (let rep = 0; rep < 5; rep++) {
      if (rep > 0) await roundTrips(fd, 6, `again${rep}`); // the hit below ended skip mode: re-enter it
      await queueBurst(fd, peer, 1, `t${rep}`);
      // Start the read from the check phase, and keep the loop busy past the 1 ms: if the read waited
      // on the watcher, the next loop turn would run the overdue timer before polling the fd.
      await new Promise((r) => setImmediate(r));
      buf.fill(0);
      let outcome: { value: number; immediate: boolean } | Error;
      try {
        outcome = await timedRead(() => {
          const pr = p.recv(fd, buf, { timeout: 1 });
          const until = Date.now() + 5;
          while (Date.now() < until) {
            // busy: the 1 ms timer is overdue when the loop next runs timers
          }
          return pr;
        });
      } catch (err) {
        outcome = err as Error;
      }
      expect(outcome instanceof Error ? `rejected: ${(outcome as Error & { code?: string }).code ?? outcome.message}` : 'resolved', `round ${rep}`).toBe(
        'resolved',
      );
      const r = outcome as { value: number; immediate: boolean };
      expect(buf.toString('latin1', 0, r.value), `round ${rep}`).toBe(payload(`t${rep}`, 0));
      expect(r.immediate, `round ${rep}: a read with a timeout tries first`).toBe(true);
    }
    expect(nothingQueued(fd)).toBe(true);
    closeOwned(fd);
  });

  it('recv with { timeout } in skip mode and nothing queued still times out', async () => {
    const peer = await echoPeer();
    const fd = connectedUdp(peer);
    await roundTrips(fd, ROUND_TRIPS);
    const started = Date.now();
    const err = await within(
      p.recv(fd, Buffer.alloc(16), { timeout: 30 }).then(
        () => new Error('resolved'),
        (e: unknown) => e as Error & { code?: string },
      ),
      'recv with a timeout',
      2000,
    );
    expect((err as Error & { code?: string }).code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    closeOwned(fd);
  });
});

describe('probing ends skip mode', () => {
  it('after skip mode, 500 datagrams streamed in bursts arrive in order, and reads try first again within PROBE_EVERY reads', async () => {
    const peer = await echoPeer();
    const fd = connectedUdp(peer);
    await roundTrips(fd, ROUND_TRIPS);
    const buf = Buffer.alloc(256);
    const immediate: boolean[] = [];
    const started = Date.now();
    await within(
      (async () => {
        for (let burst = 0; burst < 10; burst++) {
          await queueBurst(fd, peer, 50, `s${burst}`);
          for (let i = 0; i < 50; i++) {
            buf.fill(0);
            const r = await timedRead(() => p.recv(fd, buf));
            expect(buf.toString('latin1', 0, r.value), `burst ${burst} datagram ${i}`).toBe(payload(`s${burst}`, i));
            immediate.push(r.immediate);
          }
        }
      })(),
      'streaming 500 datagrams',
      15_000,
    );
    expect(immediate).toHaveLength(500);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The stream started in skip mode: its first reads waited on the watcher although data was
    // queued. The first probe found data and ended skipping: every read after it tried first.
    const firstTry = immediate.indexOf(true);
    expect(firstTry, 'reads that skipped before the first probe').toBeGreaterThanOrEqual(1);
    expect(firstTry).toBeLessThan(PROBE_EVERY);
    const laterSkips = immediate.map((x, i) => (x ? -1 : i)).filter((i) => i > firstTry);
    expect(laterSkips, 'reads that skipped after a probe hit').toEqual([]);
    expect(nothingQueued(fd)).toBe(true);
    closeOwned(fd);
  });

  it('a read with a timeout that hits ends skip mode too', async () => {
    const peer = await echoPeer();
    const fd = connectedUdp(peer);
    await roundTrips(fd, ROUND_TRIPS);
    const buf = Buffer.alloc(256);
    await queueBurst(fd, peer, 4, 'h');
    const first = await timedRead(() => p.recv(fd, buf, { timeout: 2000 }));
    expect(buf.toString('latin1', 0, first.value)).toBe(payload('h', 0));
    expect(first.immediate).toBe(true);
    for (let i = 1; i < 4; i++) {
      const r = await timedRead(() => p.recv(fd, buf));
      expect(buf.toString('latin1', 0, r.value)).toBe(payload('h', i));
      expect(r.immediate, `read ${i} after the hit tried first`).toBe(true);
    }
    closeOwned(fd);
  });
});

// ---------------------------------------------------------------------------------------------
// The saving, counted by strace in a child process.

const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' }).status === 0;

const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  children.clear();
});

/** strace -f lines with `<unfinished ...>` / `<... x resumed>` joined back into one line per call. */
function joinResumed(lines: string[]): string[] {
  const open = new Map<string, string>();
  const out: string[] = [];
  for (const line of lines) {
    const pid = line.split(' ', 1)[0]!;
    if (line.endsWith('<unfinished ...>')) {
      open.set(pid, line.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const m = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (m && open.has(pid)) {
      out.push(open.get(pid)! + m[2]);
      open.delete(pid);
      continue;
    }
    out.push(line);
  }
  return out;
}

describe('the system calls saved (strace)', () => {
  it.skipIf(!strace)('200 request/response round trips on a connected UDP socket make far fewer than 200 recvfrom calls that find nothing', async () => {
    const N = 200;
    const script = `
      const s = require(${JSON.stringify(DIST_INDEX)});
      const p = require(${JSON.stringify(DIST_PROMISES)});
      const dgram = require('node:dgram');
      const peer = dgram.createSocket('udp4');
      peer.on('message', (m, r) => peer.send(m, r.port, r.address));
      peer.bind(0, '127.0.0.1', async () => {
        const fd = s.socket(s.AF_INET, s.SOCK_DGRAM);
        s.bind(fd, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
        s.connect(fd, { family: s.AF_INET, address: '127.0.0.1', port: peer.address().port });
        const buf = Buffer.alloc(64);
        let ok = 0;
        for (let i = 0; i < ${N}; i++) {
          const msg = 'rt-' + i;
          await p.send(fd, Buffer.from(msg));
          const n = await p.recv(fd, buf);
          if (buf.toString('latin1', 0, n) === msg) ok++;
        }
        s.close(fd);
        peer.close();
        console.log(JSON.stringify({ fd, ok }));
      });
    `;
    const out = path.join(tmpdir(), `sockfd-readskip-strace-${process.pid}.txt`);
    const c = spawn(
      'strace',
      ['-f', '-qq', '-e', 'trace=recvfrom,recvmsg,read', '-e', 'signal=none', '-o', out, process.execPath, '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(c);
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => c.once('exit', (code, s) => r([code, s])));
    clearTimeout(timer);
    let trace: string[];
    try {
      trace = joinResumed(readFileSync(out, 'utf8').split('\n'));
    } finally {
      rmSync(out, { force: true });
    }
    expect({ code, sig }, `the traced child failed:\n${stderr}`).toEqual({ code: 0, sig: null });
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { fd: number; ok: number };
    expect(report.ok, 'round trips with the right reply').toBe(N);
    const onFd = trace.filter((line) => new RegExp(`^\\d+\\s+recvfrom\\(${report.fd}, `).test(line));
    const misses = onFd.filter((line) => /= -1 EAGAIN/.test(line));
    const hits = onFd.filter((line) => /\) = [1-9]\d*$/.test(line));
    const summary = `recvfrom on fd ${report.fd}: ${onFd.length} calls, ${misses.length} EAGAIN, ${hits.length} with data`;
    expect(onFd.length - misses.length - hits.length, `other results (${summary}):\n${onFd.join('\n')}`).toBe(0);
    expect(hits.length, summary).toBe(N);
    // Without skipping every round trip's recv misses once (about N); with it, only the first few and
    // the probes (one read in PROBE_EVERY) do.
    expect(misses.length, summary).toBeLessThan(N / 4);
    expect(misses.length, `${summary}: the first reads do try first`).toBeGreaterThanOrEqual(4);
  }, 30_000);
});
