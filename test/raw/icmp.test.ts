// SOCK_RAW ICMP (IPv4) and ICMPv6 (IPv6 raw sockets): echo to loopback answered by the kernel,
// ICMP_FILTER / ICMP6_FILTER, IPV6_CHECKSUM, and the IPv6 ancillary data of raw sockets.
//
// Every test runs its sockets in a child node process inside a network namespace of its own (lo up,
// nothing else), so no packet leaves it; the namespace is removed after each test, pass or fail.
// Every wait in a child is bounded by poll timeouts, and the child itself by a 10 s run timeout.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6, IPPROTO_IPV6, IPV6_HOPLIMIT, IPV6_PKTINFO } from '../../src/index.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { Netns, netnsUnavailable, packetPkg, pkg, rawUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping raw socket tests:', skip);

checkFdLeaks();

// What every child script starts with: the built package, and bounded receive helpers.
const prelude = `
'use strict';
const s = require(${JSON.stringify(pkg)});
const p = require(${JSON.stringify(packetPkg)});
const buf = Buffer.alloc(65536);
// Whether fd becomes readable within ms.
function readable(fd, ms) {
  const [r] = s.poll([{ fd, events: s.POLLIN }], ms);
  return (r.revents & s.POLLIN) !== 0;
}
// Every datagram that arrives on fd until none has come for quietMs (3 s at most): { data, address }.
function drain(fd, quietMs = 150) {
  const out = [];
  const end = Date.now() + 3000;
  while (Date.now() < end && readable(fd, quietMs)) {
    const r = s.recvfrom(fd, buf);
    out.push({ data: Buffer.from(buf.subarray(0, Math.min(r.bytes, buf.length))), address: r.address });
  }
  return out;
}
const LO4 = { family: s.AF_INET, address: '127.0.0.1', port: 0 };
const LO6 = { family: s.AF_INET6, address: '::1', port: 0 };
const PSEUDO6 = { source: '::1', destination: '::1' };
// struct icmp6_filter: eight host-order 32-bit words; a set bit BLOCKS that ICMPv6 type.
function icmp6Filter(blockAll, passTypes) {
  const words = new Uint32Array(8).fill(blockAll ? 0xffffffff : 0);  // ICMP6_FILTER_SETBLOCKALL / SETPASSALL
  for (const t of passTypes) words[t >> 5] &= ~(1 << (t & 31));      // ICMP6_FILTER_SETPASS
  return Buffer.from(words.buffer);
}
function done(value) {
  process.stdout.write(JSON.stringify(value, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v)));
}
`;

let ns: Netns;

/** Runs `body` after the prelude in a node child inside the test's namespace; returns what it passed to done(). */
function run<T>(body: string): T {
  return JSON.parse(ns.node(prelude + body)) as T;
}

interface Icmp4Seen {
  address: { family: number; address: string; port: number };
  ip: { source: string; destination: string; protocol: number; ttl: number; ihl: number; checksumValid: boolean };
  icmp: { type: number; code: number; identifier: number; sequence: number; checksumValid: boolean; payload: string };
}

interface Icmp6Seen {
  address: { family: number; address: string; port: number };
  bytes: number;
  type: number;
  code: number;
  identifier: number;
  sequence: number;
  checksum: number;
  checksumValid: boolean;
  payload: string;
}

// Decoders of drain() results, in the child.
const decode4 = `
function decode4(m) {
  const ip = p.ipv4.decode(m.data);
  const icmp = p.icmp.decode(ip.payload);
  return {
    address: m.address,
    ip: { source: ip.source, destination: ip.destination, protocol: ip.protocol, ttl: ip.ttl, ihl: ip.ihl, checksumValid: ip.checksumValid },
    icmp: { type: icmp.type, code: icmp.code, identifier: icmp.identifier, sequence: icmp.sequence, checksumValid: icmp.checksumValid, payload: icmp.payload.toString() },
  };
}
`;
const decode6 = `
function decode6(m) {
  const icmp = p.icmpv6.decode(m.data, PSEUDO6);
  return { address: m.address, bytes: m.data.length, type: icmp.type, code: icmp.code, identifier: icmp.identifier, sequence: icmp.sequence,
           checksum: icmp.checksum, checksumValid: icmp.checksumValid, payload: icmp.payload.toString() };
}
`;

describe.skipIf(skip !== null)('SOCK_RAW ICMP over IPv4, in a network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => {
    ns.destroy();
  });

  it('an ICMP echo request to 127.0.0.1 is answered by the kernel with an echo reply', () => {
    const got = run<Icmp4Seen[]>(`${decode4}
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      s.sendto(fd, p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 0x5a5a, sequence: 1 }, Buffer.from('sockfd raw ping')), undefined, 0, LO4);
      const seen = drain(fd).map(decode4);
      s.close(fd);
      done(seen.filter((m) => m.icmp.type === p.icmp.ECHO_REPLY));
    `);
    expect(got).toHaveLength(1);
    const reply = got[0]!;
    expect(reply.address).toEqual({ family: AF_INET, address: '127.0.0.1', port: 0 });
    expect(reply.ip).toMatchObject({ source: '127.0.0.1', destination: '127.0.0.1', protocol: 1, ihl: 5, checksumValid: true });
    expect(reply.icmp).toEqual({ type: 0, code: 0, identifier: 0x5a5a, sequence: 1, checksumValid: true, payload: 'sockfd raw ping' });
  });

  it('a raw ICMP socket receives its own echo request looped back, IPv4 header first', () => {
    const got = run<Icmp4Seen[]>(`${decode4}
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      s.setsockopt(fd, s.IPPROTO_IP, s.IP_TTL, 42);
      s.sendto(fd, p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 0x1234, sequence: 7 }, Buffer.from('mine')), undefined, 0, LO4);
      const seen = drain(fd).map(decode4);
      s.close(fd);
      done(seen);
    `);
    expect(got.map((m) => m.icmp.type)).toEqual([8, 0]);
    // The request as the kernel built its IPv4 header around it: our TTL, a valid header checksum.
    expect(got[0]!.ip).toEqual({ source: '127.0.0.1', destination: '127.0.0.1', protocol: 1, ttl: 42, ihl: 5, checksumValid: true });
    expect(got[0]!.icmp).toEqual({ type: 8, code: 0, identifier: 0x1234, sequence: 7, checksumValid: true, payload: 'mine' });
  });

  it('ICMP_FILTER at SOL_RAW blocks the ICMP types whose bits are set', () => {
    const got = run<{ filter: number; types: number[] }>(`${decode4}
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      s.setsockopt(fd, s.SOL_RAW, s.ICMP_FILTER, 1 << p.icmp.ECHO_REQUEST);
      const filter = s.getsockopt(fd, s.SOL_RAW, s.ICMP_FILTER);
      s.sendto(fd, p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 9, sequence: 1 }), undefined, 0, LO4);
      const types = drain(fd).map((m) => decode4(m).icmp.type);
      s.close(fd);
      done({ filter, types });
    `);
    expect(got.filter).toBe(1 << 8);
    expect(got.types).toEqual([0]);
  });
});

describe.skipIf(skip !== null)('SOCK_RAW ICMPv6 and IPv6 raw sockets, in a network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => {
    ns.destroy();
  });

  it('an ICMPv6 echo request to ::1 is answered by the kernel with an echo reply', () => {
    const got = run<Icmp6Seen[]>(`${decode6}
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      s.sendto(fd, p.icmpv6.encode({ type: p.icmpv6.ECHO_REQUEST, identifier: 0x6060, sequence: 2 }, Buffer.from('v6 raw ping')), undefined, 0, LO6);
      const seen = drain(fd).map(decode6);
      s.close(fd);
      done(seen.filter((m) => m.type === p.icmpv6.ECHO_REPLY));
    `);
    expect(got).toHaveLength(1);
    // An ICMPv6 raw socket gets the message alone, without the IPv6 header (8 + 11 bytes).
    expect(got[0]).toMatchObject({ bytes: 19, type: 129, code: 0, identifier: 0x6060, sequence: 2, checksumValid: true, payload: 'v6 raw ping' });
    expect(got[0]!.address).toEqual({ family: AF_INET6, address: '::1', port: 0, flowinfo: 0, scopeId: 0 });
  });

  it('the kernel computes the checksum of an ICMPv6 message sent with a zero checksum field', () => {
    const got = run<Icmp6Seen[]>(`${decode6}
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      const message = p.icmpv6.encode({ type: p.icmpv6.ECHO_REQUEST, identifier: 0x7070, sequence: 3 }, Buffer.from('sum me'));
      if (message.readUInt16BE(2) !== 0) throw new Error('expected a zero checksum field from icmpv6.encode without a pseudo-header');
      s.sendto(fd, message, undefined, 0, LO6);
      const seen = drain(fd).map(decode6);
      s.close(fd);
      done(seen.filter((m) => m.type === p.icmpv6.ECHO_REQUEST));
    `);
    expect(got).toHaveLength(1);
    expect(got[0]!.checksum).not.toBe(0);
    expect(got[0]!.checksumValid).toBe(true);
    expect(got[0]).toMatchObject({ identifier: 0x7070, sequence: 3, payload: 'sum me' });
  });

  it('ICMP6_FILTER reads back as the 32-byte struct icmp6_filter that was set', () => {
    const got = run<{ initial: string; set: string; read: string }>(`
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      const initial = s.getsockopt(fd, s.IPPROTO_ICMPV6, s.ICMP6_FILTER, 32);
      const filter = icmp6Filter(true, [p.icmpv6.ECHO_REPLY, p.icmpv6.PACKET_TOO_BIG]);
      s.setsockopt(fd, s.IPPROTO_ICMPV6, s.ICMP6_FILTER, filter);
      const read = s.getsockopt(fd, s.IPPROTO_ICMPV6, s.ICMP6_FILTER, 32);
      s.close(fd);
      done({ initial, set: filter, read });
    `);
    expect(got.initial).toBe('00'.repeat(32)); // ICMP6_FILTER_SETPASSALL
    expect(got.read).toBe(got.set);
    expect(got.read).not.toBe('ff'.repeat(32));
  });

  it('ICMP6_FILTER blocking every type but echo reply passes only echo replies', () => {
    const got = run<number[]>(`${decode6}
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      s.setsockopt(fd, s.IPPROTO_ICMPV6, s.ICMP6_FILTER, icmp6Filter(true, [p.icmpv6.ECHO_REPLY]));
      for (let seq = 1; seq <= 2; seq++) {
        s.sendto(fd, p.icmpv6.encode({ type: p.icmpv6.ECHO_REQUEST, identifier: 0x1111, sequence: seq }), undefined, 0, LO6);
      }
      const types = drain(fd).map((m) => decode6(m).type);
      s.close(fd);
      done(types);
    `);
    expect(got).toEqual([129, 129]);
  });

  it('ICMP6_FILTER with every type blocked delivers nothing, while an unfiltered socket sees the exchange', () => {
    const got = run<{ blocked: number[]; open: number[] }>(`${decode6}
      const blocked = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      s.setsockopt(blocked, s.IPPROTO_ICMPV6, s.ICMP6_FILTER, icmp6Filter(true, []));
      const open = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      s.sendto(blocked, p.icmpv6.encode({ type: p.icmpv6.ECHO_REQUEST, identifier: 0x2222, sequence: 1 }), undefined, 0, LO6);
      const result = { open: drain(open).map((m) => decode6(m).type), blocked: drain(blocked, 100).map((m) => decode6(m).type) };
      s.close(blocked);
      s.close(open);
      done(result);
    `);
    expect(got.open).toEqual([128, 129]);
    expect(got.blocked).toEqual([]);
  });

  it('IPV6_CHECKSUM on a raw IPv6 UDP socket is -1 by default and reads back the offset set', () => {
    const got = run<number[]>(`
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_UDP);
      const values = [s.getsockopt(fd, s.IPPROTO_IPV6, s.IPV6_CHECKSUM)];
      s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_CHECKSUM, 6);
      values.push(s.getsockopt(fd, s.IPPROTO_IPV6, s.IPV6_CHECKSUM));
      s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_CHECKSUM, -1);
      values.push(s.getsockopt(fd, s.IPPROTO_IPV6, s.IPV6_CHECKSUM));
      s.close(fd);
      done(values);
    `);
    expect(got).toEqual([-1, 6, -1]);
  });

  it('IPV6_CHECKSUM with an odd offset is rejected with EINVAL', () => {
    const got = run<{ code: string; syscall: string; errno: number }>(`
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_UDP);
      let result;
      try {
        s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_CHECKSUM, 5);
        result = { code: 'no error' };
      } catch (e) {
        result = { code: e.code, syscall: e.syscall, errno: e.errno };
      }
      s.close(fd);
      done(result);
    `);
    expect(got).toEqual({ code: 'EINVAL', syscall: 'setsockopt', errno: -22 });
  });

  it('with IPV6_CHECKSUM at offset 6 the kernel sums UDP datagrams sent on a raw socket, and a UDP socket accepts them', () => {
    const got = run<{ received: string; from: { address: string; port: number }; looped: { checksum: number; checksumValid: boolean } }>(`
      const rx = s.socket(s.AF_INET6, s.SOCK_DGRAM);
      s.bind(rx, { family: s.AF_INET6, address: '::1', port: 0 });
      const port = s.getsockname(rx).port;
      const raw = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_UDP);
      s.setsockopt(raw, s.IPPROTO_IPV6, s.IPV6_CHECKSUM, 6);
      const datagram = p.udp.encode({ sourcePort: 4321, destinationPort: port, checksum: 0 }, Buffer.from('summed by the kernel'));
      s.sendto(raw, datagram, undefined, 0, LO6);
      if (!readable(rx, 2000)) throw new Error('the UDP socket received nothing');
      const r = s.recvfrom(rx, buf);
      const received = buf.toString('utf8', 0, r.bytes);
      // The raw UDP socket sees the datagram too, as it went out: with the kernel's checksum in place.
      const [mine] = drain(raw).map((m) => p.udp.decode(m.data, PSEUDO6)).filter((u) => u.sourcePort === 4321);
      s.close(rx);
      s.close(raw);
      done({ received, from: r.address, looped: { checksum: mine.checksum, checksumValid: mine.checksumValid } });
    `);
    expect(got.received).toBe('summed by the kernel');
    expect(got.from).toMatchObject({ address: '::1', port: 4321 });
    expect(got.looped.checksum).not.toBe(0);
    expect(got.looped.checksumValid).toBe(true);
  });

  it('without IPV6_CHECKSUM a UDP datagram sent with a zero checksum over IPv6 is dropped by the receiver', () => {
    const got = run<{ delivered: boolean }>(`
      const rx = s.socket(s.AF_INET6, s.SOCK_DGRAM);
      s.bind(rx, { family: s.AF_INET6, address: '::1', port: 0 });
      const raw = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_UDP);
      s.sendto(raw, p.udp.encode({ sourcePort: 4321, destinationPort: s.getsockname(rx).port, checksum: 0 }, Buffer.from('x')), undefined, 0, LO6);
      const delivered = readable(rx, 300);
      s.close(rx);
      s.close(raw);
      done({ delivered });
    `);
    expect(got.delivered).toBe(false);
  });

  it('recvmsg on a raw ICMPv6 socket reports the hop limit and destination as IPV6_HOPLIMIT and IPV6_PKTINFO', () => {
    interface Seen {
      type: number;
      address: { address: string };
      control: { level: number; type: number; value?: number; addr?: string; ifindex?: number }[];
    }
    const got = run<{ lo: number; seen: Seen[] }>(`
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_RECVHOPLIMIT, 1);
      s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_RECVPKTINFO, 1);
      s.setsockopt(fd, s.IPPROTO_IPV6, s.IPV6_UNICAST_HOPS, 7);
      s.sendto(fd, p.icmpv6.encode({ type: p.icmpv6.ECHO_REQUEST, identifier: 0x3131, sequence: 1 }), undefined, 0, LO6);
      const seen = [];
      const end = Date.now() + 3000;
      while (Date.now() < end && readable(fd, 300)) {
        const m = s.recvmsg(fd, [buf], { controlLength: 128 });
        seen.push({ type: buf[0], address: m.address, control: m.control.map(({ data, ...c }) => c) });
      }
      s.close(fd);
      done({ lo: s.if_nametoindex('lo'), seen });
    `);
    expect(got.seen.map((m) => m.type)).toEqual([128, 129]);
    const [request, reply] = got.seen as [Seen, Seen];
    const hops = (m: Seen): number | undefined => m.control.find((c) => c.level === IPPROTO_IPV6 && c.type === IPV6_HOPLIMIT)?.value;
    const info = (m: Seen) => m.control.find((c) => c.level === IPPROTO_IPV6 && c.type === IPV6_PKTINFO);
    expect(hops(request)).toBe(7); // our IPV6_UNICAST_HOPS
    expect(hops(reply)).toBe(64); // the kernel's default
    expect(info(reply)).toMatchObject({ addr: '::1', ifindex: got.lo });
    expect(reply.address.address).toBe('::1');
  });
});
