/**
 * Control messages (ancillary data) as typed objects, in both directions: the codecs of the items
 * sockfd knows (SCM_RIGHTS, SCM_CREDENTIALS, IP_PKTINFO, IPV6_PKTINFO, IP_TTL, IP_TOS, IPV6_HOPLIMIT,
 * IPV6_TCLASS, the SCM_TIMESTAMP family, IP_RECVERR/IPV6_RECVERR), used by sendmsg/recvmsg in both
 * entry points. Their types are in src/cmsgtypes.ts.
 *
 * Received items are built as object literals (own data properties, never assignments), so a setter a
 * program put on Object.prototype or Array.prototype cannot drop a field, and the fds of SCM_RIGHTS
 * items are closed if decoding fails for any reason before the result reaches the caller.
 * @packageDocumentation
 */
import * as os from 'node:os';
import { native } from './binding.js';
import {
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
  MSG_CTRUNC,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SCM_TIMESTAMP,
  SCM_TIMESTAMPING,
  SCM_TIMESTAMPNS,
  SOL_SOCKET,
  AF_INET,
  AF_INET6,
} from './constants.generated.js';
import { integerArg, invalidArgType, invalidArgValue, listArg, outOfRange } from './argerrors.js';
import { inet_ntop, inet_pton } from './inet.js';
import { own } from './own.js';
import type { ControlMessage } from './cmsgtypes.js';

/** A control message as the native layer takes and gives it. @internal */
export interface RawControl {
  level: number;
  type: number;
  data: Uint8Array;
}

const le = os.endianness() === 'LE';
const i32 = (b: Buffer, o: number): number => (le ? b.readInt32LE(o) : b.readInt32BE(o));
const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
const i64 = (b: Buffer, o: number): number => Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o));
function w32(b: Buffer, v: unknown, o: number, name: string, min = -(2 ** 31), max = 2 ** 31 - 1): void {
  const n = integerArg(v, name, min, max);
  if (n < 0) le ? b.writeInt32LE(n, o) : b.writeInt32BE(n, o);
  else le ? b.writeUInt32LE(n, o) : b.writeUInt32BE(n, o);
}
function address(v: unknown, family: number, name: string): Buffer {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  return inet_pton(family, v);
}

/** The fields of one item to send, each read once. */
type Fields = Record<string, unknown>;

interface Codec {
  /** The smallest complete item: a shorter one was cut short by the kernel (MSG_CTRUNC). */
  min: number;
  /** The item's own fields (besides level, type and data), read once each by `encode`. */
  fields?: readonly string[];
  encode?(item: Fields, at: string): Buffer;
  /** The decoded fields of a received item, as a new object. */
  decode(data: Buffer): Record<string, unknown>;
}

function intCodec(): Codec {
  return {
    min: 1,
    fields: ['value'],
    encode(item, at) {
      const b = Buffer.alloc(4);
      w32(b, item.value, 0, `${at}.value`);
      return b;
    },
    // IP_TOS arrives as one byte; the others as an int.
    decode: (data) => (data.length >= 4 ? { value: i32(data, 0) } : data.length >= 1 ? { value: data[0]! } : {}),
  };
}

const codecs = new Map<string, Codec>();
const key = (level: number, type: number): string => `${level}:${type}`;

codecs.set(key(SOL_SOCKET, SCM_RIGHTS), {
  min: 4,
  fields: ['fds'],
  encode(item, at) {
    const fds = listArg(item.fds, `${at}.fds`, 253);
    if (fds.length === 0) throw outOfRange(`${at}.fds.length`, 'from 1 to 253 (SCM_MAX_FD)', 0);
    const b = Buffer.alloc(fds.length * 4);
    fds.forEach((fd, i) => w32(b, fd, i * 4, `${at}.fds[${i}]`, 0));
    return b;
  },
  decode: (data) => ({ fds: Array.from({ length: Math.floor(data.length / 4) }, (_, i) => i32(data, i * 4)) }),
});

codecs.set(key(SOL_SOCKET, SCM_CREDENTIALS), {
  min: 12,
  fields: ['pid', 'uid', 'gid'],
  encode(item, at) {
    const b = Buffer.alloc(12);
    w32(b, item.pid, 0, `${at}.pid`, 0);
    w32(b, item.uid, 4, `${at}.uid`, 0, 2 ** 32 - 1);
    w32(b, item.gid, 8, `${at}.gid`, 0, 2 ** 32 - 1);
    return b;
  },
  decode: (data) => (data.length < 12 ? {} : { pid: i32(data, 0), uid: u32(data, 4), gid: u32(data, 8) }),
});

codecs.set(key(IPPROTO_IP, IP_PKTINFO), {
  min: 12,
  fields: ['ifindex', 'specDst', 'addr'],
  encode(item, at) {
    const b = Buffer.alloc(12); // int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr
    w32(b, item.ifindex ?? 0, 0, `${at}.ifindex`, 0);
    if (item.specDst !== undefined) address(item.specDst, AF_INET, `${at}.specDst`).copy(b, 4);
    if (item.addr !== undefined) address(item.addr, AF_INET, `${at}.addr`).copy(b, 8);
    return b;
  },
  decode: (data) =>
    data.length < 12
      ? {}
      : { ifindex: i32(data, 0), specDst: inet_ntop(AF_INET, data.subarray(4, 8)), addr: inet_ntop(AF_INET, data.subarray(8, 12)) },
});

codecs.set(key(IPPROTO_IPV6, IPV6_PKTINFO), {
  min: 20,
  fields: ['addr', 'ifindex'],
  encode(item, at) {
    const b = Buffer.alloc(20); // struct in6_addr ipi6_addr; unsigned ipi6_ifindex
    if (item.addr !== undefined) address(item.addr, AF_INET6, `${at}.addr`).copy(b, 0);
    w32(b, item.ifindex ?? 0, 16, `${at}.ifindex`, 0, 2 ** 32 - 1);
    return b;
  },
  decode: (data) => (data.length < 20 ? {} : { addr: inet_ntop(AF_INET6, data.subarray(0, 16)), ifindex: u32(data, 16) }),
});

for (const [level, type] of [
  [IPPROTO_IP, IP_TTL],
  [IPPROTO_IP, IP_TOS],
  [IPPROTO_IPV6, IPV6_HOPLIMIT],
  [IPPROTO_IPV6, IPV6_TCLASS],
] as const) {
  codecs.set(key(level, type), intCodec());
}

codecs.set(key(SOL_SOCKET, SCM_TIMESTAMPNS), {
  min: 16,
  decode: (data) => (data.length < 16 ? {} : { sec: i64(data, 0), nsec: i64(data, 8) }),
});
codecs.set(key(SOL_SOCKET, SCM_TIMESTAMP), {
  min: 16,
  decode: (data) => (data.length < 16 ? {} : { sec: i64(data, 0), nsec: i64(data, 8) * 1000 }),
});
codecs.set(key(SOL_SOCKET, SCM_TIMESTAMPING), {
  min: 16,
  decode: (data) => ({
    timestamps: Array.from({ length: Math.min(3, Math.floor(data.length / 16)) }, (_, i) => ({ sec: i64(data, i * 16), nsec: i64(data, i * 16 + 8) })),
  }),
});

const recverr: Codec = {
  min: 16,
  decode(data) {
    if (data.length < 16) return {};
    // An unset offender is all zeros: family AF_UNSPEC.
    const offender = data.length > 16 ? native.decodeRawSockaddr(data.subarray(16)) : null;
    return {
      error: {
        errno: u32(data, 0),
        origin: data[4]!,
        type: data[5]!,
        code: data[6]!,
        info: u32(data, 8),
        data: u32(data, 12),
        offender: offender && offender.family !== 0 ? offender : null,
      },
    };
  },
};
codecs.set(key(IPPROTO_IP, IP_RECVERR), recverr);
codecs.set(key(IPPROTO_IPV6, IPV6_RECVERR), recverr);

const ITEM_FIELDS = ['level', 'type', 'data'] as const;

/**
 * A control message as the bytes the kernel takes; every field is read once.
 * @param at - the item's name in errors, e.g. `options.control[2]`.
 * @internal
 */
export function encodeControl(item: unknown, at: string): RawControl {
  if (typeof item !== 'object' || item === null || Array.isArray(item) || ArrayBuffer.isView(item)) {
    throw invalidArgType(at, 'an object { level, type, ... }', item);
  }
  const given = item as Fields;
  const level = integerArg(given.level, `${at}.level`, -(2 ** 31), 2 ** 31 - 1);
  const type = integerArg(given.type, `${at}.type`, -(2 ** 31), 2 ** 31 - 1);
  const data = given.data;
  const codec = codecs.get(key(level, type));
  const known = new Set<string>([...ITEM_FIELDS, ...(codec?.fields ?? [])]);
  for (const k of Object.keys(given)) {
    if (!known.has(k)) throw invalidArgValue(at, `has the property "${k}", which a control message of level ${level}, type ${type} does not take`, item);
  }
  if (data !== undefined) {
    if (!ArrayBuffer.isView(data)) throw invalidArgType(`${at}.data`, 'an instance of Buffer, TypedArray, or DataView', data);
    if (codec?.fields?.some((f) => given[f] !== undefined)) {
      throw invalidArgValue(at, 'must give either its raw `data` or its fields, not both', item);
    }
    return { level, type, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  if (!codec?.encode) {
    throw invalidArgValue(at, 'is a control message sockfd cannot encode from fields: give its bytes as `data`', item);
  }
  const fields: Fields = {};
  for (const f of codec.fields ?? []) own(fields, f, given[f]);
  return { level, type, data: codec.encode(fields, at) };
}

/**
 * The control items to send: a list of at most 1024 items, each encoded and checked before anything is
 * sent. @internal
 */
export function encodeControls(control: unknown, name: string): RawControl[] {
  return listArg(control, name, 1024).map((item, i) => encodeControl(item, `${name}[${i}]`));
}

/**
 * Decodes the raw control items of a recvmsg result. Under MSG_CTRUNC the kernel cuts the last item
 * short and shrinks its length to match, so an item shorter than its type's struct is dropped (fds
 * always arrive whole, and the native side closes those of any item it drops). If decoding fails in any
 * way, the fds received are closed before the error goes on, so none leaks. @internal
 */
export function decodeControl(raw: readonly { level: number; type: number; data: Buffer }[], flags: number): ControlMessage[] {
  try {
    // filter and map define their elements (an assignment to a new index could run a setter).
    return raw
      .filter((item) => {
        const codec = codecs.get(key(item.level, item.type));
        return !(codec && item.data.length < codec.min && flags & MSG_CTRUNC);
      })
      // Each codec's fields are its variant's (the kernel delivers complete items), so the item is that variant.
      .map((item) => ({ level: item.level, type: item.type, data: item.data, ...codecs.get(key(item.level, item.type))?.decode(item.data) }) as ControlMessage);
  } catch (err) {
    closeReceivedFds(raw);
    throw err;
  }
}

/** Closes every fd carried by the SCM_RIGHTS items of a raw recvmsg result. @internal */
export function closeReceivedFds(raw: readonly { level: number; type: number; data: Buffer }[]): void {
  for (const item of raw) {
    if (item.level !== SOL_SOCKET || item.type !== SCM_RIGHTS) continue;
    for (let o = 0; o + 4 <= item.data.length; o += 4) native.close(i32(item.data, o));
  }
}
