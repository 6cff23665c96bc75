/**
 * sockfd/packet: raw packet crafting and parsing in pure TypeScript, to pair with `SOCK_RAW`,
 * `IP_HDRINCL` and `AF_PACKET` sockets. No native code.
 *
 * One namespace per protocol (`ethernet`, `arp`, `ipv4`, `ipv6`, `icmp`, `icmpv6`, `udp`, `tcp`), each
 * with `encode(header, payload?)` returning a new Buffer and `decode(buffer)` returning the header's
 * fields with the payload as a view into `buffer`. Field values are host numbers and addresses are
 * strings ('192.0.2.1', '2001:db8::1', 'aa:bb:cc:dd:ee:ff'); encoders write network byte order.
 * Length and checksum fields are computed unless the caller gives them, in which case they are written
 * verbatim, so deliberately malformed packets can be built too. UDP, TCP and ICMPv6 take the IP
 * addresses of their pseudo-header as a last argument to compute or verify their checksum.
 *
 * Decoders never read outside their buffer: truncated or inconsistent bytes throw a {@link PacketError}
 * naming the field. Encoders throw RangeError `ERR_OUT_OF_RANGE` / TypeError `ERR_INVALID_ARG_VALUE`
 * for values that cannot be written, as the rest of sockfd does.
 * @example
 * import { ipv4, udp } from 'sockfd/packet';
 * const pseudo = { source: '192.0.2.1', destination: '192.0.2.2' };
 * const datagram = udp.encode({ sourcePort: 4000, destinationPort: 53 }, query, pseudo);
 * const packet = ipv4.encode({ protocol: udp.PROTOCOL, ...pseudo }, datagram);
 * const back = udp.decode(ipv4.decode(packet).payload, pseudo); // back.checksumValid === true
 * @packageDocumentation
 */
export * as ethernet from './ethernet.js';
export * as arp from './arp.js';
export * as ipv4 from './ipv4.js';
export * as ipv6 from './ipv6.js';
export * as icmp from './icmp.js';
export * as icmpv6 from './icmpv6.js';
export * as udp from './udp.js';
export * as tcp from './tcp.js';
export * as hopopts from './hopopts.js';
export * as dstopts from './dstopts.js';
export * as routing from './routing.js';
export * as fragment from './fragmentns.js';
export * as ah from './ah.js';
export * as esp from './esp.js';
export * as igmp from './igmp.js';
export * as nd from './nd.js';
export * as mld from './mld.js';
export { build } from './build.js';
export { parse } from './parse.js';
export type { FirstLayer, ParseOptions } from './parse.js';
export type {
  Layer,
  LayerName,
  Truncation,
  EthernetLayer,
  VlanLayer,
  ArpLayer,
  Ipv4Layer,
  Ipv6Layer,
  HopOptsLayer,
  RoutingLayer,
  FragmentLayer,
  DstOptsLayer,
  AhLayer,
  EspLayer,
  IcmpLayer,
  Icmpv6Layer,
  IgmpLayer,
  UdpLayer,
  TcpLayer,
  RawLayer,
  Sll2Layer,
} from './layers.js';
export { checksum, onesComplementSum, pseudoHeaderSum, pseudoHeaderChecksum } from './checksum.js';
export type { PseudoHeader } from './checksum.js';
export type { RawOption } from './options.js';
export { PacketError } from './errors.js';

/** IP protocol number of ICMP: 1 (the same value as `IPPROTO_ICMP` of `sockfd`). */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP: 6. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP: 17. */
export const IPPROTO_UDP = 17;
/** IP protocol (next header) number of ICMPv6: 58. */
export const IPPROTO_ICMPV6 = 58;
export { matches } from './match.js';
export * as pcap from './pcap.js';
export { probe } from './probe.js';
export type { ProbeLayer, ProbeOptions } from './probe.js';
