// AF_NETLINK / NETLINK_ROUTE with hand-built messages: an RTM_GETLINK dump listing the links of a
// namespace, the kernel's address (port id 0), port ids from bind, multicast groups (RTMGRP_LINK)
// and NLMSG_ERROR replies.
//
// Every test makes its own network namespace (lo up, and a veth pair va <-> vb so there is more than
// one link to list) and runs its sockets in a child node process inside it; the namespace is removed
// after each test, pass or fail. Waits in the child are bounded by SO_RCVTIMEO and poll timeouts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AF_NETLINK } from '../../src/index.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { Netns, netnsUnavailable, pkg, rawUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping raw socket tests:', skip);

checkFdLeaks();

// Netlink headers are in host byte order.
const prelude = `
'use strict';
const s = require(${JSON.stringify(pkg)});
const os = require('node:os');
const le = os.endianness() === 'LE';
const u16 = (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
const u32 = (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
const i32 = (b, o) => (le ? b.readInt32LE(o) : b.readInt32BE(o));
const w16 = (b, v, o) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
const w32 = (b, v, o) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
const wi32 = (b, v, o) => (le ? b.writeInt32LE(v, o) : b.writeInt32BE(v, o));
const NLMSG_ERROR = 2, NLMSG_DONE = 3, RTM_NEWLINK = 16, RTM_GETLINK = 18, IFLA_IFNAME = 3;
const NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_DUMP = 0x300;
const KERNEL = { family: s.AF_NETLINK, pid: 0, groups: 0 };
const buf = Buffer.alloc(65536);

// struct nlmsghdr (16 bytes) + struct ifinfomsg (16 bytes, family AF_UNSPEC).
function getlink(flags, seq, ifindex = 0) {
  const m = Buffer.alloc(32);
  w32(m, 32, 0);              // nlmsg_len
  w16(m, RTM_GETLINK, 4);     // nlmsg_type
  w16(m, flags, 6);           // nlmsg_flags
  w32(m, seq, 8);             // nlmsg_seq
  w32(m, 0, 12);              // nlmsg_pid
  m[16] = 0;                  // ifi_family = AF_UNSPEC
  wi32(m, ifindex, 20);       // ifi_index
  return m;
}
// The messages of one datagram: { type, flags, seq, pid, body }.
function messages(b) {
  const out = [];
  for (let o = 0; o + 16 <= b.length; ) {
    const len = u32(b, o);
    if (len < 16 || o + len > b.length) throw new Error('bad nlmsg_len ' + len + ' at ' + o);
    out.push({ type: u16(b, o + 4), flags: u16(b, o + 6), seq: u32(b, o + 8), pid: u32(b, o + 12), body: b.subarray(o + 16, o + len) });
    o += (len + 3) & ~3;
  }
  return out;
}
// An RTM_NEWLINK body: ifinfomsg, then rtattrs; gives { index, name }.
function link(body) {
  const index = i32(body, 4);
  let name;
  for (let a = 16; a + 4 <= body.length; ) {
    const len = u16(body, a);
    const type = u16(body, a + 2) & 0x3fff;
    if (len < 4 || a + len > body.length) break;
    if (type === IFLA_IFNAME) name = body.toString('utf8', a + 4, a + len).replace(/\\0.*$/s, '');
    a += (len + 3) & ~3;
  }
  return { index, name };
}
function done(value) {
  process.stdout.write(JSON.stringify(value));
}
`;

let ns: Netns;

function run<T>(body: string): T {
  return JSON.parse(ns.node(prelude + body)) as T;
}

describe.skipIf(skip !== null)('AF_NETLINK NETLINK_ROUTE, in a network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
    ns.veth('va', 'vb');
  });
  afterEach(() => {
    ns.destroy();
  });

  it('an RTM_GETLINK dump lists exactly the links of the namespace, by IFLA_IFNAME and index', () => {
    interface Got {
      sent: number;
      links: { index: number; name: string; seq: number }[];
      expected: Record<string, number>;
      done: boolean;
    }
    const got = run<Got>(`
      const fd = s.socket(s.AF_NETLINK, s.SOCK_RAW, s.NETLINK_ROUTE);
      s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO, 2000);
      const sent = s.sendto(fd, getlink(NLM_F_REQUEST | NLM_F_DUMP, 4242), undefined, 0, { family: s.AF_NETLINK });
      const links = [];
      let finished = false;
      for (let i = 0; i < 100 && !finished; i++) {
        const r = s.recvfrom(fd, buf);
        for (const m of messages(buf.subarray(0, r.bytes))) {
          if (m.type === NLMSG_DONE) finished = true;
          else if (m.type === RTM_NEWLINK) links.push({ ...link(m.body), seq: m.seq });
          else throw new Error('unexpected message type ' + m.type);
        }
      }
      s.close(fd);
      const expected = Object.fromEntries(['lo', 'va', 'vb'].map((n) => [n, s.if_nametoindex(n)]));
      done({ sent, links, expected, done: finished });
    `);
    expect(got.sent).toBe(32);
    expect(got.done).toBe(true);
    expect(got.links.map((l) => l.name).sort()).toEqual(['lo', 'va', 'vb']);
    for (const l of got.links) expect(l.index).toBe(got.expected[l.name]);
    expect(new Set(got.links.map((l) => l.seq))).toEqual(new Set([4242]));
  });

  it('recvfrom on a netlink socket gives the kernel\'s address: port id 0, no groups', () => {
    const got = run<unknown[]>(`
      const fd = s.socket(s.AF_NETLINK, s.SOCK_RAW, s.NETLINK_ROUTE);
      s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO, 2000);
      s.sendto(fd, getlink(NLM_F_REQUEST | NLM_F_DUMP, 1), undefined, 0, KERNEL);
      const from = [];
      for (let i = 0; i < 100; i++) {
        const r = s.recvfrom(fd, buf);
        from.push(r.address);
        if (messages(buf.subarray(0, r.bytes)).some((m) => m.type === NLMSG_DONE)) break;
      }
      s.close(fd);
      done(from);
    `);
    expect(got.length).toBeGreaterThan(0);
    for (const a of got) expect(a).toEqual({ family: AF_NETLINK, pid: 0, groups: 0 });
  });

  it('binding a netlink socket to port id 0 gets a port id assigned by the kernel, and replies are addressed to it', () => {
    const got = run<{ name: { family: number; pid: number; groups: number }; replyPid: number }>(`
      const fd = s.socket(s.AF_NETLINK, s.SOCK_RAW, s.NETLINK_ROUTE);
      s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO, 2000);
      s.bind(fd, { family: s.AF_NETLINK, pid: 0, groups: 0 });
      const name = s.getsockname(fd);
      s.sendto(fd, getlink(NLM_F_REQUEST | NLM_F_DUMP, 2), undefined, 0, KERNEL);
      const r = s.recvfrom(fd, buf);
      const replyPid = messages(buf.subarray(0, r.bytes))[0].pid;
      s.close(fd);
      done({ name, replyPid });
    `);
    expect(got.name.family).toBe(AF_NETLINK);
    expect(got.name.pid).toBeGreaterThan(0);
    expect(got.name.groups).toBe(0);
    expect(got.replyPid).toBe(got.name.pid);
  });

  it('a netlink socket bound to the RTMGRP_LINK group is told of a link created in the namespace', () => {
    const got = run<{ name: { groups: number }; announced: string[] }>(`
      const { execFileSync } = require('node:child_process');
      const RTMGRP_LINK = 1;
      const fd = s.socket(s.AF_NETLINK, s.SOCK_RAW, s.NETLINK_ROUTE);
      s.bind(fd, { family: s.AF_NETLINK, pid: 0, groups: RTMGRP_LINK });
      const name = s.getsockname(fd);
      execFileSync('ip', ['link', 'add', 'nl0', 'type', 'veth', 'peer', 'name', 'nl1']);
      const announced = [];
      const end = Date.now() + 3000;
      while (Date.now() < end && !(announced.includes('nl0') && announced.includes('nl1'))) {
        const [r] = s.poll([{ fd, events: s.POLLIN }], end - Date.now());
        if (!(r.revents & s.POLLIN)) break;
        const n = s.recv(fd, buf);
        for (const m of messages(buf.subarray(0, n))) if (m.type === RTM_NEWLINK) announced.push(link(m.body).name);
      }
      s.close(fd);
      done({ name, announced });
    `);
    expect(got.name.groups).toBe(1);
    expect(got.announced).toEqual(expect.arrayContaining(['nl0', 'nl1']));
  });

  it('a request for a link that does not exist is answered with NLMSG_ERROR carrying -ENODEV', () => {
    const got = run<{ type: number; seq: number; error: number; echoedType: number }>(`
      const fd = s.socket(s.AF_NETLINK, s.SOCK_RAW, s.NETLINK_ROUTE);
      s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVTIMEO, 2000);
      s.sendto(fd, getlink(NLM_F_REQUEST | NLM_F_ACK, 77, 999999), undefined, 0, KERNEL);
      const r = s.recvfrom(fd, buf);
      const [m] = messages(buf.subarray(0, r.bytes));
      s.close(fd);
      // struct nlmsgerr: int error, then the request's nlmsghdr.
      done({ type: m.type, seq: m.seq, error: i32(m.body, 0), echoedType: u16(m.body, 8) });
    `);
    expect(got).toEqual({ type: 2, seq: 77, error: -19, echoedType: 18 });
  });
});
