// Addresses in binary form (encodeSockaddr / recvfromInto / decodeSockaddr): the allocation-free path
// for hot loops, accepted wherever a SockAddr object is.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  SOCK_DGRAM,
  SOCKADDR_BINARY_SIZE,
  SystemError,
  bind,
  close,
  connect,
  decodeSockaddr,
  encodeSockaddr,
  getsockname,
  recvfrom,
  recvfromInto,
  sendto,
  sockaddrHolder,
  socket,
} from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const open: number[] = [];
const own = (fd: number): number => (open.push(fd), fd);
afterEach(() => {
  for (const fd of open.splice(0)) close(fd);
});

describe('binary addresses', () => {
  it('encodeSockaddr round-trips every family through decodeSockaddr', () => {
    for (const addr of [
      { family: AF_INET, address: '127.0.0.1', port: 9 },
      { family: AF_INET6, address: '::1', port: 9, flowinfo: 0, scopeId: 0 },
      { family: AF_UNIX, path: '\0sockfd-binary\0x' },
      { family: AF_UNIX, path: '/tmp/some.sock' },
    ]) {
      const bin = encodeSockaddr(addr);
      expect(bin.length).toBe(SOCKADDR_BINARY_SIZE);
      expect(decodeSockaddr(bin)).toEqual(addr);
    }
  });

  it('validates the object it encodes, naming the field', () => {
    expect(() => encodeSockaddr({ family: AF_INET, address: '127.0.0.1', port: 70000 })).toThrow(/"addr.port"/);
  });

  it('sendto takes a binary address, and recvfromInto fills a holder with the sender', () => {
    const a = own(socket(AF_INET, SOCK_DGRAM));
    const b = own(socket(AF_INET, SOCK_DGRAM));
    bind(a, { family: AF_INET, address: '127.0.0.1', port: 0 });
    bind(b, { family: AF_INET, address: '127.0.0.1', port: 0 });
    expect(sendto(b, Buffer.from('Michael'), undefined, 0, encodeSockaddr(getsockname(a)))).toBe(7);
    const buf = Buffer.alloc(16);
    const from = sockaddrHolder();
    expect(recvfromInto(a, buf, undefined, 0, from)).toBe(7);
    expect(decodeSockaddr(from)).toEqual(getsockname(b));
    // Reply straight to the holder, without an address object.
    expect(sendto(a, Buffer.from('Hello, Michael!'), undefined, 0, from)).toBe(15);
    const got = recvfrom(b, buf);
    expect(buf.toString('utf8', 0, got.bytes)).toBe('Hello, Michael!');
  });

  it('bind and connect take binary addresses too, and errors still name the address', () => {
    const a = own(socket(AF_INET, SOCK_DGRAM));
    const c = own(socket(AF_INET, SOCK_DGRAM));
    bind(a, encodeSockaddr({ family: AF_INET, address: '127.0.0.1', port: 0 }));
    const port = (getsockname(a) as { port: number }).port;
    connect(c, encodeSockaddr(getsockname(a)));
    const clash = own(socket(AF_INET, SOCK_DGRAM));
    try {
      bind(clash, encodeSockaddr({ family: AF_INET, address: '127.0.0.1', port }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SystemError);
      expect(e).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', address: '127.0.0.1', port, message: `bind EADDRINUSE 127.0.0.1:${port}` });
    }
  });

  it('a holder that is too small, or bytes that are no binary address, are a RangeError before any call', () => {
    const a = own(socket(AF_INET, SOCK_DGRAM));
    expect(() => recvfromInto(a, Buffer.alloc(4), undefined, 0, new Uint8Array(16))).toThrow(RangeError);
    expect(() => recvfromInto(a, Buffer.alloc(4), undefined, 0, new Uint8Array(16))).toThrow('The "from" argument must have at least 132 bytes. Received 16');
    expect(() => sendto(a, Buffer.from('x'), undefined, 0, new Uint8Array(3))).toThrow(RangeError);
    const lying = Buffer.alloc(SOCKADDR_BINARY_SIZE);
    lying.writeUInt32LE(500, 0); // longer than sockaddr_storage
    expect(() => sendto(a, Buffer.from('x'), undefined, 0, lying)).toThrow(/not a binary sockaddr/);
    expect(() => decodeSockaddr(Buffer.alloc(2))).toThrow(RangeError);
  });
});
