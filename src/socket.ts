/**
 * Creating, closing and controlling sockets: socket, socketpair, close, shutdown, fcntl, ioctl, poll.
 * @packageDocumentation
 */
import { native } from './binding.js';
import { constants as osConstants } from 'node:os';
import { AF_PACKET, SOCK_PACKET, SOCK_RAW } from './constants.generated.js';
import { SystemError, check, value } from './errors.js';
import { runCloseHooks } from './lifecycle.js';

const { EPERM, EACCES } = osConstants.errno;

/**
 * Creates a socket; corresponds to `socket(2)`. Returns the kernel's fd.
 *
 * The socket is close-on-exec (SOCK_CLOEXEC is always or-ed into `type`, atomically), so a child
 * process never inherits it by accident; to hand it to a child, clear the flag with
 * `fcntl(fd, F_SETFD, 0)`. SOCK_NONBLOCK may be or-ed into `type`.
 * @param domain - AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK, ...
 * @param type - SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, optionally | SOCK_NONBLOCK.
 * @param protocol - 0 for the family's default, or e.g. IPPROTO_ICMP.
 * @throws SystemError `socket` (EAFNOSUPPORT, EPROTONOSUPPORT, EMFILE, ...); for SOCK_RAW and
 *   AF_PACKET without CAP_NET_RAW, EPERM with a message naming the missing capability.
 * @example
 * const fd = socket(AF_INET, SOCK_STREAM);
 */
export function socket(domain: number, type: number, protocol = 0): number {
  const fd = native.socket(domain, type, protocol);
  if ((fd === -EPERM || fd === -EACCES) && needsRaw(domain, type)) {
    throw new SystemError(-fd, 'socket', undefined, RAW_HINT);
  }
  return check(fd, 'socket');
}

/** @internal Whether socket(2) of this domain and type needs CAP_NET_RAW (for the hint of EPERM/EACCES). */
export function needsRaw(domain: number, type: number): boolean {
  return domain === AF_PACKET || (type & 0xf) === SOCK_RAW || (type & 0xf) === SOCK_PACKET;
}

/** @internal */
export const RAW_HINT =
  'SOCK_RAW and AF_PACKET sockets need the CAP_NET_RAW capability: run as root, or grant it with ' +
  '`setcap cap_net_raw+ep "$(command -v node)"`';

/**
 * Creates a pair of connected sockets; corresponds to `socketpair(2)`. Both are close-on-exec.
 * @param domain - AF_UNIX on Linux.
 * @param type - SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET, optionally | SOCK_NONBLOCK.
 * @throws SystemError `socketpair`
 * @example
 * const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
 */
export function socketpair(domain: number, type: number, protocol = 0): [number, number] {
  return value(native.socketpair(domain, type, protocol), 'socketpair');
}

/**
 * Closes an fd; corresponds to `close(2)`. Never retried: on Linux the fd is gone even when close
 * reports EINTR, which is therefore not an error. Waiters of `sockfd/promises` on this fd are
 * rejected and its watcher stopped before the fd is released.
 * @throws SystemError `close` (EBADF)
 */
export function close(fd: number): void {
  runCloseHooks(fd);
  check(native.close(fd), 'close');
}

/**
 * Shuts down part of a full-duplex connection; corresponds to `shutdown(2)`.
 * @param how - SHUT_RD, SHUT_WR or SHUT_RDWR.
 * @throws SystemError `shutdown` (ENOTCONN, ...)
 */
export function shutdown(fd: number, how: number): void {
  check(native.shutdown(fd, how), 'shutdown');
}

/**
 * File-descriptor control; corresponds to `fcntl(2)` for F_GETFL/F_SETFL (O_NONBLOCK, ...) and
 * F_GETFD/F_SETFD (FD_CLOEXEC). Other commands are a RangeError.
 * @param arg - the new flags, for F_SETFL and F_SETFD.
 * @returns the flags for F_GETFL/F_GETFD, 0 for the setters.
 * @example
 * fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
 */
export function fcntl(fd: number, cmd: number, arg?: number): number {
  return check(native.fcntl(fd, cmd, arg), 'fcntl');
}

/**
 * The integer socket ioctls; corresponds to `ioctl(2)`: FIONREAD/SIOCINQ (bytes waiting to be read),
 * SIOCOUTQ (bytes not yet acknowledged or sent), SIOCOUTQNSD (bytes not yet sent), SIOCATMARK.
 * Other requests are a RangeError, since they could write arbitrary memory.
 * @throws SystemError `ioctl`
 */
export function ioctl(fd: number, request: number): number {
  return check(native.ioctl(fd, request), 'ioctl');
}

/** One entry of `poll`'s input. */
export interface PollFd {
  fd: number;
  /** POLLIN, POLLOUT, POLLPRI, POLLRDHUP, ... or-ed together. */
  events: number;
}

/** One entry of `poll`'s result. */
export interface PollResult {
  fd: number;
  /** What happened: the requested events that are ready, plus POLLERR, POLLHUP or POLLNVAL. */
  revents: number;
}

/**
 * Waits for events on fds; corresponds to `poll(2)`. Blocks the calling thread (use
 * `sockfd/promises` in event-loop code). Signals neither end the wait early nor stretch it: EINTR is
 * retried with the time that remains.
 * @param timeoutMs - milliseconds; -1 waits without limit, 0 returns at once.
 * @returns one entry per input entry, in order; `revents` is 0 for an fd that is not ready.
 * @throws SystemError `poll`
 */
export function poll(fds: ReadonlyArray<PollFd>, timeoutMs: number): PollResult[] {
  return value(native.poll(fds, timeoutMs), 'poll');
}
