// sockfd/packet under random input: random bytes and mutations of valid packets, fed to every decoder.
// The only allowed outcomes are a decoded object or a PacketError; never another exception. A seeded
// PRNG (mulberry32) makes every run the same; set PACKET_FUZZ_SEED to explore other seeds, and
// PACKET_FUZZ_DEBUG=1 to print how often each decoder accepted and refused its input.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PacketError, arp, ethernet, icmp, icmpv6, ipv4, ipv6, tcp, udp } from '../src/packet/index.js';
import type { PseudoHeader } from '../src/packet/index.js';
import { checkFdLeaks } from './helpers/fds.js';
import { mulberry32 } from '../src/random.js';

checkFdLeaks();

const SEED = Number(process.env.PACKET_FUZZ_SEED ?? 0x5eedf00d) >>> 0;

const rand = mulberry32(SEED);
/** An integer in [0, n). */
const int = (n: number): number => Math.floor(rand() * n);
const bit = (): boolean => rand() < 0.5;
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};
const v4addr = (): string => `${int(256)}.${int(256)}.${int(256)}.${int(256)}`;
const v6addr = (): string => {
  const b = bytes(16);
  // Runs of zero groups, so '::' compression is exercised.
  const from = int(8);
  const to = from + int(9 - from);
  b.fill(0, from * 2, to * 2);
  return Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i).toString(16)).join(':');
};
const mac = (): string => Array.from(bytes(6), (x) => x.toString(16).padStart(2, '0')).join(':');

const P4: PseudoHeader = { source: '192.0.2.1', destination: '198.51.100.2' };
const P6: PseudoHeader = { source: '2001:db8::1', destination: 'fe80::2' };

// ---- valid packets from random fields ---------------------------------------------------------

function ipv4Options(): ipv4.Option[] {
  const out: ipv4.Option[] = [];
  let room = 40;
  for (let n = int(5); n > 0; n--) {
    const o: ipv4.Option = pick<() => ipv4.Option>([
      () => ({ kind: 'nop' }),
      () => ({ kind: 'routerAlert', value: int(65536) }),
      () => ({ kind: pick(['recordRoute', 'looseSourceRoute', 'strictSourceRoute'] as const), pointer: 4 + 4 * int(3), addresses: Array.from({ length: int(3) }, v4addr) }),
      () => (bit()
        ? { kind: 'timestamp', pointer: 5, overflow: int(16), flag: 0, entries: Array.from({ length: int(3) }, () => ({ timestamp: int(2 ** 32) })) }
        : { kind: 'timestamp', pointer: 5, overflow: int(16), flag: pick([1, 3]), entries: Array.from({ length: int(2) }, () => ({ address: v4addr(), timestamp: int(2 ** 32) })) }),
      () => ({ kind: pick([130, 133, 136, 25, 200]), data: bytes(int(6)) }),
    ])();
    const size = o.kind === 'nop' ? 1 : ipv4.encode({ protocol: 0, ...P4, options: [o] }).length - 20;
    if (size > room) break;
    room -= size;
    out.push(o);
  }
  if (bit() && room > 0) out.push({ kind: 'eol' });
  return out;
}

function tcpOptions(): tcp.Option[] {
  const out: tcp.Option[] = [];
  let room = 40;
  for (let n = int(6); n > 0; n--) {
    const o: tcp.Option = pick<() => tcp.Option>([
      () => ({ kind: 'nop' }),
      () => ({ kind: 'mss', value: int(65536) }),
      () => ({ kind: 'windowScale', shift: int(15) }),
      () => ({ kind: 'sackPermitted' }),
      () => ({ kind: 'sack', blocks: Array.from({ length: 1 + int(3) }, () => ({ left: int(2 ** 32), right: int(2 ** 32) })) }),
      () => ({ kind: 'timestamps', value: int(2 ** 32), echoReply: int(2 ** 32) }),
      () => ({ kind: pick([6, 7, 29, 30, 34, 254]), data: bytes(int(8)) }),
    ])();
    const size = o.kind === 'nop' ? 1 : tcp.encode({ sourcePort: 0, destinationPort: 0, options: [o] }).length - 20;
    if (size > room) break;
    room -= size;
    out.push(o);
  }
  return out;
}

const generators: (() => Buffer)[] = [
  () => ipv4.encode(
    {
      dscp: int(64), ecn: int(4), identification: int(65536), reservedFlag: bit(), dontFragment: bit(), moreFragments: bit(),
      fragmentOffset: int(8192), ttl: int(256), protocol: pick([1, 6, 17, 58, int(256)]), source: v4addr(), destination: v4addr(),
      options: ipv4Options(),
    },
    bytes(int(40)),
  ),
  () => ipv6.encode({ trafficClass: int(256), flowLabel: int(1 << 20), nextHeader: int(256), hopLimit: int(256), source: v6addr(), destination: v6addr() }, bytes(int(40))),
  () => udp.encode({ sourcePort: int(65536), destinationPort: int(65536) }, bytes(int(40)), bit() ? P4 : P6),
  () => tcp.encode(
    {
      sourcePort: int(65536), destinationPort: int(65536), sequenceNumber: int(2 ** 32), acknowledgmentNumber: int(2 ** 32), reserved: int(8),
      flags: { syn: bit(), ack: bit(), fin: bit(), rst: bit(), psh: bit(), urg: bit(), ece: bit(), cwr: bit(), ns: bit() },
      window: int(65536), urgentPointer: int(65536), options: tcpOptions(),
    },
    bytes(int(40)),
    bit() ? P4 : P6,
  ),
  () => icmp.encode(pick<() => icmp.Header>([
    () => ({ type: pick([0, 8, 13, 14]), identifier: int(65536), sequence: int(65536) }),
    () => ({ type: 5, code: int(4), gateway: v4addr() }),
    () => ({ type: 3, code: 4, mtu: int(65536) }),
    () => ({ type: 12, pointer: int(256) }),
    () => ({ type: int(256), code: int(256), restOfHeader: int(2 ** 32) }),
  ])(), bytes(int(40))),
  () => icmpv6.encode(pick<() => icmpv6.Header>([
    () => ({ type: pick([128, 129]), identifier: int(65536), sequence: int(65536) }),
    () => ({ type: 2, mtu: int(2 ** 32) }),
    () => ({ type: 4, code: int(3), pointer: int(2 ** 32) }),
    () => ({ type: int(256), code: int(256), restOfHeader: int(2 ** 32) }),
  ])(), bytes(int(40)), P6),
  () => ethernet.encode(
    { destination: mac(), source: mac(), vlans: Array.from({ length: int(3) }, () => ({ tpid: pick([0x8100, 0x88a8]), priority: int(8), dei: bit(), id: int(4096) })), etherType: pick([0x0800, 0x0806, 0x86dd, int(65536)]) },
    bytes(int(40)),
  ),
  () => arp.encode({ operation: 1 + int(2), senderHardwareAddress: mac(), senderProtocolAddress: v4addr(), targetHardwareAddress: mac(), targetProtocolAddress: v4addr() }, bytes(int(20))),
  () => {
    const datagram = udp.encode({ sourcePort: int(65536), destinationPort: int(65536) }, bytes(int(30)), P4);
    return ethernet.encode({ destination: mac(), source: mac(), etherType: 0x0800 }, ipv4.encode({ protocol: 17, ...P4, options: ipv4Options() }, datagram));
  },
];

// Offsets of length-like fields in each kind of valid packet, for lies aimed where they hurt.
const LENGTH_FIELDS: [number, number][] = [
  [0, 1], // IPv4 version/ihl, IPv6 version
  [2, 2], // IPv4 totalLength
  [4, 2], // IPv6 payloadLength, UDP length, ARP lengths
  [12, 1], // TCP data offset
  [12, 2], // Ethernet EtherType / VLAN TPID
  [16, 2], // tagged Ethernet EtherType
];

function mutate(src: Buffer): Buffer {
  let b = Buffer.from(src);
  const steps = 1 + int(3);
  for (let s = 0; s < steps; s++) {
    switch (int(6)) {
      case 0: // bit flips
        for (let n = 1 + int(4); n > 0 && b.length > 0; n--) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1: // truncation
        b = b.subarray(0, int(b.length + 1));
        break;
      case 2: // extension with garbage
        b = Buffer.concat([b, bytes(1 + int(16))]);
        break;
      case 3: {
        // a length field lying
        const [at, width] = pick(LENGTH_FIELDS);
        if (at + width <= b.length) {
          if (width === 1) b[at] = pick([0, 1, 0x40, 0x44, 0x45, 0x4f, 0x60, 0x51, 0xf0, int(256)]);
          else b.writeUInt16BE(pick([0, 1, 7, 8, 19, 20, b.length - 1, b.length, b.length + 1, 0xffff, int(65536)]) & 0xffff, at);
        }
        break;
      }
      case 4: // an option length byte lying (options start at 20 in IPv4 and TCP headers)
        if (b.length > 21) b[20 + int(Math.min(40, b.length - 20))] = pick([0, 1, 2, 3, 40, 255, int(256)]);
        break;
      default: // a random byte
        if (b.length > 0) b[int(b.length)] = int(256);
    }
  }
  return b;
}

// ---- the decoders and what they must give back -----------------------------------------------

type Decoded = { payload: Buffer; checksumValid?: boolean };
interface Target {
  name: string;
  decode(b: Buffer): Decoded;
  /** Where the payload must start and how long it must be, from the decoded length fields. */
  span?(d: never, b: Buffer): [start: number, length: number];
  /** Re-encodes a decoded object; decoding the result must give the same object. */
  reencode?(d: never): Buffer;
}

const targets: Target[] = [
  { name: 'ethernet', decode: ethernet.decode, span: (d: ethernet.Packet, b) => [14 + 4 * d.vlans.length, b.length - 14 - 4 * d.vlans.length], reencode: (d: ethernet.Packet) => ethernet.encode(d, d.payload) },
  { name: 'arp', decode: arp.decode, span: (d: arp.Packet, b) => [8 + 2 * (d.hardwareLength + d.protocolLength), b.length - 8 - 2 * (d.hardwareLength + d.protocolLength)], reencode: (d: arp.Packet) => arp.encode(d, d.payload) },
  { name: 'ipv4', decode: ipv4.decode, span: (d: ipv4.Packet) => [d.ihl * 4, d.totalLength - d.ihl * 4], reencode: (d: ipv4.Packet) => ipv4.encode(d, d.payload) },
  { name: 'ipv6', decode: ipv6.decode, span: (d: ipv6.Packet) => [40, d.payloadLength], reencode: (d: ipv6.Packet) => ipv6.encode(d, d.payload) },
  { name: 'icmp', decode: icmp.decode, span: (_d, b) => [8, b.length - 8], reencode: (d: icmp.Packet) => icmp.encode(d, d.payload) },
  { name: 'icmpv6', decode: (b) => icmpv6.decode(b, P6), span: (_d, b) => [8, b.length - 8], reencode: (d: icmpv6.Packet) => icmpv6.encode(d, d.payload, P6) },
  { name: 'udp', decode: (b) => udp.decode(b, P4), span: (d: udp.Packet) => [8, d.length - 8], reencode: (d: udp.Packet) => udp.encode(d, d.payload, P4) },
  { name: 'tcp', decode: (b) => tcp.decode(b, P4), span: (d: tcp.Packet, b) => [d.dataOffset * 4, b.length - d.dataOffset * 4], reencode: (d: tcp.Packet) => tcp.encode(d, d.payload, P4) },
  { name: 'icmpv6.verifyChecksum', decode: (b) => ({ payload: b.subarray(0, 0), checksumValid: icmpv6.verifyChecksum(b, P6) }) },
  { name: 'udp.verifyChecksum', decode: (b) => ({ payload: b.subarray(0, 0), checksumValid: udp.verifyChecksum(b, P6) }) },
  { name: 'tcp.verifyChecksum', decode: (b) => ({ payload: b.subarray(0, 0), checksumValid: tcp.verifyChecksum(b, P4) }) },
];

const PROTOCOLS = new Set(['ethernet', 'arp', 'ipv4', 'ipv6', 'icmp', 'icmpv6', 'udp', 'tcp']);

interface Tally {
  decoded: number;
  malformed: number;
}

/** Copies a decoded object without its checksum verdict (bytes after an end-of-list may differ). */
function comparable(d: Decoded): object {
  const { checksumValid: _ignored, ...rest } = d;
  return rest;
}

function check(buf: Buffer, tally: Map<string, Tally>): void {
  for (const t of targets) {
    const count = tally.get(t.name)!;
    let out: Decoded;
    try {
      out = t.decode(buf);
    } catch (err) {
      if (!(err instanceof PacketError) || !PROTOCOLS.has(err.protocol) || err.field === '' || !(err.offset >= 0 && err.offset <= buf.length)) {
        throw new Error(`${t.name}.decode(${buf.toString('hex')}) threw ${String((err as Error)?.stack ?? err)} (seed ${SEED})`);
      }
      count.malformed++;
      continue;
    }
    count.decoded++;
    // The payload is a Buffer view inside the input.
    const p = out.payload;
    if (!Buffer.isBuffer(p) || p.buffer !== buf.buffer || p.byteOffset < buf.byteOffset || p.byteOffset + p.length > buf.byteOffset + buf.length) {
      throw new Error(`${t.name}.decode(${buf.toString('hex')}): payload is not a view into the input (seed ${SEED})`);
    }
    if (t.span) {
      const [start, length] = t.span(out as never, buf);
      if (p.byteOffset - buf.byteOffset !== start || p.length !== length) {
        throw new Error(`${t.name}.decode(${buf.toString('hex')}): payload at ${p.byteOffset - buf.byteOffset}+${p.length}, its length fields say ${start}+${length} (seed ${SEED})`);
      }
    }
    if (t.reencode) {
      const again = t.decode(t.reencode(out as never));
      if (!isDeepStrictEqual(comparable(again), comparable(out))) {
        throw new Error(`${t.name}: decode(encode(decode(${buf.toString('hex')}))) differs (seed ${SEED})`);
      }
    }
  }
}

describe(`packet decoders under random input (seed ${SEED})`, () => {
  it('round-trip random valid packets', () => {
    for (let i = 0; i < 2000; i++) {
      const g = pick(generators);
      const buf = g();
      // Each generator's own decoder accepts its output and re-encodes it byte for byte.
      const kinds = [ipv4, ipv6, udp, tcp, icmp, icmpv6, ethernet, arp, ethernet] as const;
      const ns = kinds[generators.indexOf(g)]!;
      const d = (ns.decode as (b: Buffer) => Decoded & object)(buf);
      const back = (ns.encode as (h: object, p: Buffer) => Buffer)(d, d.payload);
      expect(back.toString('hex')).toBe(buf.toString('hex'));
    }
  });

  it('give a decoded object or a PacketError for 20000 random buffers and 20000 mutations', () => {
    const tally = new Map(targets.map((t) => [t.name, { decoded: 0, malformed: 0 }]));
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) {
      const buf = bytes(int(100));
      // Give some buffers a plausible first byte so that more of them get past the version checks.
      if (buf.length > 0 && bit()) buf[0] = pick([0x45, 0x46, 0x4f, 0x60, 0x50, 0x44]);
      if (buf.length > 12 && rand() < 0.25) buf[12] = pick([0x50, 0x60, 0xf0, 0x81, 0x08, 0x86]);
      check(buf, tally);
    }
    const corpus = Array.from({ length: 500 }, () => pick(generators)());
    for (let i = 0; i < 20_000; i++) check(mutate(pick(corpus)), tally);
    const elapsed = Date.now() - started;
    if (process.env.PACKET_FUZZ_DEBUG) console.log(elapsed, Object.fromEntries(tally));
    // Both outcomes happen for every decoder, or the fuzzing is not reaching it.
    for (const [name, t] of tally) {
      expect(t.decoded, `${name} decoded`).toBeGreaterThan(100);
      expect(t.malformed, `${name} malformed`).toBeGreaterThan(100);
    }
  });

  it('never reads past a view: decoding a subarray ignores the bytes around it', () => {
    for (let i = 0; i < 2000; i++) {
      const packet = pick(generators)();
      const cut = int(packet.length + 1);
      // The bytes after the cut are a valid-looking continuation that must not be seen.
      const big = Buffer.concat([bytes(7), packet, bytes(64)]);
      const view = big.subarray(7, 7 + cut);
      const alone = Buffer.from(packet.subarray(0, cut));
      for (const t of targets) {
        let a: unknown;
        let b: unknown;
        try {
          a = comparable(t.decode(view));
        } catch (err) {
          a = err instanceof PacketError ? err.message : err;
        }
        try {
          b = comparable(t.decode(alone));
        } catch (err) {
          b = err instanceof PacketError ? err.message : err;
        }
        if (!isDeepStrictEqual(a, b)) throw new Error(`${t.name}: a view of ${alone.toString('hex')} decodes differently from a copy (seed ${SEED})`);
      }
    }
  });
});

// ---- the whole-packet API and every encoder under hostile arguments ------------------------------

import * as packet from '../src/packet/index.js';

/** A value as text for a failure message, even a Proxy whose every property is null. */
function show(v: unknown): string {
  try {
    return typeof v === 'symbol' ? v.toString() : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Fails on any thrown error that is neither a PacketError nor an error with a `code` (a JS-internal error). */
function coded(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof PacketError) return;
    const code = (err as { code?: unknown } | null)?.code;
    if (err instanceof Error && typeof code === 'string' && code.length > 0) return;
    throw new Error(`${what} threw an error without a code: ${String((err as Error)?.stack ?? err)} (seed ${SEED})`);
  }
}

const HOSTILE: unknown[] = [
  null, undefined, 0, -1, 1.5, NaN, 2 ** 53, 'x', '', true, Symbol('s'), 10n, [], [null], {}, { layer: null }, { layer: 'ipv4' },
  { layer: 'tcp', flags: null }, { layer: 'ipv4', source: 5, destination: null }, { layer: 'icmpv6', type: 135, body: null },
  { layer: 'icmpv6', type: 135, body: { kind: 'neighborSolicitation', target: 7 } }, { layer: 'routing', routingType: 0, addresses: 'x' },
  { layer: 'icmp', type: 3, quote: 5 }, { layer: 'hopopts', options: [null] }, { type: 1, options: {} }, { options: [{ kind: 'sack', blocks: [null] }] },
  { vlans: [null] }, { vlans: 'x' }, { entries: [null] }, Buffer.alloc(3), new Uint8Array(50), () => 1, new Proxy({}, { get: () => null }),
];

describe('sockfd/packet under hostile arguments', () => {
  const namespaces = Object.entries(packet).filter(([, v]) => v !== null && typeof v === 'object') as [string, Record<string, unknown>][];

  it('every encode/decode/encodeBody/decodeBody/verifyChecksum of every namespace throws only coded errors', () => {
    let calls = 0;
    for (const [ns, mod] of namespaces) {
      for (const [name, fn] of Object.entries(mod)) {
        if (typeof fn !== 'function' || /^[A-Z]/.test(name) || name === 'createReader' || name === 'createWriter') continue;
        for (const a of HOSTILE) {
          for (const b of [undefined, null, 5, { source: null, destination: 1 }, Buffer.alloc(0)]) {
            coded(`${ns}.${name}(${show(a)}, ${show(b)})`, () => (fn as (...x: unknown[]) => unknown)(a, b, b));
            calls++;
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(3000);
  });

  it('build, parse, matches and the top-level functions throw only coded errors for hostile arguments', () => {
    const firsts = ['ethernet', 'ip', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'igmp', 'sll2', 'hopopts', 'routing', 'bogus', null, 3];
    for (const a of HOSTILE) {
      coded(`build(${show(a)})`, () => packet.build(a as never));
      coded(`build([${show(a)}])`, () => packet.build([a] as never));
      coded(`build([ipv4, ${show(a)}])`, () => packet.build([{ layer: 'ipv4', source: '1.2.3.4', destination: '5.6.7.8' }, a] as never));
      coded(`matches(${show(a)})`, () => packet.matches(a as never, [a] as never));
      coded(`matches([${show(a)}])`, () => packet.matches([a] as never, [a] as never));
      for (const f of firsts) coded(`parse(${show(a)}, ${show(f)})`, () => packet.parse(a as never, f as never, a as never));
      coded(`checksum(${show(a)})`, () => packet.checksum(a as never, a as never));
      coded(`pseudoHeaderChecksum(${show(a)})`, () => packet.pseudoHeaderChecksum(a as never, 6, Buffer.alloc(4)));
    }
  });

  it('parse gives layers or a PacketError for random and mutated bytes from every first layer, and with partial never throws', () => {
    const firsts = ['ethernet', 'ip', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'igmp', 'arp', 'hopopts', 'routing', 'fragment', 'ah', 'esp', 'sll2', 'vlan', 'raw'] as const;
    const corpus = Array.from({ length: 300 }, () => pick(generators)());
    let exact = 0;
    for (let i = 0; i < 6000; i++) {
      const buf = i % 2 ? mutate(pick(corpus)) : bytes(int(120));
      const first = pick(firsts);
      coded(`parse(${buf.toString('hex')}, ${first})`, () => {
        const layers = packet.parse(buf, first);
        // Whatever parses builds back to the same bytes.
        if (!packet.build(layers).equals(buf)) throw new Error(`build(parse(${buf.toString('hex')}, '${first}')) differs (seed ${SEED})`);
        exact++;
      });
      const partial = packet.parse(buf, first, { partial: true });
      if (!packet.build(partial).equals(buf)) throw new Error(`build(parse(${buf.toString('hex')}, '${first}', { partial })) differs (seed ${SEED})`);
    }
    expect(exact).toBeGreaterThan(1000);
  });

  it('pcap.decode gives a file or a PacketError for random and cut files', () => {
    const good = packet.pcap.encode([{ data: bytes(60), timestamp: 1n }, { data: bytes(10), timestamp: 2n }]);
    const classic = packet.pcap.encode([{ data: bytes(60), timestamp: 1n }], { format: 'pcap' });
    for (let i = 0; i < 3000; i++) {
      const src = pick([good, classic]);
      const b = i % 3 === 0 ? bytes(int(80)) : mutate(src);
      coded(`pcap.decode(${b.toString('hex')})`, () => packet.pcap.decode(b));
    }
  });
});
