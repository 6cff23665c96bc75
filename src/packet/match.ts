/**
 * `matches(probe, answer)`: whether a parsed packet answers a probe, by protocol semantics, as `probe`
 * uses it to pair answers with probes sent together.
 * @packageDocumentation
 */
import { invalidArgType, isRevokedProxy } from './errors.js';
import { ICMP_ERRORS, ICMPV6_ERRORS, type Layer } from './layers.js';
import { obj } from './util.js';

type Ip = Extract<Layer, { layer: 'ipv4' | 'ipv6' }>;
type Transport = Extract<Layer, { layer: 'icmp' | 'icmpv6' | 'udp' | 'tcp' }>;

interface View {
  ip?: Ip | undefined;
  arp?: Extract<Layer, { layer: 'arp' }> | undefined;
  transport?: Transport | undefined;
  /** Bytes after the transport header. */
  dataLength: number;
}

function view(layers: readonly Layer[]): View {
  const out: View = { dataLength: 0 };
  for (const l of layers) {
    if ((l.layer === 'ipv4' || l.layer === 'ipv6') && out.ip === undefined) out.ip = l;
    else if (l.layer === 'arp' && out.arp === undefined) out.arp = l;
    else if ((l.layer === 'icmp' || l.layer === 'icmpv6' || l.layer === 'udp' || l.layer === 'tcp') && out.transport === undefined) out.transport = l;
    else if (l.layer === 'raw' && out.transport !== undefined) out.dataLength += l.data.length;
  }
  return out;
}

/** Text of an address for comparison: IPv6 text differs in case and zero compression only through our own formatter. */
const same = (a: unknown, b: unknown): boolean => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

function multicast(address: unknown): boolean {
  if (typeof address !== 'string') return false;
  if (address.includes(':')) return address.toLowerCase().startsWith('ff');
  const first = Number(address.split('.')[0]);
  return (first >= 224 && first <= 239) || address === '255.255.255.255';
}

/** TCP: an answer acknowledges what the probe sent, or (a reset without ACK) takes its acknowledgment number. */
function tcpAnswers(p: Extract<Layer, { layer: 'tcp' }>, a: Extract<Layer, { layer: 'tcp' }>, dataLength: number): boolean {
  if (p.sourcePort !== a.destinationPort || p.destinationPort !== a.sourcePort) return false;
  const seq = p.sequenceNumber ?? 0;
  if (a.flags?.ack) {
    const length = dataLength + (p.flags?.syn ? 1 : 0) + (p.flags?.fin ? 1 : 0);
    const diff = ((a.acknowledgmentNumber ?? 0) - seq + 2 ** 32) % 2 ** 32;
    return length === 0 ? diff === 0 : diff >= 1 && diff <= length;
  }
  return a.flags?.rst === true && (a.sequenceNumber ?? 0) === (p.acknowledgmentNumber ?? 0);
}

function echoAnswers(p: Transport, a: Transport): boolean {
  if (p.layer === 'icmp' && a.layer === 'icmp') {
    const pairs: Record<number, number> = { 8: 0, 13: 14, 15: 16, 17: 18 };
    return pairs[p.type] === a.type && p.identifier === a.identifier && p.sequence === a.sequence;
  }
  if (p.layer === 'icmpv6' && a.layer === 'icmpv6') {
    if (p.type === 128) return a.type === 129 && p.identifier === a.identifier && p.sequence === a.sequence;
    if (p.body?.kind === 'neighborSolicitation') return a.body?.kind === 'neighborAdvertisement' && same(a.body.target, p.body.target);
    if (p.body?.kind === 'routerSolicitation') return a.body?.kind === 'routerAdvertisement';
  }
  return false;
}

/** Whether an ICMP error's quote is of the probe: same addresses and protocol, and every quoted transport field equal. */
function quotes(p: View, quote: readonly Layer[]): boolean {
  const q = view(quote);
  if (p.ip === undefined || q.ip === undefined || q.ip.layer !== p.ip.layer) return false;
  if (!same(q.ip.source, p.ip.source) || !same(q.ip.destination, p.ip.destination)) return false;
  if (p.ip.layer === 'ipv4' && q.ip.layer === 'ipv4' && q.ip.protocol !== p.ip.protocol) return false;
  const pt = p.transport;
  const qt = q.transport;
  if (pt === undefined) return qt === undefined;
  if (qt === undefined || qt.layer !== pt.layer) return false;
  // Compare the fields the quote holds (RFC 792 quotes only 8 bytes of the transport header).
  const keys: string[] =
    pt.layer === 'udp' ? ['sourcePort', 'destinationPort'] : pt.layer === 'tcp' ? ['sourcePort', 'destinationPort', 'sequenceNumber'] : ['type', 'code', 'identifier', 'sequence'];
  return keys.every((k) => {
    const theirs = (qt as unknown as Record<string, unknown>)[k];
    const ours = (pt as unknown as Record<string, unknown>)[k];
    return theirs === undefined || theirs === ours;
  });
}

/**
 * Whether `answer` answers `probe`: an ICMP/ICMPv6 echo reply with the request's identifier and
 * sequence, a Neighbor Advertisement for a solicited target, a TCP segment from the probed port that
 * acknowledges what the probe sent (or a reset taking its acknowledgment number), a UDP datagram from
 * the probed port to the probing one, an ARP reply from the address asked for, or an ICMP/ICMPv6 error
 * whose quote is the probe (same addresses and protocol, and every transport field the quote holds:
 * ports, TCP sequence number, ICMP identifier and sequence). The answer must come from the probed
 * address and go to the probing one (any source for a multicast or broadcast probe).
 * @param probe - the probe as sent, as layers with every field set (`parse(build(layers))`).
 * @param answer - a received packet, parsed.
 * @returns true when it answers the probe.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` when either is not an array.
 */
export function matches(probe: readonly Layer[], answer: readonly Layer[]): boolean {
  if (isRevokedProxy(probe) || !Array.isArray(probe)) throw invalidArgType('probe', 'an array of layers', probe);
  if (isRevokedProxy(answer) || !Array.isArray(answer)) throw invalidArgType('answer', 'an array of layers', answer);
  probe.forEach((l, i) => obj(l, `probe[${i}]`));
  answer.forEach((l, i) => obj(l, `answer[${i}]`));
  const p = view(probe);
  const a = view(answer);
  if (p.arp !== undefined) {
    return a.arp !== undefined && a.arp.operation === 2 && String(a.arp.senderProtocolAddress) === String(p.arp.targetProtocolAddress);
  }
  if (p.ip === undefined || a.ip === undefined || p.ip.layer !== a.ip.layer) return false;
  if (!same(a.ip.destination, p.ip.source)) return false;
  const t = a.transport;
  if ((t?.layer === 'icmp' && ICMP_ERRORS.has(t.type)) || (t?.layer === 'icmpv6' && ICMPV6_ERRORS.has(t.type))) {
    return t.quote !== undefined && quotes(p, t.quote);
  }
  if (!multicast(p.ip.destination) && !same(a.ip.source, p.ip.destination)) return false;
  const pt = p.transport;
  if (pt === undefined || t === undefined) return false;
  if (pt.layer === 'tcp') return t.layer === 'tcp' && tcpAnswers(pt, t, p.dataLength);
  if (pt.layer === 'udp') return t.layer === 'udp' && pt.sourcePort === t.destinationPort && pt.destinationPort === t.sourcePort;
  return echoAnswers(pt, t);
}
