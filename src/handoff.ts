/**
 * Handing sockfd sockets to Node: `toNetServer`, `toNetSocket`, `toDgram`.
 *
 * Node takes a native fd as it is (`server.listen({ fd })`, `new net.Socket({ fd })`,
 * `socket.bind({ fd })`), with two traps these helpers remove: libuv lets one handle of a loop watch
 * an fd, so an fd that `sockfd/promises` or `watch` used fails with `EEXIST` unless `release(fd)` came
 * first; and `listen({ fd })` calls `listen(2)` again with a backlog of 511, silently replacing the
 * one the socket was given. The helpers check the fd's kind first (a clear error instead of Node's
 * `Unsupported fd type`), release sockfd's idle watcher, and keep the socket's own backlog.
 * From then on Node owns the fd and closes it.
 * @packageDocumentation
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange } from './argerrors.js';
import { native } from './binding.js';
import { listen, getpeername } from './connection.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IPPROTO_TCP,
  NETLINK_SOCK_DIAG,
  SOCK_DGRAM,
  SOCK_DIAG_BY_FAMILY,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_PROTOCOL,
  SO_TYPE,
  TCP_INFO,
  UDIAG_SHOW_RQLEN,
  UNIX_DIAG_RQLEN,
} from './constants.generated.js';
import { constantName } from './constants.js';
import { SystemError } from './errors.js';
import { unixRequest } from './diagrequest.js';
import { parseAttributes, u32 } from './netlink.js';
import { NetlinkSocket } from './netlinksocket.js';
import type { TcpInfo } from './optcodecs.js';
import { getsockopt } from './sockopt.js';
import { existingFdState, release, tryFdState } from './watcher.js';
import { SIZEOF_UNIX_DIAG_MSG } from './sizes.generated.js';

const { EEXIST, ENOTCONN } = osConstants.errno;

/** What kind of socket an fd is, as the helpers check it. */
interface Kind {
  domain: number;
  type: number;
  protocol: number;
  listening: boolean;
}

function fdTypeError(helper: string, message: string): TypeError {
  const err = new TypeError(`${helper}: ${message}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_FD_TYPE';
  return err;
}

function codedError(code: string, message: string): Error {
  const err = new Error(message);
  (err as Error & { code: string }).code = code;
  return err;
}

function checkFd(fd: unknown): asserts fd is number {
  if (typeof fd !== 'number') throw invalidArgType('fd', 'of type number', fd);
  if (!Number.isInteger(fd) || fd < 0 || fd > 2 ** 31 - 1) throw outOfRange('fd', 'an integer >= 0 and <= 2147483647', fd);
}

/** What fstat says an fd is, in words, for a message. */
function fileKind(stat: fs.Stats): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a pipe';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a socket';
}

function describeKind(k: Kind): string {
  const family = constantName(k.domain, 'AF_') ?? `family ${k.domain}`;
  const type = constantName(k.type, 'SOCK_') ?? `type ${k.type}`;
  return `an ${family} ${type}${k.listening ? ' listening' : ''} socket`;
}

/** The socket's family, type and listening state, or a clear error when the fd is no socket. */
function socketKind(fd: number, helper: string): Kind {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch (err) {
    const errno = -((err as NodeJS.ErrnoException).errno ?? 0);
    throw new SystemError(errno, 'fstat', undefined, `${helper}: fd ${fd} is not open`);
  }
  if (!stat.isSocket()) throw fdTypeError(helper, `fd ${fd} is ${fileKind(stat)}, not a socket`);
  return {
    domain: getsockopt(fd, SOL_SOCKET, SO_DOMAIN),
    type: getsockopt(fd, SOL_SOCKET, SO_TYPE),
    protocol: getsockopt(fd, SOL_SOCKET, SO_PROTOCOL),
    listening: getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN) !== 0,
  };
}

/**
 * Frees sockfd's watcher of `fd` so that a Node handle can take the fd, refusing when the watcher is
 * in use (waiting `sockfd/promises` calls or `watch` subscriptions would be cut off), and refuses an
 * fd that another Node handle of this loop already watches (a `net`/`dgram` socket owns it).
 */
function takeFromSockfd(fd: number, helper: string): void {
  const state = existingFdState(fd);
  if (state) {
    const waiting = state.readers.size + state.writers.size;
    const watches = state.watches.size;
    if (waiting > 0 || watches > 0) {
      const what = [waiting > 0 ? `${waiting} sockfd/promises call(s) waiting` : '', watches > 0 ? `${watches} watch() subscription(s)` : '']
        .filter(Boolean)
        .join(' and ');
      throw codedError(
        'ERR_SOCKET_WATCHED',
        `${helper}: fd ${fd} is still in use by sockfd (${what}): let them settle or close them, or call release(fd) to cancel them, before handing it to Node`,
      );
    }
    release(fd);
  }
  // A probe: libuv's poll watcher refuses (EEXIST) an fd that another handle of this loop watches.
  const probe = tryFdState(fd);
  if (typeof probe === 'number') {
    if (probe === -EEXIST) {
      throw codedError('ERR_SOCKET_WATCHED', `${helper}: fd ${fd} already belongs to another net/dgram handle of this event loop (libuv lets one handle watch an fd)`);
    }
    return; // not pollable for another reason: Node will report it
  }
  release(fd);
}

/** @internal The backlog a listening socket was given (capped at somaxconn by the kernel), as `ss` shows it in Send-Q. */
export function nativeBacklog(fd: number, domain: number): number {
  if (domain === AF_INET || domain === AF_INET6) {
    // For a listener, tcp_get_info() reports the backlog (sk_max_ack_backlog) in tcpi_sacked.
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO).sacked;
  }
  return unixBacklog(fd);
}

/**
 * An AF_UNIX listener's backlog, from NETLINK_SOCK_DIAG (UNIX_DIAG_RQLEN: for a listener the
 * kernel reports sk_max_ack_backlog as udiag_wqueue), asked in the socket's own network namespace
 * (unix sockets are looked up per namespace), found with SIOCGSKNS.
 */
function unixBacklog(fd: number): number {
  const ino = fs.fstatSync(fd).ino;
  const nsfd = native.socketNetns(fd);
  if (nsfd < 0) throw new SystemError(-nsfd, 'ioctl', undefined, `cannot find the network namespace of fd ${fd} (SIOCGSKNS)`);
  let diag: NetlinkSocket;
  try {
    const same = fs.fstatSync(nsfd).ino === fs.statSync('/proc/thread-self/ns/net').ino;
    diag = same ? new NetlinkSocket(NETLINK_SOCK_DIAG) : new NetlinkSocket(NETLINK_SOCK_DIAG, nsfd);
  } finally {
    fs.closeSync(nsfd);
  }
  try {
    // The one socket of this inode, in any state, and only its queue lengths.
    const header = unixRequest(0xffffffff, { ino, show: UDIAG_SHOW_RQLEN });
    const [reply] = diag.request({ what: 'SOCK_DIAG_BY_FAMILY', type: SOCK_DIAG_BY_FAMILY, flags: 0, header, context: `the backlog of fd ${fd}` });
    if (!reply) throw new SystemError(ENOTCONN, 'SOCK_DIAG_BY_FAMILY', undefined, `no sock_diag answer for fd ${fd}`);
    const rqlen = parseAttributes(reply.body.subarray(SIZEOF_UNIX_DIAG_MSG)).get(UNIX_DIAG_RQLEN);
    if (!rqlen || rqlen.length < 8) throw new SystemError(ENOTCONN, 'SOCK_DIAG_BY_FAMILY', undefined, `no UNIX_DIAG_RQLEN for fd ${fd}`);
    return u32(rqlen, 4);
  } finally {
    diag.close();
  }
}

/** Options of {@link toNetServer}. */
export interface ToNetServerOptions<S extends net.Server = net.Server> extends net.ServerOpts {
  /**
   * The server to listen with (an `http.createServer()`, `https.createServer()`, or any `net.Server`
   * not yet listening) instead of a new `net.Server`; then the `net.ServerOpts` fields cannot be
   * given here (give them to that server's constructor). It is what `toNetServer` returns.
   */
  server?: S;
  /** The backlog to listen with, instead of the one the socket already has. */
  backlog?: number;
}

/**
 * Hands a listening sockfd socket to Node: returns a `net.Server` (or the `server` given, such as an
 * `http.Server`) listening on it, with the socket's own backlog. Node's `server.listen({ fd })`
 * calls `listen(2)` again with a backlog of 511; this helper reads the backlog the socket already has
 * (from TCP_INFO, or NETLINK_SOCK_DIAG for AF_UNIX, where `ss -l` reads it too), passes it to Node and
 * sets it again right after Node's `listen` (in the same tick), so the kernel keeps the native value,
 * 0 included. The fd must be a listening AF_INET, AF_INET6 or AF_UNIX SOCK_STREAM socket.
 *
 * sockfd's watcher of the fd, if it is idle, is released first (so a forgotten `release(fd)` cannot
 * make Node fail with EEXIST). From then on Node owns the fd: close the server, not the fd. The
 * server is listening when this returns; its `'listening'` event comes on the next tick.
 * @throws TypeError `ERR_INVALID_FD_TYPE` (not a socket, or not a stream socket of those families),
 *   Error `ERR_SOCKET_NOT_LISTENING` (call `listen` first), Error `ERR_SOCKET_WATCHED` (sockfd calls
 *   still wait on it, or another Node handle owns it), SystemError `fstat` (EBADF).
 * @example
 * const fd = socketIn('server', AF_INET, SOCK_STREAM);
 * bind(fd, { family: AF_INET, address: '10.0.0.2', port: 80 });
 * listen(fd, 16);
 * const server = toNetServer(fd, { server: http.createServer((req, res) => res.end('hi')) });
 */
export function toNetServer<S extends net.Server = net.Server>(fd: number, options: ToNetServerOptions<S> = {}): S {
  checkFd(fd);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const { server, backlog, ...serverOpts } = options;
  if (server !== undefined && !(server instanceof net.Server)) throw invalidArgType('options.server', 'an instance of net.Server', server);
  if (server !== undefined && Object.keys(serverOpts).length > 0) {
    throw invalidArgValue('options', `cannot combine 'server' with net.createServer options (${Object.keys(serverOpts).join(', ')}): give those to the server's own constructor`, options);
  }
  if (backlog !== undefined && (typeof backlog !== 'number' || !Number.isInteger(backlog) || backlog < 0 || backlog > 2 ** 31 - 1)) {
    throw outOfRange('options.backlog', 'an integer >= 0 and <= 2147483647', backlog);
  }
  const kind = socketKind(fd, 'toNetServer');
  if (kind.type !== SOCK_STREAM || !([AF_INET, AF_INET6, AF_UNIX] as number[]).includes(kind.domain)) {
    const hint = kind.type === SOCK_DGRAM ? ' (use toDgram for a datagram socket)' : '';
    throw fdTypeError('toNetServer', `fd ${fd} is ${describeKind(kind)}; it needs a listening SOCK_STREAM socket of AF_INET, AF_INET6 or AF_UNIX${hint}`);
  }
  if (!kind.listening) {
    throw codedError('ERR_SOCKET_NOT_LISTENING', `toNetServer: fd ${fd} is not listening: call listen(fd, backlog) first (toNetServer keeps that backlog), or use toNetSocket for a connected socket`);
  }
  const keep = backlog ?? nativeBacklog(fd, kind.domain);
  takeFromSockfd(fd, 'toNetServer');
  const s = (server ?? net.createServer(serverOpts)) as S;
  // exclusive: listen here, never through a cluster primary (which does not have this fd).
  s.listen({ fd, backlog: keep > 0 ? keep : undefined, exclusive: true });
  // Node listened with `backlog || 511` (listen(2) on a listening socket only sets the backlog):
  // set the native one again before anything else runs. If Node failed, its 'error' event is on the way.
  if (s.listening) listen(fd, keep);
  return s;
}

/** Options of {@link toNetSocket}: those of `new net.Socket()`, but the fd. */
export type ToNetSocketOptions = Omit<net.SocketConstructorOpts, 'fd' | 'handle'>;

/**
 * Hands a connected sockfd stream socket to Node: returns a `net.Socket` on it (for `http`, give it
 * as `createConnection: () => socket`). The fd must be a connected AF_INET, AF_INET6 or AF_UNIX
 * SOCK_STREAM socket (`connect` from `sockfd/promises` first). sockfd's watcher of the fd, if idle,
 * is released first. From then on Node owns the fd: destroy the socket, not the fd.
 * @throws TypeError `ERR_INVALID_FD_TYPE`, Error `ERR_SOCKET_NOT_CONNECTED` (a listening or
 *   unconnected socket), Error `ERR_SOCKET_WATCHED`, SystemError `fstat` (EBADF).
 * @example
 * const fd = socketIn('client', AF_INET, SOCK_STREAM);
 * await connect(fd, { family: AF_INET, address: '10.0.0.2', port: 80 }); // sockfd/promises
 * http.get({ host: '10.0.0.2', createConnection: () => toNetSocket(fd) }, (res) => ...);
 */
export function toNetSocket(fd: number, options: ToNetSocketOptions = {}): net.Socket {
  checkFd(fd);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  if ('fd' in options || 'handle' in options) throw invalidArgValue('options', "must not contain 'fd' or 'handle' (the fd is the first argument)", options);
  const kind = socketKind(fd, 'toNetSocket');
  if (kind.type !== SOCK_STREAM || !([AF_INET, AF_INET6, AF_UNIX] as number[]).includes(kind.domain)) {
    const hint = kind.type === SOCK_DGRAM ? ' (use toDgram for a datagram socket)' : '';
    throw fdTypeError('toNetSocket', `fd ${fd} is ${describeKind(kind)}; it needs a connected SOCK_STREAM socket of AF_INET, AF_INET6 or AF_UNIX${hint}`);
  }
  if (kind.listening) throw codedError('ERR_SOCKET_NOT_CONNECTED', `toNetSocket: fd ${fd} is listening: use toNetServer for a listening socket`);
  try {
    getpeername(fd);
  } catch (err) {
    if ((err as SystemError).code === 'ENOTCONN') {
      throw codedError('ERR_SOCKET_NOT_CONNECTED', `toNetSocket: fd ${fd} is not connected: connect it first (connect from sockfd/promises waits for the handshake)`);
    }
    throw err;
  }
  takeFromSockfd(fd, 'toNetSocket');
  return new net.Socket({ ...options, fd });
}

/** Options of {@link toDgram}: those of `dgram.createSocket()`; `type` follows the socket's family. */
export type ToDgramOptions = Partial<dgram.SocketOptions>;

/**
 * Hands a sockfd datagram socket to Node: returns a `dgram.Socket` on it, receiving (`'message'`
 * events) at once. The fd must be an AF_INET or AF_INET6 SOCK_DGRAM socket (UDP); `type` is taken from
 * its family (`'udp4'`/`'udp6'`; giving the other one is an error). A socket that is not bound yet is
 * bound by libuv to an ephemeral port of the wildcard address when it starts receiving, as C's
 * first `sendto` would. The socket is bound when this returns: its `'listening'` event has already
 * been emitted (read `socket.address()`). sockfd's idle watcher of the fd is released first. From then
 * on Node owns the fd: close the dgram socket, not the fd.
 * @throws TypeError `ERR_INVALID_FD_TYPE`, Error `ERR_SOCKET_WATCHED`, SystemError `fstat` (EBADF).
 * @example
 * const fd = socketIn('server', AF_INET, SOCK_DGRAM);
 * bind(fd, { family: AF_INET, address: '10.0.0.2', port: 53 });
 * toDgram(fd).on('message', (msg, rinfo) => ...);
 */
export function toDgram(fd: number, options: ToDgramOptions = {}): dgram.Socket {
  checkFd(fd);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const kind = socketKind(fd, 'toDgram');
  if (kind.type !== SOCK_DGRAM || (kind.domain !== AF_INET && kind.domain !== AF_INET6)) {
    const hint = kind.type === SOCK_STREAM ? ' (use toNetSocket or toNetServer for a stream socket)' : '';
    throw fdTypeError('toDgram', `fd ${fd} is ${describeKind(kind)}; it needs an AF_INET or AF_INET6 SOCK_DGRAM socket${hint}`);
  }
  const type = kind.domain === AF_INET ? 'udp4' : 'udp6';
  if (options.type !== undefined && options.type !== type) {
    throw invalidArgValue('options.type', `must be '${type}' for fd ${fd} (${describeKind(kind)}), or be left out`, options.type);
  }
  takeFromSockfd(fd, 'toDgram');
  const socket = dgram.createSocket({ ...options, type });
  try {
    socket.bind({ fd, exclusive: true });
  } catch (err) {
    socket.close();
    throw err;
  }
  return socket;
}
