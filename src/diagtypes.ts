/**
 * The shapes `listSockets` returns: a {@link SocketEntry} per socket, with its parts by kind, in the
 * names sockfd uses elsewhere and with the kernel's fields they come from (see diagparse.ts for the
 * byte layouts).
 * @packageDocumentation
 */
import type { TcpInfo } from './optcodecs.js';
import type { SockAddr } from './sockaddr.js';
import type { SkMemInfo } from './skmem.js';
import type { BpfInstruction } from './sockopt.js';

/**
 * A pending socket timer, as `ss -o` prints it: `timer:(name,expires,retransmits)`. From
 * `idiag_timer`, `idiag_expires` and `idiag_retrans` (net/ipv4/inet_diag.c).
 */
export interface SocketTimer {
  /** `idiag_timer`: 1 retransmission (also RACK reordering and tail-loss probes), 2 keepalive, 3 TIME_WAIT, 4 zero-window probe, 5 delayed ACK. */
  code: number;
  /** ss's name for it: 'on', 'keepalive', 'timewait', 'persist', 'delack' ('unknown' for a code sockfd does not know). */
  name: string;
  /** Milliseconds until it fires (`idiag_expires`). */
  expires: number;
  /**
   * `idiag_retrans`: retransmissions so far ('on'), unanswered probes ('keepalive', 'persist'), or for
   * a SYN_RECV request socket the SYN-ACKs it has retransmitted.
   */
  retransmits: number;
}

/** BBR's model of the path (INET_DIAG_BBRINFO, `struct tcp_bbr_info`). */
export interface BbrInfo {
  /** Estimated bottleneck bandwidth, bytes per second (`bbr_bw_hi:bbr_bw_lo`). */
  bw: number;
  /** Minimum RTT seen, µs. */
  minRtt: number;
  /** Pacing gain (`bbr_pacing_gain / 256`). */
  pacingGain: number;
  /** cwnd gain (`bbr_cwnd_gain / 256`). */
  cwndGain: number;
}

/** Vegas (and other delay-based algorithms') figures: INET_DIAG_VEGASINFO, `struct tcpvegas_info`. */
export interface VegasInfo {
  enabled: number;
  rttCount: number;
  /** µs. */
  rtt: number;
  /** µs. */
  minRtt: number;
}

/** DCTCP's state: INET_DIAG_DCTCPINFO, `struct tcp_dctcp_info`. */
export interface DctcpInfo {
  enabled: number;
  ceState: number;
  alpha: number;
  abEcn: number;
  abTot: number;
}

/** The TCP part of a {@link SocketEntry} (full TCP sockets; not TIME_WAIT or SYN_RECV entries). */
export interface TcpDiag {
  /** INET_DIAG_INFO: `struct tcp_info`, decoded as `getsockopt(TCP_INFO)` decodes it. */
  info: TcpInfo;
  /** INET_DIAG_CONG: the congestion control algorithm ('cubic', 'bbr', 'reno', ...). */
  congestion: string | null;
  /** BBR's path model, for a bbr socket. */
  bbr?: BbrInfo;
  /** Vegas' figures, for a vegas socket. */
  vegas?: VegasInfo;
  /** DCTCP's state, for a dctcp socket. */
  dctcp?: DctcpInfo;
}

/** The IP part of a {@link SocketEntry} (AF_INET, AF_INET6). */
export interface InetDiag {
  /** `idiag_if`: the interface the socket is bound to (SO_BINDTODEVICE or a link-local scope); 0 for none. */
  ifindex: number;
  /** INET_DIAG_TOS: the IPv4 TOS byte the socket sends with. */
  tos?: number;
  /** INET_DIAG_TCLASS: the IPv6 traffic class (AF_INET6 only). */
  tclass?: number;
  /** INET_DIAG_CLASS_ID: the net_cls cgroup class id. */
  classId?: number;
  /** INET_DIAG_SKV6ONLY: IPV6_V6ONLY, for AF_INET6 sockets that are listening or unconnected. */
  v6only?: boolean;
  /** INET_DIAG_MARK: SO_MARK (the kernel reports it only to CAP_NET_ADMIN). */
  mark?: number;
  /** INET_DIAG_CGROUP_ID: the cgroup v2 id of the socket's creator. */
  cgroupId?: bigint;
}

/** The unix-domain part of a {@link SocketEntry}. */
export interface UnixDiag {
  /** UNIX_DIAG_PEER: the inode of the connected peer socket; 0 when not connected. */
  peerInode: number;
  /**
   * UNIX_DIAG_ICONS, listening sockets only: for each connection waiting for `accept`, the inode of the
   * connecting (client) socket. null for a socket that is not listening.
   */
  pending: number[] | null;
  /** UNIX_DIAG_VFS: the socket file's inode and device, as `stat` reports them; null for unnamed and abstract sockets. */
  vfs: { inode: number; dev: number; major: number; minor: number } | null;
}

/** A TPACKET ring of a packet socket (PACKET_DIAG_RX_RING / TX_RING, `struct packet_diag_ring`). */
export interface PacketRing {
  blockSize: number;
  blockCount: number;
  frameSize: number;
  frameCount: number;
  /** TPACKET_V3: ms before a partly filled block is handed over. */
  retireTimeout: number;
  /** TPACKET_V3: bytes of private area per block. */
  privateSize: number;
  /** TPACKET_V3: TP_FT_REQ_* features requested. */
  features: number;
}

/** The AF_PACKET part of a {@link SocketEntry}. */
export interface PacketDiag {
  /** `pdiag_num`: the Ethernet protocol, in host byte order (ETH_P_ALL is 3). */
  ethProtocol: number;
  /** `pdi_index`: the interface it is bound to, 0 for all. */
  ifindex: number;
  /** `pdi_version`: TPACKET_V1, TPACKET_V2 or TPACKET_V3 (PACKET_VERSION). */
  version: number;
  /** `pdi_reserve` (PACKET_RESERVE). */
  reserve: number;
  /** `pdi_copy_thresh` (PACKET_COPY_THRESH). */
  copyThresh: number;
  /** `pdi_tstamp` (PACKET_TIMESTAMP). */
  tstamp: number;
  /** `pdi_flags`: PDI_RUNNING, PDI_AUXDATA, PDI_ORIGDEV, PDI_VNETHDR, PDI_LOSS; also as booleans below. */
  flags: number;
  running: boolean;
  auxdata: boolean;
  origdev: boolean;
  vnethdr: boolean;
  loss: boolean;
  rxRing: PacketRing | null;
  txRing: PacketRing | null;
  /** PACKET_DIAG_FANOUT: the fanout group, or null. `type` is PACKET_FANOUT_*, `typeName` ss's name for it. */
  fanout: { id: number; type: number; typeName: string } | null;
  /** PACKET_DIAG_MCLIST: memberships added with PACKET_ADD_MEMBERSHIP. */
  memberships: { ifindex: number; count: number; type: number; address: Buffer }[];
  /**
   * PACKET_DIAG_FILTER: the classic BPF filter attached, or null for none. The kernel shows the
   * instructions only to CAP_NET_ADMIN; without it an attached filter appears as `[]`.
   */
  filter: BpfInstruction[] | null;
}

/**
 * One socket as sock_diag reports it: what `ss -tuxwanpiem` prints, in the names sockfd uses
 * elsewhere (`inspect`). Returned by {@link listSockets}.
 */
export interface SocketEntry {
  /** AF_INET, AF_INET6, AF_UNIX or AF_PACKET. */
  family: number;
  familyName: string | undefined;
  /** SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET or SOCK_RAW. */
  type: number;
  typeName: string | undefined;
  /**
   * The protocol as `socket()` took it: IPPROTO_TCP/IPPROTO_UDP, the protocol of a raw socket
   * (INET_DIAG_PROTOCOL), 0 for unix sockets, and for packet sockets the Ethernet protocol in network
   * byte order (as `inspect` and SockAddrLl give it: `htons(ETH_P_ALL)`).
   */
  protocol: number;
  /** The protocol's C name ('IPPROTO_TCP', 'ETH_P_ALL'), null where there is none. */
  protocolName: string | null;
  /** ss's Netid column: 'tcp', 'udp', 'udplite', 'raw', 'u_str', 'u_dgr', 'u_seq', 'p_raw', 'p_dgr'. */
  netid: string;
  /** The kernel's state number (TCP states; unix and datagram sockets use ESTABLISHED, LISTEN and CLOSE too). */
  state: number;
  /**
   * The state by the kernel's name, as `inspect` gives it: 'LISTEN', 'ESTABLISHED', 'SYN_SENT',
   * 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING', or 'CLOSE'
   * (ss's UNCONN: an unconnected datagram, raw or packet socket). ss spells them ESTAB, FIN-WAIT-1, ...
   */
  stateName: string;
  /**
   * The local address, as `getsockname` gives it (a raw socket's port is its protocol; an unnamed unix
   * socket has path ''). For packet sockets `{ family, protocol, ifindex }` only: sock_diag does not
   * report the hardware address.
   */
  local: SockAddr;
  /**
   * The peer: the remote address of a connected IP socket, the peer's address (its bound path, '' if
   * unnamed) of a connected unix socket; null when not connected, or when a unix peer is not listed.
   */
  peer: SockAddr | null;
  /**
   * `idiag_rqueue` / UNIX_DIAG_RQLEN, what ss prints as Recv-Q: TCP bytes not yet read, or a listener's
   * accept queue; for UDP and raw sockets the memory of queued datagrams (kernel overhead included);
   * unix: bytes (stream) or the next datagram's size, a listener's pending connections; packet: the
   * receive queue's memory (skmem `rmemAlloc`).
   */
  recvQueue: number;
  /**
   * `idiag_wqueue` / UNIX_DIAG_RQLEN, ss's Send-Q: TCP bytes not yet acknowledged, a listener's backlog;
   * UDP/raw: memory of datagrams on their way out; unix: memory written and not yet read by the peer,
   * a listener's backlog; packet: 0.
   */
  sendQueue: number;
  /** The socket's inode (`ss -e` `ino:`, the N of `socket:[N]`); 0 for TIME_WAIT and SYN_RECV entries, which are no socket. */
  inode: number;
  /** The owner's uid (ss -e `uid:`): `idiag_uid`, UNIX_DIAG_UID, PACKET_DIAG_UID; null where the kernel did not say. */
  uid: number | null;
  /**
   * The socket cookie (`SO_COOKIE`; ss -e `sk:` prints it in hex): unique while the socket lives. null
   * for raw sockets on a kernel without raw_diag, which are listed from /proc/net/raw instead (as ss does).
   */
  cookie: bigint | null;
  /** The pending timer (IP sockets; ss -o), or null when none is pending or the family has none. */
  timer: SocketTimer | null;
  /**
   * INET_DIAG_SHUTDOWN / UNIX_DIAG_SHUTDOWN: the directions shut down (bit 0: receive, bit 1: send;
   * ss -e prints `<->`, `-->`, `<--`, `---`); null where the kernel did not say (TIME_WAIT, SYN_RECV, packet).
   */
  shutdown: number | null;
  /** The socket's memory (INET_DIAG_SKMEMINFO, UNIX_DIAG_MEMINFO, PACKET_DIAG_MEMINFO; ss -m); null for TIME_WAIT and SYN_RECV. */
  skmem: SkMemInfo | null;
  /** The fds of this process (or of the filter's `pid`) that hold this socket, ascending; [] for none. */
  fds: number[];
  /** AF_INET/AF_INET6 only (absent for raw sockets listed from /proc/net/raw). */
  inet?: InetDiag;
  /** Full TCP sockets only (TCP_INFO and the congestion algorithm). */
  tcp?: TcpDiag;
  /** AF_UNIX only. */
  unix?: UnixDiag;
  /** AF_PACKET only. */
  packet?: PacketDiag;
}
