/**
 * Socket addresses as plain objects tagged by C's numeric family constant. The native layer converts
 * them to and from `struct sockaddr_*` in one place and rejects anything malformed (a port outside
 * 0–65535, a string that is not an IP literal of the family, a unix path longer than `sun_path`)
 * with a TypeError or RangeError naming the field, before any system call.
 * @packageDocumentation
 */

/** An IPv4 address: `struct sockaddr_in`. */
export interface SockAddrIn {
  family: number; // AF_INET
  /** A dotted-quad literal such as `'127.0.0.1'` (no host names). */
  address: string;
  /** 0–65535, host byte order. */
  port: number;
}

/** An IPv6 address: `struct sockaddr_in6`. */
export interface SockAddrIn6 {
  family: number; // AF_INET6
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
  family: number; // AF_UNIX
  /**
   * A filesystem path; an abstract name starts with `'\0'` and may contain further NULs; `''` is the
   * unnamed address (binding it autobinds an abstract name). A Buffer is taken as raw bytes.
   */
  path: string | Uint8Array;
}

/** A link-layer address: `struct sockaddr_ll`. */
export interface SockAddrLl {
  family: number; // AF_PACKET
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
  family: number; // AF_NETLINK
  pid?: number;
  groups?: number;
}

/** An address of a family sockfd does not decode, as the kernel returned it. */
export interface SockAddrOther {
  family: number;
  /** The bytes after `sa_family`. */
  data: Buffer;
}

/** Any socket address. Returned addresses carry every field (e.g. `flowinfo` and `scopeId` for IPv6). */
export type SockAddr = SockAddrIn | SockAddrIn6 | SockAddrUn | SockAddrLl | SockAddrNl | SockAddrOther;

/**
 * An address in binary form: a 4-byte host-order length, then that many bytes of `struct sockaddr`
 * ({@link encodeSockaddr} makes one; `recvfromInto` fills one). Every call that takes a SockAddr also
 * takes this form, which the native layer copies without reading any JS properties: the
 * allocation-free way to address datagrams in a hot loop.
 */
export type BinarySockAddr = Uint8Array;

/** A SockAddr object or its binary form. */
export type AnySockAddr = SockAddr | BinarySockAddr;
