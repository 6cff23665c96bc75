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
import type * as C from './constants.generated.js';
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
  [C.SOL_SOCKET]: {
    [C.SO_DEBUG]: IntOption;
    [C.SO_REUSEADDR]: IntOption;
    [C.SO_TYPE]: ReadOnlyIntOption;
    [C.SO_ERROR]: ReadOnlyIntOption;
    [C.SO_DONTROUTE]: IntOption;
    [C.SO_BROADCAST]: IntOption;
    [C.SO_SNDBUF]: IntOption;
    [C.SO_RCVBUF]: IntOption;
    [C.SO_SNDBUFFORCE]: WriteOnlyIntOption;
    [C.SO_RCVBUFFORCE]: WriteOnlyIntOption;
    [C.SO_KEEPALIVE]: IntOption;
    [C.SO_OOBINLINE]: IntOption;
    [C.SO_NO_CHECK]: IntOption;
    [C.SO_PRIORITY]: IntOption;
    [C.SO_LINGER]: StructOption<Linger, Linger>;
    [C.SO_BSDCOMPAT]: IntOption;
    [C.SO_REUSEPORT]: IntOption;
    [C.SO_PASSCRED]: IntOption;
    [C.SO_PEERCRED]: OptionType<Ucred, never>;
    [C.SO_RCVLOWAT]: IntOption;
    [C.SO_SNDLOWAT]: ReadOnlyIntOption;
    [C.SO_RCVTIMEO]: StructOption<Timeval, Timeval | number>;
    [C.SO_SNDTIMEO]: StructOption<Timeval, Timeval | number>;
    [C.SO_BINDTODEVICE]: StructOption<string, string>;
    [C.SO_BINDTOIFINDEX]: IntOption;
    /** Set: a classic BPF program. Read back as SO_GET_FILTER (the same number), as bytes. */
    [C.SO_ATTACH_FILTER]: OptionType<never, readonly BpfInstruction[] | ArrayBufferView>;
    /** Also SO_DETACH_BPF (the same number). */
    [C.SO_DETACH_FILTER]: WriteOnlyIntOption;
    [C.SO_LOCK_FILTER]: IntOption;
    [C.SO_PEERNAME]: ReadOnlyBytesOption;
    [C.SO_TIMESTAMP]: IntOption;
    [C.SO_TIMESTAMPNS]: IntOption;
    [C.SO_TIMESTAMPING]: IntOption;
    [C.SO_ACCEPTCONN]: ReadOnlyIntOption;
    [C.SO_PEERSEC]: ReadOnlyBytesOption;
    [C.SO_PASSSEC]: IntOption;
    [C.SO_MARK]: IntOption;
    [C.SO_PROTOCOL]: ReadOnlyIntOption;
    [C.SO_DOMAIN]: ReadOnlyIntOption;
    [C.SO_RXQ_OVFL]: IntOption;
    [C.SO_WIFI_STATUS]: IntOption;
    [C.SO_PEEK_OFF]: IntOption;
    [C.SO_NOFCS]: IntOption;
    [C.SO_BUSY_POLL]: IntOption;
    [C.SO_MAX_PACING_RATE]: IntOption;
    [C.SO_INCOMING_CPU]: IntOption;
    /** The fd of an eBPF program. */
    [C.SO_ATTACH_BPF]: WriteOnlyIntOption;
    [C.SO_ATTACH_REUSEPORT_CBPF]: OptionType<never, readonly BpfInstruction[] | ArrayBufferView>;
    /** The fd of an eBPF program. */
    [C.SO_ATTACH_REUSEPORT_EBPF]: WriteOnlyIntOption;
    [C.SO_CNX_ADVICE]: WriteOnlyIntOption;
    [C.SO_MEMINFO]: ReadOnlyBytesOption;
    [C.SO_INCOMING_NAPI_ID]: ReadOnlyIntOption;
    [C.SO_COOKIE]: ReadOnlyBytesOption;
    [C.SO_PEERGROUPS]: ReadOnlyBytesOption;
    [C.SO_ZEROCOPY]: IntOption;
    [C.SO_TXTIME]: BytesOption;
    [C.SO_PREFER_BUSY_POLL]: IntOption;
    [C.SO_BUSY_POLL_BUDGET]: WriteOnlyIntOption;
    [C.SO_NETNS_COOKIE]: ReadOnlyBytesOption;
    [C.SO_BUF_LOCK]: IntOption;
    [C.SO_RESERVE_MEM]: IntOption;
    [C.SO_TXREHASH]: IntOption;
    [C.SO_RCVMARK]: IntOption;
  };
  [C.IPPROTO_IP]: {
    [C.IP_TOS]: IntOption;
    [C.IP_TTL]: IntOption;
    [C.IP_HDRINCL]: IntOption;
    [C.IP_OPTIONS]: BytesOption;
    [C.IP_ROUTER_ALERT]: IntOption;
    [C.IP_RECVOPTS]: IntOption;
    [C.IP_RETOPTS]: IntOption;
    [C.IP_PKTINFO]: IntOption;
    [C.IP_PKTOPTIONS]: ReadOnlyBytesOption;
    [C.IP_MTU_DISCOVER]: IntOption;
    [C.IP_RECVERR]: IntOption;
    [C.IP_RECVTTL]: IntOption;
    [C.IP_RECVTOS]: IntOption;
    /** Connected sockets only: the path MTU. */
    [C.IP_MTU]: ReadOnlyIntOption;
    [C.IP_FREEBIND]: IntOption;
    [C.IP_IPSEC_POLICY]: BytesOption;
    [C.IP_XFRM_POLICY]: BytesOption;
    [C.IP_PASSSEC]: IntOption;
    [C.IP_TRANSPARENT]: IntOption;
    /** Also IP_ORIGDSTADDR (the same number). */
    [C.IP_RECVORIGDSTADDR]: IntOption;
    [C.IP_MINTTL]: IntOption;
    [C.IP_NODEFRAG]: IntOption;
    [C.IP_CHECKSUM]: IntOption;
    [C.IP_BIND_ADDRESS_NO_PORT]: IntOption;
    [C.IP_RECVFRAGSIZE]: IntOption;
    [C.IP_RECVERR_RFC4884]: IntOption;
    [C.IP_MULTICAST_IF]: StructOption<string, string | IpMulticastIf>;
    [C.IP_MULTICAST_TTL]: IntOption;
    [C.IP_MULTICAST_LOOP]: IntOption;
    [C.IP_ADD_MEMBERSHIP]: OptionType<never, IpMreqn | ArrayBufferView>;
    [C.IP_DROP_MEMBERSHIP]: OptionType<never, IpMreqn | ArrayBufferView>;
    [C.IP_UNBLOCK_SOURCE]: BytesOption;
    [C.IP_BLOCK_SOURCE]: BytesOption;
    [C.IP_ADD_SOURCE_MEMBERSHIP]: BytesOption;
    [C.IP_DROP_SOURCE_MEMBERSHIP]: BytesOption;
    [C.IP_MSFILTER]: BytesOption;
    [C.IP_MULTICAST_ALL]: IntOption;
    [C.IP_UNICAST_IF]: IntOption;
  };
  [C.IPPROTO_IPV6]: {
    /** Connected TCP/UDP sockets: the family to become (AF_INET for a v4-mapped peer). */
    [C.IPV6_ADDRFORM]: IntOption;
    [C.IPV6_2292PKTINFO]: IntOption;
    [C.IPV6_2292HOPOPTS]: IntOption;
    [C.IPV6_2292DSTOPTS]: IntOption;
    [C.IPV6_2292RTHDR]: IntOption;
    [C.IPV6_2292PKTOPTIONS]: BytesOption;
    /** Raw sockets only: the offset of the checksum to fill, or -1. */
    [C.IPV6_CHECKSUM]: IntOption;
    [C.IPV6_2292HOPLIMIT]: IntOption;
    [C.IPV6_NEXTHOP]: BytesOption;
    [C.IPV6_UNICAST_HOPS]: IntOption;
    /** The interface index. */
    [C.IPV6_MULTICAST_IF]: IntOption;
    [C.IPV6_MULTICAST_HOPS]: IntOption;
    [C.IPV6_MULTICAST_LOOP]: IntOption;
    /** Also IPV6_ADD_MEMBERSHIP (the same number). */
    [C.IPV6_JOIN_GROUP]: OptionType<never, Ipv6Mreq | ArrayBufferView>;
    /** Also IPV6_DROP_MEMBERSHIP (the same number). */
    [C.IPV6_LEAVE_GROUP]: OptionType<never, Ipv6Mreq | ArrayBufferView>;
    [C.IPV6_ROUTER_ALERT]: IntOption;
    [C.IPV6_MTU_DISCOVER]: IntOption;
    [C.IPV6_MTU]: IntOption;
    [C.IPV6_RECVERR]: IntOption;
    [C.IPV6_V6ONLY]: IntOption;
    [C.IPV6_JOIN_ANYCAST]: BytesOption;
    [C.IPV6_LEAVE_ANYCAST]: BytesOption;
    [C.IPV6_MULTICAST_ALL]: IntOption;
    [C.IPV6_ROUTER_ALERT_ISOLATE]: IntOption;
    [C.IPV6_RECVERR_RFC4884]: IntOption;
    [C.IPV6_IPSEC_POLICY]: BytesOption;
    [C.IPV6_XFRM_POLICY]: BytesOption;
    [C.IPV6_HDRINCL]: IntOption;
    [C.IPV6_RECVPKTINFO]: IntOption;
    /** Sticky `struct in6_pktinfo`, as bytes. */
    [C.IPV6_PKTINFO]: BytesOption;
    [C.IPV6_RECVHOPLIMIT]: IntOption;
    [C.IPV6_RECVHOPOPTS]: IntOption;
    [C.IPV6_HOPOPTS]: BytesOption;
    [C.IPV6_RTHDRDSTOPTS]: BytesOption;
    [C.IPV6_RECVRTHDR]: IntOption;
    [C.IPV6_RTHDR]: BytesOption;
    [C.IPV6_RECVDSTOPTS]: IntOption;
    [C.IPV6_DSTOPTS]: BytesOption;
    [C.IPV6_RECVPATHMTU]: IntOption;
    /** Connected sockets only: `struct ip6_mtuinfo`, as bytes. */
    [C.IPV6_PATHMTU]: ReadOnlyBytesOption;
    [C.IPV6_DONTFRAG]: IntOption;
    [C.IPV6_RECVTCLASS]: IntOption;
    [C.IPV6_TCLASS]: IntOption;
    [C.IPV6_AUTOFLOWLABEL]: IntOption;
    [C.IPV6_ADDR_PREFERENCES]: IntOption;
    [C.IPV6_MINHOPCOUNT]: IntOption;
    /** Also IPV6_ORIGDSTADDR (the same number). */
    [C.IPV6_RECVORIGDSTADDR]: IntOption;
    [C.IPV6_TRANSPARENT]: IntOption;
    [C.IPV6_UNICAST_IF]: IntOption;
    [C.IPV6_RECVFRAGSIZE]: IntOption;
    [C.IPV6_FREEBIND]: IntOption;
  };
  [C.IPPROTO_TCP]: {
    [C.TCP_NODELAY]: IntOption;
    [C.TCP_MAXSEG]: IntOption;
    [C.TCP_CORK]: IntOption;
    [C.TCP_KEEPIDLE]: IntOption;
    [C.TCP_KEEPINTVL]: IntOption;
    [C.TCP_KEEPCNT]: IntOption;
    [C.TCP_SYNCNT]: IntOption;
    [C.TCP_LINGER2]: IntOption;
    [C.TCP_DEFER_ACCEPT]: IntOption;
    [C.TCP_WINDOW_CLAMP]: IntOption;
    [C.TCP_INFO]: OptionType<TcpInfo, never>;
    [C.TCP_QUICKACK]: IntOption;
    [C.TCP_CONGESTION]: StructOption<string, string>;
    [C.TCP_MD5SIG]: BytesOption;
    [C.TCP_THIN_LINEAR_TIMEOUTS]: IntOption;
    [C.TCP_THIN_DUPACK]: IntOption;
    [C.TCP_USER_TIMEOUT]: IntOption;
    [C.TCP_REPAIR]: IntOption;
    /** In repair mode (TCP_REPAIR) only. */
    [C.TCP_REPAIR_QUEUE]: IntOption;
    /** In repair mode (TCP_REPAIR) only. */
    [C.TCP_QUEUE_SEQ]: IntOption;
    [C.TCP_REPAIR_OPTIONS]: BytesOption;
    [C.TCP_FASTOPEN]: IntOption;
    [C.TCP_TIMESTAMP]: IntOption;
    [C.TCP_NOTSENT_LOWAT]: IntOption;
    [C.TCP_CC_INFO]: ReadOnlyBytesOption;
    [C.TCP_SAVE_SYN]: IntOption;
    [C.TCP_SAVED_SYN]: ReadOnlyBytesOption;
    [C.TCP_REPAIR_WINDOW]: BytesOption;
    [C.TCP_FASTOPEN_CONNECT]: IntOption;
    /** The upper layer protocol's name (`'tls'`), as bytes: `Buffer.from('tls')`. */
    [C.TCP_ULP]: BytesOption;
    [C.TCP_MD5SIG_EXT]: BytesOption;
    [C.TCP_FASTOPEN_KEY]: BytesOption;
    [C.TCP_FASTOPEN_NO_COOKIE]: IntOption;
    [C.TCP_ZEROCOPY_RECEIVE]: ReadOnlyBytesOption;
    [C.TCP_INQ]: IntOption;
    [C.TCP_TX_DELAY]: IntOption;
  };
  [C.IPPROTO_UDP]: {
    [C.UDP_CORK]: IntOption;
    [C.UDP_ENCAP]: IntOption;
    [C.UDP_NO_CHECK6_TX]: IntOption;
    [C.UDP_NO_CHECK6_RX]: IntOption;
    [C.UDP_SEGMENT]: IntOption;
    [C.UDP_GRO]: IntOption;
  };
  [C.SOL_PACKET]: {
    [C.PACKET_ADD_MEMBERSHIP]: OptionType<never, PacketMreq | ArrayBufferView>;
    [C.PACKET_DROP_MEMBERSHIP]: OptionType<never, PacketMreq | ArrayBufferView>;
    [C.PACKET_RX_RING]: BytesOption;
    [C.PACKET_STATISTICS]: ReadOnlyBytesOption;
    [C.PACKET_COPY_THRESH]: IntOption;
    [C.PACKET_AUXDATA]: IntOption;
    [C.PACKET_ORIGDEV]: IntOption;
    [C.PACKET_VERSION]: IntOption;
    /** The header length of the TPACKET version in the int passed in (0 for TPACKET_V1 when read plainly). */
    [C.PACKET_HDRLEN]: ReadOnlyIntOption;
    [C.PACKET_RESERVE]: IntOption;
    [C.PACKET_TX_RING]: BytesOption;
    [C.PACKET_LOSS]: IntOption;
    [C.PACKET_VNET_HDR]: IntOption;
    [C.PACKET_TIMESTAMP]: IntOption;
    [C.PACKET_FANOUT]: IntOption;
    [C.PACKET_TX_HAS_OFF]: IntOption;
    [C.PACKET_QDISC_BYPASS]: IntOption;
    [C.PACKET_ROLLOVER_STATS]: ReadOnlyBytesOption;
    [C.PACKET_FANOUT_DATA]: BytesOption;
    [C.PACKET_IGNORE_OUTGOING]: IntOption;
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
