/**
 * The IP address objects of a datagram loop, without their cost. Converting an address object to a
 * `struct sockaddr` (and back) takes about a dozen Node-API calls, which made `sendto` + `recvfrom`
 * with plain address objects cost 2.2× the same calls with binary addresses. A loop talks to the same
 * few peers over and over, so both directions remember the last IPv4 and the last IPv6 address they
 * converted:
 *
 * - `toBinary(addr)` reads an `AF_INET`/`AF_INET6` object's fields once, and when they equal the last
 *   ones it returns the binary form converted then; otherwise it has the native layer convert a plain
 *   copy of the fields it read (so the caller's object is still read once, and a malformed address gets
 *   exactly the errors it always got). Other families, and binary addresses, pass through untouched.
 * - `sender()` gives the address object of the binary sockaddr `recvfrom` wrote into `senderHolder`:
 *   when its bytes equal the last ones it builds a new object from the strings decoded then, otherwise
 *   it has the native layer decode it. Every result is a new plain object with the fields, in the
 *   order, the native layer gives.
 *
 * The conversion itself stays in one place, native/sockaddr.cc; this only avoids repeating it.
 * @internal
 * @packageDocumentation
 */
import { addrArg } from './argerrors.js';
import { native } from './binding.js';
import { AF_INET, AF_INET6 } from './constants.generated.js';
import type { AnySockAddr, SockAddr, SockAddrIn, SockAddrIn6 } from './sockaddr.js';

/** Bytes of a binary address holder: a 4-byte length and a `sockaddr_storage`. */
const HOLDER = 132;

interface Last4 {
  address: string;
  port: number;
  bin: Buffer;
}
interface Last6 extends Last4 {
  flowinfo: number | undefined;
  scopeId: number | undefined;
}
let out4: Last4 | undefined;
let out6: Last6 | undefined;

/**
 * The binary form to hand the native layer for `addr`: the one converted for the same IPv4/IPv6
 * address last time, a new one, or `addr` itself (binary, or another family). Never mutated.
 * @internal
 */
export function toBinary(addr: AnySockAddr): AnySockAddr {
  if (typeof addr !== 'object' || addr === null || ArrayBuffer.isView(addr)) return addr;
  addrArg(addr);
  const family: unknown = addr.family;
  if (family === AF_INET) {
    const { address, port } = addr as SockAddrIn;
    if (out4 !== undefined && address === out4.address && port === out4.port) return out4.bin;
    const bin = native.encodeSockaddr({ family, address, port } as SockAddrIn);
    if (typeof address === 'string') out4 = { address, port, bin };
    return bin;
  }
  if (family === AF_INET6) {
    const { address, port, flowinfo, scopeId } = addr as SockAddrIn6;
    const o = out6;
    if (o !== undefined && address === o.address && port === o.port && flowinfo === o.flowinfo && scopeId === o.scopeId) return o.bin;
    const fields: SockAddrIn6 = {
      family,
      address,
      port,
      ...(flowinfo !== undefined ? { flowinfo } : {}),
      ...(scopeId !== undefined ? { scopeId } : {}),
    };
    const bin = native.encodeSockaddr(fields);
    // A zone name ('%eth0') is looked up on every conversion: an interface can come and go.
    if (typeof address === 'string' && !address.includes('%')) out6 = { address, port, flowinfo, scopeId, bin };
    return bin;
  }
  return addr;
}

/**
 * The holder `recvfrom` has the native layer write each sender into (4-byte aligned), and its words.
 * @internal
 */
export const senderHolder: Buffer = Buffer.from(new ArrayBuffer(HOLDER));
const words = new Int32Array(senderHolder.buffer, senderHolder.byteOffset, 8);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** sa_family (host order) from the first word of the sockaddr. */
const familyOf = (word: number): number => (littleEndian ? word & 0xffff : word >>> 16);

// The last senders decoded, as the words of their binary form, with their objects' fields.
const in4 = new Int32Array(3);
let in4Fields: { address: string; port: number } | undefined;
const in6 = new Int32Array(8);
let in6Fields: { address: string; port: number; flowinfo: number; scopeId: number } | undefined;

/**
 * The address object of the sender in `senderHolder`, or null for an empty one (what a connected
 * stream socket reports). A new object every time.
 * @internal
 */
export function sender(): SockAddr | null {
  const length = words[0]!;
  const family = familyOf(words[1]!);
  if (length === 16 && family === AF_INET) {
    if (in4Fields !== undefined && words[1] === in4[1] && words[2] === in4[2]) {
      return { family: AF_INET, address: in4Fields.address, port: in4Fields.port };
    }
    const a = native.decodeSockaddr(senderHolder) as SockAddrIn;
    in4.set(words.subarray(0, 3));
    in4Fields = { address: a.address, port: a.port };
    return a;
  }
  if (length === 28 && family === AF_INET6) {
    const f = in6Fields;
    if (
      f !== undefined &&
      words[1] === in6[1] &&
      words[2] === in6[2] &&
      words[3] === in6[3] &&
      words[4] === in6[4] &&
      words[5] === in6[5] &&
      words[6] === in6[6] &&
      words[7] === in6[7]
    ) {
      return { family: AF_INET6, address: f.address, port: f.port, flowinfo: f.flowinfo, scopeId: f.scopeId };
    }
    const a = native.decodeSockaddr(senderHolder) as Required<SockAddrIn6>;
    in6.set(words);
    in6Fields = { address: a.address, port: a.port, flowinfo: a.flowinfo, scopeId: a.scopeId };
    return a;
  }
  return native.decodeSockaddr(senderHolder);
}
