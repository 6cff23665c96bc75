// Type tests (vitest --typecheck, and tsc over test/): each narrowing and each option type, and misuse
// of each, which must not compile (`@ts-expect-error` fails the check when the line compiles).
import { describe, expectTypeOf, test } from 'vitest';
import * as s from '../src/index.js';
import * as p from '../src/promises.js';
import type {
  AnySockOptGet,
  ControlMessage,
  ControlMessageInit,
  ErrnoName,
  IpMreqn,
  IpPktinfo,
  Ipv6Mreq,
  Linger,
  OtherControl,
  PacketMreq,
  ScmCredentials,
  ScmRights,
  ScmTimestampNs,
  SockAddr,
  SockAddrIn,
  SockAddrIn6,
  SockAddrLl,
  SockAddrNl,
  SockAddrOther,
  SockAddrUn,
  TcpInfo,
  TcpStateName,
  Timeval,
  Ucred,
} from '../src/index.js';

declare const fd: number;
declare const addr: SockAddr;
declare const control: ControlMessage[];
declare const someNumber: number;

describe('constants', () => {
  test('the constants a type is chosen by have their header values as literal types', () => {
    expectTypeOf(s.AF_INET).toEqualTypeOf<2>();
    expectTypeOf(s.AF_INET6).toEqualTypeOf<10>();
    expectTypeOf(s.AF_UNIX).toEqualTypeOf<1>();
    expectTypeOf(s.AF_LOCAL).toEqualTypeOf<1>();
    expectTypeOf(s.SOL_SOCKET).toEqualTypeOf<1>();
    expectTypeOf(s.IPPROTO_TCP).toEqualTypeOf<6>();
    expectTypeOf(s.SOL_TCP).toEqualTypeOf<6>();
    expectTypeOf(s.SO_LINGER).toEqualTypeOf<13>();
    expectTypeOf(s.TCP_INFO).toEqualTypeOf<11>();
    expectTypeOf(s.SCM_RIGHTS).toEqualTypeOf<1>();
    expectTypeOf(s.IPV6_PKTINFO).toEqualTypeOf<50>();
  });

  test('flags and counts are numbers, so they combine in a let', () => {
    expectTypeOf(s.SOCK_STREAM).toEqualTypeOf<number>();
    expectTypeOf(s.MSG_PEEK).toEqualTypeOf<number>();
    expectTypeOf(s.AF_MAX).toEqualTypeOf<number>();
    let type = s.SOCK_STREAM;
    type |= s.SOCK_NONBLOCK;
    let flags = s.MSG_DONTWAIT;
    flags |= s.MSG_PEEK;
    expectTypeOf(type | flags).toEqualTypeOf<number>();
  });

  test('a constant the headers lack is number | undefined, so it must be checked before use', () => {
    expectTypeOf(s.SO_PASSPIDFD).toEqualTypeOf<number | undefined>();
    expectTypeOf(s.SO_PEERPIDFD).toEqualTypeOf<number | undefined>();
    expectTypeOf(s.SCM_PIDFD).toEqualTypeOf<number | undefined>();
    expectTypeOf(s.SCM_SECURITY).toEqualTypeOf<number | undefined>();
    // @ts-expect-error -- possibly undefined
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_PASSPIDFD, 1);
    if (s.SO_PASSPIDFD !== undefined) s.setsockopt(fd, s.SOL_SOCKET, s.SO_PASSPIDFD, 1);
  });
});

describe('SockAddr', () => {
  test('a check of family narrows to the variant', () => {
    if (addr.family === s.AF_INET) expectTypeOf(addr).toEqualTypeOf<SockAddrIn>();
    if (addr.family === s.AF_INET6) expectTypeOf(addr).toEqualTypeOf<SockAddrIn6>();
    if (addr.family === s.AF_UNIX) expectTypeOf(addr).toEqualTypeOf<SockAddrUn>();
    if (addr.family === s.AF_PACKET) expectTypeOf(addr).toEqualTypeOf<SockAddrLl>();
    if (addr.family === s.AF_NETLINK) expectTypeOf(addr).toEqualTypeOf<SockAddrNl>();
    if (addr.family === s.AF_INET || addr.family === s.AF_INET6) expectTypeOf(addr.port).toEqualTypeOf<number>();
  });

  test('a switch on family is exhaustive, the rest being SockAddrOther', () => {
    switch (addr.family) {
      case s.AF_INET:
      case s.AF_INET6:
        expectTypeOf(addr.address).toEqualTypeOf<string>();
        break;
      case s.AF_UNIX:
        expectTypeOf(addr.path).toEqualTypeOf<string | Uint8Array>();
        break;
      case s.AF_PACKET:
        expectTypeOf(addr.ifindex).toEqualTypeOf<number>();
        break;
      case s.AF_NETLINK:
        expectTypeOf(addr.pid).toEqualTypeOf<number | undefined>();
        break;
      default:
        expectTypeOf(addr).toEqualTypeOf<SockAddrOther>();
    }
  });

  test('without a check, fields of one variant are not there', () => {
    // @ts-expect-error -- port is not on every address
    void s.getsockname(fd).port;
    // @ts-expect-error -- nor is path
    void addr.path;
  });

  test('getsockname and getpeername with a family return its variant', () => {
    expectTypeOf(s.getsockname(fd)).toEqualTypeOf<SockAddr>();
    expectTypeOf(s.getsockname(fd, s.AF_INET)).toEqualTypeOf<SockAddrIn>();
    expectTypeOf(s.getsockname(fd, s.AF_INET).port).toEqualTypeOf<number>();
    expectTypeOf(s.getpeername(fd, s.AF_INET6)).toEqualTypeOf<SockAddrIn6>();
    expectTypeOf(s.getsockname(fd, s.AF_UNIX)).toEqualTypeOf<SockAddrUn>();
    expectTypeOf(s.getsockname(fd, s.AF_VSOCK)).toEqualTypeOf<SockAddrOther>();
    expectTypeOf(s.getsockname(fd, someNumber)).toEqualTypeOf<SockAddr>();
    // @ts-expect-error -- an AF_INET6 address has no path
    void s.getsockname(fd, s.AF_INET6).path;
  });

  test('inputs take object literals with the AF_ constants, stored or inline, returned addresses and binary ones', () => {
    s.bind(fd, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
    const stored = { family: s.AF_INET6, address: '::1', port: 0 };
    s.bind(fd, stored);
    s.connect(fd, { family: s.AF_UNIX, path: '\0name' });
    s.sendto(fd, Buffer.alloc(1), undefined, 0, s.getsockname(fd));
    s.sendto(fd, Buffer.alloc(1), undefined, 0, s.encodeSockaddr(stored));
    const family: s.InetFamily = Math.random() > 0.5 ? s.AF_INET : s.AF_INET6;
    s.bind(fd, { family, address: '::', port: 0 });
    // @ts-expect-error -- an AF_INET address has no path
    s.bind(fd, { family: s.AF_INET, path: '/tmp/x' });
    // @ts-expect-error -- nor an AF_UNIX one a port
    s.connect(fd, { family: s.AF_UNIX, address: '127.0.0.1', port: 1 });
    // @ts-expect-error -- a family that is a number only at run time must be narrowed first
    s.bind(fd, { family: someNumber, address: '127.0.0.1', port: 0 });
  });
});

describe('socket options', () => {
  test('structured options read as their struct and take it', () => {
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_LINGER)).toEqualTypeOf<Linger>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_LINGER).linger).toEqualTypeOf<number>();
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_LINGER, { onoff: 1, linger: 5 });
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO)).toEqualTypeOf<Timeval>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_SNDTIMEO)).toEqualTypeOf<Timeval>();
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO, 1500);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_SNDTIMEO, { sec: 1, usec: 0 });
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_PEERCRED)).toEqualTypeOf<Ucred>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE)).toEqualTypeOf<string>();
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE, 'lo');
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_CONGESTION)).toEqualTypeOf<string>();
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_CONGESTION, 'reno');
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_INFO)).toEqualTypeOf<TcpInfo>();
    expectTypeOf(s.getsockopt(fd, s.SOL_TCP, s.TCP_INFO)).toEqualTypeOf<TcpInfo>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_IP, s.IP_MULTICAST_IF)).toEqualTypeOf<string>();
    s.setsockopt(fd, s.IPPROTO_IP, s.IP_MULTICAST_IF, '10.0.0.1');
    s.setsockopt(fd, s.IPPROTO_IP, s.IP_MULTICAST_IF, { ifindex: 2 });
    const mreqn: IpMreqn = { multiaddr: '239.1.1.1', ifindex: 2 };
    s.setsockopt(fd, s.IPPROTO_IP, s.IP_ADD_MEMBERSHIP, mreqn);
    s.setsockopt(fd, s.IPPROTO_IP, s.IP_DROP_MEMBERSHIP, mreqn);
    const mreq6: Ipv6Mreq = { multiaddr: 'ff15::1' };
    s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_JOIN_GROUP, mreq6);
    s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_ADD_MEMBERSHIP, mreq6);
    const pmreq: PacketMreq = { ifindex: 1, type: s.PACKET_MR_PROMISC };
    s.setsockopt(fd, s.SOL_PACKET, s.PACKET_ADD_MEMBERSHIP, pmreq);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_ATTACH_FILTER, [{ code: 6, jt: 0, jf: 0, k: 0 }]);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_ATTACH_REUSEPORT_CBPF, [{ code: 6, jt: 0, jf: 0, k: 0 }]);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_DETACH_FILTER, 0);
  });

  test("every int option of the README's table reads as a number and takes a number or a boolean", () => {
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_REUSEADDR)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_REUSEPORT)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUF)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_TYPE)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_DOMAIN)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_PROTOCOL)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_ERROR)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_ACCEPTCONN)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_NODELAY)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_KEEPCNT)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_IP, s.IP_TTL)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_IP, s.IP_HDRINCL)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_IPV6, s.IPV6_V6ONLY)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_IP, s.IP_FREEBIND)).toEqualTypeOf<number>();
    expectTypeOf(s.getsockopt(fd, s.IPPROTO_IP, s.IP_TRANSPARENT)).toEqualTypeOf<number>();
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_REUSEADDR, true);
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_KEEPCNT, 7);
    s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_V6ONLY, false);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUF, Buffer.alloc(4));
  });

  test('a pair not in the table is a C int; a level or name known only at run time gives every value', () => {
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, 1000)).toEqualTypeOf<number>();
    s.setsockopt(fd, s.SOL_SOCKET, 1000, 1);
    s.setsockopt(fd, s.SOL_SOCKET, 1000, Buffer.alloc(4));
    expectTypeOf(s.getsockopt(fd, someNumber, someNumber)).toEqualTypeOf<AnySockOptGet>();
    s.setsockopt(fd, someNumber, someNumber, { onoff: 1, linger: 0 });
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_COOKIE, 8)).toEqualTypeOf<Buffer>();
    expectTypeOf(s.getsockopt(fd, s.SOL_SOCKET, s.SO_LINGER, new Int32Array(2))).toEqualTypeOf<number>();
  });

  test('misuse does not compile', () => {
    // @ts-expect-error -- a field SO_LINGER does not have
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_LINGER, { foo: 1 });
    // @ts-expect-error -- SO_LINGER takes { onoff, linger }, not a number
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_LINGER, 5);
    // @ts-expect-error -- nor a string
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_LINGER, 'abcdefgh');
    // @ts-expect-error -- SO_RCVBUF is an int: no type parameter names its value
    s.getsockopt<TcpInfo>(fd, s.SOL_SOCKET, s.SO_RCVBUF);
    // @ts-expect-error -- an int option takes no object
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_NODELAY, {});
    // @ts-expect-error -- TCP_INFO can only be read
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_INFO, 1);
    // @ts-expect-error -- SO_TYPE can only be read
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_TYPE, 1);
    // @ts-expect-error -- SO_PEERCRED can only be read
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_PEERCRED, Buffer.alloc(12));
    // @ts-expect-error -- IP_ADD_MEMBERSHIP can only be set
    s.getsockopt(fd, s.IPPROTO_IP, s.IP_ADD_MEMBERSHIP);
    // @ts-expect-error -- SO_COOKIE is 8 bytes, not an int: read it with a buflen
    s.getsockopt(fd, s.SOL_SOCKET, s.SO_COOKIE);
    // @ts-expect-error -- SO_GET_FILTER (SO_ATTACH_FILTER's number) has no int to read
    s.getsockopt(fd, s.SOL_SOCKET, s.SO_GET_FILTER);
    // @ts-expect-error -- multiaddr is an IPv4 literal string
    s.setsockopt(fd, s.IPPROTO_IP, s.IP_ADD_MEMBERSHIP, { multiaddr: 5 });
    // @ts-expect-error -- IP_MULTICAST_IF's object form has no group
    s.setsockopt(fd, s.IPPROTO_IP, s.IP_MULTICAST_IF, { multiaddr: '239.1.1.1' });
    // @ts-expect-error -- a BPF program is for SO_ATTACH_FILTER, not SO_RCVBUF
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUF, [{ code: 6, jt: 0, jf: 0, k: 0 }]);
    // @ts-expect-error -- SO_BINDTODEVICE takes a name
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE, 1);
  });
});

describe('control messages', () => {
  test('a check of level and type narrows to the variant', () => {
    for (const c of control) {
      if (c.level === s.SOL_SOCKET && c.type === s.SCM_RIGHTS) expectTypeOf(c).toEqualTypeOf<ScmRights>();
      if (c.level === s.SOL_SOCKET && c.type === s.SCM_CREDENTIALS) expectTypeOf(c.pid).toEqualTypeOf<number>();
      if (c.level === s.SOL_SOCKET && c.type === s.SCM_TIMESTAMPNS) expectTypeOf(c).toEqualTypeOf<ScmTimestampNs>();
      if (c.level === s.IPPROTO_IP && c.type === s.IP_PKTINFO) expectTypeOf(c).toEqualTypeOf<IpPktinfo>();
      if (c.level === s.IPPROTO_IP && c.type === s.IP_TTL) expectTypeOf(c.value).toEqualTypeOf<number>();
      if (c.level === s.IPPROTO_IPV6 && c.type === s.IPV6_RECVERR) expectTypeOf(c.error.errno).toEqualTypeOf<number>();
      if (c.level === s.SOL_SOCKET && c.type === 99) expectTypeOf(c).toMatchTypeOf<OtherControl>();
      expectTypeOf(c.data).toEqualTypeOf<Buffer>();
    }
  });

  test('a find callback that checks level and type finds that variant', () => {
    const rights = control.find((c) => c.level === s.SOL_SOCKET && c.type === s.SCM_RIGHTS);
    expectTypeOf(rights).toEqualTypeOf<ScmRights | undefined>();
    expectTypeOf(rights?.fds).toEqualTypeOf<number[] | undefined>();
    expectTypeOf<s.ControlMessageOf<typeof s.SOL_SOCKET, typeof s.SCM_CREDENTIALS>>().toEqualTypeOf<ScmCredentials>();
  });

  test('the type alone does not narrow: IP_TOS has SCM_RIGHTS number, at another level', () => {
    for (const c of control) {
      // @ts-expect-error -- type 1 is also IP_TOS (IPPROTO_IP) and an unknown type at other levels
      if (c.type === s.SCM_RIGHTS) void c.fds;
    }
  });

  test('sendmsg takes items with their fields, or raw data, not both', () => {
    const items: ControlMessageInit[] = [
      { level: s.SOL_SOCKET, type: s.SCM_RIGHTS, fds: [fd] },
      { level: s.SOL_SOCKET, type: s.SCM_CREDENTIALS, pid: 1, uid: 0, gid: 0 },
      { level: s.IPPROTO_IP, type: s.IP_PKTINFO, ifindex: 1 },
      { level: s.IPPROTO_IPV6, type: s.IPV6_PKTINFO, addr: '::1' },
      { level: s.IPPROTO_IP, type: s.IP_TTL, value: 7 },
      { level: s.IPPROTO_IPV6, type: s.IPV6_TCLASS, value: 0x20 },
      { level: s.SOL_SOCKET, type: s.SCM_RIGHTS, data: Buffer.alloc(4) },
      { level: 999, type: 1, data: Buffer.alloc(4) },
    ];
    s.sendmsg(fd, [Buffer.alloc(1)], { control: items });
    // @ts-expect-error -- SCM_RIGHTS carries fds, not a pid
    s.sendmsg(fd, [Buffer.alloc(1)], { control: [{ level: s.SOL_SOCKET, type: s.SCM_RIGHTS, pid: 1 }] });
    // @ts-expect-error -- raw data and fields together are refused
    s.sendmsg(fd, [Buffer.alloc(1)], { control: [{ level: s.SOL_SOCKET, type: s.SCM_RIGHTS, fds: [fd], data: Buffer.alloc(4) }] });
    // @ts-expect-error -- a timestamp cannot be encoded from fields
    s.sendmsg(fd, [Buffer.alloc(1)], { control: [{ level: s.SOL_SOCKET, type: s.SCM_TIMESTAMPNS, sec: 1, nsec: 0 }] });
  });
});

describe('errors and TCP state', () => {
  test('SystemError.code is an ErrnoName, so a misspelt comparison does not compile', () => {
    try {
      s.connect(fd, { family: s.AF_INET, address: '127.0.0.1', port: 1 });
    } catch (e) {
      if (e instanceof s.SystemError) {
        expectTypeOf(e.code).toEqualTypeOf<ErrnoName>();
        if (e.code === 'ECONNREFUSED') expectTypeOf(e.errno).toEqualTypeOf<number>();
        // @ts-expect-error -- no such errno name
        if (e.code === 'ECONNREFUZED') void e;
      }
    }
    expectTypeOf(s.errnoName(111)).toEqualTypeOf<ErrnoName>();
    expectTypeOf<'E9999'>().toMatchTypeOf<ErrnoName>();
  });

  test('TCP state names are a union', () => {
    const info = s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_INFO);
    expectTypeOf<TcpStateName>().toEqualTypeOf<
      'ESTABLISHED' | 'SYN_SENT' | 'SYN_RECV' | 'FIN_WAIT1' | 'FIN_WAIT2' | 'TIME_WAIT' | 'CLOSE' | 'CLOSE_WAIT' | 'LAST_ACK' | 'LISTEN' | 'CLOSING' | 'NEW_SYN_RECV'
    >();
    if (info.stateName === 'ESTABLISHED') expectTypeOf(info.stateName).toEqualTypeOf<'ESTABLISHED'>();
    // @ts-expect-error -- no such state
    if (info.stateName === 'ESTABLISHD') void info;
    const view = s.inspect(fd);
    if (view.tcp) expectTypeOf(view.tcp.stateName).toEqualTypeOf<TcpInfo['stateName']>();
  });

  test("TCP_INFO's 64-bit counters are bigints", () => {
    const info = s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_INFO);
    expectTypeOf(info.maxPacingRate).toEqualTypeOf<bigint | undefined>();
    expectTypeOf(info.bytesAcked).toEqualTypeOf<bigint | undefined>();
    expectTypeOf(info.rtt).toEqualTypeOf<number>();
  });
});

describe('sockfd/promises', () => {
  test('results carry the same types', async () => {
    const conn = await p.accept(fd, { timeout: 10 });
    expectTypeOf(conn.address).toEqualTypeOf<SockAddr | null>();
    const m = await p.recvmsg(fd, [Buffer.alloc(8)], { controlLength: 64, timeout: 10 });
    expectTypeOf(m.control).toEqualTypeOf<ControlMessage[]>();
    const r = await p.recvfrom(fd, Buffer.alloc(8));
    if (r.address?.family === s.AF_INET) expectTypeOf(r.address.port).toEqualTypeOf<number>();
    // @ts-expect-error -- recv takes a view, not a string
    void p.recv(fd, 'text');
  });
});
