// The workloads: what each measures, with which peers, and how one repetition runs. Every row is
// one implementation (C, Python, Node's dgram/net, sockfd sync/promises/batched), run as its own
// child process; bench/index.mjs interleaves the rows within each repetition so that noise from
// other work on the machine spreads over all of them alike.
import dgram from 'node:dgram';
import { join } from 'node:path';
import { here, launch, runClient, startPeer } from './lib.mjs';
import { captureWorkload } from './ring.mjs';

const client = join(here, 'client.mjs');
const peerPy = join(here, 'peers', 'peer.py');

const node = (ctx, ...args) => [process.execPath, [client, ...args.map(String)]];
const py = (ctx, ...args) => (ctx.python ? [ctx.python, [peerPy, ...args.map(String)]] : null);
const c = (ctx, bin, ...args) => [ctx.bins[bin], args.map(String)];

/**
 * A per-call row whose operations each run in a fresh client process, as a JMH fork would: one
 * operation's JIT feedback (an address object's shape, a caught exception) and code layout then
 * cannot bleed into the next one's measurement.
 */
const isolated = (impl, ops) => Object.assign((ctx, op) => node(ctx, 'percall', impl, ctx.percallSeconds, op ?? ''), { ops });

/** A child's hard timeout: generous against the work it was given, so only a hang trips it. */
const limit = (ctx, seconds) => Math.round((seconds * 4 + 20) * 1000);

/**
 * Sends stop markers (4-byte datagrams) to a counting receiver every 20 ms until it exits, and
 * returns its result. Markers dropped by a still-full receive buffer are simply sent again.
 */
async function stopReceiver(rx) {
  const sock = dgram.createSocket('udp4');
  const marker = Buffer.from('stop');
  let exited = false;
  const send = () => !exited && sock.send(marker, rx.info.port, '127.0.0.1');
  send();
  const timer = setInterval(send, 20);
  try {
    const lines = await rx.done;
    return lines[lines.length - 1];
  } finally {
    exited = true;
    clearInterval(timer);
    sock.close();
  }
}

/** Request/response rows, shared by the UDP and TCP workloads. */
function rrRows(proto) {
  const mode = `${proto}-rr`;
  const nodeName = proto === 'udp' ? 'dgram' : 'net';
  return {
    C: (ctx, port) => c(ctx, 'client', mode, port, ctx.seconds),
    Python: (ctx, port) => py(ctx, mode, port, ctx.seconds),
    [nodeName]: (ctx, port) => node(ctx, mode, nodeName, port, ctx.seconds),
    'sockfd sync': (ctx, port) => node(ctx, mode, 'sync', port, ctx.seconds),
    'sockfd promises': (ctx, port) => node(ctx, mode, 'promises', port, ctx.seconds),
  };
}

/**
 * Request/response against the C echo peer. `same`: the client and the echo peer share one CPU, so a
 * round trip costs CPU time on both sides and no cross-CPU wake-up (on a VM, waking an idle CPU
 * costs tens of µs and would dominate); `split`: they run on two CPUs.
 */
function rrWorkload(proto, n, placement) {
  const nodeName = proto === 'udp' ? 'dgram' : 'net';
  const where = placement === 'same' ? 'client and echo peer on the same CPU' : 'client and echo peer on different CPUs';
  return {
    name: `${proto}-rr${placement === 'same' ? '' : '-split'}`,
    full: placement !== 'same',
    title: `(${n}) ${proto.toUpperCase()} request/response: one 64-byte request in flight to a C echo peer (${proto === 'udp' ? 'connected socket' : 'TCP_NODELAY'}), ${where}`,
    rows: rrRows(proto),
    metrics: [
      { key: 'rps', label: 'round trips/s', higher: true, ratio: true },
      { key: 'p50', label: 'p50 µs' },
      { key: 'p99', label: 'p99 µs' },
    ],
    baselines: { C: 'C', node: nodeName },
    async setup(ctx) {
      return { echo: await startPeer(ctx.bins.echo, [proto], { side: placement === 'same' ? 'client' : 'peer' }) };
    },
    async teardown(state) {
      state.echo.stop();
    },
    async rep(ctx, row, state) {
      const cmd = row(ctx, state.echo.info.port);
      const r = await runClient(...cmd, limit(ctx, ctx.seconds));
      return { rps: r.count / r.seconds, p50: r.p50, p99: r.p99, count: r.count };
    },
  };
}

export const workloads = [
  {
    name: 'udp-blast',
    title: '(1) UDP blast: 64-byte datagrams, unconnected sendto to 127.0.0.1 (one address per datagram), received by a C recvmmsg counter',
    rows: {
      'C sendto': (ctx, port) => c(ctx, 'client', 'udp-blast', port, ctx.seconds, ctx.blastCount, 'sendto'),
      'C sendmmsg': (ctx, port) => c(ctx, 'client', 'udp-blast', port, ctx.seconds, ctx.blastCount, 'sendmmsg'),
      Python: (ctx, port) => py(ctx, 'udp-blast', port, ctx.seconds, ctx.blastCount),
      dgram: (ctx, port) => node(ctx, 'udp-blast', 'dgram', port, ctx.seconds, ctx.blastCount),
      'sockfd sync': (ctx, port) => node(ctx, 'udp-blast', 'sync', port, ctx.seconds, ctx.blastCount),
      'sockfd sync binary': (ctx, port) => node(ctx, 'udp-blast', 'sync-binary', port, ctx.seconds, ctx.blastCount),
      'sockfd promises': (ctx, port) => node(ctx, 'udp-blast', 'promises', port, ctx.seconds, ctx.blastCount),
      'sockfd batched': (ctx, port) => node(ctx, 'udp-blast', 'batched', port, ctx.seconds, ctx.blastCount),
      'sockfd batched binary': (ctx, port) => node(ctx, 'udp-blast', 'batched-binary', port, ctx.seconds, ctx.blastCount),
      'dgram connected': (ctx, port) => node(ctx, 'udp-blast', 'dgram-connected', port, ctx.seconds, ctx.blastCount),
      'sockfd batched connected': (ctx, port) => node(ctx, 'udp-blast', 'batched-connected', port, ctx.seconds, ctx.blastCount),
    },
    notes: [
      'binary = the address converted once with encodeSockaddr (the documented hot-loop form);',
      'batched = sendmmsg of an array of 64 { buf, addr } per call; batched binary = sendmmsg of a reusable MMsgBatch of 64 slots with binary addresses;',
      'the two "connected" rows (dgram connected / an MMsgBatch without addresses on a connected socket) show what the per-datagram address costs;',
      'CPU ns/msg = the sender\'s own CPU time (user + system) per datagram sent: what the rate would be on an otherwise idle CPU.',
    ],
    metrics: [
      { key: 'rate', label: 'sent msgs/s', higher: true, ratio: true },
      { key: 'cpuPerMsg', label: 'CPU ns/msg', ratio: true },
      { key: 'loss', label: 'loss at receiver %', pct: true },
    ],
    baselines: { C: 'C sendto', node: 'dgram' },
    async rep(ctx, row) {
      const rx = await startPeer(ctx.bins.udp_recv, ['recvmmsg'], { side: 'peer', timeout: limit(ctx, ctx.seconds) + 10000 });
      let r;
      try {
        r = await runClient(...row(ctx, rx.info.port), limit(ctx, ctx.seconds));
      } catch (err) {
        rx.stop();
        throw err;
      }
      const got = await stopReceiver(rx);
      return { rate: r.sent / r.seconds, cpuPerMsg: (r.cpu / r.sent) * 1e9, loss: 1 - got.received / r.sent, sent: r.sent, received: got.received };
    },
  },
  {
    name: 'udp-flood',
    title:
      '(1b) UDP receive under a flood: a C sender blasts 64-byte datagrams as fast as it can at the receiver under test; default SO_RCVBUF for all; judged on loss',
    rows: {
      'C recvfrom': (ctx) => c(ctx, 'udp_recv', 'recvfrom'),
      'C recvmmsg': (ctx) => c(ctx, 'udp_recv', 'recvmmsg'),
      Python: (ctx) => py(ctx, 'udp-recv'),
      dgram: (ctx) => node(ctx, 'udp-recv', 'dgram'),
      'sockfd sync': (ctx) => node(ctx, 'udp-recv', 'sync'),
      'sockfd promises': (ctx) => node(ctx, 'udp-recv', 'promises'),
      'sockfd batched': (ctx) => node(ctx, 'udp-recv', 'batched'),
      'sockfd batched blocking': (ctx) => node(ctx, 'udp-recv', 'batched-blocking'),
    },
    notes: [
      'sender: bench/bin/client udp-blast (C, --flood-sender sendmmsg|sendto, 64 per sendmmsg), N datagrams (--flood-count), on the other CPU; loss = 1 - received/sent;',
      'receivers: C/Python/sockfd sync = blocking recvfrom loop; sockfd promises = await recvfrom loop;',
      'sockfd batched = watch(fd, POLLIN) + recvmmsgInto(an MMsgBatch of 64) until EAGAIN or a short batch; batched blocking = the same MMsgBatch, MSG_WAITFORONE loop;',
      'CPU ns/msg = the receiver\'s CPU time per datagram received (from its first datagram on): its cost, independent of how much CPU it was given.',
    ],
    metrics: [
      { key: 'loss', label: 'loss %', pct: true },
      { key: 'sendRate', label: 'sender msgs/s' },
      { key: 'rate', label: 'received msgs/s' },
      { key: 'cpuPerMsg', label: 'CPU ns/msg', ratio: true },
      { key: 'rcvbuf', label: 'SO_RCVBUF' },
    ],
    baselines: { C: 'C recvmmsg', node: 'dgram' },
    async rep(ctx, row) {
      const rx = await startPeer(...row(ctx), { side: 'client', timeout: limit(ctx, ctx.seconds) + 10000 });
      let r;
      try {
        r = await runClient(...c(ctx, 'client', 'udp-blast', rx.info.port, ctx.floodSeconds, ctx.floodCount, ctx.floodSender), limit(ctx, ctx.floodSeconds), 'peer');
      } catch (err) {
        rx.stop();
        throw err;
      }
      const got = await stopReceiver(rx);
      return {
        loss: 1 - got.received / r.sent,
        sent: r.sent,
        sendCpuPerMsg: (r.cpu / r.sent) * 1e9,
        received: got.received,
        sendRate: r.sent / r.seconds,
        rate: got.seconds > 0 ? got.received / got.seconds : NaN,
        cpuPerMsg: (got.cpu / got.received) * 1e9,
        rcvbuf: rx.info.rcvbuf,
      };
    },
  },
  rrWorkload('udp', 2, 'same'),
  rrWorkload('udp', '2b', 'split'),
  {
    name: 'tcp-stream',
    title: '(3) TCP stream: 64 KiB writes to a C sink (MB/s = bytes the sink counted ÷ time until its count came back), and 64 KiB reads from a C source',
    rows: {
      C: (ctx, dir, port) => c(ctx, 'client', `tcp-${dir}`, port, ctx.seconds),
      Python: (ctx, dir, port) => py(ctx, `tcp-${dir}`, port, ctx.seconds),
      net: (ctx, dir, port) => node(ctx, `tcp-${dir}`, 'net', port, ctx.seconds),
      'sockfd sync': (ctx, dir, port) => node(ctx, `tcp-${dir}`, 'sync', port, ctx.seconds),
      'sockfd promises': (ctx, dir, port) => node(ctx, `tcp-${dir}`, 'promises', port, ctx.seconds),
    },
    metrics: [
      { key: 'send', label: 'send MB/s', higher: true, ratio: true },
      { key: 'recv', label: 'recv MB/s', higher: true, ratio: true },
    ],
    baselines: { C: 'C', node: 'net' },
    async setup(ctx) {
      return { sink: await startPeer(ctx.bins.tcp_peer, ['sink']), source: await startPeer(ctx.bins.tcp_peer, ['source']) };
    },
    async teardown(state) {
      state.sink.stop();
      state.source.stop();
    },
    async rep(ctx, row, state) {
      const a = await runClient(...row(ctx, 'send', state.sink.info.port), limit(ctx, ctx.seconds));
      const b = await runClient(...row(ctx, 'recv', state.source.info.port), limit(ctx, ctx.seconds));
      return { send: a.bytes / a.seconds / 1e6, recv: b.bytes / b.seconds / 1e6 };
    },
  },
  rrWorkload('tcp', 4, 'same'),
  rrWorkload('tcp', '4b', 'split'),
  {
    name: 'percall',
    title: '(5) per-call overhead (ns per call; pairs and batches per datagram), a UDP socket talking to its own address; each sockfd operation in a fresh process',
    transpose: true,
    unit: 'ns per call',
    rows: {
      C: (ctx) => c(ctx, 'percall', ctx.percallSeconds),
      Python: (ctx) => py(ctx, 'percall', ctx.percallSeconds),
      'sockfd sync': isolated('sync', [
        'getsockopt',
        'recvfrom_eagain',
        'recvfrom_eagain_try',
        'sendto_recvfrom',
        'sendto_recvfrom_literal',
        'sendto_recvfrom_binary',
        'send_recv',
        'sendto_recv',
      ]),
      'sockfd promises': (ctx) => node(ctx, 'percall', 'promises', ctx.percallSeconds),
      'sockfd batched': isolated('batched', ['sendmmsg_recvmmsg', 'sendmmsg_recvmmsg_arrays']),
    },
    notes: [
      'getsockopt = SOL_SOCKET/SO_TYPE; recvfrom EAGAIN = recvfrom(MSG_DONTWAIT) on an empty socket (sockfd throws a SystemError, caught;',
      'Python raises BlockingIOError, caught); tryRecvfrom = the non-throwing form, null when nothing waits;',
      'sendto+recvfrom = one 64-byte datagram to itself and back (per pair), the address object reused as Python reuses its tuple;',
      '"new literal" = a new { family, address, port } object on every call; send+recv = the same on a connected socket (no address in or out);',
      'sendto+recv = an address in, none out; sendmmsg+recvmmsg = 64 datagrams per call, per datagram (sockfd: a reusable MMsgBatch each way;',
      '"arrays" = the same with an array of { buf, addr } and an array of views, converted on every call).',
    ],
    metrics: [
      { key: 'getsockopt', label: 'getsockopt', ratio: true },
      { key: 'recvfrom_eagain', label: 'recvfrom EAGAIN', ratio: true },
      { key: 'recvfrom_eagain_try', label: 'tryRecvfrom finding nothing', ratio: true },
      { key: 'sendto_recvfrom', label: 'sendto+recvfrom', ratio: true },
      { key: 'sendto_recvfrom_literal', label: 'sendto+recvfrom, new literal', ratio: true },
      { key: 'sendto_recvfrom_binary', label: 'sendto+recvfromInto (binary address)', ratio: true },
      { key: 'send_recv', label: 'send+recv', ratio: true },
      { key: 'sendto_recv', label: 'sendto+recv', ratio: true },
      { key: 'sendmmsg_recvmmsg', label: 'sendmmsg+recvmmsg', ratio: true },
      { key: 'sendmmsg_recvmmsg_arrays', label: 'sendmmsg+recvmmsg (arrays)', ratio: true },
    ],
    baselines: { C: 'C' },
    async rep(ctx, row) {
      if (!row.ops) return runClient(...row(ctx), limit(ctx, ctx.percallSeconds * 6));
      const out = {};
      for (const op of row.ops) Object.assign(out, await runClient(...row(ctx, op), limit(ctx, ctx.percallSeconds * 3)));
      return out;
    },
  },
  {
    name: 'memory',
    title: `(6) memory: RSS (after gc) before and after 10^6 sync calls (per 10: 3× sendto+recvfrom, 3× getsockopt, 1 recvfrom→EAGAIN) and 10^5 async ones (await recv that waits + await send)`,
    rows: {
      sockfd: (ctx) => [process.execPath, ['--expose-gc', client, 'memory', 'sockfd', String(ctx.syncCalls), String(ctx.asyncCalls)]],
    },
    metrics: [
      { key: 'syncGrowth', label: 'sync RSS growth MB' },
      { key: 'syncHeap', label: 'sync heap growth MB' },
      { key: 'syncSeconds', label: 'sync s' },
      { key: 'asyncGrowth', label: 'async RSS growth MB' },
      { key: 'asyncTrend', label: 'async 2nd-half RSS MB' },
      { key: 'asyncHeapTrend', label: 'async 2nd-half heap MB' },
      { key: 'asyncSeconds', label: 'async s' },
    ],
    baselines: {},
    async rep(ctx, row) {
      const r = await runClient(...row(ctx), 180000);
      const MB = 2 ** 20;
      const half = (x, key) => (x.samples[x.samples.length - 1][key] - x.samples[Math.floor(x.samples.length / 2) - 1][key]) / MB;
      return {
        syncGrowth: (r.sync.rssAfter - r.sync.rssBefore) / MB,
        syncHeap: (r.sync.heapAfter - r.sync.heapBefore) / MB,
        syncSeconds: r.sync.seconds,
        asyncGrowth: (r.async.rssAfter - r.async.rssBefore) / MB,
        asyncTrend: half(r.async, 'rss'),
        asyncHeapTrend: half(r.async, 'heap'),
        asyncSeconds: r.async.seconds,
        raw: r,
      };
    },
  },
  captureWorkload,
];
