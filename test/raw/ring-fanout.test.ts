// PACKET_FANOUT: one interface's frames spread over several AF_PACKET sockets with rings — in this
// thread, and in several worker_threads each with its own ring — on a veth pair between two network
// namespaces this file makes. packetFanout's argument checks and the kernel's refusals.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../src/index.js';
import { within } from '../helpers/async.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { ETHERTYPE, type Wire, flood, makeWire, ringUnavailable, seqOf, socketInode } from '../helpers/ring.js';
import { DIST_INDEX, message } from '../helpers/workers.js';

const skip = ringUnavailable();
if (skip) console.log('skipping PACKET_FANOUT tests:', skip);

checkFdLeaks();

let w: Wire;
const rings = new Set<s.RxRing>();
const fds = new Set<number>();
const workers = new Set<Worker>();
let nextId = 100 + (process.pid % 1000);

function ring(fanout?: s.PacketFanoutOptions, options: s.OpenRxRingOptions = {}): s.RxRing {
  const r = s.openRxRing(w.link.b.index, { netns: w.b.path, protocol: ETHERTYPE, blockSize: 4096, blockCount: 8, retireTimeout: 5, ...(fanout ? { fanout } : {}), ...options });
  rings.add(r);
  return r;
}

/** A packet socket in namespace `b`, bound to the test EtherType on the veth end (or not bound). */
function packetSocket(bound = true): number {
  const fd = s.socketIn(w.b.path, s.AF_PACKET, s.SOCK_RAW, 0);
  fds.add(fd);
  if (bound) s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(ETHERTYPE), ifindex: w.link.b.index });
  return fd;
}

/** Reads every ring until `total` frames arrived between them (bounded): the sequence numbers each got. */
async function drainAll(rs: s.RxRing[], total: number): Promise<number[][]> {
  const got = rs.map(() => [] as number[]);
  const end = Date.now() + 5000;
  while (got.reduce((n, g) => n + g.length, 0) < total && Date.now() < end) {
    for (const [i, r] of rs.entries()) for (const f of r) got[i]!.push(seqOf(f.data));
    await new Promise((res) => setTimeout(res, 5));
  }
  return got;
}

describe.skipIf(skip !== null)('PACKET_FANOUT across rings', () => {
  beforeAll(async () => {
    w = await makeWire();
  });
  afterEach(async () => {
    for (const r of rings) r.close();
    rings.clear();
    for (const fd of fds) s.close(fd);
    fds.clear();
    await Promise.all([...workers].map((x) => x.terminate()));
    workers.clear();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('PACKET_FANOUT_LB deals the frames round robin over three rings in this thread: a third each, none twice', async () => {
    const id = nextId++;
    const rs = [ring({ type: s.PACKET_FANOUT_LB, id }), ring({ type: s.PACKET_FANOUT_LB, id }), ring({ type: s.PACKET_FANOUT_LB, id })];
    for (const r of rs) expect(s.getPacketFanout(r.fd)).toEqual({ id, type: s.PACKET_FANOUT_LB, flags: 0 });
    flood(w, 0, 300);
    const got = await drainAll(rs, 300);
    expect(got.map((g) => g.length)).toEqual([100, 100, 100]);
    expect(got.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // (freezeQueueCount may count a retire timeout that found the next block still held: no frame lost.)
    for (const r of rs) expect(r.stats()).toMatchObject({ packets: 100, drops: 0 });
  });

  it('sock_diag, asked from inside the namespace, reports each ring\'s geometry and fanout group', () => {
    const id = nextId++;
    const rs = [ring({ type: s.PACKET_FANOUT_HASH, id, flags: s.PACKET_FANOUT_FLAG_ROLLOVER }), ring({ type: s.PACKET_FANOUT_HASH, id, flags: s.PACKET_FANOUT_FLAG_ROLLOVER })];
    const script = `const s = require(${JSON.stringify(DIST_INDEX)});
      process.stdout.write(JSON.stringify(s.listSockets({ family: s.AF_PACKET }).map((e) => ({ inode: e.inode, rxRing: e.packet.rxRing, fanout: e.packet.fanout, version: e.packet.version }))));`;
    const r = spawnSync('ip', ['netns', 'exec', w.b.name, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as { inode: number; rxRing: unknown; fanout: unknown; version: number }[];
    for (const ringOf of rs) {
      const e = entries.find((x) => String(x.inode) === socketInode(ringOf.fd));
      expect(e).toMatchObject({
        version: s.TPACKET_V3,
        rxRing: { blockSize: 4096, blockCount: 8, frameSize: 2048, frameCount: 16, retireTimeout: 5, privateSize: 0, features: 0 },
        fanout: { id, type: s.PACKET_FANOUT_HASH },
      });
    }
  });

  it('rings in three worker_threads share one group: every frame reaches exactly one worker', async () => {
    const id = nextId++;
    const body = `
      'use strict';
      const { parentPort, workerData } = require('node:worker_threads');
      const s = require(${JSON.stringify(DIST_INDEX)});
      const { netns, ifindex, protocol, id } = workerData;
      const ring = s.openRxRing(ifindex, { netns, protocol, blockSize: 4096, blockCount: 32, retireTimeout: 5, fanout: { type: s.PACKET_FANOUT_LB, id } });
      const seqs = [];
      let stop = false;
      parentPort.on('message', (m) => { if (m === 'stop') stop = true; });
      parentPort.postMessage({ ready: ring.fd, fanout: s.getPacketFanout(ring.fd) });
      (async () => {
        while (!stop) {
          let block;
          try { block = await ring.waitBlock({ timeout: 20 }); } catch (err) { if (err.code === 'ETIMEDOUT') continue; throw err; }
          for (const f of block) seqs.push(f.data.readUInt32BE(14));
          block.release();
          parentPort.postMessage({ count: seqs.length });
        }
        const stats = ring.stats();
        ring.close();
        parentPort.postMessage({ done: seqs, stats });
        parentPort.close();
      })().catch((err) => parentPort.postMessage({ error: String(err.stack || err) }));
    `;
    const counts = [0, 0, 0];
    const ws = counts.map((_, i) => {
      const worker = new Worker(body, { eval: true, workerData: { netns: w.b.path, ifindex: w.link.b.index, protocol: ETHERTYPE, id } });
      workers.add(worker);
      worker.on('message', (m: { count?: number }) => {
        if (m.count !== undefined) counts[i] = m.count;
      });
      return worker;
    });
    const exits = ws.map((x) => new Promise((res) => x.once('exit', res)));
    const ready = await Promise.all(ws.map((x) => message<{ ready: number; fanout: s.PacketFanout }>(x, 'ready', 'worker ring ready')));
    for (const r of ready) expect(r.fanout).toEqual({ id, type: s.PACKET_FANOUT_LB, flags: 0 });
    flood(w, 0, 600);
    const end = Date.now() + 5000;
    while (counts.reduce((a, b) => a + b, 0) < 600 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
    const done = Promise.all(ws.map((x) => message<{ done: number[]; stats: s.RxRingStats }>(x, 'done', 'worker results')));
    for (const x of ws) x.postMessage('stop');
    const results = await done;
    expect(results.map((r) => r.done.length)).toEqual([200, 200, 200]);
    expect(results.flatMap((r) => r.done).sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    for (const r of results) expect(r.stats).toMatchObject({ packets: 200, drops: 0 });
    await within(Promise.all(exits), 'the workers to exit');
  });

  it('PACKET_FANOUT_FLAG_UNIQUEID lets the kernel pick the group id, which others can then join', () => {
    const first = packetSocket();
    const id = s.packetFanout(first, { type: s.PACKET_FANOUT_CPU, flags: s.PACKET_FANOUT_FLAG_UNIQUEID });
    expect(s.getPacketFanout(first)).toEqual({ id, type: s.PACKET_FANOUT_CPU, flags: 0 });
    const second = packetSocket();
    expect(s.packetFanout(second, { type: s.PACKET_FANOUT_CPU, id })).toBe(id);
  });

  it('the kernel refuses an unbound socket, a second group, a group that differs, and a full one, each with a SystemError saying why', () => {
    const id = nextId++;
    const unbound = packetSocket(false);
    expect(() => s.packetFanout(unbound, { type: s.PACKET_FANOUT_HASH, id })).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'setsockopt', message: expect.stringContaining('once it is bound') }));
    const a = packetSocket();
    s.packetFanout(a, { type: s.PACKET_FANOUT_HASH, id, maxMembers: 1 });
    expect(() => s.packetFanout(a, { type: s.PACKET_FANOUT_HASH, id })).toThrow(expect.objectContaining({ code: 'EALREADY' }));
    const b = packetSocket();
    expect(() => s.packetFanout(b, { type: s.PACKET_FANOUT_LB, id })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => s.packetFanout(b, { type: s.PACKET_FANOUT_HASH, id })).toThrow(expect.objectContaining({ code: 'ENOSPC', message: expect.stringContaining('full') }));
    expect(s.getPacketFanout(b)).toBeNull();
  });

  it('checks its options before the call: TypeErrors and RangeErrors naming them', () => {
    const fd = packetSocket();
    const bad: [unknown, string][] = [
      [undefined, 'ERR_INVALID_ARG_VALUE'],
      [{}, 'ERR_INVALID_ARG_VALUE'],
      [{ type: 99, id: 1 }, 'ERR_OUT_OF_RANGE'],
      [{ type: '1', id: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [{ type: s.PACKET_FANOUT_LB }, 'ERR_INVALID_ARG_VALUE'],
      [{ type: s.PACKET_FANOUT_LB, id: 65536 }, 'ERR_OUT_OF_RANGE'],
      [{ type: s.PACKET_FANOUT_LB, id: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ type: s.PACKET_FANOUT_LB, id: 1, flags: 0x1 }, 'ERR_OUT_OF_RANGE'],
      [{ type: s.PACKET_FANOUT_LB, id: 3, flags: s.PACKET_FANOUT_FLAG_UNIQUEID }, 'ERR_INVALID_ARG_VALUE'],
      [{ type: s.PACKET_FANOUT_ROLLOVER, id: 1, flags: s.PACKET_FANOUT_FLAG_ROLLOVER }, 'ERR_INVALID_ARG_VALUE'],
      [{ type: s.PACKET_FANOUT_LB, id: 1, maxMembers: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ type: s.PACKET_FANOUT_LB, id: 1, maxMembers: 65537 }, 'ERR_OUT_OF_RANGE'],
      [{ type: s.PACKET_FANOUT_LB, id: 1, group: 2 }, 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [options, code] of bad) {
      expect(() => s.packetFanout(fd, options as s.PacketFanoutOptions), JSON.stringify(options)).toThrow(expect.objectContaining({ code }));
    }
    expect(s.getPacketFanout(fd)).toBeNull();
    const udp = s.socket(s.AF_INET, s.SOCK_DGRAM);
    fds.add(udp);
    expect(() => s.getPacketFanout(udp)).toThrow(expect.objectContaining({ code: 'ENOTSUP', syscall: 'getsockopt', message: expect.stringContaining('AF_PACKET') }));
  });
});

