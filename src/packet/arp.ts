/**
 * ARP (RFC 826): encode and decode, for Ethernet/IPv4 and any other hardware and protocol address
 * lengths. Values are host numbers; the encoder writes them in network byte order.
 * @packageDocumentation
 */
import { PacketError, invalidArgValue } from './errors.js';
import { asBuffer, formatHwAddr, formatIPv4, need, obj, optUint, parseHwAddr, parseIP, payloadOf, uint } from './util.js';

/** Operation 1, request. */
export const REQUEST = 1;
/** Operation 2, reply. */
export const REPLY = 2;
/** Hardware type 1, Ethernet. */
export const HARDWARE_ETHERNET = 1;
/** Protocol type 0x0800, IPv4. */
export const PROTOCOL_IPV4 = 0x0800;

/** The fixed part of an ARP packet, before the addresses: 8 bytes. */
export const HEADER_LENGTH = 8;

/**
 * A protocol address: an IP literal ('192.0.2.1', or an IPv6 literal), or raw bytes for other
 * protocols. Decoding gives a string for IPv4 (protocol type 0x0800, length 4) and a Buffer otherwise.
 */
export type ProtocolAddress = string | Uint8Array;

/**
 * The fields of an ARP packet, for {@link encode}. The address lengths default to the sender
 * addresses' lengths; given, they are written verbatim even when the addresses differ in length.
 */
export interface Header {
  /** Hardware type, 16 bits; default 1 (Ethernet). */
  hardwareType?: number;
  /** Protocol type (an EtherType), 16 bits; default 0x0800 (IPv4). */
  protocolType?: number;
  /** Hardware address length in bytes, 8 bits; default the sender hardware address's length (6 for a MAC). */
  hardwareLength?: number;
  /** Protocol address length in bytes, 8 bits; default the sender protocol address's length (4 for IPv4). */
  protocolLength?: number;
  /** Operation, 16 bits: 1 request, 2 reply. */
  operation: number;
  /** Sender hardware address as hex bytes joined by ':' ('aa:bb:cc:dd:ee:ff'). */
  senderHardwareAddress: string;
  /** Sender protocol address. */
  senderProtocolAddress: ProtocolAddress;
  /** Target hardware address; default zeros of the sender hardware address's length (unknown, in a request). */
  targetHardwareAddress?: string;
  /** Target protocol address. */
  targetProtocolAddress: ProtocolAddress;
}

/** A decoded ARP packet. */
export interface Packet extends Required<Header> {
  /** The bytes after the target protocol address (usually Ethernet padding): a view, not a copy. */
  payload: Buffer;
}

function protocolBytes(a: unknown, name: string): Buffer {
  if (typeof a === 'string') return parseIP(a, name);
  if (a instanceof Uint8Array) return asBuffer(a, name);
  throw invalidArgValue(name, 'must be an IP address literal or a Uint8Array', a);
}

/**
 * Builds an ARP packet (the payload of an Ethernet frame with EtherType 0x0806).
 * @param header - the fields.
 * @param payload - bytes to append after the addresses (padding); none by default.
 * @returns a new Buffer.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a field outside its width; TypeError
 *   `ERR_INVALID_ARG_VALUE` for an unusable address, or addresses of different lengths whose length
 *   field is not given.
 * @example
 * const who = arp.encode({ operation: arp.REQUEST, senderHardwareAddress: mac,
 *   senderProtocolAddress: '192.0.2.1', targetProtocolAddress: '192.0.2.2' });
 */
export function encode(header: Header, payload?: Uint8Array): Buffer {
  obj(header, 'header');
  const body = payloadOf(payload);
  const sha = parseHwAddr(header.senderHardwareAddress, 'senderHardwareAddress');
  const tha =
    header.targetHardwareAddress === undefined
      ? Buffer.alloc(sha.length)
      : parseHwAddr(header.targetHardwareAddress, 'targetHardwareAddress');
  const spa = protocolBytes(header.senderProtocolAddress, 'senderProtocolAddress');
  const tpa = protocolBytes(header.targetProtocolAddress, 'targetProtocolAddress');
  if (header.hardwareLength === undefined && tha.length !== sha.length) {
    const rule = `must be ${sha.length} bytes long, as senderHardwareAddress is`;
    throw invalidArgValue('targetHardwareAddress', rule, header.targetHardwareAddress);
  }
  if (header.protocolLength === undefined && tpa.length !== spa.length) {
    const rule = `must be ${spa.length} bytes long, as senderProtocolAddress is`;
    throw invalidArgValue('targetProtocolAddress', rule, header.targetProtocolAddress);
  }
  const fixed = Buffer.alloc(HEADER_LENGTH);
  fixed.writeUInt16BE(optUint(header.hardwareType, 'hardwareType', 0xffff, HARDWARE_ETHERNET), 0);
  fixed.writeUInt16BE(optUint(header.protocolType, 'protocolType', 0xffff, PROTOCOL_IPV4), 2);
  fixed[4] = optUint(header.hardwareLength, 'hardwareLength', 0xff, sha.length);
  fixed[5] = optUint(header.protocolLength, 'protocolLength', 0xff, spa.length);
  fixed.writeUInt16BE(uint(header.operation, 'operation', 0xffff), 6);
  return Buffer.concat([fixed, sha, spa, tha, tpa, body]);
}

/**
 * Parses an ARP packet. Never reads outside `buffer`.
 * @param buffer - the packet (the payload of an Ethernet frame with EtherType 0x0806).
 * @returns the fields; hardware addresses as hex text, protocol addresses as dotted quads for IPv4
 *   (type 0x0800, length 4) and as Buffer views otherwise; trailing bytes as `payload`.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`): `header` for fewer than 8 bytes,
 *   `hardwareLength` or `protocolLength` when the addresses they announce run past the buffer.
 */
export function decode(buffer: Uint8Array): Packet {
  const b = asBuffer(buffer, 'buffer');
  need('arp', 'header', b.length, 0, HEADER_LENGTH);
  const hardwareType = b.readUInt16BE(0);
  const protocolType = b.readUInt16BE(2);
  const hl = b[4]!;
  const pl = b[5]!;
  const end = HEADER_LENGTH + 2 * (hl + pl);
  if (end > b.length) {
    const field = HEADER_LENGTH + 2 * hl > b.length ? 'hardwareLength' : 'protocolLength';
    throw new PacketError(
      'arp',
      field,
      field === 'hardwareLength' ? 4 : 5,
      `hardware length ${hl} and protocol length ${pl} need ${end} bytes, but the buffer has ${b.length}`,
    );
  }
  const ipv4 = protocolType === PROTOCOL_IPV4 && pl === 4;
  const paddr = (at: number): ProtocolAddress => (ipv4 ? formatIPv4(b, at) : b.subarray(at, at + pl));
  const sha = HEADER_LENGTH;
  const spa = sha + hl;
  const tha = spa + pl;
  const tpa = tha + hl;
  return {
    hardwareType,
    protocolType,
    hardwareLength: hl,
    protocolLength: pl,
    operation: b.readUInt16BE(6),
    senderHardwareAddress: formatHwAddr(b, sha, hl),
    senderProtocolAddress: paddr(spa),
    targetHardwareAddress: formatHwAddr(b, tha, hl),
    targetProtocolAddress: paddr(tpa),
    payload: b.subarray(end),
  };
}
