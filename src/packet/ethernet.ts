/**
 * Ethernet II frames (IEEE 802.3), with 802.1Q / 802.1ad VLAN tags: encode and decode. The frame is
 * what an `AF_PACKET`/`SOCK_RAW` socket sends and receives: no preamble and no frame check sequence.
 * Values are host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { PacketError } from './errors.js';
import { asBuffer, bool, formatHwAddr, need, obj, optArray, optUint, parseHwAddr, payloadOf, uint } from './util.js';

/** EtherType of IPv4, 0x0800. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of ARP, 0x0806. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType of IPv6, 0x86dd. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Tag protocol identifier of an 802.1Q VLAN tag, 0x8100. */
export const ETHERTYPE_VLAN = 0x8100;
/** Tag protocol identifier of an 802.1ad (QinQ) service tag, 0x88a8. */
export const ETHERTYPE_QINQ = 0x88a8;

/** The length of an untagged Ethernet header: 14 bytes. */
export const HEADER_LENGTH = 14;

/** The broadcast address, 'ff:ff:ff:ff:ff:ff'. */
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** An 802.1Q / 802.1ad tag: 4 bytes between the source address and the EtherType. */
export interface VlanTag {
  /** Tag protocol identifier, 16 bits: 0x8100 (802.1Q, the default) or 0x88a8 (802.1ad). */
  tpid?: number;
  /** Priority code point, 3 bits; default 0. */
  priority?: number;
  /** Drop eligible indicator; default false. */
  dei?: boolean;
  /** VLAN identifier, 12 bits. */
  id: number;
}

/** The fields of an Ethernet header, for {@link encode}. */
export interface Header {
  /** Destination MAC address, e.g. 'ff:ff:ff:ff:ff:ff'. */
  destination: string;
  /** Source MAC address. */
  source: string;
  /** VLAN tags, outermost first; none by default. */
  vlans?: readonly VlanTag[];
  /** The payload's EtherType (0x0800 IPv4, 0x0806 ARP, 0x86dd IPv6), or an 802.3 length (<= 1500), 16 bits. */
  etherType: number;
}

/** A decoded Ethernet frame. */
export interface Packet extends Required<Header> {
  /** The VLAN tags, outermost first, each with every field set (empty when untagged). */
  vlans: Required<VlanTag>[];
  /** Everything after the header (padding included: frames have no length field): a view, not a copy. */
  payload: Buffer;
}

function isTagType(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === 0x9100;
}

/**
 * Builds an Ethernet frame: destination, source, VLAN tags, EtherType, then `payload`. The frame is
 * not padded to the 60-byte minimum (network drivers pad short frames).
 * @param header - the header fields.
 * @param payload - the bytes after the header; none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width; TypeError
 *   `ERR_INVALID_ARG_VALUE` for an address that is not a MAC address.
 * @example
 * ethernet.encode({ destination: ethernet.BROADCAST, source: mac, etherType: ethernet.ETHERTYPE_ARP }, arpRequest);
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const vlans = optArray(header.vlans, 'vlans');
  const out = Buffer.alloc(HEADER_LENGTH + 4 * vlans.length + body.length);
  parseHwAddr(header.destination, 'destination', 6).copy(out, 0);
  parseHwAddr(header.source, 'source', 6).copy(out, 6);
  let at = 12;
  vlans.forEach((tag, i) => {
    const name = `vlans[${i}]`;
    obj(tag, name);
    out.writeUInt16BE(optUint(tag.tpid, `${name}.tpid`, 0xffff, ETHERTYPE_VLAN), at);
    const priority = optUint(tag.priority, `${name}.priority`, 7, 0);
    const tci = (priority << 13) | (bool(tag.dei, `${name}.dei`) ? 0x1000 : 0) | uint(tag.id, `${name}.id`, 0xfff);
    out.writeUInt16BE(tci, at + 2);
    at += 4;
  });
  out.writeUInt16BE(uint(header.etherType, 'etherType', 0xffff), at);
  body.copy(out, at + 2);
  return out;
}

/**
 * Parses an Ethernet frame, following VLAN tags (TPID 0x8100, 0x88a8 or 0x9100) to the EtherType.
 * Never reads outside `buffer`.
 * @param buffer - the frame, from the destination address (no preamble; a trailing FCS would be payload).
 * @returns the header fields and the payload as a view.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 14 bytes, `vlans` for a
 *   tag cut short.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('ethernet', 'header', b.length, 0, HEADER_LENGTH);
  const vlans: Required<VlanTag>[] = [];
  let at = 12;
  let type = b.readUInt16BE(at);
  while (isTagType(type)) {
    if (at + 6 > b.length) {
      throw new PacketError('ethernet', 'vlans', at, `a VLAN tag at offset ${at} needs ${at + 6} bytes, but the buffer has ${b.length}`);
    }
    const tci = b.readUInt16BE(at + 2);
    vlans.push({ tpid: type, priority: tci >> 13, dei: (tci & 0x1000) !== 0, id: tci & 0xfff });
    at += 4;
    type = b.readUInt16BE(at);
  }
  return {
    destination: formatHwAddr(b, 0, 6),
    source: formatHwAddr(b, 6, 6),
    vlans,
    etherType: type,
    payload: b.subarray(at + 2),
  };
}
