/**
 * Fragmentation and reassembly of IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5) packets, over whole
 * packets as bytes: what a test of a router's or a host's reassembly needs, and how to put captured
 * fragments back together.
 * @packageDocumentation
 */
import { randomInt } from 'node:crypto';
import { PacketError, invalidArgValue, outOfRange } from './errors.js';
import * as fragmentHeader from './fragment.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import { asBuffer, list, obj, optUint, uint } from './util.js';

/** Options of {@link split}. */
export interface FragmentOptions {
  /**
   * IPv6 only: the identification of the Fragment headers, 32 bits; default random. (IPv4 fragments
   * keep the packet's own identification.)
   */
  identification?: number;
}

/** Option kinds of IPv4 whose copy flag (bit 0x80) is set: they go into every fragment. */
const COPIED = new Set(['looseSourceRoute', 'strictSourceRoute', 'routerAlert']);

function copied(o: ipv4.Option): boolean {
  return typeof o.kind === 'number' ? (o.kind & 0x80) !== 0 : COPIED.has(o.kind);
}

function fragment4(b: Buffer, mtu: number): Buffer[] {
  const d = ipv4.decode(b);
  if (d.totalLength <= mtu) return [Buffer.from(b.subarray(0, d.totalLength))];
  const { ihl: _i, totalLength: _t, checksum: _c, checksumValid: _v, payload, ...header } = d;
  const later = d.options.filter(copied);
  const out: Buffer[] = [];
  let at = 0;
  while (at < payload.length) {
    const options = out.length === 0 ? d.options : later;
    const hl = ipv4.encode({ ...header, options }).length;
    const room = Math.floor((mtu - hl) / 8) * 8;
    if (room < 8) throw outOfRange('mtu', `at least ${hl + 8} for this header`, mtu);
    const chunk = payload.subarray(at, at + room);
    const last = at + chunk.length >= payload.length;
    out.push(ipv4.encode({ ...header, options, fragmentOffset: d.fragmentOffset + at / 8, moreFragments: last ? d.moreFragments : true }, chunk));
    at += chunk.length;
  }
  return out;
}

/** The length of the unfragmentable extension headers after the fixed header, and where their last next-header byte is. */
function unfragmentable(d: ipv6.Packet): { length: number; nextAt: number; next: number } {
  const p = d.payload;
  let at = 0;
  let next = d.nextHeader;
  let nextAt = 6 - 40; // the fixed header's next-header byte, relative to the payload
  let end = 0;
  let endNext = next;
  let endAt = nextAt;
  // Hop-by-hop first; then destination options and routing headers up to the last routing header.
  while ((next === 0 || next === 60 || next === 43) && at + 8 <= p.length) {
    const size = (p[at + 1]! + 1) * 8;
    if (at + size > p.length) break;
    const current = next;
    nextAt = at;
    next = p[at]!;
    at += size;
    if (current === 0 || current === 43) {
      end = at;
      endNext = next;
      endAt = nextAt;
    }
  }
  return { length: end, nextAt: endAt, next: endNext };
}

function fragment6(b: Buffer, mtu: number, identification: number): Buffer[] {
  const d = ipv6.decode(b);
  if (40 + d.payloadLength <= mtu) return [Buffer.from(b.subarray(0, 40 + d.payloadLength))];
  const u = unfragmentable(d);
  const head = Buffer.from(b.subarray(0, 40 + u.length));
  head[40 + u.nextAt] = fragmentHeader.NEXT_HEADER;
  const rest = d.payload.subarray(u.length);
  const room = Math.floor((mtu - head.length - 8) / 8) * 8;
  if (room < 8) throw outOfRange('mtu', `at least ${head.length + 16} for this packet`, mtu);
  const out: Buffer[] = [];
  for (let at = 0; at < rest.length; at += room) {
    const chunk = rest.subarray(at, at + room);
    const frag = fragmentHeader.encode({ nextHeader: u.next, fragmentOffset: at / 8, moreFragments: at + room < rest.length, identification }, chunk);
    const packet = Buffer.concat([head, frag]);
    packet.writeUInt16BE(packet.length - 40, 4);
    out.push(packet);
  }
  return out;
}

/**
 * Splits an IPv4 or IPv6 packet into fragments of at most `mtu` bytes each. IPv4 fragments keep the
 * header and its identification (options without the copy flag only in the first), with offsets,
 * MF, lengths and checksums set; DF is copied as it is (this builds what a router would not send,
 * too). IPv6 fragments repeat the unfragmentable part (the fixed header, Hop-by-Hop, and Destination
 * Options and Routing headers up to the last Routing header) and add a Fragment header. A packet that
 * fits is returned whole, as a copy.
 * @param packet - the packet, from its IP header.
 * @param mtu - the largest fragment, in bytes (68 to 65535 for IPv4, 1280 and more for real IPv6 links).
 * @param options - `{ identification }` for IPv6.
 * @returns the fragments, first to last.
 * @throws PacketError for bytes that are not an IPv4 or IPv6 packet; RangeError `ERR_OUT_OF_RANGE` for
 *   an `mtu` too small to carry 8 bytes of data per fragment.
 * @example
 * const pieces = fragment.split(build([ip, udpLayer, { layer: 'raw', data: Buffer.alloc(3000) }]), 1280);
 */
export function split(packet: Uint8Array, mtu: number, options: FragmentOptions = {}): Buffer[] {
  const b = asBuffer(packet, 'packet');
  uint(mtu, 'mtu', 0xffff + 40);
  obj(options, 'options');
  if (b.length > 0 && b[0]! >> 4 === 6) return fragment6(b, mtu, optUint(options.identification, 'options.identification', 0xffffffff, randomInt(0, 2 ** 32)));
  return fragment4(b, mtu);
}

interface Piece {
  offset: number;
  more: boolean;
  data: Buffer;
}

function join(pieces: Piece[], protocol: string): Buffer | null {
  pieces.sort((a, b) => a.offset - b.offset);
  const last = pieces.find((p) => !p.more);
  if (last === undefined) return null;
  const size = last.offset + last.data.length;
  const out = Buffer.alloc(size);
  let filled = 0;
  for (const p of pieces) {
    if (p.offset > filled) return null;
    const end = p.offset + p.data.length;
    if (end > size) throw new PacketError(protocol, 'fragmentOffset', 0, `a fragment ends at ${end}, past the last fragment's end ${size}`);
    const overlap = Math.min(filled, end) - p.offset;
    if (overlap > 0 && !p.data.subarray(0, overlap).equals(out.subarray(p.offset, p.offset + overlap))) {
      throw new PacketError(protocol, 'fragmentOffset', 0, `the fragment at ${p.offset} overlaps earlier data with other bytes`);
    }
    p.data.copy(out, p.offset);
    filled = Math.max(filled, end);
  }
  return filled === size ? out : null;
}

/**
 * Puts the fragments of one IPv4 or IPv6 packet back together, in any order (duplicates allowed).
 * @param fragments - the fragments, each a whole packet from its IP header.
 * @returns the reassembled packet, or null while a fragment is missing.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` for fragments of different packets (source, destination,
 *   identification) or of both versions; PacketError for bytes that are not fragments, or fragments
 *   whose overlapping parts differ (RFC 5722's attack).
 * @example
 * const whole = fragment.reassemble(captured); // null until the last piece is in
 */
export function reassemble(fragments: readonly Uint8Array[]): Buffer | null {
  // At most 8192: the most 8-byte pieces a 65535-byte datagram can be cut into.
  const pieces = list<unknown>(fragments, 'fragments', 8192);
  if (pieces.length === 0) throw invalidArgValue('fragments', 'must be a non-empty array of packets', fragments);
  const bufs = pieces.map((f, i) => asBuffer(f, `fragments[${i}]`));
  const v6 = bufs[0]!.length > 0 && bufs[0]![0]! >> 4 === 6;
  if (!v6) {
    const ds = bufs.map((b) => ipv4.decode(b));
    const first = ds[0]!;
    ds.forEach((d, i) => {
      if (d.source !== first.source || d.destination !== first.destination || d.identification !== first.identification || d.protocol !== first.protocol) {
        throw invalidArgValue(`fragments[${i}]`, 'must be a fragment of the same packet as fragments[0]', `${d.source} -> ${d.destination} id ${d.identification}`);
      }
    });
    const data = join(ds.map((d) => ({ offset: d.fragmentOffset * 8, more: d.moreFragments, data: d.payload })), 'ipv4');
    if (data === null) return null;
    const head = ds.find((d) => d.fragmentOffset === 0)!;
    const { ihl: _i, totalLength: _t, checksum: _c, checksumValid: _v, payload: _p, ...header } = head;
    return ipv4.encode({ ...header, moreFragments: false, fragmentOffset: 0 }, data);
  }
  const parts = bufs.map((b) => {
    const d = ipv6.decode(b);
    const u = unfragmentable(d);
    const atFrag = u.nextAt === -34 ? d.nextHeader : d.payload[u.nextAt]!;
    if (atFrag !== fragmentHeader.NEXT_HEADER) throw new PacketError('ipv6', 'nextHeader', 6, 'the packet has no Fragment header');
    const f = fragmentHeader.decode(d.payload.subarray(u.length));
    return { d, u, f };
  });
  const first = parts[0]!;
  parts.forEach((p, i) => {
    if (p.d.source !== first.d.source || p.d.destination !== first.d.destination || p.f.identification !== first.f.identification) {
      throw invalidArgValue(`fragments[${i}]`, 'must be a fragment of the same packet as fragments[0]', `${p.d.source} -> ${p.d.destination} id ${p.f.identification}`);
    }
  });
  const data = join(parts.map((p) => ({ offset: p.f.fragmentOffset * 8, more: p.f.moreFragments, data: p.f.payload })), 'fragment');
  if (data === null) return null;
  const head = parts.find((p) => p.f.fragmentOffset === 0)!;
  const unfrag = Buffer.from(bufs[parts.indexOf(head)]!.subarray(0, 40 + head.u.length));
  unfrag[40 + head.u.nextAt] = head.f.nextHeader;
  const out = Buffer.concat([unfrag, data]);
  out.writeUInt16BE(out.length - 40, 4);
  return out;
}
