/**
 * Naming and connecting sockets: bind, listen, accept, connect, getsockname, getpeername.
 * @packageDocumentation
 */
import { native } from './binding.js';
import { SOMAXCONN } from './constants.generated.js';
import { constantName } from './constants.js';
import { check, checkAt, invalidArgValue, value } from './errors.js';
import { integerArg, addrArg } from './argerrors.js';
import type { AnySockAddr, SockAddr, SockAddrOf } from './sockaddr.js';

/**
 * Gives a socket its local address; corresponds to `bind(2)`.
 * @throws SystemError `bind` (EADDRINUSE, EADDRNOTAVAIL, EACCES, ...), with `address`/`port`.
 * @example
 * bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
 */
export function bind(fd: number, addr: AnySockAddr): void {
  checkAt(native.bind(fd, addrArg(addr)), 'bind');
}

/**
 * Marks a socket as listening, with a queue of up to `backlog` completed connections waiting for
 * `accept`; corresponds to `listen(2)`.
 * @param backlog - defaults to SOMAXCONN.
 * @throws SystemError `listen`
 */
export function listen(fd: number, backlog: number = SOMAXCONN): void {
  check(native.listen(fd, backlog), 'listen');
}

/** What `accept` returns. */
export interface AcceptResult {
  /** The connected socket's fd (close-on-exec). */
  fd: number;
  /** The peer's address (null where the family gives none). */
  address: SockAddr | null;
}

/**
 * Takes the first completed connection from a listening socket's queue; corresponds to
 * `accept4(2)`. The new fd is close-on-exec; SOCK_NONBLOCK in `flags` makes it non-blocking.
 * On a blocking socket this waits (use `sockfd/promises` in event-loop code); on a non-blocking one
 * with no connection waiting it throws EAGAIN.
 * @throws SystemError `accept` (EAGAIN, EMFILE, EINVAL if not listening, ...)
 */
export function accept(fd: number, flags = 0): AcceptResult {
  return value(native.accept(fd, flags), 'accept');
}

/**
 * Connects a socket to an address; corresponds to `connect(2)`. On a non-blocking socket it throws
 * EINPROGRESS, as in C: wait for POLLOUT, then read SO_ERROR. A blocking connect interrupted by a
 * signal is completed, not reissued.
 * @throws SystemError `connect` (ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EINPROGRESS, ...), with `address`/`port`.
 */
export function connect(fd: number, addr: AnySockAddr): void {
  checkAt(native.connect(fd, addrArg(addr)), 'connect');
}

/** The family a caller expects, checked before the system call: an integer from 0 to 65535 (`sa_family_t`). */
function familyArg(family: unknown): number | undefined {
  return family === undefined ? undefined : integerArg(family, 'family', 0, 0xffff);
}

/** The address a call returned, when it is of the family the caller said it would be. */
function ofFamily<A extends SockAddr>(addr: A, family: number | undefined): A {
  if (family !== undefined && addr.family !== family) {
    const name = constantName(addr.family, 'AF_') ?? 'family';
    throw invalidArgValue('family', `must be the family of the socket's address, which is ${name} (${addr.family})`, family);
  }
  return addr;
}

/**
 * The socket's local address; corresponds to `getsockname(2)`.
 * @throws SystemError `getsockname`
 * @example
 * const a = getsockname(fd);
 * if (a.family === AF_INET) console.log(a.port);
 */
export function getsockname(fd: number): SockAddr;
/**
 * The socket's local address, checked to be of `family` (a TypeError `ERR_INVALID_ARG_VALUE`
 * otherwise) and typed as its variant: `getsockname(fd, AF_INET).port` needs no narrowing. The family
 * is an argument rather than a type parameter so that the claim is checked at run time, not only
 * asserted to the compiler.
 * @param family - the family the address must have, e.g. `AF_INET`.
 * @throws SystemError `getsockname`
 * @example
 * bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
 * const { port } = getsockname(fd, AF_INET); // the port the kernel chose
 */
export function getsockname<F extends number>(fd: number, family: F): SockAddrOf<F>;
export function getsockname(fd: number, family?: number): SockAddr {
  const expected = familyArg(family);
  return ofFamily(value(native.getsockname(fd), 'getsockname'), expected);
}

/**
 * The connected peer's address; corresponds to `getpeername(2)`.
 * @throws SystemError `getpeername` (ENOTCONN, ...)
 */
export function getpeername(fd: number): SockAddr;
/**
 * The connected peer's address, checked and typed as its family's variant, as for
 * {@link getsockname}'s `family`.
 * @param family - the family the address must have, e.g. `AF_INET6`.
 * @throws SystemError `getpeername` (ENOTCONN, ...)
 */
export function getpeername<F extends number>(fd: number, family: F): SockAddrOf<F>;
export function getpeername(fd: number, family?: number): SockAddr {
  const expected = familyArg(family);
  return ofFamily(value(native.getpeername(fd), 'getpeername'), expected);
}
