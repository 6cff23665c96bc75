/**
 * The value type of each socket option sockfd knows, by (level, name): what `getsockopt(fd, level,
 * name)` returns and what `setsockopt(fd, level, name, value)` takes. The level and name constants have
 * literal types (`SOL_SOCKET` is `1`, `SO_LINGER` is `13`), so the compiler looks the pair up:
 * `getsockopt(fd, SOL_SOCKET, SO_LINGER).linger` is a number, `setsockopt(fd, SOL_SOCKET, SO_LINGER,
 * { foo: 1 })` does not compile, and neither does reading an option that can only be set or setting one
 * that can only be read. A pair not listed is a C `int` (as sockfd treats it at run time), and a level or
 * name known only at run time (`number`) gives the union of every option's values.
 *
 * Types only: the run-time checks are those of src/sockopt.ts and src/optcodecs.ts.
 * @packageDocumentation
 */
import type {
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_2292DSTOPTS,
  IPV6_2292HOPLIMIT,
  IPV6_2292HOPOPTS,
  IPV6_2292PKTINFO,
  IPV6_2292PKTOPTIONS,
  IPV6_2292RTHDR,
  IPV6_ADDRFORM,
  IPV6_ADDR_PREFERENCES,
  IPV6_AUTOFLOWLABEL,
  IPV6_CHECKSUM,
  IPV6_DONTFRAG,
  IPV6_DSTOPTS,
  IPV6_FREEBIND,
  IPV6_HDRINCL,
  IPV6_HOPOPTS,
  IPV6_IPSEC_POLICY,
  IPV6_JOIN_ANYCAST,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_ANYCAST,
  IPV6_LEAVE_GROUP,
  IPV6_MINHOPCOUNT,
  IPV6_MTU,
  IPV6_MTU_DISCOVER,
  IPV6_MULTICAST_ALL,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_NEXTHOP,
  IPV6_PATHMTU,
  IPV6_PKTINFO,
  IPV6_RECVDSTOPTS,
  IPV6_RECVERR,
  IPV6_RECVERR_RFC4884,
  IPV6_RECVFRAGSIZE,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVHOPOPTS,
  IPV6_RECVORIGDSTADDR,
  IPV6_RECVPATHMTU,
  IPV6_RECVPKTINFO,
  IPV6_RECVRTHDR,
  IPV6_RECVTCLASS,
  IPV6_ROUTER_ALERT,
  IPV6_ROUTER_ALERT_ISOLATE,
  IPV6_RTHDR,
  IPV6_RTHDRDSTOPTS,
  IPV6_TCLASS,
  IPV6_TRANSPARENT,
  IPV6_UNICAST_HOPS,
  IPV6_UNICAST_IF,
  IPV6_V6ONLY,
  IPV6_XFRM_POLICY,
  IP_ADD_MEMBERSHIP,
  IP_ADD_SOURCE_MEMBERSHIP,
  IP_BIND_ADDRESS_NO_PORT,
  IP_BLOCK_SOURCE,
  IP_CHECKSUM,
  IP_DROP_MEMBERSHIP,
  IP_DROP_SOURCE_MEMBERSHIP,
  IP_FREEBIND,
  IP_HDRINCL,
  IP_IPSEC_POLICY,
  IP_MINTTL,
  IP_MSFILTER,
  IP_MTU,
  IP_MTU_DISCOVER,
  IP_MULTICAST_ALL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_NODEFRAG,
  IP_OPTIONS,
  IP_PASSSEC,
  IP_PKTINFO,
  IP_PKTOPTIONS,
  IP_RECVERR,
  IP_RECVERR_RFC4884,
  IP_RECVFRAGSIZE,
  IP_RECVOPTS,
  IP_RECVORIGDSTADDR,
  IP_RECVTOS,
  IP_RECVTTL,
  IP_RETOPTS,
  IP_ROUTER_ALERT,
  IP_TOS,
  IP_TRANSPARENT,
  IP_TTL,
  IP_UNBLOCK_SOURCE,
  IP_UNICAST_IF,
  IP_XFRM_POLICY,
  PACKET_ADD_MEMBERSHIP,
  PACKET_AUXDATA,
  PACKET_COPY_THRESH,
  PACKET_DROP_MEMBERSHIP,
  PACKET_FANOUT,
  PACKET_FANOUT_DATA,
  PACKET_HDRLEN,
  PACKET_IGNORE_OUTGOING,
  PACKET_LOSS,
  PACKET_ORIGDEV,
  PACKET_QDISC_BYPASS,
  PACKET_RESERVE,
  PACKET_ROLLOVER_STATS,
  PACKET_RX_RING,
  PACKET_STATISTICS,
  PACKET_TIMESTAMP,
  PACKET_TX_HAS_OFF,
  PACKET_TX_RING,
  PACKET_VERSION,
  PACKET_VNET_HDR,
  SOL_PACKET,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_ATTACH_BPF,
  SO_ATTACH_FILTER,
  SO_ATTACH_REUSEPORT_CBPF,
  SO_ATTACH_REUSEPORT_EBPF,
  SO_BINDTODEVICE,
  SO_BINDTOIFINDEX,
  SO_BROADCAST,
  SO_BSDCOMPAT,
  SO_BUF_LOCK,
  SO_BUSY_POLL,
  SO_BUSY_POLL_BUDGET,
  SO_CNX_ADVICE,
  SO_COOKIE,
  SO_DEBUG,
  SO_DETACH_FILTER,
  SO_DOMAIN,
  SO_DONTROUTE,
  SO_ERROR,
  SO_INCOMING_CPU,
  SO_INCOMING_NAPI_ID,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_LOCK_FILTER,
  SO_MARK,
  SO_MAX_PACING_RATE,
  SO_MEMINFO,
  SO_NETNS_COOKIE,
  SO_NOFCS,
  SO_NO_CHECK,
  SO_OOBINLINE,
  SO_PASSCRED,
  SO_PASSSEC,
  SO_PEEK_OFF,
  SO_PEERCRED,
  SO_PEERGROUPS,
  SO_PEERNAME,
  SO_PEERSEC,
  SO_PREFER_BUSY_POLL,
  SO_PRIORITY,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVLOWAT,
  SO_RCVMARK,
  SO_RCVTIMEO,
  SO_RESERVE_MEM,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_RXQ_OVFL,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SO_SNDLOWAT,
  SO_SNDTIMEO,
  SO_TIMESTAMP,
  SO_TIMESTAMPING,
  SO_TIMESTAMPNS,
  SO_TXREHASH,
  SO_TXTIME,
  SO_TYPE,
  SO_WIFI_STATUS,
  SO_ZEROCOPY,
  TCP_CC_INFO,
  TCP_CONGESTION,
  TCP_CORK,
  TCP_DEFER_ACCEPT,
  TCP_FASTOPEN,
  TCP_FASTOPEN_CONNECT,
  TCP_FASTOPEN_KEY,
  TCP_FASTOPEN_NO_COOKIE,
  TCP_INFO,
  TCP_INQ,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_LINGER2,
  TCP_MAXSEG,
  TCP_MD5SIG,
  TCP_MD5SIG_EXT,
  TCP_NODELAY,
  TCP_NOTSENT_LOWAT,
  TCP_QUEUE_SEQ,
  TCP_QUICKACK,
  TCP_REPAIR,
  TCP_REPAIR_OPTIONS,
  TCP_REPAIR_QUEUE,
  TCP_REPAIR_WINDOW,
  TCP_SAVED_SYN,
  TCP_SAVE_SYN,
  TCP_SYNCNT,
  TCP_THIN_DUPACK,
  TCP_THIN_LINEAR_TIMEOUTS,
  TCP_TIMESTAMP,
  TCP_TX_DELAY,
  TCP_ULP,
  TCP_USER_TIMEOUT,
  TCP_WINDOW_CLAMP,
  TCP_ZEROCOPY_RECEIVE,
  UDP_CORK,
  UDP_ENCAP,
  UDP_GRO,
  UDP_NO_CHECK6_RX,
  UDP_NO_CHECK6_TX,
  UDP_SEGMENT,
} from './constants.generated.js';
import type { IpMreqn, Ipv6Mreq, Linger, PacketMreq, TcpInfo, Timeval, Ucred } from './optcodecs.js';
import type { BpfInstruction } from './sockopt.js';

/**
 * What one option reads and takes: `get` is what `getsockopt(fd, level, name)` returns (`never`: the
 * option has no value that call decodes, read its bytes with a `buflen` or a view), `set` what
 * `setsockopt(fd, level, name, value)` takes (`never`: the option cannot be set).
 */
export interface OptionType<Get, Set> {
  readonly get: Get;
  readonly set: Set;
}

/** A C `int` option, read and set: a number (booleans 0 or 1); set from a number, a boolean or raw bytes. */
export type IntOption = OptionType<number, number | boolean | ArrayBufferView>;
/** A C `int` the kernel only reports (SO_TYPE, SO_ERROR, ...). */
export type ReadOnlyIntOption = OptionType<number, never>;
/** A C `int` the kernel only takes (SO_RCVBUFFORCE, SO_DETACH_FILTER, SO_ATTACH_BPF's program fd, ...). */
export type WriteOnlyIntOption = OptionType<never, number | boolean | ArrayBufferView>;
/** A structured option sockfd decodes: read as `Get`, set as `Set` or raw bytes. */
export type StructOption<Get, Set> = OptionType<Get, Set | ArrayBufferView>;
/** A structured option sockfd does not decode: bytes both ways (`getsockopt(fd, level, name, buflen)`). */
export type BytesOption = OptionType<never, ArrayBufferView>;
/** A structured option the kernel only reports, as bytes (SO_COOKIE, SO_MEMINFO, TCP_CC_INFO, ...). */
export type ReadOnlyBytesOption = OptionType<never, never>;

/** `IP_MULTICAST_IF`'s object form: `struct ip_mreqn` without the group. */
export type IpMulticastIf = Omit<IpMreqn, 'multiaddr'>;

/**
 * The options sockfd knows, by level and name (the constants' values). Every name of
 * native/constants.txt at these levels that the kernel treats as an option is here, checked against
 * the kernel by test/sockopt-types.test.ts; `IPPROTO_TCP` is also `SOL_TCP`, `IPPROTO_IP` `SOL_IP`,
 * and so on (the same numbers).
 */
export interface SocketOptionTypes {
  [SOL_SOCKET]: {
    [SO_DEBUG]: IntOption;
    [SO_REUSEADDR]: IntOption;
    [SO_TYPE]: ReadOnlyIntOption;
    [SO_ERROR]: ReadOnlyIntOption;
    [SO_DONTROUTE]: IntOption;
    [SO_BROADCAST]: IntOption;
    [SO_SNDBUF]: IntOption;
    [SO_RCVBUF]: IntOption;
    [SO_SNDBUFFORCE]: WriteOnlyIntOption;
    [SO_RCVBUFFORCE]: WriteOnlyIntOption;
    [SO_KEEPALIVE]: IntOption;
    [SO_OOBINLINE]: IntOption;
    [SO_NO_CHECK]: IntOption;
    [SO_PRIORITY]: IntOption;
    [SO_LINGER]: StructOption<Linger, Linger>;
    [SO_BSDCOMPAT]: IntOption;
    [SO_REUSEPORT]: IntOption;
    [SO_PASSCRED]: IntOption;
    [SO_PEERCRED]: OptionType<Ucred, never>;
    [SO_RCVLOWAT]: IntOption;
    [SO_SNDLOWAT]: ReadOnlyIntOption;
    [SO_RCVTIMEO]: StructOption<Timeval, Timeval | number>;
    [SO_SNDTIMEO]: StructOption<Timeval, Timeval | number>;
    [SO_BINDTODEVICE]: StructOption<string, string>;
    [SO_BINDTOIFINDEX]: IntOption;
    /** Set: a classic BPF program. Read back as SO_GET_FILTER (the same number), as bytes. */
    [SO_ATTACH_FILTER]: OptionType<never, readonly BpfInstruction[] | ArrayBufferView>;
    /** Also SO_DETACH_BPF (the same number). */
    [SO_DETACH_FILTER]: WriteOnlyIntOption;
    [SO_LOCK_FILTER]: IntOption;
    [SO_PEERNAME]: ReadOnlyBytesOption;
    [SO_TIMESTAMP]: IntOption;
    [SO_TIMESTAMPNS]: IntOption;
    [SO_TIMESTAMPING]: IntOption;
    [SO_ACCEPTCONN]: ReadOnlyIntOption;
    [SO_PEERSEC]: ReadOnlyBytesOption;
    [SO_PASSSEC]: IntOption;
    [SO_MARK]: IntOption;
    [SO_PROTOCOL]: ReadOnlyIntOption;
    [SO_DOMAIN]: ReadOnlyIntOption;
    [SO_RXQ_OVFL]: IntOption;
    [SO_WIFI_STATUS]: IntOption;
    [SO_PEEK_OFF]: IntOption;
    [SO_NOFCS]: IntOption;
    [SO_BUSY_POLL]: IntOption;
    [SO_MAX_PACING_RATE]: IntOption;
    [SO_INCOMING_CPU]: IntOption;
    /** The fd of an eBPF program. */
    [SO_ATTACH_BPF]: WriteOnlyIntOption;
    [SO_ATTACH_REUSEPORT_CBPF]: OptionType<never, readonly BpfInstruction[] | ArrayBufferView>;
    /** The fd of an eBPF program. */
    [SO_ATTACH_REUSEPORT_EBPF]: WriteOnlyIntOption;
    [SO_CNX_ADVICE]: WriteOnlyIntOption;
    [SO_MEMINFO]: ReadOnlyBytesOption;
    [SO_INCOMING_NAPI_ID]: ReadOnlyIntOption;
    [SO_COOKIE]: ReadOnlyBytesOption;
    [SO_PEERGROUPS]: ReadOnlyBytesOption;
    [SO_ZEROCOPY]: IntOption;
    [SO_TXTIME]: BytesOption;
    [SO_PREFER_BUSY_POLL]: IntOption;
    [SO_BUSY_POLL_BUDGET]: WriteOnlyIntOption;
    [SO_NETNS_COOKIE]: ReadOnlyBytesOption;
    [SO_BUF_LOCK]: IntOption;
    [SO_RESERVE_MEM]: IntOption;
    [SO_TXREHASH]: IntOption;
    [SO_RCVMARK]: IntOption;
  };
  [IPPROTO_IP]: {
    [IP_TOS]: IntOption;
    [IP_TTL]: IntOption;
    [IP_HDRINCL]: IntOption;
    [IP_OPTIONS]: BytesOption;
    [IP_ROUTER_ALERT]: IntOption;
    [IP_RECVOPTS]: IntOption;
    [IP_RETOPTS]: IntOption;
    [IP_PKTINFO]: IntOption;
    [IP_PKTOPTIONS]: ReadOnlyBytesOption;
    [IP_MTU_DISCOVER]: IntOption;
    [IP_RECVERR]: IntOption;
    [IP_RECVTTL]: IntOption;
    [IP_RECVTOS]: IntOption;
    /** Connected sockets only: the path MTU. */
    [IP_MTU]: ReadOnlyIntOption;
    [IP_FREEBIND]: IntOption;
    [IP_IPSEC_POLICY]: BytesOption;
    [IP_XFRM_POLICY]: BytesOption;
    [IP_PASSSEC]: IntOption;
    [IP_TRANSPARENT]: IntOption;
    /** Also IP_ORIGDSTADDR (the same number). */
    [IP_RECVORIGDSTADDR]: IntOption;
    [IP_MINTTL]: IntOption;
    [IP_NODEFRAG]: IntOption;
    [IP_CHECKSUM]: IntOption;
    [IP_BIND_ADDRESS_NO_PORT]: IntOption;
    [IP_RECVFRAGSIZE]: IntOption;
    [IP_RECVERR_RFC4884]: IntOption;
    [IP_MULTICAST_IF]: StructOption<string, string | IpMulticastIf>;
    [IP_MULTICAST_TTL]: IntOption;
    [IP_MULTICAST_LOOP]: IntOption;
    [IP_ADD_MEMBERSHIP]: OptionType<never, IpMreqn | ArrayBufferView>;
    [IP_DROP_MEMBERSHIP]: OptionType<never, IpMreqn | ArrayBufferView>;
    [IP_UNBLOCK_SOURCE]: BytesOption;
    [IP_BLOCK_SOURCE]: BytesOption;
    [IP_ADD_SOURCE_MEMBERSHIP]: BytesOption;
    [IP_DROP_SOURCE_MEMBERSHIP]: BytesOption;
    [IP_MSFILTER]: BytesOption;
    [IP_MULTICAST_ALL]: IntOption;
    [IP_UNICAST_IF]: IntOption;
  };
  [IPPROTO_IPV6]: {
    /** Connected TCP/UDP sockets: the family to become (AF_INET for a v4-mapped peer). */
    [IPV6_ADDRFORM]: IntOption;
    [IPV6_2292PKTINFO]: IntOption;
    [IPV6_2292HOPOPTS]: IntOption;
    [IPV6_2292DSTOPTS]: IntOption;
    [IPV6_2292RTHDR]: IntOption;
    [IPV6_2292PKTOPTIONS]: BytesOption;
    /** Raw sockets only: the offset of the checksum to fill, or -1. */
    [IPV6_CHECKSUM]: IntOption;
    [IPV6_2292HOPLIMIT]: IntOption;
    [IPV6_NEXTHOP]: BytesOption;
    [IPV6_UNICAST_HOPS]: IntOption;
    /** The interface index. */
    [IPV6_MULTICAST_IF]: IntOption;
    [IPV6_MULTICAST_HOPS]: IntOption;
    [IPV6_MULTICAST_LOOP]: IntOption;
    /** Also IPV6_ADD_MEMBERSHIP (the same number). */
    [IPV6_JOIN_GROUP]: OptionType<never, Ipv6Mreq | ArrayBufferView>;
    /** Also IPV6_DROP_MEMBERSHIP (the same number). */
    [IPV6_LEAVE_GROUP]: OptionType<never, Ipv6Mreq | ArrayBufferView>;
    [IPV6_ROUTER_ALERT]: IntOption;
    [IPV6_MTU_DISCOVER]: IntOption;
    [IPV6_MTU]: IntOption;
    [IPV6_RECVERR]: IntOption;
    [IPV6_V6ONLY]: IntOption;
    [IPV6_JOIN_ANYCAST]: BytesOption;
    [IPV6_LEAVE_ANYCAST]: BytesOption;
    [IPV6_MULTICAST_ALL]: IntOption;
    [IPV6_ROUTER_ALERT_ISOLATE]: IntOption;
    [IPV6_RECVERR_RFC4884]: IntOption;
    [IPV6_IPSEC_POLICY]: BytesOption;
    [IPV6_XFRM_POLICY]: BytesOption;
    [IPV6_HDRINCL]: IntOption;
    [IPV6_RECVPKTINFO]: IntOption;
    /** Sticky `struct in6_pktinfo`, as bytes. */
    [IPV6_PKTINFO]: BytesOption;
    [IPV6_RECVHOPLIMIT]: IntOption;
    [IPV6_RECVHOPOPTS]: IntOption;
    [IPV6_HOPOPTS]: BytesOption;
    [IPV6_RTHDRDSTOPTS]: BytesOption;
    [IPV6_RECVRTHDR]: IntOption;
    [IPV6_RTHDR]: BytesOption;
    [IPV6_RECVDSTOPTS]: IntOption;
    [IPV6_DSTOPTS]: BytesOption;
    [IPV6_RECVPATHMTU]: IntOption;
    /** Connected sockets only: `struct ip6_mtuinfo`, as bytes. */
    [IPV6_PATHMTU]: ReadOnlyBytesOption;
    [IPV6_DONTFRAG]: IntOption;
    [IPV6_RECVTCLASS]: IntOption;
    [IPV6_TCLASS]: IntOption;
    [IPV6_AUTOFLOWLABEL]: IntOption;
    [IPV6_ADDR_PREFERENCES]: IntOption;
    [IPV6_MINHOPCOUNT]: IntOption;
    /** Also IPV6_ORIGDSTADDR (the same number). */
    [IPV6_RECVORIGDSTADDR]: IntOption;
    [IPV6_TRANSPARENT]: IntOption;
    [IPV6_UNICAST_IF]: IntOption;
    [IPV6_RECVFRAGSIZE]: IntOption;
    [IPV6_FREEBIND]: IntOption;
  };
  [IPPROTO_TCP]: {
    [TCP_NODELAY]: IntOption;
    [TCP_MAXSEG]: IntOption;
    [TCP_CORK]: IntOption;
    [TCP_KEEPIDLE]: IntOption;
    [TCP_KEEPINTVL]: IntOption;
    [TCP_KEEPCNT]: IntOption;
    [TCP_SYNCNT]: IntOption;
    [TCP_LINGER2]: IntOption;
    [TCP_DEFER_ACCEPT]: IntOption;
    [TCP_WINDOW_CLAMP]: IntOption;
    [TCP_INFO]: OptionType<TcpInfo, never>;
    [TCP_QUICKACK]: IntOption;
    [TCP_CONGESTION]: StructOption<string, string>;
    [TCP_MD5SIG]: BytesOption;
    [TCP_THIN_LINEAR_TIMEOUTS]: IntOption;
    [TCP_THIN_DUPACK]: IntOption;
    [TCP_USER_TIMEOUT]: IntOption;
    [TCP_REPAIR]: IntOption;
    /** In repair mode (TCP_REPAIR) only. */
    [TCP_REPAIR_QUEUE]: IntOption;
    /** In repair mode (TCP_REPAIR) only. */
    [TCP_QUEUE_SEQ]: IntOption;
    [TCP_REPAIR_OPTIONS]: BytesOption;
    [TCP_FASTOPEN]: IntOption;
    [TCP_TIMESTAMP]: IntOption;
    [TCP_NOTSENT_LOWAT]: IntOption;
    [TCP_CC_INFO]: ReadOnlyBytesOption;
    [TCP_SAVE_SYN]: IntOption;
    [TCP_SAVED_SYN]: ReadOnlyBytesOption;
    [TCP_REPAIR_WINDOW]: BytesOption;
    [TCP_FASTOPEN_CONNECT]: IntOption;
    /** The upper layer protocol's name (`'tls'`), as bytes: `Buffer.from('tls')`. */
    [TCP_ULP]: BytesOption;
    [TCP_MD5SIG_EXT]: BytesOption;
    [TCP_FASTOPEN_KEY]: BytesOption;
    [TCP_FASTOPEN_NO_COOKIE]: IntOption;
    [TCP_ZEROCOPY_RECEIVE]: ReadOnlyBytesOption;
    [TCP_INQ]: IntOption;
    [TCP_TX_DELAY]: IntOption;
  };
  [IPPROTO_UDP]: {
    [UDP_CORK]: IntOption;
    [UDP_ENCAP]: IntOption;
    [UDP_NO_CHECK6_TX]: IntOption;
    [UDP_NO_CHECK6_RX]: IntOption;
    [UDP_SEGMENT]: IntOption;
    [UDP_GRO]: IntOption;
  };
  [SOL_PACKET]: {
    [PACKET_ADD_MEMBERSHIP]: OptionType<never, PacketMreq | ArrayBufferView>;
    [PACKET_DROP_MEMBERSHIP]: OptionType<never, PacketMreq | ArrayBufferView>;
    [PACKET_RX_RING]: BytesOption;
    [PACKET_STATISTICS]: ReadOnlyBytesOption;
    [PACKET_COPY_THRESH]: IntOption;
    [PACKET_AUXDATA]: IntOption;
    [PACKET_ORIGDEV]: IntOption;
    [PACKET_VERSION]: IntOption;
    /** The header length of the TPACKET version in the int passed in (0 for TPACKET_V1 when read plainly). */
    [PACKET_HDRLEN]: ReadOnlyIntOption;
    [PACKET_RESERVE]: IntOption;
    [PACKET_TX_RING]: BytesOption;
    [PACKET_LOSS]: IntOption;
    [PACKET_VNET_HDR]: IntOption;
    [PACKET_TIMESTAMP]: IntOption;
    [PACKET_FANOUT]: IntOption;
    [PACKET_TX_HAS_OFF]: IntOption;
    [PACKET_QDISC_BYPASS]: IntOption;
    [PACKET_ROLLOVER_STATS]: ReadOnlyBytesOption;
    [PACKET_FANOUT_DATA]: BytesOption;
    [PACKET_IGNORE_OUTGOING]: IntOption;
  };
}

type Options = SocketOptionTypes;

/** The entry of a (level, name) pair: an int option for a pair not listed. */
type Entry<L, N> = L extends keyof Options ? (N extends keyof Options[L] ? Options[L][N] : IntOption) : IntOption;

/** Every entry of the table, as a union. */
type AnyEntry = { [L in keyof Options]: Options[L][keyof Options[L]] }[keyof Options] | IntOption;

/** True when a level or name is only known at run time (`number`), not a literal. */
type Wide<L extends number, N extends number> = number extends L ? true : number extends N ? true : false;

/** Any value getsockopt(fd, level, name) returns for some option. */
export type AnySockOptGet = AnyEntry['get'];
/** Any value setsockopt takes for some option. */
export type AnySockOptSet = AnyEntry['set'];

/**
 * What `getsockopt(fd, level, name)` returns for the option (level, name): `number` for an int
 * option, the decoded struct for a structured one, and for a level or name typed `number` the union of
 * them all.
 */
export type SockOptGet<L extends number, N extends number> =
  Wide<L, N> extends true ? AnySockOptGet : Entry<L, N> extends OptionType<infer G, unknown> ? G : never;

/** What `setsockopt(fd, level, name, value)` takes for the option (level, name). */
export type SockOptSet<L extends number, N extends number> =
  Wide<L, N> extends true ? AnySockOptSet : Entry<L, N> extends OptionType<unknown, infer S> ? S : never;

/**
 * The option name `getsockopt(fd, level, name)` accepts: any name but one whose value it cannot give
 * (the error shows this type's text, saying what to do instead).
 */
export type ReadableName<L extends number, N extends number> = [SockOptGet<L, N>] extends [never]
  ? 'this option has no value that getsockopt(fd, level, name) decodes: read its bytes with getsockopt(fd, level, name, buflen)'
  : N;

/** The option name `setsockopt` accepts: any name but one the kernel only reports. */
export type WritableName<L extends number, N extends number> = [SockOptSet<L, N>] extends [never]
  ? 'this option can only be read (getsockopt)'
  : N;
