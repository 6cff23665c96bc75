// sendmsg and recvmsg: scatter/gather over several views (their own memory, never copies), the
// destination/source address, flags in and out (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_PEEK,
// MSG_ERRQUEUE), and ancillary data as typed objects in both directions, each checked against the
// kernel: SCM_RIGHTS, SCM_CREDENTIALS, IP_PKTINFO / IPV6_PKTINFO, IP_TTL / IPV6_HOPLIMIT,
// IP_TOS / IPV6_TCLASS, SO_TIMESTAMP(NS|ING), IP_RECVERR / IPV6_RECVERR, unknown items as raw bytes,
// malformed input refused before the call, and the promise forms.
//
// Every wait is bounded: each receive is preceded by a poll with a 2 s timeout (or uses MSG_DONTWAIT),
// and promise calls carry { timeout }.
import * as os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  FD_CLOEXEC,
  F_GETFD,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_PKTINFO,
  IPV6_RECVERR,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_RECVTCLASS,
  IPV6_TCLASS,
  IP_ORIGDSTADDR,
  IP_PKTINFO,
  IP_RECVERR,
  IP_RECVORIGDSTADDR,
  IP_RECVTOS,
  IP_RECVTTL,
  IP_TOS,
  IP_TTL,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_EOR,
  MSG_ERRQUEUE,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLPRI,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SCM_TIMESTAMP,
  SCM_TIMESTAMPING,
  SCM_TIMESTAMPNS,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SO_PASSCRED,
  SO_TIMESTAMP,
  SO_TIMESTAMPING,
  SO_TIMESTAMPNS,
  SystemError,
  accept,
  bind,
  close,
  connect,
  fcntl,
  getsockname,
  getsockopt,
  if_nametoindex,
  listen,
  poll,
  recv,
  recvmsg,
  send,
  sendmsg,
  setsockopt,
  socket,
  socketpair,
  type ControlMessage,
  type ControlMessageInit,
  type ControlMessageOf,
  type SockAddr,
} from '../src/index.js';
import type { InetFamily } from '../src/index.js';
import * as promises from '../src/promises.js';
import { thrown, waitFor } from './helpers/expect.js';
import { checkFdLeaks, fdTarget, openFds, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// fds opened by a test; afterEach closes whatever a test did not close itself.

const { own, release } = ownFds();



function pair(type: number): [number, number] {
  const [a, b] = socketpair(AF_UNIX, type);
  return [own(a), own(b)];
}

/** A connected loopback TCP pair: [client, accepted]. */
function tcpPair(): [number, number] {
  const lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  try {
    bind(lfd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    listen(lfd, 4);
    const c = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    try {
      connect(c, getsockname(lfd));
    } catch (err) {
      if (!(err instanceof SystemError && err.code === 'EINPROGRESS')) throw err;
    }
    waitFor(c, POLLOUT, true);
    expect(getsockopt(c, SOL_SOCKET, SO_ERROR)).toBe(0);
    waitFor(lfd, POLLIN, true);
    const s = own(accept(lfd).fd);
    return [c, s];
  } finally {
    close(lfd);
  }
}

/** A UDP socket bound to an ephemeral port on `address`. */
function udp(family: InetFamily, address: string): number {
  const fd = own(socket(family, SOCK_DGRAM));
  bind(fd, { family, address, port: 0 });
  return fd;
}

/** Two UDP sockets bound to ephemeral loopback ports. */
function udpPair(family: InetFamily = AF_INET): [number, number] {
  const loopback = family === AF_INET ? '127.0.0.1' : '::1';
  return [udp(family, loopback), udp(family, loopback)];
}

/** A loopback port nothing listens on (bound once, then closed). */
function closedPort(family: InetFamily): SockAddr {
  const fd = socket(family, SOCK_DGRAM);
  try {
    bind(fd, family === AF_INET ? { family, address: '127.0.0.1', port: 0 } : { family, address: '::1', port: 0 });
    return getsockname(fd);
  } finally {
    close(fd);
  }
}

/** The items of `control` with this level and type. */
function items<L extends number, T extends number>(control: ControlMessage[], level: L, type: T): ControlMessageOf<L, T>[] {
  return control.filter((c): c is ControlMessageOf<L, T> => c.level === level && c.type === type);
}

/** The one item of `control` with this level and type. */
function item<L extends number, T extends number>(control: ControlMessage[], level: L, type: T): ControlMessageOf<L, T> {
  const found = items(control, level, type);
  expect(found, `control items ${level}:${type} in ${JSON.stringify(control)}`).toHaveLength(1);
  return found[0]!;
}

/** Every fd received with SCM_RIGHTS in `control`, each registered to be closed. */
function receivedFds(control: ControlMessage[]): number[] {
  const fds = items(control, SOL_SOCKET, SCM_RIGHTS).flatMap((c) => c.fds);
  fds.forEach(own);
  return fds;
}

/** The number of sockets this process has open, from /proc/self/fd. */
function socketCount(): number {
  return [...openFds().values()].filter((t) => t.startsWith('socket:')).length;
}

/** Expects nothing to be waiting on `fd` (a non-blocking recv gives EAGAIN). */
function expectNothingWaiting(fd: number): void {
  const err = thrown(() => recv(fd, Buffer.alloc(64), undefined, MSG_DONTWAIT));
  expect(err).toBeInstanceOf(SystemError);
  expect((err as SystemError).code).toBe('EAGAIN');
}

/** CMSG_SPACE(n) on Linux: the 16-byte header (x86-64/arm64) plus n, rounded up to 8. */
const cmsgSpace = (n: number): number => 16 + Math.ceil(n / 8) * 8;

const SENTINEL = 0xee;
/** Writes a C unsigned int in host byte order. */
const u32 = (b: Buffer, v: number, o: number): void => {
  if (os.endianness() === 'LE') b.writeUInt32LE(v, o);
  else b.writeUInt32BE(v, o);
};

/**
 * Sends `payload` on a connected socket until its error queue reports (POLLERR), retrying a few
 * times in case ICMP's global rate limit swallowed an error while other test files run.
 */
function sendUntilError(fd: number, payload: Buffer): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    sendmsg(fd, [payload]);
    const [r] = poll([{ fd, events: 0 }], 500);
    if (r!.revents & POLLERR) return;
  }
  expect.fail(`no error queued on fd ${fd} after 5 sends`);
}

// ---------------------------------------------------------------------------------------------

describe('scatter/gather', () => {
  it('scatters one datagram into several subarrays of a larger buffer, writing only inside them', () => {
    const [a, b] = udpPair();
    connect(a, getsockname(b));
    expect(sendmsg(a, [Buffer.from('abcdefghijklm')])).toBe(13);
    const big = Buffer.alloc(32, SENTINEL);
    const views = [big.subarray(2, 6), big.subarray(10, 15), big.subarray(20, 24)];
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, views);
    expect(r.bytes).toBe(13);
    expect(r.flags & MSG_TRUNC).toBe(0);
    expect(views.map((v) => v.toString('latin1'))).toEqual(['abcd', 'efghi', 'jklm']);
    const outside = [...big.subarray(0, 2), ...big.subarray(6, 10), ...big.subarray(15, 20), ...big.subarray(24)];
    expect(outside.every((x) => x === SENTINEL)).toBe(true);
  });

  it('scatters a short message into the first views only, leaving the rest untouched', () => {
    const [a, b] = pair(SOCK_DGRAM);
    sendmsg(a, [Buffer.from('xyz')]);
    const v1 = Buffer.alloc(2, SENTINEL);
    const v2 = Buffer.alloc(4, SENTINEL);
    const v3 = Buffer.alloc(4, SENTINEL);
    waitFor(b, POLLIN, true);
    expect(recvmsg(b, [v1, v2, v3]).bytes).toBe(3);
    expect(v1.toString('latin1')).toBe('xy');
    expect([...v2]).toEqual([0x7a, SENTINEL, SENTINEL, SENTINEL]);
    expect([...v3]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
  });

  it('gathers from a DataView and a Uint8Array, sending only their windows, in order', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const ab = new ArrayBuffer(16);
    new Uint8Array(ab).set(Buffer.from('..hello.........', 'latin1'));
    const dv = new DataView(ab, 2, 5);
    const u8 = new Uint8Array(Buffer.from('__ world__', 'latin1')).subarray(2, 8);
    expect(sendmsg(a, [dv, u8])).toBe(11);
    waitFor(b, POLLIN, true);
    const out = Buffer.alloc(64);
    const r = recvmsg(b, [out]);
    expect(out.toString('latin1', 0, r.bytes)).toBe('hello world');
  });

  it('receives into a DataView and a Uint8Array', () => {
    const [a, b] = pair(SOCK_DGRAM);
    sendmsg(a, [Buffer.from('0123456789')]);
    const dv = new DataView(new ArrayBuffer(4));
    const u8 = new Uint8Array(10);
    waitFor(b, POLLIN, true);
    expect(recvmsg(b, [dv, u8]).bytes).toBe(10);
    expect(Buffer.from(dv.buffer).toString('latin1')).toBe('0123');
    expect(Buffer.from(u8.subarray(0, 6)).toString('latin1')).toBe('456789');
  });

  it('sends an empty buffer list as a zero-length datagram', () => {
    const [a, b] = pair(SOCK_DGRAM);
    expect(sendmsg(a, [])).toBe(0);
    waitFor(b, POLLIN, true);
    expect(recvmsg(b, [Buffer.alloc(8)]).bytes).toBe(0);
  });
});

describe('addresses', () => {
  it('sendmsg with addr sends from an unconnected UDP socket, and recvmsg gives the source address', () => {
    const [a, b] = udpPair();
    expect(sendmsg(a, [Buffer.from('to you')], { addr: getsockname(b) })).toBe(6);
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16);
    const r = recvmsg(b, [buf]);
    expect(buf.toString('latin1', 0, r.bytes)).toBe('to you');
    expect(r.address).toEqual(getsockname(a));
  });

  it('sendmsg with addr over UDP/IPv6 gives the ::1 source address', () => {
    const [a, b] = udpPair(AF_INET6);
    sendmsg(a, [Buffer.from('six')], { addr: getsockname(b) });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)]);
    expect(r.address).toEqual(getsockname(a));
    expect(r.address).toMatchObject({ family: AF_INET6, address: '::1' });
  });

  it('sendmsg without addr on an unconnected UDP socket fails with EDESTADDRREQ', () => {
    const a = udp(AF_INET, '127.0.0.1');
    const err = thrown(() => sendmsg(a, [Buffer.from('x')]));
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).code).toBe('EDESTADDRREQ');
    expect((err as SystemError).syscall).toBe('sendmsg');
  });

  it('sendmsg to a refused address names the address in the error', () => {
    const to = closedPort(AF_INET);
    const c = own(socket(AF_INET, SOCK_STREAM));
    const err = thrown(() => sendmsg(c, [Buffer.from('x')], { addr: to }));
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).syscall).toBe('sendmsg');
    expect((err as SystemError).address).toBe('127.0.0.1');
  });

  it('recvmsg on a connected stream socket gives a null address', () => {
    const [a, b] = pair(SOCK_STREAM);
    sendmsg(a, [Buffer.from('x')]);
    waitFor(b, POLLIN, true);
    expect(recvmsg(b, [Buffer.alloc(4)]).address).toBeNull();
  });
});

describe('flags', () => {
  it('reports MSG_TRUNC and writes only the buffers when a datagram is larger', () => {
    const [a, b] = udpPair();
    sendmsg(a, [Buffer.alloc(100, 0x41)], { addr: getsockname(b) });
    const big = Buffer.alloc(20, SENTINEL);
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [big.subarray(5, 15)]);
    expect(r.bytes).toBe(10);
    expect(r.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(big.toString('latin1', 5, 15)).toBe('A'.repeat(10));
    expect([...big.subarray(0, 5), ...big.subarray(15)].every((x) => x === SENTINEL)).toBe(true);
  });

  it('MSG_TRUNC in flags gives the true datagram length while writing at most the buffers', () => {
    const [a, b] = udpPair();
    sendmsg(a, [Buffer.alloc(100, 0x42)], { addr: getsockname(b) });
    const big = Buffer.alloc(24, SENTINEL);
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [big.subarray(2, 6), big.subarray(10, 14)], { flags: MSG_TRUNC });
    expect(r.bytes).toBe(100);
    expect(r.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(big.toString('latin1', 2, 6)).toBe('BBBB');
    expect(big.toString('latin1', 10, 14)).toBe('BBBB');
    expect([...big.subarray(0, 2), ...big.subarray(6, 10), ...big.subarray(14)].every((x) => x === SENTINEL)).toBe(true);
  });

  it('MSG_PEEK leaves the datagram queued', () => {
    const [a, b] = pair(SOCK_DGRAM);
    sendmsg(a, [Buffer.from('peek')]);
    waitFor(b, POLLIN, true);
    const first = Buffer.alloc(8);
    expect(recvmsg(b, [first], { flags: MSG_PEEK }).bytes).toBe(4);
    const second = Buffer.alloc(8);
    expect(recvmsg(b, [second]).bytes).toBe(4);
    expect(second.toString('latin1', 0, 4)).toBe('peek');
    expectNothingWaiting(b);
  });

  it('MSG_DONTWAIT on an empty socket throws EAGAIN', () => {
    const [, b] = pair(SOCK_DGRAM);
    const err = thrown(() => recvmsg(b, [Buffer.alloc(8)], { flags: MSG_DONTWAIT }));
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).code).toBe('EAGAIN');
    expect((err as SystemError).syscall).toBe('recvmsg');
  });

  it('reports MSG_OOB when receiving TCP urgent data with MSG_OOB', () => {
    const [c, s] = tcpPair();
    expect(sendmsg(c, [Buffer.from('ab!')], { flags: MSG_OOB })).toBe(3);
    waitFor(s, POLLPRI, true);
    const buf = Buffer.alloc(4);
    const r = recvmsg(s, [buf], { flags: MSG_OOB });
    expect(r.bytes).toBe(1);
    expect(buf.toString('latin1', 0, 1)).toBe('!');
    expect(r.flags & MSG_OOB).toBe(MSG_OOB);
    // The in-band bytes come without MSG_OOB.
    waitFor(s, POLLIN, true);
    const inband = recvmsg(s, [Buffer.alloc(4)]);
    expect(inband.bytes).toBe(2);
    expect(inband.flags & MSG_OOB).toBe(0);
  });

  it('sendmsg with MSG_EOR on a SOCK_SEQPACKET socketpair sends each call as one whole record', () => {
    // Linux's AF_UNIX never sets MSG_EOR in recvmsg's flags (only SCTP does), so what is checked
    // here is the sending side: MSG_EOR is accepted and each gathered call is one record.
    const [a, b] = pair(SOCK_SEQPACKET);
    expect(sendmsg(a, [Buffer.from('rec'), Buffer.from('ord')], { flags: MSG_EOR })).toBe(6);
    expect(sendmsg(a, [Buffer.from('second'), Buffer.from('record')], { flags: MSG_EOR })).toBe(12);
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16);
    const first = recvmsg(b, [buf]);
    expect(buf.toString('latin1', 0, first.bytes)).toBe('record');
    expect(first.flags & MSG_TRUNC).toBe(0);
    // A record larger than the buffers is cut with MSG_TRUNC and its rest discarded.
    const small = Buffer.alloc(4);
    const second = recvmsg(b, [small]);
    expect(second.bytes).toBe(4);
    expect(second.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(small.toString('latin1')).toBe('seco');
    expectNothingWaiting(b);
  });
});

// ---------------------------------------------------------------------------------------------

describe('SCM_RIGHTS', () => {
  it('passes a socket fd that the receiver can use: same socket, close-on-exec', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const passed = udp(AF_INET, '127.0.0.1');
    const target = udp(AF_INET, '127.0.0.1');
    expect(sendmsg(a, [Buffer.from('fd')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [passed] }] })).toBe(2);
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: cmsgSpace(4) });
    expect(r.flags & MSG_CTRUNC).toBe(0);
    const rights = item(r.control, SOL_SOCKET, SCM_RIGHTS);
    const fds = receivedFds(r.control);
    expect(fds).toHaveLength(1);
    const got = fds[0]!;
    expect(got).not.toBe(passed);
    expect(rights.data).toHaveLength(4);
    expect(fdTarget(got)).toBe(fdTarget(passed));
    expect(getsockname(got)).toEqual(getsockname(passed));
    expect(fcntl(got, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
    // The receiver uses it: a datagram sent through it comes from the passed socket's address.
    sendmsg(got, [Buffer.from('via')], { addr: getsockname(target) });
    waitFor(target, POLLIN, true);
    const seen = recvmsg(target, [Buffer.alloc(8)]);
    expect(seen.address).toEqual(getsockname(passed));
    release(got);
  });

  it('passes several fds in one item, in order', () => {
    const [a, b] = pair(SOCK_STREAM);
    const originals = [udp(AF_INET, '127.0.0.1'), own(socket(AF_INET, SOCK_STREAM)), udp(AF_INET6, '::1')];
    sendmsg(a, [Buffer.from('x')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: originals }] });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: cmsgSpace(12) });
    expect(r.flags & MSG_CTRUNC).toBe(0);
    const fds = receivedFds(r.control);
    expect(fds).toHaveLength(3);
    expect(fds.map(fdTarget)).toEqual(originals.map(fdTarget));
    for (const fd of fds) expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('passes fds in two separate SCM_RIGHTS items', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const x = udp(AF_INET, '127.0.0.1');
    const y = udp(AF_INET, '127.0.0.1');
    sendmsg(a, [Buffer.from('x')], {
      control: [
        { level: SOL_SOCKET, type: SCM_RIGHTS, fds: [x] },
        { level: SOL_SOCKET, type: SCM_RIGHTS, fds: [y] },
      ],
    });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 128 });
    const fds = receivedFds(r.control);
    expect(fds.map(fdTarget)).toEqual([fdTarget(x), fdTarget(y)]);
  });

  it.each([0, 16, 20, 23, cmsgSpace(4)])(
    'with controlLength %i too small for 3 fds, reports MSG_CTRUNC and leaves no extra fd open',
    (controlLength) => {
      const [a, b] = pair(SOCK_DGRAM);
      const originals = [udp(AF_INET, '127.0.0.1'), udp(AF_INET, '127.0.0.1'), udp(AF_INET, '127.0.0.1')];
      const targets = originals.map(fdTarget);
      const before = socketCount();
      sendmsg(a, [Buffer.from('three')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: originals }] });
      waitFor(b, POLLIN, true);
      const r = recvmsg(b, [Buffer.alloc(8)], { controlLength });
      const fds = receivedFds(r.control);
      expect(r.bytes).toBe(5);
      expect(r.flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
      // Whatever came back is whole: real fds of the passed sockets, in order.
      expect(fds.length).toBeLessThan(3);
      expect(fds.map(fdTarget)).toEqual(targets.slice(0, fds.length));
      for (const fd of fds) release(fd);
      expect(socketCount()).toBe(before);
      // And once the originals are closed, nothing refers to the passed sockets any more.
      for (const fd of originals) release(fd);
      const open = new Set(openFds().values());
      expect(targets.filter((t) => open.has(t!))).toEqual([]);
    },
  );

  it('received fds are closed by the receiver without affecting the originals', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const passed = udp(AF_INET, '127.0.0.1');
    sendmsg(a, [Buffer.from('x')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [passed] }] });
    waitFor(b, POLLIN, true);
    const [got] = receivedFds(recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }).control);
    release(got!);
    expect(fdTarget(got!)).toBeUndefined();
    expect(getsockname(passed)).toMatchObject({ family: AF_INET, address: '127.0.0.1' });
  });

  it('sending a closed fd fails with EBADF', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const gone = socket(AF_INET, SOCK_DGRAM);
    close(gone);
    const err = thrown(() => sendmsg(a, [Buffer.from('x')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [gone] }] }));
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).code).toBe('EBADF');
    expectNothingWaiting(b);
  });
});

describe('SCM_CREDENTIALS', () => {
  it('with SO_PASSCRED, the receiver sees the sender pid, uid and gid', () => {
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    sendmsg(a, [Buffer.from('who')]);
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    const cred = item(r.control, SOL_SOCKET, SCM_CREDENTIALS);
    expect(cred).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    expect(cred.data).toHaveLength(12);
  });

  it('the sender can send explicit credentials of its own pid', () => {
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    const creds = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    expect(sendmsg(a, [Buffer.from('me')], { control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, ...creds }] })).toBe(2);
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    expect(item(r.control, SOL_SOCKET, SCM_CREDENTIALS)).toMatchObject(creds);
  });

  it('explicit credentials of another pid are refused by the kernel unless privileged', () => {
    // pid 1 is not ours; without CAP_SYS_ADMIN the kernel refuses it with EPERM, with it the receiver sees 1.
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    const creds = { pid: 1, uid: process.getuid!(), gid: process.getgid!() };
    let sent = true;
    try {
      sendmsg(a, [Buffer.from('p1')], { control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, ...creds }] });
    } catch (err) {
      expect(err).toBeInstanceOf(SystemError);
      expect((err as SystemError).code).toBe('EPERM');
      sent = false;
    }
    if (sent) {
      waitFor(b, POLLIN, true);
      expect(item(recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }).control, SOL_SOCKET, SCM_CREDENTIALS).pid).toBe(1);
    } else {
      expectNothingWaiting(b);
    }
  });

  it('explicit credentials of another uid and gid reach the receiver when the sender may set them', () => {
    // With CAP_SETUID/CAP_SETGID (root here) the kernel passes them on; without, it refuses with EPERM.
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    const creds = { pid: process.pid, uid: 65534, gid: 65533 };
    let sent = true;
    try {
      sendmsg(a, [Buffer.from('nobody')], { control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, ...creds }] });
    } catch (err) {
      expect(process.getuid!()).not.toBe(0);
      expect((err as SystemError).code).toBe('EPERM');
      sent = false;
    }
    if (sent) {
      waitFor(b, POLLIN, true);
      expect(item(recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }).control, SOL_SOCKET, SCM_CREDENTIALS)).toMatchObject(creds);
    } else {
      expectNothingWaiting(b);
    }
  });

  it('a control buffer too small for the credentials reports MSG_CTRUNC and returns no partial item', () => {
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    sendmsg(a, [Buffer.from('short')]);
    waitFor(b, POLLIN, true);
    // CMSG_LEN(4): room for the header and the pid only.
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 20 });
    expect(r.bytes).toBe(5);
    expect(r.flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
    for (const c of r.control) expect(c.data!.length, `partial item ${c.level}:${c.type}`).toBeGreaterThanOrEqual(12);
  });
});

describe('IP_PKTINFO / IPV6_PKTINFO', () => {
  it('IP_PKTINFO gives the destination address and interface of a received datagram', () => {
    const b = udp(AF_INET, '0.0.0.0');
    setsockopt(b, IPPROTO_IP, IP_PKTINFO, 1);
    const port = (getsockname(b) as { port: number }).port;
    const a = udp(AF_INET, '127.0.0.1');
    sendmsg(a, [Buffer.from('pk')], { addr: { family: AF_INET, address: '127.0.0.3', port } });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    const info = item(r.control, IPPROTO_IP, IP_PKTINFO);
    expect(info).toMatchObject({ addr: '127.0.0.3', specDst: '127.0.0.3', ifindex: if_nametoindex('lo') });
    expect(r.address).toEqual(getsockname(a));
  });

  it('IPV6_PKTINFO, with IPV6_RECVPKTINFO set, gives the destination ::1 and the loopback interface', () => {
    const [a, b] = udpPair(AF_INET6);
    sendmsg(a, [Buffer.from('before')], { addr: getsockname(b) });
    waitFor(b, POLLIN, true);
    expect(items(recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }).control, IPPROTO_IPV6, IPV6_PKTINFO)).toEqual([]);
    setsockopt(b, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    sendmsg(a, [Buffer.from('after')], { addr: getsockname(b) });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    expect(item(r.control, IPPROTO_IPV6, IPV6_PKTINFO)).toMatchObject({ addr: '::1', ifindex: if_nametoindex('lo') });
  });

  it('IP_PKTINFO with specDst on send selects the source address of an unbound socket', () => {
    const b = udp(AF_INET, '127.0.0.1');
    const a = own(socket(AF_INET, SOCK_DGRAM));
    sendmsg(a, [Buffer.from('src')], {
      addr: getsockname(b),
      control: [{ level: IPPROTO_IP, type: IP_PKTINFO, specDst: '127.0.0.2' }],
    });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)]);
    expect(r.address).toMatchObject({ family: AF_INET, address: '127.0.0.2' });
  });

  it('IPV6_PKTINFO with addr on send selects the source address ::1', () => {
    const b = udp(AF_INET6, '::1');
    const a = own(socket(AF_INET6, SOCK_DGRAM));
    sendmsg(a, [Buffer.from('src6')], {
      addr: getsockname(b),
      control: [{ level: IPPROTO_IPV6, type: IPV6_PKTINFO, addr: '::1', ifindex: if_nametoindex('lo') }],
    });
    waitFor(b, POLLIN, true);
    expect(recvmsg(b, [Buffer.alloc(8)]).address).toMatchObject({ family: AF_INET6, address: '::1' });
  });

  it('IP_PKTINFO with a non-local specDst is refused by the kernel', () => {
    const b = udp(AF_INET, '127.0.0.1');
    const a = own(socket(AF_INET, SOCK_DGRAM));
    const err = thrown(() =>
      sendmsg(a, [Buffer.from('no')], { addr: getsockname(b), control: [{ level: IPPROTO_IP, type: IP_PKTINFO, specDst: '198.51.100.7' }] }),
    );
    expect(err).toBeInstanceOf(SystemError);
    // The route lookup for a source that is no local address fails (ENETUNREACH on Linux).
    expect(['ENETUNREACH', 'EINVAL', 'EADDRNOTAVAIL']).toContain((err as SystemError).code);
    expect((err as SystemError).syscall).toBe('sendmsg');
    expectNothingWaiting(b);
  });
});

describe('hop limits and traffic class', () => {
  it('IP_TTL sent as a control message arrives as IP_TTL with IP_RECVTTL', () => {
    const [a, b] = udpPair();
    setsockopt(b, IPPROTO_IP, IP_RECVTTL, 1);
    sendmsg(a, [Buffer.from('t')], { addr: getsockname(b), control: [{ level: IPPROTO_IP, type: IP_TTL, value: 7 }] });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    expect(item(r.control, IPPROTO_IP, IP_TTL).value).toBe(7);
  });

  it('IPV6_HOPLIMIT sent as a control message arrives as IPV6_HOPLIMIT with IPV6_RECVHOPLIMIT', () => {
    const [a, b] = udpPair(AF_INET6);
    setsockopt(b, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    sendmsg(a, [Buffer.from('h')], { addr: getsockname(b), control: [{ level: IPPROTO_IPV6, type: IPV6_HOPLIMIT, value: 9 }] });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    expect(item(r.control, IPPROTO_IPV6, IPV6_HOPLIMIT).value).toBe(9);
  });

  it('IP_TOS sent as a control message arrives as IP_TOS with IP_RECVTOS', () => {
    const [a, b] = udpPair();
    setsockopt(b, IPPROTO_IP, IP_RECVTOS, 1);
    sendmsg(a, [Buffer.from('q')], { addr: getsockname(b), control: [{ level: IPPROTO_IP, type: IP_TOS, value: 0x10 }] });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    expect(item(r.control, IPPROTO_IP, IP_TOS).value).toBe(0x10);
  });

  it('IPV6_TCLASS sent as a control message arrives as IPV6_TCLASS with IPV6_RECVTCLASS', () => {
    const [a, b] = udpPair(AF_INET6);
    setsockopt(b, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
    sendmsg(a, [Buffer.from('c')], { addr: getsockname(b), control: [{ level: IPPROTO_IPV6, type: IPV6_TCLASS, value: 0x20 }] });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    expect(item(r.control, IPPROTO_IPV6, IPV6_TCLASS).value).toBe(0x20);
  });

  it('several control messages in one sendmsg all take effect', () => {
    const [a, b] = udpPair();
    setsockopt(b, IPPROTO_IP, IP_RECVTTL, 1);
    setsockopt(b, IPPROTO_IP, IP_RECVTOS, 1);
    sendmsg(a, [Buffer.from('2')], {
      addr: getsockname(b),
      control: [
        { level: IPPROTO_IP, type: IP_TTL, value: 42 },
        { level: IPPROTO_IP, type: IP_TOS, value: 0x08 },
      ],
    });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 128 });
    expect(item(r.control, IPPROTO_IP, IP_TTL).value).toBe(42);
    expect(item(r.control, IPPROTO_IP, IP_TOS).value).toBe(0x08);
  });
});

describe('timestamps', () => {
  it('SO_TIMESTAMPNS gives SCM_TIMESTAMPNS close to Date.now()', () => {
    const [a, b] = udpPair();
    setsockopt(b, SOL_SOCKET, SO_TIMESTAMPNS, 1);
    sendmsg(a, [Buffer.from('now')], { addr: getsockname(b) });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    const ts = item(r.control, SOL_SOCKET, SCM_TIMESTAMPNS);
    // Seconds and nanoseconds apart, each an exact integer (a single ns count would pass 2^53).
    expect(Number.isSafeInteger(ts.sec) && Number.isSafeInteger(ts.nsec)).toBe(true);
    expect(ts.nsec).toBeGreaterThanOrEqual(0);
    expect(ts.nsec).toBeLessThan(1e9);
    expect(Math.abs(ts.sec! * 1000 + ts.nsec! / 1e6 - Date.now())).toBeLessThan(2000);
  });

  it('SO_TIMESTAMP gives SCM_TIMESTAMP with microseconds as nsec, close to Date.now()', () => {
    const [a, b] = udpPair();
    setsockopt(b, SOL_SOCKET, SO_TIMESTAMP, 1);
    sendmsg(a, [Buffer.from('now')], { addr: getsockname(b) });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    const ts = item(r.control, SOL_SOCKET, SCM_TIMESTAMP);
    expect(ts.nsec! % 1000).toBe(0);
    expect(ts.nsec).toBeLessThan(1e9);
    expect(Math.abs(ts.sec! * 1000 + ts.nsec! / 1e6 - Date.now())).toBeLessThan(2000);
  });

  it('SO_TIMESTAMPING with software receive stamps gives SCM_TIMESTAMPING close to Date.now()', () => {
    const SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3;
    const SOF_TIMESTAMPING_SOFTWARE = 1 << 4;
    const [a, b] = udpPair();
    setsockopt(b, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
    // The kernel switches receive timestamping on through deferred work (net_enable_timestamp), so the
    // first datagrams after the option may arrive unstamped: send until one is stamped, a bounded number
    // of times.
    let r: ReturnType<typeof recvmsg> | undefined;
    for (let attempt = 0; attempt < 50 && r === undefined; attempt++) {
      sendmsg(a, [Buffer.from('now')], { addr: getsockname(b) });
      waitFor(b, POLLIN, true);
      const got = recvmsg(b, [Buffer.alloc(8)], { controlLength: 128 });
      if (items(got.control, SOL_SOCKET, SCM_TIMESTAMPING).length > 0) r = got;
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
    const ts = item(r!.control, SOL_SOCKET, SCM_TIMESTAMPING);
    expect(ts.timestamps).toHaveLength(3);
    const [sw, , hw] = ts.timestamps!;
    expect(Math.abs(sw!.sec * 1000 + sw!.nsec / 1e6 - Date.now())).toBeLessThan(2000);
    expect(hw).toEqual({ sec: 0, nsec: 0 });
  });
});

describe('IP_RECVERR / IPV6_RECVERR with MSG_ERRQUEUE', () => {
  it('a port unreachable over IPv4 decodes as errno 111, ICMP origin, type 3, code 3, offender 127.0.0.1', () => {
    const to = closedPort(AF_INET);
    const a = own(socket(AF_INET, SOCK_DGRAM));
    setsockopt(a, IPPROTO_IP, IP_RECVERR, 1);
    connect(a, to);
    sendUntilError(a, Buffer.from('anyone?'));
    const payload = Buffer.alloc(16);
    const r = recvmsg(a, [payload], { flags: MSG_ERRQUEUE, controlLength: 512 });
    expect(r.flags & MSG_ERRQUEUE).toBe(MSG_ERRQUEUE);
    expect(payload.toString('latin1', 0, r.bytes)).toBe('anyone?');
    expect(r.address).toMatchObject({ family: AF_INET, address: '127.0.0.1', port: (to as { port: number }).port });
    const { error } = item(r.control, IPPROTO_IP, IP_RECVERR);
    expect(error).toMatchObject({ errno: 111, origin: 2, type: 3, code: 3 });
    expect(error!.offender).toMatchObject({ family: AF_INET, address: '127.0.0.1' });
  });

  it('a port unreachable over IPv6 decodes as errno 111, ICMPv6 origin, type 1, code 4, offender ::1', () => {
    const to = closedPort(AF_INET6);
    const a = own(socket(AF_INET6, SOCK_DGRAM));
    setsockopt(a, IPPROTO_IPV6, IPV6_RECVERR, 1);
    connect(a, to);
    sendUntilError(a, Buffer.from('six?'));
    const r = recvmsg(a, [Buffer.alloc(16)], { flags: MSG_ERRQUEUE, controlLength: 512 });
    expect(r.flags & MSG_ERRQUEUE).toBe(MSG_ERRQUEUE);
    const { error } = item(r.control, IPPROTO_IPV6, IPV6_RECVERR);
    expect(error).toMatchObject({ errno: 111, origin: 3, type: 1, code: 4 });
    expect(error!.offender).toMatchObject({ family: AF_INET6, address: '::1' });
  });

  it('an empty error queue gives EAGAIN', () => {
    const a = udp(AF_INET, '127.0.0.1');
    setsockopt(a, IPPROTO_IP, IP_RECVERR, 1);
    const err = thrown(() => recvmsg(a, [Buffer.alloc(8)], { flags: MSG_ERRQUEUE, controlLength: 512 }));
    expect((err as SystemError).code).toBe('EAGAIN');
  });
});

describe('unknown control messages', () => {
  it('a control message sockfd does not decode comes back as { level, type, data }', () => {
    const b = udp(AF_INET, '127.0.0.1');
    setsockopt(b, IPPROTO_IP, IP_RECVORIGDSTADDR, 1);
    const a = udp(AF_INET, '127.0.0.1');
    sendmsg(a, [Buffer.from('o')], { addr: getsockname(b) });
    waitFor(b, POLLIN, true);
    const r = recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 });
    const orig = item(r.control, IPPROTO_IP, IP_ORIGDSTADDR);
    expect(Object.keys(orig).sort()).toEqual(['data', 'level', 'type']);
    expect(Buffer.isBuffer(orig.data)).toBe(true);
    // struct sockaddr_in: family (host order), port (network order), address.
    const data = orig.data as Buffer;
    expect(data.readUInt16LE(0)).toBe(AF_INET);
    expect(data.readUInt16BE(2)).toBe((getsockname(b) as { port: number }).port);
    expect([...data.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
  });

  it('raw bytes given as data are sent as they are: SCM_CREDENTIALS round trip', () => {
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    const raw = Buffer.alloc(12);
    u32(raw, process.pid, 0);
    u32(raw, process.getuid!(), 4);
    u32(raw, process.getgid!(), 8);
    sendmsg(a, [Buffer.from('raw')], { control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, data: raw }] });
    waitFor(b, POLLIN, true);
    const cred = item(recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }).control, SOL_SOCKET, SCM_CREDENTIALS);
    expect(Buffer.from(cred.data!)).toEqual(raw);
    expect(cred).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  });

  it('raw bytes of a kind the kernel does not know are refused by the kernel with EINVAL', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const err = thrown(() => sendmsg(a, [Buffer.from('?')], { control: [{ level: SOL_SOCKET, type: 0x7fff, data: Buffer.alloc(4) }] }));
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).code).toBe('EINVAL');
    expectNothingWaiting(b);
  });
});

// ---------------------------------------------------------------------------------------------

describe('malformed input is refused before the call, and nothing is sent', () => {
  const valid: ControlMessageInit = { level: SOL_SOCKET, type: SCM_CREDENTIALS, pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
  const cases: [string, () => unknown[]][] = [
    ['a null control item', () => [null]],
    ['a control item that is a number', () => [3]],
    ['a level that is not an integer', () => [{ level: 1.5, type: SCM_RIGHTS, fds: [0] }]],
    ['a level that is a string', () => [{ level: String(SOL_SOCKET), type: SCM_RIGHTS, fds: [0] }]],
    ['a missing type', () => [{ level: SOL_SOCKET, fds: [0] }]],
    ['an fd of 1.5', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [1.5] }]],
    ['an fd of -1', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [-1] }]],
    ["an fd of '3'", () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: ['3'] }]],
    ['an fd of NaN', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [NaN] }]],
    ['an fd of 2**31', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [2 ** 31] }]],
    ['300 fds', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: new Array<number>(300).fill(0) }]],
    ['an empty fds array', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [] }]],
    ['fds that is not an array', () => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: 0 }]],
    ['data that is a string', () => [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, data: 'abcdefghijkl' }]],
    ['data that is a plain array', () => [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, data: new Array<number>(12).fill(0) }]],
    ['data that is an ArrayBuffer', () => [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, data: new ArrayBuffer(12) }]],
    ['credentials without a pid', () => [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, uid: 0, gid: 0 }]],
    ['an IP_PKTINFO specDst that is not an address', () => [{ level: IPPROTO_IP, type: IP_PKTINFO, specDst: 'not-an-ip' }]],
    ['an IP_TTL value that is not a number', () => [{ level: IPPROTO_IP, type: IP_TTL, value: '7' }]],
    ['an item sockfd cannot encode from fields', () => [{ level: SOL_SOCKET, type: SCM_TIMESTAMPNS, sec: 1, nsec: 2 }]],
    ['a valid item followed by a null one', () => [valid, null]],
    ['a valid item followed by fds of 1.5', () => [valid, { level: SOL_SOCKET, type: SCM_RIGHTS, fds: [1.5] }]],
  ];

  it.each(cases)('%s is a TypeError or RangeError', (_name, control) => {
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    const err = thrown(() => sendmsg(a, [Buffer.from('no')], { control: control() as ControlMessageInit[] }));
    expect(err instanceof TypeError || err instanceof RangeError, `got ${String(err)}`).toBe(true);
    expect(err).not.toBeInstanceOf(SystemError);
    expectNothingWaiting(b);
  });

  it('an fd in control that is not an integer names the fd in the error', () => {
    const [a] = pair(SOCK_DGRAM);
    const err = thrown(() => sendmsg(a, [Buffer.from('no')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [a, 1.5] }] }));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toContain('fds[1]');
  });

  it('a buffer that is not a view is a TypeError and nothing is sent', () => {
    const [a, b] = pair(SOCK_DGRAM);
    const err = thrown(() => sendmsg(a, [Buffer.from('ok'), 'no' as unknown as Uint8Array]));
    expect(err).toBeInstanceOf(TypeError);
    expectNothingWaiting(b);
  });

  it('an addr that is malformed is a TypeError or RangeError and nothing is sent', () => {
    const [a, b] = udpPair();
    const bad = [
      { family: AF_INET, address: '127.0.0.1', port: 70000 },
      { family: AF_INET, address: 'nowhere', port: 1 },
    ] as SockAddr[];
    for (const addr of bad) {
      const err = thrown(() => sendmsg(a, [Buffer.from('no')], { addr }));
      expect(err instanceof TypeError || err instanceof RangeError, `got ${String(err)}`).toBe(true);
    }
    expectNothingWaiting(b);
  });

  it('a controlLength that is negative or not an integer is a RangeError or TypeError before the call', () => {
    const [a, b] = pair(SOCK_DGRAM);
    sendmsg(a, [Buffer.from('kept')]);
    waitFor(b, POLLIN, true);
    for (const controlLength of [-1, 1.5, 2 ** 40]) {
      const err = thrown(() => recvmsg(b, [Buffer.alloc(8)], { controlLength }));
      expect(err instanceof TypeError || err instanceof RangeError, `controlLength ${controlLength}: got ${String(err)}`).toBe(true);
    }
    // The datagram is still there.
    expect(recvmsg(b, [Buffer.alloc(8)]).bytes).toBe(4);
  });

  it('an fd argument that is not an integer is a TypeError or RangeError', () => {
    for (const fd of [1.5, -1, '3' as unknown as number]) {
      const err = thrown(() => sendmsg(fd, [Buffer.from('x')]));
      expect(err instanceof TypeError || err instanceof RangeError, `fd ${String(fd)}: got ${String(err)}`).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('promise forms', () => {
  it('recvmsg waits for a message and decodes its control messages', async () => {
    const [a, b] = pair(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    const passed = udp(AF_INET, '127.0.0.1');
    const buf = Buffer.alloc(16);
    const pending = promises.recvmsg(b, [buf], { controlLength: 128 }, { timeout: 2000 });
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    sendmsg(a, [Buffer.from('late')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [passed] }] });
    const r = await pending;
    expect(buf.toString('latin1', 0, r.bytes)).toBe('late');
    expect(item(r.control, SOL_SOCKET, SCM_CREDENTIALS)).toMatchObject({ pid: process.pid });
    const fds = receivedFds(r.control);
    expect(fds.map(fdTarget)).toEqual([fdTarget(passed)]);
    expect(fcntl(fds[0]!, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('recvmsg rejects with ETIMEDOUT when nothing arrives within the timeout', async () => {
    const [, b] = pair(SOCK_DGRAM);
    await expect(promises.recvmsg(b, [Buffer.alloc(8)], {}, { timeout: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('sendmsg resolves with the bytes sent, gathered with control', async () => {
    const [a, b] = pair(SOCK_DGRAM);
    const passed = udp(AF_INET, '127.0.0.1');
    const n = await promises.sendmsg(
      a,
      [Buffer.from('pro'), new Uint8Array(Buffer.from('mise'))],
      { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [passed] }] },
      { timeout: 2000 },
    );
    expect(n).toBe(7);
    const buf = Buffer.alloc(16);
    const r = await promises.recvmsg(b, [buf], { controlLength: 64 }, { timeout: 2000 });
    expect(buf.toString('latin1', 0, r.bytes)).toBe('promise');
    expect(receivedFds(r.control).map(fdTarget)).toEqual([fdTarget(passed)]);
  });

  it('sendmsg with addr resolves and the datagram arrives from the sender', async () => {
    const [a, b] = udpPair();
    expect(await promises.sendmsg(a, [Buffer.from('udp')], { addr: getsockname(b) }, { timeout: 2000 })).toBe(3);
    const r = await promises.recvmsg(b, [Buffer.alloc(8)], {}, { timeout: 2000 });
    expect(r.address).toEqual(getsockname(a));
  });

  it('sendmsg with a malformed control item rejects (it does not throw) and sends nothing', async () => {
    const [a, b] = pair(SOCK_DGRAM);
    let p: Promise<number> | undefined;
    expect(() => {
      p = promises.sendmsg(a, [Buffer.from('no')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [1.5] }] });
    }).not.toThrow();
    await expect(p).rejects.toBeInstanceOf(RangeError);
    expectNothingWaiting(b);
  });
});
