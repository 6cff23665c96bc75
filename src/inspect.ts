/**
 * Inspection: the kernel's view of one socket fd, gathered with the same calls a C programmer
 * would make (getsockopt, getsockname, getpeername, fcntl, ioctl, and TCP_INFO for TCP), and
 * named the way `ss` and the C headers name things.
 * @packageDocumentation
 */
import { readlinkSync } from 'node:fs';
import { getsockname, getpeername } from './connection.js';
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  FD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_V6ONLY,
  O_NONBLOCK,
  SIOCINQ,
  SIOCOUTQ,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_MEMINFO,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_TYPE,
  TCP_CONGESTION,
  TCP_INFO,
} from './constants.generated.js';
import { constantName } from './constants.js';
import { SystemError } from './errors.js';
import type { TcpInfo } from './optcodecs.js';
import type { SockAddr } from './sockaddr.js';
import { fcntl, ioctl } from './socket.js';
import { getsockopt } from './sockopt.js';
import { SK_MEMINFO_BYTES, decodeSkMemInfo, type SkMemInfo } from './skmem.js';
import type { SocketEntry } from './diagtypes.js';
import { synQueueOf } from './sockdiag.js';
import type { SockAddrIn, SockAddrIn6 } from './sockaddr.js';

/** The TCP part of {@link SocketInfo}: present for `AF_INET`/`AF_INET6` `SOCK_STREAM` sockets of `IPPROTO_TCP`. */
export interface TcpSocketInfo {
  /** `tcpi_state`: the kernel's TCP state number (1 ESTABLISHED, 2 SYN_SENT, ..., 10 LISTEN). */
  state: number;
  /**
   * The state as the kernel names it: 'LISTEN', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2',
   * 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING', or 'CLOSE' (never connected, or the connection is over:
   * a socket whose connection went on to TIME_WAIT shows 'CLOSE' here, because the kernel hands
   * TIME_WAIT to a separate, fd-less mini-socket). `ss` writes the same states as ESTAB,
   * FIN-WAIT-1, ... and does not list 'CLOSE' sockets at all.
   */
  stateName: TcpInfo['stateName'];
  /**
   * Listening sockets only: connections completed by the kernel and waiting for `accept`
   * (`tcpi_unacked`; `ss` shows it as Recv-Q). The kernel queues up to `backlog + 1` of them; a
   * SYN that arrives while the queue is full is dropped, so the client stays in SYN_SENT and
   * retransmits it.
   */
  acceptQueue?: number;
  /**
   * Listening sockets only: the backlog given to `listen`, capped at `net.core.somaxconn`
   * (`tcpi_sacked`; `ss` shows it as Send-Q).
   */
  backlog?: number;
  /** The whole of TCP_INFO, decoded (see {@link TcpInfo}). */
  info: TcpInfo;
  /** `TCP_CONGESTION`: the congestion control algorithm ('cubic', 'bbr', 'reno', ...). */
  congestion: string;
  /**
   * Listening sockets only: the half-open connections, SYN_RECV request sockets the kernel holds for
   * this listener now (SYN received, SYN-ACK sent, the client's ACK not yet in), as {@link listSockets}
   * lists them: `peer` is who each is from, `timer.retransmits` the SYN-ACKs resent so far. Read
   * through sock_diag (one NETLINK_SOCK_DIAG dump of the listener's family, matched on its address and
   * port); null when that could not be asked (no fd left for the netlink socket, say).
   *
   * The kernel keeps up to `backlog` of them; a SYN beyond that is answered with a SYN cookie (no request
   * socket kept) while `net.ipv4.tcp_syncookies` is 1, or dropped when it is 0, and with syncookies off
   * a SYN is also dropped once fewer than a quarter of `net.ipv4.tcp_max_syn_backlog` remains free.
   * Listeners sharing the port through SO_REUSEPORT are not told apart.
   */
  synQueue?: SocketEntry[] | null;
}

/** What {@link inspect} returns: one socket as the kernel sees it. */
export interface SocketInfo {
  /** The fd that was inspected. */
  fd: number;
  /** `SO_DOMAIN`: the address family, e.g. 2. */
  family: number;
  /** The family's C name, e.g. 'AF_INET' (undefined for a family sockfd has no name for). */
  familyName: string | undefined;
  /** `SO_TYPE`: SOCK_STREAM, SOCK_DGRAM, ... (without SOCK_NONBLOCK/SOCK_CLOEXEC: see the flags below). */
  type: number;
  /** The type's C name, e.g. 'SOCK_STREAM'. */
  typeName: string | undefined;
  /**
   * `SO_PROTOCOL`: the protocol the kernel chose, e.g. 6 for a TCP socket created with protocol 0.
   * For AF_PACKET it is the Ethernet protocol in network byte order, as given to `socket`.
   */
  protocol: number;
  /**
   * The protocol's C name within its family: 'IPPROTO_TCP' for AF_INET/AF_INET6, 'ETH_P_ALL' for
   * AF_PACKET, 'NETLINK_ROUTE' for AF_NETLINK; null where the family has no protocol numbers
   * (AF_UNIX's 0) or sockfd has no name for it.
   */
  protocolName: string | null;
  /** `getsockname`: the local address (port 0 / unnamed path while unbound). */
  local: SockAddr;
  /**
   * `getpeername`: the peer's address, or null when the kernel says ENOTCONN: not connected, and
   * also while a TCP connect is still in SYN_SENT (though `ss` already shows the peer it targets).
   */
  peer: SockAddr | null;
  /** `O_NONBLOCK` is set on the open file (`fcntl(F_GETFL)`). Shared by every dup of the fd. */
  nonBlocking: boolean;
  /** `FD_CLOEXEC` is set on this fd (`fcntl(F_GETFD)`). */
  closeOnExec: boolean;
  /** `SO_RCVBUF`, in bytes, as the kernel reports it (twice what was set, for its bookkeeping). */
  rcvbuf: number;
  /** `SO_SNDBUF`, in bytes, as the kernel reports it (twice what was set). */
  sndbuf: number;
  /**
   * What waits to be read, by socket kind:
   * - TCP, not listening: bytes received and not yet read (`SIOCINQ`; 0 in SYN_SENT). `ss` shows
   *   the same as Recv-Q, except that after the peer's FIN `ss` counts the FIN as one more byte.
   * - TCP, listening: the `SIOCINQ` ioctl refuses a listening socket, so this is the accept queue,
   *   the connections waiting for `accept` (= `tcp.acceptQueue`, as `ss` shows it in Recv-Q).
   * - UDP and other datagram sockets: the payload size of the *next* datagram only (`SIOCINQ`),
   *   not the total of all queued datagrams; 0 when none waits.
   * - unix stream sockets: bytes written by the peer and not yet read.
   * - null where the kernel does not answer `SIOCINQ` for this kind of socket (a listening unix
   *   socket, netlink, ...).
   */
  recvQueue: number | null;
  /**
   * What is written but not yet done with, by socket kind:
   * - TCP, not listening: bytes written and not yet acknowledged by the peer, sent or not
   *   (`SIOCOUTQ`: write_seq - snd_una; a queued FIN counts as one byte). Equal to `ss`'s Send-Q,
   *   except in SYN_SENT, where this is 0 and `ss` counts the unacknowledged SYN as 1.
   * - TCP, listening: the `SIOCOUTQ` ioctl refuses a listening socket, so this is the backlog
   *   (= `tcp.backlog`, as `ss` shows it in Send-Q).
   * - UDP: bytes of datagrams still held by the kernel on their way out (usually 0 at once).
   * - unix sockets: memory charged for data written and not yet read by the peer, kernel
   *   overhead included: it grows with what is queued but is not a byte count of it.
   * - null where the kernel does not answer `SIOCOUTQ`.
   */
  sendQueue: number | null;
  /** `SO_ACCEPTCONN`: the socket is listening. */
  listening: boolean;
  /**
   * The socket's inode number, from `/proc/self/fd/<fd>` ('socket:[N]'): the `ino:` that `ss -e`
   * prints and the key of `/proc/net/tcp`, `/proc/net/unix`, ...; null if /proc is not mounted.
   */
  inode: number | null;
  /**
   * `SO_MEMINFO`: the socket's memory as the kernel accounts for it, sk_buff overhead included (what
   * `ss -m` prints as `skmem:`); null where the kernel refuses SO_MEMINFO.
   */
  skmem: SkMemInfo | null;
  /** TCP only: the state and TCP_INFO; absent for every other kind of socket. */
  tcp?: TcpSocketInfo;
}

const TCP_LISTEN = 10;

/** ioctl for a queue figure, or null where the kernel refuses that request for this socket. */
function queueIoctl(fd: number, request: number): number | null {
  try {
    return ioctl(fd, request);
  } catch (err) {
    if (err instanceof SystemError) return null;
    throw err;
  }
}

function protocolNameOf(family: number, protocol: number): string | null {
  let name: string | undefined;
  if (family === AF_INET || family === AF_INET6) name = constantName(protocol, 'IPPROTO_');
  else if (family === AF_PACKET) name = constantName(((protocol & 0xff) << 8) | ((protocol >> 8) & 0xff), 'ETH_P_');
  else if (family === AF_NETLINK) name = constantName(protocol, 'NETLINK_');
  return name ?? null;
}

/** SO_MEMINFO, decoded; null where the kernel refuses it. */
function skmemOf(fd: number): SkMemInfo | null {
  const buf = Buffer.alloc(SK_MEMINFO_BYTES);
  try {
    return decodeSkMemInfo(buf.subarray(0, getsockopt(fd, SOL_SOCKET, SO_MEMINFO, buf)));
  } catch (err) {
    if (err instanceof SystemError) return null;
    throw err;
  }
}

/** A listener's SYN_RECV request sockets, through sock_diag; null when sock_diag cannot be asked. */
function synQueue(local: SockAddrIn | SockAddrIn6, v6only: boolean): SocketEntry[] | null {
  try {
    return synQueueOf(local, v6only);
  } catch (err) {
    if (err instanceof SystemError) return null;
    throw err;
  }
}

function inodeOf(fd: number): number | null {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The kernel's view of a socket fd: family, type and protocol (numbers and C names), local and
 * peer address, the fd's flags, buffer sizes and queue lengths, and for TCP its state and
 * TCP_INFO. Works on any socket fd: one of sockfd's, or a `net`/`dgram` socket's through
 * `fdOf`. It reads only: nothing about the socket changes (SO_ERROR, which reading clears, is
 * not read).
 *
 * It makes these calls, in order: getsockopt SO_DOMAIN, SO_TYPE, SO_PROTOCOL; getsockname;
 * getpeername; fcntl F_GETFL and F_GETFD; getsockopt SO_RCVBUF, SO_SNDBUF, SO_ACCEPTCONN; for TCP,
 * getsockopt TCP_INFO and TCP_CONGESTION, and for a listener IPV6_V6ONLY (AF_INET6) and one
 * NETLINK_SOCK_DIAG dump of its SYN_RECV request sockets (on a netlink socket of its own, closed
 * before `inspect` returns); the ioctls SIOCINQ and SIOCOUTQ (not for a listening TCP socket, where the
 * accept queue and backlog stand in for them: see {@link SocketInfo.recvQueue}); getsockopt
 * SO_MEMINFO; and a readlink of `/proc/self/fd/<fd>`. The figures are a snapshot, each read at its own
 * instant.
 * @param fd - any socket fd.
 * @throws SystemError `getsockopt` ENOTSOCK when `fd` is open but not a socket (a file, a pipe),
 *   EBADF when it is not open: the first getsockopt's error, with the fd named in the message.
 * @throws TypeError/RangeError for an `fd` that is not an integer from 0 to 2^31-1.
 * @example
 * const info = inspect(fd);
 * info.familyName;          // 'AF_INET'
 * info.tcp?.stateName;      // 'LISTEN'
 * info.tcp?.acceptQueue;    // 3 connections waiting for accept
 * info.tcp?.backlog;        // of 128
 * info.tcp?.synQueue;       // the half-open ones: SYN_RECV entries, each with its peer
 * info.tcp?.congestion;     // 'cubic'
 * info.skmem?.rmemAlloc;    // kernel memory of what waits to be read
 */
export function inspect(fd: number): SocketInfo {
  let family: number;
  try {
    family = getsockopt(fd, SOL_SOCKET, SO_DOMAIN);
  } catch (err) {
    if (!(err instanceof SystemError)) throw err;
    const what = err.code === 'ENOTSOCK' ? 'is not a socket' : err.code === 'EBADF' ? 'is not an open fd' : 'cannot be inspected';
    const clear = new SystemError(-err.errno, 'getsockopt', undefined, `inspect: fd ${fd} ${what}`);
    Error.captureStackTrace(clear, inspect);
    throw clear;
  }
  const type = getsockopt(fd, SOL_SOCKET, SO_TYPE);
  const protocol = getsockopt(fd, SOL_SOCKET, SO_PROTOCOL);
  const local = getsockname(fd);
  let peer: SockAddr | null;
  try {
    peer = getpeername(fd);
  } catch (err) {
    if (!(err instanceof SystemError) || err.code !== 'ENOTCONN') throw err;
    peer = null;
  }
  const nonBlocking = (fcntl(fd, F_GETFL) & O_NONBLOCK) !== 0;
  const closeOnExec = (fcntl(fd, F_GETFD) & FD_CLOEXEC) !== 0;
  const rcvbuf = getsockopt(fd, SOL_SOCKET, SO_RCVBUF);
  const sndbuf = getsockopt(fd, SOL_SOCKET, SO_SNDBUF);
  const listening = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN) !== 0;
  let tcp: TcpSocketInfo | undefined;
  if ((family === AF_INET || family === AF_INET6) && type === SOCK_STREAM && protocol === IPPROTO_TCP) {
    const tcpInfo = getsockopt(fd, IPPROTO_TCP, TCP_INFO);
    const base = {
      state: tcpInfo.state,
      stateName: tcpInfo.stateName,
      info: tcpInfo,
      congestion: getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION),
    };
    if (tcpInfo.state === TCP_LISTEN) {
      const v6only = family === AF_INET6 && getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY) !== 0;
      // For a listener, tcp_get_info() reports the accept queue in tcpi_unacked and the backlog
      // in tcpi_sacked, which is also where ss reads its Recv-Q and Send-Q.
      tcp = { ...base, synQueue: synQueue(local as SockAddrIn | SockAddrIn6, v6only), acceptQueue: tcpInfo.unacked, backlog: tcpInfo.sacked };
    } else tcp = base;
  }
  const listener = tcp?.state === TCP_LISTEN;
  const recvQueue = listener ? tcp!.acceptQueue! : queueIoctl(fd, SIOCINQ);
  const sendQueue = listener ? tcp!.backlog! : queueIoctl(fd, SIOCOUTQ);
  const skmem = skmemOf(fd);
  // Built as one literal (fields defined, never assigned: no setter a program put on Object.prototype
  // can drop one).
  return {
    fd,
    family,
    familyName: constantName(family, 'AF_'),
    type,
    typeName: constantName(type, 'SOCK_'),
    protocol,
    protocolName: protocolNameOf(family, protocol),
    local,
    peer,
    nonBlocking,
    closeOnExec,
    rcvbuf,
    sndbuf,
    recvQueue,
    sendQueue,
    listening,
    inode: inodeOf(fd),
    skmem,
    ...(tcp ? { tcp } : {}),
  };
}
