// sockfd/packet against an independent implementation: Python's struct and socket.inet_pton/ntop.
// (a) Packets built by our encoders are parsed by test/peers/parse_packets.py, which recomputes every
//     checksum from scratch; fields and checksums must agree.
// (b) Packets built by test/peers/build_packets.py are decoded by ours; fields and checksum verdicts
//     must agree with what Python built.
import { spawnSync } from 'node:child_process';
import { BlockList } from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { arp, ethernet, icmp, icmpv6, ipv4, ipv6, tcp, udp } from '../src/packet/index.js';
import type { PseudoHeader } from '../src/packet/index.js';
import { checkFdLeaks } from './helpers/fds.js';
import { mulberry32 } from '../src/random.js';

checkFdLeaks();

const PEERS = path.join(__dirname, 'peers');

function python(script: string, args: string[], input = ''): string[] {
  const r = spawnSync('python3', [path.join(PEERS, script), ...args], { input, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`python3 ${script} failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

type Layer = Record<string, unknown> & { layer: string };

/** Buffers as hex, recursively, so that decoded objects compare with JSON from Python. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

interface Ours {
  layers: Layer[];
  /** Each layer's checksum verdict, where the layer has one. */
  valid: Record<string, boolean>;
  payload: Buffer;
}

/** Decodes `buf` with our decoders, layer by layer, as parse_packets.py does. */
function ours(top: string, buf: Buffer): Ours {
  const layers: Layer[] = [];
  const valid: Record<string, boolean> = {};
  const push = (layer: string, d: { payload: Buffer; checksumValid?: boolean }): void => {
    const { payload: _payload, checksumValid, ...fields } = d;
    layers.push({ layer, ...(plain(fields) as object) });
    if (checksumValid !== undefined) valid[layer] = checksumValid;
  };
  let next: string | undefined = top;
  let b = buf;
  let pseudo: PseudoHeader | undefined;
  while (next !== undefined) {
    const at: string = next;
    next = undefined;
    if (at === 'ether') {
      const d = ethernet.decode(b);
      push('ethernet', d);
      next = { 0x0800: 'ipv4', 0x86dd: 'ipv6', 0x0806: 'arp' }[d.etherType];
      b = d.payload;
    } else if (at === 'arp') {
      const d = arp.decode(b);
      push('arp', d);
      b = d.payload;
    } else if (at === 'ipv4' || at === 'ipv6') {
      const d = at === 'ipv4' ? ipv4.decode(b) : ipv6.decode(b);
      push(at, d);
      pseudo = d;
      next = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' }['protocol' in d ? d.protocol : d.nextHeader];
      b = d.payload;
    } else {
      const decoder = { icmp: (x: Buffer, _pseudo?: PseudoHeader) => icmp.decode(x), icmpv6: icmpv6.decode, udp: udp.decode, tcp: tcp.decode }[at]!;
      const d = decoder(b, pseudo!);
      push(at, d);
      b = d.payload;
    }
  }
  return { layers, valid, payload: b };
}

// ---- (a) our encoders, Python's parser ---------------------------------------------------------

const rand = mulberry32(0xc0ffee);
const int = (n: number): number => Math.floor(rand() * n);
const bit = (): boolean => rand() < 0.5;
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
const v4 = (): string => `${int(256)}.${int(256)}.${int(256)}.${int(256)}`;
/** IPv6 text in the full, uncompressed, upper-case form (the parser's job), with runs of zeros. */
const v6 = (): string => {
  const b = bytes(16);
  const from = int(8);
  b.fill(0, from * 2, (from + int(9 - from)) * 2);
  if (rand() < 0.2) b.fill(0, 0, 10).fill(0xff, 10, 12); // IPv4-mapped
  return Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i).toString(16).toUpperCase().padStart(4, '0')).join(':');
};
const mac = (): string => Array.from(bytes(6), (x) => x.toString(16).padStart(2, '0')).join(':');

/** What we built: the top layer, the bytes, and per layer the fields we gave the encoder. */
interface Built {
  top: string;
  bytes: Buffer;
  given: Layer[];
  /** Layers whose checksum we set to a wrong value on purpose. */
  bad?: string;
}

const SYN_OPTIONS: tcp.Option[] = [
  { kind: 'mss', value: 1460 },
  { kind: 'sackPermitted' },
  { kind: 'timestamps', value: 0x11223344, echoReply: 0 },
  { kind: 'nop' },
  { kind: 'windowScale', shift: 7 },
];

function transport4(proto: number, pseudo: PseudoHeader, v6net: boolean): [Buffer, Layer[]] {
  const data = bytes(int(40));
  if (proto === 17) {
    const h: udp.Header = { sourcePort: int(65536), destinationPort: int(65536) };
    return [udp.encode(h, data, pseudo), [{ layer: 'udp', ...h }]];
  }
  if (proto === 6) {
    const syn = bit();
    const h: tcp.Header = {
      sourcePort: int(65536),
      destinationPort: int(65536),
      sequenceNumber: int(2 ** 32),
      acknowledgmentNumber: syn ? 0 : int(2 ** 32),
      flags: syn ? { syn: true } : { ack: true, psh: bit(), fin: bit(), urg: bit(), ece: bit(), cwr: bit(), ns: bit() },
      window: int(65536),
      urgentPointer: int(65536),
      options: syn
        ? SYN_OPTIONS
        : [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', value: int(2 ** 32), echoReply: int(2 ** 32) }, { kind: 'sack', blocks: [{ left: int(2 ** 32), right: int(2 ** 32) }] }, { kind: 30, data: bytes(4) }],
    };
    return [tcp.encode(h, syn ? undefined : data, pseudo), [{ layer: 'tcp', ...(plain(h) as object) }]];
  }
  if (v6net) {
    const h: icmpv6.Header = pick<() => icmpv6.Header>([
      () => ({ type: pick([128, 129]), identifier: int(65536), sequence: int(65536) }),
      () => ({ type: 2, mtu: 1280 + int(10000) }),
      () => ({ type: 4, code: 1, pointer: int(1000) }),
    ])();
    return [icmpv6.encode(h, data, pseudo), [{ layer: 'icmpv6', ...h }]];
  }
  const h: icmp.Header = pick<() => icmp.Header>([
    () => ({ type: pick([0, 8]), identifier: int(65536), sequence: int(65536) }),
    () => ({ type: 3, code: 4, mtu: int(65536) }),
    () => ({ type: 5, code: 1, gateway: v4() }),
    () => ({ type: 12, pointer: int(256) }),
  ])();
  return [icmp.encode(h, data), [{ layer: 'icmp', ...h }]];
}

function buildIPv4(proto: number): Built {
  const pseudo = { source: v4(), destination: v4() };
  const [inner, layers] = transport4(proto, pseudo, false);
  const options: ipv4.Option[] = bit()
    ? []
    : [{ kind: 'nop' }, { kind: 'routerAlert', value: 0 }, { kind: 'recordRoute', pointer: 4, addresses: [v4(), '0.0.0.0'] }];
  const h: ipv4.Header = {
    dscp: int(64),
    ecn: int(4),
    identification: int(65536),
    dontFragment: bit(),
    ttl: 1 + int(255),
    protocol: proto,
    ...pseudo,
    options,
  };
  return { top: 'ipv4', bytes: ipv4.encode(h, inner), given: [{ layer: 'ipv4', ...h }, ...layers] };
}

function buildIPv6(proto: number): Built {
  const pseudo = { source: v6(), destination: v6() };
  const [inner, layers] = transport4(proto, pseudo, true);
  const h: ipv6.Header = { trafficClass: int(256), flowLabel: int(1 << 20), nextHeader: proto, hopLimit: int(256), ...pseudo };
  return { top: 'ipv6', bytes: ipv6.encode(h, inner), given: [{ layer: 'ipv6', ...h }, ...layers] };
}

function buildArp(): Built {
  const a: arp.Header = { operation: arp.REQUEST, senderHardwareAddress: mac(), senderProtocolAddress: v4(), targetProtocolAddress: v4() };
  const e: ethernet.Header = { destination: ethernet.BROADCAST, source: a.senderHardwareAddress, etherType: ethernet.ETHERTYPE_ARP };
  return { top: 'ether', bytes: ethernet.encode(e, arp.encode(a)), given: [{ layer: 'ethernet', ...e }, { layer: 'arp', ...a }] };
}

function buildVlanFrame(): Built {
  const inner = bit() ? buildIPv4(pick([1, 6, 17])) : buildIPv6(pick([6, 17, 58]));
  const e: ethernet.Header = {
    destination: mac(),
    source: mac(),
    vlans: Array.from({ length: int(3) }, () => ({ tpid: pick([0x8100, 0x88a8]), priority: int(8), dei: bit(), id: int(4096) })),
    etherType: inner.top === 'ipv4' ? ethernet.ETHERTYPE_IPV4 : ethernet.ETHERTYPE_IPV6,
  };
  return { top: 'ether', bytes: ethernet.encode(e, inner.bytes), given: [{ layer: 'ethernet', ...e }, ...inner.given] };
}

function buildBadChecksums(): Built {
  const pseudo = { source: v4(), destination: v4() };
  const seg = udp.encode({ sourcePort: 1, destinationPort: 2, checksum: 0xbeef }, Buffer.from('bad'), pseudo);
  const h: ipv4.Header = { protocol: 17, ...pseudo, checksum: 0x1234 };
  return { top: 'ipv4', bytes: ipv4.encode(h, seg), given: [{ layer: 'ipv4', ...h }, { layer: 'udp', checksum: 0xbeef }], bad: 'ipv4,udp' };
}

/** An IPv6 address text equal to another as an address, by Node's own parser (libuv's inet_pton). */
function sameIPv6(a: string, b: string): boolean {
  const list = new BlockList();
  list.addAddress(a, 'ipv6');
  return list.check(b, 'ipv6');
}

describe('cross-check with Python (struct, socket.inet_ntop)', () => {
  it('(a) Python parses what our encoders build: fields and recomputed checksums agree', () => {
    const required: Built[] = [
      buildIPv4(17), // IPv4 + UDP with payload
      (() => {
        // IPv4 + TCP SYN with MSS, SACK permitted, timestamps and window scale.
        const pseudo = { source: '192.0.2.10', destination: '198.51.100.20' };
        const h: tcp.Header = { sourcePort: 43210, destinationPort: 443, sequenceNumber: 0x01020304, flags: { syn: true }, window: 64240, options: SYN_OPTIONS };
        const ip: ipv4.Header = { protocol: 6, identification: 0x4321, dontFragment: true, ...pseudo };
        return { top: 'ipv4', bytes: ipv4.encode(ip, tcp.encode(h, undefined, pseudo)), given: [{ layer: 'ipv4', ...ip }, { layer: 'tcp', ...(plain(h) as object) }] };
      })(),
      (() => {
        const pseudo = { source: '10.0.0.1', destination: '10.0.0.2' };
        const h: icmp.Header = { type: icmp.ECHO_REQUEST, identifier: 0x0102, sequence: 3 };
        const ip: ipv4.Header = { protocol: 1, ...pseudo };
        return { top: 'ipv4', bytes: ipv4.encode(ip, icmp.encode(h, Buffer.from('ping payload'))), given: [{ layer: 'ipv4', ...ip }, { layer: 'icmp', ...h }] };
      })(),
      buildIPv6(17), // IPv6 + UDP
      (() => {
        const pseudo = { source: 'fe80::1', destination: 'ff02::1' };
        const h: icmpv6.Header = { type: icmpv6.ECHO_REQUEST, identifier: 7, sequence: 8 };
        const ip: ipv6.Header = { nextHeader: 58, hopLimit: 255, ...pseudo };
        return { top: 'ipv6', bytes: ipv6.encode(ip, icmpv6.encode(h, Buffer.from('echo'), pseudo)), given: [{ layer: 'ipv6', ...ip }, { layer: 'icmpv6', ...h }] };
      })(),
      buildArp(), // Ethernet + ARP request
      buildBadChecksums(),
    ];
    const random: Built[] = Array.from({ length: 400 }, () =>
      pick<() => Built>([
        () => buildIPv4(pick([1, 6, 17])),
        () => buildIPv6(pick([6, 17, 58])),
        buildArp,
        buildVlanFrame,
      ])(),
    );
    const all = [...required, ...random];
    const out = python('parse_packets.py', [], all.map((p) => `${p.top} ${p.bytes.toString('hex')}\n`).join(''));
    expect(out.length).toBe(all.length);
    all.forEach((p, i) => {
      const parsed = JSON.parse(out[i]!) as { layers?: Layer[]; payload?: string; error?: string };
      const where = `packet ${i} (${p.top} ${p.bytes.toString('hex')})`;
      expect(parsed.error, where).toBeUndefined();
      const theirs = parsed.layers!;
      // Every checksum we computed is the one Python computes; the ones we set by hand are not.
      for (const layer of theirs) {
        if (!('checksumComputed' in layer)) continue;
        const bad = p.bad?.split(',').includes(layer.layer) ?? false;
        expect(layer.checksum === layer.checksumComputed, `${where}: ${layer.layer} checksum`).toBe(!bad);
        delete (layer as Record<string, unknown>).checksumComputed;
      }
      // Python reads back every field we gave the encoder (IPv6 text compared as addresses).
      expect(theirs.map((l) => l.layer), where).toEqual(p.given.map((l) => l.layer));
      p.given.forEach((given, n) => {
        const got = theirs[n]!;
        const { source, destination, ...rest } = plain(given) as Layer;
        if (given.layer === 'ipv6') {
          expect(sameIPv6(source as string, got.source as string), `${where}: ipv6 source ${source} vs ${String(got.source)}`).toBe(true);
          expect(sameIPv6(destination as string, got.destination as string), `${where}: ipv6 destination`).toBe(true);
        } else if (source !== undefined) {
          expect({ source, destination }, where).toEqual({ source: got.source, destination: got.destination });
        }
        expect(got, where).toMatchObject(rest);
      });
      // And our decoder agrees with Python's parser on every field and on the payload.
      const mine = ours(p.top, p.bytes);
      expect(mine.layers, where).toEqual(theirs);
      expect(mine.payload.toString('hex'), where).toBe(parsed.payload);
    });
  });

  it('(b) our decoders read what Python builds: fields and checksum verdicts agree', () => {
    const rows = python('build_packets.py', ['20240601', '600']).map(
      (l) => JSON.parse(l) as { top: string; hex: string; layers: Layer[]; payload: string; corrupt: string | null },
    );
    expect(rows.length).toBe(600);
    const corrupted = new Set<string>();
    for (const [i, row] of rows.entries()) {
      const where = `packet ${i} (${row.top} ${row.hex})`;
      const mine = ours(row.top, Buffer.from(row.hex, 'hex'));
      expect(mine.layers, where).toEqual(row.layers);
      expect(mine.payload.toString('hex'), where).toBe(row.payload);
      for (const [layer, valid] of Object.entries(mine.valid)) {
        expect(valid, `${where}: ${layer} checksumValid`).toBe(layer !== row.corrupt);
      }
      if (row.corrupt !== null) corrupted.add(row.corrupt);
    }
    // The corpus did exercise broken checksums of every kind.
    expect([...corrupted].sort()).toEqual(['icmp', 'icmpv6', 'ipv4', 'tcp', 'udp']);
  });
});

// ---- (c), (d): scapy (Debian's python3-scapy, run by /usr/bin/python3) on the whole-packet API ----------

import { build, parse, type Layer as PacketLayer } from '../src/packet/index.js';

const SCAPY = '/usr/bin/python3';
const noScapy = spawnSync(SCAPY, ['-c', 'import scapy'], { encoding: 'utf8' }).status === 0 ? null : 'scapy is not importable by /usr/bin/python3 (apt-get install python3-scapy)';
if (noScapy) console.log('skipping scapy cross-checks:', noScapy);

function scapy(args: string[], input = ''): string[] {
  const r = spawnSync(SCAPY, [path.join(PEERS, 'scapy_layers.py'), ...args], { input, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`scapy_layers.py failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Packets of the new layers, built by build() with every length and checksum left to it. */
function newLayerPackets(): { top: string; layers: PacketLayer[]; names: string[] }[] {
  const v6 = { source: '2001:db8::1', destination: '2001:db8::2' };
  const probe = build([{ layer: 'ipv4', source: '10.0.0.1', destination: '10.9.9.9', ttl: 1 }, { layer: 'udp', sourcePort: 40000, destinationPort: 33434 }, { layer: 'raw', data: Buffer.alloc(972) }]);
  const probe6 = build([{ layer: 'ipv6', ...v6, hopLimit: 1 }, { layer: 'udp', sourcePort: 40000, destinationPort: 33434 }, { layer: 'raw', data: Buffer.alloc(1400) }]);
  return [
    { top: 'ipv6', layers: [{ layer: 'ipv6', ...v6 }, { layer: 'hopopts', options: [{ kind: 'routerAlert' }] }, { layer: 'udp', sourcePort: 1, destinationPort: 2 }, { layer: 'raw', data: Buffer.from('hbh') }], names: ['IPv6', 'IPv6ExtHdrHopByHop', 'UDP', 'Raw'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', ...v6 }, { layer: 'routing', routingType: 0, addresses: ['2001:db8::10', '2001:db8::99'] }, { layer: 'udp', sourcePort: 1, destinationPort: 2 }, { layer: 'raw', data: Buffer.from('rh0') }], names: ['IPv6', 'IPv6ExtHdrRouting', 'UDP', 'Raw'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', ...v6 }, { layer: 'routing', routingType: 4, addresses: ['2001:db8::f', '2001:db8::2'] }, { layer: 'tcp', sourcePort: 1, destinationPort: 2, flags: { syn: true } }], names: ['IPv6', 'IPv6ExtHdrSegmentRouting', 'TCP'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', ...v6 }, { layer: 'dstopts', options: [{ kind: 0x3e, data: Buffer.from('xyz') }] }, { layer: 'fragment', identification: 7 }, { layer: 'icmpv6', type: 128, identifier: 1, sequence: 2 }], names: ['IPv6', 'IPv6ExtHdrDestOpt', 'IPv6ExtHdrFragment', 'ICMPv6EchoRequest'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::1:ff00:2', hopLimit: 255 }, { layer: 'icmpv6', type: 135, body: { kind: 'neighborSolicitation', target: 'fe80::2', options: [{ kind: 'sourceLinkLayerAddress', address: '02:00:00:00:00:01' }] } }], names: ['IPv6', 'ICMPv6ND_NS', 'ICMPv6NDOptSrcLLAddr'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: 'fe80::2', destination: 'fe80::1', hopLimit: 255 }, { layer: 'icmpv6', type: 136, body: { kind: 'neighborAdvertisement', solicited: true, override: true, target: 'fe80::2', options: [{ kind: 'targetLinkLayerAddress', address: '02:00:00:00:00:02' }] } }], names: ['IPv6', 'ICMPv6ND_NA', 'ICMPv6NDOptDstLLAddr'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::1', hopLimit: 255 }, { layer: 'icmpv6', type: 134, body: { kind: 'routerAdvertisement', curHopLimit: 64, managed: true, routerLifetime: 1800, options: [{ kind: 'prefixInformation', prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: '2001:db8:1::' }, { kind: 'mtu', mtu: 1500 }] } }], names: ['IPv6', 'ICMPv6ND_RA', 'ICMPv6NDOptPrefixInfo', 'ICMPv6NDOptMTU'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::16', hopLimit: 1 }, { layer: 'hopopts', options: [{ kind: 'routerAlert' }] }, { layer: 'icmpv6', type: 143, body: { kind: 'mldv2Report', records: [{ type: 4, multicastAddress: 'ff0e::1', sources: ['2001:db8::5'] }] } }], names: ['IPv6', 'IPv6ExtHdrHopByHop', 'ICMPv6MLReport2'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::1', hopLimit: 1 }, { layer: 'hopopts', options: [{ kind: 'routerAlert' }] }, { layer: 'icmpv6', type: 130, body: { kind: 'mldQuery', maxResponseCode: 10000, multicastAddress: '::' } }], names: ['IPv6', 'IPv6ExtHdrHopByHop', 'ICMPv6MLQuery'] },
    { top: 'ipv4', layers: [{ layer: 'ipv4', source: '10.0.0.1', destination: '224.0.0.22', ttl: 1 }, { layer: 'igmp', type: 0x16, group: '239.1.2.3' }], names: ['IP', 'IGMP'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::1', hopLimit: 1 }, { layer: 'hopopts', options: [{ kind: 'routerAlert' }] }, { layer: 'icmpv6', type: 130, body: { kind: 'mldQuery', maxResponseCode: 1000, multicastAddress: 'ff0e::1', suppress: true, qrv: 2, qqic: 125, sources: ['2001:db8::5', '2001:db8::6'] } }], names: ['IPv6', 'IPv6ExtHdrHopByHop', 'ICMPv6MLQuery2'] },
    { top: 'ipv4', layers: [{ layer: 'ipv4', source: '10.0.0.1', destination: '224.0.0.1', ttl: 1 }, { layer: 'igmp', type: 0x11, maxResponseCode: 100, group: '239.1.2.3', suppress: true, qrv: 2, qqic: 125, sources: ['10.0.0.9', '10.0.0.10'] }], names: ['IP', 'IGMPv3', 'IGMPv3mq'] },
    { top: 'ipv4', layers: [{ layer: 'ipv4', source: '10.0.0.1', destination: '224.0.0.22', ttl: 1 }, { layer: 'igmp', type: 0x22, records: [{ type: 4, multicastAddress: '239.1.2.3', sources: ['10.0.0.9'] }] }], names: ['IP', 'IGMPv3', 'IGMPv3mr'] },
    { top: 'ipv4', layers: [{ layer: 'ipv4', source: '10.0.0.254', destination: '10.0.0.1' }, { layer: 'icmp', type: 11, quote: parse(probe.subarray(0, 28), 'ipv4', { partial: true }) }], names: ['IP', 'ICMP', 'IPerror', 'UDPerror'] },
    { top: 'ipv4', layers: [{ layer: 'ipv4', source: '10.0.0.254', destination: '10.0.0.1' }, { layer: 'icmp', type: 3, code: 3, quote: parse(probe.subarray(0, 548), 'ipv4', { partial: true }) }], names: ['IP', 'ICMP', 'IPerror', 'UDPerror', 'Raw'] },
    { top: 'ipv6', layers: [{ layer: 'ipv6', source: '2001:db8::fe', destination: v6.source }, { layer: 'icmpv6', type: 3, quote: parse(probe6.subarray(0, 1232), 'ipv6', { partial: true }) }], names: ['IPv6', 'ICMPv6TimeExceeded', 'IPerror6', 'UDPerror', 'Raw'] },
  ];
}

describe.skipIf(noScapy !== null)('cross-check with scapy', () => {
  it('(c) scapy dissects what build() makes — extension headers, ND, MLD, IGMP, truncated quotes — and recomputing every length and checksum itself gets the same bytes', () => {
    const all = newLayerPackets();
    const bytes = all.map((p) => build(p.layers));
    const out = scapy(['check'], all.map((p, i) => `${p.top} ${bytes[i]!.toString('hex')}\n`).join(''));
    expect(out).toHaveLength(all.length);
    out.forEach((line, i) => {
      const got = JSON.parse(line) as { layers: string[]; rebuilt: string };
      expect(got.layers, all[i]!.names.join('/')).toEqual(all[i]!.names);
      expect(got.rebuilt, all[i]!.names.join('/')).toBe(bytes[i]!.toString('hex'));
    });
  });

  it('(d) parse() reads what scapy builds: the typed fields scapy set, valid checksums, and build(parse(b)) === b', () => {
    const rows = scapy(['build', '7', '400']).map((l) => JSON.parse(l) as { top: 'ipv4' | 'ipv6'; hex: string; expect: Record<string, unknown> });
    expect(rows).toHaveLength(400);
    const kinds = new Set<string>();
    for (const row of rows) {
      const b = Buffer.from(row.hex, 'hex');
      const layers = parse(b, row.top);
      const where = `${row.top} ${row.hex}`;
      expect(build(layers).toString('hex'), where).toBe(row.hex);
      for (const l of layers) if ('checksumValid' in l && !(l as { truncated?: boolean }).truncated) expect(l.checksumValid, `${where}: ${l.layer}`).toBe(true);
      const e = row.expect;
      const ic6 = layers.find((l) => l.layer === 'icmpv6');
      if (typeof e.kind === 'string') {
        kinds.add(e.kind);
        expect(ic6 && 'body' in ic6 ? ic6.body : undefined, where).toMatchObject(e);
      } else if (typeof e.type === 'number') {
        kinds.add(`igmp ${e.type}`);
        const igmpLayer = layers.find((l) => l.layer === 'igmp');
        expect(igmpLayer, where).toMatchObject(e);
      } else if (e.routing !== undefined) {
        kinds.add('routing');
        expect(layers.find((l) => l.layer === 'routing'), where).toMatchObject(e.routing as object);
      } else if (e.fragment !== undefined) {
        kinds.add('fragment');
        expect(layers.find((l) => l.layer === 'fragment'), where).toMatchObject(e.fragment as object);
      } else {
        kinds.add('quote');
        const q = e.quote as { totalLength: number; sourcePort: number; destinationPort: number; cut: number };
        const err = layers[1] as { quote?: PacketLayer[] };
        const [ip, u] = err.quote!;
        expect(ip, where).toMatchObject(row.top === 'ipv4' ? { totalLength: q.totalLength } : { payloadLength: q.totalLength - 40 });
        expect(u, where).toMatchObject({ sourcePort: q.sourcePort, destinationPort: q.destinationPort });
        expect((ip as { truncated?: boolean }).truncated, where).toBe(q.cut < q.totalLength ? true : undefined);
      }
    }
    expect(kinds.size).toBeGreaterThanOrEqual(14);
  });
});
