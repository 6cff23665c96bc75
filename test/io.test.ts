// read, write, send, recv, sendto, recvfrom: round trips over TCP, UDP and unix sockets, the
// `length` argument, views into larger buffers (only the view's own bytes are touched), typed
// arrays and DataViews, MSG_PEEK / MSG_TRUNC / MSG_DONTWAIT, and writes to a closed or reset peer.
//
// Every wait is bounded: each receive is preceded by a poll with a 2 s timeout.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  FIONREAD,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SO_LINGER,
  SystemError,
  accept,
  bind,
  close,
  connect,
  getsockname,
  getsockopt,
  ioctl,
  listen,
  poll,
  read,
  recv,
  recvfrom,
  send,
  sendto,
  setsockopt,
  socket,
  socketpair,
  write,
  type SockAddrIn,
} from '../src/index.js';
import type { InetFamily } from '../src/index.js';
import { thrown, waitFor } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// fds opened by a test; afterEach closes whatever a test did not close itself.

const { own, release } = ownFds();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-io-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;



function streamPair(): [number, number] {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  return [own(a), own(b)];
}

/**
 * A connected loopback TCP pair: [client, accepted]. The client is non-blocking (it connected with a
 * bounded wait), the accepted socket blocking; tests poll before every receive.
 */
function tcpPair(family: InetFamily = AF_INET): [number, number] {
  const loopback = family === AF_INET ? '127.0.0.1' : '::1';
  const lfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK);
  try {
    bind(lfd, { family, address: loopback, port: 0 });
    listen(lfd, 4);
    const c = own(socket(family, SOCK_STREAM | SOCK_NONBLOCK));
    try {
      connect(c, getsockname(lfd));
    } catch (err) {
      if (!(err instanceof SystemError && err.code === 'EINPROGRESS')) throw err;
    }
    waitFor(c, POLLOUT, true);
    expect(getsockopt(c, SOL_SOCKET, SO_ERROR)).toBe(0);
    waitFor(lfd, POLLIN, true);
    const s = own(accept(lfd).fd);
    return [c, s];
  } finally {
    close(lfd);
  }
}

/** Two UDP sockets bound to ephemeral loopback ports. */
function udpPair(family: InetFamily = AF_INET): [number, number] {
  const loopback = family === AF_INET ? '127.0.0.1' : '::1';
  const a = own(socket(family, SOCK_DGRAM));
  const b = own(socket(family, SOCK_DGRAM));
  bind(a, { family, address: loopback, port: 0 });
  bind(b, { family, address: loopback, port: 0 });
  return [a, b];
}

/** Reads whatever arrives on `fd` (after waiting at most 2 s) as latin1 text. */
function recvText(fd: number, size = 256): string {
  waitFor(fd, POLLIN, true);
  const buf = Buffer.alloc(size);
  const n = recv(fd, buf);
  return buf.toString('latin1', 0, n);
}

const SENTINEL = 0xee;

// ---------------------------------------------------------------------------------------------

describe('round trips', () => {
  it('write then read over TCP carries the bytes', () => {
    const [c, s] = tcpPair();
    const msg = Buffer.from('你好, sockfd', 'utf8');
    expect(write(c, msg)).toBe(msg.length);
    waitFor(s, POLLIN, true);
    const buf = Buffer.alloc(64);
    const n = read(s, buf);
    expect(buf.subarray(0, n).toString('utf8')).toBe('你好, sockfd');
  });

  it('send then recv over TCP over ::1 carries the bytes both ways', () => {
    const [c, s] = tcpPair(AF_INET6);
    expect(send(c, Buffer.from('ping'))).toBe(4);
    expect(recvText(s)).toBe('ping');
    expect(send(s, Buffer.from('pong'))).toBe(4);
    expect(recvText(c)).toBe('pong');
  });

  it('sendto then recvfrom over UDP carries the datagram and the sender address', () => {
    const [a, b] = udpPair();
    const to = getsockname(b);
    expect(sendto(a, Buffer.from('hello'), undefined, 0, to)).toBe(5);
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(64);
    const { bytes, address } = recvfrom(b, buf);
    expect(buf.toString('latin1', 0, bytes)).toBe('hello');
    expect(address).toEqual(getsockname(a));
  });

  it('recvfrom over UDP/IPv6 gives the sender address with flowinfo and scopeId', () => {
    const [a, b] = udpPair(AF_INET6);
    sendto(a, Buffer.from('six'), undefined, 0, getsockname(b));
    waitFor(b, POLLIN, true);
    const { bytes, address } = recvfrom(b, Buffer.alloc(16));
    expect(bytes).toBe(3);
    expect(address).toEqual(getsockname(a));
    expect(address).toMatchObject({ family: AF_INET6, address: '::1', flowinfo: 0, scopeId: 0 });
  });

  it('keeps datagram boundaries over UDP', () => {
    const [a, b] = udpPair();
    const to = getsockname(b);
    sendto(a, Buffer.from('one'), undefined, 0, to);
    sendto(a, Buffer.from('three'), undefined, 0, to);
    expect(recvText(b)).toBe('one');
    expect(recvText(b)).toBe('three');
  });

  it('sendto then recvfrom over unix datagram sockets gives the sender path', () => {
    const pa = path.join(tmp, `a${seq++}.sock`);
    const pb = path.join(tmp, `b${seq++}.sock`);
    const a = own(socket(AF_UNIX, SOCK_DGRAM));
    const b = own(socket(AF_UNIX, SOCK_DGRAM));
    bind(a, { family: AF_UNIX, path: pa });
    bind(b, { family: AF_UNIX, path: pb });
    expect(sendto(a, Buffer.from('unix'), undefined, 0, { family: AF_UNIX, path: pb })).toBe(4);
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16);
    const { bytes, address } = recvfrom(b, buf);
    expect(buf.toString('latin1', 0, bytes)).toBe('unix');
    expect(address).toEqual({ family: AF_UNIX, path: pa });
    expect(address).toEqual(getsockname(a));
  });

  it('recvfrom over an abstract unix datagram socket gives the sender abstract name', () => {
    const na = `\0sockfd-io-${process.pid}-${seq++}`;
    const nb = `\0sockfd-io-${process.pid}-${seq++}`;
    const a = own(socket(AF_UNIX, SOCK_DGRAM));
    const b = own(socket(AF_UNIX, SOCK_DGRAM));
    bind(a, { family: AF_UNIX, path: na });
    bind(b, { family: AF_UNIX, path: nb });
    sendto(a, Buffer.from('abs'), undefined, 0, { family: AF_UNIX, path: nb });
    waitFor(b, POLLIN, true);
    expect(recvfrom(b, Buffer.alloc(8)).address).toEqual({ family: AF_UNIX, path: na });
  });

  it('keeps datagram boundaries over a unix SOCK_DGRAM socketpair', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM).map(own) as [number, number];
    send(a, Buffer.from('ab'));
    send(a, Buffer.from('cde'));
    expect(recvText(b)).toBe('ab');
    expect(recvText(b)).toBe('cde');
  });

  it('recvfrom on a connected TCP socket gives address null', () => {
    const [c, s] = tcpPair();
    write(c, Buffer.from('x'));
    waitFor(s, POLLIN, true);
    const r = recvfrom(s, Buffer.alloc(8));
    expect(r).toEqual({ bytes: 1, address: null });
  });

  it('read returns 0 at end of stream', () => {
    const [c, s] = tcpPair();
    release(c);
    waitFor(s, POLLIN, true);
    expect(read(s, Buffer.alloc(8))).toBe(0);
  });
});

describe('flags', () => {
  it('MSG_PEEK returns the data and leaves it waiting', () => {
    const [c, s] = tcpPair();
    write(c, Buffer.from('peekaboo'));
    waitFor(s, POLLIN, true);
    const buf = Buffer.alloc(16);
    expect(recv(s, buf, undefined, MSG_PEEK)).toBe(8);
    expect(buf.toString('latin1', 0, 8)).toBe('peekaboo');
    expect(ioctl(s, FIONREAD)).toBe(8);
    const again = Buffer.alloc(16);
    expect(recv(s, again)).toBe(8);
    expect(again.toString('latin1', 0, 8)).toBe('peekaboo');
    expect(ioctl(s, FIONREAD)).toBe(0);
  });

  it('MSG_PEEK on recvfrom leaves the datagram and gives its sender', () => {
    const [a, b] = udpPair();
    sendto(a, Buffer.from('dg'), undefined, 0, getsockname(b));
    waitFor(b, POLLIN, true);
    const first = recvfrom(b, Buffer.alloc(8), undefined, MSG_PEEK);
    const second = recvfrom(b, Buffer.alloc(8));
    expect(first).toEqual(second);
    expect(first.address).toEqual(getsockname(a));
  });

  it('MSG_TRUNC on UDP recv returns the real datagram length but writes only length bytes', () => {
    const [a, b] = udpPair();
    sendto(a, Buffer.from('0123456789'), undefined, 0, getsockname(b));
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16, SENTINEL);
    expect(recv(b, buf, 4, MSG_TRUNC)).toBe(10);
    expect(buf.toString('latin1', 0, 4)).toBe('0123');
    expect([...buf.subarray(4)]).toEqual(new Array(12).fill(SENTINEL));
  });

  it('MSG_TRUNC on UDP recvfrom returns the real datagram length but writes only length bytes', () => {
    const [a, b] = udpPair();
    sendto(a, Buffer.from('abcdefghij'), undefined, 0, getsockname(b));
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16, SENTINEL);
    const { bytes, address } = recvfrom(b, buf, 3, MSG_TRUNC);
    expect(bytes).toBe(10);
    expect(address).toEqual(getsockname(a));
    expect(buf.toString('latin1', 0, 3)).toBe('abc');
    expect([...buf.subarray(3)]).toEqual(new Array(13).fill(SENTINEL));
  });

  it('a short UDP recv without MSG_TRUNC returns length and discards the rest of the datagram', () => {
    const [a, b] = udpPair();
    sendto(a, Buffer.from('0123456789'), undefined, 0, getsockname(b));
    waitFor(b, POLLIN, true);
    expect(recv(b, Buffer.alloc(16), 4)).toBe(4);
    expect(() => recv(b, Buffer.alloc(16), undefined, MSG_DONTWAIT)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
  });

  it('MSG_DONTWAIT on a blocking socket with nothing waiting throws EAGAIN', () => {
    const [, b] = streamPair();
    const err = thrown(() => recv(b, Buffer.alloc(8), undefined, MSG_DONTWAIT));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAGAIN', errno: -11, syscall: 'recv' });
  });

  it('recvfrom with MSG_DONTWAIT and nothing waiting throws EAGAIN with syscall recvfrom', () => {
    const [, b] = udpPair();
    const err = thrown(() => recvfrom(b, Buffer.alloc(8), undefined, MSG_DONTWAIT));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAGAIN', errno: -11, syscall: 'recvfrom' });
  });
});

describe('the length argument', () => {
  it('limits the bytes write sends', () => {
    const [a, b] = streamPair();
    expect(write(a, Buffer.from('0123456789'), 3)).toBe(3);
    expect(recvText(b)).toBe('012');
  });

  it('limits the bytes send sends', () => {
    const [a, b] = streamPair();
    expect(send(a, Buffer.from('0123456789'), 5)).toBe(5);
    expect(recvText(b)).toBe('01234');
  });

  it('limits the bytes sendto sends in a datagram', () => {
    const [a, b] = udpPair();
    expect(sendto(a, Buffer.from('0123456789'), 2, 0, getsockname(b))).toBe(2);
    expect(recvText(b)).toBe('01');
  });

  it('limits the bytes recv takes, leaving the rest waiting', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('0123456789'));
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16, SENTINEL);
    expect(recv(b, buf, 4)).toBe(4);
    expect(buf.toString('latin1', 0, 4)).toBe('0123');
    expect(buf[4]).toBe(SENTINEL);
    expect(ioctl(b, FIONREAD)).toBe(6);
  });

  it('limits the bytes read takes', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('0123456789'));
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(16, SENTINEL);
    expect(read(b, buf, 7)).toBe(7);
    expect(buf[7]).toBe(SENTINEL);
    expect(ioctl(b, FIONREAD)).toBe(3);
  });

  it('0 sends nothing on a stream and returns 0', () => {
    const [a, b] = streamPair();
    expect(write(a, Buffer.from('abc'), 0)).toBe(0);
    expect(ioctl(b, FIONREAD)).toBe(0);
  });

  it('beyond the view is a RangeError, and nothing is sent', () => {
    const [a, b] = streamPair();
    const err = thrown(() => write(a, Buffer.from('abc'), 4));
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(() => send(a, Buffer.from('abc'), 4)).toThrow(RangeError);
    expect(() => sendto(a, Buffer.from('abc'), 4, 0, { family: AF_UNIX, path: '' })).toThrow(RangeError);
    expect(ioctl(b, FIONREAD)).toBe(0);
  });

  it('beyond the view is a RangeError for recv, and nothing is read', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('abcdef'));
    waitFor(b, POLLIN, true);
    const buf = Buffer.alloc(4, SENTINEL);
    expect(() => recv(b, buf, 5)).toThrow(RangeError);
    expect(() => read(b, buf, 5)).toThrow(RangeError);
    expect(() => recvfrom(b, buf, 5)).toThrow(RangeError);
    expect([...buf]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    expect(ioctl(b, FIONREAD)).toBe(6);
  });

  it('negative or fractional is a RangeError', () => {
    const [a] = streamPair();
    expect(() => write(a, Buffer.from('abc'), -1)).toThrow(RangeError);
    expect(() => write(a, Buffer.from('abc'), 1.5)).toThrow(RangeError);
  });
});

describe('views into larger buffers', () => {
  it('read into a subarray touches only the subarray', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('ABCDEFGHIJKLMNOP'));
    waitFor(b, POLLIN, true);
    const big = Buffer.alloc(32, SENTINEL);
    const sub = big.subarray(8, 16);
    expect(read(b, sub)).toBe(8);
    expect(sub.toString('latin1')).toBe('ABCDEFGH');
    expect([...big.subarray(0, 8)]).toEqual(new Array(8).fill(SENTINEL));
    expect([...big.subarray(16)]).toEqual(new Array(16).fill(SENTINEL));
  });

  it('recv into a subarray with a shorter length touches only the first length bytes of it', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('ABCDEFGH'));
    waitFor(b, POLLIN, true);
    const big = Buffer.alloc(24, SENTINEL);
    const sub = big.subarray(8, 16);
    expect(recv(b, sub, 3)).toBe(3);
    expect(big.toString('latin1', 8, 11)).toBe('ABC');
    const expected = Buffer.alloc(24, SENTINEL);
    expected.write('ABC', 8, 'latin1');
    expect(big.equals(expected)).toBe(true);
  });

  it('recvfrom into a subarray touches only the subarray', () => {
    const [a, b] = udpPair();
    sendto(a, Buffer.from('0123456789abcdef'), undefined, 0, getsockname(b));
    waitFor(b, POLLIN, true);
    const big = Buffer.alloc(32, SENTINEL);
    const { bytes } = recvfrom(b, big.subarray(4, 12));
    expect(bytes).toBe(8);
    const expected = Buffer.alloc(32, SENTINEL);
    expected.write('01234567', 4, 'latin1');
    expect(big.equals(expected)).toBe(true);
  });

  it('write from a subarray sends the subarray bytes, not the start of the buffer', () => {
    const [a, b] = streamPair();
    const big = Buffer.from('0123456789');
    expect(write(a, big.subarray(6, 9))).toBe(3);
    expect(recvText(b)).toBe('678');
  });

  it('a Uint8Array over a shared ArrayBuffer at an offset is read and written in place', () => {
    const [a, b] = streamPair();
    const ab = new ArrayBuffer(16);
    new Uint8Array(ab).fill(SENTINEL);
    new Uint8Array(ab, 10, 3).set([0x61, 0x62, 0x63]);
    expect(send(a, new Uint8Array(ab, 10, 3))).toBe(3);
    waitFor(b, POLLIN, true);
    expect(recv(b, new Uint8Array(ab, 2, 3))).toBe(3);
    const all = [...new Uint8Array(ab)];
    expect(all.slice(2, 5)).toEqual([0x61, 0x62, 0x63]);
    expect(all.slice(0, 2)).toEqual([SENTINEL, SENTINEL]);
    expect(all.slice(5, 10)).toEqual(new Array(5).fill(SENTINEL));
  });
});

describe('DataView and typed arrays as buffers', () => {
  it('recv into a DataView at an offset writes only its bytes', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('WXYZWXYZ'));
    waitFor(b, POLLIN, true);
    const ab = new ArrayBuffer(16);
    new Uint8Array(ab).fill(SENTINEL);
    const dv = new DataView(ab, 4, 8);
    expect(recv(b, dv)).toBe(8);
    expect(Buffer.from(ab, 4, 8).toString('latin1')).toBe('WXYZWXYZ');
    expect([...new Uint8Array(ab, 0, 4)]).toEqual(new Array(4).fill(SENTINEL));
    expect([...new Uint8Array(ab, 12, 4)]).toEqual(new Array(4).fill(SENTINEL));
  });

  it('send from a DataView at an offset sends its bytes', () => {
    const [a, b] = streamPair();
    const ab = new ArrayBuffer(12);
    new Uint8Array(ab).set(Buffer.from('xxxxDATAyyyy'));
    expect(send(a, new DataView(ab, 4, 4))).toBe(4);
    expect(recvText(b)).toBe('DATA');
  });

  it('a DataView length beyond its byteLength is a RangeError', () => {
    const [a] = streamPair();
    const dv = new DataView(new ArrayBuffer(8), 2, 4);
    expect(() => write(a, dv, 5)).toThrow(RangeError);
  });

  it('a Uint16Array sends its whole byteLength in host byte order', () => {
    const [a, b] = streamPair();
    const words = new Uint16Array([0x0102, 0x0304, 0x0506]);
    expect(send(a, words)).toBe(6);
    waitFor(b, POLLIN, true);
    const got = Buffer.alloc(8);
    expect(recv(b, got)).toBe(6);
    expect(got.subarray(0, 6).equals(Buffer.from(words.buffer, words.byteOffset, 6))).toBe(true);
  });

  it('a Uint16Array at an offset receives into its own bytes, with length counted in bytes', () => {
    const [a, b] = streamPair();
    const ab = new ArrayBuffer(12);
    new Uint8Array(ab).fill(SENTINEL);
    const words = new Uint16Array(ab, 2, 4); // bytes 2..10
    write(a, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    waitFor(b, POLLIN, true);
    expect(recv(b, words, 3)).toBe(3);
    expect([...new Uint8Array(ab)]).toEqual([SENTINEL, SENTINEL, 1, 2, 3, ...new Array(7).fill(SENTINEL)]);
    expect(() => recv(b, words, 9)).toThrow(RangeError);
    expect(recv(b, words, 8)).toBe(5);
  });

  it('a Float64Array subarray sends the bytes of its elements only', () => {
    const [a, b] = streamPair();
    const f = new Float64Array([1.5, 2.5, 3.5]);
    expect(write(a, f.subarray(1, 2))).toBe(8);
    waitFor(b, POLLIN, true);
    const got = new Float64Array(2);
    expect(read(b, got)).toBe(8);
    expect(got[0]).toBe(2.5);
  });

  it('a non-view buffer is a TypeError', () => {
    const [a] = streamPair();
    expect(() => write(a, 'text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => write(a, new ArrayBuffer(4) as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('errors', () => {
  it('sendto a datagram too large gives EMSGSIZE naming the address and port', () => {
    const [a, b] = udpPair();
    const to = getsockname(b) as SockAddrIn;
    const err = thrown(() => sendto(a, Buffer.alloc(70_000), undefined, 0, to));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({
      code: 'EMSGSIZE',
      errno: -90,
      syscall: 'sendto',
      address: '127.0.0.1',
      port: to.port,
      message: `sendto EMSGSIZE 127.0.0.1:${to.port}`,
    });
  });

  it('a connected UDP socket reports ECONNREFUSED from the ICMP error of a closed port', () => {
    const probe = own(socket(AF_INET, SOCK_DGRAM));
    bind(probe, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const closed = getsockname(probe);
    release(probe);
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    connect(fd, closed);
    send(fd, Buffer.from('anyone?'));
    waitFor(fd, POLLIN, true);
    const err = thrown(() => recv(fd, Buffer.alloc(8), undefined, MSG_DONTWAIT));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'recv' });
  });

  it('write on a non-blocking socket with a full buffer writes part or throws EAGAIN', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK).map(own) as [number, number];
    const chunk = Buffer.alloc(64 * 1024);
    let sawEagain = false;
    for (let i = 0; i < 10_000 && !sawEagain; i++) {
      try {
        const n = write(a, chunk);
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThanOrEqual(chunk.length);
      } catch (err) {
        expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'write' });
        sawEagain = true;
      }
    }
    expect(sawEagain).toBe(true);
  });
});

describe('fds that are not sockets', () => {
  it('write and read work on a regular file fd', () => {
    const file = path.join(tmp, `f${seq++}`);
    const fd = fs.openSync(file, 'w+');
    try {
      expect(write(fd, Buffer.from('on disk'))).toBe(7);
      expect(fs.readFileSync(file, 'latin1')).toBe('on disk');
      const buf = Buffer.alloc(16);
      expect(fs.readSync(fd, buf, 0, 16, 0)).toBe(7);
      const fd2 = fs.openSync(file, 'r');
      try {
        expect(read(fd2, buf, 2)).toBe(2);
        expect(buf.toString('latin1', 0, 2)).toBe('on');
      } finally {
        fs.closeSync(fd2);
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('send on a regular file fd is ENOTSOCK', () => {
    const fd = fs.openSync(path.join(tmp, `g${seq++}`), 'w');
    try {
      expect(() => send(fd, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ENOTSOCK', errno: -88, syscall: 'send' }));
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('writing to a closed or reset peer', () => {
  it('write after the unix peer closed throws EPIPE, and the process goes on', () => {
    const [a, b] = streamPair();
    release(b);
    const err = thrown(() => write(a, Buffer.from('anyone?')));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EPIPE', errno: -32, syscall: 'write', message: 'write EPIPE' });
  });

  it('send after the unix peer closed throws EPIPE with syscall send', () => {
    const [a, b] = streamPair();
    release(b);
    expect(() => send(a, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE', errno: -32, syscall: 'send' }));
  });

  it('write to a TCP peer that reset the connection throws ECONNRESET or EPIPE', () => {
    const [c, s] = tcpPair();
    // SO_LINGER {on, 0 s}: close sends RST.
    setsockopt(s, SOL_SOCKET, SO_LINGER, new Int32Array([1, 0]));
    release(s);
    waitFor(c, POLLIN, true);
    const codes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const err = thrown(() => write(c, Buffer.from('late')));
      expect(err).toBeInstanceOf(SystemError);
      expect((err as SystemError).syscall).toBe('write');
      codes.push((err as SystemError).code);
    }
    expect(['ECONNRESET', 'EPIPE']).toContain(codes[0]);
    expect(codes[1]).toBe('EPIPE');
  });

  it('survives EPIPE after a SIGPIPE listener was added and removed (SIGPIPE back to its default)', () => {
    const f = (): void => {};
    process.on('SIGPIPE', f);
    process.off('SIGPIPE', f);
    // Precondition: SIGPIPE is neither ignored nor caught now, so a write(2) raising it would kill us.
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const mask = (name: string): bigint => BigInt('0x' + /^Sig\w+:\s*([0-9a-f]+)$/m.exec(status.slice(status.indexOf(name)))![1]);
    const sigpipeBit = 1n << 12n;
    expect(mask('SigIgn:') & sigpipeBit).toBe(0n);
    expect(mask('SigCgt:') & sigpipeBit).toBe(0n);

    const [a, b] = streamPair();
    release(b);
    expect(() => write(a, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE' }));
    expect(() => send(a, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE' }));

    const [c, s] = tcpPair();
    const peer = getsockname(s);
    setsockopt(s, SOL_SOCKET, SO_LINGER, new Int32Array([1, 0]));
    release(s);
    waitFor(c, POLLIN, true);
    expect(() => write(c, Buffer.from('x'))).toThrow(SystemError);
    expect(() => write(c, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE', syscall: 'write' }));
    expect(() => send(c, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE', syscall: 'send' }));
    // TCP ignores sendto's address on a connected socket: the same EPIPE, through sendto.
    expect(() => sendto(c, Buffer.from('x'), undefined, 0, peer)).toThrow(expect.objectContaining({ code: 'EPIPE', syscall: 'sendto' }));
    // Still here. Keep the rest of this worker safe from a stray SIGPIPE.
    process.on('SIGPIPE', f);
  });
});
