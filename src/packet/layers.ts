/**
 * The layer objects of `build`, `parse` and `probe`: plain objects tagged by `layer`, each with the
 * fields of its protocol's `encode`/`decode`, so that strict TypeScript narrows a `Layer` by its tag.
 * Fields that the neighbouring layers determine (EtherType, protocol / next header, lengths, checksums)
 * are optional: `build` fills them in, and writes any given value verbatim.
 * @packageDocumentation
 */
import type * as ah from './ah.js';
import type * as arp from './arp.js';
import type * as esp from './esp.js';
import type * as ethernet from './ethernet.js';
import type * as fragment from './fragment.js';
import type * as hopopts from './hopopts.js';
import type * as icmp from './icmp.js';
import type * as icmpv6 from './icmpv6.js';
import type * as igmp from './igmp.js';
import type * as ipv4 from './ipv4.js';
import type * as ipv6 from './ipv6.js';
import type { MldBody } from './mld.js';
import type { NdBody } from './nd.js';
import type * as routing from './routing.js';
import type * as tcp from './tcp.js';
import type * as udp from './udp.js';

/**
 * What a layer decoded from bytes that end before it does carries (inside an ICMP error's quote, in a
 * first fragment, or with `parse(..., { partial: true })`). Nothing is guessed: the fields the bytes
 * did not reach are absent and named in `missing`.
 */
export interface Truncation {
  /** Present (and true) only when the bytes end before the layer does. */
  truncated?: true;
  /** The fields that were cut off, by name; `'payload'` when (part of) the payload is missing. */
  missing?: string[];
  /** How many bytes of the layer were cut off, when a length field (its own or its carrier's) says so. */
  missingBytes?: number;
  /** The bytes of a header field that was cut in the middle (absent when the cut fell between fields). */
  partial?: Buffer;
}

/** An Ethernet II header. `etherType` defaults to the next layer's (IPv4, IPv6, ARP, 802.1Q). */
export interface EthernetLayer {
  layer: 'ethernet';
  /** Destination MAC address. */
  destination: string;
  /** Source MAC address. */
  source: string;
  /** The EtherType (or an 802.1Q/802.1ad TPID when a `vlan` layer follows), 16 bits. */
  etherType?: number;
  /** VLAN tags written inside this header, as `ethernet.encode` takes them (`parse` gives `vlan` layers instead). */
  vlans?: readonly ethernet.VlanTag[];
}

/**
 * An 802.1Q / 802.1ad tag: the tag control information and the EtherType after it. The tag protocol
 * identifier is the previous layer's `etherType` (0x8100 by default, 0x88a8 for a service tag).
 */
export interface VlanLayer {
  layer: 'vlan';
  /** Priority code point, 3 bits; default 0. */
  priority?: number;
  /** Drop eligible indicator; default false. */
  dei?: boolean;
  /** VLAN identifier, 12 bits. */
  id: number;
  /** The EtherType after the tag; default the next layer's. */
  etherType?: number;
}

/** An ARP packet. */
export interface ArpLayer extends arp.Header {
  layer: 'arp';
  /** Bytes after the addresses (Ethernet padding). */
  padding?: Uint8Array;
}

/**
 * An IPv4 header. `protocol` defaults to the next layer's, `totalLength`, `ihl` and `checksum` to the
 * bytes built. `source` must be given to `build` (`probe` fills it from the route).
 */
export interface Ipv4Layer extends Omit<ipv4.Header, 'protocol' | 'source'>, Truncation {
  layer: 'ipv4';
  protocol?: number;
  source?: string;
  /** Decoded: whether the header checksum verifies (ignored by `build`). */
  checksumValid?: boolean;
  /** Bytes of the header after an end-of-options option that are not zero (kept so a packet re-builds as it was). */
  optionsPadding?: Uint8Array;
  /** Bytes after `totalLength` (Ethernet padding), appended after the payload. */
  padding?: Uint8Array;
}

/** An IPv6 fixed header. `nextHeader` defaults to the next layer's (59, no next header, when none follows). */
export interface Ipv6Layer extends Omit<ipv6.Header, 'nextHeader' | 'source'>, Truncation {
  layer: 'ipv6';
  nextHeader?: number;
  /** Must be given to `build` (`probe` fills it from the route). */
  source?: string;
  /** Bytes after `payloadLength` (Ethernet padding), appended after the payload. */
  padding?: Uint8Array;
}

/** An IPv6 Hop-by-Hop Options header. */
export interface HopOptsLayer extends Omit<hopopts.Header, 'nextHeader'> {
  layer: 'hopopts';
  nextHeader?: number;
}

/** An IPv6 Destination Options header. */
export interface DstOptsLayer extends Omit<hopopts.Header, 'nextHeader'> {
  layer: 'dstopts';
  nextHeader?: number;
}

/** An IPv6 Routing header (types 0, 2, 4 typed). Its final destination goes into the upper-layer pseudo-header. */
export interface RoutingLayer extends Omit<routing.Header, 'nextHeader'> {
  layer: 'routing';
  nextHeader?: number;
}

/** An IPv6 Fragment header. */
export interface FragmentLayer extends Omit<fragment.Header, 'nextHeader'> {
  layer: 'fragment';
  nextHeader?: number;
}

/** An IP Authentication Header (opaque ICV). */
export interface AhLayer extends Omit<ah.Header, 'nextHeader'> {
  layer: 'ah';
  nextHeader?: number;
}

/** An IP Encapsulating Security Payload: SPI, sequence, and the opaque rest as `data`. */
export interface EspLayer extends esp.Header {
  layer: 'esp';
  /** The encrypted rest (payload, padding, next header, ICV); none by default. */
  data?: Uint8Array;
}

/**
 * An ICMP message. The errors (3 destination unreachable, 4 source quench, 5 redirect, 11 time exceeded,
 * 12 parameter problem) carry the datagram they quote as `quote`, decoded as layers and marked
 * `truncated` where the quote ends early (RFC 792 quotes only the IP header and 8 bytes).
 */
export interface IcmpLayer extends icmp.Header, Truncation {
  layer: 'icmp';
  /** Decoded: whether the checksum verifies (ignored by `build`). */
  checksumValid?: boolean;
  /** The quoted datagram of an error, as layers (its bytes are written before any following layer). */
  quote?: Layer[];
}

/**
 * An ICMPv6 message. Neighbor Discovery and MLD messages carry their typed `body` (then the word after
 * the checksum and the bytes after it come from it); errors (1 to 4) carry their `quote`.
 */
export interface Icmpv6Layer extends icmpv6.Header, Truncation {
  layer: 'icmpv6';
  /** Decoded: whether the checksum verifies under the pseudo-header (ignored by `build`). */
  checksumValid?: boolean;
  /** The typed body of a Neighbor Discovery or MLD message. */
  body?: NdBody | MldBody;
  /** The quoted packet of an error, as layers. */
  quote?: Layer[];
}

/** An IGMP message (v2, v3). */
export interface IgmpLayer extends igmp.Header {
  layer: 'igmp';
  /** Decoded: whether the checksum verifies (ignored by `build`). */
  checksumValid?: boolean;
}

/**
 * A UDP header. `length` and `checksum` (with the pseudo-header of the IP layer before it) default to
 * the bytes built.
 */
export interface UdpLayer extends udp.Header, Truncation {
  layer: 'udp';
  /**
   * Decoded: whether the checksum verifies (ignored by `build`). A datagram sent on this host and read
   * back on `lo` (or before a NIC's checksum offload) reads false: see `udp.Packet.checksumValid`.
   */
  checksumValid?: boolean;
  /** Bytes after `length` that the IP packet still carries, appended after the payload. */
  padding?: Uint8Array;
}

/** A TCP header. `dataOffset` and `checksum` default to the bytes built. */
export interface TcpLayer extends tcp.Header, Truncation {
  layer: 'tcp';
  /**
   * Decoded: whether the checksum verifies (ignored by `build`). A segment sent on this host and read
   * back on `lo` reads false (CHECKSUM_PARTIAL): see `tcp.Packet.checksumValid`.
   */
  checksumValid?: boolean;
  /** Bytes of the header after an end-of-options option that are not zero. */
  optionsPadding?: Uint8Array;
}

/** Bytes no other layer describes: a payload, or what follows a header of an unknown type. */
export interface RawLayer extends Truncation {
  layer: 'raw';
  data: Uint8Array;
}

/**
 * A Linux cooked capture v2 header (`LINKTYPE_LINUX_SLL2`, what `tcpdump -i any` writes): 20 bytes
 * before the network-layer packet.
 */
export interface Sll2Layer {
  layer: 'sll2';
  /** The EtherType of the packet (0x0800, 0x86dd, ...); default the next layer's. */
  protocol?: number;
  /** The 16 reserved bits; default 0. */
  reserved?: number;
  /** The interface index the packet was seen on, 32 bits. */
  ifindex: number;
  /** The ARPHRD_ type of that interface, 16 bits; default 1 (Ethernet). */
  hatype?: number;
  /** The packet type, 8 bits: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us. */
  pkttype?: number;
  /** The link-layer address length, 8 bits; default the length of `address` (at most 8 are stored). */
  addressLength?: number;
  /** The sender's link-layer address as hex bytes joined by ':'; default none. */
  address?: string;
}

/** One layer of a packet, tagged by `layer`. */
export type Layer =
  | EthernetLayer
  | VlanLayer
  | ArpLayer
  | Ipv4Layer
  | Ipv6Layer
  | HopOptsLayer
  | RoutingLayer
  | FragmentLayer
  | DstOptsLayer
  | AhLayer
  | EspLayer
  | IcmpLayer
  | Icmpv6Layer
  | IgmpLayer
  | UdpLayer
  | TcpLayer
  | RawLayer
  | Sll2Layer;

/** The name of a layer: `'ethernet'`, `'ipv4'`, `'tcp'`, ... */
export type LayerName = Layer['layer'];

/** The layer names, in a fixed order. @internal */
export const LAYER_NAMES: readonly LayerName[] = [
  'ethernet', 'vlan', 'arp', 'ipv4', 'ipv6', 'hopopts', 'routing', 'fragment', 'dstopts', 'ah', 'esp',
  'icmp', 'icmpv6', 'igmp', 'udp', 'tcp', 'raw', 'sll2',
];

/** EtherType of each layer that can follow Ethernet, 802.1Q or SLL2. @internal */
export const ETHERTYPES: Partial<Record<LayerName, number>> = { ipv4: 0x0800, ipv6: 0x86dd, arp: 0x0806, vlan: 0x8100 };

/** Protocol / next header number of each layer that can follow an IP header. @internal */
export const PROTOCOLS: Partial<Record<LayerName, number>> = {
  hopopts: 0, icmp: 1, igmp: 2, ipv4: 4, tcp: 6, udp: 17, ipv6: 41, routing: 43, fragment: 44, esp: 50, ah: 51, icmpv6: 58, dstopts: 60,
};

/** ICMP types whose payload quotes the offending datagram. @internal */
export const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);
/** ICMPv6 types whose payload quotes the offending packet. @internal */
export const ICMPV6_ERRORS = new Set([1, 2, 3, 4]);

/**
 * Byte ranges `[start, end)` of the fixed-header fields of the layers that may be cut short, for
 * truncated decoding and building. @internal
 */
export const FIELDS: Partial<Record<LayerName, [string, number, number][]>> = {
  ipv4: [
    ['version', 0, 1], ['ihl', 0, 1], ['dscp', 1, 2], ['ecn', 1, 2], ['totalLength', 2, 4], ['identification', 4, 6],
    ['reservedFlag', 6, 7], ['dontFragment', 6, 7], ['moreFragments', 6, 7], ['fragmentOffset', 6, 8], ['ttl', 8, 9],
    ['protocol', 9, 10], ['checksum', 10, 12], ['source', 12, 16], ['destination', 16, 20],
  ],
  ipv6: [
    ['version', 0, 1], ['trafficClass', 0, 2], ['flowLabel', 1, 4], ['payloadLength', 4, 6], ['nextHeader', 6, 7],
    ['hopLimit', 7, 8], ['source', 8, 24], ['destination', 24, 40],
  ],
  udp: [['sourcePort', 0, 2], ['destinationPort', 2, 4], ['length', 4, 6], ['checksum', 6, 8]],
  tcp: [
    ['sourcePort', 0, 2], ['destinationPort', 2, 4], ['sequenceNumber', 4, 8], ['acknowledgmentNumber', 8, 12],
    ['dataOffset', 12, 13], ['reserved', 12, 13], ['flags', 12, 14], ['window', 14, 16], ['checksum', 16, 18], ['urgentPointer', 18, 20],
  ],
  icmp: [
    ['type', 0, 1], ['code', 1, 2], ['checksum', 2, 4], ['restOfHeader', 4, 8], ['identifier', 4, 6], ['sequence', 6, 8],
    ['gateway', 4, 8], ['mtu', 6, 8], ['pointer', 4, 5],
  ],
  icmpv6: [
    ['type', 0, 1], ['code', 1, 2], ['checksum', 2, 4], ['restOfHeader', 4, 8], ['identifier', 4, 6], ['sequence', 6, 8],
    ['mtu', 4, 8], ['pointer', 4, 8],
  ],
};
