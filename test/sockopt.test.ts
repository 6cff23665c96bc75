// getsockopt and setsockopt: int options (with numbers and booleans), raw-byte options read as a
// Buffer of the kernel's length or into a caller's view, struct options set from bytes, TCP
// options, and the error shapes.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  IPPROTO_IP,
  IPPROTO_TCP,
  IP_MULTICAST_TTL,
  IP_TTL,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SOL_TCP,
  SO_BINDTODEVICE,
  SO_ATTACH_FILTER,
  SO_ERROR,
  SO_GET_FILTER,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_TYPE,
  SystemError,
  TCP_INFO,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_NODELAY,
  accept,
  bind,
  close,
  connect,
  getsockname,
  getsockopt,
  listen,
  poll,
  recv,
  setsockopt,
  socket,
  socketpair,
} from '../src/index.js';
import { thrown, waitFor } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------

const { own } = ownFds();



function tcp(): number {
  return own(socket(AF_INET, SOCK_STREAM));
}

/** A connected loopback TCP pair: [client, accepted]. */
function tcpPair(): [number, number] {
  const lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  try {
    bind(lfd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    listen(lfd, 4);
    const c = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    try {
      connect(c, getsockname(lfd));
    } catch (err) {
      if (!(err instanceof SystemError && err.code === 'EINPROGRESS')) throw err;
    }
    waitFor(c, POLLOUT);
    expect(getsockopt(c, SOL_SOCKET, SO_ERROR)).toBe(0);
    waitFor(lfd, POLLIN);
    return [c, own(accept(lfd).fd)];
  } finally {
    close(lfd);
  }
}

const SENTINEL = 0xee;
const TCP_ESTABLISHED = 1; // enum in <netinet/tcp.h>; tcpi_state is the first byte of struct tcp_info

// ---------------------------------------------------------------------------------------------

describe('int options', () => {
  it('SO_TYPE of a TCP socket is SOCK_STREAM', () => {
    expect(getsockopt(tcp(), SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
  });

  it('SO_TYPE of a UDP socket is SOCK_DGRAM', () => {
    expect(getsockopt(own(socket(AF_INET, SOCK_DGRAM)), SOL_SOCKET, SO_TYPE)).toBe(SOCK_DGRAM);
  });

  it('SO_TYPE does not include SOCK_NONBLOCK given to socket', () => {
    expect(getsockopt(own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK)), SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
  });

  it('SO_REUSEADDR is 0 by default', () => {
    expect(getsockopt(tcp(), SOL_SOCKET, SO_REUSEADDR)).toBe(0);
  });

  it('SO_REUSEADDR set with true reads back as 1, and with false as 0', () => {
    const fd = tcp();
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, true);
    expect(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR)).toBe(1);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, false);
    expect(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR)).toBe(0);
  });

  it('SO_REUSEADDR set with the number 1 reads back as 1, and 0 as 0', () => {
    const fd = tcp();
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    expect(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR)).toBe(1);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 0);
    expect(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR)).toBe(0);
  });

  it('SO_REUSEADDR on two sockets lets both bind one port while neither listens', () => {
    const a = tcp();
    const b = tcp();
    setsockopt(a, SOL_SOCKET, SO_REUSEADDR, true);
    setsockopt(b, SOL_SOCKET, SO_REUSEADDR, true);
    bind(a, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const addr = getsockname(a);
    expect(() => bind(b, addr)).not.toThrow();
    expect(getsockname(b)).toEqual(addr);
  });

  it('SO_RCVBUF reads back as twice the value set (the kernel doubles it for bookkeeping)', () => {
    const fd = tcp();
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 32768);
    expect(getsockopt(fd, SOL_SOCKET, SO_RCVBUF)).toBe(65536);
  });

  it('SO_RCVBUF is a positive number by default', () => {
    expect(getsockopt(tcp(), SOL_SOCKET, SO_RCVBUF)).toBeGreaterThan(0);
  });

  it('SO_KEEPALIVE round-trips as 1', () => {
    const fd = tcp();
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, true);
    expect(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
  });

  it('IP_TTL round-trips', () => {
    const fd = tcp();
    setsockopt(fd, IPPROTO_IP, IP_TTL, 17);
    expect(getsockopt(fd, IPPROTO_IP, IP_TTL)).toBe(17);
  });

  it('IP_MULTICAST_TTL on UDP defaults to 1 and round-trips', () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    expect(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL)).toBe(1);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, 5);
    expect(getsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL)).toBe(5);
  });

  it('SO_ERROR of a fresh socket is 0', () => {
    expect(getsockopt(tcp(), SOL_SOCKET, SO_ERROR)).toBe(0);
  });
});

describe('TCP options', () => {
  it('TCP_NODELAY is 0 by default and 1 once set', () => {
    const fd = tcp();
    expect(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY)).toBe(0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, true);
    expect(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY)).toBe(1);
  });

  it('TCP_NODELAY on a connected socket round-trips', () => {
    const [c] = tcpPair();
    setsockopt(c, SOL_TCP, TCP_NODELAY, 1);
    expect(getsockopt(c, SOL_TCP, TCP_NODELAY)).toBe(1);
  });

  it('TCP_KEEPCNT set on an fd reads back', () => {
    const fd = tcp();
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 5);
    expect(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT)).toBe(5);
  });

  it('TCP_KEEPIDLE set on an fd reads back', () => {
    const fd = tcp();
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 42);
    expect(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(42);
  });

  it('TCP_KEEPCNT 0 is EINVAL', () => {
    const err = thrown(() => setsockopt(tcp(), IPPROTO_TCP, TCP_KEEPCNT, 0));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'setsockopt' });
  });
});

describe('getsockopt with buflen', () => {
  it('TCP_INFO with buflen 256 returns a non-empty Buffer no longer than 256 bytes', () => {
    const [c] = tcpPair();
    const info = getsockopt(c, IPPROTO_TCP, TCP_INFO, 256);
    expect(Buffer.isBuffer(info)).toBe(true);
    expect(info.length).toBeGreaterThan(0);
    expect(info.length).toBeLessThanOrEqual(256);
  });

  it('TCP_INFO of a connected socket reports tcpi_state ESTABLISHED', () => {
    const [c] = tcpPair();
    expect(getsockopt(c, IPPROTO_TCP, TCP_INFO, 256)[0]).toBe(TCP_ESTABLISHED);
  });

  it('TCP_INFO with a small buflen returns exactly buflen bytes', () => {
    const [c] = tcpPair();
    const info = getsockopt(c, IPPROTO_TCP, TCP_INFO, 8);
    expect(info.length).toBe(8);
    expect(info[0]).toBe(TCP_ESTABLISHED);
  });

  it('SO_LINGER with buflen 8 returns 8 zero bytes by default', () => {
    const linger = getsockopt(tcp(), SOL_SOCKET, SO_LINGER, 8);
    expect(linger.length).toBe(8);
    expect([...linger]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('an int option with buflen 4 gives its bytes in host order', () => {
    const b = getsockopt(tcp(), SOL_SOCKET, SO_TYPE, 4);
    expect(b.length).toBe(4);
    expect(new Int32Array(b.buffer, b.byteOffset, 1)[0]).toBe(SOCK_STREAM);
  });

  it('buflen outside 0..65536 or fractional is a RangeError', () => {
    const fd = tcp();
    expect(() => getsockopt(fd, SOL_SOCKET, SO_LINGER, -1)).toThrow(RangeError);
    expect(() => getsockopt(fd, SOL_SOCKET, SO_LINGER, 65537)).toThrow(RangeError);
    expect(() => getsockopt(fd, SOL_SOCKET, SO_LINGER, 2.5)).toThrow(RangeError);
  });
});

describe('getsockopt into a caller view', () => {
  it('returns the byte count and fills the view', () => {
    const out = new Int32Array(2);
    expect(getsockopt(tcp(), SOL_SOCKET, SO_TYPE, out)).toBe(4);
    expect(out[0]).toBe(SOCK_STREAM);
  });

  it('writes only into the view, not around it', () => {
    const big = Buffer.alloc(16, SENTINEL);
    const view = big.subarray(4, 12);
    expect(getsockopt(tcp(), SOL_SOCKET, SO_LINGER, view)).toBe(8);
    expect([...big.subarray(0, 4)]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    expect([...big.subarray(4, 12)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...big.subarray(12)]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
  });

  it('fills a DataView at an offset', () => {
    const ab = new ArrayBuffer(12);
    new Uint8Array(ab).fill(SENTINEL);
    const dv = new DataView(ab, 4, 4);
    expect(getsockopt(own(socket(AF_INET, SOCK_DGRAM)), SOL_SOCKET, SO_TYPE, dv)).toBe(4);
    expect(dv.getInt32(0, true)).toBe(SOCK_DGRAM);
    expect([...new Uint8Array(ab, 0, 4)]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    expect([...new Uint8Array(ab, 8, 4)]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
  });
});

describe('SO_GET_FILTER, whose optlen the kernel counts in instructions', () => {
  /** A UDP socket with a four-instruction classic BPF program attached (each accepts everything). */
  function filtered(): number {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, [1, 2, 3, 4].map((i) => ({ code: 0x06, jt: 0, jf: 0, k: 0x01010101 * i })));
    return fd;
  }

  it('a view too small for one instruction gets nothing written around it (the kernel would write 32 bytes into 4)', () => {
    const big = Buffer.alloc(40, SENTINEL);
    expect(getsockopt(filtered(), SOL_SOCKET, SO_GET_FILTER, big.subarray(0, 4))).toBe(0);
    expect([...big]).toEqual(new Array<number>(40).fill(SENTINEL));
  });

  it('with room for the program, buflen reads the whole program as struct sock_filter bytes', () => {
    const bytes = getsockopt(filtered(), SOL_SOCKET, SO_GET_FILTER, 4096);
    expect(bytes.length).toBe(32);
    expect([0, 1, 2, 3].map((i) => [bytes.readUInt16LE(i * 8), bytes.readUInt32LE(i * 8 + 4)])).toEqual([
      [6, 0x01010101],
      [6, 0x02020202],
      [6, 0x03030303],
      [6, 0x04040404],
    ]);
  });

  it('a view with room for fewer instructions than the program is EINVAL, with the view untouched', () => {
    const big = Buffer.alloc(24, SENTINEL);
    expect(thrown(() => getsockopt(filtered(), SOL_SOCKET, SO_GET_FILTER, big.subarray(0, 16)))).toMatchObject({ code: 'EINVAL' });
    expect([...big]).toEqual(new Array<number>(24).fill(SENTINEL));
  });
});

describe('setsockopt with bytes', () => {
  it('SO_LINGER from a Buffer of two int32 reads back the same struct', () => {
    const fd = tcp();
    const linger = Buffer.alloc(8);
    linger.writeInt32LE(1, 0);
    linger.writeInt32LE(7, 4);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, linger);
    const got = getsockopt(fd, SOL_SOCKET, SO_LINGER, 8);
    expect(got.readInt32LE(0)).toBe(1);
    expect(got.readInt32LE(4)).toBe(7);
  });

  it('SO_LINGER from an Int32Array reads back the same struct', () => {
    const fd = tcp();
    setsockopt(fd, SOL_SOCKET, SO_LINGER, new Int32Array([1, 3]));
    const got = new Int32Array(2);
    expect(getsockopt(fd, SOL_SOCKET, SO_LINGER, got)).toBe(8);
    expect([...got]).toEqual([1, 3]);
  });

  it('SO_LINGER from a subarray uses only the subarray bytes', () => {
    const fd = tcp();
    const big = Buffer.alloc(16, 0xff);
    const view = big.subarray(4, 12);
    view.writeInt32LE(1, 0);
    view.writeInt32LE(9, 4);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, view);
    const got = getsockopt(fd, SOL_SOCKET, SO_LINGER, 8);
    expect([got.readInt32LE(0), got.readInt32LE(4)]).toEqual([1, 9]);
  });

  it('SO_RCVTIMEO from a struct timeval bounds a blocking recv', () => {
    const [, b] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, new BigInt64Array([0n, 50_000n])); // 50 ms
    const tv = new BigInt64Array(2);
    expect(getsockopt(b, SOL_SOCKET, SO_RCVTIMEO, tv)).toBe(16);
    expect(tv[0]).toBe(0n);
    // The kernel keeps the timeout in jiffies, so it may read back rounded up a little.
    expect(tv[1]).toBeGreaterThanOrEqual(50_000n);
    expect(tv[1]).toBeLessThan(100_000n);
    const err = thrown(() => recv(b, Buffer.alloc(1)));
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'recv' });
  });

  it('SO_LINGER from too few bytes is EINVAL', () => {
    const err = thrown(() => setsockopt(tcp(), SOL_SOCKET, SO_LINGER, Buffer.alloc(4)));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'setsockopt' });
  });
});

describe('errors', () => {
  it('getsockopt of a bogus option name is ENOPROTOOPT', () => {
    const err = thrown(() => getsockopt(tcp(), SOL_SOCKET, 0x7fff));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOPROTOOPT', errno: -92, syscall: 'getsockopt', message: 'getsockopt ENOPROTOOPT' });
  });

  it('getsockopt with buflen of a bogus option name is ENOPROTOOPT', () => {
    const err = thrown(() => getsockopt(tcp(), IPPROTO_TCP, 0x7fff, 16));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOPROTOOPT', syscall: 'getsockopt' });
  });

  it('setsockopt of a bogus option name is ENOPROTOOPT with syscall setsockopt', () => {
    const err = thrown(() => setsockopt(tcp(), SOL_SOCKET, 0x7fff, 1));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOPROTOOPT', errno: -92, syscall: 'setsockopt' });
  });

  it('a TCP option on a unix socket is EOPNOTSUPP as Node names it', () => {
    const [a] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    const err = thrown(() => getsockopt(a, IPPROTO_TCP, TCP_NODELAY));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ syscall: 'getsockopt', errno: -95, code: 'ENOTSUP' });
  });

  it('getsockopt on an fd that is not open is EBADF', () => {
    const err = thrown(() => getsockopt(1_000_000, SOL_SOCKET, SO_TYPE));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'getsockopt' });
  });

  it('a non-int32 number value is a RangeError', () => {
    expect(() => setsockopt(tcp(), SOL_SOCKET, SO_REUSEADDR, 2 ** 31)).toThrow(RangeError);
  });

  it('a plain object for an option with no structured form is a TypeError naming the value', () => {
    expect(() => setsockopt(tcp(), SOL_SOCKET, SO_REUSEADDR, { on: 1 } as unknown as number)).toThrow(/"value"/);
  });

  it('a string value is passed as its bytes: SO_BINDTODEVICE takes an interface name', () => {
    const fd = tcp();
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, 'lo');
    expect(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, 16).toString().replace(/\0+$/, '')).toBe('lo');
  });
});
