// sockfd/packet's whole-packet API: build(layers) fills what the neighbours determine and writes what
// is given verbatim; parse(bytes) gives the same layers back, so build(parse(b)) equals b; IPv6
// extension headers, ICMP error quotes (truncated ones too), Neighbor Discovery, MLD and IGMP typed;
// matches() pairs answers with probes; fragment.split/reassemble.
import { describe, expect, it } from 'vitest';
import {
  PacketError,
  build,
  fragment,
  hopopts,
  igmp,
  ipv4,
  ipv6,
  matches,
  mld,
  parse,
  pseudoHeaderChecksum,
  routing,
  tcp,
  udp,
  type Layer,
} from '../src/packet/index.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const V4 = { source: '192.0.2.1', destination: '198.51.100.7' };
const V6 = { source: '2001:db8::1', destination: '2001:db8::2' };
const MAC = { destination: '02:00:00:00:00:02', source: '02:00:00:00:00:01' };
const data = (s: string): Buffer => Buffer.from(s);
const find = <K extends Layer['layer']>(layers: Layer[], kind: K): Extract<Layer, { layer: K }> => {
  const l = layers.find((x) => x.layer === kind);
  if (l === undefined) throw new Error(`no ${kind} layer in ${layers.map((x) => x.layer).join('/')}`);
  return l as Extract<Layer, { layer: K }>;
};

describe('build', () => {
  it('fills EtherType, protocol, lengths and checksums from the neighbouring layers', () => {
    const b = build([{ layer: 'ethernet', ...MAC }, { layer: 'ipv4', ...V4 }, { layer: 'udp', sourcePort: 1000, destinationPort: 53 }, { layer: 'raw', data: data('query') }]);
    expect(b.readUInt16BE(12)).toBe(0x0800);
    const ip = ipv4.decode(b.subarray(14));
    expect(ip).toMatchObject({ protocol: 17, totalLength: 20 + 8 + 5, ihl: 5, checksumValid: true });
    expect(udp.decode(ip.payload, V4)).toMatchObject({ length: 13, checksumValid: true });
  });

  it('gives the same bytes as the per-layer encoders', () => {
    const seg = tcp.encode({ sourcePort: 4000, destinationPort: 80, sequenceNumber: 7, flags: { syn: true }, options: [{ kind: 'mss', value: 1460 }] }, undefined, V4);
    const expected = ipv4.encode({ protocol: 6, ...V4, ttl: 3 }, seg);
    const got = build([{ layer: 'ipv4', ...V4, ttl: 3 }, { layer: 'tcp', sourcePort: 4000, destinationPort: 80, sequenceNumber: 7, flags: { syn: true }, options: [{ kind: 'mss', value: 1460 }] }]);
    expect(got.toString('hex')).toBe(expected.toString('hex'));
  });

  it('writes given lengths, protocol numbers and checksums verbatim, even wrong ones', () => {
    const b = build([{ layer: 'ipv4', ...V4, protocol: 99, totalLength: 9999, checksum: 0x1234 }, { layer: 'udp', sourcePort: 1, destinationPort: 2, length: 3, checksum: 0xbeef }]);
    expect(b.readUInt16BE(2)).toBe(9999);
    expect(b[9]).toBe(99);
    expect(b.readUInt16BE(10)).toBe(0x1234);
    expect(b.readUInt16BE(24)).toBe(3);
    expect(b.readUInt16BE(26)).toBe(0xbeef);
  });

  it('says 59 (no next header) after IPv6 when nothing follows, and chains extension headers', () => {
    expect(build([{ layer: 'ipv6', ...V6 }])[6]).toBe(59);
    const b = build([{ layer: 'ipv6', ...V6 }, { layer: 'hopopts', options: [{ kind: 'routerAlert' }] }, { layer: 'dstopts' }, { layer: 'fragment', identification: 9 }, { layer: 'icmpv6', type: 128, identifier: 1, sequence: 2 }]);
    const layers = parse(b, 'ipv6');
    expect(layers.map((l) => l.layer)).toEqual(['ipv6', 'hopopts', 'dstopts', 'fragment', 'icmpv6']);
    expect([find(layers, 'ipv6').nextHeader, find(layers, 'hopopts').nextHeader, find(layers, 'dstopts').nextHeader, find(layers, 'fragment').nextHeader]).toEqual([0, 60, 44, 58]);
    expect(find(layers, 'icmpv6').checksumValid).toBe(true);
  });

  it('sums UDP under the final destination of a routing header with segments left (RFC 8200 8.1)', () => {
    const hops = ['2001:db8::10', '2001:db8::99'];
    const b = build([{ layer: 'ipv6', ...V6 }, { layer: 'routing', routingType: 0, addresses: hops }, { layer: 'udp', sourcePort: 5, destinationPort: 6 }, { layer: 'raw', data: data('x') }]);
    const dgram = routing.decode(ipv6.decode(b).payload).payload;
    expect(pseudoHeaderChecksum({ source: V6.source, destination: '2001:db8::99' }, 17, dgram)).toBe(0);
    expect(pseudoHeaderChecksum(V6, 17, dgram)).not.toBe(0);
    expect(find(parse(b, 'ipv6'), 'udp').checksumValid).toBe(true);
    // With no segments left the IPv6 destination is the final one.
    const done = build([{ layer: 'ipv6', ...V6 }, { layer: 'routing', routingType: 0, segmentsLeft: 0, addresses: hops }, { layer: 'udp', sourcePort: 5, destinationPort: 6 }]);
    expect(pseudoHeaderChecksum(V6, 17, routing.decode(ipv6.decode(done).payload).payload)).toBe(0);
  });

  it('uses Segment List[0] as the final destination of a segment routing header', () => {
    const b = build([{ layer: 'ipv6', ...V6 }, { layer: 'routing', routingType: 4, addresses: ['2001:db8::f', '2001:db8::2'] }, { layer: 'tcp', sourcePort: 1, destinationPort: 2 }]);
    const srh = routing.decode(ipv6.decode(b).payload);
    expect(srh).toMatchObject({ routingType: 4, segmentsLeft: 1, lastEntry: 1, addresses: ['2001:db8::f', '2001:db8::2'] });
    expect(tcp.verifyChecksum(srh.payload, { source: V6.source, destination: '2001:db8::f' })).toBe(true);
  });

  it('writes 802.1Q tags as vlan layers, the TPID being the previous EtherType', () => {
    const b = build([{ layer: 'ethernet', ...MAC, etherType: 0x88a8 }, { layer: 'vlan', id: 100 }, { layer: 'vlan', id: 200, priority: 5 }, { layer: 'arp', operation: 1, senderHardwareAddress: MAC.source, senderProtocolAddress: '10.0.0.1', targetProtocolAddress: '10.0.0.2' }]);
    expect(b.subarray(12, 22).toString('hex')).toBe('88a8' + '0064' + '8100' + 'a0c8' + '0806');
  });

  it('refuses null, non-arrays, unknown tags and unfillable fields with Node-style errors naming the field', () => {
    const cases: [() => unknown, string, string][] = [
      [() => build(null as never), 'ERR_INVALID_ARG_TYPE', '"layers"'],
      [() => build([null] as never), 'ERR_INVALID_ARG_TYPE', '"layers[0]"'],
      [() => build([{ layer: 'ipx' }] as never), 'ERR_INVALID_ARG_VALUE', '"layers[0].layer"'],
      [() => build([{ layer: 'ipv4', ...V4 }, { layer: 'raw', data: data('?') }]), 'ERR_INVALID_ARG_TYPE', '"layers[0].protocol"'],
      [() => build([{ layer: 'ipv4', destination: '10.0.0.1' }, { layer: 'udp', sourcePort: 1, destinationPort: 2 }]), 'ERR_INVALID_ARG_TYPE', '"layers[0].source"'],
      [() => build([{ layer: 'ipv4', ...V4 }, { layer: 'udp', sourcePort: 70000, destinationPort: 2 }]), 'ERR_OUT_OF_RANGE', '"layers[1].sourcePort"'],
      [() => build([{ layer: 'ipv4', ...V4 }, { layer: 'icmp', type: 11, quote: [{ layer: 'ipv4', ...V4, protocol: 17, ttl: 300 }] }]), 'ERR_OUT_OF_RANGE', '"layers[1].quote[0].ttl"'],
    ];
    for (const [fn, code, name] of cases) {
      const err = thrown(fn) as Error & { code: string };
      expect(err.code, err.message).toBe(code);
      expect(err.message).toContain(name);
    }
  });
});

/** Random packets of every kind, valid and deliberately broken. */
function corpus(): Buffer[] {
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));
  const out: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const payload: Layer[] = rnd(3) ? [{ layer: 'raw', data: bytes(rnd(40) + 1) }] : [];
    const transport: Layer[] = [
      [{ layer: 'udp', sourcePort: rnd(65536), destinationPort: rnd(65536) }, ...payload],
      [{ layer: 'tcp', sourcePort: rnd(65536), destinationPort: rnd(65536), sequenceNumber: rnd(2 ** 30), flags: { syn: true }, options: [{ kind: 'mss', value: 1400 }, { kind: 'eol' }] }, ...payload],
      [{ layer: 'udp', sourcePort: 1, destinationPort: 2, checksum: rnd(65536) || 1 }, ...payload], // a wrong checksum
    ][rnd(3)] as Layer[];
    const v6 = rnd(2) === 1;
    const ip: Layer[] = v6
      ? [{ layer: 'ipv6', ...V6, hopLimit: rnd(256) }, ...([[], [{ layer: 'hopopts' }], [{ layer: 'routing', routingType: 0, addresses: ['2001:db8::9'] }], [{ layer: 'dstopts', options: [{ kind: 0xee, data: bytes(3) }] }]][rnd(4)] as Layer[])]
      : [{ layer: 'ipv4', ...V4, identification: rnd(65536), options: rnd(2) ? [{ kind: 'routerAlert' }] : [] }];
    const icmpish: Layer[] = v6
      ? [{ layer: 'icmpv6', type: 128, identifier: rnd(65536), sequence: rnd(65536) }, { layer: 'raw', data: bytes(8) }]
      : [{ layer: 'icmp', type: 3, code: 3, quote: [{ layer: 'ipv4', ...V4 }, { layer: 'udp', sourcePort: 9, destinationPort: 10 }, { layer: 'raw', data: bytes(30) }] }];
    const packet = build([{ layer: 'ethernet', ...MAC }, ...ip, ...(rnd(4) === 0 ? icmpish : transport)]);
    out.push(packet);
    // Broken on purpose: a wrong IP checksum, Ethernet padding after a short packet, a UDP length shorter than the datagram.
    const broken = Buffer.concat([packet, Buffer.alloc(rnd(20))]);
    if (!v6) broken.writeUInt16BE(rnd(65536), 14 + 10);
    out.push(broken);
  }
  return out;
}

describe('parse', () => {
  it('round-trips: build(parse(b)) gives back b, byte for byte, for 600 packets (broken ones included)', () => {
    for (const b of corpus()) expect(build(parse(b)).toString('hex')).toBe(b.toString('hex'));
  });

  it('round-trips non-zero bytes after an end-of-options option, lying lengths and odd padding', () => {
    const ip = Buffer.from(build([{ layer: 'ipv4', ...V4, options: [{ kind: 'nop' }, { kind: 'eol' }, { kind: 'nop' }, { kind: 'nop' }] }, { layer: 'udp', sourcePort: 1, destinationPort: 2 }]));
    ip[23] = 0x77; // after the EOL: not an option, but part of the header
    const layers = parse(ip, 'ipv4');
    expect(find(layers, 'ipv4').optionsPadding).toEqual(Buffer.from([1, 0x77]));
    expect(build(layers).equals(ip)).toBe(true);
    const short = Buffer.concat([build([{ layer: 'ipv4', ...V4 }, { layer: 'udp', sourcePort: 1, destinationPort: 2, length: 10 }, { layer: 'raw', data: data('abcdef') }])]);
    const l2 = parse(short, 'ipv4');
    expect(find(l2, 'udp').padding).toEqual(data('cdef'));
    expect(build(l2).equals(short)).toBe(true);
  });

  it("picks IPv4 or IPv6 by the version nibble for 'ip'", () => {
    expect(parse(build([{ layer: 'ipv6', ...V6 }]), 'ip')[0]!.layer).toBe('ipv6');
    expect(parse(build([{ layer: 'ipv4', ...V4, protocol: 253 }]), 'ip')[0]!.layer).toBe('ipv4');
  });

  it('throws a PacketError for malformed bytes, and with partial keeps them as a raw layer', () => {
    const bad = Buffer.from(build([{ layer: 'ipv4', ...V4 }, { layer: 'tcp', sourcePort: 1, destinationPort: 2 }]));
    bad[32] = 0x20; // TCP data offset 2
    expect(thrown(() => parse(bad, 'ipv4'))).toBeInstanceOf(PacketError);
    const layers = parse(bad, 'ipv4', { partial: true });
    expect(layers.map((l) => l.layer)).toEqual(['ipv4', 'raw']);
    expect(build(layers).equals(bad)).toBe(true);
  });

  it('narrows on the layer tag', () => {
    const [, t] = parse(build([{ layer: 'ipv4', ...V4 }, { layer: 'tcp', sourcePort: 1, destinationPort: 2, flags: { syn: true, ack: true } }]), 'ipv4');
    if (t?.layer !== 'tcp') throw new Error('not tcp');
    expect(t.flags?.syn && t.flags.ack).toBe(true); // t is a TcpLayer here
  });
});

describe('ICMP error quotes', () => {
  const probe = build([{ layer: 'ipv4', source: '10.0.0.1', destination: '10.9.9.9', ttl: 1, identification: 77 }, { layer: 'tcp', sourcePort: 40000, destinationPort: 443, sequenceNumber: 0x01020304, flags: { syn: true }, options: [{ kind: 'mss', value: 1460 }, { kind: 'sackPermitted' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', value: 1, echoReply: 0 }, { kind: 'nop' }, { kind: 'windowScale', shift: 7 }] }]);
  const error = (quoted: Buffer): Buffer => build([{ layer: 'ipv4', source: '10.0.0.254', destination: '10.0.0.1' }, { layer: 'icmp', type: 11, code: 0 }, { layer: 'raw', data: quoted }]);

  it('decodes the RFC 792 minimum quote (IP header + 8 bytes) as truncated layers, never guessing', () => {
    const layers = parse(error(probe.subarray(0, 28)), 'ipv4');
    const q = find(layers, 'icmp').quote!;
    expect(q.map((l) => l.layer)).toEqual(['ipv4', 'tcp']);
    expect(q[0]).toMatchObject({ totalLength: 64, identification: 77, truncated: true, missing: ["payload"], missingBytes: 36, checksumValid: true });
    const t = find(q, 'tcp');
    expect(t).toMatchObject({ sourcePort: 40000, destinationPort: 443, sequenceNumber: 0x01020304, truncated: true, missingBytes: 36 });
    expect(t.missing).toEqual(['acknowledgmentNumber', 'dataOffset', 'reserved', 'flags', 'window', 'checksum', 'urgentPointer', 'payload']); // no 'options': the data offset that would say is cut too
    expect('flags' in t || 'checksumValid' in t || 'acknowledgmentNumber' in t).toBe(false);
    expect(build(layers).equals(error(probe.subarray(0, 28)))).toBe(true);
  });

  it('decodes a 1000-byte UDP probe quoted in 548 bytes, with the cut counted', () => {
    const big = build([{ layer: 'ipv4', source: '10.0.0.1', destination: '10.9.9.9' }, { layer: 'udp', sourcePort: 5000, destinationPort: 33434 }, { layer: 'raw', data: Buffer.alloc(972, 0xab) }]);
    const q = find(parse(error(big.subarray(0, 548)), 'ipv4'), 'icmp').quote!;
    expect(q.map((l) => [l.layer, (l as { missingBytes?: number }).missingBytes])).toEqual([['ipv4', 452], ['udp', 452], ['raw', 452]]);
    expect(find(q, 'udp')).toMatchObject({ length: 980, truncated: true, missing: ['payload'] });
    expect(find(q, 'raw').data.length).toBe(520);
  });

  it('keeps a field cut in the middle as partial bytes', () => {
    const layers = parse(error(probe.subarray(0, 31)), 'ipv4');
    const t = find(find(layers, 'icmp').quote!, 'tcp');
    expect(t.partial).toEqual(probe.subarray(28, 31));
    expect(t.missing?.[0]).toBe('acknowledgmentNumber');
    expect(build(layers).equals(error(probe.subarray(0, 31)))).toBe(true);
  });

  it('decodes ICMPv6 errors quoting an IPv6 packet with extension headers', () => {
    const p6 = build([{ layer: 'ipv6', ...V6, hopLimit: 1 }, { layer: 'dstopts' }, { layer: 'udp', sourcePort: 7, destinationPort: 33434 }, { layer: 'raw', data: Buffer.alloc(1400) }]);
    const err = build([{ layer: 'ipv6', source: '2001:db8::fe', destination: V6.source }, { layer: 'icmpv6', type: 3 }, { layer: 'raw', data: p6.subarray(0, 1232) }]);
    const q = find(parse(err, 'ipv6'), 'icmpv6').quote!;
    expect(q.map((l) => l.layer)).toEqual(['ipv6', 'dstopts', 'udp', 'raw']);
    expect(find(q, 'udp')).toMatchObject({ destinationPort: 33434, truncated: true });
  });

  it('matches a probe against the error quoting it, and not against one quoting another probe', () => {
    const sent = parse(probe, 'ipv4');
    expect(matches(sent, parse(error(probe.subarray(0, 28)), 'ipv4'))).toBe(true);
    const other = build([{ layer: 'ipv4', source: '10.0.0.1', destination: '10.9.9.9', ttl: 1 }, { layer: 'tcp', sourcePort: 40001, destinationPort: 443, flags: { syn: true } }]);
    expect(matches(sent, parse(error(other.subarray(0, 28)), 'ipv4'))).toBe(false);
  });
});

describe('matches', () => {
  it('pairs TCP SYN with SYN-ACK by ports and acknowledgment, and echo requests with replies by id and sequence', () => {
    const syn = parse(build([{ layer: 'ipv4', ...V4 }, { layer: 'tcp', sourcePort: 1111, destinationPort: 80, sequenceNumber: 100, flags: { syn: true } }]), 'ipv4');
    const reply = (ack: number): Layer[] => parse(build([{ layer: 'ipv4', source: V4.destination, destination: V4.source }, { layer: 'tcp', sourcePort: 80, destinationPort: 1111, sequenceNumber: 5, acknowledgmentNumber: ack, flags: { syn: true, ack: true } }]), 'ipv4');
    expect(matches(syn, reply(101))).toBe(true);
    expect(matches(syn, reply(102))).toBe(false);
    const echo = parse(build([{ layer: 'ipv6', ...V6 }, { layer: 'icmpv6', type: 128, identifier: 3, sequence: 4 }]), 'ipv6');
    const pong = (seq: number): Layer[] => parse(build([{ layer: 'ipv6', source: V6.destination, destination: V6.source }, { layer: 'icmpv6', type: 129, identifier: 3, sequence: seq }]), 'ipv6');
    expect(matches(echo, pong(4))).toBe(true);
    expect(matches(echo, pong(5))).toBe(false);
  });
});

describe('IPv6 extension headers', () => {
  it('pads hop-by-hop options to 8 bytes with Pad1/PadN, and keeps unknown TLVs', () => {
    for (const [opts, size] of [[[], 8], [[{ kind: 'routerAlert' as const }], 8], [[{ kind: 0x3e, data: Buffer.alloc(7) }], 16]] as const) {
      const b = hopopts.encode({ nextHeader: 17, options: opts });
      expect(b.length).toBe(size);
      const d = hopopts.decode(b);
      expect(d.extLength).toBe(size / 8 - 1);
      expect(hopopts.encode(d).equals(b)).toBe(true);
    }
    expect(hopopts.decode(hopopts.encode({ nextHeader: 6, options: [{ kind: 0x3e, data: Buffer.from('ab') }] })).options[0]).toEqual({ kind: 0x3e, data: Buffer.from('ab') });
  });

  it('refuses an option running past the header, naming the field', () => {
    const b = hopopts.encode({ nextHeader: 59, options: [{ kind: 0x3e, data: Buffer.alloc(4) }] });
    b[3] = 9;
    const err = thrown(() => hopopts.decode(b)) as PacketError;
    expect(err).toBeInstanceOf(PacketError);
    expect([err.protocol, err.field]).toEqual(['hopopts', 'options']);
  });
});

describe('Neighbor Discovery, MLD and IGMP', () => {
  it('types a Neighbor Solicitation with its source link-layer address, and builds it back', () => {
    const b = build([{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::1:ff00:2', hopLimit: 255 }, { layer: 'icmpv6', type: 135, body: { kind: 'neighborSolicitation', target: 'fe80::2', options: [{ kind: 'sourceLinkLayerAddress', address: '02:00:00:00:00:01' }] } }]);
    const l = find(parse(b, 'ipv6'), 'icmpv6');
    expect(l.checksumValid).toBe(true);
    expect(l.body).toEqual({ kind: 'neighborSolicitation', reserved: 0, target: 'fe80::2', options: [{ kind: 'sourceLinkLayerAddress', address: '02:00:00:00:00:01' }] });
    expect(build(parse(b, 'ipv6')).equals(b)).toBe(true);
  });

  it('keeps a body that does not fit its type as raw bytes', () => {
    const b = build([{ layer: 'ipv6', ...V6 }, { layer: 'icmpv6', type: 135 }, { layer: 'raw', data: Buffer.from('short') }]);
    const layers = parse(b, 'ipv6');
    expect(layers.map((l) => l.layer)).toEqual(['ipv6', 'icmpv6', 'raw']);
    expect(find(layers, 'icmpv6').body).toBeUndefined();
  });

  it('types MLDv2 reports and IGMPv3 queries', () => {
    const mld = build([{ layer: 'ipv6', source: 'fe80::1', destination: 'ff02::16', hopLimit: 1 }, { layer: 'hopopts', options: [{ kind: 'routerAlert' }] }, { layer: 'icmpv6', type: 143, body: { kind: 'mldv2Report', records: [{ type: 4, multicastAddress: 'ff0e::1', sources: ['2001:db8::5'] }] } }]);
    expect(find(parse(mld, 'ipv6'), 'icmpv6').body).toMatchObject({ kind: 'mldv2Report', records: [{ type: 4, multicastAddress: 'ff0e::1', sources: ['2001:db8::5'] }] });
    const q = build([{ layer: 'ipv4', source: '10.0.0.1', destination: '224.0.0.1', ttl: 1 }, { layer: 'igmp', type: 0x11, group: '239.1.1.1', qrv: 2, sources: ['10.0.0.9'] }]);
    expect(find(parse(q, 'ipv4'), 'igmp')).toMatchObject({ type: 0x11, group: '239.1.1.1', qrv: 2, sources: ['10.0.0.9'], checksumValid: true });
  });

  // RFC 3376 4.1 and RFC 3810 5.1: after the address, one byte of Resv(4) S(1) QRV(3), QQIC, a 16-bit
  // number of sources, then the sources; IGMPv3 and MLDv2 differ only in the size of an address.
  const QUERY_TAIL = { flagsReserved: 0, suppress: true, qrv: 5, qqic: 125 };

  it('writes the IGMPv3 query fields after the group as RFC 3376 lays them out, and reads them back', () => {
    const b = igmp.encode({ type: 0x11, maxResponseCode: 100, checksum: 0, group: '239.1.1.1', ...QUERY_TAIL, sources: ['10.0.0.9', '10.0.0.10'] });
    expect(b.toString('hex')).toBe(['11', '64', '0000', 'ef010101', '0d', '7d', '0002', '0a000009', '0a00000a'].join(''));
    expect(igmp.decode(b)).toMatchObject({ group: '239.1.1.1', ...QUERY_TAIL, sources: ['10.0.0.9', '10.0.0.10'], payload: Buffer.alloc(0) });
  });

  it('writes the MLDv2 query fields after the multicast address as RFC 3810 lays them out, and reads them back', () => {
    const body = { kind: 'mldQuery' as const, maxResponseCode: 1000, multicastAddress: 'ff0e::1', ...QUERY_TAIL, sources: ['2001:db8::5'] };
    const [rest, bytes] = mld.encodeBody(body);
    expect(rest).toBe(1000 * 65536);
    expect(bytes.toString('hex')).toBe(['ff0e0000000000000000000000000001', '0d', '7d', '0001', '20010db8000000000000000000000005'].join(''));
    expect(mld.decodeBody(130, rest, bytes)).toEqual({ ...body, reserved: 0 });
  });

  it('names the query field at fault, in IGMP by its name and in an MLD body under body.', () => {
    expect(thrown(() => igmp.encode({ type: 0x11, qrv: 8 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('"qrv"') });
    expect(thrown(() => igmp.encode({ type: 0x11, sources: ['10.0.0.1', 'nope'] }))).toMatchObject({ message: expect.stringContaining('sources[1]') });
    expect(thrown(() => mld.encodeBody({ kind: 'mldQuery', multicastAddress: '::', qqic: 256 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('"body.qqic"') });
    expect(thrown(() => mld.encodeBody({ kind: 'mldQuery', multicastAddress: '::', flagsReserved: 16 }))).toMatchObject({ message: expect.stringContaining('"body.flagsReserved"') });
  });

  it('a query whose number of sources runs past its bytes: IGMP keeps the fixed part and the rest as payload, MLD is not a query body', () => {
    const lying = igmp.encode({ type: 0x11, sources: ['1.2.3.4'], numberOfSources: 3 });
    const d = igmp.decode(lying);
    expect(d.sources).toBeUndefined();
    expect(d.payload).toEqual(lying.subarray(8));
    const [rest, bytes] = mld.encodeBody({ kind: 'mldQuery', multicastAddress: '::', sources: ['::1'], numberOfSources: 2 });
    expect(mld.decodeBody(130, rest, bytes)).toBeNull();
    expect(mld.decodeBody(130, rest, Buffer.concat([bytes, Buffer.alloc(16)]))).toMatchObject({ sources: ['::1', '::'] });
  });
});

describe('fragment.split and fragment.reassemble', () => {
  it('splits an IPv4 datagram on 8-byte boundaries and reassembles it in any order', () => {
    const whole = build([{ layer: 'ipv4', ...V4, identification: 0x4242 }, { layer: 'udp', sourcePort: 1, destinationPort: 2 }, { layer: 'raw', data: Buffer.alloc(3000, 7) }]);
    const pieces = fragment.split(whole, 1500);
    expect(pieces.length).toBe(3);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(1500);
    expect(pieces.map((p) => [ipv4.decode(p).fragmentOffset, ipv4.decode(p).moreFragments, ipv4.decode(p).checksumValid])).toEqual([[0, true, true], [185, true, true], [370, false, true]]);
    expect(fragment.reassemble([pieces[2]!, pieces[0]!, pieces[1]!])!.equals(whole)).toBe(true);
    expect(fragment.reassemble([pieces[0]!, pieces[2]!])).toBeNull();
  });

  it('splits an IPv6 packet after its unfragmentable headers and reassembles it', () => {
    const whole = build([{ layer: 'ipv6', ...V6 }, { layer: 'hopopts' }, { layer: 'udp', sourcePort: 1, destinationPort: 2 }, { layer: 'raw', data: Buffer.alloc(3000, 9) }]);
    const pieces = fragment.split(whole, 1280, { identification: 99 });
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(1280);
      expect(parse(p, 'ipv6').map((l) => l.layer).slice(0, 3)).toEqual(['ipv6', 'hopopts', 'fragment']);
    }
    expect(fragment.reassemble(pieces.reverse())!.equals(whole)).toBe(true);
  });

  it('refuses overlapping fragments whose bytes differ', () => {
    const whole = build([{ layer: 'ipv4', ...V4 }, { layer: 'raw', data: Buffer.alloc(64, 1) }].map((l) => (l.layer === 'ipv4' ? { ...l, protocol: 253 } : l)) as Layer[]);
    const [a, b] = fragment.split(whole, 60);
    const evil = Buffer.from(b!);
    const d = ipv4.decode(evil);
    const forged = ipv4.encode({ ...d, ihl: undefined, checksum: undefined, totalLength: undefined, fragmentOffset: d.fragmentOffset - 1 } as never, Buffer.alloc(d.payload.length, 2));
    expect(thrown(() => fragment.reassemble([a!, forged]))).toBeInstanceOf(PacketError);
  });
});
