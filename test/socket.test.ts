// socket, socketpair, close, shutdown, fcntl, ioctl, poll, and "the fd is real": the numbers sockfd
// returns are the kernel's own fds, visible to fs, /proc and child processes as such.
//
// Every wait is bounded: sockets that could block are non-blocking, or are polled with a timeout
// before a read.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  FD_CLOEXEC,
  FIONREAD,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  O_NONBLOCK,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SHUT_WR,
  SIOCATMARK,
  SIOCINQ,
  SIOCOUTQ,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SystemError,
  accept,
  bind,
  close,
  connect,
  fcntl,
  getsockname,
  getsockopt,
  ioctl,
  listen,
  poll,
  read,
  recv,
  shutdown,
  socket,
  socketpair,
  write,
  type SockAddr,
} from '../src/index.js';
import { waitFor } from './helpers/expect.js';
import { checkFdLeaks, fdTarget, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// fds opened by a test; afterEach closes whatever a test did not close itself.

const { own, release } = ownFds();

function pair(type: number = SOCK_STREAM): [number, number] {
  const [a, b] = socketpair(AF_UNIX, type);
  return [own(a), own(b)];
}


/** A connected loopback TCP pair, set up with bounded waits: [client, accepted]. */
function tcpPair(): { client: number; server: number; listener: number } {
  const listener = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  bind(listener, { family: AF_INET, address: '127.0.0.1', port: 0 });
  listen(listener, 8);
  const addr = getsockname(listener) as SockAddr;
  const client = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  try {
    connect(client, addr);
  } catch (err) {
    if (!(err instanceof SystemError && err.code === 'EINPROGRESS')) throw err;
  }
  waitFor(client, POLLOUT);
  expect(getsockopt(client, SOL_SOCKET, SO_ERROR)).toBe(0);
  waitFor(listener, POLLIN);
  const server = own(accept(listener).fd);
  return { client, server, listener };
}

function inodeOf(fd: number): number {
  return fs.fstatSync(fd).ino;
}

/** `ls -l /proc/self/fd` as a child process sees it. */
function childFdListing(): string {
  const r = spawnSync('ls', ['-l', '/proc/self/fd'], { encoding: 'utf8', timeout: 10_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------

describe('socket', () => {
  it('returns an fd that fs.fstatSync reports as a socket', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(Number.isInteger(fd)).toBe(true);
    expect(fd).toBeGreaterThan(2);
    expect(fs.fstatSync(fd).isSocket()).toBe(true);
  });

  it('returns an fd whose /proc/self/fd link is socket:[inode] with the fstat inode', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    expect(fdTarget(fd)).toMatch(/^socket:\[\d+\]$/);
    expect(fdTarget(fd)).toBe(`socket:[${inodeOf(fd)}]`);
  });

  it('creates the socket close-on-exec', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('accepts SOCK_CLOEXEC or-ed into type', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC));
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('makes the socket non-blocking with SOCK_NONBLOCK', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    expect(fcntl(fd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
  });

  it('creates a blocking socket without SOCK_NONBLOCK', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(fcntl(fd, F_GETFL) & O_NONBLOCK).toBe(0);
  });

  it('throws a SystemError EAFNOSUPPORT for an unknown family', () => {
    let err: unknown;
    try {
      own(socket(12345, SOCK_STREAM));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAFNOSUPPORT', errno: -97, syscall: 'socket', message: 'socket EAFNOSUPPORT' });
  });

  it('rejects a non-number domain with a TypeError before any system call', () => {
    expect(() => socket('2' as unknown as number, SOCK_STREAM)).toThrow(TypeError);
  });
});

describe('socketpair', () => {
  it('returns two distinct socket fds', () => {
    const [a, b] = pair();
    expect(a).not.toBe(b);
    expect(fs.fstatSync(a).isSocket()).toBe(true);
    expect(fs.fstatSync(b).isSocket()).toBe(true);
  });

  it('creates both ends close-on-exec', () => {
    const [a, b] = pair();
    expect(fcntl(a, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
    expect(fcntl(b, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('connects the two ends: bytes written on one are read on the other', () => {
    const [a, b] = pair();
    expect(write(a, Buffer.from('ping'))).toBe(4);
    waitFor(b, POLLIN);
    const buf = Buffer.alloc(16);
    const n = read(b, buf);
    expect(buf.toString('latin1', 0, n)).toBe('ping');
  });

  it('throws a SystemError named as Node names errno 95 (ENOTSUP) for a family without socketpair', () => {
    let err: unknown;
    try {
      const [a, b] = socketpair(AF_INET, SOCK_STREAM);
      own(a);
      own(b);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'socketpair' });
  });
});

describe('close-on-exec and child processes', () => {
  it('makes an accepted socket close-on-exec', () => {
    const { server } = tcpPair();
    expect(fcntl(server, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('makes an accepted socket close-on-exec even when the flags ask for SOCK_NONBLOCK only', () => {
    const listener = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    bind(listener, { family: AF_INET, address: '127.0.0.1', port: 0 });
    listen(listener);
    const client = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    try {
      connect(client, getsockname(listener));
    } catch (err) {
      if (!(err instanceof SystemError && err.code === 'EINPROGRESS')) throw err;
    }
    waitFor(listener, POLLIN);
    const fd = own(accept(listener, SOCK_NONBLOCK).fd);
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('does not let a child process inherit a socket', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const target = fdTarget(fd)!;
    expect(target).toMatch(/^socket:\[\d+\]$/);
    expect(childFdListing()).not.toContain(target);
  });

  it('does not let a child process inherit either end of a socketpair', () => {
    const [a, b] = pair();
    const listing = childFdListing();
    expect(listing).not.toContain(fdTarget(a)!);
    expect(listing).not.toContain(fdTarget(b)!);
  });

  it('does not let a node child see the socket at its fd number', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const ino = inodeOf(fd);
    const script = `const fs=require('fs');try{const s=fs.fstatSync(${fd});console.log(s.isSocket()?'socket '+s.ino:'other')}catch(e){console.log(e.code)}`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).not.toBe(`socket ${ino}`);
  });

  it('lets a child inherit the socket at the same fd number after fcntl(F_SETFD, 0)', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(fcntl(fd, F_SETFD, 0)).toBe(0);
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(0);
    const listing = childFdListing();
    expect(listing).toMatch(new RegExp(` ${fd} -> ${fdTarget(fd)!.replace(/[[\]]/g, '\\$&')}`));
  });

  it('lets a node child fstat the inherited socket after fcntl(F_SETFD, 0)', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    fcntl(fd, F_SETFD, 0);
    const ino = inodeOf(fd);
    const script = `const fs=require('fs');try{const s=fs.fstatSync(${fd});console.log(s.isSocket()?'socket '+s.ino:'other')}catch(e){console.log(e.code)}`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`socket ${ino}`);
  });

  it('gives a child the socket through stdio', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const ino = inodeOf(fd);
    const script = `const s=require('fs').fstatSync(3);console.log(s.isSocket()?'socket '+s.ino:'other')`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe', fd],
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`socket ${ino}`);
  });
});

describe('close', () => {
  it('removes the fd from /proc/self/fd', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(fdTarget(fd)).toBeDefined();
    release(fd);
    expect(fdTarget(fd)).toBeUndefined();
  });

  it('throws a SystemError EBADF when the fd is already closed', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    release(fd);
    expect(fdTarget(fd)).toBeUndefined();
    let err: unknown;
    try {
      close(fd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'close', message: 'close EBADF' });
  });

  it('rejects an fd that is not a non-negative int32 with a RangeError, never wrapping it', () => {
    for (const bad of [-1, 3.5, 2 ** 32 + 3, 2 ** 31, NaN]) {
      expect(() => close(bad), String(bad)).toThrow(RangeError);
    }
  });

  it('rejects a non-number fd with a TypeError', () => {
    expect(() => close('3' as unknown as number)).toThrow(TypeError);
  });

  it('makes fstat on the closed fd fail', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    release(fd);
    expect(() => fs.fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('shutdown', () => {
  it('SHUT_WR gives the peer end of stream: read returns 0', () => {
    const [a, b] = pair();
    shutdown(a, SHUT_WR);
    waitFor(b, POLLIN);
    expect(read(b, Buffer.alloc(8))).toBe(0);
  });

  it('SHUT_WR still delivers the bytes written before it, then end of stream', () => {
    const [a, b] = pair();
    write(a, Buffer.from('last'));
    shutdown(a, SHUT_WR);
    const buf = Buffer.alloc(8);
    waitFor(b, POLLIN);
    expect(read(b, buf)).toBe(4);
    expect(buf.toString('latin1', 0, 4)).toBe('last');
    waitFor(b, POLLIN);
    expect(read(b, buf)).toBe(0);
  });

  it('SHUT_WR makes a later write on the same end fail with EPIPE', () => {
    const [a] = pair();
    shutdown(a, SHUT_WR);
    expect(() => write(a, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE', errno: -32, syscall: 'write' }));
  });

  it('throws a SystemError EINVAL for an unknown how', () => {
    const [a] = pair();
    expect(() => shutdown(a, 7)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: -22, syscall: 'shutdown' }));
  });

  it('throws a SystemError ENOTCONN on an unconnected TCP socket', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    let err: unknown;
    try {
      shutdown(fd, SHUT_WR);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOTCONN', errno: -107, syscall: 'shutdown' });
  });
});

describe('non-blocking sockets', () => {
  it('recv with nothing to read throws EAGAIN with code, errno and syscall', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK).map(own) as [number, number];
    let err: unknown;
    try {
      recv(a, Buffer.alloc(8));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAGAIN', errno: -11, syscall: 'recv', message: 'recv EAGAIN' });
  });

  it('read with nothing to read throws EAGAIN with syscall read', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK).map(own) as [number, number];
    expect(() => read(a, Buffer.alloc(8))).toThrow(expect.objectContaining({ code: 'EAGAIN', errno: -11, syscall: 'read' }));
  });

  it('makes both ends of a SOCK_NONBLOCK socketpair non-blocking', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK).map(own) as [number, number];
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(fcntl(b, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
  });
});

describe('fcntl', () => {
  it('F_SETFL O_NONBLOCK makes a blocking socket non-blocking, and clearing it restores blocking', () => {
    const [a] = pair();
    const flags = fcntl(a, F_GETFL);
    expect(flags & O_NONBLOCK).toBe(0);
    expect(fcntl(a, F_SETFL, flags | O_NONBLOCK)).toBe(0);
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(() => recv(a, Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    fcntl(a, F_SETFL, fcntl(a, F_GETFL) & ~O_NONBLOCK);
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(0);
  });

  it('F_SETFD FD_CLOEXEC sets the flag back after clearing it', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    fcntl(fd, F_SETFD, 0);
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(0);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  });

  it('throws a RangeError for an unsupported command (F_DUPFD)', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const F_DUPFD = 0;
    expect(() => fcntl(fd, F_DUPFD, 100)).toThrow(RangeError);
  });

  it('throws a TypeError when F_SETFL has no argument', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    expect(() => fcntl(fd, F_SETFL)).toThrow(TypeError);
  });

  it('throws a SystemError EBADF for an fd that is not open', () => {
    let err: unknown;
    try {
      fcntl(1_000_000, F_GETFD);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'fcntl' });
  });
});

describe('ioctl', () => {
  it('FIONREAD counts the bytes waiting to be read', () => {
    const [a, b] = pair();
    expect(ioctl(b, FIONREAD)).toBe(0);
    write(a, Buffer.from('hello'));
    waitFor(b, POLLIN);
    expect(ioctl(b, FIONREAD)).toBe(5);
  });

  it('SIOCINQ counts the bytes waiting to be read on TCP, less what was read', () => {
    const { client, server } = tcpPair();
    write(client, Buffer.from('0123456789'));
    waitFor(server, POLLIN);
    expect(ioctl(server, SIOCINQ)).toBe(10);
    recv(server, Buffer.alloc(4));
    expect(ioctl(server, SIOCINQ)).toBe(6);
  });

  it('SIOCOUTQ reports queued output on a unix stream until the peer reads it', () => {
    const [a, b] = pair();
    expect(typeof SIOCOUTQ).toBe('number');
    expect(ioctl(a, SIOCOUTQ)).toBe(0);
    write(a, Buffer.alloc(100));
    expect(ioctl(a, SIOCOUTQ)).toBeGreaterThan(0);
    waitFor(b, POLLIN);
    expect(recv(b, Buffer.alloc(200))).toBe(100);
    expect(ioctl(a, SIOCOUTQ)).toBe(0);
  });

  it('SIOCOUTQ on an idle connected TCP socket is 0', () => {
    const { client } = tcpPair();
    expect(ioctl(client, SIOCOUTQ)).toBe(0);
  });

  it('SIOCATMARK is 0 on a TCP socket with no urgent data', () => {
    const { server } = tcpPair();
    expect(ioctl(server, SIOCATMARK)).toBe(0);
  });

  it('throws a SystemError EINVAL for SIOCINQ on a listening TCP socket', () => {
    const { listener } = tcpPair();
    let err: unknown;
    try {
      ioctl(listener, SIOCINQ);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'ioctl' });
  });

  it('throws a RangeError for a request that is not an integer socket ioctl', () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    const SIOCGIFCONF = 0x8912;
    expect(() => ioctl(fd, SIOCGIFCONF)).toThrow(RangeError);
  });
});

describe('poll', () => {
  it('reports POLLIN when data waits', () => {
    const [a, b] = pair();
    write(a, Buffer.from('x'));
    const [r] = poll([{ fd: b, events: POLLIN }], 2000);
    expect(r).toEqual({ fd: b, revents: POLLIN });
  });

  it('reports 0 revents with timeout 0 when nothing waits', () => {
    const [, b] = pair();
    const [r] = poll([{ fd: b, events: POLLIN }], 0);
    expect(r).toEqual({ fd: b, revents: 0 });
  });

  it('reports POLLHUP and POLLIN when the peer closes', () => {
    const [a, b] = pair();
    release(a);
    const [r] = poll([{ fd: b, events: POLLIN }], 2000);
    expect(r!.revents & POLLHUP).toBe(POLLHUP);
    expect(r!.revents & POLLIN).toBe(POLLIN);
  });

  it('reports POLLOUT on a writable socket', () => {
    const [a] = pair();
    const [r] = poll([{ fd: a, events: POLLIN | POLLOUT }], 0);
    expect(r!.revents).toBe(POLLOUT);
  });

  it('returns one entry per input entry, in order', () => {
    const [a, b] = pair();
    const [c, d] = pair();
    write(d, Buffer.from('x'));
    waitFor(c, POLLIN);
    const res = poll(
      [
        { fd: b, events: POLLIN },
        { fd: c, events: POLLIN },
        { fd: a, events: POLLOUT },
      ],
      0,
    );
    expect(res).toEqual([
      { fd: b, revents: 0 },
      { fd: c, revents: POLLIN },
      { fd: a, revents: POLLOUT },
    ]);
  });

  it('reports POLLNVAL for an fd that is not open', () => {
    const [r] = poll([{ fd: 1_000_000, events: POLLIN }], 0);
    expect(r).toEqual({ fd: 1_000_000, revents: POLLNVAL });
  });

  it('waits about the timeout when nothing becomes ready', () => {
    const [, b] = pair();
    const t0 = performance.now();
    const [r] = poll([{ fd: b, events: POLLIN }], 50);
    const elapsed = performance.now() - t0;
    expect(r!.revents).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(40);
    expect(elapsed).toBeLessThan(2000);
  });

  it('throws a TypeError when fds is not an array', () => {
    expect(() => poll({} as unknown as [], 0)).toThrow(TypeError);
  });

  it('throws a RangeError for a timeout below -1', () => {
    expect(() => poll([], -2)).toThrow(RangeError);
  });
});
