// The capture workload: a C flooder (bench/peers/frame_flood.c: AF_PACKET sendmmsg, PACKET_QDISC_BYPASS)
// sends 64-byte frames as fast as it can across a veth pair between two network namespaces this
// workload makes (sockfd/netns) and removes; on the receiving end, one capturer per row takes the same
// number of seconds: tcpdump -w /dev/null (Debian's, libpcap with TPACKET_V3), sockfd's RxRing (every
// frame's view read), the same ring writing pcapng through sockfd/packet's writer to /dev/null, and
// sockfd's recvmmsg on an AF_PACKET socket. All get the same 32 MiB: tcpdump -B, the ring's blocks, the
// socket's SO_RCVBUFFORCE. The flooder runs on the peer CPU for the whole workload; each capturer on
// the client CPU (taskset). Reported per capturer: frames/s it handled, the kernel's drops
// (PACKET_STATISTICS; tcpdump's own "packets dropped by kernel" line), its CPU time per frame, and the
// rate the kernel offered frames to its socket.
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

/** Runs `ip netns exec NS cmd args` on the client CPU; resolves once it is capturing. */
function inNamespace(state, cmd, args, timeout) {
  return launch('ip', ['netns', 'exec', state.b.name, cmd, ...args], { side: 'client', timeout });
}

/** One tcpdump run: listening → `seconds` → SIGTERM; its own counts from stderr, its CPU from /proc. */
async function tcpdumpRep(ctx, state) {
  const h = inNamespace(state, 'tcpdump', ['-i', state.link.b.name, '-n', '-w', '/dev/null', '-B', String(BYTES >> 10)], (ctx.seconds * 4 + 20) * 1000);
  let stderr = '';
  await new Promise((resolve, reject) => {
    h.child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('listening on')) resolve();
    });
    h.done.then(() => reject(new Error(`tcpdump exited before listening: ${stderr}`)), reject);
  });
  const pid = h.child.pid;
  const cpu0 = cpuOf(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ctx.seconds * 1000));
  const cpu = cpuOf(pid) - cpu0;
  const seconds = (performance.now() - t0) / 1000;
  h.stop();
  await h.done;
  const count = (what) => {
    const m = new RegExp(`(\\d+) packets? ${what}`).exec(stderr);
    if (!m) throw new Error(`tcpdump printed no "${what}" line: ${stderr}`);
    return Number(m[1]);
  };
  return { frames: count('captured'), seconds, cpu, packets: count('received by filter'), drops: count('dropped by kernel') };
}

/** One run of bench/ring-client.mjs in the receiving namespace. */
async function sockfdRep(ctx, state, mode) {
  const h = inNamespace(state, process.execPath, [ringClient, mode, state.link.b.name, String(ctx.seconds), String(BYTES)], (ctx.seconds * 4 + 20) * 1000);
  const lines = await h.done;
  const r = lines.at(-1);
  if (!r || r.frames === undefined) throw new Error(`ring-client ${mode} printed no result`);
  return r;
}

export const captureWorkload = {
  name: 'capture',
  full: false,
  title: '(7) packet capture: a C flooder sends 64-byte frames across a veth pair (namespaces of its own); each capturer takes the same seconds, 32 MiB of buffer each',
  rows: {
    tcpdump: () => (unavailable() ? null : { kind: 'tcpdump' }),
    'sockfd ring': () => (unavailable() ? null : { kind: 'sockfd', mode: 'ring' }),
    'sockfd ring → pcapng': () => (unavailable() ? null : { kind: 'sockfd', mode: 'pcapng' }),
    'sockfd recvmmsg': () => (unavailable() ? null : { kind: 'sockfd', mode: 'recvmmsg' }),
  },
  notes: [
    'flooder: bench/bin/frame_flood (AF_PACKET sendmmsg of 64 frames, PACKET_QDISC_BYPASS) on the peer CPU, for the whole workload; capturers on the client CPU, one at a time;',
    'tcpdump = Debian tcpdump -w /dev/null -B 32768 (libpcap TPACKET_V3); sockfd ring = RxRing of 32 × 1 MiB blocks, retire 10 ms, every frame\'s data view read;',
    'sockfd ring → pcapng = the same, every frame written with pcap Writer.writePacket, piped to /dev/null; sockfd recvmmsg = recvmmsgInto an MMsgBatch of 64, SO_RCVBUFFORCE 32 MiB;',
    'frames/s = frames the capturer handled ÷ its seconds; drops = the kernel\'s PACKET_STATISTICS over those seconds (tcpdump: its "dropped by kernel", since it started);',
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
      const total = ctx.reps * 4 * (ctx.seconds + 5) + 60;
      const flood = await startPeer('ip', ['netns', 'exec', a.name, ctx.bins.frame_flood, link.a.name, String(total)], { side: 'peer', timeout: (total + 30) * 1000 });
      return { a, b, link, flood };
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
    const spec = row(ctx);
    const r = spec.kind === 'tcpdump' ? await tcpdumpRep(ctx, state) : await sockfdRep(ctx, state, spec.mode);
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

/** The capture targets, judged on medians (called by bench/index.mjs's evaluateTargets). */
export function captureTargets(W, add, fmt) {
  const med = (row, key) => W.capture?.rows[row]?.summary[key]?.median;
  const ring = med('sockfd ring', 'rate');
  const tcpdump = med('tcpdump', 'rate');
  const x = ring / tcpdump;
  const dr = med('sockfd ring', 'drops');
  const dt = med('tcpdump', 'drops');
  add('capture', 'sockfd ring captures ≥ tcpdump\'s frames/s with no more kernel drops', x, x >= 1 && dr <= dt, `${fmt(ring)} vs ${fmt(tcpdump)} frames/s; drops ${fmt(dr)} vs ${fmt(dt)}; CPU ns/frame ${fmt(med('sockfd ring', 'cpuPerFrame'))} vs ${fmt(med('tcpdump', 'cpuPerFrame'))}`);
  const p = med('sockfd ring → pcapng', 'rate');
  const y = p / ring;
  add('capture', 'writing pcapng through sockfd keeps ≥ 0.9× the ring\'s frames/s', y, y >= 0.9, `${fmt(p)} vs ${fmt(ring)} frames/s; drops ${fmt(med('sockfd ring → pcapng', 'drops'))}; CPU ns/frame ${fmt(med('sockfd ring → pcapng', 'cpuPerFrame'))}`);
  const m = med('sockfd recvmmsg', 'rate');
  add('capture', '(for comparison) sockfd recvmmsg on an AF_PACKET socket vs the ring', m / ring, true, `${fmt(m)} vs ${fmt(ring)} frames/s; drops ${fmt(med('sockfd recvmmsg', 'drops'))}; CPU ns/frame ${fmt(med('sockfd recvmmsg', 'cpuPerFrame'))}`, true);
}
