// RxRing's lifetime: closing the fd while the ring is mapped (through sockfd, and behind its back),
// the socket as it was after close, no fd or mapping left after many rings (/proc/self/maps), a ring
// that is garbage-collected unclosed, a worker_thread terminated with its ring mapped and a block
// held; and every argument check, in TypeScript and in the native layer. The scenarios that
// could take a process down run in a child node process (loading dist/), whose failure is then this
// test's, with its stderr.
import { spawnSync } from 'node:child_process';
import { closeSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/binding.js';
import * as s from '../../src/index.js';
import { checkFdLeaks, fdTarget } from '../helpers/fds.js';
import { ETHERTYPE, type Wire, flood, makeWire, ringMappings, ringUnavailable, seqOf, socketInode, socketMappings } from '../helpers/ring.js';
import { DIST_INDEX } from '../helpers/workers.js';

const skip = ringUnavailable();
if (skip) console.log('skipping RxRing lifecycle tests:', skip);

checkFdLeaks();

let w: Wire;
const fds = new Set<number>();
const rings = new Set<s.RxRing>();

/** A SOCK_RAW packet socket in namespace `b`, bound to the test EtherType on the veth end. */
function packetSocket(bound = true): number {
  const fd = s.socketIn(w.b.path, s.AF_PACKET, s.SOCK_RAW, 0);
  fds.add(fd);
  if (bound) s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(ETHERTYPE), ifindex: w.link.b.index });
  return fd;
}

function closeFd(fd: number): void {
  fds.delete(fd);
  s.close(fd);
}

const small = { blockSize: 4096, blockCount: 2, retireTimeout: 5 } as const;

/** Runs `body` in a child node process with `s` (sockfd, from dist/) and the wire's names in scope; returns its JSON. */
function child<T>(body: string, flags: string[] = []): T {
  const script = `
    'use strict';
    const s = require(${JSON.stringify(DIST_INDEX)});
    const fs = require('node:fs');
    const B = ${JSON.stringify(w.b.path)}, A = ${JSON.stringify(w.a.path)};
    const IFB = ${w.link.b.index}, IFA = ${w.link.a.index}, PROTO = ${ETHERTYPE};
    const maps = (inode) => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('socket:[' + inode + ']')).length;
    const inodeOf = (fd) => /\\d+/.exec(fs.readlinkSync('/proc/self/fd/' + fd))[0];
    const tx = s.socketIn(A, s.AF_PACKET, s.SOCK_RAW, 0);
    s.bind(tx, { family: s.AF_PACKET, protocol: 0, ifindex: IFA });
    const send = (first, n) => { for (let i = 0; i < n; i++) { const f = Buffer.alloc(64); f.fill(0xff, 0, 6); f.writeUInt16BE(PROTO, 12); f.writeUInt32BE(first + i, 14); s.send(tx, f); } };
    const done = (v) => process.stdout.write(JSON.stringify(v));
    (async () => { ${body} })().catch((err) => { console.error(err && err.stack || err); process.exit(1); });
  `;
  const r = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`child exited ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe.skipIf(skip !== null)('RxRing lifetime', () => {
  beforeAll(async () => {
    w = await makeWire();
  });
  afterEach(() => {
    for (const r of rings) r.close();
    rings.clear();
    for (const fd of fds) s.close(fd);
    fds.clear();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('closing the fd with sockfd close unmaps its ring first: held views read as empty, the mapping is gone, the ring says closed', async () => {
    const fd = packetSocket();
    const inode = socketInode(fd);
    const ring = new s.RxRing(fd, small);
    flood(w, 0, 3);
    const block = await ring.waitBlock({ timeout: 5000 });
    const data = block.nextFrame()!.data;
    expect(ringMappings(inode)).toHaveLength(1);
    closeFd(fd);
    expect(ring.closed).toBe(true);
    expect(block.released).toBe(true);
    expect(data.length).toBe(0);
    expect(ringMappings(inode)).toEqual([]);
    expect(() => ring.nextBlock()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
    expect(() => ring.stats()).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
    expect(() => ring.watch(() => {})).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
    await expect(ring.waitBlock()).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    ring.close(); // idempotent
  });

  it('an fd closed behind sockfd\'s back leaves the ring working on the mapping (which holds the socket) until ring.close() unmaps it', () => {
    const fd = packetSocket();
    const inode = socketInode(fd);
    const ring = new s.RxRing(fd, small);
    fds.delete(fd);
    closeSync(fd);
    expect(fdTarget(fd)).toBeUndefined();
    // The 27th frame does not fit block 0: the kernel hands it over at once.
    flood(w, 0, 30);
    const block = ring.nextBlock()!;
    expect(block.frameCount).toBe(26);
    expect(seqOf(block.nextFrame()!.data)).toBe(0);
    expect(ringMappings(inode)).toHaveLength(1);
    ring.close();
    expect(block.bytes.length).toBe(0);
    expect(ringMappings(inode)).toEqual([]);
  });

  it('after ring.close() the socket is a plain packet socket again: recvfrom gets frames, and a new ring can be made on it', async () => {
    const fd = packetSocket();
    const ring = new s.RxRing(fd, small);
    ring.close();
    flood(w, 9, 1);
    const [r] = s.poll([{ fd, events: s.POLLIN }], 2000);
    expect(r!.revents & s.POLLIN).toBe(s.POLLIN);
    const buf = Buffer.alloc(128);
    expect(s.recv(fd, buf)).toBe(64);
    expect(seqOf(buf)).toBe(9);
    const again = new s.RxRing(fd, small);
    rings.add(again);
    flood(w, 10, 1);
    const block = await again.waitBlock({ timeout: 5000 });
    expect(seqOf(block.nextFrame()!.data)).toBe(10);
  });

  it('leaves no fd and no mapping behind after 50 rings opened and closed, blocks held or not', () => {
    const before = socketMappings();
    for (let i = 0; i < 50; i++) {
      const ring = s.openRxRing(w.link.b.index, { netns: w.b.path, protocol: ETHERTYPE, ...small });
      if (i % 2) {
        flood(w, i, 30);
        ring.nextBlock();
      }
      ring.close();
      expect(fdTarget(ring.fd)).toBeUndefined();
    }
    expect(socketMappings()).toEqual(before);
  });

  it('a ring dropped without close stays mapped (it is its fd\'s) until the fd is closed with sockfd close', () => {
    const got = child<{ mappedAfterGc: number; mappedAfterClose: number }>(
      `
      const fd = s.socketIn(B, s.AF_PACKET, s.SOCK_RAW, 0);
      const inode = inodeOf(fd);
      (() => { new s.RxRing(fd, { blockSize: 4096, blockCount: 2 }); })();
      gc(); await new Promise(setImmediate); gc();
      const mappedAfterGc = maps(inode);
      s.close(fd);
      done({ mappedAfterGc, mappedAfterClose: maps(inode) });
      `,
      ['--expose-gc'],
    );
    expect(got).toEqual({ mappedAfterGc: 1, mappedAfterClose: 0 });
  });

  it('a worker_thread terminated with its ring mapped, a block and views held, a wait and a watch pending: unmapped, nothing aborts', () => {
    const got = child<{ mappedBefore: number; mappedAfter: number; code: number; fd: number }>(`
      const { Worker } = require('node:worker_threads');
      const body = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const s = require(\${JSON.stringify(${JSON.stringify(DIST_INDEX)})});
        const ring = s.openRxRing(workerData.IFB, { netns: workerData.B, protocol: workerData.PROTO, blockSize: 4096, blockCount: 4, retireTimeout: 5 });
        parentPort.postMessage({ fd: ring.fd });
        ring.waitBlock().then((block) => {
          globalThis.keep = [block, block.nextFrame().data, block.bytes];
          ring.waitBlock().catch(() => {});
          ring.watch(() => {});
          parentPort.postMessage({ holding: true });
        });
      \`;
      const worker = new Worker(body, { eval: true, workerData: { IFB, B, PROTO } });
      let fd;
      await new Promise((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (m) => { if (m.fd !== undefined) { fd = m.fd; send(0, 3); } if (m.holding) resolve(); });
      });
      const inode = inodeOf(fd);
      const mappedBefore = maps(inode);
      const code = await worker.terminate();
      send(10, 50);                                   // frames at the socket the dead worker mapped
      await new Promise((r) => setTimeout(r, 50));
      const mappedAfter = maps(inode);
      s.close(fd);                                    // fds are the process's: terminate does not close them
      done({ mappedBefore, mappedAfter, code, fd });
    `);
    expect(got.mappedBefore).toBe(1);
    expect(got.mappedAfter).toBe(0);
    expect(got.code).toBe(1);
  });
});

describe.skipIf(skip !== null)('RxRing and packet-socket argument checks', () => {
  beforeAll(async () => {
    w = await makeWire();
  });
  afterEach(() => {
    for (const r of rings) r.close();
    rings.clear();
    for (const fd of fds) s.close(fd);
    fds.clear();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('refuses ring geometry the kernel would refuse or waste, before any system call, naming the option', () => {
    const fd = packetSocket(false);
    const bad: [unknown, string][] = [
      [{ blockSize: 12288 }, 'ERR_OUT_OF_RANGE'],
      [{ blockSize: 2048 }, 'ERR_OUT_OF_RANGE'],
      [{ blockSize: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
      [{ blockSize: '4096' }, 'ERR_INVALID_ARG_TYPE'],
      [{ blockSize: 4096, frameSize: 64 }, 'ERR_OUT_OF_RANGE'],
      [{ blockSize: 4096, frameSize: 88 }, 'ERR_OUT_OF_RANGE'],
      [{ blockSize: 4096, frameSize: 8192 }, 'ERR_OUT_OF_RANGE'],
      [{ blockCount: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ blockCount: 2 ** 20 + 1 }, 'ERR_OUT_OF_RANGE'],
      [{ blockCount: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ blockSize: 1 << 30, frameSize: 80, blockCount: 512 }, 'ERR_OUT_OF_RANGE'],
      [{ retireTimeout: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ rxhash: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [{ blocks: 4 }, 'ERR_INVALID_ARG_VALUE'],
      [null, 'ERR_INVALID_ARG_TYPE'],
      ['big', 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, code] of bad) {
      expect(() => new s.RxRing(fd, options as s.RxRingOptions), JSON.stringify(options)).toThrow(expect.objectContaining({ code }));
    }
    expect(() => new s.RxRing(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new s.RxRing('3' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    // Nothing was changed on the socket: it still takes a ring.
    rings.add(new s.RxRing(fd, small));
  });

  it('refuses a socket that is not AF_PACKET, a second ring on one fd, and reports the kernel\'s refusals as SystemErrors', () => {
    const udp = s.socket(s.AF_INET, s.SOCK_DGRAM);
    fds.add(udp);
    expect(() => new s.RxRing(udp, small)).toThrow(expect.objectContaining({ code: 'ENOTSUP', syscall: 'getsockopt', message: expect.stringContaining('not an AF_PACKET socket') }));
    const fd = packetSocket();
    const ring = new s.RxRing(fd, small);
    rings.add(ring);
    expect(() => new s.RxRing(fd, small)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(s.getsockopt(fd, s.SOL_PACKET, s.PACKET_VERSION)).toBe(s.TPACKET_V3);
    expect(() => new s.RxRing(999_999, small)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('openRxRing checks the interface, type and options, and closes its socket when a step fails', () => {
    const before = new Set(fds);
    expect(() => s.openRxRing('nosuch0', small)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => s.openRxRing('eth0', { ...small, netns: w.b.path })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => s.openRxRing(w.link.b.index, { ...small, netns: w.b.path, type: 5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => s.openRxRing(w.link.b.index, { ...small, netns: w.b.path, protocol: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => s.openRxRing(true as never, small)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const open = new Set(fdsNow());
    expect(() => s.openRxRing(0, { ...small, netns: w.b.path, promiscuous: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => s.openRxRing(w.link.b.index, { ...small, netns: w.b.path, fanout: { type: 99, id: 1 } })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(new Set(fdsNow())).toEqual(open);
    expect(fds).toEqual(before);
  });

  it('a ring\'s promiscuous option and filter are applied to its socket', () => {
    const ring = s.openRxRing(w.link.b.index, { ...small, netns: w.b.path, protocol: ETHERTYPE, promiscuous: true, filter: [{ code: 0x06, jt: 0, jf: 0, k: 0 }] });
    rings.add(ring);
    flood(w, 0, 40);
    // `ret #0` drops every frame before the ring: nothing to hand over, nothing counted.
    expect(ring.nextBlock()).toBeNull();
    expect(ring.stats()).toEqual({ packets: 0, drops: 0, freezeQueueCount: 0 });
  });

  it('the native ring calls check their arguments and their state themselves', () => {
    const fd = packetSocket(false);
    expect(() => native.setRxRing(fd, 12288, 2, 2048, 5, 0)).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringContaining('blockSize') }));
    expect(() => native.setRxRing(fd, 4096, 2, 88, 5, 0)).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringContaining('frameSize') }));
    expect(() => native.setRxRing(fd, 4096, 2, 2048, 5, 2)).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringContaining('features') }));
    // A ring of version TPACKET_V1 (the socket's default) uses another header: set V3 as RxRing does.
    native.setsockopt(fd, s.SOL_PACKET, s.PACKET_VERSION, s.TPACKET_V3);
    expect(native.setRxRing(fd, 4096, 2, 2048, 5, 0)).toBe(0);
    expect(native.ringMap(fd, 4096, 4)).toBe(-22); // EINVAL: not the ring's size
    const handle = native.ringMap(fd, 4096, 2);
    expect(typeof handle).not.toBe('number');
    const h = handle as Exclude<typeof handle, number>;
    expect(() => native.ringNext({} as never, new Float64Array(16))).toThrow(expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('ring handle') }));
    expect(() => native.ringNext(h, new Float64Array(2))).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => native.ringNext(h, new Uint32Array(16) as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(native.ringNext(h, new Float64Array(16))).toBe(-11); // EAGAIN: nothing yet
    expect(native.ringRelease(h, 1)).toBe(-22); // EINVAL: not held
    expect(native.ringRelease(h, 7)).toBe(-22);
    expect(native.ringUnmap(h)).toBe(0);
    expect(native.ringUnmap(h)).toBe(0);
    expect(native.ringNext(h, new Float64Array(16))).toBe(-9); // EBADF: unmapped
    expect(native.ringRelease(h, 0)).toBe(-9);
    expect(() => native.packetStatistics(fd, new Uint32Array(2))).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(() => native.packetFanout(fd, 70000, 0, 0)).toThrow(expect.objectContaining({ name: 'RangeError' }));
  });

  it('packetStatistics reads and resets a plain packet socket\'s counters, and refuses other sockets', () => {
    const fd = packetSocket();
    flood(w, 0, 5);
    expect(s.packetStatistics(fd)).toEqual({ packets: 5, drops: 0, freezeQueueCount: 0 });
    expect(s.packetStatistics(fd)).toEqual({ packets: 0, drops: 0, freezeQueueCount: 0 });
    const udp = s.socket(s.AF_INET, s.SOCK_DGRAM);
    fds.add(udp);
    expect(() => s.packetStatistics(udp)).toThrow(expect.objectContaining({ code: 'ENOTSUP', syscall: 'getsockopt', message: expect.stringContaining('AF_PACKET') }));
    expect(() => s.packetStatistics(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});

function fdsNow(): number[] {
  return require('node:fs').readdirSync('/proc/self/fd').map(Number) as number[];
}

describe('RxBlock and RxFrame constructors', () => {
  it('are for instanceof only: calling them gives ERR_ILLEGAL_CONSTRUCTOR, whatever the arguments (a forged block would read outside its buffer)', () => {
    const info = new Float64Array(16).fill(1);
    const forged: unknown[][] = [[], [{ releaseBlock() {} }, new ArrayBuffer(64), info], [Symbol('sockfd.ring'), { releaseBlock() {} }, new ArrayBuffer(64), info]];
    for (const args of forged) {
      expect(() => Reflect.construct(s.RxBlock, args)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR', message: expect.stringContaining('RxRing.nextBlock()') }));
      expect(() => Reflect.construct(s.RxFrame, args)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR', message: expect.stringContaining('RxBlock.nextFrame()') }));
    }
  });
});
