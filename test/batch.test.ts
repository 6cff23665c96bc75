// MMsgBatch: the reusable, allocation-free batch of datagram slots behind `sendmmsg(fd, batch, ...)`,
// `recvmmsgInto(fd, batch, ...)` and `promises.recvmmsgInto(fd, batch, ...)`, and the native
// `sendmmsgPacked` / `recvmmsgPacked` they call.
//
// Covered: the constructor's and the accessors' argument checks; sending slots (per-slot lengths and
// addresses, connected peers, cleared addresses, start/count subsets, IPv6) to Node `dgram`
// receivers; receiving into slots (lengths, contents, senders, flags, MSG_TRUNC, start/count,
// MSG_DONTWAIT, recvmmsg's timeout) from `dgram` and Python senders; the promise form (waiting,
// AbortSignal, timeout); worker threads (the native side keeps its mmsghdr storage per thread); and
// inputs the native layer must refuse rather than crash on (mutated lengths, bogus address lengths,
// replaced or detached arrays, fds that are not sockets).
//
// Everything is on loopback (127.0.0.1 and ::1) and every wait is bounded: blocking receives run on
// sockets with SO_RCVTIMEO 2000 ms, other receives use MSG_DONTWAIT after a poll with a timeout,
// promise calls carry { timeout } or are aborted, child processes are killed after 10 s, and worker
// messages time out after 5 s.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  MMSG_BATCH_MAX,
  MMsgBatch,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MSG_WAITFORONE,
  SOCKADDR_BINARY_SIZE,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_RCVTIMEO,
  SystemError,
  bind,
  close,
  connect,
  decodeSockaddr,
  encodeSockaddr,
  getsockname,
  recvfrom,
  recvmmsgInto,
  sendmmsg,
  setsockopt,
  socket,
  socketpair,
  type SockAddr,
} from '../src/index.js';
import type { InetFamily } from '../src/index.js';
import * as promises from '../src/promises.js';
import { expectNothingQueued, thrown, waitReadable } from './helpers/expect.js';
import { DIST_INDEX, DIST_PROMISES, message } from './helpers/workers.js';
import { checkFdLeaks, openFds, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// Resources: fds, dgram sockets, child processes and workers a test opened; afterEach releases
// whatever a test did not release itself.

const { own, release } = ownFds();
const dgrams = new Set<dgram.Socket>();
const children = new Set<ChildProcess>();
const workers = new Set<Worker>();
/** fds a worker opened and has not yet reported closed (fds outlive a terminated worker). */
const workerFds = new Set<number>();

afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await Promise.all([...workers].map((w) => w.terminate().catch(() => undefined)));
  workers.clear();
  for (const fd of workerFds) {
    try {
      close(fd);
    } catch {
      // already closed
    }
  }
  workerFds.clear();
  await Promise.all([...dgrams].map(closeDgram));
});

const LOOPBACK = '127.0.0.1';
const LOOPBACK6 = '::1';
const { EAGAIN, EBADF, EDESTADDRREQ, EINVAL, ENOTSOCK } = os.constants.errno;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A blocking UDP socket bound to an ephemeral loopback port, with SO_RCVTIMEO 2000 ms. */
function udp(family: InetFamily = AF_INET): number {
  const fd = own(socket(family, SOCK_DGRAM));
  bind(fd, family === AF_INET ? { family, address: LOOPBACK, port: 0 } : { family, address: LOOPBACK6, port: 0 });
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 2000);
  return fd;
}

/** The port an fd is bound to. */
function portOf(fd: number): number {
  return (getsockname(fd) as { port: number }).port;
}



/** Every datagram queued on `fd` right now (after waiting up to 2 s for the first), as latin1. */
function drain(fd: number, max = 64): string[] {
  waitReadable(fd);
  const out: string[] = [];
  const buf = Buffer.alloc(65536);
  for (let i = 0; i < max; i++) {
    try {
      const { bytes } = recvfrom(fd, buf, undefined, MSG_DONTWAIT);
      out.push(buf.toString('latin1', 0, bytes));
    } catch (err) {
      if ((err as SystemError).code === 'EAGAIN') break;
      throw err;
    }
  }
  return out;
}

/** A distinct datagram of `len` bytes: a tag then a repeating pattern. */
function payload(tag: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = 0x41 + ((i * 7 + tag.length) % 26);
  Buffer.from(tag).copy(b, 0, 0, Math.min(tag.length, len));
  return b;
}

/** The text of slot i's message. */
function text(batch: MMsgBatch, i: number): string {
  return Buffer.from(batch.message(i)).toString('latin1');
}

interface Got {
  data: Buffer;
  address: string;
  port: number;
}

interface Peer {
  socket: dgram.Socket;
  got: Got[];
  port: number;
  address: SockAddr;
  /** Waits up to 2 s until `n` datagrams have arrived, then expects exactly `n`. */
  received(n: number): Promise<void>;
  /** Expects nothing to have arrived after `ms` more milliseconds. */
  nothing(ms?: number): Promise<void>;
}

/** A Node dgram socket bound to a loopback port, collecting what it receives. */
async function dgramPeer(type: 'udp4' | 'udp6' = 'udp4'): Promise<Peer> {
  const sock = dgram.createSocket(type);
  dgrams.add(sock);
  const got: Got[] = [];
  sock.on('message', (data, rinfo) => got.push({ data, address: rinfo.address, port: rinfo.port }));
  const host = type === 'udp4' ? LOOPBACK : LOOPBACK6;
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const port = sock.address().port;
  const address: SockAddr = { family: type === 'udp4' ? AF_INET : AF_INET6, address: host, port };
  return {
    socket: sock,
    got,
    port,
    address,
    async received(n) {
      const deadline = Date.now() + 2000;
      while (got.length < n && Date.now() < deadline) await sleep(5);
      // A little longer, to catch any datagram beyond the n expected.
      await sleep(20);
      expect(got.length, `datagrams received by dgram port ${port}`).toBe(n);
    },
    async nothing(ms = 100) {
      await sleep(ms);
      expect(got, `dgram port ${port} should have received nothing`).toEqual([]);
    },
  };
}

function closeDgram(s: dgram.Socket): Promise<void> {
  dgrams.delete(s);
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Sends each buffer from a dgram socket to `port`, resolving once all are handed to the kernel. */
async function dgramSend(sock: dgram.Socket, bufs: Buffer[], port: number, host = LOOPBACK): Promise<void> {
  for (const b of bufs) {
    await new Promise<void>((resolve, reject) => sock.send(b, port, host, (err) => (err ? reject(err) : resolve())));
  }
}

// A Python sender: binds 127.0.0.1:0, prints its port, then sends each argument (latin-1) as one
// datagram to 127.0.0.1:argv[1], `gap` seconds apart.
const PY_SENDER = [
  'import socket, sys, time',
  'port, gap, msgs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  "s.bind(('127.0.0.1', 0))",
  'print(s.getsockname()[1], flush=True)',
  'for i, m in enumerate(msgs):',
  '    if i and gap: time.sleep(gap)',
  "    s.sendto(m.encode('latin-1'), ('127.0.0.1', port))",
  's.close()',
].join('\n');

/** Runs the Python sender to completion; resolves with the port it sent from. */
function pythonSend(port: number, msgs: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', PY_SENDER, String(port), '0', ...msgs], { timeout: 10_000 }, (err, stdout) =>
      err ? reject(err) : resolve(Number(stdout.trim())),
    );
  });
}

/** Starts the Python sender (it runs on while this process blocks); `done` resolves with its port. */
function pythonSendLater(port: number, gap: number, msgs: string[]): { done: Promise<number> } {
  const child = spawn('python3', ['-c', PY_SENDER, String(port), String(gap), ...msgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  let out = '';
  let errOut = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (errOut += d));
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(Number(out.trim()));
      else reject(new Error(`python exited ${code}: ${errOut}`));
    });
  });
  return { done };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Socket fds open in this process, as `fd -> socket:[inode]`. */
function socketFds(): Map<number, string> {
  return new Map([...openFds()].filter(([, t]) => t.startsWith('socket:')));
}

const in4 = (port: number): SockAddr => ({ family: AF_INET, address: LOOPBACK, port });
const in6 = (port: number): SockAddr => ({ family: AF_INET6, address: LOOPBACK6, port, flowinfo: 0, scopeId: 0 });

// ---------------------------------------------------------------------------------------------

describe('new MMsgBatch', () => {
  it('lays out slots * size bytes of data, one length and one flags entry per slot, and addresses only when asked', () => {
    const b = new MMsgBatch(5, 12);
    expect(b.slots).toBe(5);
    expect(b.size).toBe(12);
    expect(b.data).toBeInstanceOf(Uint8Array);
    expect(b.data.byteLength).toBe(60);
    expect(b.lengths).toBeInstanceOf(Uint32Array);
    expect([...b.lengths]).toEqual([0, 0, 0, 0, 0]);
    expect(b.flags).toBeInstanceOf(Uint32Array);
    expect(b.flags.length).toBe(5);
    expect(b.addresses).toBeUndefined();
    const a = new MMsgBatch(3, 1, { addresses: true });
    expect(a.addresses).toBeInstanceOf(Uint8Array);
    expect(a.addresses!.byteLength).toBe(3 * SOCKADDR_BINARY_SIZE);
    expect(new MMsgBatch(2, 2, { addresses: false }).addresses).toBeUndefined();
    expect(MMSG_BATCH_MAX).toBe(1024);
    expect(new MMsgBatch(MMSG_BATCH_MAX, 1).slots).toBe(1024);
  });

  it('refuses slot counts that are not integers in 1..1024 (RangeError ERR_OUT_OF_RANGE) or not numbers (TypeError ERR_INVALID_ARG_TYPE)', () => {
    for (const bad of [0, 1025, 1.5, -1, NaN, Infinity]) {
      const err = thrown(() => new MMsgBatch(bad, 8));
      expect(err, `slots ${bad}`).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect((err as Error).message).toMatch(/"slots"/);
    }
    for (const bad of ['3', undefined, null, 3n, {}]) {
      const err = thrown(() => new MMsgBatch(bad as unknown as number, 8));
      expect(err, `slots ${String(bad)}`).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect((err as Error).message).toMatch(/"slots"/);
    }
  });

  it('refuses a size that is not an integer in 1..2**31-1 (RangeError) or not a number (TypeError)', () => {
    for (const bad of [0, -1, 1.5, 2 ** 31, NaN]) {
      const err = thrown(() => new MMsgBatch(2, bad));
      expect(err, `size ${bad}`).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect((err as Error).message).toMatch(/"size"/);
    }
    const err = thrown(() => new MMsgBatch(2, '8' as unknown as number));
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('refuses options that are not an object with a TypeError ERR_INVALID_ARG_TYPE', () => {
    for (const bad of [null, 5, 'addresses', true]) {
      const err = thrown(() => new MMsgBatch(2, 8, bad as unknown as object));
      expect(err, `options ${String(bad)}`).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect((err as Error).message).toMatch(/"options"/);
    }
  });
});

describe('MMsgBatch slots and addresses', () => {
  it('checks the index of slot, message, address, set and setAddress (RangeError out of range, TypeError not a number)', () => {
    const b = new MMsgBatch(3, 8, { addresses: true });
    const calls: [string, (i: number) => unknown][] = [
      ['slot', (i) => b.slot(i)],
      ['message', (i) => b.message(i)],
      ['address', (i) => b.address(i)],
      ['set', (i) => b.set(i, Buffer.from('x'))],
      ['setAddress', (i) => b.setAddress(i, null)],
    ];
    for (const [name, call] of calls) {
      for (const bad of [-1, 3, 1.5, 2 ** 32, NaN]) {
        const err = thrown(() => call(bad));
        expect(err, `${name}(${bad})`).toBeInstanceOf(RangeError);
        expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      }
      const err = thrown(() => call('0' as unknown as number));
      expect(err, `${name}('0')`).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    }
    // Nothing was written by the refused calls.
    expect([...b.lengths]).toEqual([0, 0, 0]);
    expect(b.data.every((x) => x === 0)).toBe(true);
  });

  it('slot(i) is a view of the batch memory and message(i) the first lengths[i] bytes, capped at the slot size', () => {
    const b = new MMsgBatch(3, 6);
    b.slot(1).set([1, 2, 3, 4, 5, 6]);
    expect([...b.data.subarray(6, 12)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.slot(1).buffer).toBe(b.data.buffer);
    expect(b.message(1).byteLength).toBe(0);
    b.lengths[1] = 4;
    expect([...b.message(1)]).toEqual([1, 2, 3, 4]);
    b.lengths[1] = 1000; // as after a truncated receive under MSG_TRUNC
    expect([...b.message(1)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.slot(2).byteLength).toBe(6);
  });

  it('set() copies the bytes (not aliasing them) and sets lengths[i]; bytes longer than the slot are refused, leaving the slot as it was', () => {
    const b = new MMsgBatch(2, 5);
    const src = Buffer.from('abc');
    b.set(0, src);
    src.write('zzz');
    expect(text(b, 0)).toBe('abc');
    expect(b.lengths[0]).toBe(3);
    b.set(1, new Uint16Array([0x4241, 0x4443])); // any ArrayBufferView, by its bytes
    expect(b.lengths[1]).toBe(4);
    const tooLong = thrown(() => b.set(0, Buffer.from('123456')));
    expect(tooLong).toBeInstanceOf(RangeError);
    expect(tooLong).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(text(b, 0)).toBe('abc');
    expect(b.lengths[0]).toBe(3);
    expect(b.set(0, Buffer.from('12345'))).toBeUndefined(); // exactly the slot size is fine
    expect(text(b, 0)).toBe('12345');
    const notView = thrown(() => b.set(0, 'abc' as unknown as Buffer));
    expect(notView).toBeInstanceOf(TypeError);
    expect(notView).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('address() and setAddress() on a batch made without addresses throw a TypeError', () => {
    const b = new MMsgBatch(2, 8);
    expect(() => b.address(0)).toThrow(TypeError);
    expect(() => b.address(0)).toThrow(/addresses: true/);
    expect(() => b.setAddress(0, in4(9))).toThrow(TypeError);
    expect(() => b.setAddress(1, null)).toThrow(TypeError);
  });

  it('setAddress takes a SockAddr or its binary form, null clears it, and address(i) decodes back', () => {
    const b = new MMsgBatch(3, 8, { addresses: true });
    expect(b.address(0).byteLength).toBe(SOCKADDR_BINARY_SIZE);
    b.setAddress(0, in4(4242));
    expect(decodeSockaddr(b.address(0))).toEqual(in4(4242));
    b.setAddress(1, encodeSockaddr(in6(4343)));
    expect(decodeSockaddr(b.address(1))).toEqual(in6(4343));
    // A shorter address over a longer one leaves no stale bytes behind.
    b.setAddress(1, in4(7));
    expect(decodeSockaddr(b.address(1))).toEqual(in4(7));
    expect(b.address(1).subarray(4 + 16).every((x) => x === 0)).toBe(true);
    b.setAddress(0, null);
    expect(b.address(0).every((x) => x === 0)).toBe(true);
    // set() with an address sets both.
    b.set(2, Buffer.from('hi'), in4(99));
    expect(decodeSockaddr(b.address(2))).toEqual(in4(99));
    expect(text(b, 2)).toBe('hi');
    // Copying one slot's address to another.
    b.setAddress(0, b.address(2));
    expect(decodeSockaddr(b.address(0))).toEqual(in4(99));
  });

  it('setAddress refuses a malformed binary address or SockAddr, leaving the slot address as it was', () => {
    const b = new MMsgBatch(1, 8, { addresses: true });
    b.setAddress(0, in4(1234));
    const bogus: Uint8Array[] = [
      new Uint8Array(3), // shorter than its length field
      Uint8Array.from([1, 0, 0, 0, 2, 0]), // length 1: less than a family
      Uint8Array.from([200, 0, 0, 0, 2, 0]), // length 200, more than a sockaddr_storage
      Uint8Array.from([16, 0, 0, 0, 2, 0, 0, 0]), // claims 16 bytes, holds 4
      new Uint8Array(0),
    ];
    for (const bin of bogus) {
      const err = thrown(() => b.setAddress(0, bin));
      expect(err, `binary ${[...bin]}`).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect(decodeSockaddr(b.address(0))).toEqual(in4(1234));
    }
    expect(() => b.setAddress(0, { family: AF_INET, address: 'not an ip', port: 1 })).toThrow(TypeError);
    expect(() => b.setAddress(0, { family: AF_INET, address: LOOPBACK, port: 70000 })).toThrow(RangeError);
    expect(decodeSockaddr(b.address(0))).toEqual(in4(1234));
  });

  it('setAddress(i, batch.address(i)) keeps the slot address (the same memory given back)', () => {
    const b = new MMsgBatch(2, 8, { addresses: true });
    b.setAddress(0, in4(5555));
    b.setAddress(0, b.address(0));
    expect(Buffer.from(b.address(0))).toEqual(encodeSockaddr(in4(5555)));
    b.setAddress(1, in6(6666));
    b.set(1, Buffer.from('reply'), b.address(1));
    expect(Buffer.from(b.address(1))).toEqual(encodeSockaddr(in6(6666)));
  });

  it('set() whose address is refused leaves the slot bytes, length and address as they were', () => {
    const b = new MMsgBatch(1, 8, { addresses: true });
    b.set(0, Buffer.from('old'), in4(1111));
    expect(() => b.set(0, Buffer.from('new!'), Uint8Array.from([1, 0, 0, 0, 2]))).toThrow(RangeError);
    expect(text(b, 0)).toBe('old');
    expect(b.lengths[0]).toBe(3);
    expect(decodeSockaddr(b.address(0))).toEqual(in4(1111));
    const noAddrs = new MMsgBatch(1, 8);
    noAddrs.set(0, Buffer.from('old'));
    expect(() => noAddrs.set(0, Buffer.from('new!'), in4(1111))).toThrow(TypeError);
    expect(text(noAddrs, 0)).toBe('old');
    expect(noAddrs.lengths[0]).toBe(3);
  });
});

describe('sendmmsg(fd, batch)', () => {
  it('sends every slot, each with its own length, to a dgram receiver, from the sending socket\'s port', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const lens = [1, 7, 0, 64, 200, 33];
    const batch = new MMsgBatch(lens.length, 200, { addresses: true });
    const sent = lens.map((n, i) => payload(`s${i}`, n));
    sent.forEach((buf, i) => batch.set(i, buf, peer.address));
    expect(sendmmsg(fd, batch)).toBe(lens.length);
    await peer.received(lens.length);
    expect(peer.got.map((g) => g.data)).toEqual(sent);
    for (const g of peer.got) expect(g).toMatchObject({ address: LOOPBACK, port: portOf(fd) });
  });

  it('sends each slot to its own address: two dgram receivers, interleaved', async () => {
    const p1 = await dgramPeer();
    const p2 = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(6, 16, { addresses: true });
    for (let i = 0; i < 6; i++) batch.set(i, Buffer.from(`to ${i % 2 ? 'p2' : 'p1'} #${i}`), i % 2 ? p2.address : encodeSockaddr(p1.address));
    expect(sendmmsg(fd, batch)).toBe(6);
    await p1.received(3);
    await p2.received(3);
    expect(p1.got.map((g) => g.data.toString())).toEqual(['to p1 #0', 'to p1 #2', 'to p1 #4']);
    expect(p2.got.map((g) => g.data.toString())).toEqual(['to p2 #1', 'to p2 #3', 'to p2 #5']);
    for (const g of [...p1.got, ...p2.got]) expect(g.port).toBe(portOf(fd));
  });

  it('sends a batch without addresses to a connected socket\'s peer', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    connect(fd, peer.address);
    const batch = new MMsgBatch(4, 10);
    ['Michael', 'Tracy', 'Sarah', 'Bob'].forEach((n, i) => batch.set(i, Buffer.from(n)));
    expect(sendmmsg(fd, batch)).toBe(4);
    await peer.received(4);
    expect(peer.got.map((g) => g.data.toString())).toEqual(['Michael', 'Tracy', 'Sarah', 'Bob']);
  });

  it('sends a slot whose address was cleared with setAddress(i, null) to the connected peer, the others to their own address', async () => {
    const connected = await dgramPeer();
    const other = await dgramPeer();
    const fd = udp();
    connect(fd, connected.address);
    const batch = new MMsgBatch(3, 16, { addresses: true });
    for (let i = 0; i < 3; i++) batch.set(i, Buffer.from(`m${i}`), other.address);
    batch.setAddress(1, null);
    expect(sendmmsg(fd, batch)).toBe(3);
    await connected.received(1);
    await other.received(2);
    expect(connected.got.map((g) => g.data.toString())).toEqual(['m1']);
    expect(other.got.map((g) => g.data.toString())).toEqual(['m0', 'm2']);
  });

  it('on an unconnected socket, stops at a slot with no address (EDESTADDRREQ when it is the first)', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(3, 16, { addresses: true });
    for (let i = 0; i < 3; i++) batch.set(i, Buffer.from(`m${i}`), peer.address);
    batch.setAddress(1, null);
    expect(sendmmsg(fd, batch)).toBe(1); // the kernel reports the one sent before the failing slot
    const err = thrown(() => sendmmsg(fd, batch, 0, 2, 1));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EDESTADDRREQ', syscall: 'sendmmsg', errno: -EDESTADDRREQ });
    await peer.received(1);
    expect(peer.got[0]!.data.toString()).toBe('m0');
  });

  it('sends only slots [start, start + count): slots 2..4 of 6, then the tail from start alone, then the head from count alone', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(6, 8, { addresses: true });
    for (let i = 0; i < 6; i++) batch.set(i, Buffer.from(`slot ${i}`), peer.address);
    expect(sendmmsg(fd, batch, 0, 3, 2)).toBe(3);
    await peer.received(3);
    expect(peer.got.map((g) => g.data.toString())).toEqual(['slot 2', 'slot 3', 'slot 4']);
    peer.got.length = 0;
    expect(sendmmsg(fd, batch, 0, undefined, 4)).toBe(2);
    await peer.received(2);
    expect(peer.got.map((g) => g.data.toString())).toEqual(['slot 4', 'slot 5']);
    peer.got.length = 0;
    expect(sendmmsg(fd, batch, 0, 2)).toBe(2);
    await peer.received(2);
    expect(peer.got.map((g) => g.data.toString())).toEqual(['slot 0', 'slot 1']);
  });

  it('count 0 (or start at the end) sends nothing and returns 0', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(3, 8, { addresses: true });
    for (let i = 0; i < 3; i++) batch.set(i, Buffer.from('x'), peer.address);
    expect(sendmmsg(fd, batch, 0, 0)).toBe(0);
    expect(sendmmsg(fd, batch, 0, 0, 2)).toBe(0);
    expect(sendmmsg(fd, batch, 0, undefined, 3)).toBe(0);
    await peer.nothing();
  });

  it('refuses count/start out of range with a RangeError ERR_OUT_OF_RANGE (non-numbers: TypeError), sending nothing', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(4, 8, { addresses: true });
    for (let i = 0; i < 4; i++) batch.set(i, Buffer.from('x'), peer.address);
    const ranges: [number | undefined, number][] = [
      [5, 0],
      [2, 3],
      [1, 4],
      [undefined, 5],
      [-1, 0],
      [1, -1],
      [1.5, 0],
      [1, 0.5],
      [NaN, 0],
    ];
    for (const [count, start] of ranges) {
      const err = thrown(() => sendmmsg(fd, batch, 0, count, start));
      expect(err, `count ${count} start ${start}`).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    }
    expect(thrown(() => sendmmsg(fd, batch, 0, '1' as unknown as number))).toBeInstanceOf(TypeError);
    expect(thrown(() => sendmmsg(fd, batch, 0, 1, '0' as unknown as number))).toBeInstanceOf(TypeError);
    await peer.nothing();
  });

  it('refuses a slot whose length exceeds the slot size with a RangeError, sending none of the slots (not even those before it)', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const rx = udp();
    const batch = new MMsgBatch(4, 8, { addresses: true });
    for (let i = 0; i < 4; i++) batch.set(i, Buffer.from(`ok ${i}`), i % 2 ? getsockname(rx) : peer.address);
    batch.lengths[2] = 9;
    const err = thrown(() => sendmmsg(fd, batch));
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect((err as Error).message).toMatch(/slot 2/);
    // Outside the range sent, the bad length does not matter.
    expect(sendmmsg(fd, batch, 0, 1, 3)).toBe(1);
    await peer.nothing();
    expect(drain(rx)).toEqual(['ok 3']);
  });

  it('sends to IPv6 (::1) addresses: two udp6 dgram receivers, from the sender\'s port', async () => {
    const p1 = await dgramPeer('udp6');
    const p2 = await dgramPeer('udp6');
    const fd = udp(AF_INET6);
    const batch = new MMsgBatch(4, 32, { addresses: true });
    for (let i = 0; i < 4; i++) batch.set(i, payload(`v6-${i}`, 10 + i * 5), i < 2 ? p1.address : encodeSockaddr(p2.address));
    expect(sendmmsg(fd, batch)).toBe(4);
    await p1.received(2);
    await p2.received(2);
    expect(p1.got.map((g) => g.data)).toEqual([payload('v6-0', 10), payload('v6-1', 15)]);
    expect(p2.got.map((g) => g.data)).toEqual([payload('v6-2', 20), payload('v6-3', 25)]);
    for (const g of [...p1.got, ...p2.got]) expect(g).toMatchObject({ address: LOOPBACK6, port: portOf(fd) });
  });

  it('reuses one batch across calls: what is sent is what the slots hold at each call', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    connect(fd, peer.address);
    const batch = new MMsgBatch(2, 16);
    const expected: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2; i++) {
        const s = `r${round}s${i}${'.'.repeat(round)}`;
        batch.set(i, Buffer.from(s));
        expected.push(s);
      }
      expect(sendmmsg(fd, batch)).toBe(2);
    }
    await peer.received(10);
    expect(peer.got.map((g) => g.data.toString())).toEqual(expected);
  });
});

describe('recvmmsgInto(fd, batch)', () => {
  it('receives datagrams from a dgram sender: lengths, contents, flags and decodeSockaddr(address(i)) equal to the sender', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    const sent = [1, 5, 0, 40, 17].map((n, i) => payload(`d${i}`, n));
    await dgramSend(sender.socket, sent, portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(8, 64, { addresses: true });
    batch.lengths.fill(0xdead);
    batch.flags.fill(0xbeef);
    const n = recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT });
    expect(n).toBe(5);
    expect([...batch.lengths]).toEqual([1, 5, 0, 40, 17, 0xdead, 0xdead, 0xdead]);
    expect([...batch.flags]).toEqual([0, 0, 0, 0, 0, 0xbeef, 0xbeef, 0xbeef]);
    for (let i = 0; i < n; i++) {
      expect(Buffer.from(batch.message(i))).toEqual(sent[i]);
      expect(decodeSockaddr(batch.address(i))).toEqual(sender.address);
    }
    // Slots past n were not written to.
    expect(batch.data.subarray(5 * 64).every((x) => x === 0)).toBe(true);
    expect(batch.addresses!.subarray(5 * SOCKADDR_BINARY_SIZE).every((x) => x === 0)).toBe(true);
  });

  it('tells the senders of interleaved datagrams apart (two dgram senders)', async () => {
    const fd = udp();
    const s1 = await dgramPeer();
    const s2 = await dgramPeer();
    await dgramSend(s1.socket, [Buffer.from('one')], portOf(fd));
    await dgramSend(s2.socket, [Buffer.from('two')], portOf(fd));
    await dgramSend(s1.socket, [Buffer.from('three')], portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(4, 16, { addresses: true });
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT })).toBe(3);
    expect([0, 1, 2].map((i) => text(batch, i))).toEqual(['one', 'two', 'three']);
    expect([0, 1, 2].map((i) => decodeSockaddr(batch.address(i)))).toEqual([s1.address, s2.address, s1.address]);
  });

  it('receives the datagrams of a Python sender, each from the port Python bound', async () => {
    const fd = udp();
    const msgs = ['py', 'python 1', 'x'.repeat(100), 'Hello, Sarah!'];
    const pyPort = await pythonSend(portOf(fd), msgs);
    expect(pyPort).toBeGreaterThan(0);
    waitReadable(fd);
    const batch = new MMsgBatch(6, 128, { addresses: true });
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT })).toBe(4);
    expect([...batch.lengths.subarray(0, 4)]).toEqual(msgs.map((m) => m.length));
    expect([0, 1, 2, 3].map((i) => text(batch, i))).toEqual(msgs);
    for (let i = 0; i < 4; i++) expect(decodeSockaddr(batch.address(i))).toEqual(in4(pyPort));
  });

  it('receives from a udp6 dgram sender on ::1, decoding its IPv6 address and port', async () => {
    const fd = udp(AF_INET6);
    const sender = await dgramPeer('udp6');
    await dgramSend(sender.socket, [Buffer.from('over v6'), Buffer.from('again')], portOf(fd), LOOPBACK6);
    waitReadable(fd);
    const batch = new MMsgBatch(4, 16, { addresses: true });
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT })).toBe(2);
    expect([text(batch, 0), text(batch, 1)]).toEqual(['over v6', 'again']);
    expect(decodeSockaddr(batch.address(0))).toEqual(in6(sender.port));
    expect(decodeSockaddr(batch.address(1))).toEqual(in6(sender.port));
  });

  it('puts message k in slot start + k and leaves every other slot (bytes, length, flags, address) untouched', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, [Buffer.from('first'), Buffer.from('second')], portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(6, 8, { addresses: true });
    batch.data.fill(0xee);
    batch.lengths.fill(77);
    batch.flags.fill(0xabcd);
    batch.addresses!.fill(0x5a);
    const n = recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT, start: 3, count: 2 });
    expect(n).toBe(2);
    expect([...batch.lengths]).toEqual([77, 77, 77, 5, 6, 77]);
    expect([...batch.flags]).toEqual([0xabcd, 0xabcd, 0xabcd, 0, 0, 0xabcd]);
    expect([text(batch, 3), text(batch, 4)]).toEqual(['first', 'second']);
    for (const i of [0, 1, 2, 5]) {
      expect(batch.slot(i).every((x) => x === 0xee), `slot ${i} bytes`).toBe(true);
      expect(batch.address(i).every((x) => x === 0x5a), `slot ${i} address`).toBe(true);
    }
    // Past each datagram, its own slot keeps its old bytes too (only the datagram is written).
    expect([...batch.slot(3).subarray(5)]).toEqual([0xee, 0xee, 0xee]);
    expect(decodeSockaddr(batch.address(3))).toEqual(sender.address);
    expect(decodeSockaddr(batch.address(4))).toEqual(sender.address);
  });

  it('offers only `count` slots: 4 queued, count 2 takes two, the next call the other two', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, ['a', 'b', 'c', 'd'].map((s) => Buffer.from(s)), portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(8, 4);
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT, count: 2 })).toBe(2);
    expect([text(batch, 0), text(batch, 1)]).toEqual(['a', 'b']);
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT, start: 2 })).toBe(2);
    expect([text(batch, 2), text(batch, 3)]).toEqual(['c', 'd']);
    expectNothingQueued(fd);
  });

  it('with count 0 returns 0 at once, even on a blocking socket, consuming nothing', async () => {
    const fd = udp();
    const batch = new MMsgBatch(2, 8);
    const t0 = performance.now();
    expect(recvmmsgInto(fd, batch, { count: 0 })).toBe(0);
    expect(recvmmsgInto(fd, batch, { start: 2 })).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1000); // SO_RCVTIMEO is 2000 ms
    const sender = await dgramPeer();
    await dgramSend(sender.socket, [Buffer.from('kept')], portOf(fd));
    waitReadable(fd);
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT, count: 0 })).toBe(0);
    expect(drain(fd)).toEqual(['kept']);
  });

  it('refuses start/count out of range with a RangeError, consuming nothing', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, [Buffer.from('kept')], portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(3, 8);
    for (const o of [{ start: 4 }, { start: -1 }, { count: 4 }, { start: 2, count: 2 }, { count: 1.5 }]) {
      const err = thrown(() => recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT, ...o }));
      expect(err, JSON.stringify(o)).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    }
    expect(drain(fd)).toEqual(['kept']);
  });

  it('under MSG_TRUNC: lengths[i] is the true length, message(i) is capped at the slot, flags[i] has MSG_TRUNC, and no slot spills into the next', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    const sent = [payload('long', 10), Buffer.from('abc'), Buffer.from('four'), payload('huge', 100)];
    await dgramSend(sender.socket, sent, portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(5, 4, { addresses: true });
    batch.data.fill(0xee);
    expect(recvmmsgInto(fd, batch, { flags: MSG_TRUNC | MSG_DONTWAIT })).toBe(4);
    expect([...batch.lengths.subarray(0, 4)]).toEqual([10, 3, 4, 100]);
    expect([0, 1, 2, 3].map((i) => batch.message(i).byteLength)).toEqual([4, 3, 4, 4]);
    expect([0, 1, 2, 3].map((i) => (batch.flags[i]! & MSG_TRUNC) !== 0)).toEqual([true, false, false, true]);
    expect(Buffer.from(batch.message(0))).toEqual(sent[0]!.subarray(0, 4));
    expect(Buffer.from(batch.slot(1))).toEqual(Buffer.from([0x61, 0x62, 0x63, 0xee])); // 'abc', then the old byte
    expect(text(batch, 2)).toBe('four');
    expect(Buffer.from(batch.message(3))).toEqual(sent[3]!.subarray(0, 4));
    expect(batch.slot(4).every((x) => x === 0xee)).toBe(true);
    for (let i = 0; i < 4; i++) expect(decodeSockaddr(batch.address(i))).toEqual(sender.address);
  });

  it('without MSG_TRUNC a truncated datagram reports the bytes kept, and still MSG_TRUNC in flags[i]', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, [payload('t', 20), Buffer.from('ok')], portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(2, 6);
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT })).toBe(2);
    expect([...batch.lengths]).toEqual([6, 2]);
    expect([...batch.flags].map((f) => (f & MSG_TRUNC) !== 0)).toEqual([true, false]);
  });

  it('with MSG_DONTWAIT on an empty socket throws a SystemError EAGAIN from recvmmsg, writing nothing', () => {
    const fd = udp();
    const batch = new MMsgBatch(4, 8, { addresses: true });
    batch.lengths.fill(9);
    const err = thrown(() => recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'recvmmsg', errno: -EAGAIN });
    expect([...batch.lengths]).toEqual([9, 9, 9, 9]);
    expect(batch.addresses!.every((x) => x === 0)).toBe(true);
  });

  it('with MSG_WAITFORONE on a blocking socket returns the queued datagrams without waiting for more slots', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, ['1', '2', '3'].map((s) => Buffer.from(s)), portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(16, 4);
    const t0 = performance.now();
    expect(recvmmsgInto(fd, batch, { flags: MSG_WAITFORONE })).toBe(3);
    expect(performance.now() - t0).toBeLessThan(1000); // a wait for a 4th would last SO_RCVTIMEO, 2000 ms
    expect([0, 1, 2].map((i) => text(batch, i))).toEqual(['1', '2', '3']);
  });

  it('timeout 0 stops after the first datagram (the kernel checks the timeout after each one); the rest stay queued', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, ['a', 'b', 'c'].map((s) => Buffer.from(s)), portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(5, 4);
    expect(recvmmsgInto(fd, batch, { timeout: 0 })).toBe(1);
    expect(text(batch, 0)).toBe('a');
    expect(recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT })).toBe(2);
    expect([text(batch, 0), text(batch, 1)]).toEqual(['b', 'c']);
  });

  it('timeout 100 with a Python sender 500 ms apart: returns the 2 datagrams it has once the timeout has passed, not waiting for the 3rd', async () => {
    const fd = udp(); // SO_RCVTIMEO 2000 ms bounds every blocking wait
    const py = pythonSendLater(portOf(fd), 0.5, ['first', 'second', 'third']);
    waitReadable(fd, 5000); // the first datagram: Python is running
    const batch = new MMsgBatch(5, 16, { addresses: true });
    const t0 = performance.now();
    const n = recvmmsgInto(fd, batch, { timeout: 100 });
    const elapsed = performance.now() - t0;
    // 'first' at once; the timeout has not passed, so a blocking wait for 'second' (~500 ms); then it
    // has, and the call returns. Without the timeout it would wait on for 'third' (~1000 ms) and more.
    expect(n).toBe(2);
    expect([text(batch, 0), text(batch, 1)]).toEqual(['first', 'second']);
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(900);
    const pyPort = await py.done;
    expect(decodeSockaddr(batch.address(0))).toEqual(in4(pyPort));
    expect(drain(fd)).toEqual(['third']);
  });

  it('refuses a timeout that is not an integer in 0..2**31-1 with a RangeError', () => {
    const fd = udp();
    const batch = new MMsgBatch(1, 4);
    for (const bad of [-1, 1.5, 2 ** 31, NaN]) {
      const err = thrown(() => recvmmsgInto(fd, batch, { timeout: bad, flags: MSG_DONTWAIT }));
      expect(err, `timeout ${bad}`).toBeInstanceOf(RangeError);
      expect((err as Error).message).toMatch(/options\.timeout/);
    }
  });

  it('echoes to the senders with the addresses it received: recvmmsgInto then sendmmsg(fd, batch, 0, n)', async () => {
    const fd = udp();
    const s1 = await dgramPeer();
    const s2 = await dgramPeer();
    await dgramSend(s1.socket, [Buffer.from('ping 1')], portOf(fd));
    await dgramSend(s2.socket, [Buffer.from('ping 2')], portOf(fd));
    await dgramSend(s1.socket, [Buffer.from('ping 3')], portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(8, 32, { addresses: true });
    const n = recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT });
    expect(n).toBe(3);
    expect(sendmmsg(fd, batch, 0, n)).toBe(3);
    await s1.received(2);
    await s2.received(1);
    expect(s1.got.map((g) => g.data.toString())).toEqual(['ping 1', 'ping 3']);
    expect(s2.got.map((g) => g.data.toString())).toEqual(['ping 2']);
  });

  it('replies to each sender with set(i, reply, batch.address(i)) (the slot\'s own received address)', async () => {
    const fd = udp();
    const s1 = await dgramPeer();
    const s2 = await dgramPeer();
    await dgramSend(s1.socket, [Buffer.from('Michael')], portOf(fd));
    await dgramSend(s2.socket, [Buffer.from('Tracy')], portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(4, 32, { addresses: true });
    const n = recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT });
    expect(n).toBe(2);
    for (let i = 0; i < n; i++) batch.set(i, Buffer.from(`Hello, ${text(batch, i)}!`), batch.address(i));
    expect(sendmmsg(fd, batch, 0, n)).toBe(2);
    await s1.received(1);
    await s2.received(1);
    expect(s1.got[0]!.data.toString()).toBe('Hello, Michael!');
    expect(s2.got[0]!.data.toString()).toBe('Hello, Tracy!');
  });

  it('records a zero-length address for a sender without one (an AF_UNIX socketpair)', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM).map(own) as [number, number];
    const out = new MMsgBatch(2, 8);
    out.set(0, Buffer.from('u1'));
    out.set(1, Buffer.from('u2'));
    expect(sendmmsg(a, out)).toBe(2);
    const batch = new MMsgBatch(2, 8, { addresses: true });
    batch.addresses!.fill(0x5a);
    expect(recvmmsgInto(b, batch, { flags: MSG_DONTWAIT })).toBe(2);
    expect([text(batch, 0), text(batch, 1)]).toEqual(['u1', 'u2']);
    for (let i = 0; i < 2; i++) expect([...batch.address(i).subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    // An empty address decodes to null, as documented (no sender to reply to).
    expect(decodeSockaddr(batch.address(0))).toBeNull();
  });
});

describe('promises.sendmmsg(fd, batch)', () => {
  it('sends slots [start, start + count) to a dgram peer, with the wait options in place of count', async () => {
    const fd = udp();
    const peer = await dgramPeer();
    const batch = new MMsgBatch(4, 16, { addresses: true });
    for (let i = 0; i < 4; i++) batch.set(i, Buffer.from(`p${i}`), peer.address);
    expect(await promises.sendmmsg(fd, batch, 0, 2, 1)).toBe(2);
    expect(await promises.sendmmsg(fd, batch, 0, { timeout: 1000 })).toBe(4);
    await peer.received(6);
    expect(peer.got.map((g) => g.data.toString())).toEqual(['p1', 'p2', 'p0', 'p1', 'p2', 'p3']);
    expect(new Set(peer.got.map((g) => g.port))).toEqual(new Set([portOf(fd)]));
  });

  it('rejects (never throws) a range beyond the batch, a length beyond its slot, and a non-batch', async () => {
    const fd = udp();
    const peer = await dgramPeer();
    const batch = new MMsgBatch(2, 8, { addresses: true });
    batch.set(0, Buffer.from('a'), peer.address);
    batch.set(1, Buffer.from('b'), peer.address);
    const range = promises.sendmmsg(fd, batch, 0, 3);
    await expect(range).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    batch.lengths[1] = 9;
    await expect(promises.sendmmsg(fd, batch)).rejects.toBeInstanceOf(RangeError);
    await expect(promises.sendmmsg(fd, 'batch' as unknown as MMsgBatch)).rejects.toBeInstanceOf(TypeError);
    await peer.nothing();
  });
});

describe('argument shapes with a batch', () => {
  it('recvmmsgInto(fd, batch, ...) refuses a lengths array or a fourth argument, and null for count or start', () => {
    const fd = udp();
    const batch = new MMsgBatch(2, 8);
    expect(thrown(() => recvmmsgInto(fd, batch, new Uint32Array(2) as never))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => (recvmmsgInto as (...a: unknown[]) => number)(fd, batch, {}, { flags: MSG_DONTWAIT }))).toMatchObject({ name: 'TypeError' });
    expect(thrown(() => recvmmsgInto(fd, batch, { count: null as never, flags: MSG_DONTWAIT }))).toMatchObject({ name: 'TypeError' });
    expect(thrown(() => sendmmsg(fd, batch, 0, null as never))).toMatchObject({ name: 'TypeError' });
    expect(thrown(() => sendmmsg(fd, batch, 0, undefined, null as never))).toMatchObject({ name: 'TypeError' });
  });

  it('set(i, bytes, addr) with an address that lives in the batch\'s own data keeps that address', async () => {
    const fd = udp();
    const peer = await dgramPeer();
    const batch = new MMsgBatch(2, 200, { addresses: true });
    // Slot 1's bytes hold the binary address; slot 0 is then set from it.
    const bin = encodeSockaddr(peer.address);
    batch.slot(1).set(bin);
    batch.set(0, Buffer.alloc(150, 9), batch.slot(1).subarray(0, bin.length));
    expect(decodeSockaddr(batch.address(0))).toEqual(peer.address);
    // The overlapping case proper: the address bytes sit where the slot's bytes are written.
    batch.slot(0).set(bin);
    batch.set(0, Buffer.alloc(150, 9), batch.slot(0).subarray(0, bin.length));
    expect(decodeSockaddr(batch.address(0))).toEqual(peer.address);
    expect(sendmmsg(fd, batch, 0, 1)).toBe(1);
    await peer.received(1);
    expect(peer.got[0]!.data).toEqual(Buffer.alloc(150, 9));
  });
});

describe('promises.recvmmsgInto(fd, batch)', () => {
  it('takes signal and timeout with the batch options: { timeout } rejects with ETIMEDOUT on a quiet socket', async () => {
    const fd = udp();
    const batch = new MMsgBatch(2, 8);
    await expect(promises.recvmmsgInto(fd, batch, { timeout: 20 })).rejects.toMatchObject({ code: 'ETIMEDOUT', syscall: 'recvmmsg' });
    const ac = new AbortController();
    const pending = promises.recvmmsgInto(fd, batch, { signal: ac.signal, flags: 0 });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('waits for a datagram a dgram socket sends later and resolves with the count', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    const batch = new MMsgBatch(4, 32, { addresses: true });
    const timer = setTimeout(() => sender.socket.send(Buffer.from('late'), portOf(fd), LOOPBACK), 50);
    try {
      const t0 = performance.now();
      const n = await promises.recvmmsgInto(fd, batch, {}, { timeout: 2000 });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
      expect(n).toBe(1);
      expect(text(batch, 0)).toBe('late');
      expect(decodeSockaddr(batch.address(0))).toEqual(sender.address);
    } finally {
      clearTimeout(timer);
    }
  });

  it('resolves with every datagram queued at once, into the slots from start', async () => {
    const fd = udp();
    const tx = udp();
    connect(tx, getsockname(fd));
    const out = new MMsgBatch(3, 8);
    ['x', 'yy', 'zzz'].forEach((s, i) => out.set(i, Buffer.from(s)));
    const batch = new MMsgBatch(6, 8);
    batch.lengths.fill(42);
    const timer = setTimeout(() => sendmmsg(tx, out), 30);
    try {
      const n = await promises.recvmmsgInto(fd, batch, { start: 2, count: 4 }, { timeout: 2000 });
      expect(n).toBe(3);
      expect([...batch.lengths]).toEqual([42, 42, 1, 2, 3, 42]);
      expect([2, 3, 4].map((i) => text(batch, i))).toEqual(['x', 'yy', 'zzz']);
    } finally {
      clearTimeout(timer);
    }
  });

  it('resolves at once with what is already queued, honouring count', async () => {
    const fd = udp();
    const sender = await dgramPeer();
    await dgramSend(sender.socket, ['1', '2', '3'].map((s) => Buffer.from(s)), portOf(fd));
    waitReadable(fd);
    const batch = new MMsgBatch(8, 4);
    await expect(promises.recvmmsgInto(fd, batch, { count: 2 }, { timeout: 2000 })).resolves.toBe(2);
    await expect(promises.recvmmsgInto(fd, batch, { flags: MSG_TRUNC }, { timeout: 2000 })).resolves.toBe(1);
    expect(text(batch, 0)).toBe('3');
  });

  it('rejects with an AbortError when its signal is aborted, consumes nothing afterwards and leaks no fd', async () => {
    const before = socketFds();
    const fd = udp();
    const sender = await dgramPeer();
    const batch = new MMsgBatch(4, 16);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 50);
    try {
      const t0 = performance.now();
      const err = await rejection(promises.recvmmsgInto(fd, batch, {}, { signal: ac.signal, timeout: 2000 }));
      expect(performance.now() - t0).toBeLessThan(1500);
      expect(err).toBeInstanceOf(promises.AbortError);
      expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    } finally {
      clearTimeout(timer);
    }
    // The aborted call is gone: a datagram sent now is still there for the next reader.
    await dgramSend(sender.socket, [Buffer.from('after abort')], portOf(fd));
    await sleep(30);
    expect(batch.lengths[0]).toBe(0);
    expect(drain(fd)).toEqual(['after abort']);
    // An already-aborted signal rejects at once.
    const err2 = await rejection(promises.recvmmsgInto(fd, batch, {}, { signal: AbortSignal.abort() }));
    expect(err2).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    release(fd);
    await closeDgram(sender.socket);
    await sleep(50);
    expect(socketFds()).toEqual(before);
  });

  it('rejects with ETIMEDOUT after its { timeout } when nothing arrives', async () => {
    const fd = udp();
    const batch = new MMsgBatch(2, 8);
    const t0 = performance.now();
    const err = await rejection(promises.recvmmsgInto(fd, batch, {}, { timeout: 100 }));
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', syscall: 'recvmmsg' });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1500);
  });

  it('rejects (never throws) for a non-batch, a bad range or a mutated batch', async () => {
    const fd = udp();
    const batch = new MMsgBatch(2, 8);
    let p!: Promise<number>;
    expect(() => (p = promises.recvmmsgInto(fd, {} as MMsgBatch))).not.toThrow();
    expect(await rejection(p)).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(await rejection(promises.recvmmsgInto(fd, batch, { count: 3 }))).toBeInstanceOf(RangeError);
    expect(await rejection(promises.recvmmsgInto(fd, batch, { start: -1 }))).toBeInstanceOf(RangeError);
    (batch as { lengths: Uint32Array }).lengths = new Uint32Array(1);
    expect(await rejection(promises.recvmmsgInto(fd, batch, {}, { timeout: 500 }))).toBeInstanceOf(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Worker threads. Workers load the compiled package (dist/); the main thread uses src/ through
// vitest. Both load the same native addon file.



/** A worker running `body` (CommonJS, with `s` = sockfd and `p` = sockfd/promises in scope). */
function spawnWorker(body: string, workerData?: unknown): Worker {
  const code = `
    'use strict';
    const { parentPort, workerData } = require('node:worker_threads');
    const s = require(${JSON.stringify(DIST_INDEX)});
    const p = require(${JSON.stringify(DIST_PROMISES)});
    const report = (err) => parentPort.postMessage({ error: String((err && err.stack) || err) });
    (async () => { ${body} })().catch(report);
  `;
  const w = new Worker(code, { eval: true, workerData });
  workers.add(w);
  w.on('message', (m: { fds?: number[]; closed?: number[] }) => {
    for (const fd of m.fds ?? []) workerFds.add(fd);
    for (const fd of m.closed ?? []) workerFds.delete(fd);
  });
  return w;
}


// One round trip through a batch per round, checked byte for byte: `slots` datagrams of varying
// lengths sent with sendmmsg(batch) on a connected socket and taken back with recvmmsgInto(batch).
// Blocking receives are bounded by SO_RCVTIMEO. Returns the number of rounds done.
const ROUNDS_BODY = `
  const { id, slots, size, rounds } = workerData;
  const a = s.socket(s.AF_INET, s.SOCK_DGRAM), b = s.socket(s.AF_INET, s.SOCK_DGRAM);
  parentPort.postMessage({ fds: [a, b] });
  s.bind(b, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
  s.setsockopt(b, s.SOL_SOCKET, s.SO_RCVTIMEO, 2000);
  s.setsockopt(b, s.SOL_SOCKET, s.SO_RCVBUF, 1 << 20);
  s.connect(a, s.getsockname(b));
  const out = new s.MMsgBatch(slots, size);
  const inb = new s.MMsgBatch(slots, size, { addresses: true });
  const from = s.getsockname(a);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < slots; i++) {
      const len = 1 + ((r * 31 + i * 7) % size);
      const slot = out.slot(i);
      for (let k = 0; k < len; k++) slot[k] = (id * 53 + r * 13 + i * 5 + k) & 0xff;
      out.lengths[i] = len;
    }
    const sent = s.sendmmsg(a, out);
    if (sent !== slots) throw new Error('round ' + r + ': sent ' + sent + ' of ' + slots);
    let got = 0;
    while (got < slots) got += s.recvmmsgInto(b, inb, { flags: s.MSG_WAITFORONE, start: got });
    for (let i = 0; i < slots; i++) {
      if (inb.lengths[i] !== out.lengths[i]) throw new Error('round ' + r + ' slot ' + i + ': length ' + inb.lengths[i] + ' != ' + out.lengths[i]);
      const m = inb.message(i), o = out.message(i);
      for (let k = 0; k < m.length; k++) if (m[k] !== o[k]) throw new Error('round ' + r + ' slot ' + i + ' byte ' + k);
      const addr = s.decodeSockaddr(inb.address(i));
      if (addr.port !== from.port) throw new Error('round ' + r + ' slot ' + i + ': from port ' + addr.port);
    }
  }
  s.close(a); s.close(b);
  parentPort.postMessage({ closed: [a, b], done: rounds });
`;

describe('worker threads', () => {
  it('a worker sends with sendmmsg(batch) to a main-thread dgram receiver and receives with promises.recvmmsgInto(batch) from a dgram sender', async () => {
    const receiver = await dgramPeer();
    const sender = await dgramPeer();
    const w = spawnWorker(
      `
      const fd = s.socket(s.AF_INET, s.SOCK_DGRAM);
      parentPort.postMessage({ fds: [fd] });
      s.bind(fd, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      parentPort.postMessage({ port: s.getsockname(fd).port });
      const batch = new s.MMsgBatch(8, 64, { addresses: true });
      let n = 0;
      while (n < 3) n += await p.recvmmsgInto(fd, batch, { start: n }, { timeout: 4000 });
      const got = [];
      for (let i = 0; i < n; i++) got.push({ text: Buffer.from(batch.message(i)).toString(), from: s.decodeSockaddr(batch.address(i)) });
      const echoed = s.sendmmsg(fd, batch, 0, n);
      const out = new s.MMsgBatch(4, 16, { addresses: true });
      for (let i = 0; i < 4; i++) out.set(i, Buffer.from('w' + i + '.'.repeat(i)), { family: s.AF_INET, address: '127.0.0.1', port: workerData.port });
      const sent = s.sendmmsg(fd, out);
      s.close(fd);
      parentPort.postMessage({ closed: [fd], got, echoed, sent });
      `,
      { port: receiver.port },
    );
    const { port } = await message<{ port: number }>(w, 'port', 'the worker\'s port');
    await dgramSend(sender.socket, ['one', 'two', 'three'].map((t) => Buffer.from(t)), port);
    const r = await message<{ got: { text: string; from: SockAddr }[]; echoed: number; sent: number }>(w, 'got', 'the worker\'s result');
    expect(r.got.map((g) => g.text)).toEqual(['one', 'two', 'three']);
    for (const g of r.got) expect(g.from).toEqual(sender.address);
    expect(r.echoed).toBe(3);
    expect(r.sent).toBe(4);
    await sender.received(3);
    expect(sender.got.map((g) => g.data.toString())).toEqual(['one', 'two', 'three']);
    await receiver.received(4);
    expect(receiver.got.map((g) => g.data.toString())).toEqual(['w0', 'w1.', 'w2..', 'w3...']);
    for (const g of receiver.got) expect(g.port).toBe(port);
  });

  it('three workers and the main thread run batch round trips at once, each with its own slot count, every byte checked', async () => {
    const configs = [
      { id: 1, slots: 5, size: 40, rounds: 300 },
      { id: 2, slots: 17, size: 9, rounds: 300 },
      { id: 3, slots: 64, size: 100, rounds: 150 },
    ];
    const ws = configs.map((c) => spawnWorker(ROUNDS_BODY, c));
    const results = ws.map((w, i) => message<{ done: number }>(w, 'done', `worker ${configs[i]!.id}`, 20_000));
    // Meanwhile the main thread does its own, yielding between rounds so the workers overlap it.
    const a = udp();
    const b = udp();
    connect(a, getsockname(b));
    const out = new MMsgBatch(11, 23);
    const inb = new MMsgBatch(11, 23);
    for (let r = 0; r < 200; r++) {
      for (let i = 0; i < 11; i++) out.set(i, payload(`m${r}.${i}`, 1 + ((r + i * 3) % 23)));
      expect(sendmmsg(a, out)).toBe(11);
      let got = 0;
      while (got < 11) got += recvmmsgInto(b, inb, { flags: MSG_WAITFORONE, start: got });
      for (let i = 0; i < 11; i++) expect(Buffer.from(inb.message(i))).toEqual(Buffer.from(out.message(i)));
      if (r % 10 === 0) await new Promise((res) => setImmediate(res));
    }
    const done = await Promise.all(results);
    expect(done.map((d) => d.done)).toEqual(configs.map((c) => c.rounds));
  });
});

// ---------------------------------------------------------------------------------------------

describe('inputs the native layer refuses (no crash)', () => {
  it('refuses lengths mutated past the slot size (9, 2**31, 0xFFFFFFFF) with a RangeError naming the slot, sending nothing', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(3, 8, { addresses: true });
    for (let i = 0; i < 3; i++) batch.set(i, Buffer.from(`ok${i}`), peer.address);
    for (const bad of [9, 2 ** 31, 0xffffffff]) {
      batch.lengths[1] = bad;
      const err = thrown(() => sendmmsg(fd, batch));
      expect(err, `length ${bad}`).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect((err as Error).message).toMatch(/slot 1/);
    }
    await peer.nothing();
    batch.lengths[1] = 3;
    expect(sendmmsg(fd, batch)).toBe(3);
    await peer.received(3);
  });

  it('refuses a bogus 4-byte address length (0xFFFFFFFF, 1, 129) with a RangeError naming the slot, sending nothing', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(3, 8, { addresses: true });
    for (let i = 0; i < 3; i++) batch.set(i, Buffer.from(`ok${i}`), peer.address);
    const view = new DataView(batch.addresses!.buffer, batch.addresses!.byteOffset);
    for (const bad of [0xffffffff, 1, 129, 0x80000000]) {
      view.setUint32(2 * SOCKADDR_BINARY_SIZE, bad, true);
      const err = thrown(() => sendmmsg(fd, batch));
      expect(err, `address length ${bad}`).toBeInstanceOf(RangeError);
      expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect((err as Error).message).toMatch(/slot 2/);
    }
    await peer.nothing();
    view.setUint32(2 * SOCKADDR_BINARY_SIZE, 16, true); // sockaddr_in again
    expect(sendmmsg(fd, batch)).toBe(3);
    await peer.received(3);
  });

  it('passes a plausible but wrong address length (3 for AF_INET) to the kernel, which refuses it with EINVAL', async () => {
    const peer = await dgramPeer();
    const fd = udp();
    const batch = new MMsgBatch(1, 8, { addresses: true });
    batch.set(0, Buffer.from('x'), peer.address);
    new DataView(batch.addresses!.buffer).setUint32(0, 3, true);
    const err = thrown(() => sendmmsg(fd, batch));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'sendmmsg', errno: -EINVAL });
    await peer.nothing();
  });

  it('survives address length fields 0..200 in every slot (each call sends, or throws a RangeError or SystemError), never to another destination', () => {
    const fd = udp();
    const rx = udp();
    const batch = new MMsgBatch(4, 8, { addresses: true });
    for (let i = 0; i < 4; i++) batch.set(i, Buffer.from(`f${i}`), getsockname(rx));
    const view = new DataView(batch.addresses!.buffer);
    const inb = new MMsgBatch(4, 8, { addresses: true });
    const outcomes = new Set<string>();
    for (let len = 0; len <= 200; len++) {
      for (let i = 0; i < 4; i++) view.setUint32(i * SOCKADDR_BINARY_SIZE, (len + i * 37) % 201, true);
      let sent = 0;
      try {
        sent = sendmmsg(fd, batch);
        outcomes.add('sent');
      } catch (err) {
        expect(err instanceof RangeError || err instanceof SystemError, String(err)).toBe(true);
        outcomes.add(err instanceof RangeError ? 'RangeError' : (err as SystemError).code!);
      }
      // Exactly what was sent reached rx, from fd, and nothing else.
      let got = 0;
      while (got < sent) {
        waitReadable(rx);
        got += recvmmsgInto(rx, inb, { flags: MSG_DONTWAIT, start: got, count: sent - got });
      }
      for (let i = 0; i < sent; i++) {
        expect(text(inb, i)).toBe(`f${i}`);
        expect(decodeSockaddr(inb.address(i))).toEqual(getsockname(fd));
      }
      expect(thrown(() => recvmmsgInto(rx, inb, { flags: MSG_DONTWAIT }))).toMatchObject({ code: 'EAGAIN' });
    }
    expect([...outcomes].sort()).toEqual(['EDESTADDRREQ', 'EINVAL', 'RangeError', 'sent']);
  });

  it('refuses data, lengths, addresses or flags replaced by shorter arrays, and size or slots changed, with a RangeError', () => {
    const fd = udp();
    const make = (): MMsgBatch => {
      const b = new MMsgBatch(4, 8, { addresses: true });
      for (let i = 0; i < 4; i++) b.set(i, Buffer.from('z'), getsockname(fd));
      return b;
    };
    type Mutable = { -readonly [K in keyof MMsgBatch]: MMsgBatch[K] };
    const mutations: [string, (b: Mutable) => void][] = [
      ['data', (b) => (b.data = new Uint8Array(8))],
      ['lengths', (b) => (b.lengths = new Uint32Array(2))],
      ['addresses', (b) => (b.addresses = new Uint8Array(SOCKADDR_BINARY_SIZE))],
      ['size', (b) => (b.size = 1000)],
      ['slots', (b) => (b.slots = 100)],
    ];
    for (const [name, mutate] of mutations) {
      const b = make();
      mutate(b as Mutable);
      const s = thrown(() => sendmmsg(fd, b));
      expect(s, `sendmmsg with ${name} changed`).toBeInstanceOf(RangeError);
      const r = thrown(() => recvmmsgInto(fd, b, { flags: MSG_DONTWAIT }));
      expect(r, `recvmmsgInto with ${name} changed`).toBeInstanceOf(RangeError);
    }
    const f = make();
    (f as Mutable).flags = new Uint32Array(1);
    expect(thrown(() => recvmmsgInto(fd, f, { flags: MSG_DONTWAIT }))).toBeInstanceOf(RangeError);
    const z = make();
    (z as Mutable).size = 0;
    expect(thrown(() => sendmmsg(fd, z))).toBeInstanceOf(RangeError);
    expectNothingQueued(fd);
  });

  it('refuses data, lengths, addresses or flags replaced by non-views with a TypeError', () => {
    const fd = udp();
    for (const key of ['data', 'lengths', 'addresses', 'flags'] as const) {
      const b = new MMsgBatch(2, 8, { addresses: true });
      (b as unknown as Record<string, unknown>)[key] = key === 'addresses' ? 5 : 'not a view';
      const err = key === 'flags' ? thrown(() => recvmmsgInto(fd, b, { flags: MSG_DONTWAIT })) : thrown(() => sendmmsg(fd, b));
      expect(err, key).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    }
  });

  it('refuses a batch whose memory was detached (transferred) with a RangeError', () => {
    const fd = udp();
    for (const key of ['data', 'lengths', 'addresses', 'flags'] as const) {
      const b = new MMsgBatch(2, 8, { addresses: true });
      b.set(0, Buffer.from('a'), getsockname(fd));
      b.set(1, Buffer.from('b'), getsockname(fd));
      const buf = b[key]!.buffer as ArrayBuffer;
      structuredClone(buf, { transfer: [buf] });
      expect(b[key]!.byteLength, `${key} detached`).toBe(0);
      const err = key === 'flags' ? thrown(() => recvmmsgInto(fd, b, { flags: MSG_DONTWAIT })) : thrown(() => sendmmsg(fd, b));
      expect(err, key).toBeInstanceOf(RangeError);
      if (key !== 'flags') expect(thrown(() => recvmmsgInto(fd, b, { flags: MSG_DONTWAIT }))).toBeInstanceOf(RangeError);
    }
    expectNothingQueued(fd);
  });

  it('reports ENOTSOCK for an fd that is not a socket and EBADF for a closed one, as SystemErrors', () => {
    const batch = new MMsgBatch(2, 8, { addresses: true });
    batch.set(0, Buffer.from('x'), in4(9));
    batch.set(1, Buffer.from('y'), in4(9));
    const file = fs.openSync('/dev/null', 'r');
    try {
      const s = thrown(() => sendmmsg(file, batch));
      expect(s).toBeInstanceOf(SystemError);
      expect(s).toMatchObject({ code: 'ENOTSOCK', syscall: 'sendmmsg', errno: -ENOTSOCK });
      const r = thrown(() => recvmmsgInto(file, batch, { flags: MSG_DONTWAIT }));
      expect(r).toBeInstanceOf(SystemError);
      expect(r).toMatchObject({ code: 'ENOTSOCK', syscall: 'recvmmsg', errno: -ENOTSOCK });
    } finally {
      fs.closeSync(file);
    }
    const fd = udp();
    release(fd);
    const s = thrown(() => sendmmsg(fd, batch));
    expect(s).toBeInstanceOf(SystemError);
    expect(s).toMatchObject({ code: 'EBADF', syscall: 'sendmmsg', errno: -EBADF });
    const r = thrown(() => recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT }));
    expect(r).toMatchObject({ code: 'EBADF', syscall: 'recvmmsg', errno: -EBADF });
    for (const bad of [-1, 1.5, 2 ** 31]) {
      expect(thrown(() => sendmmsg(bad, batch)), `fd ${bad}`).toBeInstanceOf(RangeError);
      expect(thrown(() => recvmmsgInto(bad, batch)), `fd ${bad}`).toBeInstanceOf(RangeError);
    }
  });
});
