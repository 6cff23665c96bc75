// Bad arguments never reach a system call and never crash the process: each is a TypeError or a
// RangeError naming the argument (Node's ERR_* codes), and the fds involved are left untouched.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  F_GETFL,
  F_SETFL,
  FIONREAD,
  MSG_DONTWAIT,
  O_NONBLOCK,
  POLLIN,
  SHUT_RDWR,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_TYPE,
  SystemError,
  accept,
  bind,
  close,
  connect,
  fcntl,
  getpeername,
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
  shutdown,
  socket,
  socketpair,
  write,
} from '../src/index.js';
import type { SockAddr } from '../src/index.js';
import { checkFdLeaks, fdTarget } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// Helpers

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) {
    try {
      close(fd);
    } catch {
      // already closed by the test
    }
  }
});

function track<T extends number | number[]>(fds: T): T {
  if (Array.isArray(fds)) opened.push(...fds);
  else opened.push(fds);
  return fds;
}

/** A non-blocking connected AF_UNIX stream pair. */
function streamPair(): [number, number] {
  return track(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK));
}

/** A non-blocking UDP socket bound to 127.0.0.1 on a kernel-chosen port, and that port. */
function udp(): { fd: number; port: number } {
  const fd = track(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
  bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
  const addr = getsockname(fd);
  if (!('port' in addr)) throw new Error('no port');
  return { fd, port: addr.port };
}

type ErrorClass = typeof TypeError | typeof RangeError;

/** Runs `fn`, expects it to throw an argument error of `cls` naming `name`, and returns it. */
function expectArgError(fn: () => unknown, cls: ErrorClass, name: string, code?: string): Error & { code?: string } {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${cls.name} naming "${name}"`).toBeInstanceOf(cls);
  // A TypeError is not a RangeError and vice versa; neither is a system error.
  expect(caught).not.toBeInstanceOf(cls === TypeError ? RangeError : TypeError);
  expect(caught).not.toBeInstanceOf(SystemError);
  const err = caught as Error & { code?: string };
  expect(err.message).toContain(`"${name}"`);
  if (code !== undefined) expect(err.code).toBe(code);
  else expect(err.code).toMatch(/^ERR_(INVALID_ARG_TYPE|OUT_OF_RANGE|INVALID_ARG_VALUE)$/);
  return err;
}

/** Bytes waiting to be read on `fd`. */
function pending(fd: number): number {
  return ioctl(fd, FIONREAD);
}

/** Asserts that a non-blocking recv on `fd` finds nothing (EAGAIN). */
function expectNothingToRead(fd: number): void {
  expect(pending(fd)).toBe(0);
  let caught: unknown;
  try {
    recv(fd, Buffer.alloc(16), undefined, MSG_DONTWAIT);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SystemError);
  expect((caught as SystemError).code).toBe('EAGAIN');
}

const loopback: SockAddr = { family: AF_INET, address: '127.0.0.1', port: 9 };

// ---------------------------------------------------------------------------------------------
// fd arguments

/** Every socket-level export that takes an fd, called with otherwise valid arguments. */
const fdCalls: Record<string, (fd: number) => unknown> = {
  close: (fd) => close(fd),
  shutdown: (fd) => shutdown(fd, SHUT_RDWR),
  fcntl: (fd) => fcntl(fd, F_SETFL, 0),
  ioctl: (fd) => ioctl(fd, FIONREAD),
  bind: (fd) => bind(fd, { family: AF_UNIX, path: '' }),
  listen: (fd) => listen(fd),
  accept: (fd) => accept(fd),
  connect: (fd) => connect(fd, loopback),
  getsockname: (fd) => getsockname(fd),
  getpeername: (fd) => getpeername(fd),
  read: (fd) => read(fd, Buffer.alloc(8)),
  write: (fd) => write(fd, Buffer.from('written')),
  send: (fd) => send(fd, Buffer.from('sent')),
  recv: (fd) => recv(fd, Buffer.alloc(8)),
  sendto: (fd) => sendto(fd, Buffer.from('sentto'), undefined, 0, loopback),
  recvfrom: (fd) => recvfrom(fd, Buffer.alloc(8)),
  getsockopt: (fd) => getsockopt(fd, SOL_SOCKET, SO_TYPE),
  setsockopt: (fd) => setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 4096),
};

const badFds: Array<[string, unknown, ErrorClass, string]> = [
  ['2**32+3', 2 ** 32 + 3, RangeError, 'ERR_OUT_OF_RANGE'],
  ['-1', -1, RangeError, 'ERR_OUT_OF_RANGE'],
  ['1.5', 1.5, RangeError, 'ERR_OUT_OF_RANGE'],
  ['NaN', NaN, RangeError, 'ERR_OUT_OF_RANGE'],
  ['Infinity', Infinity, RangeError, 'ERR_OUT_OF_RANGE'],
  ["'3'", '3', TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['null', null, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['undefined', undefined, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['{}', {}, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['3n', 3n, TypeError, 'ERR_INVALID_ARG_TYPE'],
];

describe.each(Object.keys(fdCalls))('%s(fd)', (name) => {
  const call = fdCalls[name]!;
  it.each(badFds)('rejects fd %s with the right error naming "fd"', (_label, fd, cls, code) => {
    expectArgError(() => call(fd as number), cls, 'fd', code);
  });
});

describe('an fd beyond int32 is not wrapped to a real fd', () => {
  it.each(Object.keys(fdCalls))('%s(2**32 + fd) is a RangeError and leaves fd untouched', (name) => {
    const call = fdCalls[name]!;
    const [a, b] = streamPair();
    write(b, Buffer.from('x')); // one byte waiting on `a`
    const rcvbuf = getsockopt(a, SOL_SOCKET, SO_RCVBUF);
    const target = fdTarget(a);
    for (const alias of [2 ** 32 + a, 2 ** 33 + a, 2 ** 31 + a, -(2 ** 32) + a]) {
      expectArgError(() => call(alias), RangeError, 'fd', 'ERR_OUT_OF_RANGE');
    }
    // Still open, still the same socket, still non-blocking, same options.
    expect(fdTarget(a)).toBe(target);
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(getsockopt(a, SOL_SOCKET, SO_RCVBUF)).toBe(rcvbuf);
    expect(() => getpeername(a)).not.toThrow();
    // Nothing consumed from `a`, nothing sent to `b`.
    expect(pending(a)).toBe(1);
    expectNothingToRead(b);
    // Not shut down: both directions still work.
    expect(write(a, Buffer.from('ok'))).toBe(2);
    expect(pending(b)).toBe(2);
    const got = Buffer.alloc(1);
    expect(recv(a, got)).toBe(1);
    expect(got.toString()).toBe('x');
  });
});

// ---------------------------------------------------------------------------------------------
// length

describe('length beyond the view', () => {
  it('write: RangeError naming "length", and the peer receives nothing', () => {
    const [a, b] = streamPair();
    const buf = Buffer.from('abcd');
    expectArgError(() => write(a, buf, 5), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expectNothingToRead(b);
  });

  it('send: RangeError naming "length", and the peer receives nothing', () => {
    const [a, b] = streamPair();
    expectArgError(() => send(a, Buffer.from('abcd'), 5), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expectNothingToRead(b);
  });

  it('sendto: RangeError naming "length", and no datagram arrives', () => {
    const rx = udp();
    const tx = udp();
    const to: SockAddr = { family: AF_INET, address: '127.0.0.1', port: rx.port };
    expectArgError(() => sendto(tx.fd, Buffer.from('abcd'), 5, 0, to), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expect(poll([{ fd: rx.fd, events: POLLIN }], 50)[0]!.revents).toBe(0);
    expectNothingToRead(rx.fd);
    // Control: a valid length is delivered, so the check above could have seen a datagram.
    expect(sendto(tx.fd, Buffer.from('abcd'), 4, 0, to)).toBe(4);
    expect(poll([{ fd: rx.fd, events: POLLIN }], 1000)[0]!.revents & POLLIN).toBe(POLLIN);
  });

  it('read: RangeError naming "length", the data stays queued and the buffer unchanged', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('abc'));
    const buf = Buffer.from('zzz');
    expectArgError(() => read(b, buf, 4), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expect(pending(b)).toBe(3);
    expect(buf.toString()).toBe('zzz');
  });

  it('recv: RangeError naming "length", the data stays queued and the buffer unchanged', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('abc'));
    const buf = Buffer.from('zzz');
    expectArgError(() => recv(b, buf, 4), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expect(pending(b)).toBe(3);
    expect(buf.toString()).toBe('zzz');
  });

  it('recvfrom: RangeError naming "length", the data stays queued and the buffer unchanged', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('abc'));
    const buf = Buffer.from('zzz');
    expectArgError(() => recvfrom(b, buf, 4), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expect(pending(b)).toBe(3);
    expect(buf.toString()).toBe('zzz');
  });

  it('is measured against the subarray, not the ArrayBuffer behind it', () => {
    const [a, b] = streamPair();
    const big = Buffer.from('0123456789');
    const view = big.subarray(2, 5); // '234', with 5 more bytes of the same ArrayBuffer after it
    expectArgError(() => write(a, view, 4), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expectNothingToRead(b);
    write(a, Buffer.from('abcdef'));
    expectArgError(() => recv(b, view, 4), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expect(big.toString()).toBe('0123456789');
    expect(pending(b)).toBe(6);
  });

  it('is measured in bytes for multi-byte typed arrays', () => {
    const [a, b] = streamPair();
    const u16 = new Uint16Array([0x4141, 0x4242]); // 4 bytes
    expectArgError(() => write(a, u16, 5), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expectNothingToRead(b);
    expect(write(a, u16, 4)).toBe(4);
    expect(pending(b)).toBe(4);
  });

  it.each<[string, unknown, ErrorClass]>([
    ['-1', -1, RangeError],
    ['1.5', 1.5, RangeError],
    ['NaN', NaN, RangeError],
    ["'2'", '2', TypeError],
    ['null', null, TypeError],
    ['2n', 2n, TypeError],
  ])('rejects length %s naming "length", sending nothing', (_label, length, cls) => {
    const [a, b] = streamPair();
    expectArgError(() => write(a, Buffer.from('abcd'), length as number), cls, 'length');
    expectNothingToRead(b);
  });

  it('a length within the view sends exactly that many bytes', () => {
    const [a, b] = streamPair();
    expect(write(a, Buffer.from('abcd'), 2)).toBe(2);
    expect(pending(b)).toBe(2);
  });

  it('length 0 is valid and moves nothing', () => {
    const [a, b] = streamPair();
    expect(write(a, Buffer.from('abcd'), 0)).toBe(0);
    expectNothingToRead(b);
  });
});

// ---------------------------------------------------------------------------------------------
// buf

describe('buffers: only the view is touched', () => {
  it('recv into a subarray writes only inside it', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('XYZW'));
    const big = Buffer.alloc(12, '.');
    const view = big.subarray(4, 8);
    expect(recv(b, view)).toBe(4);
    expect(big.toString()).toBe('....XYZW....');
  });

  it('recv into a small Buffer from the shared pool writes only its own bytes', () => {
    const [a, b] = streamPair();
    const hi = Buffer.from('hi');
    // Pool-backed: the Buffer is a window on a larger, shared ArrayBuffer.
    expect(hi.byteOffset > 0 || hi.buffer.byteLength > hi.length).toBe(true);
    write(a, Buffer.from('0123456789'));
    const before = new Uint8Array(hi.buffer.slice(0));
    expect(recv(b, hi)).toBe(2);
    expect(hi.toString()).toBe('01');
    const after = new Uint8Array(hi.buffer);
    for (let i = 0; i < after.length; i++) {
      if (i >= hi.byteOffset && i < hi.byteOffset + hi.length) continue;
      if (after[i] !== before[i]) expect.fail(`pool byte ${i} changed: ${before[i]} -> ${after[i]}`);
    }
    expect(pending(b)).toBe(8);
  });

  it('write from a pool Buffer sends only its own bytes', () => {
    const [a, b] = streamPair();
    const hi = Buffer.from('hi');
    expect(hi.buffer.byteLength).toBeGreaterThan(hi.length);
    expect(write(a, hi)).toBe(2);
    const got = Buffer.alloc(16);
    expect(recv(b, got)).toBe(2);
    expect(got.subarray(0, 2).toString()).toBe('hi');
  });

  it('recv into a DataView with an offset writes only its bytes', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('XYZ'));
    const bytes = new Uint8Array(8).fill(0x2e);
    const dv = new DataView(bytes.buffer, 2, 3);
    expect(recv(b, dv)).toBe(3);
    expect(Buffer.from(bytes).toString()).toBe('..XYZ...');
  });

  it('recv into a Uint32Array subarray fills its bytes and no others', () => {
    const [a, b] = streamPair();
    write(a, Buffer.alloc(32, 0xff));
    const words = new Uint32Array(6);
    const view = words.subarray(2, 4); // 8 bytes
    expect(recv(b, view)).toBe(8);
    expect(Array.from(words)).toEqual([0, 0, 0xffffffff, 0xffffffff, 0, 0]);
    expect(pending(b)).toBe(24);
  });

  const notViews: Array<[string, unknown]> = [
    ['a string', 'abc'],
    ['an array', [1, 2, 3]],
    ['a number', 5],
    ['an ArrayBuffer', new ArrayBuffer(4)],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { length: 4 }],
  ];
  const bufCalls: Record<string, (fd: number, buf: ArrayBufferView) => unknown> = {
    read: (fd, buf) => read(fd, buf),
    write: (fd, buf) => write(fd, buf),
    send: (fd, buf) => send(fd, buf),
    recv: (fd, buf) => recv(fd, buf),
    sendto: (fd, buf) => sendto(fd, buf, undefined, 0, { family: AF_UNIX, path: '' }),
    recvfrom: (fd, buf) => recvfrom(fd, buf),
  };
  describe.each(Object.keys(bufCalls))('%s', (name) => {
    it.each(notViews)('rejects %s as buf with a TypeError naming "buf"', (_label, buf) => {
      const [a, b] = streamPair();
      write(b, Buffer.from('q'));
      expectArgError(() => bufCalls[name]!(a, buf as ArrayBufferView), TypeError, 'buf', 'ERR_INVALID_ARG_TYPE');
      expect(pending(a)).toBe(1);
      expectNothingToRead(b);
    });
  });

  it('getsockopt rejects a non-view out with a TypeError naming "out"', () => {
    const [a] = streamPair();
    expectArgError(() => getsockopt(a, SOL_SOCKET, SO_TYPE, 'x' as unknown as ArrayBufferView), TypeError, 'out');
  });

  it.each<[string, unknown]>([
    ['a plain object', { size: 8192 }],
    ['null', null],
    ['undefined', undefined],
    ['a bigint', 8192n],
  ])('setsockopt rejects %s as value with a TypeError naming "value", leaving the option unchanged', (_label, value) => {
    const [a] = streamPair();
    const before = getsockopt(a, SOL_SOCKET, SO_RCVBUF);
    expectArgError(() => setsockopt(a, SOL_SOCKET, SO_RCVBUF, value as number), TypeError, 'value');
    expect(getsockopt(a, SOL_SOCKET, SO_RCVBUF)).toBe(before);
  });
});

describe('detached buffers', () => {
  function detachedView(): { view: Uint8Array; moved: ArrayBuffer } {
    const ab = new ArrayBuffer(16);
    new Uint8Array(ab).fill(0x2e);
    const view = new Uint8Array(ab, 4, 8);
    const moved = structuredClone(ab, { transfer: [ab] });
    expect(ab.byteLength).toBe(0); // detached
    expect(view.byteLength).toBe(0);
    return { view, moved };
  }

  it('recv into a view of a detached ArrayBuffer receives 0 bytes and consumes nothing', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('hello'));
    const { view, moved } = detachedView();
    expect(recv(b, view)).toBe(0);
    expect(pending(b)).toBe(5);
    expect(new Uint8Array(moved).every((x) => x === 0x2e)).toBe(true);
  });

  it('read and recvfrom into a detached view receive 0 bytes and consume nothing', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('hello'));
    const { view, moved } = detachedView();
    expect(read(b, view)).toBe(0);
    expect(recvfrom(b, view).bytes).toBe(0);
    expect(pending(b)).toBe(5);
    expect(new Uint8Array(moved).every((x) => x === 0x2e)).toBe(true);
  });

  it('write from a detached view sends nothing', () => {
    const [a, b] = streamPair();
    const { view } = detachedView();
    expect(write(a, view)).toBe(0);
    expectNothingToRead(b);
  });

  it('an explicit length on a detached view is a RangeError naming "length"', () => {
    const [a, b] = streamPair();
    write(a, Buffer.from('hello'));
    const { view } = detachedView();
    expectArgError(() => recv(b, view, 8), RangeError, 'length', 'ERR_OUT_OF_RANGE');
    expect(pending(b)).toBe(5);
  });
});

describe('a getter on addr that detaches the buffer passed to sendto', () => {
  function detachingAddr(port: number, ab: ArrayBuffer, holder: { moved?: ArrayBuffer }): SockAddr {
    const addr = { family: AF_INET, address: '127.0.0.1' } as Record<string, unknown>;
    Object.defineProperty(addr, 'port', {
      enumerable: true,
      get() {
        if (ab.byteLength > 0) holder.moved = structuredClone(ab, { transfer: [ab] });
        return port;
      },
    });
    return addr as unknown as SockAddr;
  }

  it('does not crash: with the default length, 0 bytes are sent', () => {
    const rx = udp();
    const tx = udp();
    const ab = new ArrayBuffer(64);
    new Uint8Array(ab).fill(0x41);
    const view = new Uint8Array(ab);
    const holder: { moved?: ArrayBuffer } = {};
    let result: unknown;
    try {
      result = sendto(tx.fd, view, undefined, 0, detachingAddr(rx.port, ab, holder));
    } catch (err) {
      result = err;
    }
    expect(holder.moved?.byteLength).toBe(64); // the getter did run and detach the buffer
    expect(ab.byteLength).toBe(0);
    if (typeof result === 'number') {
      expect(result).toBe(0);
      // What arrives (if anything) is an empty datagram, never the 64 bytes.
      if (poll([{ fd: rx.fd, events: POLLIN }], 200)[0]!.revents & POLLIN) {
        expect(recvfrom(rx.fd, Buffer.alloc(128)).bytes).toBe(0);
      }
    } else {
      expect(result).toBeInstanceOf(Error);
    }
    expect(new Uint8Array(holder.moved!).every((x) => x === 0x41)).toBe(true);
  });

  it('does not crash: with an explicit length, it is a RangeError naming "length"', () => {
    const rx = udp();
    const tx = udp();
    const ab = new ArrayBuffer(64);
    const holder: { moved?: ArrayBuffer } = {};
    expectArgError(
      () => sendto(tx.fd, new Uint8Array(ab), 64, 0, detachingAddr(rx.port, ab, holder)),
      RangeError,
      'length',
      'ERR_OUT_OF_RANGE',
    );
    expect(holder.moved?.byteLength).toBe(64);
    expect(poll([{ fd: rx.fd, events: POLLIN }], 50)[0]!.revents).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// addresses

/** The address-taking calls, on a fresh unbound UDP socket of the address's family. */
const addrCalls: Record<string, (fd: number, addr: SockAddr) => unknown> = {
  bind: (fd, addr) => bind(fd, addr),
  connect: (fd, addr) => connect(fd, addr),
  sendto: (fd, addr) => sendto(fd, Buffer.from('x'), undefined, 0, addr),
};

describe.each(Object.keys(addrCalls))('%s: malformed addresses', (name) => {
  const call = addrCalls[name]!;

  function onFreshSocket(domain: number, fn: (fd: number) => void): void {
    const fd = track(socket(domain, SOCK_DGRAM | SOCK_NONBLOCK));
    fn(fd);
  }

  it.each([-1, 65536, 1.5, NaN])('IPv4 port %s is a RangeError naming "addr.port"', (port) => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(() => call(fd, { family: AF_INET, address: '127.0.0.1', port }), RangeError, 'addr.port', 'ERR_OUT_OF_RANGE');
      // Nothing happened to the socket: not bound, not connected.
      expect(getsockname(fd)).toMatchObject({ address: '0.0.0.0', port: 0 });
      expect(() => getpeername(fd)).toThrow(expect.objectContaining({ code: 'ENOTCONN' }));
    });
  });

  it.each([-1, 65536, 1.5])('IPv6 port %s is a RangeError naming "addr.port"', (port) => {
    onFreshSocket(AF_INET6, (fd) => {
      expectArgError(() => call(fd, { family: AF_INET6, address: '::1', port }), RangeError, 'addr.port', 'ERR_OUT_OF_RANGE');
      expect(getsockname(fd)).toMatchObject({ address: '::', port: 0 });
    });
  });

  it("a port given as a string is a TypeError naming \"addr.port\"", () => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(
        () => call(fd, { family: AF_INET, address: '127.0.0.1', port: '80' as unknown as number }),
        TypeError,
        'addr.port',
        'ERR_INVALID_ARG_TYPE',
      );
    });
  });

  it.each(['256.0.0.1', '1.2.3', '127.0.0.1 ', 'localhost', '', '::1', '127.0.0.1\0.5'])(
    'IPv4 address %j is a TypeError naming "addr.address"',
    (address) => {
      onFreshSocket(AF_INET, (fd) => {
        expectArgError(() => call(fd, { family: AF_INET, address, port: 9 }), TypeError, 'addr.address', 'ERR_INVALID_ARG_VALUE');
        expect(getsockname(fd)).toMatchObject({ port: 0 });
      });
    },
  );

  it.each(['1:::2', '127.0.0.1', 'fe80::1::2', 'g::1', '', '::1\0', '::1%', 'fe80::1%no-such-if0'])(
    'IPv6 address %j is a TypeError naming "addr.address"',
    (address) => {
      onFreshSocket(AF_INET6, (fd) => {
        expectArgError(() => call(fd, { family: AF_INET6, address, port: 9 }), TypeError, 'addr.address', 'ERR_INVALID_ARG_VALUE');
        expect(getsockname(fd)).toMatchObject({ port: 0 });
      });
    },
  );

  it('an address that is not a string is a TypeError naming "addr.address"', () => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(
        () => call(fd, { family: AF_INET, address: 0x7f000001 as unknown as string, port: 9 }),
        TypeError,
        'addr.address',
        'ERR_INVALID_ARG_TYPE',
      );
    });
  });

  it('a missing address field is a TypeError naming "addr.address"', () => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(() => call(fd, { family: AF_INET, port: 9 } as unknown as SockAddr), TypeError, 'addr.address');
    });
  });

  it('a missing port field is a TypeError naming "addr.port"', () => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(() => call(fd, { family: AF_INET, address: '127.0.0.1' } as unknown as SockAddr), TypeError, 'addr.port');
    });
  });

  it('a missing family field is a TypeError naming "addr.family"', () => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(() => call(fd, { address: '127.0.0.1', port: 9 } as unknown as SockAddr), TypeError, 'addr.family');
    });
  });

  it('an unknown family (12345) is a RangeError naming "addr.family"', () => {
    onFreshSocket(AF_INET, (fd) => {
      // @ts-expect-error -- no such family: refused at run time too
      expectArgError(() => call(fd, { family: 12345, address: '127.0.0.1', port: 9 }), RangeError, 'addr.family');
    });
  });

  it('a family outside 0..65535 is a RangeError naming "addr.family"', () => {
    onFreshSocket(AF_INET, (fd) => {
      // @ts-expect-error -- not a family: refused at run time too
      expectArgError(() => call(fd, { family: 65536 + AF_INET, address: '127.0.0.1', port: 9 }), RangeError, 'addr.family', 'ERR_OUT_OF_RANGE');
    });
  });

  it.each<[string, unknown]>([
    ['null', null],
    ["'x'", 'x'],
    ['5', 5],
    ['undefined', undefined],
    ['an array', [AF_INET, '127.0.0.1', 9]],
  ])('addr %s is a TypeError naming "addr"', (_label, addr) => {
    onFreshSocket(AF_INET, (fd) => {
      expectArgError(() => call(fd, addr as SockAddr), TypeError, 'addr', 'ERR_INVALID_ARG_TYPE');
    });
  });

  it('a unix path longer than sun_path (109 bytes) is a RangeError naming "addr.path"', () => {
    onFreshSocket(AF_UNIX, (fd) => {
      expectArgError(() => call(fd, { family: AF_UNIX, path: '/tmp/' + 'p'.repeat(104) }), RangeError, 'addr.path');
      expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: '' });
    });
  });

  it('a unix path is measured in UTF-8 bytes: 60 characters of 2 bytes each is too long', () => {
    onFreshSocket(AF_UNIX, (fd) => {
      expectArgError(() => call(fd, { family: AF_UNIX, path: '/tmp/' + 'é'.repeat(55) }), RangeError, 'addr.path');
    });
  });

  it('an abstract name longer than sun_path is a RangeError naming "addr.path"', () => {
    onFreshSocket(AF_UNIX, (fd) => {
      expectArgError(() => call(fd, { family: AF_UNIX, path: '\0' + 'a'.repeat(108) }), RangeError, 'addr.path');
    });
  });

  it('a NUL inside a non-abstract unix path is a TypeError naming "addr.path"', () => {
    onFreshSocket(AF_UNIX, (fd) => {
      expectArgError(() => call(fd, { family: AF_UNIX, path: '/tmp/a\0b' }), TypeError, 'addr.path', 'ERR_INVALID_ARG_VALUE');
      expectArgError(() => call(fd, { family: AF_UNIX, path: Buffer.from('/tmp/a\0b') }), TypeError, 'addr.path', 'ERR_INVALID_ARG_VALUE');
      expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: '' });
    });
  });

  it('a missing unix path is a TypeError naming "addr.path"', () => {
    onFreshSocket(AF_UNIX, (fd) => {
      expectArgError(() => call(fd, { family: AF_UNIX } as unknown as SockAddr), TypeError, 'addr.path');
    });
  });

  it('a unix path that is neither string nor view is a TypeError naming "addr.path"', () => {
    onFreshSocket(AF_UNIX, (fd) => {
      expectArgError(() => call(fd, { family: AF_UNIX, path: 42 as unknown as string }), TypeError, 'addr.path', 'ERR_INVALID_ARG_TYPE');
    });
  });
});

describe('addresses: nothing reaches the system call', () => {
  it('bind with port 65536+p does not bind port p', () => {
    const probe = udp(); // a port known to be free again after close
    const p = probe.port;
    close(probe.fd);
    const fd = track(socket(AF_INET, SOCK_DGRAM));
    expectArgError(() => bind(fd, { family: AF_INET, address: '127.0.0.1', port: 65536 + p }), RangeError, 'addr.port');
    expect(getsockname(fd)).toEqual({ family: AF_INET, address: '0.0.0.0', port: 0 });
  });

  it('sendto with port 65536+p does not deliver to port p', () => {
    const rx = udp();
    const tx = udp();
    expectArgError(
      () => sendto(tx.fd, Buffer.from('x'), undefined, 0, { family: AF_INET, address: '127.0.0.1', port: 65536 + rx.port }),
      RangeError,
      'addr.port',
    );
    expect(poll([{ fd: rx.fd, events: POLLIN }], 50)[0]!.revents).toBe(0);
  });

  it('IPv6 flowinfo beyond 20 bits is a RangeError naming "addr.flowinfo"', () => {
    const fd = track(socket(AF_INET6, SOCK_DGRAM));
    expectArgError(
      () => bind(fd, { family: AF_INET6, address: '::1', port: 0, flowinfo: 0x100000 }),
      RangeError,
      'addr.flowinfo',
      'ERR_OUT_OF_RANGE',
    );
    expect(getsockname(fd)).toMatchObject({ port: 0 });
  });

  it('IPv6 scopeId beyond uint32 is a RangeError naming "addr.scopeId"', () => {
    const fd = track(socket(AF_INET6, SOCK_DGRAM));
    expectArgError(
      () => bind(fd, { family: AF_INET6, address: '::1', port: 0, scopeId: 2 ** 32 + 1 }),
      RangeError,
      'addr.scopeId',
      'ERR_OUT_OF_RANGE',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// poll

describe('poll arguments', () => {
  it.each<[string, unknown]>([
    ['a number', 3],
    ['an object', { fd: 3, events: 1 }],
    ['null', null],
    ['a string', 'fds'],
  ])('fds as %s is a TypeError naming "fds"', (_label, fds) => {
    expectArgError(() => poll(fds as [], 0), TypeError, 'fds', 'ERR_INVALID_ARG_TYPE');
  });

  it('an entry that is not an object is a TypeError naming "fds[i]"', () => {
    const [a] = streamPair();
    expectArgError(() => poll([{ fd: a, events: POLLIN }, 5 as unknown as { fd: number; events: number }], 0), TypeError, 'fds[1]');
  });

  it('an entry without fd is a TypeError naming "fds[i].fd"', () => {
    const [a] = streamPair();
    expectArgError(
      () => poll([{ fd: a, events: POLLIN }, { events: POLLIN } as unknown as { fd: number; events: number }], 0),
      TypeError,
      'fds[1].fd',
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it('an entry with fd 2**32+fd is a RangeError naming "fds[i].fd"', () => {
    const [a] = streamPair();
    expectArgError(() => poll([{ fd: 2 ** 32 + a, events: POLLIN }], 0), RangeError, 'fds[0].fd', 'ERR_OUT_OF_RANGE');
  });

  it('an entry without events is a TypeError naming "fds[i].events"', () => {
    const [a] = streamPair();
    expectArgError(
      () => poll([{ fd: a } as unknown as { fd: number; events: number }], 0),
      TypeError,
      'fds[0].events',
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it.each([-1, 0x10000, 1.5])('events %s is a RangeError naming "fds[i].events"', (events) => {
    const [a] = streamPair();
    expectArgError(() => poll([{ fd: a, events: POLLIN }, { fd: a, events }], 0), RangeError, 'fds[1].events', 'ERR_OUT_OF_RANGE');
  });

  it.each([-2, 1.5, 2 ** 31, NaN])('timeout %s is a RangeError naming the timeout', (timeout) => {
    const [a] = streamPair();
    expectArgError(() => poll([{ fd: a, events: POLLIN }], timeout), RangeError, 'timeout', 'ERR_OUT_OF_RANGE');
  });

  it('a bad entry makes no wait at all, even with a long timeout', () => {
    const [a] = streamPair();
    const start = Date.now();
    expectArgError(() => poll([{ fd: a, events: POLLIN }, { fd: -1, events: POLLIN }], 5000), RangeError, 'fds[1].fd');
    expect(Date.now() - start).toBeLessThan(1000);
  });
});

// ---------------------------------------------------------------------------------------------
// other integer arguments

describe('other integer arguments', () => {
  it('fcntl with an unsupported cmd is a RangeError naming "cmd"', () => {
    const [a] = streamPair();
    expectArgError(() => fcntl(a, 0 /* F_DUPFD */, 100), RangeError, 'cmd');
  });

  it('ioctl with a request outside the integer socket ioctls is a RangeError naming "request"', () => {
    const [a] = streamPair();
    expectArgError(() => ioctl(a, 0x8927 /* SIOCGIFHWADDR */), RangeError, 'request');
  });

  it('shutdown with how 2**32 is a RangeError naming "how", and the socket stays open both ways', () => {
    const [a, b] = streamPair();
    expectArgError(() => shutdown(a, 2 ** 32 + SHUT_RDWR), RangeError, 'how', 'ERR_OUT_OF_RANGE');
    expect(write(a, Buffer.from('x'))).toBe(1);
    expect(write(b, Buffer.from('y'))).toBe(1);
    expect(pending(a)).toBe(1);
  });

  it('send with flags as a string is a TypeError naming "flags", sending nothing', () => {
    const [a, b] = streamPair();
    expectArgError(() => send(a, Buffer.from('x'), undefined, '0' as unknown as number), TypeError, 'flags', 'ERR_INVALID_ARG_TYPE');
    expectNothingToRead(b);
  });

  it('listen with backlog 2**32 is a RangeError naming "backlog"', () => {
    const fd = track(socket(AF_INET, SOCK_STREAM));
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    expectArgError(() => listen(fd, 2 ** 32), RangeError, 'backlog', 'ERR_OUT_OF_RANGE');
    // Not listening: accept on a non-listening socket is EINVAL.
    expect(() => accept(fd)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
