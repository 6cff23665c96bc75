// The option types (src/optiontypes.ts) against the kernel: every option the types call a readable
// C int reads as a number from a real socket of a kind it applies to; every one they call read-only is
// refused by setsockopt (ENOPROTOOPT); every one they call write-only has no value getsockopt can read
// (ENOPROTOOPT). The tables below are the type map's own entries: a compile-time check (tsc over test/)
// fails when they differ from SocketOptionTypes.
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as s from '../src/index.js';
import type { IntOption, ReadOnlyIntOption, SocketOptionTypes, WriteOnlyIntOption } from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';
import { rawUnavailable } from './helpers/netns.js';

checkFdLeaks();

type Options = SocketOptionTypes;
/** The names at level L whose entry is exactly E. */
type NamesOf<L extends keyof Options, E> = { [N in keyof Options[L]]: [Options[L][N]] extends [E] ? ([E] extends [Options[L][N]] ? N : never) : never }[keyof Options[L]];

const RW_SOCKET = [
  s.SO_DEBUG, s.SO_REUSEADDR, s.SO_DONTROUTE, s.SO_BROADCAST, s.SO_SNDBUF, s.SO_RCVBUF, s.SO_KEEPALIVE, s.SO_OOBINLINE,
  s.SO_NO_CHECK, s.SO_PRIORITY, s.SO_BSDCOMPAT, s.SO_REUSEPORT, s.SO_PASSCRED, s.SO_RCVLOWAT, s.SO_BINDTOIFINDEX,
  s.SO_LOCK_FILTER, s.SO_TIMESTAMP, s.SO_TIMESTAMPNS, s.SO_TIMESTAMPING, s.SO_PASSSEC, s.SO_MARK, s.SO_RXQ_OVFL,
  s.SO_WIFI_STATUS, s.SO_PEEK_OFF, s.SO_NOFCS, s.SO_BUSY_POLL, s.SO_MAX_PACING_RATE, s.SO_INCOMING_CPU, s.SO_ZEROCOPY,
  s.SO_PREFER_BUSY_POLL, s.SO_BUF_LOCK, s.SO_RESERVE_MEM, s.SO_TXREHASH, s.SO_RCVMARK,
] as const;
const RO_SOCKET = [s.SO_TYPE, s.SO_ERROR, s.SO_SNDLOWAT, s.SO_ACCEPTCONN, s.SO_PROTOCOL, s.SO_DOMAIN, s.SO_INCOMING_NAPI_ID] as const;
const WO_SOCKET = [s.SO_SNDBUFFORCE, s.SO_RCVBUFFORCE, s.SO_DETACH_FILTER, s.SO_ATTACH_BPF, s.SO_ATTACH_REUSEPORT_EBPF, s.SO_CNX_ADVICE, s.SO_BUSY_POLL_BUDGET] as const;
const RW_IP = [
  s.IP_TOS, s.IP_TTL, s.IP_HDRINCL, s.IP_ROUTER_ALERT, s.IP_RECVOPTS, s.IP_RETOPTS, s.IP_PKTINFO, s.IP_MTU_DISCOVER,
  s.IP_RECVERR, s.IP_RECVTTL, s.IP_RECVTOS, s.IP_FREEBIND, s.IP_PASSSEC, s.IP_TRANSPARENT, s.IP_RECVORIGDSTADDR,
  s.IP_MINTTL, s.IP_NODEFRAG, s.IP_CHECKSUM, s.IP_BIND_ADDRESS_NO_PORT, s.IP_RECVFRAGSIZE, s.IP_RECVERR_RFC4884,
  s.IP_MULTICAST_TTL, s.IP_MULTICAST_LOOP, s.IP_MULTICAST_ALL, s.IP_UNICAST_IF,
] as const;
const RO_IP = [s.IP_MTU] as const;
const RW_IPV6 = [
  s.IPV6_ADDRFORM, s.IPV6_2292PKTINFO, s.IPV6_2292HOPOPTS, s.IPV6_2292DSTOPTS, s.IPV6_2292RTHDR, s.IPV6_CHECKSUM,
  s.IPV6_2292HOPLIMIT, s.IPV6_UNICAST_HOPS, s.IPV6_MULTICAST_IF, s.IPV6_MULTICAST_HOPS, s.IPV6_MULTICAST_LOOP,
  s.IPV6_ROUTER_ALERT, s.IPV6_MTU_DISCOVER, s.IPV6_MTU, s.IPV6_RECVERR, s.IPV6_V6ONLY, s.IPV6_MULTICAST_ALL,
  s.IPV6_ROUTER_ALERT_ISOLATE, s.IPV6_RECVERR_RFC4884, s.IPV6_HDRINCL, s.IPV6_RECVPKTINFO, s.IPV6_RECVHOPLIMIT,
  s.IPV6_RECVHOPOPTS, s.IPV6_RECVRTHDR, s.IPV6_RECVDSTOPTS, s.IPV6_RECVPATHMTU, s.IPV6_DONTFRAG, s.IPV6_RECVTCLASS,
  s.IPV6_TCLASS, s.IPV6_AUTOFLOWLABEL, s.IPV6_ADDR_PREFERENCES, s.IPV6_MINHOPCOUNT, s.IPV6_RECVORIGDSTADDR,
  s.IPV6_TRANSPARENT, s.IPV6_UNICAST_IF, s.IPV6_RECVFRAGSIZE, s.IPV6_FREEBIND,
] as const;
const RW_TCP = [
  s.TCP_NODELAY, s.TCP_MAXSEG, s.TCP_CORK, s.TCP_KEEPIDLE, s.TCP_KEEPINTVL, s.TCP_KEEPCNT, s.TCP_SYNCNT, s.TCP_LINGER2,
  s.TCP_DEFER_ACCEPT, s.TCP_WINDOW_CLAMP, s.TCP_QUICKACK, s.TCP_THIN_LINEAR_TIMEOUTS, s.TCP_THIN_DUPACK,
  s.TCP_USER_TIMEOUT, s.TCP_REPAIR, s.TCP_REPAIR_QUEUE, s.TCP_QUEUE_SEQ, s.TCP_FASTOPEN, s.TCP_TIMESTAMP,
  s.TCP_NOTSENT_LOWAT, s.TCP_SAVE_SYN, s.TCP_FASTOPEN_CONNECT, s.TCP_FASTOPEN_NO_COOKIE, s.TCP_INQ, s.TCP_TX_DELAY,
] as const;
const RW_UDP = [s.UDP_CORK, s.UDP_ENCAP, s.UDP_NO_CHECK6_TX, s.UDP_NO_CHECK6_RX, s.UDP_SEGMENT, s.UDP_GRO] as const;
const RW_PACKET = [
  s.PACKET_COPY_THRESH, s.PACKET_AUXDATA, s.PACKET_ORIGDEV, s.PACKET_VERSION, s.PACKET_RESERVE, s.PACKET_LOSS,
  s.PACKET_VNET_HDR, s.PACKET_TIMESTAMP, s.PACKET_FANOUT, s.PACKET_TX_HAS_OFF, s.PACKET_QDISC_BYPASS, s.PACKET_IGNORE_OUTGOING,
] as const;
const RO_PACKET = [s.PACKET_HDRLEN] as const;

// The tables are the type map's int entries, exactly (checked by tsc, which covers test/).
expectTypeOf<(typeof RW_SOCKET)[number]>().toEqualTypeOf<NamesOf<typeof s.SOL_SOCKET, IntOption>>();
expectTypeOf<(typeof RO_SOCKET)[number]>().toEqualTypeOf<NamesOf<typeof s.SOL_SOCKET, ReadOnlyIntOption>>();
expectTypeOf<(typeof WO_SOCKET)[number]>().toEqualTypeOf<NamesOf<typeof s.SOL_SOCKET, WriteOnlyIntOption>>();
expectTypeOf<(typeof RW_IP)[number]>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_IP, IntOption>>();
expectTypeOf<(typeof RO_IP)[number]>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_IP, ReadOnlyIntOption>>();
expectTypeOf<never>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_IP, WriteOnlyIntOption>>();
expectTypeOf<(typeof RW_IPV6)[number]>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_IPV6, IntOption>>();
expectTypeOf<never>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_IPV6, ReadOnlyIntOption | WriteOnlyIntOption>>();
expectTypeOf<(typeof RW_TCP)[number]>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_TCP, IntOption>>();
expectTypeOf<(typeof RW_UDP)[number]>().toEqualTypeOf<NamesOf<typeof s.IPPROTO_UDP, IntOption>>();
expectTypeOf<(typeof RW_PACKET)[number]>().toEqualTypeOf<NamesOf<typeof s.SOL_PACKET, IntOption>>();
expectTypeOf<(typeof RO_PACKET)[number]>().toEqualTypeOf<NamesOf<typeof s.SOL_PACKET, ReadOnlyIntOption>>();

const privileged = rawUnavailable();
if (privileged) console.log(`skipping the options of raw, packet and repair-mode sockets: ${privileged}`);

const udp4 = (): number => s.socket(s.AF_INET, s.SOCK_DGRAM);
const tcp4 = (): number => s.socket(s.AF_INET, s.SOCK_STREAM);
const udp6 = (): number => s.socket(s.AF_INET6, s.SOCK_DGRAM);
const tcp6 = (): number => s.socket(s.AF_INET6, s.SOCK_STREAM);
const unix = (): number => s.socket(s.AF_UNIX, s.SOCK_STREAM);
/** A UDP socket connected to a loopback port (IP_MTU, IPV6_MTU and IPV6_ADDRFORM need a peer). */
const connected4 = (): number => {
  const fd = udp4();
  s.connect(fd, { family: s.AF_INET, address: '127.0.0.1', port: 9 });
  return fd;
};
const connected6 = (): number => {
  const fd = udp6();
  s.connect(fd, { family: s.AF_INET6, address: '::1', port: 9 });
  return fd;
};
const raw4 = (): number => s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
const raw6 = (): number => s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
const packet = (): number => s.socket(s.AF_PACKET, s.SOCK_RAW, 0);
/** A TCP socket in repair mode with the send queue selected (TCP_REPAIR_QUEUE and TCP_QUEUE_SEQ read only then). */
const repairing = (): number => {
  const fd = tcp4();
  s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_REPAIR, 1);
  s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_REPAIR_QUEUE, 2); // TCP_SEND_QUEUE
  return fd;
};

/** Fresh sockets of each kind, closed after `use`. */
function withSockets<T>(kinds: readonly (() => number)[], use: (fds: number[]) => T): T {
  const fds: number[] = [];
  try {
    for (const make of kinds) fds.push(make());
    return use(fds);
  } finally {
    fds.forEach((fd) => s.close(fd));
  }
}

/** The option names (with each socket's error) that no socket of `kinds` reads as a number. */
function unreadable(level: number, names: readonly number[], kinds: readonly (() => number)[]): string[] {
  return withSockets(kinds, (fds) =>
    names.flatMap((name) => {
      const errors: string[] = [];
      for (const fd of fds) {
        try {
          if (typeof s.getsockopt(fd, level, name) === 'number') return [];
        } catch (err) {
          errors.push((err as s.SystemError).code);
        }
      }
      return [`${s.constantName(name, level === s.SOL_SOCKET ? 'SO_' : '') ?? name}: ${errors.join(' ')}`];
    }),
  );
}

/** The names that some socket of `kinds` does not refuse with ENOPROTOOPT when `call` is made. */
function notRefused(names: readonly number[], kinds: readonly (() => number)[], call: (fd: number, name: number) => unknown): string[] {
  return withSockets(kinds, (fds) =>
    names.flatMap((name) =>
      fds.flatMap((fd) => {
        try {
          call(fd, name);
          return [`${name}: accepted`];
        } catch (err) {
          const code = (err as s.SystemError).code;
          return code === 'ENOPROTOOPT' ? [] : [`${name}: ${code}`];
        }
      }),
    ),
  );
}

/** The names that need a raw, packet or repair-mode socket to be read. */
const NEEDS_PRIVILEGE = new Set<number>([s.IPV6_CHECKSUM, s.IPV6_HDRINCL, s.TCP_REPAIR_QUEUE, s.TCP_QUEUE_SEQ]);
const plain = (names: readonly number[]): number[] => names.filter((n) => !NEEDS_PRIVILEGE.has(n));

describe('options the types call readable C ints read as numbers from the kernel', () => {
  it('SOL_SOCKET, on UDP, TCP and unix sockets', () => {
    expect(unreadable(s.SOL_SOCKET, [...RW_SOCKET, ...RO_SOCKET], [udp4, tcp4, unix])).toEqual([]);
  });

  it('IPPROTO_IP, on UDP and TCP sockets, connected for IP_MTU', () => {
    expect(unreadable(s.IPPROTO_IP, [...RW_IP, ...RO_IP], [udp4, tcp4, connected4])).toEqual([]);
  });

  it('IPPROTO_IPV6, on UDP and TCP sockets, connected for IPV6_MTU and IPV6_ADDRFORM', () => {
    expect(unreadable(s.IPPROTO_IPV6, plain(RW_IPV6), [udp6, tcp6, connected6])).toEqual([]);
  });

  it('IPPROTO_TCP and IPPROTO_UDP, on TCP and UDP sockets', () => {
    expect(unreadable(s.IPPROTO_TCP, plain(RW_TCP), [tcp4])).toEqual([]);
    expect(unreadable(s.IPPROTO_UDP, RW_UDP, [udp4])).toEqual([]);
  });

  it.skipIf(privileged !== null)('with CAP_NET_RAW/CAP_NET_ADMIN: IPV6_CHECKSUM and IPV6_HDRINCL on a raw socket, the repair queue options in repair mode, SOL_PACKET', () => {
    expect(unreadable(s.IPPROTO_IPV6, [s.IPV6_CHECKSUM, s.IPV6_HDRINCL], [raw6])).toEqual([]);
    expect(unreadable(s.IPPROTO_TCP, [s.TCP_REPAIR_QUEUE, s.TCP_QUEUE_SEQ], [repairing])).toEqual([]);
    expect(unreadable(s.SOL_PACKET, [...RW_PACKET, ...RO_PACKET], [packet])).toEqual([]);
    expect(unreadable(s.IPPROTO_IP, [s.IP_HDRINCL, s.IP_NODEFRAG], [raw4])).toEqual([]);
  });
});

describe('options the types call read-only or write-only are so in the kernel', () => {
  it('setsockopt refuses every read-only int option with ENOPROTOOPT', () => {
    expect(notRefused(RO_SOCKET, [udp4, tcp4, unix], (fd, name) => s.setsockopt(fd, s.SOL_SOCKET, name, 0))).toEqual([]);
    expect(notRefused(RO_IP, [udp4, tcp4], (fd, name) => s.setsockopt(fd, s.IPPROTO_IP, name, 0))).toEqual([]);
  });

  it.skipIf(privileged !== null)('setsockopt refuses PACKET_HDRLEN, read-only, with ENOPROTOOPT', () => {
    expect(notRefused(RO_PACKET, [packet], (fd, name) => s.setsockopt(fd, s.SOL_PACKET, name, 0))).toEqual([]);
  });

  it('getsockopt refuses every write-only int option with ENOPROTOOPT', () => {
    expect(notRefused(WO_SOCKET, [udp4, tcp4, unix], (fd, name) => s.getsockopt(fd, s.SOL_SOCKET, name))).toEqual([]);
  });
});
