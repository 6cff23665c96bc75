/**
 * `listSockets`: the kernel's whole list of sockets, asked the way `ss` asks, over NETLINK_SOCK_DIAG:
 * one SOCK_DIAG_BY_FAMILY dump per kind of socket (inet_diag for TCP, UDP and raw over IPv4 and IPv6,
 * unix_diag, packet_diag), each on its own AF_NETLINK socket made with sockfd's `socket`, sent with
 * `sendmsg` and read with `recv`. The replies are decoded in `diagparse.ts`; the fds of a process that
 * hold each socket come from `/proc/<pid>/fd`.
 * @packageDocumentation
 */
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  AF_UNIX,
  IPPROTO_RAW,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  NETLINK_SOCK_DIAG,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  SOCK_DGRAM,
  SOCK_DIAG_BY_FAMILY,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
} from './constants.generated.js';
import { constantName } from './constants.js';
import { invalidArgType, invalidArgValue, isRevokedProxy, outOfRange } from './argerrors.js';
import { parseInet, parsePacket, parseUnix, resolveUnixPeers } from './diagparse.js';
import { inetRequest, packetRequest, unixRequest } from './diagrequest.js';
import type { SocketEntry } from './diagtypes.js';
import { netlinkDump } from './netlinksocket.js';
import { procRawSockets } from './procnet.js';
import { SystemError } from './errors.js';
import { TCP_STATES } from './optcodecs.js';
import { socketFds } from './procfd.js';
import type { SockAddrIn, SockAddrIn6 } from './sockaddr.js';
import { append, own } from './own.js';

/** What {@link listSockets} lists; every field narrows the list, and all of them must match. */
export interface SocketFilter {
  /** AF_INET, AF_INET6, AF_UNIX or AF_PACKET; all four when absent. */
  family?: number;
  /**
   * The protocol, as {@link SocketEntry.protocol} gives it: IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
   * the protocol of raw sockets (IPPROTO_ICMP, ...), 0 for unix sockets, `htons(ETH_P_*)` for packet
   * sockets. 0–65535.
   */
  protocol?: number;
  /** SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET or SOCK_RAW. */
  type?: number;
  /**
   * States by the kernel's names, as `inspect` and {@link SocketEntry.stateName} give them:
   * 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT',
   * 'LAST_ACK', 'LISTEN', 'CLOSING'. A socket in any of them matches; all states when absent.
   */
  states?: readonly string[];
  /** An IP socket whose local or peer port is this (0–65535), like ss's `( sport = :N or dport = :N )`. */
  port?: number;
  /**
   * Only sockets held by an fd of this process (found through `/proc/<pid>/fd`); `fds` then names that
   * process's fds. Sockets of a process in another network namespace are not in this one's lists.
   */
  pid?: number;
}

const FILTER_KEYS = new Set(['family', 'protocol', 'type', 'states', 'port', 'pid']);
const FAMILIES = [AF_INET, AF_INET6, AF_UNIX, AF_PACKET];
const TYPES = [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW];
/** The state names a filter may use: the kernel's TCP states, without its internal NEW_SYN_RECV. */
export const SOCKET_STATES: readonly string[] = TCP_STATES.filter((n) => n !== '' && n !== 'NEW_SYN_RECV');
/** Every TCP state bit (1 << TCP_ESTABLISHED ... 1 << TCP_CLOSING), as `ss -a` asks: SYN_RECV and TIME_WAIT included. */
const ALL_STATES = SOCKET_STATES.reduce((m, n) => m | (1 << TCP_STATES.indexOf(n as (typeof TCP_STATES)[number])), 0);

function integer(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < min || v > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, v);
  return v;
}

function oneOf(v: unknown, name: string, allowed: number[], prefix: string): number {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!allowed.includes(v)) throw invalidArgValue(name, `must be ${allowed.map((x) => constantName(x, prefix)).join(', ')}`, v);
  return v;
}

interface CheckedFilter {
  family?: number;
  protocol?: number;
  type?: number;
  /** A bit per TCP state number. */
  states: number;
  port?: number;
  pid?: number;
}

/** Validates a filter, naming the field at fault. @internal */
export function checkFilter(filter: unknown): CheckedFilter {
  if (filter === undefined) return { states: ALL_STATES };
  if (typeof filter !== 'object' || filter === null || isRevokedProxy(filter) || Array.isArray(filter)) throw invalidArgType('filter', 'an object', filter);
  const f = filter as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FILTER_KEYS.has(key)) throw invalidArgValue(`filter.${key}`, 'is not a listSockets filter field (family, protocol, type, states, port, pid)', f[key]);
  }
  const out: CheckedFilter = { states: ALL_STATES };
  if (f.family !== undefined) own(out, 'family', oneOf(f.family, 'filter.family', FAMILIES, 'AF_'));
  if (f.type !== undefined) own(out, 'type', oneOf(f.type, 'filter.type', TYPES, 'SOCK_'));
  if (f.protocol !== undefined) own(out, 'protocol', integer(f.protocol, 'filter.protocol', 0, 0xffff));
  if (f.port !== undefined) own(out, 'port', integer(f.port, 'filter.port', 0, 0xffff));
  if (f.pid !== undefined) own(out, 'pid', integer(f.pid, 'filter.pid', 1, 2 ** 31 - 1));
  if (f.states !== undefined) {
    if (isRevokedProxy(f.states) || !Array.isArray(f.states)) throw invalidArgType('filter.states', 'an array of state names', f.states);
    out.states = 0;
    f.states.forEach((name: unknown, i: number) => {
      if (typeof name !== 'string') throw invalidArgType(`filter.states[${i}]`, 'of type string', name);
      if (!SOCKET_STATES.includes(name)) throw invalidArgValue(`filter.states[${i}]`, `must be one of ${SOCKET_STATES.join(', ')}`, name);
      out.states |= 1 << TCP_STATES.indexOf(name as (typeof TCP_STATES)[number]);
    });
  }
  return out;
}

const dumpFlags = NLM_F_REQUEST | NLM_F_DUMP;

/** One inet_diag dump: every `protocol` socket of `family` in `states`, typed `type`. @internal */
export function dumpInet(family: number, protocol: number, type: number, states: number): SocketEntry[] {
  const out: SocketEntry[] = [];
  const what = `SOCK_DIAG_BY_FAMILY ${constantName(family, 'AF_') ?? `family ${family}`} ${constantName(protocol, 'IPPROTO_') ?? `protocol ${protocol}`}`;
  netlinkDump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, dumpFlags, inetRequest(family, protocol, states), what, (_type, body) => {
    const e = parseInet(body, type, protocol);
    if (e) append(out, e);
  });
  return out;
}

/** Raw sockets: raw_diag's dump, or /proc/net/raw{,6} where the kernel has no raw_diag (as ss does). */
function dumpRaw(family: number, states: number): SocketEntry[] {
  try {
    return dumpInet(family, IPPROTO_RAW, SOCK_RAW, states);
  } catch (err) {
    if (!(err instanceof SystemError) || err.code !== 'ENOENT') throw err;
    return procRawSockets(family);
  }
}

function dumpUnix(): SocketEntry[] {
  const out: SocketEntry[] = [];
  netlinkDump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, dumpFlags, unixRequest(0xffffffff), 'SOCK_DIAG_BY_FAMILY AF_UNIX', (_type, body) => {
    const e = parseUnix(body);
    if (e) append(out, e);
  });
  resolveUnixPeers(out);
  return out;
}

function dumpPacket(): SocketEntry[] {
  const out: SocketEntry[] = [];
  netlinkDump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, dumpFlags, packetRequest(), 'SOCK_DIAG_BY_FAMILY AF_PACKET', (_type, body) => {
    const e = parsePacket(body);
    if (e) append(out, e);
  });
  return out;
}

/** The IP protocols listed when the filter names none, and the socket type each dump's entries have. */
const INET_PROTOCOLS: [number, number][] = [
  [IPPROTO_TCP, SOCK_STREAM],
  [IPPROTO_UDP, SOCK_DGRAM],
];

/**
 * The sockets of this network namespace as the kernel lists them to `ss`, through NETLINK_SOCK_DIAG:
 * TCP (every state, SYN_RECV request sockets and TIME_WAIT included), UDP (and UDP-Lite when asked
 * for) and raw sockets over IPv4 and IPv6, unix sockets, and packet sockets, with what
 * `ss -tuxwanpiem` prints about each (states, queues, addresses, inode, uid, cookie, timers,
 * TCP_INFO and congestion algorithm, skmem, unix peers and paths, packet rings and fanout), and the
 * fds of this process that hold each one.
 *
 * The order is TCP, UDP, raw (IPv4 before IPv6 for each), unix, packet; within a kind, the kernel's.
 * Each kind is one dump on its own netlink socket, so the list is a sequence of snapshots, not one
 * instant. The netlink sockets are closed before this returns or throws.
 *
 * Corresponds to what `ss` does with `SOCK_DIAG_BY_FAMILY` requests (iproute2 misc/ss.c).
 * @param filter - see {@link SocketFilter}; every field narrows the list.
 * @throws TypeError/RangeError (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE) naming the
 *   filter field at fault, before anything is asked.
 * @throws SystemError the errno of the kernel's NLMSG_ERROR reply (syscall 'recv'; ENOENT when a diag
 *   module is missing), or of socket/sendmsg/recv; `scandir` ENOENT/EACCES when `/proc/<pid>/fd` of the
 *   filter's pid cannot be read.
 * @example
 * const { listSockets, AF_INET, IPPROTO_TCP } = require('sockfd');
 * for (const s of listSockets({ family: AF_INET, protocol: IPPROTO_TCP, states: ['LISTEN'] }))
 *   console.log(s.local, s.recvQueue, s.sendQueue, s.fds); // accept queue, backlog, our fds
 */
export function listSockets(filter?: SocketFilter): SocketEntry[] {
  const f = checkFilter(filter);
  // Read the fds first, so a socket that is both listed and ours always shows the fd.
  const fds = socketFds(f.pid);
  const inetFamilies = f.family === undefined ? [AF_INET, AF_INET6] : f.family === AF_INET || f.family === AF_INET6 ? [f.family] : [];
  let entries: SocketEntry[] = [];
  const protocols = f.protocol === IPPROTO_UDPLITE ? [[IPPROTO_UDPLITE, SOCK_DGRAM] as [number, number]] : INET_PROTOCOLS;
  for (const [protocol, type] of protocols) {
    if ((f.type !== undefined && f.type !== type) || (f.protocol !== undefined && f.protocol !== protocol)) continue;
    for (const family of inetFamilies) append(entries, ...dumpInet(family, protocol, type, f.states));
  }
  if (f.type === undefined || f.type === SOCK_RAW) {
    for (const family of inetFamilies) append(entries, ...dumpRaw(family, f.states));
  }
  if ((f.family === undefined || f.family === AF_UNIX) && (f.protocol === undefined || f.protocol === 0) && f.type !== SOCK_RAW) {
    append(entries, ...dumpUnix());
  }
  if ((f.family === undefined || f.family === AF_PACKET) && (f.type === undefined || f.type === SOCK_RAW || f.type === SOCK_DGRAM)) {
    append(entries, ...dumpPacket());
  }
  entries = entries.filter(
    (e) =>
      (f.states & (1 << e.state)) !== 0 &&
      (f.type === undefined || e.type === f.type) &&
      (f.protocol === undefined || e.protocol === f.protocol) &&
      (f.port === undefined || portOf(e.local) === f.port || portOf(e.peer) === f.port) &&
      (f.pid === undefined || fds.has(e.inode)),
  );
  for (const e of entries) e.fds = (e.inode && fds.get(e.inode)) || [];
  return entries;
}

function portOf(a: unknown): number | undefined {
  return a && typeof a === 'object' && Object.prototype.hasOwnProperty.call(a, 'port') ? (a as { port: number }).port : undefined;
}

const TCP_SYN_RECV = TCP_STATES.indexOf('SYN_RECV');
const SYN_RECV = 1 << TCP_SYN_RECV;

/**
 * The SYN_RECV request sockets of a TCP listener bound to `local`: the half-open connections the
 * kernel holds for it. An IPv6 listener that is not v6only also holds IPv4 clients' requests, listed
 * by the kernel under AF_INET. Listeners sharing a port through SO_REUSEPORT cannot be told apart.
 * @internal
 */
export function synQueueOf(local: SockAddrIn | SockAddrIn6, v6only: boolean): SocketEntry[] {
  const wildcard = local.address === '0.0.0.0' || local.address === '::';
  const families = local.family === AF_INET6 && !v6only && local.address === '::' ? [AF_INET6, AF_INET] : [local.family];
  const out: SocketEntry[] = [];
  for (const family of families) {
    for (const e of dumpInet(family, IPPROTO_TCP, SOCK_STREAM, SYN_RECV)) {
      const at = e.local as SockAddrIn;
      if (e.state === TCP_SYN_RECV && at.port === local.port && (wildcard || at.address === local.address)) append(out, e);
    }
  }
  return out;
}
