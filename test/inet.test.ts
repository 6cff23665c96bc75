// inet_pton / inet_ntop, if_nametoindex / if_indextoname, htons / ntohs / htonl / ntohl.
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  ETH_P_ALL,
  SystemError,
  htonl,
  htons,
  if_indextoname,
  if_nametoindex,
  inet_ntop,
  inet_pton,
  ntohl,
  ntohs,
} from '../src/index.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();


const LE = os.endianness() === 'LE';

/** What C's htons gives: the bytes of x in network order, read back in host order. */
function reference16(x: number): number {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(x);
  return LE ? b.readUInt16LE(0) : b.readUInt16BE(0);
}
function reference32(x: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(x);
  return LE ? b.readUInt32LE(0) : b.readUInt32BE(0);
}

describe('inet_pton', () => {
  it('gives the 4 network-order bytes of an IPv4 literal', () => {
    const b = inet_pton(AF_INET, '127.0.0.1');
    expect(Buffer.isBuffer(b)).toBe(true);
    expect([...b]).toEqual([127, 0, 0, 1]);
  });

  it('gives the 16 bytes of an IPv6 literal', () => {
    expect([...inet_pton(AF_INET6, '::1')]).toEqual([...new Array(15).fill(0), 1]);
    expect(inet_pton(AF_INET6, '2001:db8::ff00:42:8329').toString('hex')).toBe('20010db8000000000000ff0000428329');
  });

  it('reads an IPv4-mapped IPv6 literal', () => {
    expect(inet_pton(AF_INET6, '::ffff:192.0.2.1').toString('hex')).toBe('00000000000000000000ffffc0000201');
  });

  it('throws a TypeError ERR_INVALID_ARG_VALUE for text that is not an IPv4 literal', () => {
    for (const bad of ['256.0.0.1', '1.2.3', 'localhost', '', '::1', ' 1.2.3.4']) {
      const err = thrown(() => inet_pton(AF_INET, bad));
      expect(err, bad).toBeInstanceOf(TypeError);
      expect(err, bad).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
  });

  it('throws a TypeError ERR_INVALID_ARG_VALUE for text that is not an IPv6 literal', () => {
    for (const bad of [':::', '1::2::3', '127.0.0.1', 'g::1', '']) {
      const err = thrown(() => inet_pton(AF_INET6, bad));
      expect(err, bad).toBeInstanceOf(TypeError);
      expect(err, bad).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
  });

  it('does not stop at an embedded NUL: "1.2.3.4\\0junk" is invalid', () => {
    expect(() => inet_pton(AF_INET, '1.2.3.4\0junk')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('throws a SystemError EAFNOSUPPORT for another family', () => {
    const err = thrown(() => inet_pton(AF_UNIX, '127.0.0.1'));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAFNOSUPPORT', errno: -97, syscall: 'inet_pton' });
  });

  it('throws a TypeError for a non-string src', () => {
    expect(() => inet_pton(AF_INET, 0x7f000001 as unknown as string)).toThrow(TypeError);
  });
});

describe('inet_ntop', () => {
  it('gives the dotted quad of 4 bytes', () => {
    expect(inet_ntop(AF_INET, Buffer.from([192, 168, 1, 254]))).toBe('192.168.1.254');
  });

  it('gives the compressed text of 16 bytes', () => {
    expect(inet_ntop(AF_INET6, Buffer.from('20010db8000000000000000000000001', 'hex'))).toBe('2001:db8::1');
    expect(inet_ntop(AF_INET6, new Uint8Array(16))).toBe('::');
  });

  it('gives an IPv4-mapped address in mixed notation', () => {
    expect(inet_ntop(AF_INET6, Buffer.from('00000000000000000000ffff7f000001', 'hex'))).toBe('::ffff:127.0.0.1');
  });

  it('round-trips with inet_pton', () => {
    for (const a of ['0.0.0.0', '10.1.2.3', '255.255.255.255']) expect(inet_ntop(AF_INET, inet_pton(AF_INET, a))).toBe(a);
    for (const a of ['::', '::1', 'fe80::1', '2001:db8:1:2:3:4:5:6']) expect(inet_ntop(AF_INET6, inet_pton(AF_INET6, a))).toBe(a);
  });

  it('uses the first bytes of a longer view, at the view offset', () => {
    const big = Buffer.from([9, 9, 10, 0, 0, 7, 9, 9]);
    expect(inet_ntop(AF_INET, big.subarray(2))).toBe('10.0.0.7');
  });

  it('takes a DataView and a Uint32Array', () => {
    const ab = new Uint8Array([0, 0, 1, 2, 3, 4]).buffer;
    expect(inet_ntop(AF_INET, new DataView(ab, 2, 4))).toBe('1.2.3.4');
    const u32 = new Uint32Array(1);
    new Uint8Array(u32.buffer).set([8, 8, 4, 4]);
    expect(inet_ntop(AF_INET, u32)).toBe('8.8.4.4');
  });

  it('throws a RangeError for fewer than 4 bytes with AF_INET', () => {
    expect(() => inet_ntop(AF_INET, Buffer.alloc(3))).toThrow(RangeError);
  });

  it('throws a RangeError for fewer than 16 bytes with AF_INET6', () => {
    expect(() => inet_ntop(AF_INET6, Buffer.alloc(15))).toThrow(RangeError);
    expect(() => inet_ntop(AF_INET6, Buffer.alloc(32).subarray(20))).toThrow(RangeError);
  });

  it('throws a SystemError EAFNOSUPPORT for another family', () => {
    const err = thrown(() => inet_ntop(AF_UNIX, Buffer.alloc(16)));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EAFNOSUPPORT', errno: -97, syscall: 'inet_ntop' });
  });
});

describe('interfaces', () => {
  it("if_nametoindex('lo') is 1", () => {
    expect(if_nametoindex('lo')).toBe(1);
  });

  it("if_indextoname(1) is 'lo'", () => {
    expect(if_indextoname(1)).toBe('lo');
  });

  it('names and indexes round-trip for every interface Node sees', () => {
    for (const name of Object.keys(os.networkInterfaces())) {
      expect(if_indextoname(if_nametoindex(name))).toBe(name);
    }
  });

  it('an unknown name is a SystemError ENODEV from if_nametoindex', () => {
    const err = thrown(() => if_nametoindex('nosuchif0'));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENODEV', errno: -19, syscall: 'if_nametoindex' });
  });

  it('a name longer than IF_NAMESIZE is ENODEV, not a truncated match', () => {
    const err = thrown(() => if_nametoindex('lo' + 'x'.repeat(30)));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENODEV', syscall: 'if_nametoindex' });
  });

  it('a name with an embedded NUL is ENODEV, not "lo"', () => {
    expect(() => if_nametoindex('lo\0x')).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('an unknown index is a SystemError ENXIO from if_indextoname', () => {
    const err = thrown(() => if_indextoname(0x7ffffff0));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENXIO', errno: -6, syscall: 'if_indextoname' });
  });

  it('a negative index is a RangeError', () => {
    expect(() => if_indextoname(-1)).toThrow(RangeError);
  });
});

describe('byte order', () => {
  it('htons matches Buffer.writeUInt16BE read back in host order', () => {
    for (const x of [0, 1, 0x1234, 0x00ff, 0xff00, 0xabcd, 0xffff]) expect(htons(x), String(x)).toBe(reference16(x));
  });

  it.runIf(LE)('htons(0x1234) is 0x3412 on a little-endian host', () => {
    expect(htons(0x1234)).toBe(0x3412);
  });

  it.runIf(LE)('htons(ETH_P_ALL) is 768 (0x0300) on a little-endian host', () => {
    expect(htons(ETH_P_ALL)).toBe(reference16(3));
    expect(htons(ETH_P_ALL)).toBe(768);
  });

  it('ntohs undoes htons', () => {
    for (const x of [0, 1, 0x1234, 0xfffe, 0xffff]) {
      expect(ntohs(htons(x))).toBe(x);
      expect(ntohs(x)).toBe(reference16(x));
    }
  });

  it('htonl matches Buffer.writeUInt32BE read back in host order, unsigned', () => {
    for (const x of [0, 1, 0x12345678, 0x7f000001, 0x80000000, 0xdeadbeef, 0xffffffff]) {
      expect(htonl(x), String(x)).toBe(reference32(x));
      expect(htonl(x)).toBeGreaterThanOrEqual(0);
    }
  });

  it('htonl(0x7f000001) is the value whose host-order bytes are 127.0.0.1', () => {
    const b = Buffer.alloc(4);
    if (LE) b.writeUInt32LE(htonl(0x7f000001));
    else b.writeUInt32BE(htonl(0x7f000001));
    expect(inet_ntop(AF_INET, b)).toBe('127.0.0.1');
  });

  it('ntohl undoes htonl', () => {
    for (const x of [0, 0x01020304, 0x80000001, 0xffffffff]) {
      expect(ntohl(htonl(x))).toBe(x);
      expect(ntohl(x)).toBe(reference32(x));
    }
  });

  it('16-bit values out of range are a RangeError ERR_OUT_OF_RANGE', () => {
    for (const x of [-1, 0x10000, 1.5, NaN, Infinity]) {
      expect(() => htons(x), String(x)).toThrow(RangeError);
      expect(() => ntohs(x), String(x)).toThrow(RangeError);
    }
    expect(thrown(() => htons(0x10000))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });

  it('32-bit values out of range are a RangeError ERR_OUT_OF_RANGE', () => {
    for (const x of [-1, 2 ** 32, 0.5, NaN]) {
      expect(() => htonl(x), String(x)).toThrow(RangeError);
      expect(() => ntohl(x), String(x)).toThrow(RangeError);
    }
    expect(thrown(() => htonl(2 ** 32))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});
