// AF_PACKET across a veth pair: Ethernet frames with SOCK_RAW and SOCK_DGRAM, the whole sockaddr_ll in
// both directions, classic BPF filters (SO_ATTACH_FILTER), promiscuous mode through
// PACKET_ADD_MEMBERSHIP, and SO_BINDTODEVICE on a raw socket.
//
// Every test makes its own network namespace with a veth pair va <-> vb in it (both ends up), and runs
// its sockets in a child node process inside it: frames go from one end to the other and nowhere
// else. The namespace is removed after each test, pass or fail. Every wait in a child is bounded by
// poll timeouts, and the child by a 10 s run timeout.
//
// IPv6 on the veth ends sends its own frames (router solicitations, MLD): sockets bound to the
// experimental EtherType 0x88b5 never see them, and ETH_P_ALL sockets filter them out.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AF_PACKET, ARPHRD_ETHER, PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING, htons } from '../../src/index.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { Netns, netnsUnavailable, packetPkg, pkg, rawUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping raw socket tests:', skip);

checkFdLeaks();

/** IEEE 802 local experimental EtherType 1: nothing else in the namespace speaks it. */
const ETHERTYPE = 0x88b5;

const prelude = `
'use strict';
const s = require(${JSON.stringify(pkg)});
const p = require(${JSON.stringify(packetPkg)});
const fs = require('node:fs');
const buf = Buffer.alloc(65536);
const ETHERTYPE = ${ETHERTYPE};
const va = s.if_nametoindex('va');
const vb = s.if_nametoindex('vb');
const mac = (dev) => fs.readFileSync('/sys/class/net/' + dev + '/address', 'utf8').trim();
const macBytes = (text) => Buffer.from(text.split(':').map((x) => parseInt(x, 16)));
function readable(fd, ms) {
  const [r] = s.poll([{ fd, events: s.POLLIN }], ms);
  return (r.revents & s.POLLIN) !== 0;
}
// Every frame that arrives on fd until none has come for quietMs (3 s at most): { data, address }.
function drain(fd, quietMs = 150) {
  const out = [];
  const end = Date.now() + 3000;
  while (Date.now() < end && readable(fd, quietMs)) {
    const r = s.recvfrom(fd, buf);
    out.push({ data: Buffer.from(buf.subarray(0, Math.min(r.bytes, buf.length))), address: r.address });
  }
  return out;
}
// A packet socket, receiving nothing until bound (protocol 0).
const packetSocket = (type) => s.socket(s.AF_PACKET, type, 0);
const bindTo = (fd, ifindex, protocol = ETHERTYPE) => s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(protocol), ifindex });
// Sends a whole Ethernet frame out of va.
function sendFrame(fd, destination, payload, etherType = ETHERTYPE) {
  const frame = p.ethernet.encode({ destination, source: mac('va'), etherType }, payload);
  return s.sendto(fd, frame, undefined, 0, { family: s.AF_PACKET, protocol: s.htons(etherType), ifindex: va });
}
function done(value) {
  process.stdout.write(JSON.stringify(value, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v)));
}
`;

let ns: Netns;

function run<T>(body: string): T {
  return JSON.parse(ns.node(prelude + body)) as T;
}

/** What a child reports of a sockaddr_ll, `addr` as hex. */
interface Sll {
  family: number;
  protocol: number;
  ifindex: number;
  hatype: number;
  pkttype: number;
  halen: number;
  addr: string;
}

interface Links {
  va: number;
  vb: number;
  vaMac: string;
  vbMac: string;
}
const links = `{ va, vb, vaMac: mac('va').replace(/:/g, ''), vbMac: mac('vb').replace(/:/g, '') }`;

describe.skipIf(skip !== null)('AF_PACKET over a veth pair, in a network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
    ns.veth('va', 'vb');
  });
  afterEach(() => {
    ns.destroy();
  });

  it('an Ethernet frame sent with SOCK_RAW on one end of a veth pair arrives whole at the other', () => {
    const got = run<{ links: Links; sent: number; frames: { destination: string; source: string; etherType: number; payload: string }[] }>(`
      const rx = packetSocket(s.SOCK_RAW);
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_RAW);
      const sent = sendFrame(tx, mac('vb'), Buffer.from('across the veth'));
      const frames = drain(rx).map((m) => {
        const e = p.ethernet.decode(m.data);
        return { destination: e.destination, source: e.source, etherType: e.etherType, payload: e.payload.toString() };
      });
      s.close(rx);
      s.close(tx);
      done({ links: ${links}, sent, frames });
    `);
    const colons = (hex: string): string => hex.match(/../g)!.join(':');
    expect(got.sent).toBe(14 + 15);
    expect(got.frames).toEqual([
      { destination: colons(got.links.vbMac), source: colons(got.links.vaMac), etherType: ETHERTYPE, payload: 'across the veth' },
    ]);
  });

  it('recvfrom on AF_PACKET SOCK_RAW gives the sender\'s whole sockaddr_ll: protocol, ifindex, hatype, pkttype, halen, addr', () => {
    const got = run<{ links: Links; from: Sll[] }>(`
      const rx = packetSocket(s.SOCK_RAW);
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.from('who sent this?'));
      const from = drain(rx).map((m) => m.address);
      s.close(rx);
      s.close(tx);
      done({ links: ${links}, from });
    `);
    expect(got.from).toEqual([
      {
        family: AF_PACKET,
        protocol: htons(ETHERTYPE), // network byte order, as in C
        ifindex: got.links.vb,
        hatype: ARPHRD_ETHER,
        pkttype: PACKET_HOST,
        halen: 6,
        addr: got.links.vaMac,
      },
    ]);
  });

  it('getsockname on a bound packet socket gives its own sockaddr_ll, with the interface\'s hardware address', () => {
    const got = run<{ links: Links; name: Sll }>(`
      const fd = packetSocket(s.SOCK_RAW);
      bindTo(fd, vb);
      const name = s.getsockname(fd);
      s.close(fd);
      done({ links: ${links}, name });
    `);
    expect(got.name).toMatchObject({ family: AF_PACKET, protocol: htons(ETHERTYPE), ifindex: got.links.vb, hatype: ARPHRD_ETHER, halen: 6, addr: got.links.vbMac });
  });

  it('sendto on AF_PACKET SOCK_DGRAM with a sockaddr_ll destination builds the Ethernet header', () => {
    const got = run<{ links: Links; sent: number; frames: string[] }>(`
      const rx = packetSocket(s.SOCK_RAW);
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_DGRAM);
      const sent = s.sendto(tx, Buffer.from('link header by the kernel'), undefined, 0,
        { family: s.AF_PACKET, protocol: s.htons(ETHERTYPE), ifindex: va, halen: 6, addr: macBytes(mac('vb')) });
      const frames = drain(rx).map((m) => m.data);
      s.close(rx);
      s.close(tx);
      done({ links: ${links}, sent, frames });
    `);
    expect(got.sent).toBe(25);
    const type = ETHERTYPE.toString(16).padStart(4, '0');
    expect(got.frames).toEqual([got.links.vbMac + got.links.vaMac + type + Buffer.from('link header by the kernel').toString('hex')]);
  });

  it('recvfrom on AF_PACKET SOCK_DGRAM gives the payload without the link header, and the link source in sockaddr_ll', () => {
    const got = run<{ links: Links; received: { data: string; address: Sll }[] }>(`
      const rx = packetSocket(s.SOCK_DGRAM);
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.from('payload only'));
      const received = drain(rx).map((m) => ({ data: m.data.toString(), address: m.address }));
      s.close(rx);
      s.close(tx);
      done({ links: ${links}, received });
    `);
    expect(got.received).toEqual([
      {
        data: 'payload only',
        address: { family: AF_PACKET, protocol: htons(ETHERTYPE), ifindex: got.links.vb, hatype: ARPHRD_ETHER, pkttype: PACKET_HOST, halen: 6, addr: got.links.vaMac },
      },
    ]);
  });

  it('sockaddr_ll pkttype tells frames to this host, broadcast, multicast and another host apart', () => {
    const got = run<{ tag: string; pkttype: number }[]>(`
      const rx = packetSocket(s.SOCK_DGRAM);
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.from('host'));
      sendFrame(tx, p.ethernet.BROADCAST, Buffer.from('broadcast'));
      sendFrame(tx, '01:00:5e:00:00:fb', Buffer.from('multicast'));
      sendFrame(tx, '02:00:00:00:00:99', Buffer.from('otherhost'));
      const seen = drain(rx).map((m) => ({ tag: m.data.toString(), pkttype: m.address.pkttype }));
      s.close(rx);
      s.close(tx);
      done(seen);
    `);
    expect(got).toEqual([
      { tag: 'host', pkttype: PACKET_HOST },
      { tag: 'broadcast', pkttype: PACKET_BROADCAST },
      { tag: 'multicast', pkttype: PACKET_MULTICAST },
      { tag: 'otherhost', pkttype: PACKET_OTHERHOST },
    ]);
  });

  it('an ETH_P_ALL socket on the sending interface sees the frames sent there as PACKET_OUTGOING', () => {
    const got = run<{ links: Links; seen: { payload: string; address: Sll }[] }>(`
      const tap = packetSocket(s.SOCK_RAW);
      bindTo(tap, va, s.ETH_P_ALL);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.from('outbound'));
      const seen = drain(tap)
        .map((m) => ({ e: p.ethernet.decode(m.data), address: m.address }))
        .filter((m) => m.e.etherType === ETHERTYPE)
        .map((m) => ({ payload: m.e.payload.toString(), address: m.address }));
      s.close(tap);
      s.close(tx);
      done({ links: ${links}, seen });
    `);
    expect(got.seen).toHaveLength(1);
    expect(got.seen[0]!.payload).toBe('outbound');
    expect(got.seen[0]!.address).toMatchObject({ ifindex: got.links.va, pkttype: PACKET_OUTGOING, protocol: htons(ETHERTYPE), addr: got.links.vaMac });
  });

  it('a classic BPF program attached with SO_ATTACH_FILTER passes exactly the frames it accepts', () => {
    const got = run<{ etherType: number; tag: number }[]>(`
      const rx = packetSocket(s.SOCK_RAW);
      // Accept EtherType 0x88b5 frames whose first payload byte is 1; drop everything else.
      s.setsockopt(rx, s.SOL_SOCKET, s.SO_ATTACH_FILTER, [
        { code: 0x28, jt: 0, jf: 0, k: 12 },         // ldh [12]          (EtherType)
        { code: 0x15, jt: 0, jf: 3, k: ETHERTYPE },  // jeq #0x88b5, else drop
        { code: 0x30, jt: 0, jf: 0, k: 14 },         // ldb [14]          (first payload byte)
        { code: 0x15, jt: 0, jf: 1, k: 1 },          // jeq #1, else drop
        { code: 0x06, jt: 0, jf: 0, k: 0x40000 },    // ret #262144       (whole frame)
        { code: 0x06, jt: 0, jf: 0, k: 0 },          // ret #0            (drop)
      ]);
      // Bound only once the filter is in place, so that nothing unfiltered is queued.
      bindTo(rx, vb, s.ETH_P_ALL);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.from([1, 1]));
      sendFrame(tx, mac('vb'), Buffer.from([2, 2]));
      sendFrame(tx, mac('vb'), Buffer.from([1, 3]), 0x88b6);
      sendFrame(tx, mac('vb'), Buffer.from([1, 4]), 0x0806);
      sendFrame(tx, p.ethernet.BROADCAST, Buffer.from([1, 5]));
      const seen = drain(rx).map((m) => { const e = p.ethernet.decode(m.data); return { etherType: e.etherType, tag: e.payload[1] }; });
      s.close(rx);
      s.close(tx);
      done(seen);
    `);
    expect(got).toEqual([
      { etherType: ETHERTYPE, tag: 1 },
      { etherType: ETHERTYPE, tag: 5 },
    ]);
  });

  it('a BPF program returning a length cuts each accepted frame to that many bytes', () => {
    const got = run<number[]>(`
      const rx = packetSocket(s.SOCK_RAW);
      s.setsockopt(rx, s.SOL_SOCKET, s.SO_ATTACH_FILTER, [{ code: 0x06, jt: 0, jf: 0, k: 16 }]); // ret #16
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.alloc(100, 7));
      const lengths = drain(rx).map((m) => m.data.length);
      s.close(rx);
      s.close(tx);
      done(lengths);
    `);
    expect(got).toEqual([16]);
  });

  it('SO_DETACH_FILTER removes the filter and lets every frame through again', () => {
    const got = run<{ filtered: number; detached: number }>(`
      const rx = packetSocket(s.SOCK_RAW);
      s.setsockopt(rx, s.SOL_SOCKET, s.SO_ATTACH_FILTER, [{ code: 0x06, jt: 0, jf: 0, k: 0 }]); // drop all
      bindTo(rx, vb);
      const tx = packetSocket(s.SOCK_RAW);
      sendFrame(tx, mac('vb'), Buffer.from('dropped'));
      const filtered = drain(rx).length;
      s.setsockopt(rx, s.SOL_SOCKET, s.SO_DETACH_FILTER, 0);
      sendFrame(tx, mac('vb'), Buffer.from('passed'));
      const detached = drain(rx).length;
      s.close(rx);
      s.close(tx);
      done({ filtered, detached });
    `);
    expect(got).toEqual({ filtered: 0, detached: 1 });
  });

  it('PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC puts the interface in promiscuous mode until the socket closes', () => {
    const IFF_PROMISC = 0x100;
    const got = run<{ before: number; during: number; promiscuity: number; after: number; afterPromiscuity: number }>(`
      const { execFileSync } = require('node:child_process');
      const flags = () => Number(fs.readFileSync('/sys/class/net/vb/flags', 'utf8'));
      const promiscuity = () => JSON.parse(execFileSync('ip', ['-d', '-j', 'link', 'show', 'vb'], { encoding: 'utf8' }))[0].promiscuity;
      const before = flags();
      const fd = packetSocket(s.SOCK_RAW);
      s.setsockopt(fd, s.SOL_PACKET, s.PACKET_ADD_MEMBERSHIP, { ifindex: vb, type: s.PACKET_MR_PROMISC });
      const during = flags();
      const count = promiscuity();
      s.close(fd);
      done({ before, during, promiscuity: count, after: flags(), afterPromiscuity: promiscuity() });
    `);
    expect(got.before & IFF_PROMISC).toBe(0);
    expect(got.during & IFF_PROMISC).toBe(IFF_PROMISC);
    expect(got.promiscuity).toBe(1);
    expect(got.after & IFF_PROMISC).toBe(0);
    expect(got.afterPromiscuity).toBe(0);
  });

  it('PACKET_DROP_MEMBERSHIP ends promiscuous mode while the socket stays open', () => {
    const IFF_PROMISC = 0x100;
    const got = run<{ during: number; dropped: number }>(`
      const flags = () => Number(fs.readFileSync('/sys/class/net/vb/flags', 'utf8'));
      const fd = packetSocket(s.SOCK_RAW);
      const mreq = { ifindex: vb, type: s.PACKET_MR_PROMISC };
      s.setsockopt(fd, s.SOL_PACKET, s.PACKET_ADD_MEMBERSHIP, mreq);
      const during = flags();
      s.setsockopt(fd, s.SOL_PACKET, s.PACKET_DROP_MEMBERSHIP, mreq);
      const dropped = flags();
      s.close(fd);
      done({ during, dropped });
    `);
    expect(got.during & IFF_PROMISC).toBe(IFF_PROMISC);
    expect(got.dropped & IFF_PROMISC).toBe(0);
  });

  it('getsockopt SO_BINDTODEVICE names the device a raw socket was bound to', () => {
    const got = run<{ unbound: string; bound: string }>(`
      const fd = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      const unbound = s.getsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE);
      s.setsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE, 'vb');
      const bound = s.getsockopt(fd, s.SOL_SOCKET, s.SO_BINDTODEVICE);
      s.close(fd);
      done({ unbound, bound });
    `);
    expect(got).toEqual({ unbound: '', bound: 'vb' });
  });

  it('a raw ICMP socket with SO_BINDTODEVICE receives only the packets that arrived on that device', () => {
    // vb is a "host" 10.9.0.2/24; an echo request reaches it through va as an Ethernet frame from
    // 10.9.0.7 (not a local address, so the kernel takes it). Loopback pings are the other traffic.
    ns.ip('addr', 'add', '10.9.0.2/24', 'dev', 'vb');
    const got = run<{ bound: [string, number][]; unbound: [string, number][] }>(`
      const bound = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      s.setsockopt(bound, s.SOL_SOCKET, s.SO_BINDTODEVICE, 'vb');
      const unbound = s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP);
      // Through lo: an echo request to 127.0.0.1 and the kernel's reply.
      s.sendto(unbound, p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 0x1010, sequence: 1 }), undefined, 0, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      // Through vb: an echo request framed by hand on va.
      const tx = packetSocket(s.SOCK_DGRAM);
      const packet = p.ipv4.encode({ protocol: p.IPPROTO_ICMP, source: '10.9.0.7', destination: '10.9.0.2' }, p.icmp.encode({ type: p.icmp.ECHO_REQUEST, identifier: 0x2020, sequence: 1 }));
      s.sendto(tx, packet, undefined, 0, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_IP), ifindex: va, addr: macBytes(mac('vb')) });
      const summary = (fd) => drain(fd).map((m) => { const ip = p.ipv4.decode(m.data); const icmp = p.icmp.decode(ip.payload); return [ip.source + '>' + ip.destination, icmp.identifier]; });
      const result = { bound: summary(bound), unbound: summary(unbound) };
      for (const fd of [bound, unbound, tx]) s.close(fd);
      done(result);
    `);
    expect(got.bound).toEqual([['10.9.0.7>10.9.0.2', 0x2020]]);
    expect(got.unbound).toEqual(
      expect.arrayContaining([
        ['127.0.0.1>127.0.0.1', 0x1010],
        ['10.9.0.7>10.9.0.2', 0x2020],
      ]),
    );
  });
});
