/**
 * Names and numbers: interface names and indexes, address text and bytes, byte order.
 * @packageDocumentation
 */
import * as os from 'node:os';
import { native } from './binding.js';
import { AF_INET } from './constants.generated.js';
import { check, invalidArgValue, outOfRange, value } from './errors.js';

/**
 * The index of a network interface; corresponds to `if_nametoindex(3)`.
 * @throws SystemError `if_nametoindex` (ENODEV for an unknown name)
 * @example
 * if_nametoindex('lo') === 1;
 */
export function if_nametoindex(name: string): number {
  return check(native.if_nametoindex(name), 'if_nametoindex');
}

/**
 * The name of a network interface; corresponds to `if_indextoname(3)`.
 * @throws SystemError `if_indextoname` (ENXIO for an unknown index)
 */
export function if_indextoname(index: number): string {
  return value(native.if_indextoname(index), 'if_indextoname');
}

/**
 * An address literal as its network-order bytes; corresponds to `inet_pton(3)`.
 * @param af - AF_INET (4 bytes) or AF_INET6 (16 bytes).
 * @throws TypeError `ERR_INVALID_ARG_VALUE` when `src` is not an address of that family (where C
 *   returns 0); SystemError `inet_pton` EAFNOSUPPORT for another family.
 * @example
 * inet_pton(AF_INET, '127.0.0.1'); // <Buffer 7f 00 00 01>
 */
export function inet_pton(af: number, src: string): Buffer {
  const bytes = value(native.inet_pton(af, src), 'inet_pton');
  if (bytes === null) throw invalidArgValue('src', `must be an ${af === AF_INET ? 'IPv4' : 'IPv6'} address literal`, src);
  return bytes;
}

/**
 * Network-order address bytes as text; corresponds to `inet_ntop(3)`.
 * @param src - at least 4 (AF_INET) or 16 (AF_INET6) bytes; the first of them are used.
 * @throws SystemError `inet_ntop` EAFNOSUPPORT for another family.
 */
export function inet_ntop(af: number, src: ArrayBufferView): string {
  return value(native.inet_ntop(af, src), 'inet_ntop');
}

const littleEndian = os.endianness() === 'LE';

function swap16(x: number, name: string): number {
  if (!Number.isInteger(x) || x < 0 || x > 0xffff) throw outOfRange(name, 'an integer >= 0 and <= 65535', x);
  return littleEndian ? ((x & 0xff) << 8) | (x >>> 8) : x;
}

function swap32(x: number, name: string): number {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw outOfRange(name, 'an integer >= 0 and <= 4294967295', x);
  if (!littleEndian) return x;
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** Host to network byte order, 16 bits; corresponds to `htons(3)`. `htons(ETH_P_ALL)` is 768 on x86. */
export function htons(hostshort: number): number {
  return swap16(hostshort, 'hostshort');
}

/** Network to host byte order, 16 bits; corresponds to `ntohs(3)`. */
export function ntohs(netshort: number): number {
  return swap16(netshort, 'netshort');
}

/** Host to network byte order, 32 bits; corresponds to `htonl(3)`. */
export function htonl(hostlong: number): number {
  return swap32(hostlong, 'hostlong');
}

/** Network to host byte order, 32 bits; corresponds to `ntohl(3)`. */
export function ntohl(netlong: number): number {
  return swap32(netlong, 'netlong');
}
