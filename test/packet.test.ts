// sockfd/packet: checksums, encode/decode of every protocol, options, crafted bad packets, malformed input.
import { describe, expect, it } from 'vitest';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  PacketError,
  arp,
  checksum,
  ethernet,
  icmp,
  icmpv6,
  ipv4,
  ipv6,
  onesComplementSum,
  pseudoHeaderChecksum,
  pseudoHeaderSum,
  tcp,
  udp,
} from '../src/packet/index.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();


/** Asserts `fn` throws the decoders' error for `protocol`'s `field`. */
function malformed(fn: () => unknown, protocol: string, field: string): PacketError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(PacketError);
  const e = err as PacketError;
  expect(e).toBeInstanceOf(RangeError);
  expect(e.code).toBe('ERR_MALFORMED_PACKET');
  expect({ protocol: e.protocol, field: e.field }).toEqual({ protocol, field });
  expect(e.message).toContain(field);
  return e;
}

/** Asserts `fn` throws an encoder argument error with `code` naming `name`. */
function badArg(fn: () => unknown, code: 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_INVALID_ARG_TYPE', name: string): void {
  const err = thrown(fn) as Error & { code: string };
  expect(err).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError);
  expect(err).not.toBeInstanceOf(PacketError);
  expect(err.code).toBe(code);
  expect(err.message).toContain(`"${name}"`);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// The classic example header (192.168.0.1 -> 192.168.0.199, UDP, DF, total length 115).
const CLASSIC = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
const V4 = { source: '192.0.2.1', destination: '198.51.100.7' };
const V6 = { source: '2001:db8::1', destination: 'fe80::abcd:1' };

describe('checksum', () => {
  it('matches the RFC 1071 section 3 example', () => {
    const data = hex('0001 f203 f4f5 f6f7');
    expect(onesComplementSum(data)).toBe(0xddf2);
    expect(checksum(data)).toBe(0x220d);
  });

  it('is 0 over a header that carries its correct checksum', () => {
    expect(checksum(CLASSIC)).toBe(0);
    const zeroed = Buffer.from(CLASSIC);
    zeroed.writeUInt16BE(0, 10);
    expect(checksum(zeroed)).toBe(0xb861);
  });

  it('pads an odd last byte with zero', () => {
    expect(onesComplementSum(Buffer.from([0x12]))).toBe(0x1200);
    expect(checksum(Buffer.from([0x12, 0x34, 0x56]))).toBe(~(0x1234 + 0x5600) & 0xffff);
  });

  it('chains even-length pieces through initial', () => {
    const a = hex('4500 0073 0000 4000');
    const b = hex('4011 0000 c0a8 0001 c0a8 00c7');
    expect(checksum(b, onesComplementSum(a))).toBe(0xb861);
  });

  it('folds carries of long inputs', () => {
    expect(onesComplementSum(Buffer.alloc(100_000, 0xff))).toBe(0xffff);
    expect(checksum(Buffer.alloc(100_001, 0xff))).toBe(0x00ff); // 0xffff + 0xff00 folds to 0xff00
  });

  it('sums the IPv4 pseudo-header: source, destination, zero, protocol, length', () => {
    const bytes = Buffer.concat([hex('c0000201 c6336407'), Buffer.from([0, 17, 0x01, 0x00])]);
    expect(pseudoHeaderSum(V4.source, V4.destination, 17, 256)).toBe(onesComplementSum(bytes));
  });

  it('sums the IPv6 pseudo-header: source, destination, 32-bit length, zeros, next header', () => {
    const bytes = Buffer.concat([
      hex('20010db8000000000000000000000001'),
      hex('fe80 0000 0000 0000 0000 0000 abcd 0001'),
      hex('00010000 000000 3a'),
    ]);
    expect(pseudoHeaderSum(V6.source, V6.destination, 58, 65536)).toBe(onesComplementSum(bytes));
  });

  it('rejects mixed families, bad addresses and out-of-range fields', () => {
    badArg(() => pseudoHeaderSum('192.0.2.1', '::1', 17, 8), 'ERR_INVALID_ARG_VALUE', 'destination');
    badArg(() => pseudoHeaderSum('192.0.2.256', '192.0.2.1', 17, 8), 'ERR_INVALID_ARG_VALUE', 'source');
    badArg(() => pseudoHeaderSum('192.0.2.1', '192.0.2.2', 256, 8), 'ERR_OUT_OF_RANGE', 'protocol');
    badArg(() => pseudoHeaderSum('192.0.2.1', '192.0.2.2', 17, 65536), 'ERR_OUT_OF_RANGE', 'length');
    badArg(() => onesComplementSum(Buffer.alloc(2), 0x10000), 'ERR_OUT_OF_RANGE', 'initial');
    badArg(() => checksum('abc' as unknown as Buffer), 'ERR_INVALID_ARG_TYPE', 'data');
  });

  it('gives the stored value over zeroed data and 0 over data carrying it', () => {
    const seg = udp.encode({ sourcePort: 1, destinationPort: 2, checksum: 0 }, Buffer.from('hello'));
    const sum = pseudoHeaderChecksum(V4, IPPROTO_UDP, seg);
    seg.writeUInt16BE(sum, 6);
    expect(pseudoHeaderChecksum(V4, IPPROTO_UDP, seg)).toBe(0);
  });

  it('exports the IANA protocol numbers', () => {
    expect([IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6]).toEqual([1, 6, 17, 58]);
  });
});

describe('PacketError', () => {
  it('is a RangeError with a code, the protocol, the field and the offset', () => {
    const e = malformed(() => ipv4.decode(Buffer.concat([hex('44'), Buffer.alloc(19)])), 'ipv4', 'ihl');
    expect(e.name).toBe('PacketError');
    expect(e.offset).toBe(0);
    expect(e.message).toBe('Malformed ipv4 packet: ihl: is 4, less than 5 (a header is at least 20 bytes)');
    expect(String(e.stack)).toContain('PacketError');
  });

  it('is thrown for buffer content only: a non-buffer argument is a TypeError', () => {
    badArg(() => ipv4.decode('4500' as unknown as Buffer), 'ERR_INVALID_ARG_TYPE', 'buffer');
  });
});

describe('ipv4', () => {
  const classicPacket = Buffer.concat([CLASSIC, Buffer.alloc(115 - 20, 0xab)]);

  it('decodes the classic header with its known checksum', () => {
    const p = ipv4.decode(classicPacket);
    expect(p).toMatchObject({
      version: 4,
      ihl: 5,
      dscp: 0,
      ecn: 0,
      totalLength: 115,
      identification: 0,
      reservedFlag: false,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 17,
      checksum: 0xb861,
      source: '192.168.0.1',
      destination: '192.168.0.199',
      options: [],
      checksumValid: true,
    });
    expect(p.payload.length).toBe(95);
  });

  it('encodes the classic header byte for byte, checksum computed', () => {
    const out = ipv4.encode(
      { protocol: 17, dontFragment: true, ttl: 64, source: '192.168.0.1', destination: '192.168.0.199' },
      Buffer.alloc(95, 0xab),
    );
    expect(out).toEqual(classicPacket);
  });

  it('returns the payload as a view into the buffer, without bytes past totalLength', () => {
    const buf = Buffer.concat([classicPacket, Buffer.from('trailing padding')]);
    const p = ipv4.decode(buf);
    expect(p.payload.buffer).toBe(buf.buffer);
    expect(p.payload.byteOffset).toBe(buf.byteOffset + 20);
    expect(p.payload.length).toBe(95);
    p.payload[0] = 0x01;
    expect(buf[20]).toBe(0x01);
  });

  it('accepts a plain Uint8Array and still returns a Buffer view', () => {
    const u8 = new Uint8Array(classicPacket);
    const p = ipv4.decode(u8);
    expect(Buffer.isBuffer(p.payload)).toBe(true);
    expect(p.payload.buffer).toBe(u8.buffer);
  });

  it('round-trips every field, fragmentation included', () => {
    const header: ipv4.Header = {
      dscp: 46,
      ecn: 3,
      identification: 0xbeef,
      reservedFlag: true,
      moreFragments: true,
      fragmentOffset: 185,
      ttl: 1,
      protocol: 253,
      ...V4,
    };
    const out = ipv4.encode(header, Buffer.from('fragment'));
    const p = ipv4.decode(out);
    expect(p).toMatchObject({ ...header, dontFragment: false, ihl: 5, totalLength: 28, checksumValid: true });
    expect(p.payload.toString()).toBe('fragment');
    expect(out.readUInt16BE(6)).toBe(0x8000 | 0x2000 | 185);
    expect(ipv4.encode(p, p.payload)).toEqual(out);
  });

  it('round-trips options of every interpreted type and a raw one', () => {
    const options: ipv4.Option[] = [
      { kind: 'nop' },
      { kind: 'routerAlert', value: 0 },
      { kind: 'recordRoute', pointer: 8, addresses: ['10.0.0.1', '0.0.0.0'] },
      { kind: 'timestamp', pointer: 5, overflow: 2, flag: 1, entries: [{ address: '10.0.0.2', timestamp: 12345678 }] },
      { kind: 136, data: hex('abcd') },
      { kind: 'eol' },
    ];
    const out = ipv4.encode({ protocol: 6, ...V4, options }, Buffer.from('x'));
    // 1 + 4 + 11 + 12 + 4 + 1 = 33 bytes of options, padded to 36: ihl 14.
    expect(out[0]).toBe(0x4e);
    expect(out.length).toBe(56 + 1);
    const p = ipv4.decode(out);
    expect(p.checksumValid).toBe(true);
    expect(p.options).toEqual(options);
    expect(p.payload.toString()).toBe('x');
    expect(ipv4.encode(p, p.payload)).toEqual(out);
  });

  it('decodes source routes and timestamps without addresses, and defaults their pointers', () => {
    const options: ipv4.Option[] = [
      { kind: 'looseSourceRoute', addresses: ['192.0.2.9'] },
      { kind: 'strictSourceRoute', addresses: ['192.0.2.10', '192.0.2.11'] },
      { kind: 'timestamp', entries: [{ timestamp: 1 }, { timestamp: 2 }] },
    ];
    const p = ipv4.decode(ipv4.encode({ protocol: 1, ...V4, options }));
    // 7 + 11 + 12 = 30 bytes, padded with two zero bytes: the first reads as end of list.
    expect(p.options).toEqual([
      { kind: 'looseSourceRoute', pointer: 4, addresses: ['192.0.2.9'] },
      { kind: 'strictSourceRoute', pointer: 4, addresses: ['192.0.2.10', '192.0.2.11'] },
      { kind: 'timestamp', pointer: 5, overflow: 0, flag: 0, entries: [{ timestamp: 1 }, { timestamp: 2 }] },
      { kind: 'eol' },
    ]);
  });

  it('keeps an interpreted type with an unexpected length as raw bytes', () => {
    // Router alert with length 6 instead of 4, then a timestamp with flag 2 (undefined).
    const options: ipv4.Option[] = [
      { kind: 148, data: hex('0000 0000') },
      { kind: 68, data: hex('05 02 00000001') },
    ];
    const p = ipv4.decode(ipv4.encode({ protocol: 1, ...V4, options }));
    expect(p.options).toEqual([...options, { kind: 'eol' }]);
  });

  it('writes caller-given checksum, totalLength, ihl and version verbatim', () => {
    const bad = ipv4.encode({ protocol: 17, ...V4, checksum: 0x1234, totalLength: 9999, version: 5 }, Buffer.alloc(4));
    expect(bad.readUInt16BE(10)).toBe(0x1234);
    expect(bad.readUInt16BE(2)).toBe(9999);
    expect(bad[0]! >> 4).toBe(5);
    malformed(() => ipv4.decode(bad), 'ipv4', 'version');
    const badSum = ipv4.decode(ipv4.encode({ protocol: 17, ...V4, checksum: 0x1234 }));
    expect(badSum).toMatchObject({ checksum: 0x1234, checksumValid: false });
    // A lying totalLength is written and then refused by the decoder.
    malformed(() => ipv4.decode(ipv4.encode({ protocol: 17, ...V4, totalLength: 9999 })), 'ipv4', 'totalLength');
    // ihl larger than the options: the header is padded with zeros up to ihl * 4.
    const padded = ipv4.encode({ protocol: 17, ...V4, ihl: 7 }, Buffer.from('p'));
    expect(padded.length).toBe(29);
    expect(ipv4.decode(padded)).toMatchObject({ ihl: 7, options: [{ kind: 'eol' }], checksumValid: true, totalLength: 29 });
    // ihl smaller than the header: written as given.
    const short = ipv4.encode({ protocol: 17, ...V4, ihl: 3 });
    expect(short[0]).toBe(0x43);
    malformed(() => ipv4.decode(short), 'ipv4', 'ihl');
  });

  it('throws naming the field for truncated or inconsistent input', () => {
    const good = ipv4.encode({ protocol: 17, ...V4, options: [{ kind: 'routerAlert' }] }, Buffer.alloc(8));
    malformed(() => ipv4.decode(Buffer.alloc(0)), 'ipv4', 'header');
    malformed(() => ipv4.decode(good.subarray(0, 19)), 'ipv4', 'header');
    malformed(() => ipv4.decode(good.subarray(0, 22)), 'ipv4', 'ihl'); // ihl 6 = 24 bytes > 22
    const set = (at: number, value: number, width = 1): Buffer => {
      const b = Buffer.from(good);
      if (width === 1) b[at] = value;
      else b.writeUInt16BE(value, at);
      return b;
    };
    malformed(() => ipv4.decode(set(0, 0x64)), 'ipv4', 'version');
    malformed(() => ipv4.decode(set(0, 0x44)), 'ipv4', 'ihl');
    malformed(() => ipv4.decode(set(0, 0x4f)), 'ipv4', 'ihl');
    malformed(() => ipv4.decode(set(2, 23, 2)), 'ipv4', 'totalLength'); // below the 24-byte header
    malformed(() => ipv4.decode(set(2, good.length + 1, 2)), 'ipv4', 'totalLength');
    expect(ipv4.decode(set(2, 24, 2)).payload.length).toBe(0); // shorter but consistent: fine
    const e = malformed(() => ipv4.decode(set(21, 1)), 'ipv4', 'options'); // option length 1
    expect(e.message).toContain('length 1');
    expect(e.offset).toBe(21);
    malformed(() => ipv4.decode(set(21, 0)), 'ipv4', 'options'); // option length 0
    malformed(() => ipv4.decode(set(21, 5)), 'ipv4', 'options'); // runs past the 24-byte header
    // An option type in the last header byte, with no room for its length.
    const last = ipv4.encode({ protocol: 17, ...V4, options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }] });
    expect(last.length).toBe(24);
    last[23] = 7;
    expect(malformed(() => ipv4.decode(last), 'ipv4', 'options').message).toContain('no length byte');
  });

  it('rejects unwritable fields with ERR_OUT_OF_RANGE / ERR_INVALID_ARG_VALUE', () => {
    badArg(() => ipv4.encode({ protocol: 17, ...V4, ttl: 256 }), 'ERR_OUT_OF_RANGE', 'ttl');
    badArg(() => ipv4.encode({ protocol: 17, ...V4, fragmentOffset: 0x2000 }), 'ERR_OUT_OF_RANGE', 'fragmentOffset');
    badArg(() => ipv4.encode({ protocol: 17, ...V4, dscp: 1.5 }), 'ERR_OUT_OF_RANGE', 'dscp');
    badArg(() => ipv4.encode({ protocol: 17, source: '1.2.3', destination: V4.destination }), 'ERR_INVALID_ARG_VALUE', 'source');
    badArg(() => ipv4.encode({ protocol: 17, source: V4.source, destination: '01.2.3.4' }), 'ERR_INVALID_ARG_VALUE', 'destination');
    badArg(() => ipv4.encode({ protocol: 17, ...V4 }, Buffer.alloc(65516)), 'ERR_OUT_OF_RANGE', 'totalLength');
    badArg(
      () => ipv4.encode({ protocol: 17, ...V4, options: [{ kind: 'recordRoute', addresses: Array(10).fill('0.0.0.0') }] }),
      'ERR_OUT_OF_RANGE',
      'options',
    );
    badArg(
      () => ipv4.encode({ protocol: 17, ...V4, options: [{ kind: 'timestamp', flag: 1, entries: [{ timestamp: 1 }] }] }),
      'ERR_INVALID_ARG_VALUE',
      'options[0].entries[0].address',
    );
    badArg(() => ipv4.encode({ protocol: 17, ...V4, options: [{ kind: 'bogus' } as unknown as ipv4.Option] }), 'ERR_INVALID_ARG_VALUE', 'options[0].kind');
    badArg(() => ipv4.encode({ protocol: 17, ...V4, dontFragment: 1 as unknown as boolean }), 'ERR_INVALID_ARG_TYPE', 'dontFragment');
  });
});

describe('ipv6', () => {
  it('round-trips every field with payloadLength computed', () => {
    const header: ipv6.Header = { trafficClass: 0xb8, flowLabel: 0xabcde, nextHeader: 17, hopLimit: 255, ...V6 };
    const out = ipv6.encode(header, Buffer.from('data'));
    expect(out.length).toBe(44);
    expect(out.readUInt32BE(0)).toBe(0x6b8abcde);
    const p = ipv6.decode(out);
    expect(p).toMatchObject({ ...header, version: 6, payloadLength: 4 });
    expect(p.payload.toString()).toBe('data');
    expect(p.payload.buffer).toBe(out.buffer);
    expect(ipv6.encode(p, p.payload)).toEqual(out);
  });

  it('prints addresses as inet_ntop does', () => {
    const cases: [string, string][] = [
      ['::1', '::1'],
      ['::', '::'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::192.0.2.1', '::192.0.2.1'],
      ['1::', '1::'],
      ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
      ['fe80::1:2:3:4:5:6', 'fe80:0:1:2:3:4:5:6'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['::2:3:4:5:6:7', '::2:3:4:5:6:7'],
      ['::ffff:0:0', '::ffff:0.0.0.0'],
    ];
    for (const [input, printed] of cases) {
      const p = ipv6.decode(ipv6.encode({ nextHeader: 59, source: input, destination: '::' }));
      expect(p.source).toBe(printed);
    }
  });

  it('writes a lying payloadLength verbatim and refuses it on decode', () => {
    const out = ipv6.encode({ nextHeader: 17, ...V6, payloadLength: 100 }, Buffer.alloc(10));
    expect(out.readUInt16BE(4)).toBe(100);
    malformed(() => ipv6.decode(out), 'ipv6', 'payloadLength');
    expect(ipv6.decode(ipv6.encode({ nextHeader: 17, ...V6, payloadLength: 3 }, Buffer.alloc(10))).payload.length).toBe(3);
  });

  it('throws naming the field for truncated or foreign input', () => {
    malformed(() => ipv6.decode(Buffer.alloc(39)), 'ipv6', 'header');
    malformed(() => ipv6.decode(ipv6.encode({ nextHeader: 17, ...V6, version: 4 })), 'ipv6', 'version');
    malformed(() => ipv6.decode(ipv6.encode({ nextHeader: 17, ...V6 }, Buffer.alloc(8)).subarray(0, 47)), 'ipv6', 'payloadLength');
  });

  it('rejects bad addresses and fields', () => {
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '1:', '12345::', '::1.2.3', 'fe80::1%lo', '1:2:3:4:5:6:7::8', '::g']) {
      badArg(() => ipv6.encode({ nextHeader: 17, source: bad, destination: '::1' }), 'ERR_INVALID_ARG_VALUE', 'source');
    }
    badArg(() => ipv6.encode({ nextHeader: 17, ...V6, flowLabel: 0x100000 }), 'ERR_OUT_OF_RANGE', 'flowLabel');
    badArg(() => ipv6.encode({ nextHeader: 17, ...V6 }, Buffer.alloc(65536)), 'ERR_OUT_OF_RANGE', 'payloadLength');
  });
});

describe('icmp', () => {
  it('round-trips an echo request with a valid checksum', () => {
    const out = icmp.encode({ type: icmp.ECHO_REQUEST, identifier: 0x1234, sequence: 7 }, Buffer.from('ping'));
    expect(out.subarray(0, 2)).toEqual(hex('0800'));
    expect(out.readUInt32BE(4)).toBe(0x12340007);
    expect(checksum(out)).toBe(0);
    const p = icmp.decode(out);
    expect(p).toMatchObject({ type: 8, code: 0, identifier: 0x1234, sequence: 7, restOfHeader: 0x12340007, checksumValid: true });
    expect(p.payload.toString()).toBe('ping');
    expect(icmp.encode(p, p.payload)).toEqual(out);
  });

  it('matches a known echo request (id 1, seq 1, Windows payload)', () => {
    // A Windows ping: type 8, id 1, seq 1, 32 bytes "abcdefghijklmnopqrstuvwabcdefghi", checksum 0x4d5a.
    const out = icmp.encode({ type: 8, identifier: 1, sequence: 1 }, Buffer.from('abcdefghijklmnopqrstuvwabcdefghi'));
    expect(out.readUInt16BE(2)).toBe(0x4d5a);
  });

  it('reads the typed rest of header of redirect, fragmentation needed and parameter problem', () => {
    expect(icmp.decode(icmp.encode({ type: icmp.REDIRECT, code: 1, gateway: '192.0.2.254' }))).toMatchObject({ gateway: '192.0.2.254', restOfHeader: 0xc00002fe });
    expect(icmp.decode(icmp.encode({ type: icmp.DEST_UNREACH, code: 4, mtu: 1400 }))).toMatchObject({ mtu: 1400, restOfHeader: 1400 });
    expect(icmp.decode(icmp.encode({ type: icmp.DEST_UNREACH, code: 3 }))).not.toHaveProperty('mtu');
    expect(icmp.decode(icmp.encode({ type: icmp.PARAMETER_PROBLEM, pointer: 9 }))).toMatchObject({ pointer: 9, restOfHeader: 0x09000000 });
    expect(icmp.decode(icmp.encode({ type: icmp.TIME_EXCEEDED }))).toMatchObject({ restOfHeader: 0 });
  });

  it('writes restOfHeader and checksum verbatim', () => {
    const out = icmp.encode({ type: 8, restOfHeader: 0xdeadbeef, identifier: 1, checksum: 0xffff });
    expect(out).toEqual(hex('0800 ffff deadbeef'));
    expect(icmp.decode(out)).toMatchObject({ identifier: 0xdead, sequence: 0xbeef, checksumValid: false });
  });

  it('refuses two typed rest-of-header groups and out-of-range fields', () => {
    badArg(() => icmp.encode({ type: 3, code: 4, mtu: 1, pointer: 2 }), 'ERR_INVALID_ARG_VALUE', 'pointer');
    badArg(() => icmp.encode({ type: 3, code: 4, mtu: 0x10000 }), 'ERR_OUT_OF_RANGE', 'mtu');
    badArg(() => icmp.encode({ type: 256 }), 'ERR_OUT_OF_RANGE', 'type');
  });

  it('throws on fewer than 8 bytes', () => {
    malformed(() => icmp.decode(hex('0800 0000 0000 00')), 'icmp', 'header');
  });
});

describe('icmpv6', () => {
  it('computes the pseudo-header checksum when given addresses', () => {
    const out = icmpv6.encode({ type: icmpv6.ECHO_REQUEST, identifier: 9, sequence: 10 }, Buffer.from('hello'), V6);
    expect(pseudoHeaderChecksum(V6, IPPROTO_ICMPV6, out)).toBe(0);
    expect(icmpv6.verifyChecksum(out, V6)).toBe(true);
    expect(icmpv6.verifyChecksum(out, { source: V6.destination, destination: '::1' })).toBe(false);
    const p = icmpv6.decode(out, V6);
    expect(p).toMatchObject({ type: 128, code: 0, identifier: 9, sequence: 10, checksumValid: true });
    expect(p.payload.toString()).toBe('hello');
    expect(icmpv6.encode(p, p.payload)).toEqual(out);
  });

  it('leaves the checksum 0 without addresses, and checksumValid out of a decode without them', () => {
    const out = icmpv6.encode({ type: icmpv6.ECHO_REPLY, identifier: 1, sequence: 2 });
    expect(out.readUInt16BE(2)).toBe(0);
    expect(icmpv6.decode(out)).not.toHaveProperty('checksumValid');
  });

  it('reads packet-too-big MTU and parameter-problem pointer as 32 bits', () => {
    expect(icmpv6.decode(icmpv6.encode({ type: icmpv6.PACKET_TOO_BIG, mtu: 0x10000 }))).toMatchObject({ mtu: 0x10000 });
    expect(icmpv6.decode(icmpv6.encode({ type: icmpv6.PARAMETER_PROBLEM, pointer: 40 }))).toMatchObject({ pointer: 40 });
    expect(icmpv6.decode(icmpv6.encode({ type: icmpv6.NEIGHBOR_ADVERTISEMENT, restOfHeader: 0x60000000 }))).toMatchObject({ restOfHeader: 0x60000000 });
  });

  it('writes a given checksum verbatim and reports it invalid', () => {
    const out = icmpv6.encode({ type: 128, checksum: 0xbad0 }, Buffer.alloc(4), V6);
    expect(out.readUInt16BE(2)).toBe(0xbad0);
    expect(icmpv6.decode(out, V6).checksumValid).toBe(false);
  });

  it('throws on fewer than 8 bytes, also when verifying', () => {
    malformed(() => icmpv6.decode(Buffer.alloc(4)), 'icmpv6', 'header');
    malformed(() => icmpv6.verifyChecksum(Buffer.alloc(4), V6), 'icmpv6', 'header');
  });
});

describe('udp', () => {
  it('round-trips over IPv4 with the pseudo-header checksum', () => {
    const out = udp.encode({ sourcePort: 5353, destinationPort: 53 }, Buffer.from('query'), V4);
    expect(out.readUInt16BE(4)).toBe(13);
    expect(udp.verifyChecksum(out, V4)).toBe(true);
    const p = udp.decode(out, V4);
    expect(p).toMatchObject({ sourcePort: 5353, destinationPort: 53, length: 13, checksumValid: true });
    expect(p.payload.toString()).toBe('query');
    expect(p.payload.buffer).toBe(out.buffer);
    expect(udp.encode(p, p.payload)).toEqual(out);
  });

  it('round-trips over IPv6, where the checksum differs', () => {
    const a = udp.encode({ sourcePort: 1, destinationPort: 2 }, Buffer.from('x'), V6);
    const b = udp.encode({ sourcePort: 1, destinationPort: 2 }, Buffer.from('x'), V4);
    expect(a.readUInt16BE(6)).not.toBe(b.readUInt16BE(6));
    expect(udp.decode(a, V6).checksumValid).toBe(true);
    expect(udp.decode(a, V4).checksumValid).toBe(false);
  });

  it('sends a computed checksum of 0 as 0xffff, which verifies', () => {
    const probe = udp.encode({ sourcePort: 7, destinationPort: 7 }, Buffer.alloc(2), V4);
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(probe.readUInt16BE(6)); // makes the data sum to 0xffff: computed checksum 0
    const out = udp.encode({ sourcePort: 7, destinationPort: 7 }, payload, V4);
    expect(out.readUInt16BE(6)).toBe(0xffff);
    expect(udp.verifyChecksum(out, V4)).toBe(true);
  });

  it('treats a zero checksum as absent over IPv4 and invalid over IPv6', () => {
    const out = udp.encode({ sourcePort: 1, destinationPort: 2 }, Buffer.from('no sum'));
    expect(out.readUInt16BE(6)).toBe(0);
    expect(udp.verifyChecksum(out, V4)).toBe(true);
    expect(udp.verifyChecksum(out, V6)).toBe(false);
  });

  it('writes length and checksum verbatim, and ignores bytes past length', () => {
    const out = udp.encode({ sourcePort: 1, destinationPort: 2, length: 10, checksum: 0x1111 }, Buffer.from('abcdef'), V4);
    expect(out.readUInt16BE(4)).toBe(10);
    expect(out.readUInt16BE(6)).toBe(0x1111);
    const p = udp.decode(out, V4);
    expect(p.payload.toString()).toBe('ab');
    expect(p.checksumValid).toBe(false);
  });

  it('throws naming the field for truncated or inconsistent input', () => {
    malformed(() => udp.decode(Buffer.alloc(7)), 'udp', 'header');
    malformed(() => udp.decode(udp.encode({ sourcePort: 1, destinationPort: 2, length: 7 })), 'udp', 'length');
    malformed(() => udp.decode(udp.encode({ sourcePort: 1, destinationPort: 2, length: 100 }, Buffer.alloc(4))), 'udp', 'length');
    malformed(() => udp.verifyChecksum(udp.encode({ sourcePort: 1, destinationPort: 2, length: 9 }), V4), 'udp', 'length');
  });

  it('rejects bad ports and pseudo-header addresses', () => {
    badArg(() => udp.encode({ sourcePort: 65536, destinationPort: 1 }), 'ERR_OUT_OF_RANGE', 'sourcePort');
    badArg(() => udp.encode({ sourcePort: -1, destinationPort: 1 }), 'ERR_OUT_OF_RANGE', 'sourcePort');
    badArg(() => udp.encode({ sourcePort: 1, destinationPort: 1 }, undefined, { source: '::1', destination: '1.2.3.4' }), 'ERR_INVALID_ARG_VALUE', 'destination');
  });
});

describe('tcp', () => {
  const SYN_OPTIONS: tcp.Option[] = [
    { kind: 'mss', value: 1460 },
    { kind: 'sackPermitted' },
    { kind: 'timestamps', value: 0x01020304, echoReply: 0 },
    { kind: 'nop' },
    { kind: 'windowScale', shift: 7 },
  ];

  it('encodes a Linux-style SYN byte for byte and round-trips it', () => {
    const out = tcp.encode(
      { sourcePort: 40000, destinationPort: 80, sequenceNumber: 0xfffffffe, flags: { syn: true }, window: 64240, options: SYN_OPTIONS },
      undefined,
      V4,
    );
    expect(out.length).toBe(40);
    expect(out.subarray(12, 14)).toEqual(hex('a002'));
    expect(out.subarray(20)).toEqual(hex('020405b4 0402 080a 01020304 00000000 01 030307'));
    expect(tcp.verifyChecksum(out, V4)).toBe(true);
    const p = tcp.decode(out, V4);
    expect(p).toMatchObject({
      sourcePort: 40000,
      destinationPort: 80,
      sequenceNumber: 0xfffffffe,
      acknowledgmentNumber: 0,
      dataOffset: 10,
      reserved: 0,
      window: 64240,
      urgentPointer: 0,
      checksumValid: true,
    });
    expect(p.flags).toEqual({ fin: false, syn: true, rst: false, psh: false, ack: false, urg: false, ece: false, cwr: false, ns: false });
    expect(p.options).toEqual(SYN_OPTIONS);
    expect(tcp.encode(p, p.payload)).toEqual(out);
  });

  it('round-trips every flag bit, the reserved bits, SACK blocks and a raw option', () => {
    const flags = { fin: true, syn: true, rst: true, psh: true, ack: true, urg: true, ece: true, cwr: true, ns: true };
    const options: tcp.Option[] = [
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'sack', blocks: [{ left: 1, right: 2 }, { left: 0xfffffff0, right: 0x10 }] },
      { kind: 30, data: hex('0001 0203') },
      { kind: 'eol' },
    ];
    const out = tcp.encode(
      { sourcePort: 1, destinationPort: 2, sequenceNumber: 3, acknowledgmentNumber: 4, reserved: 7, flags, window: 5, urgentPointer: 6, options },
      Buffer.from('payload'),
      V6,
    );
    expect(out.readUInt16BE(12) & 0x0fff).toBe(0x0fff);
    const p = tcp.decode(out, V6);
    expect(p).toMatchObject({ reserved: 7, flags, options, checksumValid: true });
    expect(p.payload.toString()).toBe('payload');
    expect(tcp.encode(p, p.payload)).toEqual(out);
  });

  it('keeps a known kind with an unexpected length as raw bytes', () => {
    const options: tcp.Option[] = [{ kind: 2, data: hex('05b400') }, { kind: 8, data: hex('00') }, { kind: 5, data: Buffer.alloc(0) }];
    expect(tcp.decode(tcp.encode({ sourcePort: 1, destinationPort: 2, options })).options).toEqual([...options, { kind: 'eol' }]);
  });

  it('writes dataOffset and checksum verbatim and leaves the checksum 0 without addresses', () => {
    expect(tcp.encode({ sourcePort: 1, destinationPort: 2 }).readUInt16BE(16)).toBe(0);
    const bad = tcp.encode({ sourcePort: 1, destinationPort: 2, checksum: 0xabcd }, Buffer.alloc(2), V4);
    expect(bad.readUInt16BE(16)).toBe(0xabcd);
    expect(tcp.verifyChecksum(bad, V4)).toBe(false);
    const padded = tcp.encode({ sourcePort: 1, destinationPort: 2, dataOffset: 6 }, Buffer.from('d'), V4);
    expect(padded.length).toBe(25);
    expect(tcp.decode(padded, V4)).toMatchObject({ dataOffset: 6, options: [{ kind: 'eol' }], checksumValid: true });
    // A dataOffset beyond the options pads the header; cut the segment short to make it lie.
    const long = tcp.encode({ sourcePort: 1, destinationPort: 2, dataOffset: 15 }, Buffer.alloc(4));
    expect(long.length).toBe(64);
    malformed(() => tcp.decode(long.subarray(0, 24)), 'tcp', 'dataOffset');
  });

  it('throws naming the field for truncated or inconsistent input', () => {
    malformed(() => tcp.decode(Buffer.alloc(19)), 'tcp', 'header');
    malformed(() => tcp.decode(tcp.encode({ sourcePort: 1, destinationPort: 2, dataOffset: 4 })), 'tcp', 'dataOffset');
    const syn = tcp.encode({ sourcePort: 1, destinationPort: 2, options: SYN_OPTIONS });
    malformed(() => tcp.decode(syn.subarray(0, 39)), 'tcp', 'dataOffset');
    malformed(() => tcp.verifyChecksum(syn.subarray(0, 39), V4), 'tcp', 'dataOffset');
    // Options lying about their length: past the header, below 2, or missing.
    malformed(() => tcp.decode(tcp.encode({ sourcePort: 1, destinationPort: 2, options: [{ kind: 8, length: 13, data: Buffer.alloc(8) }] })), 'tcp', 'options');
    malformed(() => tcp.decode(tcp.encode({ sourcePort: 1, destinationPort: 2, options: [{ kind: 2, length: 1, data: Buffer.alloc(2) }] })), 'tcp', 'options');
    malformed(() => tcp.decode(tcp.encode({ sourcePort: 1, destinationPort: 2, options: [{ kind: 2, length: 0, data: Buffer.alloc(2) }] })), 'tcp', 'options');
    const lastByte = tcp.encode({ sourcePort: 1, destinationPort: 2, options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }] });
    lastByte[23] = 2; // an MSS kind in the last option byte, its length byte beyond the header
    const e = malformed(() => tcp.decode(lastByte), 'tcp', 'options');
    expect(e.message).toContain('no length byte');
    // The payload of a valid segment is never parsed as options.
    const withData = tcp.encode({ sourcePort: 1, destinationPort: 2 }, hex('0201'));
    expect(tcp.decode(withData).options).toEqual([]);
  });

  it('rejects unwritable fields', () => {
    badArg(() => tcp.encode({ sourcePort: 1, destinationPort: 2, sequenceNumber: 2 ** 32 }), 'ERR_OUT_OF_RANGE', 'sequenceNumber');
    badArg(() => tcp.encode({ sourcePort: 1, destinationPort: 2, options: [{ kind: 'mss', value: 70000 }] }), 'ERR_OUT_OF_RANGE', 'options[0].value');
    const sack = { kind: 'sack' as const, blocks: Array.from({ length: 5 }, () => ({ left: 0, right: 0 })) };
    badArg(() => tcp.encode({ sourcePort: 1, destinationPort: 2, options: [sack] }), 'ERR_OUT_OF_RANGE', 'options');
    badArg(() => tcp.encode({ sourcePort: 1, destinationPort: 2, options: [{ kind: 99, data: Buffer.alloc(254) }] }), 'ERR_OUT_OF_RANGE', 'options[0].data.length');
    badArg(() => tcp.encode({ sourcePort: 1, destinationPort: 2, flags: { syn: 'yes' as unknown as boolean } }), 'ERR_INVALID_ARG_TYPE', 'flags.syn');
  });
});

describe('ethernet', () => {
  it('round-trips an untagged frame', () => {
    const out = ethernet.encode({ destination: ethernet.BROADCAST, source: '02:00:5E:10:00:01', etherType: ethernet.ETHERTYPE_IPV4 }, Buffer.from('ip'));
    expect(out).toEqual(hex('ffffffffffff 02005e100001 0800 6970'));
    const p = ethernet.decode(out);
    expect(p).toMatchObject({ destination: 'ff:ff:ff:ff:ff:ff', source: '02:00:5e:10:00:01', vlans: [], etherType: 0x0800 });
    expect(p.payload.toString()).toBe('ip');
    expect(ethernet.encode(p, p.payload)).toEqual(out);
  });

  it('round-trips 802.1ad + 802.1Q tags', () => {
    const vlans = [
      { tpid: ethernet.ETHERTYPE_QINQ, priority: 5, dei: true, id: 100 },
      { tpid: ethernet.ETHERTYPE_VLAN, priority: 0, dei: false, id: 4095 },
    ];
    const out = ethernet.encode({ destination: '00:11:22:33:44:55', source: '66-77-88-99-aa-bb', vlans, etherType: ethernet.ETHERTYPE_IPV6 });
    expect(out.subarray(12)).toEqual(hex('88a8 b064 8100 0fff 86dd'));
    expect(ethernet.decode(out)).toMatchObject({ source: '66:77:88:99:aa:bb', vlans, etherType: 0x86dd });
    expect(ethernet.decode(ethernet.encode({ destination: '00:11:22:33:44:55', source: '00:11:22:33:44:55', vlans: [{ id: 1 }], etherType: 0x0806 })).vlans).toEqual([
      { tpid: 0x8100, priority: 0, dei: false, id: 1 },
    ]);
  });

  it('throws naming the field for truncated input', () => {
    malformed(() => ethernet.decode(Buffer.alloc(13)), 'ethernet', 'header');
    const tagged = ethernet.encode({ destination: ethernet.BROADCAST, source: ethernet.BROADCAST, vlans: [{ id: 1 }], etherType: 0x0800 });
    malformed(() => ethernet.decode(tagged.subarray(0, 17)), 'ethernet', 'vlans');
  });

  it('rejects bad MAC addresses', () => {
    for (const bad of ['aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa:bb:cc:dd:ee:fg', '', 'aabbccddeeff']) {
      badArg(() => ethernet.encode({ destination: bad, source: ethernet.BROADCAST, etherType: 0x0800 }), 'ERR_INVALID_ARG_VALUE', 'destination');
    }
  });
});

describe('arp', () => {
  const REQUEST: arp.Header = {
    operation: arp.REQUEST,
    senderHardwareAddress: '02:00:00:00:00:01',
    senderProtocolAddress: '192.0.2.1',
    targetProtocolAddress: '192.0.2.2',
  };

  it('encodes an Ethernet/IPv4 request byte for byte and round-trips it in a frame', () => {
    const out = arp.encode(REQUEST);
    expect(out).toEqual(hex('0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202'));
    const frame = ethernet.encode({ destination: ethernet.BROADCAST, source: REQUEST.senderHardwareAddress, etherType: ethernet.ETHERTYPE_ARP }, out);
    const eth = ethernet.decode(Buffer.concat([frame, Buffer.alloc(60 - frame.length)]));
    expect(eth.etherType).toBe(0x0806);
    const p = arp.decode(eth.payload);
    expect(p).toMatchObject({
      hardwareType: 1,
      protocolType: 0x0800,
      hardwareLength: 6,
      protocolLength: 4,
      ...REQUEST,
      targetHardwareAddress: '00:00:00:00:00:00',
    });
    expect(p.payload.length).toBe(60 - 14 - 28); // the frame's padding
    expect(arp.encode(p)).toEqual(out);
  });

  it('carries other address kinds: IPv6 text in, raw bytes out', () => {
    const out = arp.encode({
      protocolType: 0x86dd,
      operation: arp.REPLY,
      senderHardwareAddress: '01:02',
      targetHardwareAddress: '03:04',
      senderProtocolAddress: '2001:db8::1',
      targetProtocolAddress: new Uint8Array(16),
    });
    const p = arp.decode(out);
    expect(p).toMatchObject({ hardwareLength: 2, protocolLength: 16, senderHardwareAddress: '01:02', targetHardwareAddress: '03:04' });
    expect(p.senderProtocolAddress).toEqual(hex('20010db8000000000000000000000001'));
    expect(arp.encode(p)).toEqual(out);
  });

  it('writes lying lengths verbatim and refuses them on decode', () => {
    const lie = arp.encode({ ...REQUEST, hardwareLength: 200 });
    expect(lie[4]).toBe(200);
    malformed(() => arp.decode(lie), 'arp', 'hardwareLength');
    malformed(() => arp.decode(arp.encode({ ...REQUEST, protocolLength: 9 })), 'arp', 'protocolLength');
    malformed(() => arp.decode(Buffer.alloc(7)), 'arp', 'header');
  });

  it('rejects addresses of different lengths unless the length is given', () => {
    badArg(() => arp.encode({ ...REQUEST, targetProtocolAddress: '::1' }), 'ERR_INVALID_ARG_VALUE', 'targetProtocolAddress');
    badArg(() => arp.encode({ ...REQUEST, targetHardwareAddress: '00:00' }), 'ERR_INVALID_ARG_VALUE', 'targetHardwareAddress');
    badArg(() => arp.encode({ ...REQUEST, senderHardwareAddress: 'zz' }), 'ERR_INVALID_ARG_VALUE', 'senderHardwareAddress');
  });
});

describe('layers together', () => {
  it('builds and parses Ethernet + IPv4 + UDP', () => {
    const data = Buffer.from('hello over the wire');
    const datagram = udp.encode({ sourcePort: 12345, destinationPort: 9 }, data, V4);
    const packet = ipv4.encode({ protocol: IPPROTO_UDP, identification: 1, dontFragment: true, ...V4 }, datagram);
    const frame = ethernet.encode({ destination: '02:00:00:00:00:02', source: '02:00:00:00:00:01', etherType: ethernet.ETHERTYPE_IPV4 }, packet);
    const ip = ipv4.decode(ethernet.decode(frame).payload);
    expect(ip.checksumValid).toBe(true);
    const u = udp.decode(ip.payload, ip);
    expect(u.checksumValid).toBe(true);
    expect(u.payload).toEqual(data);
    expect(u.payload.buffer).toBe(frame.buffer);
  });

  it('builds and parses IPv6 + TCP', () => {
    const segment = tcp.encode({ sourcePort: 1, destinationPort: 443, flags: { ack: true, psh: true } }, Buffer.from('GET'), V6);
    const packet = ipv6.encode({ nextHeader: IPPROTO_TCP, ...V6 }, segment);
    const ip = ipv6.decode(packet);
    expect(tcp.decode(ip.payload, ip)).toMatchObject({ checksumValid: true, flags: { ack: true, psh: true, syn: false } });
  });
});
