// Fully hand-made IP packets: IPPROTO_RAW / IP_HDRINCL over IPv4 and IPv6, built with sockfd/packet
// and received by ordinary sockets (one of them Python's), and a TCP SYN answered by the kernel's
// SYN-ACK.
//
// Every test runs its sockets in a child process inside a network namespace of its own (lo up,
// nothing else), so no packet leaves it; the namespace is removed after each test, pass or fail.
// Every wait in a child is bounded (poll timeouts, Python's settimeout), and the child by a run timeout.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoHeaderSum, tcp } from '../../src/packet/index.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { Netns, netnsUnavailable, packetPkg, pkg, rawUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping raw socket tests:', skip);

checkFdLeaks();

const prelude = `
'use strict';
const s = require(${JSON.stringify(pkg)});
const p = require(${JSON.stringify(packetPkg)});
const buf = Buffer.alloc(65536);
function readable(fd, ms) {
  const [r] = s.poll([{ fd, events: s.POLLIN }], ms);
  return (r.revents & s.POLLIN) !== 0;
}
// Every datagram that arrives on fd until none has come for quietMs (3 s at most), as Buffers.
function drain(fd, quietMs = 150) {
  const out = [];
  const end = Date.now() + 3000;
  while (Date.now() < end && readable(fd, quietMs)) {
    const n = s.recv(fd, buf);
    out.push(Buffer.from(buf.subarray(0, Math.min(n, buf.length))));
  }
  return out;
}
const LO4 = { family: s.AF_INET, address: '127.0.0.1', port: 0 };
const LO6 = { family: s.AF_INET6, address: '::1', port: 0 };
function done(value) {
  process.stdout.write(JSON.stringify(value, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v)));
}
`;

let ns: Netns;
let children: ChildProcess[] = [];

function run<T>(body: string): T {
  return JSON.parse(ns.node(prelude + body)) as T;
}

/**
 * Starts a Python UDP receiver inside the namespace: it binds 127.0.0.1:0, prints its port, waits
 * (at most 5 s) for one datagram and prints it. Resolves with the port once it is listening, and
 * `result` with what it received.
 */
async function pythonReceiver(): Promise<{ port: number; result: Promise<{ data?: string; address?: string; port?: number; timeout?: boolean }> }> {
  const code = [
    'import json, socket',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    "s.bind(('127.0.0.1', 0))",
    's.settimeout(5)',
    "print(json.dumps({'port': s.getsockname()[1]}), flush=True)",
    'try:',
    '    data, addr = s.recvfrom(2048)',
    "    print(json.dumps({'data': data.decode(), 'address': addr[0], 'port': addr[1]}), flush=True)",
    'except socket.timeout:',
    "    print(json.dumps({'timeout': True}), flush=True)",
  ].join('\n');
  const child = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c', code], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  child.stdout!.on('data', (d: string) => {
    stdout += d;
    let nl: number;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.on('close', (code, signal) => reject(new Error(`python3 exited (${code ?? signal}) early: ${stderr}`))),
  );
  const nextLine = (): Promise<string> =>
    Promise.race([new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiting.push(resolve))), exited]);
  const { port } = JSON.parse(await nextLine()) as { port: number };
  return { port, result: nextLine().then((l) => JSON.parse(l)) };
}

describe.skipIf(skip !== null)('IPPROTO_RAW and IP_HDRINCL, in a network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    children = [];
    ns.destroy();
  });

  it('a hand-made IPv4/UDP packet sent on an IPPROTO_RAW socket is received by a Python UDP socket', async () => {
    const receiver = await pythonReceiver();
    const sent = run<number>(`
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      const pseudo = { source: '127.0.0.42', destination: '127.0.0.1' };
      const datagram = p.udp.encode({ sourcePort: 5353, destinationPort: ${receiver.port} }, Buffer.from('made by hand, read by Python'), pseudo);
      const packet = p.ipv4.encode({ protocol: p.IPPROTO_UDP, ...pseudo, identification: 0x1111 }, datagram);
      const n = s.sendto(fd, packet, undefined, 0, LO4);
      s.close(fd);
      done(n);
    `);
    expect(sent).toBe(20 + 8 + 28);
    expect(await receiver.result).toEqual({ data: 'made by hand, read by Python', address: '127.0.0.42', port: 5353 });
  });

  it('an IPPROTO_RAW socket has IP_HDRINCL on from the start', () => {
    const got = run<number>(`
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      const v = s.getsockopt(fd, s.IPPROTO_IP, s.IP_HDRINCL);
      s.close(fd);
      done(v);
    `);
    expect(got).toBe(1);
  });

  it('IP_HDRINCL set on an IPPROTO_UDP raw socket makes it send the caller\'s own IPv4 header', () => {
    const got = run<{ before: number; after: number; data: string; from: { address: string; port: number } }>(`
      const rx = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.bind(rx, LO4);
      const port = s.getsockname(rx).port;
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_UDP);
      const before = s.getsockopt(fd, s.IPPROTO_IP, s.IP_HDRINCL);
      s.setsockopt(fd, s.IPPROTO_IP, s.IP_HDRINCL, 1);
      const after = s.getsockopt(fd, s.IPPROTO_IP, s.IP_HDRINCL);
      const pseudo = { source: '127.0.0.9', destination: '127.0.0.1' };
      s.sendto(fd, p.ipv4.encode({ protocol: p.IPPROTO_UDP, ...pseudo }, p.udp.encode({ sourcePort: 999, destinationPort: port }, Buffer.from('hdrincl'), pseudo)), undefined, 0, LO4);
      if (!readable(rx, 2000)) throw new Error('the UDP socket received nothing');
      const r = s.recvfrom(rx, buf);
      s.close(fd);
      s.close(rx);
      done({ before, after, data: buf.toString('utf8', 0, r.bytes), from: r.address });
    `);
    expect(got.before).toBe(0);
    expect(got.after).toBe(1);
    expect(got.data).toBe('hdrincl');
    expect(got.from).toMatchObject({ address: '127.0.0.9', port: 999 });
  });

  it('the header fields of a hand-made IPv4 packet arrive as written: TTL, identification, DSCP, ECN, DF', () => {
    const got = run<Record<string, unknown>[]>(`
      const rx = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      const message = p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 0x3333, sequence: 9 }, Buffer.from('hand-made'));
      const packet = p.ipv4.encode({ protocol: p.IPPROTO_ICMP, source: '127.0.0.1', destination: '127.0.0.1', ttl: 33, identification: 0xbeef, dscp: 10, ecn: 1, dontFragment: true }, message);
      s.sendto(fd, packet, undefined, 0, LO4);
      const seen = drain(rx).map((b) => {
        const { payload, options, ...ip } = p.ipv4.decode(b);
        const icmp = p.icmp.decode(payload);
        return { ...ip, type: icmp.type, identifier: icmp.identifier, data: icmp.payload.toString() };
      });
      s.close(fd);
      s.close(rx);
      done(seen);
    `);
    const request = got.find((m) => m.type === 8);
    expect(request).toMatchObject({ ttl: 33, identification: 0xbeef, dscp: 10, ecn: 1, dontFragment: true, totalLength: 37, checksumValid: true });
    expect(request).toMatchObject({ identifier: 0x3333, data: 'hand-made' });
    // ... and the kernel answered it.
    expect(got.find((m) => m.type === 0)).toMatchObject({ identifier: 0x3333, data: 'hand-made', source: '127.0.0.1' });
  });

  it('under IP_HDRINCL the kernel fills in a zero source, the total length and the header checksum', () => {
    const got = run<Record<string, unknown>>(`
      const rx = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      const message = p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 0x4444, sequence: 1 });
      const packet = p.ipv4.encode({ protocol: p.IPPROTO_ICMP, source: '0.0.0.0', destination: '127.0.0.1', totalLength: 0, checksum: 0xdead, identification: 7 }, message);
      s.sendto(fd, packet, undefined, 0, LO4);
      const [request] = drain(rx).map((b) => p.ipv4.decode(b)).filter((ip) => p.icmp.decode(ip.payload).type === p.icmp.ECHO_REQUEST);
      s.close(fd);
      s.close(rx);
      done({ source: request.source, totalLength: request.totalLength, checksumValid: request.checksumValid, identification: request.identification });
    `);
    expect(got).toEqual({ source: '127.0.0.1', totalLength: 28, checksumValid: true, identification: 7 });
  });

  it('a hand-made IPv6/UDP packet on an AF_INET6 IPPROTO_RAW socket reaches a UDP socket on ::1 with its hop limit and traffic class', () => {
    interface Got {
      data: string;
      from: { address: string; port: number };
      control: { type: number; value: number }[];
      hdrincl: number;
    }
    const got = run<Got>(`
      const rx = s.socket(s.AF_INET6, s.SOCK_DGRAM);
      s.bind(rx, LO6);
      s.setsockopt(rx, s.IPPROTO_IPV6, s.IPV6_RECVHOPLIMIT, 1);
      s.setsockopt(rx, s.IPPROTO_IPV6, s.IPV6_RECVTCLASS, 1);
      const fd = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_RAW);
      const hdrincl = s.getsockopt(fd, s.IPPROTO_IPV6, s.IPV6_HDRINCL);
      const pseudo = { source: '::1', destination: '::1' };
      const datagram = p.udp.encode({ sourcePort: 6000, destinationPort: s.getsockname(rx).port }, Buffer.from('v6 by hand'), pseudo);
      s.sendto(fd, p.ipv6.encode({ nextHeader: p.IPPROTO_UDP, ...pseudo, hopLimit: 9, trafficClass: 0x28 }, datagram), undefined, 0, LO6);
      if (!readable(rx, 2000)) throw new Error('the UDP socket received nothing');
      const m = s.recvmsg(rx, [buf], { controlLength: 128 });
      s.close(fd);
      s.close(rx);
      done({ data: buf.toString('utf8', 0, m.bytes), from: m.address, control: m.control.map((c) => ({ type: c.type, value: c.value })), hdrincl });
    `);
    expect(got.hdrincl).toBe(1);
    expect(got.data).toBe('v6 by hand');
    expect(got.from).toMatchObject({ address: '::1', port: 6000 });
    expect(got.control.map((c) => c.value).sort((a, b) => a - b)).toEqual([9, 0x28]);
  });

  it('a TCP SYN crafted with sockfd/packet to a listening port is answered by the kernel with a SYN-ACK', () => {
    interface Segment {
      source: string;
      destination: string;
      segment: string; // hex, the whole TCP segment
    }
    const SEQ = 0x12345678;
    const SPORT = 40404;
    const TSVAL = 1000;
    const got = run<{ port: number; seen: Segment[] }>(`
      // The listener: the kernel answers SYNs to it by itself.
      const listener = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(listener, LO4);
      s.listen(listener, 4);
      const port = s.getsockname(listener).port;
      // Receives every TCP segment to this host, IPv4 header first.
      const rx = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_TCP);
      const tx = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      const pseudo = { source: '127.0.0.1', destination: '127.0.0.1' };
      const syn = p.tcp.encode({
        sourcePort: ${SPORT}, destinationPort: port, sequenceNumber: ${SEQ}, flags: { syn: true }, window: 64240,
        options: [{ kind: 'mss', value: 1460 }, { kind: 'sackPermitted' }, { kind: 'timestamps', value: ${TSVAL}, echoReply: 0 }, { kind: 'nop' }, { kind: 'windowScale', shift: 7 }],
      }, undefined, pseudo);
      s.sendto(tx, p.ipv4.encode({ protocol: p.IPPROTO_TCP, ...pseudo, dontFragment: true }, syn), undefined, 0, LO4);
      const seen = [];
      const end = Date.now() + 3000;
      while (Date.now() < end && readable(rx, end - Date.now())) {
        const n = s.recv(rx, buf);
        const ip = p.ipv4.decode(buf.subarray(0, n));
        seen.push({ source: ip.source, destination: ip.destination, segment: Buffer.from(ip.payload) });
        const t = p.tcp.decode(ip.payload);
        if (t.flags.syn && t.flags.ack) break;
      }
      for (const fd of [rx, tx, listener]) s.close(fd);
      done({ port, seen });
    `);
    const segments = got.seen.map((m) => ({ ...m, bytes: Buffer.from(m.segment, 'hex'), tcp: tcp.decode(Buffer.from(m.segment, 'hex')) }));
    // Our SYN, seen on the way in, with its checksum as sockfd/packet computed it.
    const syn = segments.find((m) => m.tcp.flags.syn && !m.tcp.flags.ack);
    expect(syn?.tcp).toMatchObject({ sourcePort: SPORT, destinationPort: got.port, sequenceNumber: SEQ });
    expect(tcp.verifyChecksum(syn!.bytes, { source: '127.0.0.1', destination: '127.0.0.1' })).toBe(true);

    const synAck = segments.find((m) => m.tcp.flags.syn && m.tcp.flags.ack);
    expect(synAck, 'no SYN-ACK arrived').toBeDefined();
    const t = synAck!.tcp;
    expect({ source: synAck!.source, destination: synAck!.destination }).toEqual({ source: '127.0.0.1', destination: '127.0.0.1' });
    expect(t.flags).toMatchObject({ syn: true, ack: true, rst: false, fin: false });
    expect(t).toMatchObject({ sourcePort: got.port, destinationPort: SPORT, acknowledgmentNumber: (SEQ + 1) >>> 0 });
    // It answers our options: MSS, SACK permitted, our timestamp echoed, a window scale.
    const kinds = t.options.map((o) => o.kind);
    expect(kinds).toEqual(expect.arrayContaining(['mss', 'sackPermitted', 'timestamps', 'windowScale']));
    expect(t.options.find((o) => o.kind === 'timestamps')).toMatchObject({ echoReply: TSVAL });

    // The checksum, with the pseudo-header. Over loopback the kernel leaves TCP checksums to the
    // "device" (CHECKSUM_PARTIAL, and lo's checksum offload cannot be turned off): a raw socket then
    // sees in the field the pseudo-header sum, not yet complemented over the segment. Either way the
    // pseudo-header sum must be the kernel's, and the completed checksum must verify.
    const pseudo = { source: synAck!.source, destination: synAck!.destination };
    const bytes = Buffer.from(synAck!.bytes);
    if (!tcp.verifyChecksum(bytes, pseudo)) {
      expect(t.checksum).toBe(pseudoHeaderSum(pseudo.source, pseudo.destination, tcp.PROTOCOL, bytes.length));
      bytes.writeUInt16BE(0, 16);
      const onesSum = (b: Buffer): number => {
        let sum = 0;
        for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        return sum;
      };
      // The device's step: fold the segment into the partial sum and complement.
      let sum = onesSum(bytes) + t.checksum;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      bytes.writeUInt16BE(~sum & 0xffff, 16);
    }
    expect(tcp.verifyChecksum(bytes, pseudo)).toBe(true);
    expect(tcp.decode(bytes, pseudo).checksumValid).toBe(true);
  });
});
