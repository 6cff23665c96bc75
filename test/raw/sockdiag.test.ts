// listSockets and inspect held against `ss` where that takes privileges: half-open (SYN_RECV)
// connections crafted with SOCK_RAW + sockfd/packet, the closing states a lossy path holds
// (FIN_WAIT1, LAST_ACK, CLOSING, made with a policy rule that blackholes one direction in the
// namespace), raw sockets, and packet sockets with a TPACKET_V3 ring, a fanout group and a membership.
//
// Every test makes its own network namespace and runs its sockets, listSockets and ss in a child node
// process inside it; the namespace (and with it the veth pair, the rules and every socket) is removed
// after each test, pass or fail. The crafted SYNs go from a raw socket to the namespace's own address;
// their SYN-ACKs wait for ARP/neighbour answers that nobody in the namespace gives.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SocketEntry } from '../../src/index.js';
import * as path from 'node:path';
import { expectAsSs, expectSameTable, ssMatch } from '../helpers/diag.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { Netns, netnsUnavailable, packetPkg, pkg, rawUnavailable } from '../helpers/netns.js';
import { parseSs, ssUnavailable } from '../helpers/ss.js';

const skip = netnsUnavailable() ?? rawUnavailable() ?? ssUnavailable();
if (skip) console.log('skipping the privileged listSockets tests:', skip);

checkFdLeaks();

const bin = path.join(__dirname, '..', '..', 'bin', 'sockfd.js');

const prelude = `
'use strict';
const s = require(${JSON.stringify(pkg)});
const p = require(${JSON.stringify(packetPkg)});
const { execFileSync } = require('node:child_process');
const ss = (...args) => execFileSync('ss', args, { encoding: 'utf8' });
// The sockfd ss command, run as a user runs it, in this namespace.
const sockfdSs = (...args) => execFileSync(process.execPath, [${JSON.stringify(bin)}, 'ss', ...args], { encoding: 'utf8' });
const sleep = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
function done(value) {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v)));
}
// A SYN from source:sport to destination:dport, as a whole IPv4 or IPv6 packet for an IPPROTO_RAW socket.
function syn(source, destination, sport, dport) {
  const seg = p.tcp.encode({ sourcePort: sport, destinationPort: dport, sequenceNumber: 1000 + sport, flags: { syn: true }, options: [{ kind: 'mss', value: 1400 }] }, undefined, { source, destination });
  return destination.includes(':')
    ? p.ipv6.encode({ nextHeader: 6, source, destination }, seg)
    : p.ipv4.encode({ protocol: 6, source, destination }, seg);
}
function connectNb(family, address, port) {
  const fd = s.socket(family, s.SOCK_STREAM | s.SOCK_NONBLOCK);
  try { s.connect(fd, { family, address, port }); } catch (e) { if (e.code !== 'EINPROGRESS') throw e; }
  return fd;
}
`;

let ns: Netns;

function run<T>(body: string): T {
  return JSON.parse(ns.node(prelude + body), (_k, v) => (v && typeof v === 'object' && '$bigint' in v ? BigInt(v.$bigint) : v)) as T;
}

function expectListedLikeSs(entries: SocketEntry[], ssText: string): void {
  const listing = parseSs(ssText);
  expect(entries.length).toBeGreaterThan(0);
  for (const e of entries) {
    const s = ssMatch(listing, e);
    expect(s, `ss lists ${e.netid} ${e.stateName} ${JSON.stringify(e.local)} -> ${JSON.stringify(e.peer)}`).toBeDefined();
    expectAsSs(e, s!);
  }
}

describe.skipIf(skip !== null)('half-open connections: SYN_RECV, crafted in a network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
    ns.veth('va', 'vb');
    ns.ip('addr', 'add', '10.77.0.1/24', 'dev', 'va');
    ns.ip('addr', 'add', 'fd77::1/64', 'dev', 'va', 'nodad');
  });
  afterEach(() => ns.destroy());

  it('raw SYNs from other addresses of the subnet leave SYN_RECV entries that listSockets lists as ss does, IPv4 and IPv6', () => {
    interface Got {
      entries: SocketEntry[];
      ss: string;
      table: string;
      v4: number;
      v6: number;
    }
    const got = run<Got>(`
      const l4 = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l4, { family: s.AF_INET, address: '10.77.0.1', port: 8080 });
      s.listen(l4, 16);
      const l6 = s.socket(s.AF_INET6, s.SOCK_STREAM);
      s.setsockopt(l6, s.IPPROTO_IPV6, s.IPV6_V6ONLY, 1);
      s.bind(l6, { family: s.AF_INET6, address: 'fd77::1', port: 8080 });
      s.listen(l6, 16);
      const r4 = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      const r6 = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_RAW);
      for (let i = 0; i < 4; i++) s.sendto(r4, syn('10.77.0.' + (10 + i), '10.77.0.1', 40000 + i, 8080), undefined, 0, { family: s.AF_INET, address: '10.77.0.1', port: 0 });
      for (let i = 0; i < 3; i++) s.sendto(r6, syn('fd77::' + (10 + i).toString(16), 'fd77::1', 41000 + i, 8080), undefined, 0, { family: s.AF_INET6, address: 'fd77::1', port: 0 });
      sleep(30);
      const entries = s.listSockets({ states: ['SYN_RECV'] });
      done({ entries, ss: ss('-tanoie', 'state', 'syn-recv'), table: sockfdSs('tcp', 'state', 'SYN-RECV'), v4: s.inspect(l4).tcp.synQueue.length, v6: s.inspect(l6).tcp.synQueue.length });
    `);
    expect(got.entries).toHaveLength(7);
    for (const e of got.entries) {
      expect(e).toMatchObject({ stateName: 'SYN_RECV', inode: 0, fds: [], recvQueue: 0, sendQueue: 0, skmem: null });
      expect(e.timer).toMatchObject({ code: 1, name: 'on' });
      expect(e.cookie).not.toBeNull();
    }
    expect(got.entries.filter((e) => e.familyName === 'AF_INET').map((e) => (e.peer as { address: string }).address).sort()).toEqual(['10.77.0.10', '10.77.0.11', '10.77.0.12', '10.77.0.13']);
    expect(got.entries.filter((e) => e.familyName === 'AF_INET6').map((e) => (e.peer as { port: number }).port).sort()).toEqual([41000, 41001, 41002]);
    expect(parseSs(got.ss)).toHaveLength(7);
    expectListedLikeSs(got.entries, got.ss);
    expectSameTable(parseSs(got.table), parseSs(got.ss));
    expect([got.v4, got.v6]).toEqual([4, 3]);
  });

  it('inspect of the listener: synQueue is the SYN_RECV entries ss shows, beside an accept queue that accept drains', () => {
    interface Info {
      acceptQueue: number;
      backlog: number;
      synQueue: SocketEntry[];
    }
    interface Got {
      before: Info;
      after: Info;
      ss: string;
    }
    const got = run<Got>(`
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '10.77.0.1', port: 8080 });
      s.listen(l, 8);
      const raw = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW);
      for (let i = 0; i < 5; i++) s.sendto(raw, syn('10.77.0.' + (20 + i), '10.77.0.1', 42000 + i, 8080), undefined, 0, { family: s.AF_INET, address: '10.77.0.1', port: 0 });
      const clients = [0, 1, 2].map(() => connectNb(s.AF_INET, '10.77.0.1', 8080));
      s.poll(clients.map((fd) => ({ fd, events: s.POLLOUT })), 1000);
      sleep(30);
      const view = () => { const t = s.inspect(l).tcp; return { acceptQueue: t.acceptQueue, backlog: t.backlog, synQueue: t.synQueue }; };
      const before = view();
      const text = ss('-tanoie', 'state', 'syn-recv', 'sport = :8080');
      s.close(s.accept(l).fd);
      done({ before, after: view(), ss: text });
    `);
    expect(got.before.acceptQueue).toBe(3);
    expect(got.before.backlog).toBe(8);
    expect(got.before.synQueue.map((e) => (e.peer as { address: string }).address).sort()).toEqual(['10.77.0.20', '10.77.0.21', '10.77.0.22', '10.77.0.23', '10.77.0.24']);
    expect(parseSs(got.ss)).toHaveLength(got.before.synQueue.length);
    expectListedLikeSs(got.before.synQueue, got.ss);
    expect(got.after.acceptQueue).toBe(2);
    expect(got.after.synQueue).toHaveLength(5);
  });
});

describe.skipIf(skip !== null)('the closing states a lossy path holds: FIN_WAIT1, LAST_ACK, CLOSING', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => ns.destroy());

  it('with the server\'s segments blackholed, shutdowns leave FIN_WAIT1, LAST_ACK and CLOSING, as ss lists them', () => {
    interface Got {
      entries: SocketEntry[];
      ss: string;
      table: string;
      fds: Record<string, number>;
    }
    const got = run<Got>(`
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 8080 });
      s.listen(l, 4);
      const c1 = connectNb(s.AF_INET, '127.0.0.1', 8080);
      const c2 = connectNb(s.AF_INET, '127.0.0.1', 8080);
      s.poll([{ fd: c1, events: s.POLLOUT }, { fd: c2, events: s.POLLOUT }], 1000);
      s.poll([{ fd: l, events: s.POLLIN }], 1000);
      const a1 = s.accept(l).fd;
      const a2 = s.accept(l).fd;
      // From here on, nothing the server side sends (source port 8080) leaves: a policy rule ahead of the
      // local table blackholes it, while the clients' segments are still delivered.
      execFileSync('ip', ['rule', 'add', 'pref', '100', 'lookup', 'local']);
      execFileSync('ip', ['rule', 'del', 'pref', '0', 'lookup', 'local']);
      execFileSync('ip', ['rule', 'add', 'pref', '10', 'ipproto', 'tcp', 'sport', '8080', 'blackhole']);
      // Connection 1: the client's FIN gets no ACK (FIN_WAIT1); the server, in CLOSE_WAIT, closes (LAST_ACK).
      s.shutdown(c1, s.SHUT_WR);
      sleep(20);
      s.shutdown(a1, s.SHUT_WR);
      // Connection 2: the server's FIN is lost (FIN_WAIT1), then the client's FIN reaches it (CLOSING).
      s.shutdown(a2, s.SHUT_WR);
      sleep(20);
      s.shutdown(c2, s.SHUT_WR);
      sleep(30);
      const entries = s.listSockets({ family: s.AF_INET, protocol: s.IPPROTO_TCP, port: 8080 });
      done({ entries, ss: ss('-tanpiem', '( sport = :8080 or dport = :8080 )'), table: sockfdSs('tcp', 'port', '8080'), fds: { c1, c2, a1, a2, l } });
    `);
    const stateOfFd = (fd: number): string | undefined => got.entries.find((e) => e.fds.includes(fd))?.stateName;
    expect(stateOfFd(got.fds.c1!)).toBe('FIN_WAIT1');
    expect(stateOfFd(got.fds.a1!)).toBe('LAST_ACK');
    expect(stateOfFd(got.fds.a2!)).toBe('CLOSING');
    expect(stateOfFd(got.fds.c2!)).toBe('FIN_WAIT1');
    for (const fd of [got.fds.c1!, got.fds.c2!]) {
      const e = got.entries.find((x) => x.fds.includes(fd))!;
      expect(e.timer, `${e.stateName}: its FIN waits to be retransmitted`).toMatchObject({ code: 1, name: 'on' });
      expect(e.sendQueue).toBe(1); // the FIN
    }
    for (const fd of [got.fds.a1!, got.fds.a2!]) {
      const e = got.entries.find((x) => x.fds.includes(fd))!;
      // The server's FIN cannot be routed at all: the kernel probes instead of retransmitting.
      expect(e.timer, `${e.stateName}: a timer is pending`).not.toBeNull();
      expect(e.recvQueue).toBe(1); // the client's FIN, counted as a byte
    }
    expectListedLikeSs(got.entries, got.ss);
    // These sockets retransmit and probe while they are listed: their counters move between the two.
    expectSameTable(parseSs(got.table), parseSs(got.ss), true, true);
  });
});

describe.skipIf(skip !== null)('raw and packet sockets', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => ns.destroy());

  // From raw_diag, or from /proc/net/raw{,6} on a kernel without it (as here, and as ss falls back).
  it('raw sockets over IPv4 and IPv6, their protocol as the port, as ss -w lists them', () => {
    interface Got {
      entries: SocketEntry[];
      ss: string;
      table: string;
      fds: number[];
      protocols: number[];
    }
    const got = run<Got>(`
      const a = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      const b = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_UDP);
      s.bind(b, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      const c = s.socket(s.AF_INET6, s.SOCK_RAW, s.IPPROTO_ICMPV6);
      const d = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_TCP);
      s.connect(d, { family: s.AF_INET, address: '127.0.0.2', port: 0 });
      const entries = s.listSockets({ type: s.SOCK_RAW });
      done({ entries, ss: ss('-wanpiem'), table: sockfdSs('raw'), fds: [a, b, c, d], protocols: [s.IPPROTO_ICMP, s.IPPROTO_UDP, s.IPPROTO_ICMPV6, s.IPPROTO_TCP] });
    `);
    expect(got.entries).toHaveLength(4);
    got.fds.forEach((fd, i) => {
      const e = got.entries.find((x) => x.fds.includes(fd))!;
      expect(e).toMatchObject({ netid: 'raw', type: 3, protocol: got.protocols[i], stateName: i === 3 ? 'ESTABLISHED' : 'CLOSE' });
      expect((e.local as { port: number }).port).toBe(got.protocols[i]);
    });
    expect(got.entries.find((x) => x.fds.includes(got.fds[3]!))!.peer).toMatchObject({ address: '127.0.0.2', port: 0 });
    expectListedLikeSs(got.entries, got.ss);
    expectSameTable(parseSs(got.table), parseSs(got.ss));
  });

  it('packet sockets: protocol, interface, TPACKET_V3 ring, fanout group and memberships, as ss -0 lists them', () => {
    interface Got {
      entries: SocketEntry[];
      ss: string;
      table: string;
      fds: { ring: number; fan: number; plain: number };
      byProtocol: number[][];
      byType: number[][];
    }
    const got = run<Got>(`
      const lo = s.if_nametoindex('lo');
      const ring = s.socket(s.AF_PACKET, s.SOCK_RAW, s.htons(s.ETH_P_ALL));
      s.setsockopt(ring, s.SOL_PACKET, s.PACKET_VERSION, s.TPACKET_V3);
      const req = Buffer.alloc(28); // struct tpacket_req3
      [4096, 2, 2048, 4, 60, 0, 0].forEach((v, i) => req.writeUInt32LE(v, i * 4));
      s.setsockopt(ring, s.SOL_PACKET, s.PACKET_RX_RING, req);
      const fan = s.socket(s.AF_PACKET, s.SOCK_DGRAM, s.htons(s.ETH_P_IP));
      s.bind(fan, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_IP), ifindex: lo });
      s.setsockopt(fan, s.SOL_PACKET, s.PACKET_FANOUT, 42 | (s.PACKET_FANOUT_LB << 16));
      s.setsockopt(fan, s.SOL_PACKET, s.PACKET_ADD_MEMBERSHIP, { ifindex: lo, type: s.PACKET_MR_ALLMULTI });
      const plain = s.socket(s.AF_PACKET, s.SOCK_RAW, s.htons(s.ETH_P_ARP));
      const entries = s.listSockets({ family: s.AF_PACKET });
      const byProtocol = s.listSockets({ family: s.AF_PACKET, protocol: s.htons(s.ETH_P_IP) }).map((e) => e.fds);
      const byType = s.listSockets({ family: s.AF_PACKET, type: s.SOCK_DGRAM }).map((e) => e.fds);
      done({ entries, ss: ss('-0anpiem'), table: sockfdSs('packet'), fds: { ring, fan, plain }, byProtocol, byType });
    `);
    expect(got.entries).toHaveLength(3);
    const of = (fd: number): SocketEntry => got.entries.find((e) => e.fds.includes(fd))!;
    const ring = of(got.fds.ring);
    expect(ring).toMatchObject({ netid: 'p_raw', stateName: 'CLOSE', protocolName: 'ETH_P_ALL', packet: { ethProtocol: 3, ifindex: 0, version: 2, running: true } });
    expect(ring.packet!.rxRing).toEqual({ blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4, retireTimeout: 60, privateSize: 0, features: 0 });
    expect(ring.packet!.txRing).toBeNull();
    const fan = of(got.fds.fan);
    expect(fan).toMatchObject({ netid: 'p_dgr', protocolName: 'ETH_P_IP', local: { family: 17, ifindex: 1 }, packet: { ethProtocol: 0x0800, ifindex: 1 } });
    expect(fan.packet!.fanout).toEqual({ id: 42, type: 1, typeName: 'lb' });
    expect(fan.packet!.memberships).toEqual([expect.objectContaining({ ifindex: 1, count: 1, type: 2 /* PACKET_MR_ALLMULTI */ })]);
    expect(of(got.fds.plain)).toMatchObject({ protocolName: 'ETH_P_ARP', packet: { fanout: null, rxRing: null, memberships: [] } });
    expectListedLikeSs(got.entries, got.ss);
    const listing = parseSs(got.ss);
    const ssRing = ssMatch(listing, ring)!;
    expect(ssRing.tokens).toEqual(expect.arrayContaining(['ver:2', 'ring_rx(blk_size:4096,blk_nr:2,frm_size:2048,frm_nr:4,tmo:60,features:0x0)']));
    expect(ssMatch(listing, fan)!.tokens).toContain('fanout(id:42,type:lb)');
    expectSameTable(parseSs(got.table), listing);
    // The filter's protocol is the socket's, in network byte order as socket() takes it.
    expect(got.byProtocol).toEqual([[got.fds.fan]]);
    expect(got.byType).toEqual([[got.fds.fan]]);
  });
});
