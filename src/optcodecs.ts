/**
 * The structured socket options sockfd knows by name: how each C struct maps to a JS value. Used by
 * getsockopt/setsockopt (src/sockopt.ts); any option not listed here is a C `int` or raw bytes.
 * All structs are in host byte order, with Linux's 64-bit layouts.
 * @packageDocumentation
 */
import { isIP } from 'node:net';
import * as os from 'node:os';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_ADD_MEMBERSHIP,
  IPV6_DROP_MEMBERSHIP,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  PACKET_ADD_MEMBERSHIP,
  PACKET_DROP_MEMBERSHIP,
  SOL_PACKET,
  SOL_SOCKET,
  SO_BINDTODEVICE,
  SO_LINGER,
  SO_PEERCRED,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  TCP_CONGESTION,
  TCP_INFO,
} from './constants.generated.js';
import { invalidArgType, invalidArgValue, isRevokedProxy, optionsArg, outOfRange } from './argerrors.js';
import { inet_ntop, inet_pton } from './inet.js';

/** `struct linger` (SO_LINGER). */
export interface Linger {
  /** Non-zero: close waits (up to `linger` seconds) for unsent data, or resets at once when `linger` is 0. */
  onoff: number;
  /** Seconds. */
  linger: number;
}

/** `struct timeval` (SO_RCVTIMEO, SO_SNDTIMEO). A plain number sets milliseconds. */
export interface Timeval {
  /**
   * Seconds. setsockopt takes up to 2^53 - 1 (`Number.MAX_SAFE_INTEGER`), and the kernel gives back
   * what it was given, so what getsockopt reads is exact; only a larger value set as raw bytes would
   * read rounded (read such a value as bytes: `getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 16)`).
   */
  sec: number;
  usec: number;
}

/** `struct ucred` (SO_PEERCRED): the peer process of a unix socket, as of connect/socketpair. */
export interface Ucred {
  pid: number;
  uid: number;
  gid: number;
}

/** `struct ip_mreqn` (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IP_MULTICAST_IF). */
export interface IpMreqn {
  /** The multicast group (not used by IP_MULTICAST_IF). */
  multiaddr?: string;
  /** The local interface address, or '0.0.0.0' (the default) to choose by `ifindex`. */
  address?: string;
  /** The interface index, or 0 (the default) for any. */
  ifindex?: number;
}

/** `struct ipv6_mreq` (IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP). */
export interface Ipv6Mreq {
  multiaddr: string;
  /** The interface index, or 0 for the default. */
  ifindex?: number;
}

/** `struct packet_mreq`, for PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP at SOL_PACKET. */
export interface PacketMreq {
  /** The interface's index (see if_nametoindex). */
  ifindex: number;
  /** PACKET_MR_PROMISC, PACKET_MR_MULTICAST, PACKET_MR_ALLMULTI or PACKET_MR_UNICAST. */
  type: number;
  /** The hardware address, for PACKET_MR_MULTICAST and PACKET_MR_UNICAST (up to 8 bytes). */
  address?: Uint8Array;
}

/** TCP states (`tcpi_state`), by their kernel names: `TCP_STATES[1]` is 'ESTABLISHED' (0 is no state). */
export const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
] as const;

/** The name of a TCP state (`tcpi_state`), as the kernel names it: 'ESTABLISHED', 'LISTEN', ... */
export type TcpStateName = Exclude<(typeof TCP_STATES)[number], ''>;

/**
 * `struct tcp_info` (TCP_INFO), decoded: every field the kernel filled, with the `tcpi_` prefix dropped
 * and names in camelCase. Times are in microseconds unless named otherwise (`last*` in ms).
 * For a listening socket, `unacked` is the accept queue's length and `sacked` its backlog.
 *
 * The kernel's 64-bit counters and rates (`pacingRate`, `maxPacingRate`, `bytesAcked`, `bytesReceived`,
 * `deliveryRate`, `busyTime`, `rwndLimited`, `sndbufLimited`, `bytesSent`, `bytesRetrans`) are
 * `bigint`s: they can exceed 2^53 (an unlimited `maxPacingRate` is 2^64 - 1), which a number cannot
 * hold exactly. Every other field is 8 or 32 bits and a number.
 */
export interface TcpInfo {
  state: number;
  /**
   * `state` as the kernel names it: 'ESTABLISHED', 'LISTEN', 'CLOSE_WAIT', ... (a state number the
   * table does not know reads as its digits, and 0 as ''; Linux reports neither).
   */
  stateName: TcpStateName | '' | `${number}`;
  caState: number;
  retransmits: number;
  probes: number;
  backoff: number;
  options: number;
  sndWscale: number;
  rcvWscale: number;
  /** `tcpi_delivery_rate_app_limited`: 1 when the last delivery-rate sample was limited by the application (ss prints `app_limited`). */
  deliveryRateAppLimited: number;
  /** `tcpi_fastopen_client_fail`: why a TCP Fast Open client fell back (0 none or unknown). */
  fastopenClientFail: number;
  rto: number;
  ato: number;
  sndMss: number;
  rcvMss: number;
  unacked: number;
  sacked: number;
  lost: number;
  retrans: number;
  fackets: number;
  lastDataSent: number;
  lastAckSent: number;
  lastDataRecv: number;
  lastAckRecv: number;
  pmtu: number;
  rcvSsthresh: number;
  rtt: number;
  rttvar: number;
  sndSsthresh: number;
  sndCwnd: number;
  advmss: number;
  reordering: number;
  rcvRtt?: number;
  rcvSpace?: number;
  totalRetrans?: number;
  pacingRate?: bigint;
  maxPacingRate?: bigint;
  bytesAcked?: bigint;
  bytesReceived?: bigint;
  segsOut?: number;
  segsIn?: number;
  notsentBytes?: number;
  minRtt?: number;
  dataSegsIn?: number;
  dataSegsOut?: number;
  deliveryRate?: bigint;
  busyTime?: bigint;
  rwndLimited?: bigint;
  sndbufLimited?: bigint;
  delivered?: number;
  deliveredCe?: number;
  bytesSent?: bigint;
  bytesRetrans?: bigint;
  dsackDups?: number;
  reordSeen?: number;
  rcvOoopack?: number;
  sndWnd?: number;
}

const le = os.endianness() === 'LE';
const rd32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
const rdi32 = (b: Buffer, o: number): number => (le ? b.readInt32LE(o) : b.readInt32BE(o));
const rd64 = (b: Buffer, o: number): bigint => (le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
const rdi64 = (b: Buffer, o: number): number => Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o));

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, v);
  return v;
}
function w16(b: Buffer, v: number, o: number): void {
  if (le) b.writeUInt16LE(v, o);
  else b.writeUInt16BE(v, o);
}
function w32(b: Buffer, v: number, o: number): void {
  if (v < 0) le ? b.writeInt32LE(v, o) : b.writeInt32BE(v, o);
  else le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
}
function w64(b: Buffer, v: number, o: number): void {
  if (le) b.writeBigInt64LE(BigInt(v), o);
  else b.writeBigInt64BE(BigInt(v), o);
}
/** The fields of a structured option's object, each read once; a field the struct does not have is a TypeError. */
function object(v: unknown, name: string, fields: readonly string[]): Record<string, unknown> {
  const id = fields.join(',');
  let spec = structSpecs.get(id);
  if (spec === undefined) {
    spec = Object.fromEntries(fields.map((f) => [f, (x: unknown) => x])) as Record<string, (x: unknown) => unknown>;
    structSpecs.set(id, spec);
  }
  return optionsArg(v, name, spec) as Record<string, unknown>;
}
/** The option specs of the structs' fields, made once each. */
const structSpecs = new Map<string, Record<string, (x: unknown) => unknown>>();

/** How one structured option maps: `size` bytes for getsockopt, and the two directions. */
export interface OptCodec {
  size: number;
  /** What `setsockopt` takes for it, for error messages: `'{ onoff, linger }'`. */
  shape?: string;
  /** The JS types `encode` takes (besides raw bytes, which any option takes); none for an option that is only read. */
  accepts?: readonly ('object' | 'number' | 'string')[];
  decode?(buf: Buffer): unknown;
  encode?(value: unknown): Buffer;
}

const TCP_INFO_FIELDS: [keyof TcpInfo, number, 32 | 64][] = [
  ['rto', 8, 32], ['ato', 12, 32], ['sndMss', 16, 32], ['rcvMss', 20, 32], ['unacked', 24, 32], ['sacked', 28, 32],
  ['lost', 32, 32], ['retrans', 36, 32], ['fackets', 40, 32], ['lastDataSent', 44, 32], ['lastAckSent', 48, 32],
  ['lastDataRecv', 52, 32], ['lastAckRecv', 56, 32], ['pmtu', 60, 32], ['rcvSsthresh', 64, 32], ['rtt', 68, 32],
  ['rttvar', 72, 32], ['sndSsthresh', 76, 32], ['sndCwnd', 80, 32], ['advmss', 84, 32], ['reordering', 88, 32],
  ['rcvRtt', 92, 32], ['rcvSpace', 96, 32], ['totalRetrans', 100, 32], ['pacingRate', 104, 64],
  ['maxPacingRate', 112, 64], ['bytesAcked', 120, 64], ['bytesReceived', 128, 64], ['segsOut', 136, 32],
  ['segsIn', 140, 32], ['notsentBytes', 144, 32], ['minRtt', 148, 32], ['dataSegsIn', 152, 32],
  ['dataSegsOut', 156, 32], ['deliveryRate', 160, 64], ['busyTime', 168, 64], ['rwndLimited', 176, 64],
  ['sndbufLimited', 184, 64], ['delivered', 192, 32], ['deliveredCe', 196, 32], ['bytesSent', 200, 64],
  ['bytesRetrans', 208, 64], ['dsackDups', 216, 32], ['reordSeen', 220, 32], ['rcvOoopack', 224, 32],
  ['sndWnd', 228, 32],
];

/** Decodes `struct tcp_info`; fields beyond what the kernel returned are left out. */
export function decodeTcpInfo(b: Buffer): TcpInfo {
  if (isRevokedProxy(b) || !Buffer.isBuffer(b)) throw invalidArgType('b', 'an instance of Buffer', b);
  if (b.length < 8) throw outOfRange('tcp_info', 'at least 8 bytes', b.length);
  // Built from entries (defined, never assigned), so no setter on Object.prototype can drop a field.
  const fields = TCP_INFO_FIELDS.filter(([, offset, bits]) => offset + bits / 8 <= b.length).map(
    ([name, offset, bits]) => [name, bits === 32 ? rd32(b, offset) : rd64(b, offset)] as const,
  );
  return {
    state: b[0]!,
    stateName: TCP_STATES[b[0]!] ?? (String(b[0]) as `${number}`),
    caState: b[1]!,
    retransmits: b[2]!,
    probes: b[3]!,
    backoff: b[4]!,
    options: b[5]!,
    sndWscale: b[6]! & 0xf,
    rcvWscale: b[6]! >> 4,
    deliveryRateAppLimited: b[7]! & 1,
    fastopenClientFail: (b[7]! >> 1) & 3,
    ...Object.fromEntries(fields),
  } as TcpInfo;
}

function inAddr(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || isIP(v) !== 4) throw invalidArgValue(name, 'must be an IPv4 address literal', v);
  return inet_pton(AF_INET, v);
}

function in6Addr(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || isIP(v) !== 6) throw invalidArgValue(name, 'must be an IPv6 address literal', v);
  return inet_pton(AF_INET6, v);
}

const linger: OptCodec = {
  size: 8,
  shape: '{ onoff, linger }',
  accepts: ['object'],
  decode: (b) => ({ onoff: rdi32(b, 0), linger: rdi32(b, 4) }) satisfies Linger,
  encode(v) {
    const o = object(v, 'value', ['onoff', 'linger']);
    const b = Buffer.alloc(8);
    w32(b, int(o.onoff, 'value.onoff', -(2 ** 31), 2 ** 31 - 1), 0);
    w32(b, int(o.linger, 'value.linger', -(2 ** 31), 2 ** 31 - 1), 4);
    return b;
  },
};

const timeval: OptCodec = {
  size: 16,
  shape: 'a number of milliseconds or { sec, usec }',
  accepts: ['number', 'object'],
  decode: (b) => ({ sec: rdi64(b, 0), usec: rdi64(b, 8) }) satisfies Timeval,
  encode(v) {
    const b = Buffer.alloc(16);
    if (typeof v === 'number') {
      const ms = int(v, 'value', 0, Number.MAX_SAFE_INTEGER);
      w64(b, Math.floor(ms / 1000), 0);
      w64(b, (ms % 1000) * 1000, 8);
      return b;
    }
    const o = object(v, 'value', ['sec', 'usec']);
    w64(b, int(o.sec, 'value.sec', 0, Number.MAX_SAFE_INTEGER), 0);
    w64(b, int(o.usec, 'value.usec', 0, 999_999), 8);
    return b;
  },
};

const ipMreqn: OptCodec = {
  size: 12,
  shape: '{ multiaddr, address?, ifindex? }',
  accepts: ['object'],
  encode(v) {
    const o = object(v, 'value', ['multiaddr', 'address', 'ifindex']);
    const b = Buffer.alloc(12); // struct in_addr imr_multiaddr, imr_address; int imr_ifindex
    if (o.multiaddr !== undefined) inAddr(o.multiaddr, 'value.multiaddr').copy(b, 0);
    if (o.address !== undefined) inAddr(o.address, 'value.address').copy(b, 4);
    w32(b, int(o.ifindex ?? 0, 'value.ifindex', 0, 2 ** 31 - 1), 8);
    return b;
  },
};

const ipv6Mreq: OptCodec = {
  size: 20,
  shape: '{ multiaddr, ifindex? }',
  accepts: ['object'],
  encode(v) {
    const o = object(v, 'value', ['multiaddr', 'ifindex']);
    const b = Buffer.alloc(20); // struct in6_addr ipv6mr_multiaddr; int ipv6mr_interface
    in6Addr(o.multiaddr, 'value.multiaddr').copy(b, 0);
    w32(b, int(o.ifindex ?? 0, 'value.ifindex', 0, 2 ** 31 - 1), 16);
    return b;
  },
};

const packetMreq: OptCodec = {
  size: 16,
  shape: '{ ifindex, type, address? }',
  accepts: ['object'],
  encode(v) {
    const o = object(v, 'value', ['ifindex', 'type', 'address']);
    const address = (o.address ?? new Uint8Array(0)) as Uint8Array;
    if (!(address instanceof Uint8Array) || address.length > 8) {
      throw outOfRange('value.address', 'a Uint8Array of at most 8 bytes', (address as Uint8Array)?.length);
    }
    const b = Buffer.alloc(16); // int mr_ifindex; u16 mr_type; u16 mr_alen; u8 mr_address[8]
    w32(b, int(o.ifindex, 'value.ifindex', 0, 2 ** 31 - 1), 0);
    w16(b, int(o.type, 'value.type', 0, 0xffff), 4);
    w16(b, address.length, 6);
    b.set(address, 8);
    return b;
  },
};

const name: OptCodec = {
  size: 64,
  shape: 'a string (an interface or algorithm name)',
  accepts: ['string'],
  decode: (b) => {
    const end = b.indexOf(0);
    return b.toString('utf8', 0, end < 0 ? b.length : end);
  },
  encode(v) {
    if (typeof v !== 'string') throw invalidArgType('value', 'of type string', v);
    if (v.includes('\0')) throw invalidArgValue('value', 'must not contain NUL characters', v);
    return Buffer.from(v, 'utf8');
  },
};

// A numeric key (no string built per call): levels and option names are both below 2^16.
const key = (level: number, opt: number): number => level * 0x10000 + opt;

/** The structured options, by (level, name). */
export const optCodecs = new Map<number, OptCodec>([
  [key(SOL_SOCKET, SO_LINGER), linger],
  [key(SOL_SOCKET, SO_RCVTIMEO), timeval],
  [key(SOL_SOCKET, SO_SNDTIMEO), timeval],
  [key(SOL_SOCKET, SO_PEERCRED), { size: 12, shape: 'nothing: it can only be read', decode: (b) => ({ pid: rdi32(b, 0), uid: rd32(b, 4), gid: rd32(b, 8) }) satisfies Ucred }],
  [key(SOL_SOCKET, SO_BINDTODEVICE), name],
  [key(IPPROTO_TCP, TCP_CONGESTION), name],
  [key(IPPROTO_TCP, TCP_INFO), { size: 256, shape: 'nothing: it can only be read', decode: decodeTcpInfo }],
  [key(IPPROTO_IP, IP_ADD_MEMBERSHIP), ipMreqn],
  [key(IPPROTO_IP, IP_DROP_MEMBERSHIP), ipMreqn],
  [
    key(IPPROTO_IP, IP_MULTICAST_IF),
    {
      size: 4,
      shape: 'an IPv4 address string or { address?, ifindex? }',
      accepts: ['string', 'object'],
      decode: (b) => inet_ntop(AF_INET, Buffer.concat([b, Buffer.alloc(4)]).subarray(0, 4)),
      encode: (v) => {
        if (typeof v === 'string') return inAddr(v, 'value');
        return ipMreqn.encode!(object(v, 'value', ['address', 'ifindex']));
      },
    },
  ],
  [key(IPPROTO_IPV6, IPV6_JOIN_GROUP), ipv6Mreq],
  [key(IPPROTO_IPV6, IPV6_LEAVE_GROUP), ipv6Mreq],
  [key(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP), ipv6Mreq],
  [key(IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP), ipv6Mreq],
  [key(SOL_PACKET, PACKET_ADD_MEMBERSHIP), packetMreq],
  [key(SOL_PACKET, PACKET_DROP_MEMBERSHIP), packetMreq],
]);

/** The codec of a structured option, if sockfd knows it. */
export function optCodec(level: number, opt: number): OptCodec | undefined {
  return optCodecs.get(key(level, opt));
}
