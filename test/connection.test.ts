// bind, listen, accept, connect, getsockname, getpeername over TCP (127.0.0.1 and ::1) and AF_UNIX
// (paths under os.tmpdir() and abstract names).
//
// Every wait is bounded: listeners are non-blocking and polled before accept; clients connect
// non-blocking and are polled for POLLOUT; the few blocking connects (to a closed port) carry a
// 2 s SO_SNDTIMEO.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  F_GETFL,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  O_NONBLOCK,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SOMAXCONN,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_SNDTIMEO,
  SystemError,
  accept,
  bind,
  close,
  connect,
  fcntl,
  getpeername,
  getsockname,
  getsockopt,
  listen,
  poll,
  setsockopt,
  socket,
  type SockAddr,
  type SockAddrIn,
} from '../src/index.js';
import type { InetFamily } from '../src/index.js';
import { thrown, waitFor } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// fds opened by a test; afterEach closes whatever a test did not close itself.

const { own } = ownFds();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-conn-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
function tmpPath(): string {
  return path.join(tmp, `s${seq++}.sock`);
}
function abstractName(): string {
  return `\0sockfd-test-${process.pid}-${seq++}-${Math.random().toString(36).slice(2)}`;
}



/** A non-blocking listening socket on the loopback address of `family` (or at a unix path). */
function listener(family: number, addr?: SockAddr, backlog?: number): number {
  const fd = own(socket(family, SOCK_STREAM | SOCK_NONBLOCK));
  if (addr) bind(fd, addr);
  else if (family === AF_INET) bind(fd, { family, address: '127.0.0.1', port: 0 });
  else if (family === AF_INET6) bind(fd, { family, address: '::1', port: 0 });
  listen(fd, backlog);
  return fd;
}

/** Connects a new non-blocking client to `addr`, waiting at most 2 s; returns its fd. */
function client(family: number, addr: SockAddr, bindTo?: SockAddr): number {
  const fd = own(socket(family, SOCK_STREAM | SOCK_NONBLOCK));
  if (bindTo) bind(fd, bindTo);
  try {
    connect(fd, addr);
  } catch (err) {
    if (!(err instanceof SystemError && err.code === 'EINPROGRESS')) throw err;
  }
  waitFor(fd, POLLOUT);
  expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(0);
  return fd;
}

/** Accepts one connection from `lfd`, waiting at most 2 s. */
function acceptOne(lfd: number, flags = 0): { fd: number; address: SockAddr | null } {
  waitFor(lfd, POLLIN);
  const r = accept(lfd, flags);
  own(r.fd);
  return r;
}

/** A port on 127.0.0.1 that nothing listens on (bound, read, and released). */
function closedPort(family: InetFamily = AF_INET): number {
  const fd = socket(family, SOCK_STREAM);
  try {
    bind(fd, { family, address: family === AF_INET ? '127.0.0.1' : '::1', port: 0 });
    return (getsockname(fd) as SockAddrIn).port;
  } finally {
    close(fd);
  }
}

/** Makes blocking connect/recv on `fd` give up after 2 s. */
function boundBlocking(fd: number): void {
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, new BigInt64Array([2n, 0n]));
}

/** The error `net` reports for connecting to `options`. */
function netConnectError(options: net.NetConnectOpts): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const s = net.connect(options);
    s.on('connect', () => {
      s.destroy();
      reject(new Error('net connected'));
    });
    s.on('error', (err) => resolve(err as NodeJS.ErrnoException));
  });
}

/** ss's view of a listening TCP socket: [Recv-Q (queued connections), Send-Q (backlog)]. */
function ssListen(port: number): [number, number] {
  const r = spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8', timeout: 10_000 });
  expect(r.status, r.stderr).toBe(0);
  const fields = r.stdout.trim().split(/\s+/);
  expect(fields[0]).toBe('LISTEN');
  return [Number(fields[1]), Number(fields[2])];
}

// ---------------------------------------------------------------------------------------------

describe.each([
  { name: 'TCP over 127.0.0.1', family: AF_INET, loopback: '127.0.0.1' },
  { name: 'TCP over ::1', family: AF_INET6, loopback: '::1' },
])('$name', ({ family, loopback }) => {
  it('getsockname after bind to port 0 gives the loopback address and a real port', () => {
    const fd = own(socket(family, SOCK_STREAM));
    bind(fd, { family, address: loopback, port: 0 });
    const addr = getsockname(fd) as SockAddrIn;
    expect(addr.family).toBe(family);
    expect(addr.address).toBe(loopback);
    expect(addr.port).toBeGreaterThan(0);
    expect(addr.port).toBeLessThan(65536);
  });

  it('accept returns the peer address the client sees as its own', () => {
    const lfd = listener(family);
    const cfd = client(family, getsockname(lfd));
    const { fd, address } = acceptOne(lfd);
    expect(fd).toBeGreaterThan(2);
    expect(address).toEqual(getsockname(cfd));
    expect(address).toMatchObject({ family, address: loopback });
  });

  it('getpeername of the client is the listener address', () => {
    const lfd = listener(family);
    const cfd = client(family, getsockname(lfd));
    acceptOne(lfd);
    expect(getpeername(cfd)).toEqual(getsockname(lfd));
  });

  it('getpeername of the accepted socket is the client address', () => {
    const lfd = listener(family);
    const cfd = client(family, getsockname(lfd));
    const { fd } = acceptOne(lfd);
    expect(getpeername(fd)).toEqual(getsockname(cfd));
    expect(getsockname(fd)).toEqual(getsockname(lfd));
  });

  it('connect to a closed port gives ECONNREFUSED naming the address and port', () => {
    const port = closedPort(family);
    const fd = own(socket(family, SOCK_STREAM));
    boundBlocking(fd);
    const err = thrown(() => connect(fd, { family, address: loopback, port }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: loopback,
      port,
      message: `connect ECONNREFUSED ${loopback}:${port}`,
    });
  });

  it('connect ECONNREFUSED matches the error net gives, field by field', async () => {
    const port = closedPort(family);
    const fd = own(socket(family, SOCK_STREAM));
    boundBlocking(fd);
    const ours = thrown(() => connect(fd, { family, address: loopback, port })) as SystemError;
    const theirs = await netConnectError({ host: loopback, port, family: family === AF_INET ? 4 : 6 });
    expect({
      message: ours.message,
      code: ours.code,
      errno: ours.errno,
      syscall: ours.syscall,
      address: ours.address,
      port: ours.port,
    }).toEqual({
      message: theirs.message,
      code: theirs.code,
      errno: theirs.errno,
      syscall: theirs.syscall,
      address: (theirs as { address?: string }).address,
      port: (theirs as { port?: number }).port,
    });
  });

  it('non-blocking connect throws EINPROGRESS, then POLLOUT, then SO_ERROR 0', () => {
    const lfd = listener(family);
    const fd = own(socket(family, SOCK_STREAM | SOCK_NONBLOCK));
    const addr = getsockname(lfd);
    const err = thrown(() => connect(fd, addr));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINPROGRESS', errno: -115, syscall: 'connect' });
    waitFor(fd, POLLOUT);
    expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(0);
    expect(getpeername(fd)).toEqual(addr);
  });

  it('bind to a port in use gives EADDRINUSE naming the address and port', () => {
    const lfd = listener(family);
    const { port } = getsockname(lfd) as SockAddrIn;
    const fd = own(socket(family, SOCK_STREAM));
    const err = thrown(() => bind(fd, { family, address: loopback, port }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({
      code: 'EADDRINUSE',
      errno: -98,
      syscall: 'bind',
      address: loopback,
      port,
      message: `bind EADDRINUSE ${loopback}:${port}`,
    });
  });
});

describe('getsockname and getpeername with the family expected', () => {
  it('return the address when the socket has that family', () => {
    const fd = listener(AF_INET);
    const addr = getsockname(fd, AF_INET);
    expect(addr).toEqual(getsockname(fd));
    expect(addr.port).toBeGreaterThan(0);
    const cfd = client(AF_INET, addr);
    const conn = own(accept(fd).fd);
    expect(getpeername(conn, AF_INET)).toEqual(getsockname(cfd));
  });

  it("are a TypeError ERR_INVALID_ARG_VALUE naming family and the socket's family when it differs", () => {
    const fd = listener(AF_INET6);
    const err = thrown(() => getsockname(fd, AF_INET));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(err.message).toContain('"family"');
    expect(err.message).toContain('AF_INET6 (10)');
    const cfd = client(AF_INET6, getsockname(fd));
    expect(thrown(() => getpeername(cfd, AF_UNIX)).message).toContain('AF_INET6 (10)');
  });

  it('check the family before the call: a family that is not an integer from 0 to 65535 is refused', () => {
    const fd = listener(AF_INET);
    // @ts-expect-error -- a family is a number
    expect(thrown(() => getsockname(fd, 'AF_INET'))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => getsockname(fd, 65536))).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => getpeername(2 ** 40, AF_INET))).toMatchObject({ name: 'RangeError' });
  });
});

describe('IPv4 through an IPv6 socket', () => {
  it('accept on an IPv6 listener bound to ::ffff:127.0.0.1 gives an IPv4 client as a v4-mapped address', () => {
    const lfd = own(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK));
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    bind(lfd, { family: AF_INET6, address: '::ffff:127.0.0.1', port: 0 });
    listen(lfd, 4);
    const { port } = getsockname(lfd) as SockAddrIn;
    const cfd = client(AF_INET, { family: AF_INET, address: '127.0.0.1', port });
    const mine = getsockname(cfd) as SockAddrIn;
    const { address } = acceptOne(lfd);
    expect(address).toEqual({ family: AF_INET6, address: '::ffff:127.0.0.1', port: mine.port, flowinfo: 0, scopeId: 0 });
  });
});

describe('bind to an address that is not local', () => {
  it('gives EADDRNOTAVAIL naming the address, and no port when the port was 0', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const err = thrown(() => bind(fd, { family: AF_INET, address: '192.0.2.1', port: 0 }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EADDRNOTAVAIL', errno: -99, syscall: 'bind', address: '192.0.2.1', message: 'bind EADDRNOTAVAIL 192.0.2.1' });
    expect(err).not.toHaveProperty('port');
  });
});

describe('connect, non-blocking, to a closed port', () => {
  it('reports ECONNREFUSED at once or through SO_ERROR after POLLOUT', () => {
    const port = closedPort();
    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    const err = thrown(() => connect(fd, { family: AF_INET, address: '127.0.0.1', port })) as SystemError;
    expect(err).toBeInstanceOf(SystemError);
    if (err.code === 'EINPROGRESS') {
      waitFor(fd, POLLOUT);
      expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(111);
    } else {
      expect(err.code).toBe('ECONNREFUSED');
    }
  });
});

describe('listen', () => {
  it('marks the socket as listening (SO_ACCEPTCONN)', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    expect(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN)).toBe(0);
    listen(fd, 4);
    expect(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN)).toBe(1);
  });

  it('passes the backlog to the kernel', () => {
    const lfd = listener(AF_INET, undefined, 5);
    const { port } = getsockname(lfd) as SockAddrIn;
    expect(ssListen(port)[1]).toBe(5);
  });

  it('defaults the backlog to SOMAXCONN (capped by net.core.somaxconn)', () => {
    const lfd = listener(AF_INET);
    const { port } = getsockname(lfd) as SockAddrIn;
    const sysMax = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    expect(ssListen(port)[1]).toBe(Math.min(SOMAXCONN, sysMax));
  });

  it('queues completed connections up to backlog + 1 and leaves the next one unanswered', () => {
    const lfd = listener(AF_INET, undefined, 1);
    const addr = getsockname(lfd) as SockAddrIn;
    client(AF_INET, addr);
    client(AF_INET, addr);
    expect(ssListen(addr.port)[0]).toBe(2);
    const third = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    expect(thrown(() => connect(third, addr))).toMatchObject({ code: 'EINPROGRESS' });
    // Its SYN was dropped: the queue is full, so nothing answers it before the first retransmit (1 s).
    expect(poll([{ fd: third, events: POLLOUT }], 100)[0]!.revents).toBe(0);
    expect(ssListen(addr.port)[0]).toBe(2);
  });

  it('throws EOPNOTSUPP-as-Node-names-it for a datagram socket', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    const err = thrown(() => listen(fd, 1));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'listen' });
  });
});

describe('accept', () => {
  it('throws EINVAL on a socket that is not listening', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const err = thrown(() => own(accept(fd).fd));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'accept', message: 'accept EINVAL' });
  });

  it('throws EAGAIN on a non-blocking listener with no connection waiting', () => {
    const lfd = listener(AF_INET);
    const err = thrown(() => own(accept(lfd).fd));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAGAIN', errno: -11, syscall: 'accept' });
  });

  it('with SOCK_NONBLOCK gives a non-blocking fd', () => {
    const lfd = listener(AF_INET);
    client(AF_INET, getsockname(lfd));
    const { fd } = acceptOne(lfd, SOCK_NONBLOCK);
    expect(fcntl(fd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
  });

  it('without flags gives a blocking fd even from a non-blocking listener', () => {
    const lfd = listener(AF_INET);
    client(AF_INET, getsockname(lfd));
    const { fd } = acceptOne(lfd);
    expect(fcntl(fd, F_GETFL) & O_NONBLOCK).toBe(0);
  });

  it('takes connections in the order they completed', () => {
    const lfd = listener(AF_INET);
    const addr = getsockname(lfd);
    const c1 = client(AF_INET, addr);
    const c2 = client(AF_INET, addr);
    expect(acceptOne(lfd).address).toEqual(getsockname(c1));
    expect(acceptOne(lfd).address).toEqual(getsockname(c2));
  });
});

describe('AF_UNIX', () => {
  it('getsockname gives back the bound path', () => {
    const p = tmpPath();
    const fd = own(socket(AF_UNIX, SOCK_STREAM));
    bind(fd, { family: AF_UNIX, path: p });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: p });
    expect(fs.statSync(p).isSocket()).toBe(true);
  });

  it('accept from an unbound client gives the unnamed address, as the client getsockname does', () => {
    const p = tmpPath();
    const lfd = listener(AF_UNIX, { family: AF_UNIX, path: p });
    const cfd = client(AF_UNIX, { family: AF_UNIX, path: p });
    const { address } = acceptOne(lfd);
    expect(address).toEqual({ family: AF_UNIX, path: '' });
    expect(address).toEqual(getsockname(cfd));
  });

  it('accept from a bound client gives the client path', () => {
    const p = tmpPath();
    const q = tmpPath();
    const lfd = listener(AF_UNIX, { family: AF_UNIX, path: p });
    const cfd = client(AF_UNIX, { family: AF_UNIX, path: p }, { family: AF_UNIX, path: q });
    const { address, fd } = acceptOne(lfd);
    expect(address).toEqual({ family: AF_UNIX, path: q });
    expect(address).toEqual(getsockname(cfd));
    expect(getpeername(fd)).toEqual({ family: AF_UNIX, path: q });
  });

  it('getpeername of the client is the listener path', () => {
    const p = tmpPath();
    const lfd = listener(AF_UNIX, { family: AF_UNIX, path: p });
    const cfd = client(AF_UNIX, { family: AF_UNIX, path: p });
    acceptOne(lfd);
    expect(getpeername(cfd)).toEqual({ family: AF_UNIX, path: p });
  });

  it('takes a path given as a Buffer', () => {
    const p = tmpPath();
    const fd = own(socket(AF_UNIX, SOCK_STREAM));
    bind(fd, { family: AF_UNIX, path: Buffer.from(p) });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: p });
  });

  it('binds and connects to an abstract name, which getsockname returns with its leading NUL', () => {
    const name = abstractName();
    const lfd = listener(AF_UNIX, { family: AF_UNIX, path: name });
    expect(getsockname(lfd)).toEqual({ family: AF_UNIX, path: name });
    const cfd = client(AF_UNIX, { family: AF_UNIX, path: name });
    acceptOne(lfd);
    expect(getpeername(cfd)).toEqual({ family: AF_UNIX, path: name });
  });

  it('binding the empty path autobinds an abstract name', () => {
    const fd = own(socket(AF_UNIX, SOCK_DGRAM));
    bind(fd, { family: AF_UNIX, path: '' });
    const { path: name } = getsockname(fd) as { path: string };
    expect(name).toMatch(/^\0[0-9a-f]{5}$/);
  });

  it('connect to a missing path gives ENOENT naming the path', () => {
    const p = tmpPath();
    const fd = own(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK));
    const err = thrown(() => connect(fd, { family: AF_UNIX, path: p }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'connect', address: p, message: `connect ENOENT ${p}` });
    expect((err as SystemError).port).toBeUndefined();
  });

  it('connect ENOENT matches the error net gives, field by field', async () => {
    const p = tmpPath();
    const fd = own(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK));
    const ours = thrown(() => connect(fd, { family: AF_UNIX, path: p })) as SystemError;
    const theirs = await netConnectError({ path: p });
    expect({ message: ours.message, code: ours.code, errno: ours.errno, syscall: ours.syscall, address: ours.address }).toEqual({
      message: theirs.message,
      code: theirs.code,
      errno: theirs.errno,
      syscall: theirs.syscall,
      address: (theirs as { address?: string }).address,
    });
  });

  it('bind to a path in use gives EADDRINUSE naming the path', () => {
    const p = tmpPath();
    const a = own(socket(AF_UNIX, SOCK_STREAM));
    bind(a, { family: AF_UNIX, path: p });
    const b = own(socket(AF_UNIX, SOCK_STREAM));
    const err = thrown(() => bind(b, { family: AF_UNIX, path: p }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', address: p, message: `bind EADDRINUSE ${p}` });
  });

  it('a path longer than sun_path is a RangeError before any system call', () => {
    const p = path.join(tmp, 'x'.repeat(200));
    const fd = own(socket(AF_UNIX, SOCK_STREAM));
    expect(() => bind(fd, { family: AF_UNIX, path: p })).toThrow(RangeError);
    expect(fs.existsSync(p)).toBe(false);
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: '' });
  });
});

describe('malformed addresses', () => {
  it('a port above 65535 is a RangeError and nothing is bound', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const err = thrown(() => bind(fd, { family: AF_INET, address: '127.0.0.1', port: 70000 }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect((err as Error).message).toContain('port');
    expect(getsockname(fd)).toMatchObject({ address: '0.0.0.0', port: 0 });
  });

  it('a host name instead of an IPv4 literal is a TypeError naming the address', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const err = thrown(() => bind(fd, { family: AF_INET, address: 'localhost', port: 0 }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect((err as Error).message).toContain('address');
    expect(getsockname(fd)).toMatchObject({ address: '0.0.0.0', port: 0 });
  });

  it('an IPv4 literal for an IPv6 socket is a TypeError', () => {
    const fd = own(socket(AF_INET6, SOCK_STREAM));
    expect(() => bind(fd, { family: AF_INET6, address: '127.0.0.1', port: 0 })).toThrow(TypeError);
  });
});

describe('getpeername', () => {
  it('throws ENOTCONN on an unconnected socket', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const err = thrown(() => getpeername(fd));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOTCONN', errno: -107, syscall: 'getpeername' });
  });
});

describe('getsockname', () => {
  it('throws ENOTSOCK for an fd that is not a socket', () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      const err = thrown(() => getsockname(fd));
      expect(err).toBeInstanceOf(SystemError);
      expect(err).toMatchObject({ code: 'ENOTSOCK', errno: -88, syscall: 'getsockname' });
    } finally {
      fs.closeSync(fd);
    }
  });
});
