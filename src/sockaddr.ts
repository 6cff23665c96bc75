/**
 * Socket addresses as plain objects tagged by C's numeric family constant. The native layer converts
 * them to and from `struct sockaddr_*` in one place and rejects anything malformed (a port outside
 * 0–65535, a string that is not an IP literal of the family, a unix path longer than `sun_path`)
 * with a TypeError or RangeError naming the field, before any system call.
 *
 * `SockAddr` is a union discriminated by `family`: the AF_* constants have literal types, so a check
 * of `family` narrows an address to its variant (`if (a.family === AF_INET) a.port`).
 * @packageDocumentation
 */
import type { AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX } from './constants.generated.js';
import type { Below } from './numbers.js';

/** The address families sockfd converts field by field (AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK). */
export type DecodedFamily = typeof AF_INET | typeof AF_INET6 | typeof AF_UNIX | typeof AF_PACKET | typeof AF_NETLINK;

/** The internet families, for code that handles both (`function udp(family: InetFamily)`). */
export type InetFamily = typeof AF_INET | typeof AF_INET6;

/**
 * The family of a {@link SockAddrOther}: any value of `sa_family` below 256 other than the decoded
 * families (Linux numbers its families densely from 0 and defines fewer than 50, `AF_MAX`). Typed so,
 * rather than as `number`, so that a check for a decoded family leaves no other variant standing.
 */
export type OtherFamily = Exclude<Below<256>, DecodedFamily>;

/** An IPv4 address: `struct sockaddr_in`. */
export interface SockAddrIn {
  family: typeof AF_INET;
  /** A dotted-quad literal such as `'127.0.0.1'` (no host names). */
  address: string;
  /** 0–65535, host byte order. */
  port: number;
}

/** An IPv6 address: `struct sockaddr_in6`. */
export interface SockAddrIn6 {
  family: typeof AF_INET6;
  /** An IPv6 literal such as `'::1'`; a `%zone` suffix (`'fe80::1%lo'` or `'%1'`) sets `scopeId`. */
  address: string;
  port: number;
  /** The flow label (20 bits), host byte order. Defaults to 0. */
  flowinfo?: number;
  /** The interface index of a link-local address. Defaults to 0. */
  scopeId?: number;
}

/** A unix-domain address: `struct sockaddr_un`. */
export interface SockAddrUn {
  /** AF_UNIX (also known as AF_LOCAL: the same number). */
  family: typeof AF_UNIX;
  /**
   * A filesystem path; an abstract name starts with `'\0'` and may contain further NULs; `''` is the
   * unnamed address (binding it autobinds an abstract name). A Buffer is taken as raw bytes.
   */
  path: string | Uint8Array;
}

/** A link-layer address: `struct sockaddr_ll`. */
export interface SockAddrLl {
  family: typeof AF_PACKET;
  /** The Ethernet protocol in network byte order, as in C: `htons(ETH_P_ALL)`. */
  protocol: number;
  ifindex: number;
  hatype?: number;
  pkttype?: number;
  /** Defaults to `addr`'s length. */
  halen?: number;
  /** Up to 8 bytes of hardware address. */
  addr?: Uint8Array;
}

/** A netlink address: `struct sockaddr_nl`. */
export interface SockAddrNl {
  family: typeof AF_NETLINK;
  pid?: number;
  groups?: number;
}

/**
 * An address of a family sockfd does not decode, as the kernel returned it. It is only ever returned:
 * given to a call, an object of another family is a RangeError (give such an address in binary form).
 */
export interface SockAddrOther {
  family: OtherFamily;
  /** The bytes after `sa_family`. */
  data: Buffer;
}

/**
 * Any socket address, discriminated by `family`. Returned addresses carry every field (e.g. `flowinfo`
 * and `scopeId` for IPv6).
 * @example
 * const a = getsockname(fd);
 * if (a.family === AF_INET || a.family === AF_INET6) console.log(a.address, a.port);
 * else if (a.family === AF_UNIX) console.log(a.path);
 */
export type SockAddr = SockAddrIn | SockAddrIn6 | SockAddrUn | SockAddrLl | SockAddrNl | SockAddrOther;

/**
 * The address variant of family `F`: `SockAddrOf<typeof AF_INET>` is {@link SockAddrIn}, any family
 * sockfd does not decode gives {@link SockAddrOther}, and a `number` that is not known until run time
 * gives the whole {@link SockAddr} union.
 */
export type SockAddrOf<F extends number> = number extends F
  ? SockAddr
  : F extends DecodedFamily
    ? Extract<SockAddr, { family: F }>
    : SockAddrOther;

/**
 * An address in binary form: a 4-byte host-order length, then that many bytes of `struct sockaddr`
 * ({@link encodeSockaddr} makes one; `recvfromInto` fills one). Every call that takes a SockAddr also
 * takes this form, which the native layer copies without reading any JS properties: the
 * allocation-free way to address datagrams in a hot loop.
 */
export type BinarySockAddr = Uint8Array;

/** A SockAddr object or its binary form. */
export type AnySockAddr = SockAddr | BinarySockAddr;
