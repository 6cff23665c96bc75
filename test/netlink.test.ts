// The netlink layer that listSockets, the hand-off helpers and sockfd/netns share (src/netlink.ts for
// the framing, src/netlinksocket.ts for the exchanges): messages and attributes laid out as
// <linux/netlink.h> says, the outcome of NLMSG_ERROR and NLMSG_DONE with and without extended acks,
// then requests and dumps against the kernel of namespaces the tests make, held against iproute2's
// `ip` (what it lists, what it prints for the same refusal), the kernel's refusals as SystemErrors
// named after the request, and the bounded wait for an answer that never comes.
import { execFileSync, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  IFF_UP,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  NETLINK_ROUTE,
  NLA_F_NESTED,
  NLMSGERR_ATTR_MSG,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  RTM_GETLINK,
  RTM_NEWLINK,
  SystemError,
} from '../src/index.js';
import { attrString, cString, encodeAttrs, encodeMessage, messageOutcome, parseAttributes, parseMessages, type NlMessage } from '../src/netlink.js';
import { NetlinkSocket } from '../src/netlinksocket.js';
import { createNamespace, type Namespace } from '../src/netns/index.js';
import { SIZEOF_IFINFOMSG } from '../src/sizes.generated.js';
import { expectNothingLeft, leftovers, netnsCapsMissing, toolMissing } from './helpers/caps.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const skip = netnsCapsMissing() ?? toolMissing('ip', 'iproute2');
if (skip) console.log('skipping the netlink exchanges with the kernel:', skip);

const LE = os.endianness() === 'LE';

/** Host-order bytes, written the way the kernel's structs hold them. */
function host(...fields: [bits: 8 | 16 | 32, value: number][]): Buffer {
  const b = Buffer.alloc(fields.reduce((n, [bits]) => n + bits / 8, 0));
  let o = 0;
  for (const [bits, v] of fields) {
    if (bits === 8) b.writeUInt8(v, o);
    else if (bits === 16) LE ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o);
    else LE ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o);
    o += bits / 8;
  }
  return b;
}

/** A struct nlmsghdr followed by `body`. */
function message(type: number, flags: number, seq: number, body: Buffer): Buffer {
  return Buffer.concat([host([32, NLMSG_HDRLEN + body.length], [16, type], [16, flags], [32, seq], [32, 0]), body]);
}

const nlMessage = (type: number, flags: number, body: Buffer): NlMessage => ({ type, flags, seq: 0, pid: 0, body });

describe('framing', () => {
  it('encodeMessage writes the nlmsghdr, pads the fixed header to 4 bytes and appends the attributes, nested ones inside their parent', () => {
    const got = encodeMessage(RTM_NEWLINK, 0x405, 77, Buffer.from([1, 2, 3]), [
      [IFLA_IFNAME, cString('ab')],
      [IFLA_LINKINFO, [[IFLA_INFO_KIND, cString('veth')]]],
    ]);
    const ifname = Buffer.concat([host([16, 7], [16, IFLA_IFNAME]), Buffer.from('ab\0'), Buffer.alloc(1)]);
    const kind = Buffer.concat([host([16, 9], [16, IFLA_INFO_KIND]), Buffer.from('veth\0'), Buffer.alloc(3)]);
    const linkinfo = Buffer.concat([host([16, 4 + kind.length], [16, IFLA_LINKINFO]), kind]);
    expect(got).toEqual(message(RTM_NEWLINK, 0x405, 77, Buffer.concat([Buffer.from([1, 2, 3, 0]), ifname, linkinfo])));
  });

  it('parseMessages splits a datagram into its messages, each padded to 4 bytes, bodies as written', () => {
    const a = message(RTM_NEWLINK, 2, 5, Buffer.from([9, 9, 9])); // 19 bytes, padded to 20
    const b = message(NLMSG_DONE, 2, 5, host([32, 0]));
    const got = parseMessages(Buffer.concat([a, Buffer.alloc(1), b]));
    expect(got.map((m) => [m.type, m.flags, m.seq, m.pid, [...m.body]])).toEqual([
      [RTM_NEWLINK, 2, 5, 0, [9, 9, 9]],
      [NLMSG_DONE, 2, 5, 0, [0, 0, 0, 0]],
    ]);
    expect(parseMessages(Buffer.alloc(0))).toEqual([]);
  });

  it('parseAttributes masks the NLA_F_* bits off the type, and the last of a repeated type wins', () => {
    const list = encodeAttrs([
      [3 | NLA_F_NESTED, Buffer.from([1])],
      [4, Buffer.from([2])],
      [4, Buffer.from([3, 3])],
    ]);
    const attrs = parseAttributes(list);
    expect([...attrs.keys()]).toEqual([3, 4]);
    expect(attrs.get(4)).toEqual(Buffer.from([3, 3]));
  });

  it('messageOutcome reads an ACK as errno 0 and an error as its positive errno, without text when there are no extended-ack attributes', () => {
    const request = message(RTM_GETLINK, 1, 1, Buffer.alloc(16));
    expect(messageOutcome(nlMessage(NLMSG_ERROR, 0, Buffer.concat([host([32, 0]), request])))).toEqual({ errno: 0, text: undefined });
    expect(messageOutcome(nlMessage(NLMSG_ERROR, 0, Buffer.concat([host([32, -19]), request])))).toEqual({ errno: 19, text: undefined });
    expect(messageOutcome(nlMessage(NLMSG_DONE, 0, host([32, -2])))).toEqual({ errno: 2, text: undefined });
  });

  it('messageOutcome finds NLMSGERR_ATTR_MSG after the whole request, after its header alone when capped, and right after the errno of NLMSG_DONE', () => {
    const text = encodeAttrs([[NLMSGERR_ATTR_MSG, cString('Unknown device type')]]);
    const request = message(RTM_NEWLINK, 1, 1, Buffer.alloc(21)); // 37 bytes, padded to 40
    const uncapped = Buffer.concat([host([32, -95]), request, Buffer.alloc(3), text]);
    const capped = Buffer.concat([host([32, -95]), request.subarray(0, NLMSG_HDRLEN), text]);
    expect(messageOutcome(nlMessage(NLMSG_ERROR, NLM_F_ACK_TLVS, uncapped))).toEqual({ errno: 95, text: 'Unknown device type' });
    expect(messageOutcome(nlMessage(NLMSG_ERROR, NLM_F_ACK_TLVS | NLM_F_CAPPED, capped))).toEqual({ errno: 95, text: 'Unknown device type' });
    expect(messageOutcome(nlMessage(NLMSG_DONE, NLM_F_ACK_TLVS, Buffer.concat([host([32, -22]), text])))).toEqual({ errno: 22, text: 'Unknown device type' });
  });

  it('attrString stops at the first NUL, and takes all of an attribute without one', () => {
    expect(attrString(Buffer.from('eth0\0\0junk'))).toBe('eth0');
    expect(attrString(Buffer.from('lo'))).toBe('lo');
  });
});

describe.skipIf(skip !== null)('exchanges with the kernel', () => {
  const namespaces: Namespace[] = [];
  let before: ReturnType<typeof leftovers>;
  beforeEach(() => {
    before = leftovers();
  });
  afterEach(async () => {
    for (const ns of namespaces.splice(0)) await ns.close();
    expectNothingLeft(before);
  });

  /** A namespace of the test's own (lo left down), with `ip` adding a veth pair in it. */
  function namespaceWithVeth(): Namespace {
    const ns = createNamespace(undefined, { loopback: false });
    namespaces.push(ns);
    execFileSync('ip', ['-n', ns.name, 'link', 'add', 'nla0', 'type', 'veth', 'peer', 'name', 'nla1']);
    return ns;
  }

  const linkName = (m: NlMessage): string => attrString(parseAttributes(m.body.subarray(SIZEOF_IFINFOMSG)).get(IFLA_IFNAME)!);

  it("a dump returns every message before NLMSG_DONE: the namespace's links, as ip lists them", () => {
    const ns = namespaceWithVeth();
    const nl = new NetlinkSocket(NETLINK_ROUTE, ns.name);
    try {
      const links = nl.request({ what: 'RTM_GETLINK', type: RTM_GETLINK, flags: NLM_F_DUMP, header: Buffer.alloc(SIZEOF_IFINFOMSG) });
      const ip = execFileSync('ip', ['-n', ns.name, '-o', 'link', 'show'], { encoding: 'utf8' });
      const names = ip.trim().split('\n').map((l) => l.split(': ')[1]!.split('@')[0]!);
      expect(links.every((m) => m.type === RTM_NEWLINK)).toBe(true);
      expect(links.map(linkName)).toEqual(names);
      expect(names).toEqual(expect.arrayContaining(['lo', 'nla0', 'nla1']));
    } finally {
      nl.close();
    }
  });

  it('a request returns once the kernel acks it, and what it asked for is done: ip sees the link up', () => {
    const ns = namespaceWithVeth();
    const up = (): boolean => /[<,]UP[,>]/.test(execFileSync('ip', ['-n', ns.name, 'link', 'show', 'lo'], { encoding: 'utf8' }));
    expect(up()).toBe(false);
    // struct ifinfomsg: family, pad, type, index (lo is 1 in every namespace), flags, change.
    const ifinfo = host([8, 0], [8, 0], [16, 0], [32, 1], [32, IFF_UP], [32, IFF_UP]);
    const nl = new NetlinkSocket(NETLINK_ROUTE, ns.name);
    try {
      expect(nl.request({ what: 'RTM_NEWLINK', type: RTM_NEWLINK, flags: 0, header: ifinfo })).toEqual([]);
    } finally {
      nl.close();
    }
    expect(up()).toBe(true);
  });

  it('the messages request() returns are copies: a later exchange on the same socket does not change them', () => {
    const ns = namespaceWithVeth();
    const nl = new NetlinkSocket(NETLINK_ROUTE, ns.name);
    try {
      const dump = { what: 'RTM_GETLINK', type: RTM_GETLINK, flags: NLM_F_DUMP, header: Buffer.alloc(SIZEOF_IFINFOMSG) };
      const first = nl.request(dump);
      const saved = first.map((m) => Buffer.from(m.body));
      nl.request(dump);
      nl.request(dump);
      expect(first.map((m) => m.body)).toEqual(saved);
    } finally {
      nl.close();
    }
  });

  it("a refused request is a SystemError named after it, with the kernel's extended-ack text, the same text ip prints", () => {
    const ns = namespaceWithVeth();
    const header = Buffer.alloc(SIZEOF_IFINFOMSG);
    const nl = new NetlinkSocket(NETLINK_ROUTE, ns.name);
    let err: SystemError;
    try {
      err = thrown<SystemError>(() =>
        nl.request({
          what: 'RTM_NEWLINK',
          type: RTM_NEWLINK,
          flags: NLM_F_CREATE | NLM_F_EXCL,
          header,
          attrs: [
            [IFLA_IFNAME, cString('nla2')],
            [IFLA_LINKINFO, [[IFLA_INFO_KIND, cString('sockfd-no-such-kind')]]],
          ],
          context: 'creating nla2',
        }),
      );
    } finally {
      nl.close();
    }
    const ip = spawnSync('ip', ['-n', ns.name, 'link', 'add', 'nla2', 'type', 'sockfd-no-such-kind'], { encoding: 'utf8' });
    const said = /Error: (.*?)\.?$/m.exec(ip.stderr)?.[1];
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ errno: -95, syscall: 'RTM_NEWLINK' });
    expect(said, ip.stderr).toBeTruthy();
    expect(err.message).toBe(`RTM_NEWLINK ${err.code} (creating nla2: ${said})`);
  });

  it('a request the kernel never answers ends after the bounded wait (5 s) with EAGAIN, named after the request', () => {
    const ns = namespaceWithVeth();
    const nl = new NetlinkSocket(NETLINK_ROUTE, ns.name);
    try {
      // A dump of NLMSG_NOOP: the kernel only acks a message below NLMSG_MIN_TYPE when asked to (NLM_F_ACK).
      const err = thrown<SystemError>(() => nl.request({ what: 'NLMSG_NOOP', type: NLMSG_NOOP, flags: NLM_F_DUMP, header: Buffer.alloc(0) }));
      expect(err).toBeInstanceOf(SystemError);
      expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'NLMSG_NOOP' });
      expect(err.message).toContain('the kernel did not answer NLMSG_NOOP within 5000 ms');
      // The socket still works for the next request.
      expect(nl.request({ what: 'RTM_GETLINK', type: RTM_GETLINK, flags: NLM_F_DUMP, header: Buffer.alloc(SIZEOF_IFINFOMSG) }).length).toBeGreaterThanOrEqual(3);
    } finally {
      nl.close();
    }
  }, 20_000);
});
