/**
 * The types of control messages (ancillary data): what recvmsg returns, a union discriminated by
 * (level, type), and what sendmsg takes. Types only; the codecs are in src/cmsg.ts.
 * @packageDocumentation
 */
import type {
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_PKTINFO,
  IPV6_RECVERR,
  IPV6_TCLASS,
  IP_PKTINFO,
  IP_RECVERR,
  IP_TOS,
  IP_TTL,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SCM_TIMESTAMP,
  SCM_TIMESTAMPING,
  SCM_TIMESTAMPNS,
  SOL_SOCKET,
} from './constants.generated.js';
import type { Below } from './numbers.js';
import type { SockAddr } from './sockaddr.js';

/** What every received control message carries: its level, its type and its raw bytes. */
export interface ReceivedControl<L extends number, T extends number> {
  level: L;
  type: T;
  /** The item's bytes, as the kernel delivered them (the decoded fields come from these). */
  data: Buffer;
}

/** SCM_RIGHTS: fds passed over a unix socket (received ones are close-on-exec, and yours to close). */
export interface ScmRights extends ReceivedControl<typeof SOL_SOCKET, typeof SCM_RIGHTS> {
  fds: number[];
}

/** SCM_CREDENTIALS (`struct ucred`, with SO_PASSCRED): the sending process. */
export interface ScmCredentials extends ReceivedControl<typeof SOL_SOCKET, typeof SCM_CREDENTIALS> {
  pid: number;
  uid: number;
  gid: number;
}

/** A kernel timestamp: seconds and nanoseconds (each exact: far below 2^53). */
export interface Timestamp {
  /** Seconds since the epoch. */
  sec: number;
  /** Nanoseconds, 0 to 999,999,999. */
  nsec: number;
}

/** SCM_TIMESTAMPNS (with SO_TIMESTAMPNS): when the datagram arrived. */
export interface ScmTimestampNs extends ReceivedControl<typeof SOL_SOCKET, typeof SCM_TIMESTAMPNS>, Timestamp {}

/** SCM_TIMESTAMP (with SO_TIMESTAMP): when the datagram arrived, in µs (given × 1000 as `nsec`). */
export interface ScmTimestamp extends ReceivedControl<typeof SOL_SOCKET, typeof SCM_TIMESTAMP>, Timestamp {}

/** SCM_TIMESTAMPING (with SO_TIMESTAMPING): the software, (legacy) and hardware timestamps. */
export interface ScmTimestamping extends ReceivedControl<typeof SOL_SOCKET, typeof SCM_TIMESTAMPING> {
  timestamps: Timestamp[];
}

/** IP_PKTINFO (with IP_PKTINFO set): where a received IPv4 datagram went. */
export interface IpPktinfo extends ReceivedControl<typeof IPPROTO_IP, typeof IP_PKTINFO> {
  /** The interface index. */
  ifindex: number;
  /** The local address the route chose (`ipi_spec_dst`). */
  specDst: string;
  /** The datagram's destination address (`ipi_addr`). */
  addr: string;
}

/** IPV6_PKTINFO (with IPV6_RECVPKTINFO): where a received IPv6 datagram went. */
export interface Ipv6Pktinfo extends ReceivedControl<typeof IPPROTO_IPV6, typeof IPV6_PKTINFO> {
  /** The datagram's destination address. */
  addr: string;
  /** The interface index. */
  ifindex: number;
}

/** An int-valued item: IP_TTL, IP_TOS, IPV6_HOPLIMIT, IPV6_TCLASS. */
export interface IntControl<L extends number, T extends number> extends ReceivedControl<L, T> {
  value: number;
}
/** IP_TTL (with IP_RECVTTL): the datagram's TTL. */
export type IpTtl = IntControl<typeof IPPROTO_IP, typeof IP_TTL>;
/** IP_TOS (with IP_RECVTOS): the datagram's TOS byte. */
export type IpTos = IntControl<typeof IPPROTO_IP, typeof IP_TOS>;
/** IPV6_HOPLIMIT (with IPV6_RECVHOPLIMIT): the datagram's hop limit. */
export type Ipv6HopLimit = IntControl<typeof IPPROTO_IPV6, typeof IPV6_HOPLIMIT>;
/** IPV6_TCLASS (with IPV6_RECVTCLASS): the datagram's traffic class. */
export type Ipv6Tclass = IntControl<typeof IPPROTO_IPV6, typeof IPV6_TCLASS>;

/** A queued error (IP_RECVERR / IPV6_RECVERR, read with MSG_ERRQUEUE). */
export interface RecvErrControl<L extends number, T extends number> extends ReceivedControl<L, T> {
  error: ExtendedError;
}
/** IP_RECVERR (with IP_RECVERR set, read with MSG_ERRQUEUE). */
export type IpRecvErr = RecvErrControl<typeof IPPROTO_IP, typeof IP_RECVERR>;
/** IPV6_RECVERR (with IPV6_RECVERR set, read with MSG_ERRQUEUE). */
export type Ipv6RecvErr = RecvErrControl<typeof IPPROTO_IPV6, typeof IPV6_RECVERR>;

type SocketTypes = typeof SCM_RIGHTS | typeof SCM_CREDENTIALS | typeof SCM_TIMESTAMP | typeof SCM_TIMESTAMPNS | typeof SCM_TIMESTAMPING;
type IpTypes = typeof IP_PKTINFO | typeof IP_TTL | typeof IP_TOS | typeof IP_RECVERR;
type Ipv6Types = typeof IPV6_PKTINFO | typeof IPV6_HOPLIMIT | typeof IPV6_TCLASS | typeof IPV6_RECVERR;

/**
 * A control message sockfd does not decode: its level and type, and its bytes. The level and type are
 * typed to exclude the decoded pairs (types below 256 at SOL_SOCKET, IPPROTO_IP and IPPROTO_IPV6, whose
 * types are option numbers; levels below 512 otherwise), so that checking `level` and `type` narrows a
 * {@link ControlMessage} to the decoded variant.
 */
export type OtherControl =
  | ReceivedControl<typeof SOL_SOCKET, Exclude<Below<256>, SocketTypes>>
  | ReceivedControl<typeof IPPROTO_IP, Exclude<Below<256>, IpTypes>>
  | ReceivedControl<typeof IPPROTO_IPV6, Exclude<Below<256>, Ipv6Types>>
  | ReceivedControl<Exclude<Below<512>, typeof SOL_SOCKET | typeof IPPROTO_IP | typeof IPPROTO_IPV6>, number>;

/**
 * A received control message, discriminated by (`level`, `type`): the decoded ones carry their fields
 * (and all their raw `data`), any other is {@link OtherControl}. Each decoded (level, type) pair is a
 * variant of its own, so a check of both narrows, in an `if` as in a `find` callback.
 * @example
 * for (const c of recvmsg(fd, [buf], { controlLength: 64 }).control) {
 *   if (c.level === SOL_SOCKET && c.type === SCM_RIGHTS) fds.push(...c.fds);
 * }
 */
export type ControlMessage =
  | ScmRights
  | ScmCredentials
  | ScmTimestamp
  | ScmTimestampNs
  | ScmTimestamping
  | IpPktinfo
  | Ipv6Pktinfo
  | IpTtl
  | IpTos
  | Ipv6HopLimit
  | Ipv6Tclass
  | IpRecvErr
  | Ipv6RecvErr
  | OtherControl;

/**
 * The received variant of (level `L`, type `T`): `ControlMessageOf<typeof SOL_SOCKET, typeof SCM_RIGHTS>`
 * is {@link ScmRights}; a pair sockfd does not decode gives {@link OtherControl}'s member for it, and a
 * level or type typed `number` gives the whole {@link ControlMessage} union.
 */
export type ControlMessageOf<L extends number, T extends number> = number extends L | T
  ? ControlMessage
  : ControlMessage extends infer C
    ? C extends ControlMessage
      ? L extends C['level']
        ? T extends C['type']
          ? C
          : never
        : never
      : never
    : never;

/** The fields of control messages sockfd encodes; a raw item (with `data`) takes none of them. */
type FieldNames = 'fds' | 'pid' | 'uid' | 'gid' | 'ifindex' | 'specDst' | 'addr' | 'value';
type NoFields<Except extends FieldNames = never> = { [K in Exclude<FieldNames, Except>]?: never } & { data?: never };

/**
 * A control message to send (`sendmsg`'s `control`): one sockfd encodes from its fields, or any
 * (level, type) as raw bytes in `data`. A field of another item, or both `data` and fields, is refused.
 * @example
 * sendmsg(fd, [buf], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [passed] }] });
 */
export type ControlMessageInit =
  | ({ level: typeof SOL_SOCKET; type: typeof SCM_RIGHTS; fds: readonly number[] } & NoFields<'fds'>)
  | ({ level: typeof SOL_SOCKET; type: typeof SCM_CREDENTIALS; pid: number; uid: number; gid: number } & NoFields<'pid' | 'uid' | 'gid'>)
  | ({ level: typeof IPPROTO_IP; type: typeof IP_PKTINFO; ifindex?: number; specDst?: string; addr?: string } & NoFields<'ifindex' | 'specDst' | 'addr'>)
  | ({ level: typeof IPPROTO_IPV6; type: typeof IPV6_PKTINFO; addr?: string; ifindex?: number } & NoFields<'addr' | 'ifindex'>)
  | ({ level: typeof IPPROTO_IP; type: typeof IP_TTL | typeof IP_TOS; value: number } & NoFields<'value'>)
  | ({ level: typeof IPPROTO_IPV6; type: typeof IPV6_HOPLIMIT | typeof IPV6_TCLASS; value: number } & NoFields<'value'>)
  | ({ level: number; type: number; data: ArrayBufferView } & { [K in FieldNames]?: never });

/** `struct sock_extended_err` and its offender address (IP_RECVERR / IPV6_RECVERR with MSG_ERRQUEUE). */
export interface ExtendedError {
  /** The error number (positive, as in C): ECONNREFUSED for a port unreachable, EMSGSIZE, ... */
  errno: number;
  /** SO_EE_ORIGIN_*: 0 none, 1 local, 2 ICMP, 3 ICMPv6, 4 TXSTATUS, 5 ZEROCOPY, 6 TXTIME. */
  origin: number;
  /** The ICMP type, for ICMP origins. */
  type: number;
  /** The ICMP code, for ICMP origins. */
  code: number;
  info: number;
  data: number;
  /** The address of the node that reported the error (SO_EE_OFFENDER), or null. */
  offender: SockAddr | null;
}
