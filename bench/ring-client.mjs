// The sockfd side of the capture workload (bench/ring.mjs): captures what arrives on an interface, run
// by the bench inside the namespace it made (`ip netns exec`), pinned to the client CPU. It captures
// from the start (so nothing piles up), prints {"ready":true}, and measures SECONDS from "go": at
// once, or, with `sigusr1`, when SIGUSR1 arrives (the bench starts every capturer of a run at the
// same moment). Then prints one JSON line with its result.
//
//   node bench/ring-client.mjs ring|pcapng|recvmmsg IFACE SECONDS BYTES [sigusr1]
//     ring      an RxRing (TPACKET_V3) of BYTES in 1 MiB blocks, retire timeout 10 ms, waited for with
//               waitBlock; every frame's `data` view and length read, as a program looking at each frame would
//     pcapng    the same ring, every frame written to pcapng with Writer.writePacket (flushed per block),
//               piped to /dev/null (as `tcpdump -w /dev/null`)
//     recvmmsg  an AF_PACKET socket with SO_RCVBUFFORCE = BYTES: watch(fd, POLLIN), recvmmsgInto an
//               MMsgBatch of 64 with MSG_DONTWAIT until EAGAIN; every frame's length read
//   → {frames, bytes, seconds, cpu, packets, drops, freeze}: frames handled in the window, and the
//     kernel's PACKET_STATISTICS over it (packets counts the drops in, as the kernel reports it).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const s = require('sockfd');
const { pcap } = require('sockfd/packet');

const [mode, iface, secondsArg, bytesArg, sync] = process.argv.slice(2);
const seconds = Number(secondsArg);
const bytes = Number(bytesArg);
const BLOCK = 1 << 20;
const now = () => performance.now() / 1000;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** The measurement window: counters at "go", and a flag once SECONDS have passed since. */
function windowOf(stats) {
  const w = { frames: 0, bytes: 0, started: false, over: false, t0: 0, cpu0: 0, base: null, ended: null };
  const go = () => {
    w.started = true;
    w.t0 = now();
    w.cpu0 = cpu();
    w.frames0 = w.frames;
    w.bytes0 = w.bytes;
    w.base = stats();
    setTimeout(() => {
      w.over = true;
      w.ended = { t: now(), cpu: cpu(), frames: w.frames, bytes: w.bytes, stats: stats() };
    }, seconds * 1000);
  };
  if (sync === 'sigusr1') process.once('SIGUSR1', go);
  else setImmediate(go);
  w.result = () => {
    const e = w.ended;
    return {
      frames: e.frames - w.frames0,
      bytes: e.bytes - w.bytes0,
      seconds: e.t - w.t0,
      cpu: e.cpu - w.cpu0,
      packets: e.stats.packets - w.base.packets,
      drops: e.stats.drops - w.base.drops,
      freeze: e.stats.freezeQueueCount - w.base.freezeQueueCount,
    };
  };
  return w;
}

async function ringCapture(writePcap) {
  const ring = s.openRxRing(iface, { blockSize: BLOCK, blockCount: Math.max(1, Math.round(bytes / BLOCK)), retireTimeout: 10 });
  let writer;
  let sink;
  if (writePcap) {
    writer = pcap.createWriter({ interfaces: [{ linkType: pcap.LINKTYPE_ETHERNET, name: iface }] });
    sink = createWriteStream('/dev/null');
    writer.pipe(sink);
  }
  const w = windowOf(() => ring.stats());
  out({ ready: true });
  while (!w.over) {
    let block;
    try {
      block = await ring.waitBlock({ timeout: 50 });
    } catch (err) {
      if (err.code === 'ETIMEDOUT') continue;
      throw err;
    }
    if (writer) {
      for (let f = block.nextFrame(); f !== null; f = block.nextFrame()) {
        writer.writePacket(f.data, f.sec, f.nsec, f.len);
        w.frames++;
        w.bytes += f.snaplen;
      }
      block.release();
      if (!writer.flushPackets()) await once(writer, 'drain');
    } else {
      for (let f = block.nextFrame(); f !== null; f = block.nextFrame()) {
        w.frames++;
        w.bytes += f.data.length;
      }
      block.release();
    }
  }
  ring.close();
  if (writer) {
    writer.end();
    await once(sink, 'close');
  }
  return w.result();
}

async function recvmmsgCapture() {
  const fd = s.socket(s.AF_PACKET, s.SOCK_RAW, 0);
  s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUFFORCE, bytes);
  s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex: s.if_nametoindex(iface) });
  const batch = new s.MMsgBatch(64, 2048);
  const opts = { flags: s.MSG_DONTWAIT };
  const totals = { packets: 0, drops: 0, freezeQueueCount: 0 };
  const stats = () => {
    const st = s.packetStatistics(fd);
    totals.packets += st.packets;
    totals.drops += st.drops;
    return { ...totals };
  };
  const w = windowOf(stats);
  out({ ready: true });
  await new Promise((resolve) => {
    const sub = s.watch(fd, s.POLLIN, () => {
      for (;;) {
        let n;
        try {
          n = s.recvmmsgInto(fd, batch, opts);
        } catch (err) {
          if (err.code === 'EAGAIN') break;
          throw err;
        }
        for (let i = 0; i < n; i++) w.bytes += batch.lengths[i];
        w.frames += n;
        if (n < 64) break;
      }
      if (w.over) {
        sub.close();
        resolve();
      }
    });
    const check = setInterval(() => {
      if (w.over) {
        clearInterval(check);
        sub.close();
        resolve();
      }
    }, 50);
  });
  s.close(fd);
  return w.result();
}

const run = { ring: () => ringCapture(false), pcapng: () => ringCapture(true), recvmmsg: recvmmsgCapture }[mode];
if (!run || !iface || !(seconds > 0) || !(bytes > 0) || (sync !== undefined && sync !== 'sigusr1')) {
  console.error('usage: node bench/ring-client.mjs ring|pcapng|recvmmsg IFACE SECONDS BYTES [sigusr1]');
  process.exit(2);
}
out(await run());
process.exit(0);
