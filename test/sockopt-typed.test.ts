// The typed socket options (src/optcodecs.ts) against the kernel: each structured option
// round-trips through setsockopt/getsockopt and is shown to take effect (SO_LINGER resets,
// SO_RCVTIMEO/SO_SNDTIMEO time out, SO_PEERCRED names this process, TCP_INFO agrees with ss -ti,
// multicast membership receives a datagram); the int options the kernel reports about a socket;
// the options that only work when set before bind (SO_REUSEPORT, IP_FREEBIND, IP_TRANSPARENT,
// SO_BINDTODEVICE); and malformed values, which are argument errors naming the field.
//
// Multicast and SO_BINDTODEVICE's effect run in a network namespace made here (loopback has no
// multicast, and joining a group on a real interface would send IGMP/MLD reports off the host),
// in a child node process that loads the built package (dist/cjs).
import * as fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_JOIN_GROUP,
  IP_ADD_MEMBERSHIP,
  IP_FREEBIND,
  IP_MULTICAST_IF,
  IP_TRANSPARENT,
  MSG_DONTWAIT,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_BINDTODEVICE,
  SO_DOMAIN,
  SO_ERROR,
  SO_LINGER,
  SO_MAX_PACING_RATE,
  SO_PEERCRED,
  SO_PROTOCOL,
  SO_RCVTIMEO,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDTIMEO,
  SO_TYPE,
  SystemError,
  TCP_CONGESTION,
  TCP_INFO,
  TCP_NODELAY,
  accept,
  bind,
  close,
  connect,
  getsockname,
  getsockopt,
  listen,
  poll,
  recv,
  recvfrom,
  send,
  sendto,
  setsockopt,
  socket,
  socketpair,
} from '../src/index.js';
import type { Linger, SockAddrIn, TcpInfo, Timeval, Ucred } from '../src/index.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { Netns, netnsUnavailable, pkg } from './helpers/netns.js';
import { ssByInode, ssField, ssStateName, ssUnavailable } from './helpers/ss.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------

const { own, release } = ownFds();


function waitReady(fd: number, events: number, ms = 2000): boolean {
  const [r] = poll([{ fd, events }], ms);
  return (r!.revents & events) !== 0;
}

const LO = { family: AF_INET, address: '127.0.0.1', port: 0 };

/** A connected TCP pair over loopback, every step bounded. */
function tcpPair(): { client: number; server: number; port: number } {
  const l = own(socket(AF_INET, SOCK_STREAM));
  bind(l, LO);
  listen(l, 4);
  const port = (getsockname(l) as SockAddrIn).port;
  const client = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  try {
    connect(client, { family: AF_INET, address: '127.0.0.1', port });
  } catch (err) {
    if ((err as SystemError).code !== 'EINPROGRESS') throw err;
  }
  expect(waitReady(client, POLLOUT)).toBe(true);
  expect(waitReady(l, POLLIN)).toBe(true);
  const server = own(accept(l, SOCK_NONBLOCK).fd);
  return { client, server, port };
}

/** How long `fn` takes to throw, and what it threw. */
function timeThrow(fn: () => unknown): { ms: number; err: any } {
  const t0 = process.hrtime.bigint();
  const err = thrown(fn);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, err };
}

// ---------------------------------------------------------------------------------------------

describe('SO_LINGER', () => {
  it('round-trips { onoff, linger }, off by default', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(getsockopt(fd, SOL_SOCKET, SO_LINGER)).toEqual({ onoff: 0, linger: 0 });
    setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 7 });
    expect(getsockopt(fd, SOL_SOCKET, SO_LINGER)).toEqual({ onoff: 1, linger: 7 });
  });

  it('reads any non-zero onoff back as 1: the kernel keeps a flag', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 5, linger: 2 });
    expect(getsockopt(fd, SOL_SOCKET, SO_LINGER)).toEqual({ onoff: 1, linger: 2 });
  });

  it('{ onoff: 1, linger: 0 } makes close() reset the connection: the peer gets ECONNRESET', () => {
    const { client, server } = tcpPair();
    setsockopt(client, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
    release(client);
    expect(waitReady(server, POLLIN)).toBe(true);
    expect(thrown(() => recv(server, Buffer.alloc(10)))).toMatchObject({ code: 'ECONNRESET', syscall: 'recv' });
  });

  it('without it, close() ends the connection cleanly: the peer reads end of stream', () => {
    const { client, server } = tcpPair();
    release(client);
    expect(waitReady(server, POLLIN)).toBe(true);
    expect(recv(server, Buffer.alloc(10))).toBe(0);
  });
});

describe('SO_RCVTIMEO and SO_SNDTIMEO', () => {
  it('SO_RCVTIMEO round-trips milliseconds as a { sec, usec } timeval', () => {
    // Whole multiples of 100 ms are whole jiffies at every HZ Linux offers (100, 250, 300, 1000);
    // other values read back rounded up to the next jiffy.
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO)).toEqual({ sec: 0, usec: 0 });
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 300);
    expect(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO)).toEqual({ sec: 0, usec: 300_000 });
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 2500);
    expect(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO)).toEqual({ sec: 2, usec: 500_000 });
  });

  it('SO_RCVTIMEO round-trips a { sec, usec } timeval', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 1, usec: 500_000 });
    expect(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO)).toEqual({ sec: 1, usec: 500_000 });
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 0 });
    expect(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO)).toEqual({ sec: 0, usec: 0 });
  });

  it('a blocking recv with SO_RCVTIMEO in ms gives up with EAGAIN after about that long', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, 200);
    const { ms, err } = timeThrow(() => recv(a, Buffer.alloc(10)));
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'recv' });
    expect(ms).toBeGreaterThanOrEqual(180);
    expect(ms).toBeLessThan(2000);
  });

  it('a blocking recv with SO_RCVTIMEO as { sec, usec } gives up with EAGAIN after about that long', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 300_000 });
    const { ms, err } = timeThrow(() => recv(a, Buffer.alloc(10)));
    expect(err).toMatchObject({ code: 'EAGAIN' });
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(2000);
  });

  it('SO_SNDTIMEO round-trips, and a blocking send into a full buffer gives up with EAGAIN after it', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, { sec: 0, usec: 200_000 });
    expect(getsockopt(a, SOL_SOCKET, SO_SNDTIMEO)).toEqual({ sec: 0, usec: 200_000 });
    setsockopt(a, SOL_SOCKET, SO_SNDBUF, 4096);
    const chunk = Buffer.alloc(1024);
    for (let i = 0; ; i++) {
      if (i > 100_000) throw new Error('the send buffer never filled');
      try {
        send(a, chunk, chunk.length, MSG_DONTWAIT);
      } catch (err) {
        expect((err as SystemError).code).toBe('EAGAIN');
        break;
      }
    }
    const { ms, err } = timeThrow(() => send(a, chunk));
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'send' });
    expect(ms).toBeGreaterThanOrEqual(180);
    expect(ms).toBeLessThan(2000);
  });
});

describe('SO_PEERCRED, SO_BINDTODEVICE, TCP_CONGESTION', () => {
  it('SO_PEERCRED on a socketpair names this process: { pid, uid, gid }', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    expect(getsockopt(a, SOL_SOCKET, SO_PEERCRED)).toEqual(me);
    expect(getsockopt(b, SOL_SOCKET, SO_PEERCRED)).toEqual(me);
  });

  it('SO_BINDTODEVICE reads back the interface name, and "" once unbound', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    expect(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE)).toBe('');
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, 'lo');
    expect(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE)).toBe('lo');
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, '');
    expect(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE)).toBe('');
  });

  it('SO_BINDTODEVICE to an interface that does not exist is ENODEV', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    expect(thrown(() => setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, 'nosuchif0'))).toMatchObject({ code: 'ENODEV', syscall: 'setsockopt' });
  });

  it('TCP_CONGESTION reads back as the name of the system default, then of what was set', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const dflt = fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    expect(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION)).toBe(dflt);
    // reno is built into every kernel and is always allowed.
    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, 'reno');
    expect(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION)).toBe('reno');
    expect(thrown(() => setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, 'nosuchcc'))).toMatchObject({ code: 'ENOENT' });
  });
});

describe('TCP_INFO', () => {
  it('agrees with ss -ti on the same connection: state exactly, cwnd/rto/mss/pmtu/rtt too', async () => {
    const why = ssUnavailable();
    if (why) throw new Error(why);
    const { client, server, port } = tcpPair();
    send(client, Buffer.alloc(5000));
    expect(waitReady(server, POLLIN)).toBe(true);
    recv(server, Buffer.alloc(65536));
    const inode = Number(/\d+/.exec(fs.readlinkSync(`/proc/self/fd/${client}`))![0]);
    // Take ss between two TCP_INFO reads that agree, so that all three describe one moment.
    const deadline = Date.now() + 3000;
    for (;;) {
      const a = getsockopt(client, IPPROTO_TCP, TCP_INFO);
      const ss = ssByInode(inode, port);
      const b = getsockopt(client, IPPROTO_TCP, TCP_INFO);
      const same = ['state', 'rtt', 'rttvar', 'sndCwnd', 'rto', 'bytesAcked', 'segsOut'].every(
        (k) => a[k as keyof TcpInfo] === b[k as keyof TcpInfo],
      );
      if (same && ss) {
        expect(b.stateName).toBe('ESTABLISHED');
        expect(ss.state).toBe(ssStateName(b.stateName));
        expect(ssField(ss, 'cwnd')).toBe(b.sndCwnd);
        expect(ssField(ss, 'rto')).toBe(b.rto / 1000);
        expect(ssField(ss, 'mss')).toBe(b.sndMss);
        expect(ssField(ss, 'rcvmss')).toBe(b.rcvMss);
        expect(ssField(ss, 'advmss')).toBe(b.advmss);
        expect(ssField(ss, 'pmtu')).toBe(b.pmtu);
        expect(BigInt(ssField(ss, 'bytes_acked')!)).toBe(b.bytesAcked);
        // ss prints rtt in ms with three decimals; TCP_INFO has microseconds.
        expect(Math.abs(ssField(ss, 'rtt')! * 1000 - b.rtt)).toBeLessThanOrEqual(1);
        expect(b.rtt).toBeGreaterThan(0);
        return;
      }
      if (Date.now() > deadline) throw new Error('TCP_INFO never held still around an ss snapshot');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe('TCP_INFO: the 64-bit fields are exact bigints', () => {
  it('maxPacingRate of a socket without a pacing cap is 2^64 - 1 exactly, a bigint', () => {
    const { client } = tcpPair();
    const info = getsockopt(client, IPPROTO_TCP, TCP_INFO);
    expect(info.maxPacingRate).toBe(2n ** 64n - 1n);
    // A number cannot hold it: it would read 18446744073709552000, not the kernel's value.
    expect(BigInt(Number(info.maxPacingRate))).not.toBe(info.maxPacingRate);
  });

  it('a cap set with SO_MAX_PACING_RATE reads back as maxPacingRate', () => {
    const { client } = tcpPair();
    setsockopt(client, SOL_SOCKET, SO_MAX_PACING_RATE, 1_000_000);
    expect(getsockopt(client, IPPROTO_TCP, TCP_INFO).maxPacingRate).toBe(1_000_000n);
  });

  it('every 64-bit field is a bigint and every other field a number', () => {
    const { client, server } = tcpPair();
    send(client, Buffer.alloc(1000));
    expect(waitReady(server, POLLIN)).toBe(true);
    recv(server, Buffer.alloc(2000));
    const info = getsockopt(client, IPPROTO_TCP, TCP_INFO);
    const wide = ['pacingRate', 'maxPacingRate', 'bytesAcked', 'bytesReceived', 'deliveryRate', 'busyTime', 'rwndLimited', 'sndbufLimited', 'bytesSent', 'bytesRetrans'];
    for (const [k, v] of Object.entries(info)) {
      if (k === 'stateName') continue;
      expect(typeof v, k).toBe(wide.includes(k) ? 'bigint' : 'number');
    }
    expect(wide.every((k) => k in info)).toBe(true);
    expect(info.bytesSent).toBe(1000n);
  });
});

describe('the int options the kernel reports', () => {
  it('SO_TYPE, SO_DOMAIN and SO_PROTOCOL name what socket() made', () => {
    const tcp = own(socket(AF_INET6, SOCK_STREAM));
    const udp = own(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
    const [unix] = socketpair(AF_UNIX, SOCK_DGRAM).map(own) as [number, number];
    const triple = (fd: number): number[] => [SO_DOMAIN, SO_TYPE, SO_PROTOCOL].map((o) => getsockopt(fd, SOL_SOCKET, o));
    expect(triple(tcp)).toEqual([AF_INET6, SOCK_STREAM, IPPROTO_TCP]);
    expect(triple(udp)).toEqual([AF_INET, SOCK_DGRAM, IPPROTO_UDP]); // SOCK_NONBLOCK is not part of the type
    expect(triple(unix)).toEqual([AF_UNIX, SOCK_DGRAM, 0]);
  });

  it('SO_ACCEPTCONN is 0 until listen, then 1', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    bind(fd, LO);
    expect(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN)).toBe(0);
    listen(fd, 1);
    expect(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN)).toBe(1);
  });

  it('SO_ERROR holds a refused non-blocking connect’s errno once, then 0', () => {
    // A bound, non-listening socket keeps the port taken and closed: a SYN to it is answered by RST.
    const closedPort = own(socket(AF_INET, SOCK_STREAM));
    bind(closedPort, LO);
    const port = (getsockname(closedPort) as SockAddrIn).port;
    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(0);
    expect(thrown(() => connect(fd, { family: AF_INET, address: '127.0.0.1', port }))).toMatchObject({ code: 'EINPROGRESS' });
    expect(waitReady(fd, POLLOUT)).toBe(true);
    expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(111); // ECONNREFUSED
    expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(0);
  });
});

describe('options that take effect only when set before bind', () => {
  it('SO_REUSEPORT lets two UDP sockets bind the same 127.0.0.1 port; without it, EADDRINUSE', () => {
    const a = own(socket(AF_INET, SOCK_DGRAM));
    setsockopt(a, SOL_SOCKET, SO_REUSEPORT, 1);
    bind(a, LO);
    const addr = getsockname(a);
    const b = own(socket(AF_INET, SOCK_DGRAM));
    setsockopt(b, SOL_SOCKET, SO_REUSEPORT, true);
    bind(b, addr);
    expect(getsockopt(b, SOL_SOCKET, SO_REUSEPORT)).toBe(1);
    expect(getsockname(b)).toEqual(addr);
    const c = own(socket(AF_INET, SOCK_DGRAM));
    expect(thrown(() => bind(c, addr))).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
  });

  it('SO_REUSEPORT spreads datagrams from 200 source ports over both receivers', () => {
    const receivers = [0, 1].map(() => {
      const fd = own(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
      return fd;
    });
    bind(receivers[0]!, LO);
    const addr = getsockname(receivers[0]!);
    bind(receivers[1]!, addr);
    // The kernel picks a receiver by a hash of the 4-tuple: each sender socket gets its own port.
    for (let i = 0; i < 200; i++) {
      const s = socket(AF_INET, SOCK_DGRAM);
      try {
        bind(s, LO);
        sendto(s, Buffer.from([i]), undefined, 0, addr);
      } finally {
        close(s);
      }
    }
    const counts = receivers.map((fd) => {
      let n = 0;
      for (;;) {
        try {
          recvfrom(fd, Buffer.alloc(16));
          n++;
        } catch (err) {
          if ((err as SystemError).code !== 'EAGAIN') throw err;
          return n;
        }
      }
    });
    expect(counts[0]! + counts[1]!).toBe(200);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
  });

  const nonlocalBind = fs.readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8').trim() === '1';

  it('IP_FREEBIND allows binding 192.0.2.1, an address this host does not have', () => {
    if (nonlocalBind) {
      console.log('net.ipv4.ip_nonlocal_bind is 1 here: the bind without IP_FREEBIND is not checked to fail');
    } else {
      const plain = own(socket(AF_INET, SOCK_DGRAM));
      expect(thrown(() => bind(plain, { family: AF_INET, address: '192.0.2.1', port: 0 }))).toMatchObject({ code: 'EADDRNOTAVAIL' });
    }
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, 1);
    expect(getsockopt(fd, IPPROTO_IP, IP_FREEBIND)).toBe(1);
    bind(fd, { family: AF_INET, address: '192.0.2.1', port: 0 });
    expect(getsockname(fd)).toMatchObject({ address: '192.0.2.1' });
  });

  it('IP_TRANSPARENT (CAP_NET_ADMIN) allows binding a TCP socket to 192.0.2.1', () => {
    if (nonlocalBind) {
      console.log('net.ipv4.ip_nonlocal_bind is 1 here: the bind without IP_TRANSPARENT is not checked to fail');
    } else {
      const plain = own(socket(AF_INET, SOCK_STREAM));
      expect(thrown(() => bind(plain, { family: AF_INET, address: '192.0.2.1', port: 0 }))).toMatchObject({ code: 'EADDRNOTAVAIL' });
    }
    const fd = own(socket(AF_INET, SOCK_STREAM));
    if (process.getuid?.() !== 0) {
      expect(thrown(() => setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, 1))).toMatchObject({ code: 'EPERM' });
      return;
    }
    setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, 1);
    expect(getsockopt(fd, IPPROTO_IP, IP_TRANSPARENT)).toBe(1);
    bind(fd, { family: AF_INET, address: '192.0.2.1', port: 0 });
    expect(getsockname(fd)).toMatchObject({ address: '192.0.2.1' });
  });
});

describe('IP_MULTICAST_IF', () => {
  it('round-trips an interface address given as { address }', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    expect(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF)).toBe('0.0.0.0');
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, { address: '127.0.0.1' });
    expect(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF)).toBe('127.0.0.1');
  });

  it('round-trips an interface address given as a string, as the codec offers', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, '127.0.0.1');
    expect(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF)).toBe('127.0.0.1');
  });
});

describe('malformed option values are argument errors naming the field, before any system call', () => {
  // A closed fd: were the value passed on to the kernel, the error would be EBADF instead.
  let fd: number;
  beforeAll(() => {
    fd = socket(AF_INET, SOCK_STREAM);
    close(fd);
  });

  it('SO_LINGER with onoff 1.5 is a RangeError naming value.onoff', () => {
    const err = thrown(() => setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 1.5, linger: 0 }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toContain('"value.onoff"');
  });

  it('SO_LINGER without linger is a RangeError naming value.linger', () => {
    // @ts-expect-error -- a Linger needs linger: refused at run time too
    const err = thrown(() => setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 1 }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toContain('"value.linger"');
  });

  it('an object for TCP_NODELAY, an int option, is a TypeError naming value', () => {
    // @ts-expect-error -- an int option takes no object: refused at run time too
    const err = thrown(() => setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, {}));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('"value"');
  });

  it('SO_RCVTIMEO with usec 1000000 is a RangeError naming value.usec; negative ms names value', () => {
    const usec = thrown(() => setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 1, usec: 1_000_000 }));
    expect(usec).toBeInstanceOf(RangeError);
    expect(usec.message).toContain('"value.usec"');
    const ms = thrown(() => setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, -5));
    expect(ms).toBeInstanceOf(RangeError);
    expect(ms.message).toContain('"value"');
  });

  it('IP_ADD_MEMBERSHIP with a number for multiaddr is a TypeError naming value.multiaddr', () => {
    // @ts-expect-error -- multiaddr is a string: refused at run time too
    const err = thrown(() => setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: 5 }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('"value.multiaddr"');
  });

  it('IP_ADD_MEMBERSHIP with a multiaddr that is not an IPv4 literal is a TypeError naming value.multiaddr', () => {
    const err = thrown(() => setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: 'not-an-ip' }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('"value.multiaddr"');
  });

  it('IPV6_JOIN_GROUP with a multiaddr that is not an IPv6 literal is a TypeError naming value.multiaddr', () => {
    const err = thrown(() => setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: '239.1.1.1' }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('"value.multiaddr"');
  });

  it('IPV6_JOIN_GROUP without multiaddr, or with ifindex -1, names the field', () => {
    // @ts-expect-error -- an Ipv6Mreq needs multiaddr: refused at run time too
    const missing = thrown(() => setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, {}));
    expect(missing).toBeInstanceOf(TypeError);
    expect(missing.message).toContain('"value.multiaddr"');
    const ifindex = thrown(() => setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: 'ff15::1', ifindex: -1 }));
    expect(ifindex).toBeInstanceOf(RangeError);
    expect(ifindex.message).toContain('"value.ifindex"');
  });
});

// ---------------------------------------------------------------------------------------------
// In a network namespace: a veth pair (veth has the MULTICAST flag; loopback does not), both ends
// up, with 10.77.0.1/24 and fd00:77::1/64 on `va`. The child scripts print one JSON line.

const netnsWhy = netnsUnavailable();
if (netnsWhy) console.log(`skipping the network-namespace tests: ${netnsWhy}`);

describe.skipIf(netnsWhy !== null)('in a network namespace: multicast membership and SO_BINDTODEVICE', () => {
  let ns: Netns;
  beforeAll(() => {
    if (!fs.existsSync(pkg)) throw new Error(`${pkg} is missing: run \`node scripts/build-ts.mjs\``);
    ns = new Netns();
    ns.veth('va', 'vb');
    ns.ip('addr', 'add', '10.77.0.1/24', 'dev', 'va');
    ns.ip('addr', 'add', 'fd00:77::1/64', 'dev', 'va', 'nodad');
  });
  afterAll(() => ns?.destroy());

  const run = (body: string): any => {
    const script = `const s = require(${JSON.stringify(pkg)});
const out = {};
function ready(fd, ms) { const [r] = s.poll([{ fd, events: s.POLLIN }], ms); return (r.revents & s.POLLIN) !== 0; }
function take(fd, ms) {
  if (!ready(fd, ms)) return null;
  const b = Buffer.alloc(256);
  const r = s.recvfrom(fd, b);
  return b.subarray(0, r.bytes).toString();
}
${body}
console.log(JSON.stringify(out));`;
    return JSON.parse(ns.node(script).trim());
  };

  it('IP_ADD_MEMBERSHIP receives a datagram sent to the group; after IP_DROP_MEMBERSHIP, none', () => {
    const out = run(`
      const ifindex = s.if_nametoindex('va');
      const r = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.bind(r, { family: s.AF_INET, address: '0.0.0.0', port: 0 });
      const group = { family: s.AF_INET, address: '239.7.7.7', port: s.getsockname(r).port };
      s.setsockopt(r, s.IPPROTO_IP, s.IP_ADD_MEMBERSHIP, { multiaddr: '239.7.7.7', ifindex });
      const t = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.setsockopt(t, s.IPPROTO_IP, s.IP_MULTICAST_IF, { address: '10.77.0.1' });
      out.mcif = s.getsockopt(t, s.IPPROTO_IP, s.IP_MULTICAST_IF);
      s.sendto(t, Buffer.from('joined'), undefined, 0, group);
      out.joined = take(r, 2000);
      s.setsockopt(r, s.IPPROTO_IP, s.IP_DROP_MEMBERSHIP, { multiaddr: '239.7.7.7', ifindex });
      s.sendto(t, Buffer.from('dropped'), undefined, 0, group);
      out.dropped = take(r, 300);
      try { s.setsockopt(r, s.IPPROTO_IP, s.IP_DROP_MEMBERSHIP, { multiaddr: '239.7.7.7', ifindex }); } catch (e) { out.again = e.code; }
    `);
    expect(out).toEqual({ mcif: '10.77.0.1', joined: 'joined', dropped: null, again: 'EADDRNOTAVAIL' });
  });

  it('IP_ADD_MEMBERSHIP by local address ({ multiaddr, address }) receives the group too', () => {
    const out = run(`
      const r = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.bind(r, { family: s.AF_INET, address: '0.0.0.0', port: 0 });
      s.setsockopt(r, s.IPPROTO_IP, s.IP_ADD_MEMBERSHIP, { multiaddr: '239.7.7.8', address: '10.77.0.1' });
      const t = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.setsockopt(t, s.IPPROTO_IP, s.IP_MULTICAST_IF, { ifindex: s.if_nametoindex('va') });
      s.sendto(t, Buffer.from('by address'), undefined, 0, { family: s.AF_INET, address: '239.7.7.8', port: s.getsockname(r).port });
      out.got = take(r, 2000);
    `);
    expect(out).toEqual({ got: 'by address' });
  });

  it('IPV6_JOIN_GROUP receives a datagram sent to the group; after IPV6_LEAVE_GROUP, none', () => {
    const out = run(`
      const ifindex = s.if_nametoindex('va');
      const r = s.socket(s.AF_INET6, s.SOCK_DGRAM);
      s.bind(r, { family: s.AF_INET6, address: '::', port: 0 });
      const group = { family: s.AF_INET6, address: 'ff15::77', port: s.getsockname(r).port };
      s.setsockopt(r, s.IPPROTO_IPV6, s.IPV6_JOIN_GROUP, { multiaddr: 'ff15::77', ifindex });
      const t = s.socket(s.AF_INET6, s.SOCK_DGRAM);
      s.setsockopt(t, s.IPPROTO_IPV6, s.IPV6_MULTICAST_IF, ifindex);
      s.sendto(t, Buffer.from('joined6'), undefined, 0, group);
      out.joined = take(r, 2000);
      s.setsockopt(r, s.IPPROTO_IPV6, s.IPV6_LEAVE_GROUP, { multiaddr: 'ff15::77', ifindex });
      s.sendto(t, Buffer.from('left6'), undefined, 0, group);
      out.left = take(r, 300);
    `);
    expect(out).toEqual({ joined: 'joined6', left: null });
  });

  it('SO_BINDTODEVICE set before bind: one port per device, and only the lo socket hears 127.0.0.1', () => {
    // Two sockets may share a port when bound to different devices; a socket bound to no
    // device conflicts with both. Traffic to 127.0.0.1 arrives on lo, so only the lo one sees it.
    const out = run(`
      const udp = (dev) => {
        const fd = s.socket(s.AF_INET, s.SOCK_DGRAM);
        if (dev !== undefined) s.setsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE, dev);
        return fd;
      };
      const onLo = udp('lo');
      s.bind(onLo, { family: s.AF_INET, address: '0.0.0.0', port: 0 });
      const port = s.getsockname(onLo).port;
      const onVa = udp('va');
      s.bind(onVa, { family: s.AF_INET, address: '0.0.0.0', port });
      out.devices = [s.getsockopt(onLo, s.SOL_SOCKET, s.SO_BINDTODEVICE), s.getsockopt(onVa, s.SOL_SOCKET, s.SO_BINDTODEVICE)];
      const any = udp();
      try { s.bind(any, { family: s.AF_INET, address: '0.0.0.0', port }); out.any = 'bound'; } catch (e) { out.any = e.code; }
      const t = udp();
      s.sendto(t, Buffer.from('to lo'), undefined, 0, { family: s.AF_INET, address: '127.0.0.1', port });
      out.lo = take(onLo, 2000);
      out.va = take(onVa, 300);
    `);
    expect(out).toEqual({ devices: ['lo', 'va'], any: 'EADDRINUSE', lo: 'to lo', va: null });
  });
});
