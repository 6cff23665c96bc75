/**
 * MMsgBatch: the allocation-free form of `sendmmsg`/`recvmmsg` for hot loops.
 *
 * C reuses one `struct mmsghdr` array from call to call; this is the same idea for JS. A batch is
 * made once: `slots` datagram slots of `size` bytes back to back in one buffer, a `lengths` array
 * (bytes to send, or bytes received), the `flags` of each received message and, if asked for, one
 * binary address per slot. `sendmmsg(fd, batch)` and `recvmmsgInto(fd, batch)` then make their
 * system call on the batch's own memory with a handful of Node-API calls, however many slots they
 * cover, and create no object: the per-datagram cost is the kernel's.
 * @packageDocumentation
 */
import { endianness } from 'node:os';
import { native } from './binding.js';
import { integerArg, invalidArgType, isRevokedProxy, optionsArg, outOfRange } from './argerrors.js';
import type { AnySockAddr, BinarySockAddr } from './sockaddr.js';
import { SOCKADDR_BINARY_SIZE, encodeSockaddr } from './sockaddrcodec.js';

/** The most slots one batch may have: the kernel's UIO_MAXIOV, the most one sendmmsg/recvmmsg takes. */
export const MMSG_BATCH_MAX = 1024;

/** Options of `new MMsgBatch`. */
export interface MMsgBatchOptions {
  /**
   * Keep one binary address per slot (`address(i)`): destinations for an unconnected socket's
   * `sendmmsg`, senders after `recvmmsgInto`. Default false (a connected socket needs none).
   */
  addresses?: boolean;
}

/**
 * A reusable batch of datagrams for `sendmmsg` and `recvmmsgInto`.
 * @example
 * const batch = new MMsgBatch(64, 2048, { addresses: true });
 * const n = recvmmsgInto(fd, batch, { flags: MSG_DONTWAIT });  // up to 64 datagrams, nothing allocated
 * for (let i = 0; i < n; i++) batch.lengths[i];                 // slot i holds batch.message(i), from batch.address(i)
 * sendmmsg(fd, batch, 0, n);                                    // echo all n back to their senders
 */
export class MMsgBatch {
  /** How many slots the batch has. */
  readonly slots: number;
  /** The size of each slot in bytes: the most one datagram may carry (a longer one is truncated, MSG_TRUNC). */
  readonly size: number;
  /** All slots back to back: slot `i` is bytes `[i * size, (i + 1) * size)`. */
  readonly data: Uint8Array;
  /**
   * One entry per slot: before `sendmmsg`, how many bytes of the slot to send; after `recvmmsgInto`,
   * the datagram's length (its true length with MSG_TRUNC, which may exceed `size`).
   */
  readonly lengths: Uint32Array;
  /** One entry per slot, filled by `recvmmsgInto`: the message's flags (MSG_TRUNC, MSG_CTRUNC, ...). */
  readonly flags: Uint32Array;
  /**
   * With `{ addresses: true }`: one binary sockaddr of SOCKADDR_BINARY_SIZE bytes per slot, the
   * destination for `sendmmsg` (an empty entry, length 0, sends to the connected peer) and the sender
   * after `recvmmsgInto`.
   */
  readonly addresses: Uint8Array | undefined;

  /**
   * @param slots - 1 to 1024 (UIO_MAXIOV).
   * @param size - bytes per slot, at least 1.
   * @throws RangeError for a count or size out of range (or a batch too large to allocate).
   */
  constructor(slots: number, size: number, options?: MMsgBatchOptions) {
    this.slots = integerArg(slots, 'slots', 1, MMSG_BATCH_MAX);
    this.size = integerArg(size, 'size', 1, 2 ** 31 - 1);
    const o = optionsArg(options, 'options', { addresses: 'boolean' });
    this.data = new Uint8Array(slots * size);
    this.lengths = new Uint32Array(slots);
    this.flags = new Uint32Array(slots);
    this.addresses = o.addresses ? new Uint8Array(slots * SOCKADDR_BINARY_SIZE) : undefined;
  }

  private index(i: number): number {
    return integerArg(i, 'i', 0, this.slots - 1);
  }

  /** Slot `i` whole (a view, not a copy): write a datagram there, then set `lengths[i]`. */
  slot(i: number): Uint8Array {
    const at = this.index(i) * this.size;
    return this.data.subarray(at, at + this.size);
  }

  /** The datagram in slot `i` (a view of its first `lengths[i]` bytes, at most the slot). */
  message(i: number): Uint8Array {
    const k = this.index(i);
    const at = k * this.size;
    return this.data.subarray(at, at + Math.min(this.lengths[k]!, this.size));
  }

  /**
   * Copies `bytes` into slot `i` and sets `lengths[i]`; with `addr`, also the slot's destination.
   * Everything is checked before anything is written: a refused call leaves the slot as it was.
   */
  set(i: number, bytes: ArrayBufferView, addr?: AnySockAddr): void {
    const slot = this.slot(i);
    if (!ArrayBuffer.isView(bytes)) throw invalidArgType('bytes', 'an instance of Buffer, TypedArray, or DataView', bytes);
    if (bytes.byteLength > this.size) throw outOfRange('bytes.byteLength', `<= the slot size ${this.size}`, bytes.byteLength);
    const dst = addr === undefined ? undefined : this.address(i);
    let bin = addr === undefined ? undefined : binaryOf(addr);
    // An address that lives in this batch's data would be overwritten by the bytes: copy it first.
    if (bin !== undefined && bin.buffer === this.data.buffer) bin = bin.slice();
    // A view of a detached buffer is empty, as the native layer takes it (no view of it can be made).
    if (bytes.byteLength > 0) slot.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.lengths[i] = bytes.byteLength;
    if (dst !== undefined && bin !== undefined) writeAddress(dst, bin);
  }

  /** The binary address of slot `i` (a view into `addresses`; pass it to `decodeSockaddr` or `sendto`). */
  address(i: number): BinarySockAddr {
    const at = this.index(i) * SOCKADDR_BINARY_SIZE;
    if (this.addresses === undefined) throw new TypeError('This MMsgBatch was made without { addresses: true }');
    return this.addresses.subarray(at, at + SOCKADDR_BINARY_SIZE);
  }

  /**
   * Sets slot `i`'s destination (a SockAddr or its binary form); `null` clears it, so that the slot
   * goes to a connected socket's peer.
   */
  setAddress(i: number, addr: AnySockAddr | null): void {
    const dst = this.address(i);
    if (addr === null) dst.fill(0);
    else writeAddress(dst, binaryOf(addr));
  }
}

/** The binary form's length prefix is in host byte order. */
const hostLE = endianness() === 'LE';

/** The binary form of an address, checked as the native layer would (4-byte length, then that many bytes). */
function binaryOf(addr: AnySockAddr): Uint8Array {
  // A view of a detached buffer is empty (no view of its buffer can be made any more).
  const bin = ArrayBuffer.isView(addr) ? (addr.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(addr.buffer, addr.byteOffset, addr.byteLength)) : encodeSockaddr(addr);
  const len = bin.byteLength >= 4 ? new DataView(bin.buffer, bin.byteOffset, 4).getUint32(0, hostLE) : 0;
  if (bin.byteLength < 4 || len < 2 || len > SOCKADDR_BINARY_SIZE - 4 || bin.byteLength < 4 + len) {
    const what = bin.byteLength < 4 ? `a view of ${bin.byteLength} bytes` : `length ${len} in a view of ${bin.byteLength} bytes`;
    throw outOfRange('addr', 'a SockAddr or a binary sockaddr (a 4-byte length from 2 to 128, then that many bytes)', what);
  }
  return bin.subarray(0, 4 + len);
}

/** Writes a checked binary address into a slot's entry; `src` may be that very entry (set() copes with overlap). */
function writeAddress(dst: Uint8Array, src: Uint8Array): void {
  dst.set(src);
  dst.fill(0, src.byteLength);
}

/** Checks the range of slots a batch call covers; returns the count. @internal */
export function batchRange(batch: MMsgBatch, start: number, count: number | undefined): number {
  integerArg(start, 'start', 0, batch.slots);
  return integerArg(count === undefined ? batch.slots - start : count, 'count', 0, batch.slots - start);
}

/** The binding call of `sendmmsg(fd, batch, ...)`. @internal */
export function sendBatch(fd: number, batch: MMsgBatch, flags: number, start: number, count: number): number {
  return native.sendmmsgPacked(fd, batch.data, batch.size, batch.lengths, batch.addresses, start, count, flags);
}

/** The binding call of `recvmmsgInto(fd, batch, ...)`. @internal */
export function recvBatch(fd: number, batch: MMsgBatch, flags: number, timeout: number, start: number, count: number): number {
  return native.recvmmsgPacked(fd, batch.data, batch.size, batch.lengths, batch.addresses, start, count, flags, timeout, batch.flags);
}

/** Whether `x` is a batch (the overloads of sendmmsg/recvmmsgInto dispatch on it). @internal */
export function isBatch(x: unknown): x is MMsgBatch {
  return !isRevokedProxy(x) && x instanceof MMsgBatch;
}
