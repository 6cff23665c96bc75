/**
 * rtnetlink (NETLINK_ROUTE) over sockfd's own AF_NETLINK sockets, each opened inside the namespace
 * it acts on with `socketIn`: links (veth pairs, up/down, MTU, IPv6 address generation), addresses
 * and routes — what `ip link`, `ip addr` and `ip route` send, made directly.
 * @internal
 * @packageDocumentation
 */
import { isIP } from 'node:net';
import { invalidArgValue } from '../argerrors.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_FLAGS,
  IFA_F_NODAD,
  IFA_F_PERMANENT,
  IFA_LOCAL,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_GSO_MAX_SEGS,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IN6_ADDR_GEN_MODE_NONE,
  NETLINK_ROUTE,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_STATIC,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  VETH_INFO_PEER,
} from '../constants.generated.js';
import { inet_ntop, inet_pton } from '../inet.js';
import { attrString, cString, encodeAttrs, i32, parseAttributes, u32, u32Bytes, w32, type Attr, type NlMessage } from '../netlink.js';
import { NetlinkSocket } from '../netlinksocket.js';
import type { NetnsRef } from '../socketin.js';
import { SIZEOF_IFADDRMSG, SIZEOF_IFINFOMSG, SIZEOF_RTMSG } from '../sizes.generated.js';


/** struct ifinfomsg: family, type, index, flags, change. */
function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(SIZEOF_IFINFOMSG);
  b[0] = AF_UNSPEC;
  w32(b, index, 4);
  w32(b, flags, 8);
  w32(b, change, 12);
  return b;
}

/** An address with its prefix length, as `ip addr` writes it: '10.0.0.1/24', 'fd00::1/64'. */
export interface Cidr {
  family: number;
  address: string;
  prefixLength: number;
}

/** Parses 'address/prefix' (the prefix defaults to the full length), naming `name` in errors. */
export function parseCidr(text: unknown, name: string): Cidr {
  if (typeof text !== 'string') throw invalidArgValue(name, "must be an address with a prefix length, such as '10.0.0.1/24'", text);
  const [address = '', prefix, extra] = text.split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefixLength = prefix === undefined ? max : Number(prefix);
  if (version === 0 || extra !== undefined || !/^\d{1,3}$/.test(prefix ?? String(max)) || prefixLength > max) {
    throw invalidArgValue(name, "must be an IPv4 or IPv6 address with a prefix length, such as '10.0.0.1/24' or 'fd00::1/64'", text);
  }
  return { family: version === 4 ? AF_INET : AF_INET6, address, prefixLength };
}

/** A link as RTM_GETLINK describes it. */
export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** The hardware address, 'aa:bb:cc:dd:ee:ff' (empty for links without one). */
  mac: string;
  /** IFLA_INFO_KIND: 'veth', ... (undefined for lo and other links without one). */
  kind: string | undefined;
}

/** An address as RTM_GETADDR describes it. */
export interface AddressInfo {
  index: number;
  family: number;
  address: string;
  prefixLength: number;
}

/** A route of the main table as RTM_GETROUTE describes it. */
export interface RouteInfo {
  family: number;
  /** 'default', or 'address/prefix'. */
  destination: string;
  gateway: string | undefined;
  index: number | undefined;
}

/** One rtnetlink conversation with the kernel of one namespace. */
export class Rtnl {
  private readonly nl: NetlinkSocket;

  constructor(
    netns: NetnsRef,
    private readonly label: string,
  ) {
    this.nl = new NetlinkSocket(NETLINK_ROUTE, netns);
  }

  close(): void {
    this.nl.close();
  }

  private request(what: string, type: number, flags: number, header: Buffer, attrs: Attr[], context: string): NlMessage[] {
    return this.nl.request({ what, type, flags, header, attrs, context: `${context} in ${this.label}` });
  }

  links(): LinkInfo[] {
    return this.request('RTM_GETLINK', RTM_GETLINK, NLM_F_DUMP, ifinfomsg(), [], 'listing links')
      .filter((m) => m.type === RTM_NEWLINK)
      .map(decodeLink);
  }

  link(name: string): LinkInfo | undefined {
    return this.links().find((l) => l.name === name);
  }

  /** The index of a link of this namespace, or a clear error naming the namespace. */
  index(name: string): number {
    const l = this.link(name);
    if (!l) throw invalidArgValue('name', `is not a link of ${this.label}`, name);
    return l.index;
  }

  /**
   * A veth pair: `name` here, `peerName` in the namespace open as `peerNsFd` (this one when
   * undefined). `peerGsoMaxSegs` 1 keeps TCP on the peer from building multi-segment (GSO) packets,
   * so that a wire sees, and impairs, one segment at a time.
   */
  addVeth(name: string, peerName: string, options: { peerNsFd?: number; mtu?: number; peerMtu?: number; peerGsoMaxSegs?: number } = {}): void {
    const peerAttrs: Attr[] = [[IFLA_IFNAME, cString(peerName)]];
    if (options.peerNsFd !== undefined) peerAttrs.push([IFLA_NET_NS_FD, u32Bytes(options.peerNsFd)]);
    if (options.peerMtu !== undefined) peerAttrs.push([IFLA_MTU, u32Bytes(options.peerMtu)]);
    if (options.peerGsoMaxSegs !== undefined) peerAttrs.push([IFLA_GSO_MAX_SEGS, u32Bytes(options.peerGsoMaxSegs)]);
    const attrs: Attr[] = [[IFLA_IFNAME, cString(name)]];
    if (options.mtu !== undefined) attrs.push([IFLA_MTU, u32Bytes(options.mtu)]);
    // VETH_INFO_PEER holds an ifinfomsg followed by the peer's attributes, not attributes alone.
    const peer = Buffer.concat([ifinfomsg(), encodeAttrs(peerAttrs)]);
    attrs.push([IFLA_LINKINFO, [[IFLA_INFO_KIND, cString('veth')], [IFLA_INFO_DATA, [[VETH_INFO_PEER, peer]]]]]);
    this.request('RTM_NEWLINK', RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfomsg(), attrs, `creating the veth pair ${name}/${peerName}`);
  }

  /** Sets a link up or down, and/or its MTU (`ip link set`). */
  setLink(index: number, changes: { up?: boolean; mtu?: number; addrGenModeNone?: boolean }, context: string): void {
    const attrs: Attr[] = [];
    if (changes.mtu !== undefined) attrs.push([IFLA_MTU, u32Bytes(changes.mtu)]);
    if (changes.addrGenModeNone) attrs.push([IFLA_AF_SPEC, [[AF_INET6, [[IFLA_INET6_ADDR_GEN_MODE, Buffer.from([IN6_ADDR_GEN_MODE_NONE])]]]]]);
    const flags = changes.up ? IFF_UP : 0;
    const change = changes.up === undefined ? 0 : IFF_UP;
    this.request('RTM_NEWLINK', RTM_NEWLINK, 0, ifinfomsg(index, flags, change), attrs, context);
  }

  /** Deletes a link (a veth's peer goes with it). */
  deleteLink(index: number, context: string): void {
    this.request('RTM_DELLINK', RTM_DELLINK, 0, ifinfomsg(index), [], context);
  }

  /** Adds an address to a link (`ip addr add`); IPv6 addresses skip duplicate address detection. */
  addAddress(index: number, cidr: Cidr, context: string): void {
    const header = Buffer.alloc(SIZEOF_IFADDRMSG);
    header[0] = cidr.family;
    header[1] = cidr.prefixLength;
    header[3] = RT_SCOPE_UNIVERSE;
    w32(header, index, 4);
    const bytes = inet_pton(cidr.family, cidr.address);
    const attrs: Attr[] = [[IFA_ADDRESS, bytes]];
    if (cidr.family === AF_INET) attrs.push([IFA_LOCAL, bytes]);
    // A tentative IPv6 address cannot be bound until DAD ends (about a second): a wire has no other hosts.
    else attrs.push([IFA_FLAGS, u32Bytes(IFA_F_NODAD | IFA_F_PERMANENT)]);
    this.request('RTM_NEWADDR', RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, header, attrs, context);
  }

  addresses(): AddressInfo[] {
    const header = Buffer.alloc(SIZEOF_IFADDRMSG);
    return this.request('RTM_GETADDR', RTM_GETADDR, NLM_F_DUMP, header, [], 'listing addresses')
      .filter((m) => m.type === RTM_NEWADDR)
      .map((m) => {
        const family = m.body[0]!;
        const attrs = parseAttributes(m.body.subarray(SIZEOF_IFADDRMSG));
        const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
        return { index: u32(m.body, 4), family, address: raw ? inet_ntop(family, raw) : '', prefixLength: m.body[1]! };
      });
  }

  /** Adds a route to the main table (`ip route add DEST [via GW] [dev IF]`); `destination` null is the default route. */
  addRoute(family: number, destination: Cidr | null, gateway: string | undefined, index: number | undefined, context: string): void {
    const header = Buffer.alloc(SIZEOF_RTMSG);
    header[0] = family;
    header[1] = destination?.prefixLength ?? 0;
    header[4] = RT_TABLE_MAIN;
    header[5] = RTPROT_STATIC;
    header[6] = gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    header[7] = RTN_UNICAST;
    const attrs: Attr[] = [];
    if (destination && destination.prefixLength > 0) attrs.push([RTA_DST, inet_pton(family, destination.address)]);
    if (gateway !== undefined) attrs.push([RTA_GATEWAY, inet_pton(family, gateway)]);
    if (index !== undefined) attrs.push([RTA_OIF, u32Bytes(index)]);
    this.request('RTM_NEWROUTE', RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, header, attrs, context);
  }

  routes(): RouteInfo[] {
    const header = Buffer.alloc(SIZEOF_RTMSG);
    return this.request('RTM_GETROUTE', RTM_GETROUTE, NLM_F_DUMP, header, [], 'listing routes')
      .filter((m) => m.type === RTM_NEWROUTE && m.body[4] === RT_TABLE_MAIN)
      .map((m) => {
        const family = m.body[0]!;
        const attrs = parseAttributes(m.body.subarray(SIZEOF_RTMSG));
        const dst = attrs.get(RTA_DST);
        const gw = attrs.get(RTA_GATEWAY);
        const oif = attrs.get(RTA_OIF);
        return {
          family,
          destination: dst ? `${inet_ntop(family, dst)}/${m.body[1]}` : 'default',
          gateway: gw ? inet_ntop(family, gw) : undefined,
          index: oif ? u32(oif, 0) : undefined,
        };
      });
  }
}

function decodeLink(m: NlMessage): LinkInfo {
  const attrs = parseAttributes(m.body.subarray(SIZEOF_IFINFOMSG));
  const info = attrs.get(IFLA_LINKINFO);
  const kind = info ? parseAttributes(info).get(IFLA_INFO_KIND) : undefined;
  const mac = attrs.get(IFLA_ADDRESS);
  return {
    index: i32(m.body, 4),
    name: attrString(attrs.get(IFLA_IFNAME) ?? Buffer.alloc(0)),
    mtu: attrs.has(IFLA_MTU) ? u32(attrs.get(IFLA_MTU)!, 0) : 0,
    up: (u32(m.body, 8) & IFF_UP) !== 0,
    mac: mac ? [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':') : '',
    kind: kind ? attrString(kind) : undefined,
  };
}

