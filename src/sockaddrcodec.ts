/**
 * Addresses in binary form, for hot loops: convert once with `encodeSockaddr`, pass the result to
 * `sendto`/`connect`/`bind`/`sendmsg` as often as needed, and read a sender into a reused holder with
 * `recvfromInto`, decoding it only when you need to look at it.
 * @packageDocumentation
 */
import { addrArg } from './argerrors.js';
import { native } from './binding.js';
import type { AnySockAddr, BinarySockAddr, SockAddr } from './sockaddr.js';

/** Bytes of a binary address holder: a 4-byte length and a `sockaddr_storage`. */
export const SOCKADDR_BINARY_SIZE = 132;

/**
 * Converts an address to its binary form (validated as every address is).
 * @example
 * const to = encodeSockaddr({ family: AF_INET, address: '127.0.0.1', port: 9999 });
 * for (const m of messages) sendto(fd, m, undefined, 0, to);
 */
export function encodeSockaddr(addr: AnySockAddr): BinarySockAddr {
  return native.encodeSockaddr(addrArg(addr));
}

/** The address object of a binary address (null for an empty one, as recvfrom on a stream socket gives). */
export function decodeSockaddr(binary: BinarySockAddr): SockAddr | null {
  return native.decodeSockaddr(binary);
}

/** A new holder for `recvfromInto`'s sender, reusable across calls. */
export function sockaddrHolder(): BinarySockAddr {
  return Buffer.alloc(SOCKADDR_BINARY_SIZE);
}
