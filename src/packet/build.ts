/**
 * `build(layers)`: a whole packet from layer objects, outermost first, with every field the user left
 * out that the neighbouring layers determine filled in, and every given field written verbatim.
 * @packageDocumentation
 */
import * as ah from './ah.js';
import * as arp from './arp.js';
import { checksum, pseudoHeaderChecksum, type PseudoHeader } from './checksum.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import * as esp from './esp.js';
import * as ethernet from './ethernet.js';
import * as fragment from './fragment.js';
import * as hopopts from './hopopts.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import * as igmp from './igmp.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import { ETHERTYPES, FIELDS, LAYER_NAMES, type Layer, type LayerName, PROTOCOLS } from './layers.js';
import * as mld from './mld.js';
import * as nd from './nd.js';
import * as routing from './routing.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import { asBuffer, bool, list, obj, optUint, parseHwAddr, uint } from './util.js';

const EMPTY: Buffer = Buffer.alloc(0);
const prefixed = new WeakSet<object>();

/** Puts `prefix.` before the argument name an encoder's error names, once. */
function named(err: unknown, prefix: string): unknown {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  if (err instanceof Error && !prefixed.has(err) && typeof code === 'string' && code.startsWith('ERR_') && code !== 'ERR_MALFORMED_PACKET') {
    err.message = err.message.replace(/"([^"]+)"/, (_m, n: string) => `"${prefix}.${n}"`);
    prefixed.add(err);
  }
  return err;
}

const bytesOf = (v: Uint8Array | undefined, name: string): Buffer => (v === undefined ? EMPTY : asBuffer(v, name));

/** The layers, checked: an array of objects each tagged with a known layer name. */
function checked(layers: unknown, name: string): Layer[] {
  return list<unknown>(layers, name, 4096).map((l, i) => {
    obj(l, `${name}[${i}]`);
    const tag = (l as { layer?: unknown }).layer;
    if (typeof tag !== 'string' || !LAYER_NAMES.includes(tag as LayerName)) {
      throw invalidArgValue(`${name}[${i}].layer`, `must be one of ${LAYER_NAMES.map((n) => `'${n}'`).join(', ')}`, tag);
    }
    return l as Layer;
  });
}

/** The value of a linking field: given, or the next layer's number, or (with none) the fallback. */
function link(given: number | undefined, table: Partial<Record<LayerName, number>>, next: Layer | undefined, field: string, fallback?: number): number {
  if (given !== undefined) return given;
  const v = next === undefined ? fallback : table[next.layer];
  if (v === undefined) {
    const why = next === undefined ? 'when no layer follows' : `when a '${next.layer}' layer follows`;
    throw invalidArgType(field, `given ${why} (of type number)`, undefined);
  }
  return v;
}

/** The pseudo-header of the layer at `i`: the nearest IP layer before it, with a routing header's final destination. */
function pseudoOf(list: Layer[], i: number, name: string): PseudoHeader | undefined {
  let final: string | undefined;
  for (let j = i - 1; j >= 0; j--) {
    const l = list[j]!;
    if (l.layer === 'routing' && final === undefined) final = routing.finalDestination(l);
    if (l.layer === 'ipv4' || l.layer === 'ipv6') {
      if (typeof l.source !== 'string') {
        const err = invalidArgType(`${name}[${j}].source`, 'of type string (build needs the source address)', l.source);
        prefixed.add(err);
        throw err;
      }
      return { source: l.source, destination: final ?? l.destination };
    }
  }
  return undefined;
}

/** Placeholders for the required fields a truncated layer lacks: they lie past the cut and are not written. */
const PLACEHOLDERS: Partial<Record<LayerName, Record<string, unknown>>> = {
  ipv4: { protocol: 0, source: '0.0.0.0', destination: '0.0.0.0' },
  ipv6: { nextHeader: 59, source: '::', destination: '::' },
  udp: { sourcePort: 0, destinationPort: 0 },
  tcp: { sourcePort: 0, destinationPort: 0 },
  icmp: { type: 0 },
  icmpv6: { type: 0 },
};

/** Where a truncated layer's header is cut: the start of the first missing header field, or null. */
function cutAt(l: Layer): number | null {
  const missing = (l as { missing?: unknown }).missing;
  if (!(l as { truncated?: unknown }).truncated || !Array.isArray(missing)) return null;
  let at: number | null = null;
  for (const [field, start] of FIELDS[l.layer] ?? []) if (missing.includes(field) && (at === null || start < at)) at = start;
  if (missing.includes('options') && (l.layer === 'ipv4' || l.layer === 'tcp') && (at === null || 20 < at)) at = 20;
  return at;
}

/** Overwrites the tail of a header with `tail` (bytes after an end-of-options option). */
function patchTail(out: Buffer, headerLength: number, tail: Uint8Array | undefined, name: string): boolean {
  if (tail === undefined) return false;
  const t = asBuffer(tail, name);
  if (t.length > headerLength - 20) throw invalidArgValue(name, `must fit the header's option space (${headerLength - 20} bytes)`, t.length);
  t.copy(out, headerLength - t.length);
  return true;
}

function encodeOne(list: Layer[], i: number, inner: Buffer, name: string): Buffer {
  const l = list[i]!;
  const next = list[i + 1];
  const at = `${name}[${i}]`;
  const cut = cutAt(l);
  const src = cut === null ? l : { ...PLACEHOLDERS[l.layer], ...l };
  let out: Buffer;
  try {
    out = encodeLayer(src as Layer, list, i, next, cut === null ? inner : EMPTY, name);
  } catch (err) {
    throw named(err, at);
  }
  if (cut === null) return out;
  const partial = (l as { partial?: Uint8Array }).partial;
  return Buffer.concat([out.subarray(0, cut), bytesOf(partial, `${at}.partial`)]);
}

function encodeLayer(l: Layer, list: Layer[], i: number, next: Layer | undefined, inner: Buffer, name: string): Buffer {
  switch (l.layer) {
    case 'ethernet':
      return ethernet.encode({ ...l, etherType: link(l.etherType, ETHERTYPES, next, 'etherType') }, inner);
    case 'vlan': {
      const out = Buffer.alloc(4 + inner.length);
      const tci = (optUint(l.priority, 'priority', 7, 0) << 13) | (bool(l.dei, 'dei') ? 0x1000 : 0) | uint(l.id, 'id', 0xfff);
      out.writeUInt16BE(tci, 0);
      out.writeUInt16BE(uint(link(l.etherType, ETHERTYPES, next, 'etherType'), 'etherType', 0xffff), 2);
      inner.copy(out, 4);
      return out;
    }
    case 'arp':
      return arp.encode(l, Buffer.concat([inner, bytesOf(l.padding, 'padding')]));
    case 'ipv4': {
      if (typeof l.source !== 'string') throw invalidArgType('source', 'of type string (build needs the source address)', l.source);
      const h = { ...l, source: l.source, protocol: link(l.protocol, PROTOCOLS, next, 'protocol') };
      let out = ipv4.encode(h, inner);
      const headerLength = out.length - inner.length;
      if (patchTail(out, headerLength, l.optionsPadding, 'optionsPadding') && l.checksum === undefined) {
        out.writeUInt16BE(0, 10);
        out.writeUInt16BE(checksum(out.subarray(0, headerLength)), 10);
      }
      if (l.padding !== undefined) out = Buffer.concat([out, bytesOf(l.padding, 'padding')]);
      return out;
    }
    case 'ipv6': {
      if (typeof l.source !== 'string') throw invalidArgType('source', 'of type string (build needs the source address)', l.source);
      const out = ipv6.encode({ ...l, source: l.source, nextHeader: link(l.nextHeader, PROTOCOLS, next, 'nextHeader', 59) }, inner);
      return l.padding === undefined ? out : Buffer.concat([out, bytesOf(l.padding, 'padding')]);
    }
    case 'hopopts':
    case 'dstopts':
      return hopopts.encode({ ...l, nextHeader: link(l.nextHeader, PROTOCOLS, next, 'nextHeader', 59) }, inner);
    case 'routing':
      return routing.encode({ ...l, nextHeader: link(l.nextHeader, PROTOCOLS, next, 'nextHeader', 59) }, inner);
    case 'fragment':
      return fragment.encode({ ...l, nextHeader: link(l.nextHeader, PROTOCOLS, next, 'nextHeader', 59) }, inner);
    case 'ah':
      return ah.encode({ ...l, nextHeader: link(l.nextHeader, PROTOCOLS, next, 'nextHeader', 59) }, inner);
    case 'esp':
      return esp.encode(l, Buffer.concat([bytesOf(l.data, 'data'), inner]));
    case 'icmp': {
      const quote = l.quote === undefined ? EMPTY : buildList(l.quote, `${name}[${i}].quote`);
      return icmp.encode(l, Buffer.concat([quote, inner]));
    }
    case 'icmpv6': {
      let header: icmpv6.Header = l;
      let body: Buffer = EMPTY;
      if (l.body !== undefined) {
        obj(l.body, 'body');
        const [rest, bytes] = l.body.kind in nd.ND_TYPES ? nd.encodeBody(l.body as nd.NdBody) : mld.encodeBody(l.body as mld.MldBody);
        header = { ...l, restOfHeader: l.restOfHeader ?? rest };
        body = bytes;
      }
      const quote = l.quote === undefined ? EMPTY : buildList(l.quote, `${name}[${i}].quote`);
      return icmpv6.encode(header, Buffer.concat([body, quote, inner]), pseudoOf(list, i, name));
    }
    case 'igmp':
      return igmp.encode(l, inner);
    case 'udp': {
      const out = udp.encode(l, inner, pseudoOf(list, i, name));
      return l.padding === undefined ? out : Buffer.concat([out, bytesOf(l.padding, 'padding')]);
    }
    case 'tcp': {
      const pseudo = pseudoOf(list, i, name);
      const out = tcp.encode(l, inner, pseudo);
      const headerLength = out.length - inner.length;
      if (patchTail(out, headerLength, l.optionsPadding, 'optionsPadding') && l.checksum === undefined && pseudo !== undefined) {
        out.writeUInt16BE(0, 16);
        out.writeUInt16BE(pseudoHeaderChecksum(pseudo, tcp.PROTOCOL, out), 16);
      }
      return out;
    }
    case 'raw':
      return Buffer.concat([asBuffer(l.data, 'data'), inner]);
    case 'sll2': {
      const out = Buffer.alloc(20 + inner.length);
      out.writeUInt16BE(uint(link(l.protocol, ETHERTYPES, next, 'protocol'), 'protocol', 0xffff), 0);
      out.writeUInt16BE(optUint(l.reserved, 'reserved', 0xffff, 0), 2);
      out.writeUInt32BE(uint(l.ifindex, 'ifindex', 0xffffffff), 4);
      out.writeUInt16BE(optUint(l.hatype, 'hatype', 0xffff, 1), 8);
      out[10] = optUint(l.pkttype, 'pkttype', 0xff, 0);
      const addr = l.address === undefined ? EMPTY : parseHwAddr(l.address, 'address');
      if (addr.length > 8) throw invalidArgValue('address', 'must be at most 8 bytes long', l.address);
      out[11] = optUint(l.addressLength, 'addressLength', 0xff, addr.length);
      addr.copy(out, 12);
      inner.copy(out, 20);
      return out;
    }
    default:
      throw invalidArgValue('layer', 'must be a layer name', (l as { layer: unknown }).layer);
  }
}

/** Builds a checked list, innermost layer first. @internal */
export function buildList(layers: unknown, name: string): Buffer {
  const list = checked(layers, name);
  let inner: Buffer = EMPTY;
  for (let i = list.length - 1; i >= 0; i--) inner = encodeOne(list, i, inner, name);
  return inner;
}

/**
 * Builds a packet from its layers, outermost first. Every field left out that the neighbouring layers
 * determine is filled in: Ethernet/802.1Q/SLL2 `etherType` and IP `protocol` / `nextHeader` from the
 * next layer (IPv6 and its extension headers say 59, no next header, when nothing follows); lengths
 * (`totalLength`, `ihl`, `payloadLength`, `extLength`, UDP `length`, TCP `dataOffset`); and every
 * checksum, UDP, TCP and ICMPv6 ones under the pseudo-header of the nearest IP layer before them
 * (with the final destination of a Routing header between, RFC 8200 section 8.1). A given field is
 * written verbatim, so deliberately wrong lengths and checksums can be built, and `build(parse(b))`
 * gives back `b`. ICMP errors take the datagram they quote as `quote` layers; ICMPv6 Neighbor
 * Discovery and MLD messages their typed `body`.
 * @param layers - the layers, outermost first (an Ethernet frame, or an IP packet, ...).
 * @returns the packet, a new Buffer.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` for `layers` that is not an array of objects, or a linking
 *   field that cannot be filled (a `raw` layer after IPv4 with no `protocol`); TypeError
 *   `ERR_INVALID_ARG_VALUE` for an unknown `layer` tag or an unusable field; RangeError
 *   `ERR_OUT_OF_RANGE` for a value that does not fit its field. Each names the field as
 *   `layers[i].field`.
 * @example
 * const syn = build([
 *   { layer: 'ipv4', source: '127.0.0.1', destination: '127.0.0.1' },
 *   { layer: 'tcp', sourcePort: 40000, destinationPort: 80, flags: { syn: true } },
 * ]); // protocol 6, lengths and both checksums filled in
 */
export function build(layers: readonly Layer[]): Buffer {
  return buildList(layers, 'layers');
}
