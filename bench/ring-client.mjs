// The sockfd side of the capture workload (bench/ring.mjs): captures what arrives on an interface for
// a number of seconds, run by the bench inside the namespace it made (`ip netns exec`), pinned to the
// client CPU. Prints {"ready":true} once capturing, then one JSON line with its result.
//
//   node bench/ring-client.mjs ring|pcapng|recvmmsg IFACE SECONDS BYTES
//     ring      an RxRing (TPACKET_V3) of BYTES in 1 MiB blocks, retire timeout 10 ms; every frame is
//               read (its `data` view and length), as a program that looks at each frame would
//     pcapng    the same ring, every frame written to pcapng with Writer.writePacket, piped to /dev/null
//               (as `tcpdump -w /dev/null`)
//     recvmmsg  an AF_PACKET socket with SO_RCVBUFFORCE = BYTES, recvmmsgInto an MMsgBatch of 64
//               (MSG_WAITFORONE, SO_RCVTIMEO 100 ms), every frame's length read
//   → {frames, bytes, seconds, cpu, packets, drops, freeze}: frames handled, and the kernel's
//     PACKET_STATISTICS over the same seconds (packets counts the drops in, as the kernel reports it).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const s = require('sockfd');
const { pcap } = require('sockfd/packet');

const [mode, iface, secondsArg, bytesArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const bytes = Number(bytesArg);
const BLOCK = 1 << 20;
const now = () => performance.now() / 1000;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

async function ringCapture(writePcap) {
  const ring = s.openRxRing(iface, { blockSize: BLOCK, blockCount: Math.max(1, Math.round(bytes / BLOCK)), retireTimeout: 10 });
  let writer;
  let sink;
  if (writePcap) {
    writer = pcap.createWriter({ interfaces: [{ linkType: pcap.LINKTYPE_ETHERNET, name: iface }] });
    sink = createWriteStream('/dev/null');
    writer.pipe(sink);
  }
  // What the kernel counted before the measurement starts is not the measurement's.
  for (let b = ring.nextBlock(); b !== null; b = ring.nextBlock()) b.release();
  const base = ring.stats();
  out({ ready: true });
  let frames = 0;
  let total = 0;
  const cpu0 = cpu();
  const start = now();
  const end = start + seconds;
  for (;;) {
    const left = end - now();
    if (left <= 0) break;
    let block;
    try {
      block = await ring.waitBlock({ timeout: Math.max(1, Math.ceil(left * 1000)) });
    } catch (err) {
      if (err.code === 'ETIMEDOUT') break;
      throw err;
    }
    if (writer) {
      for (let f = block.nextFrame(); f !== null; f = block.nextFrame()) {
        writer.writePacket(f.data, f.sec, f.nsec, f.len);
        frames++;
        total += f.snaplen;
      }
      block.release();
      if (!writer.flushPackets()) await once(writer, 'drain');
    } else {
      for (let f = block.nextFrame(); f !== null; f = block.nextFrame()) {
        frames++;
        total += f.data.length;
      }
      block.release();
    }
  }
  const elapsed = now() - start;
  const used = cpu() - cpu0;
  const st = ring.stats();
  ring.close();
  if (writer) {
    writer.end();
    await once(sink, 'close');
  }
  return { frames, bytes: total, seconds: elapsed, cpu: used, packets: st.packets - base.packets, drops: st.drops - base.drops, freeze: st.freezeQueueCount - base.freezeQueueCount };
}

function recvmmsgCapture() {
  const fd = s.socket(s.AF_PACKET, s.SOCK_RAW, 0);
  s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUFFORCE, bytes);
  s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO, 100);
  s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex: s.if_nametoindex(iface) });
  const batch = new s.MMsgBatch(64, 2048);
  const opts = { flags: s.MSG_WAITFORONE };
  const drain = { flags: s.MSG_DONTWAIT };
  for (;;) {
    try {
      if (s.recvmmsgInto(fd, batch, drain) === 0) break;
    } catch (err) {
      if (err.code === 'EAGAIN') break;
      throw err;
    }
  }
  s.packetStatistics(fd); // reset: the measurement's counts start now
  out({ ready: true });
  let frames = 0;
  let total = 0;
  const cpu0 = cpu();
  const start = now();
  const end = start + seconds;
  let calls = 0;
  for (;;) {
    if ((++calls & 15) === 0 && now() >= end) break;
    let n;
    try {
      n = s.recvmmsgInto(fd, batch, opts);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        if (now() >= end) break;
        continue;
      }
      throw err;
    }
    for (let i = 0; i < n; i++) total += batch.lengths[i];
    frames += n;
  }
  const elapsed = now() - start;
  const used = cpu() - cpu0;
  const st = s.packetStatistics(fd);
  s.close(fd);
  return { frames, bytes: total, seconds: elapsed, cpu: used, packets: st.packets, drops: st.drops, freeze: 0 };
}

const run = { ring: () => ringCapture(false), pcapng: () => ringCapture(true), recvmmsg: recvmmsgCapture }[mode];
if (!run || !iface || !(seconds > 0) || !(bytes > 0)) {
  console.error('usage: node bench/ring-client.mjs ring|pcapng|recvmmsg IFACE SECONDS BYTES');
  process.exit(2);
}
out(await run());
