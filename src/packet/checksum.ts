/**
 * The internet checksum (RFC 1071) and the pseudo-header checksums of UDP, TCP and ICMPv6 over IPv4
 * (RFC 768, RFC 9293) and IPv6 (RFC 8200 section 8.1).
 * @packageDocumentation
 */
import { invalidArgType, invalidArgValue } from './errors.js';
import { asBuffer, parseIP, uint } from './util.js';

/**
 * The addresses of the IP header that carries a UDP datagram, TCP segment or ICMPv6 message, whose
 * checksum covers them through the pseudo-header. Both IPv4 ('192.0.2.1') or both IPv6 ('2001:db8::1').
 */
export interface PseudoHeader {
  /** The IP source address. */
  source: string;
  /** The IP destination address, of the same family as `source`. */
  destination: string;
}

/**
 * The 16-bit one's complement sum of `data` read as big-endian 16-bit words (an odd last byte is
 * padded with a zero byte), added to `initial` with end-around carry: the running sum of RFC 1071,
 * before the final complement. Sums of consecutive even-length pieces may be chained through `initial`.
 * @param data - the bytes to add.
 * @param initial - a previous sum (0 to 0xffff) to continue from; 0 by default.
 * @returns the folded sum, 0 to 0xffff.
 * @example
 * onesComplementSum(Buffer.from('0001f203f4f5f6f7', 'hex')) === 0xddf2; // RFC 1071 section 3
 */
export function onesComplementSum(data: Uint8Array, initial = 0): number {
  const b = asBuffer(data, 'data');
  let sum = uint(initial, 'initial', 0xffff);
  const even = b.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[even]! << 8;
  // The sum of n words is below n * 2^16, exact in a double for any buffer; fold the carries back in.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The internet checksum of RFC 1071: the one's complement of the one's complement sum of `data`'s
 * 16-bit big-endian words. Computed over a header whose checksum field is zero it gives the value to
 * store there (as a host number; write it big-endian); computed over a header with a correct checksum
 * in place it gives 0.
 * @param data - the bytes to sum.
 * @param initial - a partial sum to continue from (e.g. {@link pseudoHeaderSum}); 0 by default.
 * @returns the checksum, 0 to 0xffff.
 * @example
 * checksum(Buffer.from('45000073000040004011b861c0a80001c0a800c7', 'hex')) === 0; // a valid IPv4 header
 */
export function checksum(data: Uint8Array, initial = 0): number {
  return ~onesComplementSum(data, initial) & 0xffff;
}

/**
 * The one's complement sum of the pseudo-header that UDP, TCP and ICMPv6 checksums cover: for IPv4
 * source, destination, a zero byte, the protocol and the 16-bit length (RFC 768, RFC 9293); for IPv6
 * source, destination, the 32-bit length, three zero bytes and the next header (RFC 8200 section 8.1).
 * Pass it as `initial` to {@link checksum} over the datagram to get the full checksum.
 * @param source - IP source address.
 * @param destination - IP destination address, of the same family.
 * @param protocol - the IP protocol number (6 TCP, 17 UDP, 58 ICMPv6).
 * @param length - the upper-layer length in bytes (the UDP length, the TCP segment's length).
 * @throws TypeError `ERR_INVALID_ARG_VALUE` for an address that is not an IP literal, or of families
 *   that differ; RangeError `ERR_OUT_OF_RANGE` for a protocol or a length that does not fit its field.
 */
export function pseudoHeaderSum(source: string, destination: string, protocol: number, length: number): number {
  const [v4, addressSum] = addresses(source, destination);
  uint(protocol, 'protocol', 0xff);
  uint(length, 'length', v4 ? 0xffff : 0xffffffff);
  const tail = Buffer.alloc(v4 ? 4 : 8);
  if (v4) {
    tail[1] = protocol;
    tail.writeUInt16BE(length, 2);
  } else {
    tail.writeUInt32BE(length, 0);
    tail[7] = protocol;
  }
  return onesComplementSum(tail, addressSum);
}

// The last address pair and its sum: a stream of packets between two hosts parses their text once.
let lastPair: [string, string, boolean, number] | undefined;

/** Whether the pair is IPv4, and the sum of both addresses' bytes. */
function addresses(source: string, destination: string): [boolean, number] {
  if (lastPair !== undefined && lastPair[0] === source && lastPair[1] === destination) return [lastPair[2], lastPair[3]];
  const src = parseIP(source, 'source');
  const dst = parseIP(destination, 'destination');
  if (src.length !== dst.length) {
    throw invalidArgValue('destination', `must be an ${src.length === 4 ? 'IPv4' : 'IPv6'} address like source`, destination);
  }
  const sum = onesComplementSum(dst, onesComplementSum(src));
  lastPair = [source, destination, src.length === 4, sum];
  return [src.length === 4, sum];
}

/**
 * The checksum of an upper-layer packet (UDP, TCP, ICMPv6) under its pseudo-header: {@link checksum}
 * of `data` starting from {@link pseudoHeaderSum} with `data.length` as the length. Over a segment
 * whose checksum field is zero it gives the value to store; over one with a correct checksum, 0.
 * (UDP stores a computed 0 as 0xffff; the `udp` encoder does that.)
 * @param pseudo - the IP addresses.
 * @param protocol - the IP protocol number.
 * @param data - the whole upper-layer packet, header and payload.
 * @throws as {@link pseudoHeaderSum} (a RangeError `ERR_OUT_OF_RANGE` for `length` when the data is
 *   longer than 65535 bytes over IPv4).
 * @example
 * const sum = pseudoHeaderChecksum({ source: '10.0.0.1', destination: '10.0.0.2' }, 17, udpDatagram);
 */
export function pseudoHeaderChecksum(pseudo: PseudoHeader, protocol: number, data: Uint8Array): number {
  const b = asBuffer(data, 'data');
  if (pseudo === null || typeof pseudo !== 'object') throw invalidArgType('pseudo', 'of type object', pseudo);
  return checksum(b, pseudoHeaderSum(pseudo.source, pseudo.destination, protocol, b.length));
}
