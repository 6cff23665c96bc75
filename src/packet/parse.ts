/**
 * `parse(bytes, first)`: a packet as layer objects, outermost first, each with the fields of its
 * protocol's decoder, so that `build(parse(b))` gives back `b` byte for byte.
 * @packageDocumentation
 */
import * as ah from './ah.js';
import * as arp from './arp.js';
import type { PseudoHeader } from './checksum.js';
import { PacketError, invalidArgValue } from './errors.js';
import * as esp from './esp.js';
import * as fragment from './fragment.js';
import { decodeOptionsHeader } from './hopopts.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import * as igmp from './igmp.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import { FIELDS, ICMP_ERRORS, ICMPV6_ERRORS, LAYER_NAMES, type Layer, type LayerName, type Truncation } from './layers.js';
import * as mld from './mld.js';
import * as nd from './nd.js';
import * as routing from './routing.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import { asBuffer, formatHwAddr, need, obj } from './util.js';

/** Options of {@link parse}. */
export interface ParseOptions {
  /**
   * Decode what the bytes hold instead of refusing them: a layer the bytes end inside is marked
   * `truncated` (with what is `missing`), and bytes that do not decode as the layer they should be
   * are kept as a `raw` layer. For capture files cut at a snapshot length, and what ICMP errors quote
   * (which `parse` always decodes this way). Default false: malformed bytes throw a PacketError.
   */
  partial?: boolean;
}

/** The first layer `parse` may be asked for: a layer name, or `'ip'` (IPv4 or IPv6 by the version nibble). */
export type FirstLayer = LayerName | 'ip';

const ETHERTYPE_LAYERS = new Map<number, LayerName>([
  [0x0800, 'ipv4'],
  [0x86dd, 'ipv6'],
  [0x0806, 'arp'],
  [0x8100, 'vlan'],
  [0x88a8, 'vlan'],
  [0x9100, 'vlan'],
]);
const PROTOCOL_LAYERS = new Map<number, LayerName>([
  [0, 'hopopts'], [1, 'icmp'], [2, 'igmp'], [4, 'ipv4'], [6, 'tcp'], [17, 'udp'], [41, 'ipv6'],
  [43, 'routing'], [44, 'fragment'], [50, 'esp'], [51, 'ah'], [58, 'icmpv6'], [60, 'dstopts'],
]);
/** Next-header values that are IPv6 extension headers (valid only after IPv6). */
const V6_ONLY = new Set<LayerName>(['hopopts', 'routing', 'fragment', 'dstopts', 'icmpv6']);

interface State {
  partial: boolean;
  /** The bytes the carrier says this layer has (header and payload), when it says. */
  expected?: number | undefined;
  pseudo?: PseudoHeader | undefined;
  v6: boolean;
}

interface Step {
  layer: Layer;
  next?: LayerName | undefined;
  rest: Buffer;
  /** The layer's own extent from its own length field. */
  own?: number;
  /** The extent of the next layer. */
  expected?: number | undefined;
  pseudo?: PseudoHeader | undefined;
  /** The rest is a first fragment: decode it partially. */
  partial?: boolean;
  v6?: boolean;
}

const EMPTY = Buffer.alloc(0);

/** Fields of a decoded object without its payload and, when it is truncated, without a checksum verdict. */
function fields<T extends { payload?: Buffer; checksumValid?: boolean }>(d: T, cut: boolean): Omit<T, 'payload'> {
  const { payload: _p, ...rest } = d;
  if (cut) delete (rest as { checksumValid?: boolean }).checksumValid;
  return rest;
}

/** `b` zero-extended to `size` bytes (a copy) when shorter: for decoding a header whose payload is cut. */
function padded(b: Buffer, size: number): Buffer {
  if (size <= b.length) return b;
  const p = Buffer.alloc(size);
  b.copy(p);
  return p;
}

/** A non-zero tail of `original` that `reencoded` lacks (bytes after an end-of-options option), or undefined. */
function tail(original: Buffer, reencoded: Buffer): Buffer | undefined {
  for (let i = 0; i < original.length; i++) if (original[i] !== reencoded[i]) return original.subarray(i);
  return undefined;
}

/** The next layer after an IP header or extension header, by protocol number. */
function byProtocol(n: number, v6: boolean, rest: Buffer): LayerName | undefined {
  const kind = PROTOCOL_LAYERS.get(n);
  if (kind !== undefined && (v6 || !V6_ONLY.has(kind))) return kind;
  return rest.length > 0 ? 'raw' : undefined;
}

/**
 * Decodes a header the bytes end inside: the fields wholly present, the others named in `missing`.
 * @throws PacketError when even the present bytes are not this protocol's (a wrong version, a header
 *   length below its minimum).
 */
function headerCut(kind: LayerName, b: Buffer): Layer {
  const n = b.length;
  let size: number;
  let d: Record<string, unknown>;
  let options = 0;
  switch (kind) {
    case 'ipv4': {
      size = Math.max(20, (b[0]! & 15) * 4);
      const p = padded(b, size);
      if (n < 1) p[0] = 0x45;
      p.writeUInt16BE(size, 2);
      d = ipv4.decode(p) as unknown as Record<string, unknown>;
      if (n >= 4) d.totalLength = b.readUInt16BE(2);
      options = size;
      break;
    }
    case 'ipv6': {
      size = 40;
      const p = padded(b, size);
      p.writeUInt16BE(0, 4);
      d = ipv6.decode(p) as unknown as Record<string, unknown>;
      if (n >= 6) d.payloadLength = b.readUInt16BE(4);
      break;
    }
    case 'udp': {
      size = 8;
      const p = padded(b, size);
      p.writeUInt16BE(8, 4);
      d = udp.decode(p) as unknown as Record<string, unknown>;
      if (n >= 6) d.length = b.readUInt16BE(4);
      break;
    }
    case 'tcp': {
      size = n >= 13 ? Math.max(20, (b[12]! >> 4) * 4) : 20;
      const p = padded(b, size);
      if (n < 13) p[12] = 0x50;
      d = tcp.decode(p) as unknown as Record<string, unknown>;
      options = size;
      break;
    }
    case 'icmp':
    case 'icmpv6':
      size = 8;
      d = (kind === 'icmp' ? icmp.decode(padded(b, 8)) : icmpv6.decode(padded(b, 8))) as unknown as Record<string, unknown>;
      break;
    default:
      throw new PacketError(kind, 'header', 0, `the buffer has ${n} bytes, too few for a ${kind} header`);
  }
  delete d.payload;
  delete d.checksumValid;
  const missing: string[] = [];
  let cut = n;
  for (const [field, start, end] of FIELDS[kind]!) {
    if (end > n && field in d) {
      delete d[field];
      missing.push(field);
      cut = Math.min(cut, start);
    }
  }
  if (options > 20 && n < options) {
    delete d.options;
    missing.push('options');
    cut = Math.min(cut, 20);
  }
  missing.push('payload');
  const out = { layer: kind, ...d, truncated: true, missing } as Layer & Truncation;
  if (cut < n) out.partial = b.subarray(cut, n);
  return out;
}

function step(kind: LayerName, b: Buffer, st: State): Step {
  const cut = st.partial && st.expected !== undefined && st.expected > b.length;
  switch (kind) {
    case 'ethernet': {
      need('ethernet', 'header', b.length, 0, 14);
      const etherType = b.readUInt16BE(12);
      const rest = b.subarray(14);
      return {
        layer: { layer: 'ethernet', destination: formatHwAddr(b, 0, 6), source: formatHwAddr(b, 6, 6), etherType },
        next: ETHERTYPE_LAYERS.get(etherType) ?? 'raw',
        rest,
      };
    }
    case 'vlan': {
      need('vlan', 'header', b.length, 0, 4);
      const tci = b.readUInt16BE(0);
      const etherType = b.readUInt16BE(2);
      return { layer: { layer: 'vlan', priority: tci >> 13, dei: (tci & 0x1000) !== 0, id: tci & 0xfff, etherType }, next: ETHERTYPE_LAYERS.get(etherType) ?? 'raw', rest: b.subarray(4) };
    }
    case 'sll2': {
      need('sll2', 'header', b.length, 0, 20);
      const protocol = b.readUInt16BE(0);
      const addressLength = b[11]!;
      const stored = b.subarray(12, 20);
      const shown = addressLength <= 8 && stored.subarray(addressLength).every((x) => x === 0) ? addressLength : 8;
      const layer: Layer = { layer: 'sll2', protocol, reserved: b.readUInt16BE(2), ifindex: b.readUInt32BE(4), hatype: b.readUInt16BE(8), pkttype: b[10]!, addressLength };
      if (shown > 0) layer.address = formatHwAddr(stored, 0, shown);
      return { layer, next: ETHERTYPE_LAYERS.get(protocol) ?? 'raw', rest: b.subarray(20) };
    }
    case 'arp': {
      const d = arp.decode(b);
      const layer: Layer = { layer: 'arp', ...fields(d, false) };
      if (d.payload.length > 0) layer.padding = d.payload;
      return { layer, rest: EMPTY };
    }
    case 'ipv4': {
      if (st.partial && (b.length < 20 || b.length < (b[0]! & 15) * 4)) return { layer: headerCut('ipv4', b), rest: EMPTY };
      const total = b.length >= 4 ? b.readUInt16BE(2) : 0;
      const long = st.partial && total > b.length;
      const d = ipv4.decode(long ? padded(b, total) : b);
      const hl = d.ihl * 4;
      const layer: Layer = { layer: 'ipv4', ...fields(d, false) };
      const again = ipv4.encode(d).subarray(0, hl);
      const extra = tail(b.subarray(0, hl), again);
      if (extra !== undefined) layer.optionsPadding = extra;
      if (d.totalLength < b.length) layer.padding = b.subarray(d.totalLength);
      const rest = b.subarray(hl, Math.min(d.totalLength, b.length));
      const fragmented = d.moreFragments || d.fragmentOffset > 0;
      return {
        layer,
        next: d.fragmentOffset > 0 ? (rest.length > 0 ? 'raw' : undefined) : byProtocol(d.protocol, false, rest),
        rest,
        own: d.totalLength,
        expected: d.totalLength - hl,
        pseudo: { source: d.source, destination: d.destination },
        partial: fragmented,
        v6: false,
      };
    }
    case 'ipv6': {
      if (st.partial && b.length < 40) return { layer: headerCut('ipv6', b), rest: EMPTY };
      const own = b.length >= 6 ? 40 + b.readUInt16BE(4) : 0;
      const d = ipv6.decode(st.partial && own > b.length ? padded(b, own) : b);
      const layer: Layer = { layer: 'ipv6', ...fields(d, false) };
      if (40 + d.payloadLength < b.length) layer.padding = b.subarray(40 + d.payloadLength);
      const rest = b.subarray(40, Math.min(40 + d.payloadLength, b.length));
      return { layer, next: byProtocol(d.nextHeader, true, rest), rest, own: 40 + d.payloadLength, expected: d.payloadLength, pseudo: { source: d.source, destination: d.destination }, v6: true };
    }
    case 'hopopts':
    case 'dstopts': {
      const d = decodeOptionsHeader(b, kind);
      const size = b.length - d.payload.length;
      return { layer: { layer: kind, ...fields(d, false) }, next: byProtocol(d.nextHeader, true, d.payload), rest: d.payload, expected: minus(st.expected, size) };
    }
    case 'routing': {
      const d = routing.decode(b);
      const final = routing.finalDestination(d);
      const pseudo = final !== undefined && st.pseudo !== undefined ? { source: st.pseudo.source, destination: final } : st.pseudo;
      const size = b.length - d.payload.length;
      return { layer: { layer: 'routing', ...fields(d, false) }, next: byProtocol(d.nextHeader, true, d.payload), rest: d.payload, expected: minus(st.expected, size), pseudo };
    }
    case 'fragment': {
      const d = fragment.decode(b);
      const next = d.fragmentOffset > 0 ? (d.payload.length > 0 ? 'raw' : undefined) : byProtocol(d.nextHeader, true, d.payload);
      return { layer: { layer: 'fragment', ...fields(d, false) }, next, rest: d.payload, expected: minus(st.expected, 8), partial: d.moreFragments || d.fragmentOffset > 0 };
    }
    case 'ah': {
      const d = ah.decode(b);
      const size = b.length - d.payload.length;
      return { layer: { layer: 'ah', ...fields(d, false) }, next: byProtocol(d.nextHeader, st.v6, d.payload), rest: d.payload, expected: minus(st.expected, size) };
    }
    case 'esp': {
      const d = esp.decode(b);
      return { layer: { layer: 'esp', spi: d.spi, sequence: d.sequence, data: d.payload }, rest: EMPTY };
    }
    case 'icmp': {
      if (st.partial && b.length < 8) return { layer: headerCut('icmp', b), rest: EMPTY };
      const d = icmp.decode(b);
      const layer: Layer = { layer: 'icmp', ...fields(d, cut) };
      if (ICMP_ERRORS.has(d.type)) {
        layer.quote = chain(d.payload, 'ipv4', { partial: true, v6: false });
        return { layer, rest: EMPTY };
      }
      return { layer, next: d.payload.length > 0 ? 'raw' : undefined, rest: d.payload, expected: minus(st.expected, 8) };
    }
    case 'icmpv6': {
      if (st.partial && b.length < 8) return { layer: headerCut('icmpv6', b), rest: EMPTY };
      const d = icmpv6.decode(b, cut ? undefined : st.pseudo);
      const layer: Layer = { layer: 'icmpv6', ...fields(d, cut) };
      if (ICMPV6_ERRORS.has(d.type)) {
        layer.quote = chain(d.payload, 'ipv6', { partial: true, v6: true });
        return { layer, rest: EMPTY };
      }
      const body = cut ? null : typedBody(d);
      if (body !== null) {
        const { restOfHeader: _r, identifier: _i, sequence: _s, mtu: _m, pointer: _p, ...base } = layer;
        return { layer: { ...base, body }, rest: EMPTY };
      }
      return { layer, next: d.payload.length > 0 ? 'raw' : undefined, rest: d.payload, expected: minus(st.expected, 8) };
    }
    case 'igmp': {
      const d = igmp.decode(b);
      return { layer: { layer: 'igmp', ...fields(d, cut) }, next: d.payload.length > 0 ? 'raw' : undefined, rest: d.payload, expected: minus(st.expected, b.length - d.payload.length) };
    }
    case 'udp': {
      if (st.partial && b.length < 8) return { layer: headerCut('udp', b), rest: EMPTY };
      const own = b.length >= 6 ? b.readUInt16BE(4) : 0;
      const long = st.partial && own > b.length;
      const d = long ? udp.decode(padded(b, own)) : udp.decode(b, cut ? undefined : st.pseudo);
      const layer: Layer = { layer: 'udp', ...fields(d, long || cut) };
      if (d.length < b.length) layer.padding = b.subarray(d.length);
      const rest = b.subarray(8, Math.min(d.length, b.length));
      return { layer, next: rest.length > 0 ? 'raw' : undefined, rest, own: d.length, expected: d.length - 8 };
    }
    case 'tcp': {
      if (st.partial && (b.length < 20 || b.length < (b[12]! >> 4) * 4)) return { layer: headerCut('tcp', b), rest: EMPTY };
      const d = tcp.decode(b, cut ? undefined : st.pseudo);
      const hl = d.dataOffset * 4;
      const layer: Layer = { layer: 'tcp', ...fields(d, cut) };
      const extra = tail(b.subarray(0, hl), tcp.encode(d).subarray(0, hl));
      if (extra !== undefined) layer.optionsPadding = extra;
      return { layer, next: d.payload.length > 0 ? 'raw' : undefined, rest: d.payload, expected: minus(st.expected, hl) };
    }
    case 'raw':
      return { layer: { layer: 'raw', data: b }, rest: EMPTY };
    default:
      throw invalidArgValue('first', 'must be a layer name', kind);
  }
}

const minus = (a: number | undefined, b: number): number | undefined => (a === undefined ? undefined : a - b);

/** A Neighbor Discovery or MLD body that re-encodes to exactly these bytes, or null. */
function typedBody(d: icmpv6.Packet): nd.NdBody | mld.MldBody | null {
  const body = nd.decodeBody(d.type, d.restOfHeader, d.payload) ?? mld.decodeBody(d.type, d.restOfHeader, d.payload);
  if (body === null) return null;
  const [rest, bytes] = body.kind in nd.ND_TYPES ? nd.encodeBody(body as nd.NdBody) : mld.encodeBody(body as mld.MldBody);
  return rest === d.restOfHeader && bytes.equals(d.payload) ? body : null;
}

/** Decodes layer after layer from `first`. In partial mode, bytes a layer cannot decode become a raw layer. */
function chain(b: Buffer, first: LayerName, start: State): Layer[] {
  const out: Layer[] = [];
  let kind: LayerName | undefined = first;
  let buf = b;
  let st = start;
  while (kind !== undefined && buf.length > 0) {
    let s: Step;
    try {
      s = step(kind, buf, st);
    } catch (err) {
      if (!st.partial || !(err instanceof PacketError)) throw err;
      s = { layer: { layer: 'raw', data: buf }, rest: EMPTY };
    }
    const extent = s.own ?? st.expected;
    if (st.partial && extent !== undefined && extent > buf.length) {
      const l = s.layer as Layer & Truncation;
      l.truncated = true;
      l.missing ??= [l.layer === 'raw' ? 'data' : 'payload'];
      l.missingBytes = extent - buf.length;
    }
    out.push(s.layer);
    kind = s.next;
    buf = s.rest;
    st = { partial: st.partial || s.partial === true, expected: s.expected, pseudo: s.pseudo ?? st.pseudo, v6: s.v6 ?? st.v6 };
  }
  return out;
}

/**
 * Parses a packet into its layers, outermost first: the fields of each protocol's decoder, tagged by
 * `layer`, following EtherTypes, IP protocol numbers and IPv6 next headers (through Hop-by-Hop,
 * Routing, Fragment, Destination Options and AH headers) down to ICMP, ICMPv6, IGMP, UDP or TCP and
 * their payload as a `raw` layer. UDP, TCP and ICMPv6 checksums are verified under the pseudo-header
 * of the IP layer (with a Routing header's final destination). ICMP and ICMPv6 errors carry the
 * datagram they quote as `quote` layers, decoded even when cut short (`truncated: true` with what is
 * `missing`); ICMPv6 Neighbor Discovery and MLD messages carry their typed `body`. Fields that make
 * the bytes exact (`padding` after a length, `optionsPadding`) are kept, so `build(parse(b))` equals
 * `b`. A layer with no bytes is not listed (a TCP segment without data has no `raw` layer).
 * @param bytes - the packet.
 * @param first - what its first byte starts: `'ethernet'` (the default, what an `AF_PACKET`/`SOCK_RAW`
 *   socket gives), `'ip'` (IPv4 or IPv6 by the version, what `SOCK_RAW` with IP_HDRINCL or a
 *   `LINKTYPE_RAW` capture gives), `'sll2'`, or any layer name.
 * @param options - `{ partial }`: decode truncated or malformed bytes as far as they go instead of throwing.
 * @returns the layers; the payloads are views into `bytes`.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`) for bytes a layer cannot decode (not with
 *   `partial`); TypeError for arguments of the wrong type.
 * @example
 * const [ip, tcpLayer] = parse(reply, 'ip');
 * if (tcpLayer?.layer === 'tcp' && tcpLayer.flags.syn && tcpLayer.flags.ack) console.log('open');
 */
export function parse(bytes: Uint8Array, first: FirstLayer = 'ethernet', options: ParseOptions = {}): Layer[] {
  const b = asBuffer(bytes, 'bytes');
  obj(options, 'options');
  if (options.partial !== undefined && typeof options.partial !== 'boolean') throw invalidArgValue('options.partial', 'must be a boolean', options.partial);
  let kind = first;
  if (kind === 'ip') kind = b.length > 0 && b[0]! >> 4 === 6 ? 'ipv6' : 'ipv4';
  if (!LAYER_NAMES.includes(kind)) throw invalidArgValue('first', `must be 'ip' or one of ${LAYER_NAMES.map((n) => `'${n}'`).join(', ')}`, first);
  return chain(b, kind, { partial: options.partial === true, v6: kind === 'ipv6' });
}
