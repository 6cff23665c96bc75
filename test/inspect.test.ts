// inspect(fd): the kernel's view of a socket, driven through each TCP state and queue figure on
// loopback and held against `ss -tanie` (sock_diag, an independent reader of the same kernel
// state) for the same socket, matched by inode. Also UDP, unix, a net.Socket through fdOf, and
// the errors for fds that are not sockets.
//
// Every wait is bounded: clients connect non-blocking and are polled, listeners are polled
// before accept, and state changes are awaited with `until` (a deadline, then a failure).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  FD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MSG_DONTWAIT,
  O_NONBLOCK,
  POLLIN,
  POLLOUT,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_SNDBUF,
  SystemError,
  accept,
  bind,
  close,
  connect,
  fcntl,
  fdOf,
  getsockname,
  getsockopt,
  listen,
  poll,
  recv,
  send,
  sendto,
  setsockopt,
  shutdown,
  socket,
  socketpair,
  write,
} from '../src/index.js';
import { inspect } from '../src/inspect.js';
import type { SocketInfo } from '../src/inspect.js';
import type { SockAddrIn } from '../src/index.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { ssAddr, ssByInode, ssStateName, ssTcp, ssUnavailable } from './helpers/ss.js';
import type { SsEntry } from './helpers/ss.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------

const { own, release: closeOwned } = ownFds();

beforeAll(() => {
  const why = ssUnavailable();
  if (why) throw new Error(`these tests hold inspect() against ss: ${why}`);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond()` holds, polling every 10 ms; fails naming `what` after `ms`. */
async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

function shutdownWr(fd: number): void {
  shutdown(fd, SHUT_WR);
}

function stateOf(fd: number): string {
  return inspect(fd).tcp!.stateName;
}

async function untilState(fd: number, name: string): Promise<void> {
  await until(() => stateOf(fd) === name, `fd ${fd} to reach ${name} (it is ${stateOf(fd)})`);
}


const LO = { family: AF_INET, address: '127.0.0.1', port: 0 };

/** A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
function tcpListener(backlog: number, rcvbuf?: number): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_STREAM));
  if (rcvbuf !== undefined) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf); // inherited by accepted sockets
  bind(fd, LO);
  listen(fd, backlog);
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

/** A non-blocking connect to 127.0.0.1:port; returns the fd with the connect in progress (or done). */
function startConnect(port: number, sndbuf?: number): number {
  const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  if (sndbuf !== undefined) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf);
  try {
    connect(fd, { family: AF_INET, address: '127.0.0.1', port });
  } catch (err) {
    if ((err as SystemError).code !== 'EINPROGRESS') throw err;
  }
  return fd;
}

function waitReady(fd: number, events: number, ms = 2000): boolean {
  const [r] = poll([{ fd, events }], ms);
  return (r!.revents & events) !== 0;
}

/** A connected pair over loopback: `client` (non-blocking) and `server` (accepted, non-blocking). */
function tcpPair(opts: { rcvbuf?: number; sndbuf?: number } = {}): { listener: number; port: number; client: number; server: number } {
  const { fd: listener, port } = tcpListener(8, opts.rcvbuf);
  const client = startConnect(port, opts.sndbuf);
  expect(waitReady(client, POLLOUT), 'connect completes').toBe(true);
  expect(waitReady(listener, POLLIN), 'connection waits for accept').toBe(true);
  const server = own(accept(listener, SOCK_NONBLOCK).fd);
  return { listener, port, client, server };
}

/**
 * Writes to a non-blocking fd until the kernel takes no more: until EAGAIN, and again after a
 * pause (acks free buffer space), until a whole round is refused. Returns the bytes written.
 */
async function fill(fd: number): Promise<number> {
  const chunk = Buffer.alloc(4096, 0x61);
  let total = 0;
  for (let round = 0; round < 50; round++) {
    let wrote = 0;
    for (;;) {
      try {
        wrote += send(fd, chunk, chunk.length, MSG_DONTWAIT);
      } catch (err) {
        if ((err as SystemError).code !== 'EAGAIN') throw err;
        break;
      }
    }
    total += wrote;
    if (wrote === 0 && round > 0) return total;
    await sleep(30);
  }
  throw new Error('the send buffer never filled');
}

/** Reads everything a non-blocking fd has until end of stream; returns the byte count. */
async function drainToEof(fd: number): Promise<number> {
  const buf = Buffer.alloc(65536);
  let total = 0;
  const deadline = Date.now() + 5000;
  for (;;) {
    if (Date.now() > deadline) throw new Error('no end of stream within 5 s');
    let n: number;
    try {
      n = recv(fd, buf);
    } catch (err) {
      if ((err as SystemError).code !== 'EAGAIN') throw err;
      waitReady(fd, POLLIN, 200);
      continue;
    }
    if (n === 0) return total;
    total += n;
  }
}

const figures = (i: SocketInfo): string =>
  JSON.stringify([i.tcp?.stateName, i.recvQueue, i.sendQueue, i.tcp?.acceptQueue, i.tcp?.backlog]);

/**
 * inspect(fd), and ss's entry for the same socket (by inode), taken between two inspects that
 * agree, so that both describe one settled moment. Retries for up to 2 s.
 */
async function withSs(fd: number, port: number): Promise<{ info: SocketInfo; ss: SsEntry }> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const before = inspect(fd);
    const ss = ssByInode(before.inode!, port);
    const after = inspect(fd);
    if (figures(before) === figures(after)) {
      expect(ss, `ss lists the socket with inode ${before.inode}`).toBeDefined();
      return { info: after, ss: ss! };
    }
    if (Date.now() > deadline) throw new Error(`inspect(${fd}) did not settle: ${figures(before)} then ${figures(after)}`);
    await sleep(20);
  }
}

/** The parts ss and inspect must agree on for every TCP socket: state and addresses. */
function expectSsIdentity(info: SocketInfo, ss: SsEntry): void {
  expect(ss.state).toBe(ssStateName(info.tcp!.stateName));
  expect(ss.local).toBe(ssAddr(info.local as { address: string; port: number }));
  if (info.peer) expect(ss.peer).toBe(ssAddr(info.peer as { address: string; port: number }));
}

// ---------------------------------------------------------------------------------------------

describe('inspect: what the socket is', () => {
  it('names a fresh TCP socket in C terms: AF_INET, SOCK_STREAM, IPPROTO_TCP, state CLOSE', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const info = inspect(fd);
    expect(info).toMatchObject({
      fd,
      family: AF_INET,
      familyName: 'AF_INET',
      type: SOCK_STREAM,
      typeName: 'SOCK_STREAM',
      protocol: IPPROTO_TCP,
      protocolName: 'IPPROTO_TCP',
      local: { family: AF_INET, address: '0.0.0.0', port: 0 },
      peer: null,
      listening: false,
      recvQueue: 0,
      sendQueue: 0,
    });
    expect(info.tcp).toMatchObject({ state: 7, stateName: 'CLOSE' });
    expect(info.tcp!.acceptQueue).toBeUndefined();
    expect(info.tcp!.info.stateName).toBe('CLOSE');
  });

  it('names an IPv6 listener AF_INET6 and reports its ::1 address', () => {
    const fd = own(socket(AF_INET6, SOCK_STREAM));
    bind(fd, { family: AF_INET6, address: '::1', port: 0 });
    listen(fd, 4);
    const info = inspect(fd);
    expect(info).toMatchObject({ familyName: 'AF_INET6', protocolName: 'IPPROTO_TCP', listening: true });
    expect(info.local).toMatchObject({ family: AF_INET6, address: '::1', port: (getsockname(fd) as SockAddrIn).port });
    expect(info.tcp).toMatchObject({ stateName: 'LISTEN', acceptQueue: 0, backlog: 4 });
  });

  it('reports O_NONBLOCK and FD_CLOEXEC as fcntl reads them, following changes', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    expect(inspect(fd)).toMatchObject({ nonBlocking: true, closeOnExec: true });
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
    expect(inspect(fd)).toMatchObject({ nonBlocking: false, closeOnExec: false });
  });

  it('reports SO_RCVBUF and SO_SNDBUF as the kernel keeps them (twice the value set)', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 32768);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 65536);
    const info = inspect(fd);
    expect(info.rcvbuf).toBe(65536);
    expect(info.sndbuf).toBe(131072);
    expect(info.rcvbuf).toBe(getsockopt(fd, SOL_SOCKET, SO_RCVBUF));
  });

  it('gives the socket inode that /proc/self/fd and ss -e show', () => {
    const { fd, port } = tcpListener(4);
    const info = inspect(fd);
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe(`socket:[${info.inode}]`);
    const entry = ssByInode(info.inode!, port);
    expect(entry?.local).toBe(`127.0.0.1:${port}`);
  });

  it('describes a UDP socket without a tcp part; recvQueue is the next datagram only', async () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    bind(fd, LO);
    const self = getsockname(fd);
    sendto(fd, Buffer.alloc(100), undefined, 0, self);
    sendto(fd, Buffer.alloc(50), undefined, 0, self);
    await until(() => waitReady(fd, POLLIN, 0), 'the datagrams to arrive');
    const info = inspect(fd);
    expect(info).toMatchObject({ familyName: 'AF_INET', typeName: 'SOCK_DGRAM', protocol: IPPROTO_UDP, protocolName: 'IPPROTO_UDP' });
    expect(info.tcp).toBeUndefined();
    expect(info.peer).toBeNull();
    expect(info.local).toEqual(self);
    // SIOCINQ on a datagram socket: the size of the first queued datagram, not the total of 150.
    expect(info.recvQueue).toBe(100);
    recv(fd, Buffer.alloc(200));
    expect(inspect(fd).recvQueue).toBe(50);
  });

  it('describes a unix socketpair: AF_UNIX, no protocol name, unread bytes in recvQueue', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    write(a, Buffer.alloc(1000));
    const ia = inspect(a);
    const ib = inspect(b);
    expect(ib).toMatchObject({ family: AF_UNIX, familyName: 'AF_UNIX', typeName: 'SOCK_STREAM', protocol: 0, protocolName: null });
    expect(ib.tcp).toBeUndefined();
    expect(ib.peer).toEqual({ family: AF_UNIX, path: '' });
    expect(ib.recvQueue).toBe(1000);
    // The writer's SIOCOUTQ is the memory charged for the unread skb: more than the payload.
    expect(ia.sendQueue).toBeGreaterThan(1000);
    expect(ia.recvQueue).toBe(0);
  });

  it('gives null queues for a listening unix socket, whose SIOCINQ the kernel refuses', () => {
    const fd = own(socket(AF_UNIX, SOCK_STREAM));
    bind(fd, { family: AF_UNIX, path: `\0sockfd-inspect-${process.pid}` });
    listen(fd, 4);
    const info = inspect(fd);
    expect(info).toMatchObject({ listening: true, recvQueue: null, peer: null });
    expect(info.tcp).toBeUndefined();
  });

  it('describes a net.Socket through fdOf as net itself sees it', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      const info = inspect(fdOf(client));
      expect(info).toMatchObject({ familyName: 'AF_INET', nonBlocking: true, closeOnExec: true });
      expect(info.local).toMatchObject({ address: client.localAddress, port: client.localPort });
      expect(info.peer).toMatchObject({ address: '127.0.0.1', port });
      expect(info.tcp!.stateName).toBe('ESTABLISHED');
      const li = inspect(fdOf(server));
      // Node listens with a backlog of 511 by default.
      expect(li.tcp).toMatchObject({ stateName: 'LISTEN', backlog: 511 });
      expect(li.listening).toBe(true);
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('inspect: fds that are not sockets', () => {
  it('throws ENOTSOCK from getsockopt for a regular file, naming the fd', () => {
    const file = path.join(os.tmpdir(), `sockfd-inspect-${process.pid}.txt`);
    const fd = fs.openSync(file, 'w');
    try {
      const err = thrown(() => inspect(fd));
      expect(err).toBeInstanceOf(SystemError);
      expect(err).toMatchObject({ code: 'ENOTSOCK', syscall: 'getsockopt', errno: -88 });
      expect(err.message).toBe(`getsockopt ENOTSOCK (inspect: fd ${fd} is not a socket)`);
    } finally {
      fs.closeSync(fd);
      fs.unlinkSync(file);
    }
  });

  it('throws ENOTSOCK from getsockopt for a pipe', () => {
    // A FIFO opened read-write is the kernel's pipe object (fstat: S_IFIFO), without a second fd.
    const fifo = path.join(os.tmpdir(), `sockfd-inspect-${process.pid}.fifo`);
    execFileSync('mkfifo', [fifo]);
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    try {
      expect(fs.fstatSync(fd).isFIFO()).toBe(true);
      expect(thrown(() => inspect(fd))).toMatchObject({ code: 'ENOTSOCK', syscall: 'getsockopt' });
    } finally {
      fs.closeSync(fd);
      fs.unlinkSync(fifo);
    }
  });

  it('throws EBADF for an fd number that is not open', () => {
    const fd = socket(AF_INET, SOCK_STREAM);
    close(fd);
    const err = thrown(() => inspect(fd));
    expect(err).toMatchObject({ code: 'EBADF', syscall: 'getsockopt' });
    expect(err.message).toContain(`fd ${fd} is not an open fd`);
  });

  it('rejects values that are not fds with a RangeError or TypeError before any call', () => {
    expect(thrown(() => inspect(-1))).toBeInstanceOf(RangeError);
    expect(thrown(() => inspect(1.5))).toBeInstanceOf(RangeError);
    expect(thrown(() => inspect(2 ** 31))).toBeInstanceOf(RangeError);
    expect(thrown(() => inspect('3' as unknown as number))).toBeInstanceOf(TypeError);
    expect(thrown(() => inspect(-1)).message).toContain('"fd"');
  });
});

describe('inspect: a listener’s accept queue, against ss', () => {
  it('counts connections waiting for accept against the backlog, as ss Recv-Q/Send-Q do', async () => {
    const { fd, port } = tcpListener(8);
    const clients = [0, 1, 2].map(() => startConnect(port));
    for (const c of clients) expect(waitReady(c, POLLOUT)).toBe(true);
    await until(() => inspect(fd).tcp!.acceptQueue === 3, 'three connections in the accept queue');
    const { info, ss } = await withSs(fd, port);
    expect(info.tcp).toMatchObject({ stateName: 'LISTEN', acceptQueue: 3, backlog: 8 });
    expect(info).toMatchObject({ listening: true, peer: null, recvQueue: 3, sendQueue: 8 });
    expectSsIdentity(info, ss);
    expect([ss.recvQ, ss.sendQ]).toEqual([3, 8]);
    own(accept(fd).fd);
    expect(inspect(fd).tcp!.acceptQueue).toBe(2);
  });

  it('queues backlog + 1 connections; the next SYN is dropped and its client stays in SYN_SENT', async () => {
    // listen(fd, 1): the kernel's "queue full" test is `queued > backlog`, so two completed
    // connections fit. The third SYN meets a full queue and is dropped (ListenOverflows), with no
    // SYN-ACK and no RST: that client stays in SYN_SENT and retransmits its SYN after ~1 s.
    const { fd, port } = tcpListener(1);
    const c1 = startConnect(port);
    expect(waitReady(c1, POLLOUT)).toBe(true);
    await until(() => inspect(fd).tcp!.acceptQueue === 1, 'the first connection queued');
    const c2 = startConnect(port);
    expect(waitReady(c2, POLLOUT)).toBe(true);
    await until(() => inspect(fd).tcp!.acceptQueue === 2, 'the second connection queued');
    const c3 = startConnect(port);
    expect(waitReady(c3, POLLOUT, 300), 'the third connect does not complete').toBe(false);

    const { info, ss } = await withSs(fd, port);
    expect(info.tcp).toMatchObject({ acceptQueue: 2, backlog: 1 });
    expect([ss.recvQ, ss.sendQ]).toEqual([2, 1]);
    expect(stateOf(c1)).toBe('ESTABLISHED');
    expect(stateOf(c2)).toBe('ESTABLISHED');
    expect(stateOf(c3)).toBe('SYN_SENT');
    expect(ssByInode(inspect(c3).inode!, port)?.state).toBe('SYN-SENT');

    // Make room: the third client's retransmitted SYN is now taken.
    own(accept(fd).fd);
    expect(waitReady(c3, POLLOUT, 5000), 'the third connect completes after a SYN retransmission').toBe(true);
    expect(stateOf(c3)).toBe('ESTABLISHED');
    await until(() => inspect(fd).tcp!.acceptQueue === 2, 'the third connection queued');
  });
});

describe('inspect: TCP states and queues, against ss', () => {
  it('SYN_SENT: a connect to a listener with backlog 0 whose one queue slot is taken', async () => {
    const { fd, port } = tcpListener(0);
    const c1 = startConnect(port);
    expect(waitReady(c1, POLLOUT)).toBe(true);
    await until(() => inspect(fd).tcp!.acceptQueue === 1, 'the one queued connection');
    const c2 = startConnect(port);
    expect(waitReady(c2, POLLOUT, 200)).toBe(false);
    const { info, ss } = await withSs(c2, port);
    expect(info.tcp).toMatchObject({ state: 2, stateName: 'SYN_SENT' });
    // getpeername says ENOTCONN until the handshake completes, though ss already shows the peer.
    expect(info.peer).toBeNull();
    expect(ss.peer).toBe(`127.0.0.1:${port}`);
    expectSsIdentity(info, ss);
    // SIOCOUTQ answers 0 in SYN_SENT; ss counts the unacknowledged SYN as one byte of Send-Q.
    expect([info.recvQueue, info.sendQueue]).toEqual([0, 0]);
    expect([ss.recvQ, ss.sendQ]).toEqual([0, 1]);
  });

  it('ESTABLISHED on both ends, each end’s peer the other’s local address', async () => {
    const { port, client, server } = tcpPair();
    const c = await withSs(client, port);
    const s = await withSs(server, port);
    expect(c.info.tcp!.stateName).toBe('ESTABLISHED');
    expect(s.info.tcp!.stateName).toBe('ESTABLISHED');
    expect(c.info.peer).toEqual(s.info.local);
    expect(s.info.peer).toEqual(c.info.local);
    expectSsIdentity(c.info, c.ss);
    expectSsIdentity(s.info, s.ss);
    expect([c.ss.recvQ, c.ss.sendQ, s.ss.recvQ, s.ss.sendQ]).toEqual([0, 0, 0, 0]);
  });

  it('recvQueue counts bytes received and not yet read, equal to ss Recv-Q', async () => {
    const { port, client, server } = tcpPair();
    expect(write(client, Buffer.alloc(1000, 1))).toBe(1000);
    await until(() => inspect(server).recvQueue === 1000, 'the 1000 bytes to arrive');
    const { info, ss } = await withSs(server, port);
    expect(info.recvQueue).toBe(1000);
    expect(ss.recvQ).toBe(1000);
    expect(recv(server, Buffer.alloc(400))).toBe(400);
    const after = await withSs(server, port);
    expect([after.info.recvQueue, after.ss.recvQ]).toEqual([600, 600]);
  });

  it('sendQueue fills while the peer does not read, equal to ss Send-Q', async () => {
    const { port, client, server } = tcpPair({ rcvbuf: 4096, sndbuf: 4096 });
    const written = await fill(client);
    // Settled: every byte the receiver holds is acknowledged, so the bytes written are exactly
    // those the sender still holds (unacknowledged) plus those waiting unread at the receiver.
    await until(() => inspect(client).sendQueue! + inspect(server).recvQueue! === written, 'the queues to account for every byte');
    const c = await withSs(client, port);
    const s = await withSs(server, port);
    expect(c.info.sendQueue).toBeGreaterThan(0);
    expect(c.ss.sendQ).toBe(c.info.sendQueue);
    expect(s.ss.recvQ).toBe(s.info.recvQueue);
    expect(c.info.sendQueue! + s.info.recvQueue!).toBe(written);
    expect(c.info.tcp!.info.notsentBytes).toBeGreaterThan(0);
  });

  it('CLOSE_WAIT after the peer closed and we did not; ss counts the FIN until it is read', async () => {
    const { port, client, server } = tcpPair();
    closeOwned(server);
    await untilState(client, 'CLOSE_WAIT');
    const { info, ss } = await withSs(client, port);
    expectSsIdentity(info, ss);
    // SIOCINQ leaves the FIN out; sock_diag's rcv_nxt - copied_seq includes it until recv sees EOF.
    expect([info.recvQueue, ss.recvQ]).toEqual([0, 1]);
    expect(recv(client, Buffer.alloc(10))).toBe(0);
    const after = await withSs(client, port);
    expect([after.info.tcp!.stateName, after.info.recvQueue, after.ss.recvQ]).toEqual(['CLOSE_WAIT', 0, 0]);
  });

  it('FIN_WAIT2 after our shutdown(SHUT_WR) is acknowledged; the peer is in CLOSE_WAIT', async () => {
    const { port, client, server } = tcpPair();
    shutdownWr(client);
    await untilState(client, 'FIN_WAIT2');
    const c = await withSs(client, port);
    expectSsIdentity(c.info, c.ss);
    expect(c.info.sendQueue).toBe(0);
    expect(stateOf(server)).toBe('CLOSE_WAIT');
  });

  it('FIN_WAIT1 while our FIN waits behind data the peer’s zero window holds back', async () => {
    const { port, client, server } = tcpPair({ rcvbuf: 4096, sndbuf: 4096 });
    await fill(client);
    shutdownWr(client);
    const { info, ss } = await withSs(client, port);
    expect(info.tcp!.stateName).toBe('FIN_WAIT1');
    expectSsIdentity(info, ss);
    // The queued FIN takes one sequence number: both figures count it.
    expect(ss.sendQ).toBe(info.sendQueue);
    expect(info.tcp!.info.notsentBytes).toBeGreaterThan(0);
    expect(stateOf(server)).toBe('ESTABLISHED');
  });

  it('LAST_ACK: in CLOSE_WAIT, shutdown(SHUT_WR) with unsent data; CLOSE once the peer reads it all', async () => {
    const { port, client, server } = tcpPair({ rcvbuf: 4096, sndbuf: 4096 });
    shutdownWr(server);
    await untilState(client, 'CLOSE_WAIT');
    const written = await fill(client);
    shutdownWr(client);
    const { info, ss } = await withSs(client, port);
    expect(info.tcp!.stateName).toBe('LAST_ACK');
    expectSsIdentity(info, ss);
    expect(ss.sendQ).toBe(info.sendQueue);
    expect(stateOf(server)).toBe('FIN_WAIT2');
    // The peer reads everything and the FIN; its ACK of our FIN ends the connection.
    expect(await drainToEof(server)).toBe(written);
    await untilState(client, 'CLOSE');
    expect(ssByInode(inspect(client).inode!, port), 'ss does not list a closed socket').toBeUndefined();
  });

  it('CLOSING: both ends close at once while our FIN is held back behind unsent data', async () => {
    const { port, client, server } = tcpPair({ rcvbuf: 4096, sndbuf: 4096 });
    await fill(client);
    shutdownWr(client);
    await untilState(client, 'FIN_WAIT1');
    shutdownWr(server); // the peer's FIN reaches us in FIN_WAIT1: a simultaneous close
    await untilState(client, 'CLOSING');
    const { info, ss } = await withSs(client, port);
    expectSsIdentity(info, ss);
    expect(ss.sendQ).toBe(info.sendQueue);
    expect(stateOf(server)).toBe('FIN_WAIT2');
  });

  it('CLOSE once the connection has gone to TIME_WAIT, which ss lists without an inode', async () => {
    const { port, client, server } = tcpPair();
    const local = inspect(client).local;
    shutdownWr(client);
    await untilState(client, 'FIN_WAIT2');
    shutdownWr(server);
    // FIN in FIN_WAIT2: the kernel moves the connection to a TIME_WAIT mini-socket and marks
    // the fd's socket closed.
    await untilState(client, 'CLOSE');
    expect(inspect(client).peer).toBeNull();
    const entries = ssTcp(`( sport = :${port} or dport = :${port} )`);
    expect(entries.find((e) => e.inode === inspect(client).inode)).toBeUndefined();
    const tw = entries.find((e) => e.local === ssAddr(local as { address: string; port: number }));
    expect(tw).toMatchObject({ state: 'TIME-WAIT', inode: 0 });
  });
});

