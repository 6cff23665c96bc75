// sendmmsg and recvmmsg: batches of datagrams over caller-provided views, each with its own
// address and length; recvmmsgInto, the allocation-free form; MSG_TRUNC, MSG_WAITFORONE,
// MSG_DONTWAIT and recvmmsg's own timeout; the batch limits and argument errors (refused before the
// system call, nothing sent); peers in Node (dgram) and Python; and the promise forms.
//
// Everything is on loopback and every wait is bounded: blocking receives run on sockets with
// SO_RCVTIMEO 2000 ms, other receives use MSG_DONTWAIT after a poll with a timeout, promise calls
// carry { timeout }, and child processes are killed after 10 s.
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MSG_WAITFORONE,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_RCVTIMEO,
  SystemError,
  bind,
  connect,
  getsockname,
  recvmmsg,
  recvmmsgInto,
  sendmmsg,
  sendto,
  setsockopt,
  socket,
  type MMsg,
  type SockAddr,
} from '../src/index.js';
import * as promises from '../src/promises.js';
import { expectNothingQueued, thrown, waitReadable } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// fds opened by a test; afterEach closes whatever a test did not close itself.

const { own } = ownFds();


async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const LOOPBACK = '127.0.0.1';

/** A blocking UDP socket bound to an ephemeral loopback port, with SO_RCVTIMEO 2000 ms. */
function udp(): number {
  const fd = own(socket(AF_INET, SOCK_DGRAM));
  bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 2000);
  return fd;
}



function views(n: number, size = 64): Buffer[] {
  return Array.from({ length: n }, () => Buffer.alloc(size));
}

/**
 * Receives exactly `n` datagrams in one blocking recvmmsg: without MSG_WAITFORONE a blocking call
 * waits for every buffer to be filled, so this returns once all `n` have arrived (or fewer after
 * SO_RCVTIMEO, which the test then reports).
 */
function recvN(fd: number, n: number): string[] {
  const bufs = views(n);
  const r = recvmmsg(fd, bufs);
  return r.map((m, i) => bufs[i]!.toString('latin1', 0, m.bytes));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A dgram socket bound to a loopback port, collecting what it receives. */
async function dgramPeer(): Promise<{ socket: dgram.Socket; got: string[]; address: SockAddr; received(n: number): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (msg) => got.push(msg.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  const address: SockAddr = { family: AF_INET, address: LOOPBACK, port: socket.address().port };
  const received = async (n: number): Promise<void> => {
    const deadline = Date.now() + 2000;
    while (got.length < n && Date.now() < deadline) await sleep(5);
  };
  return { socket, got, address, received };
}

function closeDgram(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------------

describe('sendmmsg', () => {
  it('sends N datagrams from a connected socket, received in order by a Node dgram peer', async () => {
    const peer = await dgramPeer();
    try {
      const fd = udp();
      connect(fd, peer.address);
      const names = ['Michael', 'Tracy', 'Sarah', 'Bob', 'Alice'];
      expect(sendmmsg(fd, names.map((n) => Buffer.from(n)))).toBe(names.length);
      await peer.received(names.length);
      expect(peer.got).toEqual(names);
    } finally {
      await closeDgram(peer.socket);
    }
  });

  it('sends N datagrams from a connected socket, received in order by recvmmsg', () => {
    const a = udp();
    const b = udp();
    connect(a, getsockname(b));
    const sent = Array.from({ length: 6 }, (_, i) => `datagram ${i}`);
    expect(sendmmsg(a, sent.map((s) => Buffer.from(s)))).toBe(6);
    expect(recvN(b, 6)).toEqual(sent);
  });

  it('sends each { buf, addr } message to its own address', () => {
    const a = udp();
    const r1 = udp();
    const r2 = udp();
    const msgs: MMsg[] = [
      { buf: Buffer.from('one'), addr: getsockname(r1) },
      { buf: Buffer.from('two'), addr: getsockname(r2) },
      { buf: Buffer.from('three'), addr: getsockname(r1) },
    ];
    expect(sendmmsg(a, msgs)).toBe(3);
    expect(recvN(r1, 2)).toEqual(['one', 'three']);
    expect(recvN(r2, 1)).toEqual(['two']);
    expectNothingQueued(r1);
    expectNothingQueued(r2);
  });

  it('mixes views (to the connected peer) and { buf, addr } messages (to their own address)', () => {
    const a = udp();
    const peer = udp();
    const other = udp();
    connect(a, getsockname(peer));
    const msgs: MMsg[] = [Buffer.from('to peer 1'), { buf: Buffer.from('to other'), addr: getsockname(other) }, new Uint8Array(Buffer.from('to peer 2'))];
    expect(sendmmsg(a, msgs)).toBe(3);
    expect(recvN(peer, 2)).toEqual(['to peer 1', 'to peer 2']);
    expect(recvN(other, 1)).toEqual(['to other']);
  });

  it('returns the count sent so far when a later message fails (a view with no address on an unconnected socket)', () => {
    const a = udp();
    const b = udp();
    const msgs: MMsg[] = [{ buf: Buffer.from('first'), addr: getsockname(b) }, Buffer.from('no address'), { buf: Buffer.from('third'), addr: getsockname(b) }];
    // sendmmsg(2): the kernel stops at the failing message (EDESTADDRREQ) and reports the one sent.
    expect(sendmmsg(a, msgs)).toBe(1);
    expect(recvN(b, 1)).toEqual(['first']);
    expectNothingQueued(b);
  });

  it('throws EDESTADDRREQ when the first message is a view with no address on an unconnected socket', () => {
    const a = udp();
    const b = udp();
    const err = thrown(() => sendmmsg(a, [Buffer.from('no address'), { buf: Buffer.from('second'), addr: getsockname(b) }]));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EDESTADDRREQ', syscall: 'sendmmsg', errno: -os.constants.errno.EDESTADDRREQ });
    expectNothingQueued(b);
  });
});

describe('recvmmsg', () => {
  it('fills each buffer with one datagram', () => {
    const a = udp();
    const b = udp();
    const sent = ['a', 'bb', 'ccc', 'dddd'];
    for (const s of sent) sendto(a, Buffer.from(s), undefined, 0, getsockname(b));
    waitReadable(b);
    const bufs = views(4, 16);
    const r = recvmmsg(b, bufs);
    expect(r.map((m) => m.bytes)).toEqual([1, 2, 3, 4]);
    expect(r.map((m, i) => bufs[i]!.toString('latin1', 0, m.bytes))).toEqual(sent);
    expect(r.map((m) => m.flags)).toEqual([0, 0, 0, 0]);
    // Nothing past each datagram was written.
    bufs.forEach((buf, i) => expect(buf.subarray(sent[i]!.length).every((x) => x === 0)).toBe(true));
  });

  it('reports true lengths and MSG_TRUNC per truncated message under MSG_TRUNC, writing only within each view', () => {
    const a = udp();
    const b = udp();
    sendto(a, Buffer.from('abcdefgh'), undefined, 0, getsockname(b)); // 8 bytes into a 4-byte view
    sendto(a, Buffer.from('xyz'), undefined, 0, getsockname(b)); // 3 bytes into a 10-byte view
    sendto(a, Buffer.from('0123456789ABCDEF'), undefined, 0, getsockname(b)); // 16 bytes into 5
    const backing = Buffer.alloc(48, 0xee);
    const bufs = [backing.subarray(2, 6), backing.subarray(10, 20), backing.subarray(30, 35)];
    waitReadable(b);
    const r = recvmmsg(b, bufs, { flags: MSG_TRUNC });
    expect(r.map((m) => m.bytes)).toEqual([8, 3, 16]);
    expect(r.map((m) => (m.flags & MSG_TRUNC) !== 0)).toEqual([true, false, true]);
    const expected = Buffer.alloc(48, 0xee);
    Buffer.from('abcd').copy(expected, 2);
    Buffer.from('xyz').copy(expected, 10);
    Buffer.from('01234').copy(expected, 30);
    expect(backing).toEqual(expected);
  });

  it('reports each message\'s sender address as that sender\'s getsockname', () => {
    const s1 = udp();
    const s2 = udp();
    const b = udp();
    sendto(s1, Buffer.from('from s1'), undefined, 0, getsockname(b));
    sendto(s2, Buffer.from('from s2'), undefined, 0, getsockname(b));
    sendto(s1, Buffer.from('from s1 again'), undefined, 0, getsockname(b));
    const bufs = views(3);
    const r = recvmmsg(b, bufs);
    expect(r).toHaveLength(3);
    expect(r.map((m) => m.address)).toEqual([getsockname(s1), getsockname(s2), getsockname(s1)]);
  });

  it('with MSG_WAITFORONE on a blocking socket returns the 3 queued datagrams of 8 buffers without waiting', () => {
    const a = udp();
    const b = udp();
    for (const s of ['1', '2', '3']) sendto(a, Buffer.from(s), undefined, 0, getsockname(b));
    waitReadable(b);
    const bufs = views(8);
    const t0 = performance.now();
    const r = recvmmsg(b, bufs, { flags: MSG_WAITFORONE });
    const elapsed = performance.now() - t0;
    expect(r.map((m, i) => bufs[i]!.toString('latin1', 0, m.bytes))).toEqual(['1', '2', '3']);
    // SO_RCVTIMEO is 2000 ms: a call that waited for a 4th datagram would take that long.
    expect(elapsed).toBeLessThan(1000);
  });

  it('with a timeout on a blocking socket returns the 1 queued datagram only after SO_RCVTIMEO (the timeout is checked after each datagram)', () => {
    const a = udp(); // SO_RCVTIMEO 2000 ms bounds every blocking wait
    const b = udp();
    sendto(a, Buffer.from('only one'), undefined, 0, getsockname(b));
    waitReadable(b);
    const bufs = views(8);
    const t0 = performance.now();
    const r = recvmmsg(b, bufs, { timeout: 100 });
    const elapsed = performance.now() - t0;
    expect(r).toHaveLength(1);
    expect(bufs[0]!.toString('latin1', 0, r[0]!.bytes)).toBe('only one');
    // What this kernel does (Linux 6.x; see BUGS in recvmmsg(2)): the timeout is only compared after
    // a datagram is received. The first arrives at once; the wait for the second is an ordinary
    // blocking receive, bounded by SO_RCVTIMEO alone (2000 ms), not by the 100 ms timeout. When it
    // ends with EAGAIN the call returns the one datagram it has. So it takes ~2 s, not ~100 ms.
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(5000);
  });

  it('rejects a timeout that is not a non-negative integer with a RangeError', () => {
    const b = udp();
    expect(() => recvmmsg(b, views(1), { timeout: -1 })).toThrow(RangeError);
    expect(() => recvmmsg(b, views(1), { timeout: 1.5 })).toThrow(/options\.timeout/);
  });

  it('with MSG_DONTWAIT and nothing queued throws a SystemError EAGAIN from recvmmsg', () => {
    const b = udp();
    const err = thrown(() => recvmmsg(b, views(4), { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'recvmmsg', errno: -os.constants.errno.EAGAIN });
  });

  it('receives all 5 datagrams of a Python peer (socket.sendto) in one call', async () => {
    const b = udp();
    const { port } = getsockname(b) as { port: number };
    const script = [
      'import socket, sys',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      'for i in range(5):',
      "    s.sendto(('python %d' % i).encode(), ('127.0.0.1', int(sys.argv[1])))",
      's.close()',
    ].join('\n');
    await new Promise<void>((resolve, reject) => {
      execFile('python3', ['-c', script, String(port)], { timeout: 10_000 }, (err) => (err ? reject(err) : resolve()));
    });
    waitReadable(b);
    await sleep(20);
    const bufs = views(8);
    const r = recvmmsg(b, bufs, { flags: MSG_DONTWAIT });
    expect(r.map((m, i) => bufs[i]!.toString('latin1', 0, m.bytes))).toEqual([0, 1, 2, 3, 4].map((i) => `python ${i}`));
    for (const m of r) expect(m.address).toMatchObject({ family: AF_INET, address: LOOPBACK });
  });
});

describe('recvmmsgInto', () => {
  it('writes each length into lengths and returns the count as a number', () => {
    const a = udp();
    const b = udp();
    sendto(a, Buffer.from('12345'), undefined, 0, getsockname(b));
    sendto(a, Buffer.from('12'), undefined, 0, getsockname(b));
    const bufs = views(2);
    const lengths = new Uint32Array(2);
    const n = recvmmsgInto(b, bufs, lengths);
    expect(typeof n).toBe('number');
    expect(n).toBe(2);
    expect([...lengths]).toEqual([5, 2]);
    expect(bufs[0]!.toString('latin1', 0, 5)).toBe('12345');
    expect(bufs[1]!.toString('latin1', 0, 2)).toBe('12');
  });

  it('leaves lengths past the count untouched', () => {
    const a = udp();
    const b = udp();
    sendto(a, Buffer.from('abc'), undefined, 0, getsockname(b));
    sendto(a, Buffer.from('defgh'), undefined, 0, getsockname(b));
    waitReadable(b);
    const lengths = new Uint32Array(6).fill(0xdeadbeef);
    const n = recvmmsgInto(b, views(4), lengths, { flags: MSG_DONTWAIT });
    expect(n).toBe(2);
    expect([...lengths]).toEqual([3, 5, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
  });

  it('reports the true length under MSG_TRUNC', () => {
    const a = udp();
    const b = udp();
    sendto(a, Buffer.alloc(100, 7), undefined, 0, getsockname(b));
    const lengths = new Uint32Array(1);
    expect(recvmmsgInto(b, [Buffer.alloc(10)], lengths, { flags: MSG_TRUNC })).toBe(1);
    expect(lengths[0]).toBe(100);
  });

  it('rejects a lengths array shorter than buffers with a RangeError, receiving nothing', () => {
    const a = udp();
    const b = udp();
    sendto(a, Buffer.from('kept'), undefined, 0, getsockname(b));
    waitReadable(b);
    const err = thrown(() => recvmmsgInto(b, views(3), new Uint32Array(2), { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/"lengths"/);
    expect(recvN(b, 1)).toEqual(['kept']);
  });

  it('rejects lengths that is not a Uint32Array with a TypeError', () => {
    const b = udp();
    for (const bad of [new Int32Array(2), new Uint8Array(8), [0, 0], Buffer.alloc(8)]) {
      const err = thrown(() => recvmmsgInto(b, views(2), bad as unknown as Uint32Array, { flags: MSG_DONTWAIT }));
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(/"lengths"/);
    }
  });

  it('returns a plain number, not result objects, on every call of a receive loop', () => {
    const a = udp();
    const b = udp();
    const bufs = views(4);
    const lengths = new Uint32Array(4);
    let total = 0;
    for (let round = 0; round < 3; round++) {
      sendto(a, Buffer.from(`round ${round}`), undefined, 0, getsockname(b));
      const n = recvmmsgInto(b, bufs, lengths, { flags: MSG_WAITFORONE });
      expect(typeof n).toBe('number');
      total += n;
    }
    expect(total).toBe(3);
  });
});

describe('batch limits and argument errors', () => {
  it('sendmmsg refuses 1025 messages (UIO_MAXIOV is 1024) with a RangeError naming messages, sending nothing', () => {
    const a = udp();
    const b = udp();
    connect(a, getsockname(b));
    const err = thrown(() => sendmmsg(a, views(1025, 1)));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/"messages\.length"/);
    expectNothingQueued(b);
  });

  it('recvmmsg refuses 1025 buffers with a RangeError naming buffers', () => {
    const b = udp();
    const err = thrown(() => recvmmsg(b, views(1025, 1), { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/"buffers"/);
  });

  it('recvmmsgInto refuses 1025 buffers with a RangeError naming buffers', () => {
    const b = udp();
    const err = thrown(() => recvmmsgInto(b, views(1025, 1), new Uint32Array(1025), { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/"buffers"/);
  });

  it('recvmmsg accepts exactly 1024 buffers (the call itself then reports EAGAIN)', () => {
    const b = udp();
    const err = thrown(() => recvmmsg(b, views(1024, 1), { flags: MSG_DONTWAIT }));
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'recvmmsg' });
  });

  it('recvmmsg refuses a non-view element with a TypeError naming buffers[i]', () => {
    const b = udp();
    const err = thrown(() => recvmmsg(b, [Buffer.alloc(4), 'nope' as unknown as Buffer], { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/"buffers\[1\]"/);
  });

  it('sendmmsg refuses a { buf } that is not a view with a TypeError naming messages[i].buf, sending nothing', () => {
    const a = udp();
    const b = udp();
    const msgs = [
      { buf: Buffer.from('ok'), addr: getsockname(b) },
      { buf: 'nope', addr: getsockname(b) },
    ] as unknown as MMsg[];
    const err = thrown(() => sendmmsg(a, msgs));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/"messages\[1\]\.buf"/);
    expectNothingQueued(b);
  });

  it('sendmmsg refuses a message that is neither a view nor an object with a TypeError naming messages[i]', () => {
    const a = udp();
    const b = udp();
    connect(a, getsockname(b));
    const err = thrown(() => sendmmsg(a, [Buffer.from('ok'), 42 as unknown as MMsg]));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/"messages\[1\]"/);
    expectNothingQueued(b);
  });

  it('sendmmsg refuses a malformed address in one message, naming addrs[i], and sends nothing', () => {
    const a = udp();
    const b = udp();
    const good = getsockname(b);
    const badAddress = thrown(() =>
      sendmmsg(a, [
        { buf: Buffer.from('ok'), addr: good },
        { buf: Buffer.from('bad'), addr: { family: AF_INET, address: 'not an ip', port: 1 } },
      ]),
    );
    expect(badAddress).toBeInstanceOf(TypeError);
    expect((badAddress as Error).message).toMatch(/addrs\[1\]/);
    const badPort = thrown(() =>
      sendmmsg(a, [
        { buf: Buffer.from('ok'), addr: good },
        { buf: Buffer.from('ok'), addr: good },
        { buf: Buffer.from('bad'), addr: { family: AF_INET, address: LOOPBACK, port: 70000 } },
      ]),
    );
    expect(badPort).toBeInstanceOf(RangeError);
    expect((badPort as Error).message).toMatch(/addrs\[2\]/);
    expectNothingQueued(b);
  });
});

describe('sockfd/promises', () => {
  it('recvmmsg waits for datagrams sent later and resolves with all that are queued', async () => {
    const a = udp();
    const b = udp();
    connect(a, getsockname(b));
    const timer = setTimeout(() => sendmmsg(a, [Buffer.from('late 1'), Buffer.from('late 2'), Buffer.from('late 3')]), 50);
    try {
      const bufs = views(8);
      const r = await promises.recvmmsg(b, bufs, {}, { timeout: 2000 });
      expect(r.map((m, i) => bufs[i]!.toString('latin1', 0, m.bytes))).toEqual(['late 1', 'late 2', 'late 3']);
      expect(r.map((m) => m.address)).toEqual([getsockname(a), getsockname(a), getsockname(a)]);
    } finally {
      clearTimeout(timer);
    }
  });

  it('recvmmsg with { timeout } rejects with ETIMEDOUT when nothing arrives', async () => {
    const b = udp();
    const t0 = performance.now();
    const err = await rejection(promises.recvmmsg(b, views(4), {}, { timeout: 100 }));
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', syscall: 'recvmmsg' });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(2000);
  });

  it('sendmmsg resolves with the count sent', async () => {
    const peer = await dgramPeer();
    try {
      const a = udp();
      const other = udp();
      connect(a, peer.address);
      const msgs: MMsg[] = [Buffer.from('p1'), { buf: Buffer.from('p2'), addr: getsockname(other) }, Buffer.from('p3')];
      await expect(promises.sendmmsg(a, msgs, 0, { timeout: 2000 })).resolves.toBe(3);
      await peer.received(2);
      expect(peer.got).toEqual(['p1', 'p3']);
      expect(recvN(other, 1)).toEqual(['p2']);
    } finally {
      await closeDgram(peer.socket);
    }
  });
});
