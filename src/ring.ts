/**
 * AF_PACKET capture rings: `RxRing` maps a PACKET_RX_RING (TPACKET_V3) on a packet socket and hands
 * its blocks to JS as views into the mapping (no copy, no system call per frame); `openRxRing`
 * (src/ringopen.ts) makes the socket, the ring and the binding in one call. Waiting for the next block goes through the fd's
 * libuv poll watcher (src/ringwait.ts): `ring.waitBlock()` (a promise, with `signal`/`timeout` as in
 * sockfd/promises) or `ring.watch(callback)`.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { type NativeRingHandle, native } from './binding.js';
import { fdArg, integerArg, invalidArgType, invalidArgValue, optionsArg, outOfRange } from './argerrors.js';
import { PACKET_RX_RING, PACKET_VERSION, SOL_PACKET, TPACKET_V3, TP_FT_REQ_FILL_RXHASH } from './constants.generated.js';
import { SystemError, check } from './errors.js';
import { onClose } from './lifecycle.js';
import { type PacketStatistics, packetOptionError } from './packetopts.js';
import { MAKE, RxBlock, type RxFrame } from './ringframe.js';
import { type RingWaitOptions, RingWaiters, type RingWatch, watchRing } from './ringwait.js';
import { close } from './socket.js';
import { setsockopt } from './sockopt.js';

const { EAGAIN, EBUSY, ENOMEM } = osConstants.errno;
const L = native.ringLayout;

/** The geometry and behaviour of an {@link RxRing}. */
export interface RxRingOptions {
  /** Bytes per block: a power of two and a multiple of the page size (4096 here), at most 2^30; default 1 MiB. */
  blockSize?: number;
  /** Blocks in the ring (1 to 2^20); default 8. The ring takes blockSize × blockCount bytes of unswappable kernel memory. */
  blockCount?: number;
  /**
   * The kernel's accounting unit for frames (`tp_frame_size`): a multiple of 16 from 80 to blockSize;
   * default 2048. TPACKET_V3 packs frames of any size into a block, so it limits nothing: a snapshot
   * length is set by a BPF filter's return value (SO_ATTACH_FILTER, `ret #96`).
   */
  frameSize?: number;
  /** Milliseconds after which a block that is not full is handed over anyway (`tp_retire_blk_tov`); 0 lets the kernel choose from the link speed; default 10. */
  retireTimeout?: number;
  /** Fill each frame's `rxhash` with the kernel's flow hash (TP_FT_REQ_FILL_RXHASH); default false. */
  rxhash?: boolean;
}

/** A ring's statistics since it was made (the kernel resets PACKET_STATISTICS on every read; the ring sums them). */
export type RxRingStats = PacketStatistics;

const DEFAULTS = { blockSize: 1 << 20, blockCount: 8, frameSize: 2048, retireTimeout: 10 } as const;
const MAX_BLOCK_SIZE = 1 << 30;

/** @internal The ring's option fields. */
export const RING_FIELDS = { blockSize: 'number', blockCount: 'number', frameSize: 'number', retireTimeout: 'number', rxhash: 'boolean' } as const;

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** The ring options, checked as packet_set_ring checks them (and more strictly where the kernel would waste memory). */
/** @internal */
export function ringOptions(options: unknown, fields: Record<string, unknown> = {}): Required<RxRingOptions> {
  const o = optionsArg(options, 'options', { ...RING_FIELDS, ...fields }) as RxRingOptions;
  const page = L.PAGE_SIZE;
  const blockSize = integerArg(o.blockSize ?? DEFAULTS.blockSize, 'options.blockSize', page, MAX_BLOCK_SIZE);
  if (!isPowerOfTwo(blockSize) || blockSize % page !== 0) {
    throw outOfRange('options.blockSize', `a power of two and a multiple of the page size (${page})`, blockSize);
  }
  const blockCount = integerArg(o.blockCount ?? DEFAULTS.blockCount, 'options.blockCount', 1, L.MAX_BLOCKS);
  const frameSize = integerArg(o.frameSize ?? Math.min(DEFAULTS.frameSize, blockSize), 'options.frameSize', L.MIN_FRAME_SIZE, blockSize);
  if (frameSize % L.TPACKET_ALIGNMENT !== 0) throw outOfRange('options.frameSize', `a multiple of ${L.TPACKET_ALIGNMENT} (TPACKET_ALIGNMENT)`, frameSize);
  if ((blockSize / frameSize) * blockCount > 0xffffffff) {
    throw outOfRange('options.blockCount', `at most ${Math.floor(0xffffffff / (blockSize / frameSize))} for ${blockSize / frameSize} frames per block (the kernel counts frames in 32 bits)`, blockCount);
  }
  const retireTimeout = integerArg(o.retireTimeout ?? DEFAULTS.retireTimeout, 'options.retireTimeout', 0, 0xffffffff);
  return { blockSize, blockCount, frameSize, retireTimeout, rxhash: o.rxhash ?? false };
}

/** The ring of each fd of this environment, so that `close(fd)` unmaps it first. */
const rings = new Map<number, RxRing>();

/** An error for a ring used after `close()`. */
function closedError(fd: number): Error {
  const err = new Error(`sockfd: the RxRing on fd ${fd} is closed`);
  (err as Error & { code: string }).code = 'ERR_SOCKET_CLOSED';
  return err;
}

/**
 * A PACKET_RX_RING (TPACKET_V3) mapped on an AF_PACKET socket: frames in blocks the kernel fills and
 * hands over, read as views into the mapping. The socket stays the caller's: bind it (before or
 * after), filter it, add it to a fanout group; close the ring before the fd, or close the fd with
 * sockfd's `close`, which closes its ring first. Rings made by {@link openRxRing} own their socket.
 *
 * Lifetime of what it hands out: a block is JS's from `nextBlock()`/`waitBlock()` until
 * `block.release()` (or `ring.close()`), and the kernel drops frames once it has no free block, so a
 * block that is never released stalls the ring (its `stats()` show the drops). Every view into a
 * block (`block.bytes`, each frame's `data`) is detached when the block is released or the ring
 * closed, and then reads as empty: no view ever shows bytes the kernel has written since. A ring that
 * is never closed stays mapped while its fd is open (sockfd's `close(fd)` closes it).
 * @example
 * const ring = new RxRing(fd, { blockSize: 1 << 20, blockCount: 8 });
 * for (const frame of ring) console.log(frame.len, frame.sec, frame.nsec); // what is there now
 * const block = await ring.waitBlock({ timeout: 1000 });
 * for (const frame of block) handle(frame.data);
 * block.release();
 * ring.close();
 */
export class RxRing implements Iterable<RxFrame> {
  /** The packet socket. */
  readonly fd: number;
  /** Bytes per block. */
  readonly blockSize: number;
  /** Blocks in the ring. */
  readonly blockCount: number;
  /** The kernel's frame accounting unit (`tp_frame_size`). */
  readonly frameSize: number;
  /** `tp_frame_nr`: blockCount × (blockSize / frameSize). */
  readonly frameCount: number;
  /** The retire timeout in milliseconds (0: the kernel's choice). */
  readonly retireTimeout: number;
  /** Whether frames carry the flow hash. */
  readonly rxhash: boolean;
  #handle: NativeRingHandle | null;
  readonly #info = new Float64Array(L.INFO_SIZE);
  readonly #held = new Map<number, RxBlock>();
  #cursor = 0;
  #current: RxBlock | null = null;
  #ownsFd = false;
  readonly #totals: RxRingStats = { packets: 0, drops: 0, freezeQueueCount: 0 };
  /** @internal The promises waiting for a block. */
  readonly waiters: RingWaiters;

  /**
   * Switches the socket to TPACKET_V3 (`setsockopt(PACKET_VERSION)`), gives it an RX ring
   * (`setsockopt(PACKET_RX_RING)` with a `struct tpacket_req3`) and maps it (`mmap(2)`). On failure
   * the socket is left as it was.
   * @param fd - an AF_PACKET socket (SOCK_RAW or SOCK_DGRAM) without a ring.
   * @throws TypeError/RangeError for options the kernel would refuse, before any call; SystemError
   *   `getsockopt` (ENOTSUP: not an AF_PACKET socket), `setsockopt` (EBUSY: it has a ring
   *   already; ENOMEM) or `mmap`.
   */
  constructor(fd: number, options: RxRingOptions = {}) {
    this.fd = fdArg(fd);
    const o = ringOptions(options);
    this.blockSize = o.blockSize;
    this.blockCount = o.blockCount;
    this.frameSize = o.frameSize;
    this.frameCount = (o.blockSize / o.frameSize) * o.blockCount;
    this.retireTimeout = o.retireTimeout;
    this.rxhash = o.rxhash;
    if (rings.has(this.fd)) throw invalidArgValue('fd', 'already has an RxRing (close that one first)', fd);
    const versionOut = new Int32Array(1);
    const got = native.getsockopt(this.fd, SOL_PACKET, PACKET_VERSION, versionOut);
    if (packetOptionError(got, 'getsockopt')) throw new SystemError(-got, 'getsockopt', undefined, `fd ${this.fd} is not an AF_PACKET socket: a ring needs one`);
    check(got, 'getsockopt');
    const version = versionOut[0]!;
    if (version !== TPACKET_V3) {
      const r = native.setsockopt(this.fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3);
      if (r === -EBUSY) throw new SystemError(EBUSY, 'setsockopt', undefined, 'the socket has a ring already (made with setsockopt, or a TX ring)');
      check(r, 'setsockopt');
    }
    const undoVersion = (): void => {
      if (version !== TPACKET_V3) native.setsockopt(this.fd, SOL_PACKET, PACKET_VERSION, version);
    };
    const r = native.setRxRing(this.fd, o.blockSize, o.blockCount, o.frameSize, o.retireTimeout, o.rxhash ? TP_FT_REQ_FILL_RXHASH : 0);
    if (r < 0) {
      undoVersion();
      const hint =
        r === -EBUSY
          ? 'the socket has an RX ring already'
          : r === -ENOMEM
            ? `the kernel could not allocate ${o.blockCount} blocks of ${o.blockSize} bytes`
            : undefined;
      throw new SystemError(-r, 'setsockopt', undefined, hint);
    }
    const handle = native.ringMap(this.fd, o.blockSize, o.blockCount);
    if (typeof handle === 'number') {
      // Free the kernel's ring again (allowed: nothing maps it), then the version.
      setsockopt(this.fd, SOL_PACKET, PACKET_RX_RING, new Uint8Array(L.TPACKET_REQ3_SIZE));
      undoVersion();
      throw new SystemError(-handle, 'mmap');
    }
    this.#handle = handle;
    this.waiters = new RingWaiters(this);
    rings.set(this.fd, this);
  }

  /** Whether the ring has been closed. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** How many blocks JS holds now (handed out and not released). */
  get heldBlocks(): number {
    return this.#held.size;
  }

  /**
   * The next block the kernel has handed over, in order, or null when it has none yet (or the next
   * one is a block JS still holds). Never waits and makes no system call.
   * @throws Error `ERR_SOCKET_CLOSED` after `close()`.
   */
  nextBlock(): RxBlock | null {
    const handle = this.#handle;
    if (handle === null) throw closedError(this.fd);
    const ab = native.ringNext(handle, this.#info);
    if (typeof ab === 'number') {
      if (ab === -EAGAIN) return null;
      throw new SystemError(-ab, 'ringNext');
    }
    const block = new RxBlock(MAKE, this, ab, this.#info);
    this.#held.set(block.index, block);
    this.#cursor = block.index + 1 === this.blockCount ? 0 : block.index + 1;
    return block;
  }

  /**
   * The next frame, across blocks: each block is released once its last frame has been returned and
   * the next call is made. So a frame from `nextFrame()` is valid until the next call to `nextFrame()`
   * (copy what must live longer). Null when the kernel has handed over nothing more.
   */
  nextFrame(): RxFrame | null {
    for (;;) {
      const current = this.#current;
      if (current !== null) {
        const frame = current.nextFrame();
        if (frame !== null) return frame;
        current.release();
        this.#current = null;
      }
      const block = this.nextBlock();
      if (block === null) return null;
      this.#current = block;
    }
  }

  /** Iterates over the frames the kernel has handed over so far ({@link RxRing.nextFrame} until null). */
  *[Symbol.iterator](): Iterator<RxFrame> {
    for (let f = this.nextFrame(); f !== null; f = this.nextFrame()) yield f;
  }

  /**
   * Waits for the next block on the event loop (the fd's libuv poll watcher, which sets O_NONBLOCK
   * on the socket) and resolves with it; at once when one is ready.
   * @param options - `signal` rejects with an AbortError; `timeout` (ms) with a SystemError ETIMEDOUT.
   * @returns a block, JS's until released. Rejects with `ERR_SOCKET_CLOSED` when the ring or its
   *   socket is closed meanwhile, and with a SystemError for a socket error (ENETDOWN when the
   *   interface goes down).
   */
  waitBlock(options?: RingWaitOptions): Promise<RxBlock> {
    return this.waiters.wait(options);
  }

  /**
   * Calls `callback(null, block)` for each block as the kernel hands it over, on the event loop,
   * until the watch is closed; `callback(err, null)` when waiting fails (ENETDOWN, ...). Each block
   * is the callback's to release.
   * @returns the subscription: `close()`, `ref()`, `unref()`.
   */
  watch(callback: (err: Error | null, block: RxBlock | null) => void): RingWatch {
    if (typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback);
    if (this.#handle === null) throw closedError(this.fd);
    return watchRing(this, callback);
  }

  /**
   * The socket's PACKET_STATISTICS summed since the ring was made: frames seen (drops included),
   * frames dropped for want of a free block, and how often the ring froze. Reads (and so resets) the
   * kernel's counters.
   * @throws Error `ERR_SOCKET_CLOSED` after `close()`; SystemError `getsockopt`.
   */
  stats(): RxRingStats {
    if (this.#handle === null) throw closedError(this.fd);
    const s = new Uint32Array(3);
    check(native.packetStatistics(this.fd, s), 'getsockopt');
    this.#totals.packets += s[0]!;
    this.#totals.drops += s[1]!;
    this.#totals.freezeQueueCount += s[2]!;
    return { ...this.#totals };
  }

  /** @internal Whether the block before the next one to hand out is held: then poll(2) reports the fd readable though nothing is ready (the kernel's packet_poll looks at that block). */
  previousHeld(): boolean {
    return this.#held.has(this.#cursor === 0 ? this.blockCount - 1 : this.#cursor - 1);
  }

  /** @internal Gives a block back (RxBlock.release). */
  releaseBlock(block: RxBlock): void {
    const handle = this.#handle;
    if (handle === null || this.#held.get(block.index) !== block) {
      block.markReleased();
      return;
    }
    check(native.ringRelease(handle, block.index), 'ringRelease');
    this.#held.delete(block.index);
    block.markReleased();
    if (this.#current === block) this.#current = null;
  }

  /**
   * Unmaps the ring: every block still held is detached (its views read as empty), waiters are
   * rejected with `ERR_SOCKET_CLOSED`, the kernel's ring is freed (the socket is a plain packet socket
   * again) and, for a ring from {@link openRxRing}, the socket is closed. Idempotent.
   */
  close(): void {
    this.teardown(true);
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal `closeFd`: false when sockfd's `close(fd)` is closing the fd itself. */
  teardown(closeFd: boolean): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    rings.delete(this.fd);
    for (const block of this.#held.values()) block.markReleased();
    this.#held.clear();
    this.#current = null;
    native.ringUnmap(handle);
    this.waiters.closeAll(closedError(this.fd));
    if (closeFd && this.#ownsFd) close(this.fd);
  }

  /** @internal The ring closes its fd (openRxRing). */
  adoptFd(): void {
    this.#ownsFd = true;
  }
}

// sockfd's close(fd) unmaps the fd's ring first: no mapping outlives the fd it was made on.
onClose((fd) => rings.get(fd)?.teardown(false));
