/**
 * Typed packet-socket options: `packetStatistics` (PACKET_STATISTICS) and `packetFanout` /
 * `getPacketFanout` (PACKET_FANOUT), which spread one interface's frames over several AF_PACKET
 * sockets — in one thread, several worker_threads or several processes.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { native } from './binding.js';
import { fdArg, integerArg, invalidArgValue, optionsArg, outOfRange } from './argerrors.js';
import {
  PACKET_FANOUT,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_CPU,
  PACKET_FANOUT_EBPF,
  PACKET_FANOUT_FLAG_DEFRAG,
  PACKET_FANOUT_FLAG_ROLLOVER,
  PACKET_FANOUT_FLAG_UNIQUEID,
  PACKET_FANOUT_HASH,
  PACKET_FANOUT_LB,
  PACKET_FANOUT_QM,
  PACKET_FANOUT_RND,
  PACKET_FANOUT_ROLLOVER,
  SOL_PACKET,
} from './constants.generated.js';
import { SystemError, check } from './errors.js';

const { EINVAL, ENOPROTOOPT, EOPNOTSUPP, EALREADY, ENOSPC } = osConstants.errno;

/** The kernel's PACKET_STATISTICS of a packet socket. */
export interface PacketStatistics {
  /** Frames that reached the socket, the dropped ones included (the kernel adds `drops` in; tcpdump's "received by filter"). */
  packets: number;
  /** Frames dropped because the receive buffer or ring was full (tcpdump's "dropped by kernel"). */
  drops: number;
  /** TPACKET_V3 rings only: how often the kernel found the ring full and froze it until a block came back; 0 otherwise. */
  freezeQueueCount: number;
}

const statsScratch = new Uint32Array(3);

/**
 * The error of a SOL_PACKET option asked of a socket that is not AF_PACKET (the kernel answers
 * EOPNOTSUPP, or ENOPROTOOPT), with a hint; other results as they are.
 * @internal
 */
export function packetOptionError(result: number, syscall: string): SystemError | null {
  if (result === -EOPNOTSUPP || result === -ENOPROTOOPT) return new SystemError(-result, syscall, undefined, 'SOL_PACKET options need an AF_PACKET socket');
  return null;
}

/**
 * Reads and resets a packet socket's counters; corresponds to `getsockopt(fd, SOL_PACKET,
 * PACKET_STATISTICS)` with a `struct tpacket_stats_v3` (a `struct tpacket_stats` for sockets without
 * a TPACKET_V3 ring, whose `freezeQueueCount` is then 0). The kernel resets the counters on every
 * read, so each call gives the counts since the previous one (a {@link RxRing} keeps totals: use its
 * `stats()` for ring sockets).
 * @throws SystemError `getsockopt` (ENOTSUP for a socket that is not AF_PACKET, EBADF, ...).
 * @example
 * const { packets, drops } = packetStatistics(fd);
 */
export function packetStatistics(fd: number): PacketStatistics {
  const r = native.packetStatistics(fd, statsScratch);
  const notPacket = packetOptionError(r, 'getsockopt');
  if (notPacket) throw notPacket;
  check(r, 'getsockopt');
  return { packets: statsScratch[0]!, drops: statsScratch[1]!, freezeQueueCount: statsScratch[2]! };
}

/** Options of {@link packetFanout}. */
export interface PacketFanoutOptions {
  /**
   * How frames are spread: PACKET_FANOUT_HASH (by flow hash: a flow stays on one socket), _LB (round
   * robin), _CPU (by the CPU the frame arrived on), _ROLLOVER (fill one socket, then the next), _RND,
   * _QM (by the NIC's queue), _CBPF / _EBPF (a program, set with PACKET_FANOUT_DATA).
   */
  type: number;
  /** The group: sockets of one network namespace with the same id share the frames (0–65535). Required unless `flags` has PACKET_FANOUT_FLAG_UNIQUEID. */
  id?: number;
  /** PACKET_FANOUT_FLAG_ROLLOVER (move to another socket when this one is full), _UNIQUEID (the kernel picks a free id: then `id` must be 0 or absent), _DEFRAG, or-ed. */
  flags?: number;
  /** The most sockets the group takes (1–65536; set by its first member, Linux ≥ 5.13); default the kernel's 256. */
  maxMembers?: number;
}

/** A socket's fanout group, as {@link getPacketFanout} reads it. */
export interface PacketFanout {
  /** The group's id. */
  id: number;
  /** PACKET_FANOUT_HASH, _LB, ... */
  type: number;
  /** The group's PACKET_FANOUT_FLAG_* bits (ROLLOVER, DEFRAG; UNIQUEID is the creator's only and not kept). */
  flags: number;
}

const FANOUT_TYPES = [
  PACKET_FANOUT_HASH,
  PACKET_FANOUT_LB,
  PACKET_FANOUT_CPU,
  PACKET_FANOUT_ROLLOVER,
  PACKET_FANOUT_RND,
  PACKET_FANOUT_QM,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_EBPF,
].filter((t) => t !== undefined);
const FANOUT_FLAGS = (PACKET_FANOUT_FLAG_ROLLOVER ?? 0) | (PACKET_FANOUT_FLAG_UNIQUEID ?? 0) | (PACKET_FANOUT_FLAG_DEFRAG ?? 0);
/** The kernel's PACKET_FANOUT_MAX (include/net/... is not uapi): a group's largest size. */
const FANOUT_MAX = 65536;

const FANOUT_HINT =
  'a socket joins a fanout group once it is bound (it must be receiving), and only a group of the same type and flags, ' +
  'bound to the same interface and protocol';

/**
 * Adds a bound AF_PACKET socket to a fanout group; corresponds to `setsockopt(fd, SOL_PACKET,
 * PACKET_FANOUT)` (an int, or a `struct fanout_args` when `maxMembers` is given). Every socket of the
 * group must be bound to the same interface and protocol and ask for the same type and flags; the
 * kernel then hands each frame to one of them. A socket leaves its group when it is closed.
 * @returns the group's id (the one the kernel chose, with PACKET_FANOUT_FLAG_UNIQUEID).
 * @throws TypeError/RangeError for options outside the kernel's ranges, before the call;
 *   SystemError `setsockopt` (EINVAL for an unbound socket or a group that differs, EALREADY for a
 *   socket already in a group, ENOSPC for a full group).
 * @example
 * bind(fd, { family: AF_PACKET, protocol: htons(ETH_P_ALL), ifindex });
 * packetFanout(fd, { type: PACKET_FANOUT_HASH, id: 42 });
 */
export function packetFanout(fd: number, options: PacketFanoutOptions): number {
  const o = optionsArg(options, 'options', { type: 'number', id: 'number', flags: 'number', maxMembers: 'number' });
  if (o.type === undefined) throw invalidArgValue('options', 'must give the fanout type (options.type: PACKET_FANOUT_HASH, PACKET_FANOUT_LB, ...)', options);
  if (!(FANOUT_TYPES as readonly number[]).includes(o.type)) throw outOfRange('options.type', `one of the PACKET_FANOUT_* modes (${FANOUT_TYPES.join(', ')})`, o.type);
  const flags = o.flags ?? 0;
  if (!Number.isInteger(flags) || (flags & ~FANOUT_FLAGS) !== 0) throw outOfRange('options.flags', 'PACKET_FANOUT_FLAG_ROLLOVER, _UNIQUEID and _DEFRAG or-ed', flags);
  if (o.type === PACKET_FANOUT_ROLLOVER && flags & PACKET_FANOUT_FLAG_ROLLOVER) {
    throw invalidArgValue('options.flags', 'must not add PACKET_FANOUT_FLAG_ROLLOVER to the PACKET_FANOUT_ROLLOVER mode', flags);
  }
  const unique = (flags & (PACKET_FANOUT_FLAG_UNIQUEID ?? 0)) !== 0;
  const id = o.id === undefined ? undefined : integerArg(o.id, 'options.id', 0, 0xffff);
  if (unique && id !== undefined && id !== 0) throw invalidArgValue('options.id', 'must be 0 or absent with PACKET_FANOUT_FLAG_UNIQUEID (the kernel picks the id)', id);
  if (!unique && id === undefined) throw invalidArgValue('options', 'must give the group (options.id, 0-65535) unless options.flags has PACKET_FANOUT_FLAG_UNIQUEID', options);
  const maxMembers = o.maxMembers === undefined ? 0 : integerArg(o.maxMembers, 'options.maxMembers', 1, FANOUT_MAX);
  const r = native.packetFanout(fd, id ?? 0, o.type | flags, maxMembers);
  const notPacket = packetOptionError(r, 'setsockopt');
  if (notPacket) throw notPacket;
  if (r === -EINVAL || r === -ENOSPC || r === -EALREADY) {
    const why = r === -EALREADY ? 'the socket is in a fanout group already' : r === -ENOSPC ? 'the group is full (maxMembers)' : FANOUT_HINT;
    throw new SystemError(-r, 'setsockopt', undefined, why);
  }
  check(r, 'setsockopt');
  return getPacketFanout(fd)?.id ?? 0;
}

/**
 * The fanout group a packet socket is in, or null; corresponds to `getsockopt(fd, SOL_PACKET,
 * PACKET_FANOUT)`, whose int the kernel packs as id | type << 16 | flags << 24. That packing cannot
 * tell group 0 of type PACKET_FANOUT_HASH without flags from no group at all: both read as null.
 * @throws SystemError `getsockopt` (ENOTSUP for a socket that is not AF_PACKET).
 */
export function getPacketFanout(fd: number): PacketFanout | null {
  const out = new Int32Array(1);
  const r = native.getsockopt(fdArg(fd), SOL_PACKET, PACKET_FANOUT, out);
  const notPacket = packetOptionError(r, 'getsockopt');
  if (notPacket) throw notPacket;
  check(r, 'getsockopt');
  const v = out[0]! >>> 0;
  if (v === 0) return null;
  return { id: v & 0xffff, type: (v >>> 16) & 0xff, flags: (v >>> 24) << 8 };
}
