/**
 * Moving bytes: read, write, send, recv, sendto, recvfrom.
 *
 * `buf` is any ArrayBufferView (Buffer, Uint8Array, DataView, ...) and only its own bytes are touched;
 * an offset is a `subarray`, never a copy. `length` is C's `len`: it defaults to `buf.byteLength`,
 * and a length beyond the view is a RangeError before any system call. Every send carries
 * MSG_NOSIGNAL, so a reset peer is an EPIPE error, never a SIGPIPE.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { integerArg } from './argerrors.js';
import { native } from './binding.js';
import { MSG_DONTWAIT } from './constants.generated.js';
import { sender, senderHolder, toBinary } from './addrmemo.js';
import { check, checkAt, invalidArgType } from './errors.js';
import type { AnySockAddr, BinarySockAddr, SockAddr } from './sockaddr.js';

/**
 * Reads from an fd; corresponds to `read(2)`.
 * @returns the number of bytes read; 0 means end of stream.
 * @throws SystemError `read` (EAGAIN on a non-blocking fd with nothing to read, ECONNRESET, ...)
 */
export function read(fd: number, buf: ArrayBufferView, length?: number): number {
  return check(native.read(fd, buf, length), 'read');
}

/**
 * Writes to an fd; corresponds to `write(2)`. On a socket it is made as `send(fd, buf, length,
 * MSG_NOSIGNAL)`, which `send(2)` documents as the same call but for the flag.
 * @returns the number of bytes written (possibly fewer than `length` on a non-blocking socket).
 * @throws SystemError `write` (EPIPE, ECONNRESET, EAGAIN, ...)
 */
export function write(fd: number, buf: ArrayBufferView, length?: number): number {
  return check(native.write(fd, buf, length), 'write');
}

/**
 * Sends on a connected socket; corresponds to `send(2)`.
 * @param flags - MSG_DONTWAIT, MSG_MORE, MSG_OOB, ... (MSG_NOSIGNAL is always added).
 * @throws SystemError `send`
 */
export function send(fd: number, buf: ArrayBufferView, length?: number, flags = 0): number {
  return check(native.send(fd, buf, length, flags), 'send');
}

/**
 * Receives from a socket; corresponds to `recv(2)`.
 * @param flags - MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC, ...
 * @returns the number of bytes received (0 at end of stream). With MSG_TRUNC on a datagram socket,
 *   the datagram's real length, which may exceed `length`; no more than `length` bytes are written.
 * @throws SystemError `recv`
 */
export function recv(fd: number, buf: ArrayBufferView, length?: number, flags = 0): number {
  return check(native.recv(fd, buf, length, flags), 'recv');
}

/**
 * Sends a datagram to an address; corresponds to `sendto(2)`.
 * @param length - bytes of `buf` to send; `undefined` for all of them.
 * @throws SystemError `sendto` (EMSGSIZE, ECONNREFUSED after an ICMP error, ...), with `address`/`port`.
 * @example
 * sendto(fd, Buffer.from('Michael'), undefined, 0, { family: AF_INET, address: '127.0.0.1', port: 9999 });
 */
export function sendto(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number, addr: AnySockAddr): number {
  return checkAt(native.sendto(fd, buf, length, flags, toBinary(addr)), 'sendto');
}

/** What `recvfrom` returns. */
export interface RecvFromResult {
  /** Bytes received (the real datagram length with MSG_TRUNC). */
  bytes: number;
  /** The sender's address; null where the kernel gives none (a connected stream socket). */
  address: SockAddr | null;
}

/**
 * Receives a datagram and its sender's address; corresponds to `recvfrom(2)`.
 * @throws SystemError `recvfrom`
 */
export function recvfrom(fd: number, buf: ArrayBufferView, length?: number, flags = 0): RecvFromResult {
  const bytes = check(native.recvfrom(fd, buf, length, flags, senderHolder), 'recvfrom');
  return { bytes, address: sender() };
}

/**
 * The allocation-free form of `recvfrom` for hot loops: the sender's address goes into `from`, a
 * binary holder of at least 132 bytes (`sockaddrHolder()`), and only the byte count is returned.
 * Pass `from` straight to `sendto` to reply, or `decodeSockaddr(from)` to look at it.
 * @throws SystemError `recvfrom`
 * @example
 * const from = sockaddrHolder();
 * const n = recvfromInto(fd, buf, undefined, 0, from);
 * sendto(fd, buf, n, 0, from); // echo, without creating an address object
 */
export function recvfromInto(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number, from: BinarySockAddr): number {
  if (!ArrayBuffer.isView(from)) throw invalidArgType('from', 'a Uint8Array of at least 132 bytes (sockaddrHolder())', from);
  return check(native.recvfrom(fd, buf, length, flags, from), 'recvfrom');
}

// The non-throwing forms, for polling loops: a call that would block returns null instead of throwing
// the EAGAIN SystemError. Building and throwing that error (its stack captured, as every SystemError's
// is) costs about 5 µs here, 25 times the system call that found nothing and 6 times a miss in Python,
// whose exception carries no stack until it is asked for; no error can be both a SystemError with a
// stack and that cheap in V8, so the cheap miss is a separate, explicit call.

const { EAGAIN } = osConstants.errno;

/** A binding's count, null for EAGAIN (EWOULDBLOCK is the same number on Linux), a SystemError otherwise. */
function orNull(result: number, syscall: string, withAddress = false): number | null {
  if (result === -EAGAIN) return null;
  return withAddress ? checkAt(result, syscall) : check(result, syscall);
}

/** The caller's flags with MSG_DONTWAIT, checked as the native layer would check them. */
function nowait(flags: unknown): number {
  return integerArg(flags, 'flags', -(2 ** 31), 2 ** 31 - 1) | MSG_DONTWAIT;
}

/**
 * `recv(fd, buf, length, flags | MSG_DONTWAIT)` that returns null when nothing is there, instead of
 * throwing EAGAIN: the form for loops that poll a socket (a miss costs the system call, about 0.2 µs,
 * where a thrown SystemError costs about 5 µs). Any other failure throws, as `recv` does.
 * @returns the byte count (0 at end of stream), or null when the call would block.
 * @example
 * const n = tryRecv(fd, buf);
 * if (n === null) { // nothing yet: do something else, or wait with poll/watch/sockfd/promises
 * }
 */
export function tryRecv(fd: number, buf: ArrayBufferView, length?: number, flags = 0): number | null {
  return orNull(native.recv(fd, buf, length, nowait(flags)), 'recv');
}

/** `recvfrom` with MSG_DONTWAIT that returns null when no datagram waits (see {@link tryRecv}). */
export function tryRecvfrom(fd: number, buf: ArrayBufferView, length?: number, flags = 0): RecvFromResult | null {
  const bytes = orNull(native.recvfrom(fd, buf, length, nowait(flags), senderHolder), 'recvfrom');
  return bytes === null ? null : { bytes, address: sender() };
}

/** `recvfromInto` with MSG_DONTWAIT that returns null when no datagram waits (see {@link tryRecv}). */
export function tryRecvfromInto(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number, from: BinarySockAddr): number | null {
  if (!ArrayBuffer.isView(from)) throw invalidArgType('from', 'a Uint8Array of at least 132 bytes (sockaddrHolder())', from);
  return orNull(native.recvfrom(fd, buf, length, nowait(flags), from), 'recvfrom');
}

/** `send` with MSG_DONTWAIT that returns null when the send queue is full (see {@link tryRecv}). */
export function trySend(fd: number, buf: ArrayBufferView, length?: number, flags = 0): number | null {
  return orNull(native.send(fd, buf, length, nowait(flags)), 'send');
}

/** `sendto` with MSG_DONTWAIT that returns null when the send queue is full (see {@link tryRecv}). */
export function trySendto(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number, addr: AnySockAddr): number | null {
  return orNull(native.sendto(fd, buf, length, nowait(flags), toBinary(addr)), 'sendto', true);
}
