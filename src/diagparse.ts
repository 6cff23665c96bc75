/**
 * sock_diag replies, byte for byte: how `listSockets` reads each reply message into a
 * {@link SocketEntry} (the shapes are in diagtypes.ts; the requests it sends are in diagrequest.ts).
 * Everything is in host byte order except ports and addresses, which are in network byte order as in
 * the kernel's structs. The inet replies hold a `struct inet_diag_sockid` (see diagrequest.ts) at 4.
 *
 * Layouts (from the uapi headers named):
 * - `struct inet_diag_msg` (72 bytes): u8 idiag_family, u8 idiag_state, u8 idiag_timer, u8 idiag_retrans,
 *   the sockid (at 4), u32 idiag_expires (ms), u32 idiag_rqueue, u32 idiag_wqueue, u32 idiag_uid,
 *   u32 idiag_inode; INET_DIAG_* attributes follow.
 * - `struct unix_diag_msg` (16 bytes): u8 udiag_family, u8 udiag_type, u8 udiag_state, u8 pad,
 *   u32 udiag_ino, u32 udiag_cookie[2]; UNIX_DIAG_* attributes follow. `struct unix_diag_rqlen`:
 *   u32 udiag_rqueue, u32 udiag_wqueue; `struct unix_diag_vfs`: u32 udiag_vfs_ino, u32 udiag_vfs_dev
 *   (the kernel's dev_t: major << 20 | minor).
 * - `struct packet_diag_msg` (16 bytes): u8 pdiag_family, u8 pdiag_type, u16 pdiag_num (the Ethernet
 *   protocol, host order), u32 pdiag_ino, u32 pdiag_cookie[2]; PACKET_DIAG_* attributes follow.
 *   `struct packet_diag_info` (24): u32 pdi_index, pdi_version, pdi_reserve, pdi_copy_thresh, pdi_tstamp,
 *   pdi_flags (PDI_*). `struct packet_diag_ring` (28): u32 pdr_block_size, pdr_block_nr, pdr_frame_size,
 *   pdr_frame_nr, pdr_retire_tmo, pdr_sizeof_priv, pdr_features. `struct packet_diag_mclist` (44): u32
 *   pdmc_index, u32 pdmc_count, u16 pdmc_type, u16 pdmc_alen, u8 pdmc_addr[32]. PACKET_DIAG_FANOUT: u32,
 *   the group id in the low 16 bits and the PACKET_FANOUT_* mode above them.
 * - INET_DIAG_BBRINFO `struct tcp_bbr_info` (20): u32 bbr_bw_lo, bbr_bw_hi, bbr_min_rtt, bbr_pacing_gain,
 *   bbr_cwnd_gain; INET_DIAG_VEGASINFO `struct tcpvegas_info` (16): u32 tcpv_enabled, tcpv_rttcnt,
 *   tcpv_rtt, tcpv_minrtt; INET_DIAG_DCTCPINFO `struct tcp_dctcp_info` (16): u16 dctcp_enabled,
 *   u16 dctcp_ce_state, u32 dctcp_alpha, dctcp_ab_ecn, dctcp_ab_tot.
 * @internal
 * @packageDocumentation
 */
import { native } from './binding.js';
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  AF_UNIX,
  INET_DIAG_BBRINFO,
  INET_DIAG_CGROUP_ID,
  INET_DIAG_CLASS_ID,
  INET_DIAG_CONG,
  INET_DIAG_DCTCPINFO,
  INET_DIAG_INFO,
  INET_DIAG_MARK,
  INET_DIAG_PROTOCOL,
  INET_DIAG_SHUTDOWN,
  INET_DIAG_SKMEMINFO,
  INET_DIAG_SKV6ONLY,
  INET_DIAG_TCLASS,
  INET_DIAG_TOS,
  INET_DIAG_VEGASINFO,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  PACKET_DIAG_FANOUT,
  PACKET_DIAG_FILTER,
  PACKET_DIAG_INFO,
  PACKET_DIAG_MCLIST,
  PACKET_DIAG_MEMINFO,
  PACKET_DIAG_RX_RING,
  PACKET_DIAG_TX_RING,
  PACKET_DIAG_UID,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_CPU,
  PACKET_FANOUT_EBPF,
  PACKET_FANOUT_HASH,
  PACKET_FANOUT_LB,
  PACKET_FANOUT_QM,
  PACKET_FANOUT_RND,
  PACKET_FANOUT_ROLLOVER,
  PDI_AUXDATA,
  PDI_LOSS,
  PDI_ORIGDEV,
  PDI_RUNNING,
  PDI_VNETHDR,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  UNIX_DIAG_ICONS,
  UNIX_DIAG_MEMINFO,
  UNIX_DIAG_NAME,
  UNIX_DIAG_PEER,
  UNIX_DIAG_RQLEN,
  UNIX_DIAG_SHUTDOWN,
  UNIX_DIAG_UID,
  UNIX_DIAG_VFS,
} from './constants.generated.js';
import { constantName } from './constants.js';
import { attrString, parseAttributes, u16, u32, u64, w16, w32 } from './netlink.js';
import { TCP_STATES, decodeTcpInfo } from './optcodecs.js';
import type { SockAddr, SockAddrLl } from './sockaddr.js';
import { SIZEOF_INET_DIAG_MSG, SIZEOF_PACKET_DIAG_MSG, SIZEOF_UNIX_DIAG_MSG } from './sizes.generated.js';
import { decodeSkMemInfo } from './skmem.js';
import type { BpfInstruction } from './sockopt.js';
import type { InetDiag, PacketDiag, PacketRing, SocketEntry, TcpDiag } from './diagtypes.js';

const TCP_CLOSE = TCP_STATES.indexOf('CLOSE');
const TIMER_NAMES = ['off', 'on', 'keepalive', 'timewait', 'persist', 'delack'];
const FANOUT_NAMES = new Map<number, string>([
  [PACKET_FANOUT_HASH, 'hash'],
  [PACKET_FANOUT_LB, 'lb'],
  [PACKET_FANOUT_CPU, 'cpu'],
  [PACKET_FANOUT_ROLLOVER, 'roll'],
  [PACKET_FANOUT_RND, 'random'],
  [PACKET_FANOUT_QM, 'qm'],
  [PACKET_FANOUT_CBPF, 'cbpf'],
  [PACKET_FANOUT_EBPF, 'ebpf'],
]);

const cookieAt = (b: Buffer, o: number): bigint => BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
const stateName = (state: number): string => TCP_STATES[state] || String(state);

/** An IP address of a sockid (network order bytes) as the SockAddr getsockname would give. @internal */
export function inetAddr(family: number, addr: Buffer, port: number, ifindex: number): SockAddr {
  if (family === AF_INET) {
    const b = Buffer.alloc(16); // struct sockaddr_in
    w16(b, AF_INET, 0);
    b.writeUInt16BE(port, 2);
    addr.copy(b, 4, 0, 4);
    return native.decodeRawSockaddr(b)!;
  }
  const b = Buffer.alloc(28); // struct sockaddr_in6
  w16(b, AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  addr.copy(b, 8, 0, 16);
  // As inet6_getname does: a scope id only for link-local unicast and multicast addresses.
  const linkLocal = (addr[0] === 0xfe && (addr[1]! & 0xc0) === 0x80) || (addr[0] === 0xff && (addr[1]! & 0x0f) === 0x02);
  if (linkLocal) w32(b, ifindex, 24);
  return native.decodeRawSockaddr(b)!;
}

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

function netidOfInet(type: number, protocol: number): string {
  if (type === SOCK_RAW) return 'raw';
  if (protocol === IPPROTO_TCP) return 'tcp';
  if (protocol === IPPROTO_UDPLITE) return 'udplite';
  if (protocol === IPPROTO_UDP) return 'udp';
  return constantName(protocol, 'IPPROTO_')?.slice(8).toLowerCase() ?? String(protocol);
}

/**
 * A `struct inet_diag_msg` and its attributes, from a dump of `protocol` sockets of type `type`.
 * @internal
 */
export function parseInet(body: Buffer, type: number, dumpProtocol: number): SocketEntry | null {
  if (body.length < SIZEOF_INET_DIAG_MSG) return null;
  const family = body[0]!;
  const state = body[1]!;
  const ifindex = u32(body, 40);
  const attrs = parseAttributes(body.subarray(SIZEOF_INET_DIAG_MSG));
  const protocol = type === SOCK_RAW ? (attrs.get(INET_DIAG_PROTOCOL)?.[0] ?? body.readUInt16BE(4)) : dumpProtocol;
  const dst = body.subarray(24, 40);
  const dport = body.readUInt16BE(6);
  const timerCode = body[2]!;
  const a = (t: number): Buffer | undefined => attrs.get(t);
  // Results are built of literals and spreads (fields defined, never assigned), so that no setter a
  // program put on Object.prototype or Array.prototype can drop a field.
  const opt = <K extends string, V>(key: K, present: boolean, value: () => V): { [P in K]?: V } =>
    (present ? { [key]: value() } : {}) as { [P in K]?: V };
  const inet: InetDiag = {
    ifindex,
    ...opt('tos', (a(INET_DIAG_TOS)?.length ?? 0) > 0, () => a(INET_DIAG_TOS)![0]!),
    ...opt('tclass', (a(INET_DIAG_TCLASS)?.length ?? 0) > 0, () => a(INET_DIAG_TCLASS)![0]!),
    ...opt('classId', (a(INET_DIAG_CLASS_ID)?.length ?? 0) >= 4, () => u32(a(INET_DIAG_CLASS_ID)!, 0)),
    ...opt('v6only', (a(INET_DIAG_SKV6ONLY)?.length ?? 0) > 0, () => a(INET_DIAG_SKV6ONLY)![0] !== 0),
    ...opt('mark', (a(INET_DIAG_MARK)?.length ?? 0) >= 4, () => u32(a(INET_DIAG_MARK)!, 0)),
    ...opt('cgroupId', (a(INET_DIAG_CGROUP_ID)?.length ?? 0) >= 8, () => u64(a(INET_DIAG_CGROUP_ID)!, 0)),
  };
  const skmem = a(INET_DIAG_SKMEMINFO);
  const info = a(INET_DIAG_INFO);
  let tcp: TcpDiag | undefined;
  if (dumpProtocol === IPPROTO_TCP && info && info.length >= 8) {
    const cong = a(INET_DIAG_CONG);
    const bbr = a(INET_DIAG_BBRINFO);
    const vegas = a(INET_DIAG_VEGASINFO);
    const dctcp = a(INET_DIAG_DCTCPINFO);
    tcp = {
      info: decodeTcpInfo(info),
      congestion: cong ? attrString(cong) : null,
      ...opt('bbr', bbr !== undefined && bbr.length >= 20, () => ({
        bw: u32(bbr!, 4) * 2 ** 32 + u32(bbr!, 0),
        minRtt: u32(bbr!, 8),
        pacingGain: u32(bbr!, 12) / 256,
        cwndGain: u32(bbr!, 16) / 256,
      })),
      ...opt('vegas', vegas !== undefined && vegas.length >= 16, () => ({
        enabled: u32(vegas!, 0),
        rttCount: u32(vegas!, 4),
        rtt: u32(vegas!, 8),
        minRtt: u32(vegas!, 12),
      })),
      ...opt('dctcp', dctcp !== undefined && dctcp.length >= 16, () => ({
        enabled: u16(dctcp!, 0),
        ceState: u16(dctcp!, 2),
        alpha: u32(dctcp!, 4),
        abEcn: u32(dctcp!, 8),
        abTot: u32(dctcp!, 12),
      })),
    };
  }
  return {
    family,
    familyName: constantName(family, 'AF_'),
    type,
    typeName: constantName(type, 'SOCK_'),
    protocol,
    protocolName: constantName(protocol, 'IPPROTO_') ?? null,
    netid: netidOfInet(type, protocol),
    state,
    stateName: stateName(state),
    local: inetAddr(family, body.subarray(8, 24), body.readUInt16BE(4), ifindex),
    peer: isZero(dst) && dport === 0 ? null : inetAddr(family, dst, dport, ifindex),
    recvQueue: u32(body, 56),
    sendQueue: u32(body, 60),
    inode: u32(body, 68),
    uid: u32(body, 64),
    cookie: cookieAt(body, 44),
    timer: timerCode === 0 ? null : { code: timerCode, name: TIMER_NAMES[timerCode] ?? 'unknown', expires: u32(body, 52), retransmits: body[3]! },
    shutdown: a(INET_DIAG_SHUTDOWN)?.length ? a(INET_DIAG_SHUTDOWN)![0]! : null,
    skmem: skmem && skmem.length >= 28 ? decodeSkMemInfo(skmem) : null,
    fds: [],
    inet,
    ...(tcp ? { tcp } : {}),
  };
}

const UNIX_NETIDS = new Map([
  [SOCK_STREAM, 'u_str'],
  [SOCK_DGRAM, 'u_dgr'],
  [SOCK_SEQPACKET, 'u_seq'],
]);

/** The kernel's dev_t (major << 20 | minor) as userspace's (glibc makedev), what `stat` reports. */
function userDev(kdev: number): { dev: number; major: number; minor: number } {
  const major = kdev >>> 20;
  const minor = kdev & 0xfffff;
  return { dev: (minor >>> 8) * 2 ** 20 + major * 256 + (minor & 0xff), major, minor };
}

/**
 * A `struct unix_diag_msg` and its attributes. `peer` is filled in later, once the whole dump is
 * known (see `resolveUnixPeers`).
 * @internal
 */
export function parseUnix(body: Buffer): SocketEntry | null {
  if (body.length < SIZEOF_UNIX_DIAG_MSG) return null;
  const type = body[1]!;
  const state = body[2]!;
  const attrs = parseAttributes(body.subarray(SIZEOF_UNIX_DIAG_MSG));
  const name = attrs.get(UNIX_DIAG_NAME);
  const sun = Buffer.alloc(2 + (name?.length ?? 0)); // struct sockaddr_un, as long as the name
  w16(sun, AF_UNIX, 0);
  name?.copy(sun, 2);
  const rqlen = attrs.get(UNIX_DIAG_RQLEN);
  const vfs = attrs.get(UNIX_DIAG_VFS);
  const icons = attrs.get(UNIX_DIAG_ICONS);
  const peer = attrs.get(UNIX_DIAG_PEER);
  const uid = attrs.get(UNIX_DIAG_UID);
  const shutdown = attrs.get(UNIX_DIAG_SHUTDOWN);
  const skmem = attrs.get(UNIX_DIAG_MEMINFO);
  const pending = icons ? Array.from({ length: Math.floor(icons.length / 4) }, (_, i) => u32(icons, i * 4)) : null;
  return {
    family: AF_UNIX,
    familyName: 'AF_UNIX',
    type,
    typeName: constantName(type, 'SOCK_'),
    protocol: 0,
    protocolName: null,
    netid: UNIX_NETIDS.get(type) ?? `u_${type}`,
    state,
    stateName: stateName(state),
    local: native.decodeRawSockaddr(sun)!,
    peer: null,
    recvQueue: rqlen && rqlen.length >= 8 ? u32(rqlen, 0) : 0,
    sendQueue: rqlen && rqlen.length >= 8 ? u32(rqlen, 4) : 0,
    inode: u32(body, 4),
    uid: uid && uid.length >= 4 ? u32(uid, 0) : null,
    cookie: cookieAt(body, 8),
    timer: null,
    shutdown: shutdown?.length ? shutdown[0]! : null,
    skmem: skmem && skmem.length >= 28 ? decodeSkMemInfo(skmem) : null,
    fds: [],
    unix: {
      peerInode: peer && peer.length >= 4 ? u32(peer, 0) : 0,
      pending,
      vfs: vfs && vfs.length >= 8 ? { inode: u32(vfs, 0), ...userDev(u32(vfs, 4)) } : null,
    },
  };
}

/** Each connected unix socket's peer, as the peer's own local address, from the same dump. @internal */
export function resolveUnixPeers(entries: SocketEntry[]): void {
  const byInode = new Map(entries.map((e) => [e.inode, e]));
  for (const e of entries) {
    const peer = e.unix?.peerInode ? byInode.get(e.unix.peerInode) : undefined;
    if (peer) e.peer = { ...peer.local };
  }
}

function ring(b: Buffer | undefined): PacketRing | null {
  if (!b || b.length < 28) return null;
  return { blockSize: u32(b, 0), blockCount: u32(b, 4), frameSize: u32(b, 8), frameCount: u32(b, 12), retireTimeout: u32(b, 16), privateSize: u32(b, 20), features: u32(b, 24) };
}

/** A `struct packet_diag_msg` and its attributes. @internal */
export function parsePacket(body: Buffer): SocketEntry | null {
  if (body.length < SIZEOF_PACKET_DIAG_MSG) return null;
  const type = body[1]!;
  const ethProtocol = u16(body, 2);
  const protocol = ((ethProtocol & 0xff) << 8) | (ethProtocol >> 8); // htons
  const attrs = parseAttributes(body.subarray(SIZEOF_PACKET_DIAG_MSG));
  const info = attrs.get(PACKET_DIAG_INFO);
  const uid = attrs.get(PACKET_DIAG_UID);
  const skmemBytes = attrs.get(PACKET_DIAG_MEMINFO);
  const skmem = skmemBytes && skmemBytes.length >= 28 ? decodeSkMemInfo(skmemBytes) : null;
  const flags = info && info.length >= 24 ? u32(info, 20) : 0;
  const fanoutBytes = attrs.get(PACKET_DIAG_FANOUT);
  const fanoutValue = fanoutBytes && fanoutBytes.length >= 4 ? u32(fanoutBytes, 0) : undefined;
  const mclist = attrs.get(PACKET_DIAG_MCLIST);
  // Array.from defines its elements (push would assign them).
  const memberships: PacketDiag['memberships'] = Array.from({ length: mclist ? Math.floor(mclist.length / 44) : 0 }, (_, i) => {
    const o = i * 44;
    const alen = Math.min(u16(mclist!, o + 10), 32);
    return { ifindex: u32(mclist!, o), count: u32(mclist!, o + 4), type: u16(mclist!, o + 8), address: Buffer.from(mclist!.subarray(o + 12, o + 12 + alen)) };
  });
  const filterBytes = attrs.get(PACKET_DIAG_FILTER);
  const filter: BpfInstruction[] | null = filterBytes
    ? Array.from({ length: Math.floor(filterBytes.length / 8) }, (_, i) => {
        const o = i * 8;
        return { code: u16(filterBytes, o), jt: filterBytes[o + 2]!, jf: filterBytes[o + 3]!, k: u32(filterBytes, o + 4) };
      })
    : null;
  const ifindex = info && info.length >= 4 ? u32(info, 0) : 0;
  const local: SockAddrLl = { family: AF_PACKET, protocol, ifindex };
  return {
    family: AF_PACKET,
    familyName: 'AF_PACKET',
    type,
    typeName: constantName(type, 'SOCK_'),
    protocol,
    protocolName: constantName(ethProtocol, 'ETH_P_') ?? null,
    netid: type === SOCK_RAW ? 'p_raw' : 'p_dgr',
    state: TCP_CLOSE,
    stateName: 'CLOSE',
    local,
    peer: null,
    // What ss shows: the receive queue's memory, and no send queue.
    recvQueue: skmem?.rmemAlloc ?? 0,
    sendQueue: 0,
    inode: u32(body, 4),
    uid: uid && uid.length >= 4 ? u32(uid, 0) : null,
    cookie: cookieAt(body, 8),
    timer: null,
    shutdown: null,
    skmem,
    fds: [],
    packet: {
      ethProtocol,
      ifindex,
      version: info && info.length >= 8 ? u32(info, 4) : 0,
      reserve: info && info.length >= 12 ? u32(info, 8) : 0,
      copyThresh: info && info.length >= 16 ? u32(info, 12) : 0,
      tstamp: info && info.length >= 20 ? u32(info, 16) : 0,
      flags,
      running: (flags & PDI_RUNNING) !== 0,
      auxdata: (flags & PDI_AUXDATA) !== 0,
      origdev: (flags & PDI_ORIGDEV) !== 0,
      vnethdr: (flags & PDI_VNETHDR) !== 0,
      loss: (flags & PDI_LOSS) !== 0,
      rxRing: ring(attrs.get(PACKET_DIAG_RX_RING)),
      txRing: ring(attrs.get(PACKET_DIAG_TX_RING)),
      fanout:
        fanoutValue === undefined
          ? null
          : { id: fanoutValue & 0xffff, type: fanoutValue >>> 16, typeName: FANOUT_NAMES.get(fanoutValue >>> 16) ?? `0x${(fanoutValue >>> 16).toString(16)}` },
      memberships,
      filter,
    },
  };
}
