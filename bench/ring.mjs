// The capture workload: a C flooder (bench/peers/frame_flood.c: AF_PACKET sendmmsg, PACKET_QDISC_BYPASS)
// sends 64-byte frames as fast as it can across a veth pair between two network namespaces this
// workload makes (sockfd/netns) and removes; on the receiving end four capturers take the same flood
// at once, for the same seconds from one start signal: tcpdump -w /dev/null (Debian's, libpcap with
// TPACKET_V3), sockfd's RxRing (every frame's view read), the same ring writing pcapng through
// sockfd/packet's writer to /dev/null, and sockfd's recvmmsg on an AF_PACKET socket. The kernel hands
// every frame to each of them, so noise from elsewhere on the machine changes what all are offered
// alike. All get the same 32 MiB: tcpdump -B, the ring's blocks, the socket's SO_RCVBUFFORCE. The
// flooder runs on the peer CPU for the whole workload, the capturers share the client CPU (taskset).
// Reported per capturer: frames/s it handled, the kernel's drops (PACKET_STATISTICS; tcpdump's own
// "dropped by kernel" count, printed on SIGUSR1 at the start and the end), its CPU time per frame, and
// the rate the kernel offered frames to its socket.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { here, launch, startPeer } from './lib.mjs';

const require = createRequire(import.meta.url);
const BYTES = 32 << 20;
const ringClient = join(here, 'ring-client.mjs');
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Why the workload cannot run here, or null. */
function unavailable() {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, AF_PACKET)';
  if (spawnSync('tcpdump', ['--version']).error) return 'tcpdump is not installed (apt-get install tcpdump)';
  if (spawnSync('ip', ['-V']).error) return 'ip is not installed (apt-get install iproute2)';
  return null;
}

/** CPU seconds (user + system) process `pid` has used, from /proc. */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Runs `ip netns exec NS cmd args` on the client CPU (`ip netns exec` execs it: the pid is its own). */
function inNamespace(state, cmd, args, timeout, onFirst) {
  return launch('ip', ['netns', 'exec', state.b.name, cmd, ...args], { side: 'client', timeout, onFirst });
}

/** The next counts tcpdump prints (on SIGUSR1: "N packets captured, M ... received by filter, K ... dropped by kernel"). */
function nextCounts(td, what) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d;
      const m = /(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel/.exec(text);
      if (!m) return;
      td.child.stderr.off('data', onData);
      clearTimeout(timer);
      resolve({ frames: Number(m[1]), packets: Number(m[2]), drops: Number(m[3]) });
    };
    const timer = setTimeout(() => {
      td.child.stderr.off('data', onData);
      reject(new Error(`tcpdump printed no counts for ${what}: ${text}`));
    }, 5000);
    td.child.stderr.on('data', onData);
    td.child.kill('SIGUSR1');
  });
}

/** Resolves when `h` prints its first JSON line; rejects if it exits first. */
function readyOf(h, onFirst, what) {
  return Promise.race([onFirst, h.done.then(() => Promise.reject(new Error(`${what} exited before it was ready`)))]);
}

/**
 * One run of every capturer at once, on the same flood, so that noise from elsewhere on the machine
 * changes what all of them are offered alike: tcpdump and the three sockfd clients start and capture
 * (draining as they go) until all are ready; then one "go" — SIGUSR1 to each: the sockfd clients start
 * their window of `seconds`, tcpdump prints its counts — and tcpdump's counts again at the end.
 */
async function groupRun(ctx, state) {
  const timeout = (ctx.seconds * 4 + 30) * 1000;
  const td = inNamespace(state, 'tcpdump', ['-i', state.link.b.name, '-n', '-w', '/dev/null', '-B', String(BYTES >> 10)], timeout);
  const clients = {};
  try {
    let stderr = '';
    const listening = new Promise((resolve, reject) => {
      const onData = (d) => {
        stderr += d;
        if (stderr.includes('listening on')) {
          td.child.stderr.off('data', onData);
          resolve();
        }
      };
      td.child.stderr.on('data', onData);
      td.done.then(() => reject(new Error(`tcpdump exited before listening: ${stderr}`)), reject);
    });
    const ready = [listening];
    for (const mode of MODES) {
      let first;
      const onFirst = new Promise((resolve) => (first = resolve));
      clients[mode] = inNamespace(state, process.execPath, [ringClient, mode, state.link.b.name, String(ctx.seconds), String(BYTES), 'sigusr1'], timeout, first);
      ready.push(readyOf(clients[mode], onFirst, `ring-client ${mode}`));
    }
    await Promise.all(ready);
    for (const mode of MODES) clients[mode].child.kill('SIGUSR1');
    const start = await nextCounts(td, 'the start');
    const t0 = performance.now();
    const cpu0 = cpuOf(td.child.pid);
    await new Promise((r) => setTimeout(r, ctx.seconds * 1000));
    const cpu1 = cpuOf(td.child.pid);
    const end = await nextCounts(td, 'the end');
    const t1 = performance.now();
    const results = {
      tcpdump: { frames: end.frames - start.frames, packets: end.packets - start.packets, drops: end.drops - start.drops, seconds: (t1 - t0) / 1000, cpu: cpu1 - cpu0 },
    };
    for (const mode of MODES) {
      const r = (await clients[mode].done).at(-1);
      if (!r || r.frames === undefined) throw new Error(`ring-client ${mode} printed no result`);
      results[mode] = r;
    }
    return results;
  } finally {
    td.stop();
    await td.done.catch(() => []);
    for (const c of Object.values(clients)) {
      c.stop();
      await c.done.catch(() => []);
    }
  }
}

const MODES = ['ring', 'pcapng', 'recvmmsg'];

export const captureWorkload = {
  name: 'capture',
  full: false,
  title: '(7) packet capture: a C flooder sends 64-byte frames across a veth pair (namespaces of its own); four capturers take the same flood at once for the same seconds, 32 MiB of buffer each',
  rows: {
    tcpdump: () => (unavailable() ? null : 'tcpdump'),
    'sockfd ring': () => (unavailable() ? null : 'ring'),
    'sockfd ring → pcapng': () => (unavailable() ? null : 'pcapng'),
    'sockfd recvmmsg': () => (unavailable() ? null : 'recvmmsg'),
  },
  notes: [
    'flooder: bench/bin/frame_flood (AF_PACKET sendmmsg of 64 frames, PACKET_QDISC_BYPASS) on the peer CPU, for the whole workload; the four capturers at once on the client CPU, started by one SIGUSR1;',
    'tcpdump = Debian tcpdump -w /dev/null -B 32768 (libpcap TPACKET_V3); sockfd ring = RxRing of 32 × 1 MiB blocks, retire 10 ms, every frame\'s data view read;',
    'sockfd ring → pcapng = the same, every frame written with pcap Writer.writePacket, piped to /dev/null; sockfd recvmmsg = recvmmsgInto an MMsgBatch of 64, SO_RCVBUFFORCE 32 MiB;',
    'frames/s = frames the capturer handled ÷ its seconds; drops = the kernel\'s PACKET_STATISTICS over those seconds (tcpdump: its own counts, printed on SIGUSR1 at the start and the end);',
    'offered/s = frames the kernel gave the socket (drops included); CPU ns/frame = the capturer\'s own CPU time per frame handled.',
  ],
  metrics: [
    { key: 'rate', label: 'frames/s', higher: true, ratio: true },
    { key: 'drops', label: 'kernel drops' },
    { key: 'dropPct', label: 'dropped %', pct: true },
    { key: 'offered', label: 'offered/s' },
    { key: 'cpuPerFrame', label: 'CPU ns/frame' },
  ],
  baselines: { tcpdump: 'tcpdump', ring: 'sockfd ring' },
  async setup(ctx) {
    // Without root or tcpdump every row is left out (rows return null), and there is nothing to set up.
    if (unavailable()) return null;
    const { createNamespace, createLink } = require('../dist/cjs/netns/index.js');
    const a = createNamespace();
    const b = createNamespace();
    try {
      const link = await createLink(a, b, { wire: false, ipv6: false });
      const total = ctx.reps * (ctx.seconds + 10) + 60;
      const flood = await startPeer('ip', ['netns', 'exec', a.name, ctx.bins.frame_flood, link.a.name, String(total)], { side: 'peer', timeout: (total + 30) * 1000 });
      return { a, b, link, flood, pending: new Map() };
    } catch (err) {
      await b.close();
      await a.close();
      throw err;
    }
  },
  async teardown(state) {
    state.flood.stop();
    await state.flood.done.catch(() => []);
    await state.link.close();
    await state.b.close();
    await state.a.close();
  },
  async rep(ctx, row, state) {
    // The suite asks row by row; one group run answers a whole repetition (every row of it at once).
    const key = row(ctx);
    if (!state.pending.has(key)) {
      const results = await groupRun(ctx, state);
      for (const [k, r] of Object.entries(results)) state.pending.set(k, r);
    }
    const r = state.pending.get(key);
    state.pending.delete(key);
    return {
      rate: r.frames / r.seconds,
      drops: r.drops,
      dropPct: r.packets > 0 ? r.drops / r.packets : 0,
      offered: r.packets / r.seconds,
      cpuPerFrame: r.frames > 0 ? (r.cpu / r.frames) * 1e9 : NaN,
      frames: r.frames,
      seconds: r.seconds,
    };
  },
};

/**
 * The capture targets, judged on medians (called by bench/index.mjs's evaluateTargets). All
 * capturers take the same frames at once, so "at least as many frames/s as tcpdump" allows the 1% by
 * which two 2-second windows started by one signal can differ when nobody drops a frame.
 */
export function captureTargets(W, add, fmt) {
  const med = (row, key) => W.capture?.rows[row]?.summary[key]?.median;
  const ring = med('sockfd ring', 'rate');
  const tcpdump = med('tcpdump', 'rate');
  const x = ring / tcpdump;
  const dr = med('sockfd ring', 'drops');
  const dt = med('tcpdump', 'drops');
  add('capture', 'sockfd ring captures ≥ tcpdump\'s frames/s (within 1%) with no more kernel drops', x, x >= 0.99 && dr <= dt, `${fmt(ring)} vs ${fmt(tcpdump)} frames/s of ${fmt(med('tcpdump', 'offered'))} offered; drops ${fmt(dr)} vs ${fmt(dt)}`);
  const p = med('sockfd ring → pcapng', 'rate');
  const y = p / ring;
  add('capture', 'writing pcapng through sockfd keeps ≥ 0.9× the ring\'s frames/s', y, y >= 0.9, `${fmt(p)} vs ${fmt(ring)} frames/s; drops ${fmt(med('sockfd ring → pcapng', 'drops'))}`);
  const c = med('sockfd ring', 'cpuPerFrame') / med('tcpdump', 'cpuPerFrame');
  add('capture', '(for comparison) CPU per frame, sockfd ring vs tcpdump', c, true, `${fmt(med('sockfd ring', 'cpuPerFrame'))} vs ${fmt(med('tcpdump', 'cpuPerFrame'))} ns; pcapng ${fmt(med('sockfd ring → pcapng', 'cpuPerFrame'))} ns`, true);
  const m = med('sockfd recvmmsg', 'rate');
  add('capture', '(for comparison) sockfd recvmmsg on an AF_PACKET socket vs the ring', m / ring, true, `${fmt(m)} vs ${fmt(ring)} frames/s; drops ${fmt(med('sockfd recvmmsg', 'drops'))}; CPU ns/frame ${fmt(med('sockfd recvmmsg', 'cpuPerFrame'))}`, true);
}
