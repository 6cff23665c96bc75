// RxRing: an AF_PACKET PACKET_RX_RING (TPACKET_V3) on one end of a veth pair between two network
// namespaces this file makes (sockfd/netns, IPv6 off, no addresses: the link carries only the frames a
// test sends, with the experimental EtherType 0x88b5 that the rings are bound to). Frames come from a
// Python raw socket run inside the other namespace, or from sockfd's sendmmsg there.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../src/index.js';
import { build } from '../../src/packet/index.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { ETHERTYPE, type Wire, flood, makeWire, pythonSend, pythonUnavailable, ringUnavailable, seqOf } from '../helpers/ring.js';

const skip = ringUnavailable();
if (skip) console.log('skipping RxRing tests:', skip);
const noPython = pythonUnavailable();
if (noPython) console.log('skipping the RxRing tests with a Python peer:', noPython);

checkFdLeaks();

let w: Wire;
const open = new Set<s.RxRing>();

/** A ring on the `b` end, bound to the test EtherType; closed after each test. */
function ring(options: s.OpenRxRingOptions = {}): s.RxRing {
  const r = s.openRxRing(w.link.b.index, { netns: w.b.path, protocol: ETHERTYPE, blockSize: 4096, blockCount: 4, frameSize: 2048, retireTimeout: 5, ...options });
  open.add(r);
  return r;
}

/** Every frame's sequence number the ring hands over until `count` arrived (bounded by `ms`). */
async function collect(r: s.RxRing, count: number, ms = 5000): Promise<number[]> {
  const seqs: number[] = [];
  const end = Date.now() + ms;
  while (seqs.length < count && Date.now() < end) {
    let block: s.RxBlock;
    try {
      block = await r.waitBlock({ timeout: Math.max(1, end - Date.now()) });
    } catch (err) {
      if ((err as s.SystemError).code === 'ETIMEDOUT') break;
      throw err;
    }
    for (const f of block) seqs.push(seqOf(f.data));
    block.release();
  }
  return seqs;
}

const range = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);

describe.skipIf(skip !== null)('RxRing on a veth pair between two namespaces', () => {
  beforeAll(async () => {
    w = await makeWire();
  });
  afterEach(() => {
    for (const r of open) r.close();
    open.clear();
  });
  afterAll(async () => {
    await w?.close();
  });

  it.skipIf(noPython !== null)('receives the frames a Python raw socket sends, with their lengths, bytes, link address and a timestamp after each send', async () => {
    const r = ring();
    const sent = pythonSend(w, 5, 60);
    const frames: { seq: number; len: number; snaplen: number; ts: bigint; data: Buffer; ifindex: number; protocol: number; hatype: number; pkttype: number; addr: string; net: number }[] = [];
    while (frames.length < 5) {
      const block = await r.waitBlock({ timeout: 5000 });
      for (const f of block) {
        frames.push({ seq: seqOf(f.data), len: f.len, snaplen: f.snaplen, ts: f.timestamp(), data: Buffer.from(f.data), ifindex: f.ifindex, protocol: f.protocol, hatype: f.hatype, pkttype: f.pkttype, addr: f.linkAddress().toString('hex'), net: f.networkOffset });
      }
      block.release();
    }
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
    for (const [i, f] of frames.entries()) {
      expect(f.len).toBe(sent.frames[i]!.len);
      expect(f.snaplen).toBe(60);
      expect(f.data.length).toBe(60);
      expect(f.data.subarray(6, 12).toString('hex')).toBe(sent.mac);
      expect(f.data.readUInt16BE(12)).toBe(ETHERTYPE);
      expect(f.ifindex).toBe(w.link.b.index);
      expect(f.protocol).toBe(s.htons(ETHERTYPE));
      expect(f.hatype).toBe(s.ARPHRD_ETHER);
      expect(f.pkttype).toBe(s.PACKET_BROADCAST);
      expect(f.addr).toBe(sent.mac);
      expect(f.net).toBe(14);
      expect(f.ts).toBeGreaterThanOrEqual(BigInt(sent.frames[i]!.before));
      expect(f.ts).toBeLessThanOrEqual(BigInt(sent.after) + 1_000_000_000n);
      if (i > 0) expect(f.ts).toBeGreaterThanOrEqual(frames[i - 1]!.ts);
    }
  });

  it('hands blocks over in order with consecutive sequence numbers; a partly filled one after the retire timeout, marked timedOut', async () => {
    const r = ring({ retireTimeout: 20 });
    flood(w, 0, 3);
    const first = await r.waitBlock({ timeout: 5000 });
    expect(first).toMatchObject({ index: 0, frameCount: 3, timedOut: true, losing: false, sequence: 1 });
    expect(first.status & s.TP_STATUS_USER).toBe(s.TP_STATUS_USER);
    expect(first.remaining).toBe(3);
    first.release();
    // A full block (4096 bytes hold about 26 64-byte frames) is handed over without waiting.
    flood(w, 3, 60);
    const second = r.nextBlock()!;
    expect(second).toMatchObject({ index: 1, sequence: 2, timedOut: false });
    expect(second.frameCount).toBeGreaterThan(10);
    expect(second.length).toBeLessThanOrEqual(4096);
    second.release();
  });

  it('reuses every block many times under a steady flood it keeps up with: every frame in order, no drops', async () => {
    const r = ring();
    const seqs: number[] = [];
    const indices = new Map<number, number>();
    for (let round = 0; round < 200; round++) {
      flood(w, round * 20, 20);
      // The fifth round's frames fill a block at the latest; a block holds at most 26.
      for (let b = r.nextBlock(); b !== null; b = r.nextBlock()) {
        indices.set(b.index, (indices.get(b.index) ?? 0) + 1);
        for (const f of b) seqs.push(seqOf(f.data));
        b.release();
      }
    }
    seqs.push(...(await collect(r, 4000 - seqs.length)));
    expect(seqs).toEqual(range(0, 4000));
    expect([...indices.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const n of indices.values()) expect(n).toBeGreaterThanOrEqual(10);
    // (freezeQueueCount may count a retire timeout that found the next block held for a moment: no frame lost.)
    expect(r.stats()).toMatchObject({ packets: 4000, drops: 0 });
  });

  it('drops and freezes once every block is full and held; PACKET_STATISTICS counts them; it resumes after release', async () => {
    const r = ring();
    flood(w, 0, 1000);
    const stats = r.stats();
    expect(stats.packets).toBe(1000);
    expect(stats.drops).toBeGreaterThan(0);
    expect(stats.freezeQueueCount).toBeGreaterThan(0);
    const kept = await collect(r, 1000 - stats.drops, 2000);
    expect(kept.length).toBe(1000 - stats.drops);
    // What the ring kept is a prefix: the kernel fills blocks in order and drops once they are full.
    expect(kept).toEqual(range(0, kept.length));
    flood(w, 5000, 10);
    expect(await collect(r, 10)).toEqual(range(5000, 10));
    const later = r.stats();
    expect(later.packets).toBe(1010);
    expect(later.drops).toBe(stats.drops);
  });

  it('a released block\'s views read as empty: frame data, block bytes, and no more frames', async () => {
    const r = ring();
    flood(w, 0, 4);
    const block = await r.waitBlock({ timeout: 5000 });
    const f = block.nextFrame()!;
    const data = f.data;
    const bytes = block.bytes;
    expect(data.length).toBe(64);
    block.release();
    expect(block.released).toBe(true);
    expect(data.length).toBe(0);
    expect(data[0]).toBeUndefined();
    expect(bytes.length).toBe(0);
    expect(block.nextFrame()).toBeNull();
    expect(block.remaining).toBe(0);
    expect(f.linkAddress().length).toBe(0);
    block.release(); // idempotent
  });

  it('nextFrame and iteration walk the frames across blocks, releasing each block once read past', () => {
    const r = ring();
    flood(w, 0, 80);
    // Three full blocks are ready; the fourth is still being filled.
    const seqs: number[] = [];
    for (const f of r) seqs.push(seqOf(f.data));
    expect(seqs.length).toBeGreaterThan(40);
    expect(seqs).toEqual(range(0, seqs.length));
    expect(r.heldBlocks).toBe(0);
  });

  it('an RxBlock is released at the end of a using scope', async () => {
    const r = ring();
    flood(w, 0, 2);
    let view: Buffer;
    {
      using block = await r.waitBlock({ timeout: 5000 });
      view = block.nextFrame()!.data;
      expect(view.length).toBe(64);
    }
    expect(view.length).toBe(0);
    expect(r.heldBlocks).toBe(0);
  });

  it.skipIf(noPython !== null)('carries the VLAN tag the kernel took off a tagged frame, and the frame without it', async () => {
    // An ETH_P_ALL tap: the kernel clears a tag with no VLAN device for it before protocol handlers run.
    const r = ring({ protocol: s.ETH_P_ALL });
    const tci = (5 << 13) | 42;
    pythonSend(w, 1, 64, tci);
    const block = await r.waitBlock({ timeout: 5000 });
    const f = block.nextFrame()!;
    expect(f.vlanTci).toBe(tci);
    expect(f.vlanTpid).toBe(0x8100);
    expect(f.status & s.TP_STATUS_VLAN_VALID).toBe(s.TP_STATUS_VLAN_VALID);
    expect(f.data.readUInt16BE(12)).toBe(ETHERTYPE);
    expect(f.len).toBe(60);
    block.release();
    flood(w, 0, 1);
    const plain = (await r.waitBlock({ timeout: 5000 })).nextFrame()!;
    expect(plain.vlanTci).toBeNull();
    expect(plain.vlanTpid).toBeNull();
  });

  it('fills rxhash with the kernel\'s flow hash when asked (the same for one UDP flow), 0 otherwise', async () => {
    const udp = (sport: number): Buffer =>
      build([
        { layer: 'ethernet', destination: 'ff:ff:ff:ff:ff:ff', source: '02:00:00:00:00:01' },
        { layer: 'ipv4', source: '10.9.0.1', destination: '10.9.0.2' },
        { layer: 'udp', sourcePort: sport, destinationPort: 9 },
        { layer: 'raw', data: Buffer.alloc(8) },
      ]);
    for (const rxhash of [true, false]) {
      const r = ring({ rxhash, protocol: s.ETH_P_IP });
      expect(r.rxhash).toBe(rxhash);
      for (const sport of [1000, 1000, 2000]) s.send(w.tx, udp(sport));
      const hashes: number[] = [];
      while (hashes.length < 3) {
        const b = await r.waitBlock({ timeout: 5000 });
        for (const f of b) hashes.push(f.rxhash);
        b.release();
      }
      if (rxhash) {
        expect(hashes[0]).not.toBe(0);
        expect(hashes[1]).toBe(hashes[0]);
        expect(hashes[2]).not.toBe(hashes[0]);
      } else expect(hashes).toEqual([0, 0, 0]);
      r.close();
    }
  });

  it('a SOCK_DGRAM ring gives frames from the network header on', async () => {
    const r = ring({ type: s.SOCK_DGRAM });
    flood(w, 7, 1);
    const f = (await r.waitBlock({ timeout: 5000 })).nextFrame()!;
    expect(f.networkOffset).toBe(0);
    expect(f.snaplen).toBe(64 - 14);
    expect(f.len).toBe(64 - 14);
    expect(f.data.readUInt32BE(0)).toBe(7);
  });
});

describe.skipIf(skip !== null)('waiting for blocks: waitBlock and watch', () => {
  beforeAll(async () => {
    w = await makeWire();
  });
  afterEach(() => {
    for (const r of open) r.close();
    open.clear();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('waitBlock resolves at once with a block that is ready, and waits on the event loop for the next', async () => {
    const r = ring({ retireTimeout: 200 });
    flood(w, 0, 30);
    const ready = await r.waitBlock();
    expect(ready.index).toBe(0);
    ready.release();
    const later = r.waitBlock({ timeout: 5000 });
    setTimeout(() => flood(w, 100, 1), 30);
    const block = await later;
    // The rest of the first flood (in the block being filled), then frame 100, retired together.
    expect([...block].map((f) => seqOf(f.data))).toEqual([26, 27, 28, 29, 100]);
    block.release();
  });

  it('waitBlock rejects with ETIMEDOUT after its timeout, and with an AbortError when its signal fires', async () => {
    const r = ring();
    await expect(r.waitBlock({ timeout: 30 })).rejects.toMatchObject({ code: 'ETIMEDOUT', syscall: 'poll' });
    const ac = new AbortController();
    const p = r.waitBlock({ signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expect(r.waitBlock({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(r.waitBlock({ timeout: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(r.waitBlock({ every: 1 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('waitBlock rejects with ERR_SOCKET_CLOSED when the ring is closed, or its fd closed with sockfd close', async () => {
    const r = ring();
    const p = r.waitBlock();
    r.close();
    await expect(p).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    const fd = s.socketIn(w.b.path, s.AF_PACKET, s.SOCK_RAW, 0);
    const own = new s.RxRing(fd, { blockSize: 4096, blockCount: 2 });
    s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(ETHERTYPE), ifindex: w.link.b.index });
    const q = own.waitBlock();
    s.close(fd);
    await expect(q).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(own.closed).toBe(true);
  });

  it('waiting while the block before the next is held does not spin (packet_poll reports the fd readable then), and still sees the next block', async () => {
    const r = ring({ retireTimeout: 50 });
    flood(w, 0, 1);
    const held = await r.waitBlock({ timeout: 5000 });
    expect(r.previousHeld()).toBe(true);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await expect(r.waitBlock({ timeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    // A level-triggered watcher on a fd that stays readable would use the whole CPU.
    expect((used.user + used.system) / 1000).toBeLessThan(wall * 0.5);
    const next = r.waitBlock({ timeout: 5000 });
    flood(w, 1, 1);
    const b = await next;
    expect(seqOf(b.nextFrame()!.data)).toBe(1);
    b.release();
    held.release();
  });

  it('watch calls back with each block in order until closed', async () => {
    const r = ring();
    const seqs: number[] = [];
    const got = new Promise<void>((resolve, reject) => {
      const sub = r.watch((err, block) => {
        if (err) return reject(err);
        for (const f of block!) seqs.push(seqOf(f.data));
        block!.release();
        if (seqs.length >= 500) {
          sub.close();
          resolve();
        }
      });
      expect(sub.fd).toBe(r.fd);
    });
    for (let i = 0; i < 25; i++) setTimeout(() => flood(w, i * 20, 20), i * 4);
    await got;
    expect(seqs).toEqual(range(0, 500));
  });

  it('watch keeps calling back while the callback holds blocks (the held-block case), and unref lets the process go', async () => {
    const r = ring({ blockCount: 8 });
    const blocks: s.RxBlock[] = [];
    const sub = r.watch((err, block) => {
      if (!err) blocks.push(block!);
    });
    flood(w, 0, 26 * 3);
    const end = Date.now() + 3000;
    while (blocks.length < 3 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
    expect(blocks.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(sub.unref()).toBe(sub);
    expect(sub.ref()).toBe(sub);
    sub.close();
    for (const b of blocks) b.release();
  });
});
