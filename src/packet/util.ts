/**
 * Shared helpers of `sockfd/packet`: argument checks for encoders, bounds checks for decoders, and
 * address text <-> bytes (IPv4, IPv6, link-layer) in pure TypeScript, so the module needs no native code.
 * @packageDocumentation
 * @internal
 */
import { PacketError, invalidArgType, invalidArgValue, isRevokedProxy, listArg, outOfRange } from './errors.js';

/**
 * The bytes of a `Uint8Array` as a Buffer over the same memory (no copy).
 * @internal
 */
export function asBuffer(data: unknown, name: string): Buffer {
  if (isRevokedProxy(data)) throw invalidArgType(name, 'an instance of Buffer or Uint8Array', data);
  if (Buffer.isBuffer(data)) return data;
  // A view of a detached buffer is empty (no view of its buffer can be made any more).
  if (data instanceof Uint8Array) return data.byteLength === 0 ? Buffer.alloc(0) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw invalidArgType(name, 'an instance of Buffer or Uint8Array', data);
}

/**
 * Checks that an argument is a non-null object (a header, a layer, a pseudo-header, an option):
 * TypeError `ERR_INVALID_ARG_TYPE` naming it otherwise, so that `encode(null)` never reaches a
 * property read of null.
 * @internal
 */
export function obj<T>(value: T, name: string): T & object {
  if (value === null || typeof value !== 'object' || isRevokedProxy(value)) throw invalidArgType(name, 'of type object', value);
  return value as T & object;
}

/**
 * An optional pseudo-header argument: undefined, or an object (its addresses are checked where used).
 * @internal
 */
export function optObj<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined) obj(value, name);
  return value;
}

/**
 * An optional array field: undefined, or an array (TypeError `ERR_INVALID_ARG_TYPE` otherwise).
 * @internal
 */
export function optArray<T>(value: readonly T[] | undefined, name: string, max = LIST_MAX): readonly T[] {
  if (value === undefined) return [];
  return list<T>(value, name, max);
}

/** The most entries a list argument of sockfd/packet may have unless a smaller limit is natural. @internal */
export const LIST_MAX = 1 << 16;

/**
 * A list argument, read once into a new dense array: a TypeError for anything but an array, a
 * RangeError for more than `max` entries before any is read (a sparse array of length 2^32-1 is
 * refused, never walked), and a hole read as undefined for the element check to refuse.
 * @internal
 */
export function list<T>(value: unknown, name: string, max = LIST_MAX): T[] {
  return listArg(value, name, max) as T[];
}

/**
 * A `name` argument (the argument's name in error messages), checked: a string.
 * @internal
 */
export function nameArg(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  return name;
}

/**
 * An optional payload as a Buffer (empty when undefined).
 * @internal
 */
export function payloadOf(payload: unknown): Buffer {
  return payload === undefined ? Buffer.alloc(0) : asBuffer(payload, 'payload');
}

/**
 * Checks an unsigned integer field of an encoder: an integer in `[0, max]`, else ERR_OUT_OF_RANGE.
 * @internal
 */
export function uint(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw outOfRange(name, `an integer >= 0 and <= ${max}`, value);
  }
  return value;
}

/**
 * An optional unsigned integer field: `fallback` when undefined, else checked as by {@link uint}.
 * @internal
 */
export function optUint(value: unknown, name: string, max: number, fallback: number): number {
  return value === undefined ? fallback : uint(value, name, max);
}

/**
 * An optional boolean field (false when undefined).
 * @internal
 */
export function bool(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/**
 * Throws the decoder error when `count` bytes from `offset` are not inside a buffer of `length` bytes.
 * @internal
 */
export function need(protocol: string, field: string, length: number, offset: number, count: number): void {
  if (offset + count > length) {
    throw new PacketError(
      protocol,
      field,
      offset,
      `needs ${count} bytes at offset ${offset}, but the buffer has ${length} bytes`,
    );
  }
}

/** Rounds up to a multiple of 4 (header lengths count 32-bit words). @internal */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

// ---- IPv4 -------------------------------------------------------------------------------------

/** Parses a dotted quad as inet_pton(AF_INET) does (four decimal parts, no leading zeros). */
function ipv4Bytes(s: string): Buffer | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/**
 * An IPv4 address literal ('192.0.2.1') as its 4 network-order bytes; TypeError ERR_INVALID_ARG_VALUE otherwise.
 * @internal
 */
export function parseIPv4(s: unknown, name: string): Buffer {
  if (typeof s !== 'string') throw invalidArgType(name, 'of type string', s);
  const b = ipv4Bytes(s);
  if (b === null) throw invalidArgValue(name, 'must be an IPv4 address literal', s);
  return b;
}

/**
 * 4 bytes at `offset` as a dotted quad.
 * @internal
 */
export function formatIPv4(b: Uint8Array, offset: number): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

// ---- IPv6 -------------------------------------------------------------------------------------

const HEX = /^[0-9a-fA-F]{1,4}$/;

/** Parses IPv6 text as inet_pton(AF_INET6) does: hex groups, one '::', an optional dotted-quad tail. */
function ipv6Bytes(s: string): Buffer | null {
  const out = Buffer.alloc(16);
  let words = 0;
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
  } else if (s.startsWith(':')) {
    return null;
  }
  while (i < s.length) {
    if (words >= 8) return null;
    const colon = s.indexOf(':', i);
    const part = colon < 0 ? s.slice(i) : s.slice(i, colon);
    if (part.includes('.')) {
      // A dotted-quad tail: the last component, with room for its two words.
      if (colon >= 0 || words > 6) return null;
      const v4 = ipv4Bytes(part);
      if (v4 === null) return null;
      out.set(v4, words * 2);
      words += 2;
      break;
    }
    if (!HEX.test(part)) return null;
    out.writeUInt16BE(parseInt(part, 16), words * 2);
    words++;
    if (colon < 0) break;
    if (s[colon + 1] === ':') {
      if (gap >= 0) return null;
      gap = words;
      i = colon + 2;
    } else {
      i = colon + 1;
      if (i === s.length) return null; // a trailing single ':'
    }
  }
  if (gap >= 0) {
    if (words === 8) return null; // '::' must stand for at least one group
    const tail = (words - gap) * 2;
    out.copyWithin(16 - tail, gap * 2, words * 2);
    out.fill(0, gap * 2, 16 - tail);
  } else if (words !== 8) {
    return null;
  }
  return out;
}

/**
 * An IPv6 address literal ('2001:db8::1', '::ffff:192.0.2.1') as its 16 network-order bytes;
 * TypeError ERR_INVALID_ARG_VALUE otherwise (zone ids such as '%eth0' are not part of a packet).
 * @internal
 */
export function parseIPv6(s: unknown, name: string): Buffer {
  if (typeof s !== 'string') throw invalidArgType(name, 'of type string', s);
  const b = ipv6Bytes(s);
  if (b === null) throw invalidArgValue(name, 'must be an IPv6 address literal', s);
  return b;
}

/**
 * 16 bytes at `offset` as IPv6 text, exactly as glibc's and libuv's inet_ntop print it: lowercase,
 * the first longest run of two or more zero groups as '::', and a dotted-quad tail for IPv4-mapped
 * (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) addresses.
 * @internal
 */
export function formatIPv6(b: Uint8Array, offset: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[offset + 2 * i]! << 8) | b[offset + 2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase >= 0) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return out + formatIPv4(b, offset + 12);
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/**
 * An IPv4 or IPv6 literal as 4 or 16 bytes (IPv6 when the text has a ':').
 * @internal
 */
export function parseIP(s: unknown, name: string): Buffer {
  if (typeof s === 'string' && s.includes(':')) return parseIPv6(s, name);
  return parseIPv4(s, name);
}

// ---- link-layer addresses ---------------------------------------------------------------------

const HWADDR = /^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2})*$/;

/**
 * A link-layer address ('aa:bb:cc:dd:ee:ff'; '-' separators also accepted) as bytes. `length` is the
 * required byte count (6 for Ethernet); undefined accepts any count, '' being zero bytes.
 * @internal
 */
export function parseHwAddr(s: unknown, name: string, length?: number): Buffer {
  if (typeof s !== 'string') throw invalidArgType(name, 'of type string', s);
  let out: Buffer | null = null;
  if (s === '') out = Buffer.alloc(0);
  else if (HWADDR.test(s)) out = Buffer.from(s.split(/[:-]/).map((h) => parseInt(h, 16)));
  if (out === null || (length !== undefined && out.length !== length)) {
    const rule = length === 6 ? 'must be a MAC address such as aa:bb:cc:dd:ee:ff' : 'must be hex bytes separated by ":"';
    throw invalidArgValue(name, rule, s);
  }
  return out;
}

/**
 * `length` bytes at `offset` as lowercase hex pairs joined by ':' ('' for none).
 * @internal
 */
export function formatHwAddr(b: Uint8Array, offset: number, length: number): string {
  const parts: string[] = [];
  for (let i = 0; i < length; i++) parts.push(b[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}
