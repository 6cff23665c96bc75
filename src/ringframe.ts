/**
 * The blocks and frames of an {@link RxRing}: views into the mapped ring, read in place. The offsets
 * of the kernel's `struct tpacket3_hdr` and `struct sockaddr_ll` come from native/ring.cc
 * (`ringLayout`), which takes them from <linux/if_packet.h>.
 * @packageDocumentation
 */
import { illegalConstructor } from './argerrors.js';
import { native } from './binding.js';
import { TP_STATUS_BLK_TMO, TP_STATUS_LOSING, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID } from './constants.generated.js';

const L = native.ringLayout;
// Word indices (within a frame header, from its start) for the block's Uint32Array and Uint16Array views.
const W_NEXT = L.HDR_NEXT_OFFSET >> 2;
const W_SEC = L.HDR_SEC >> 2;
const W_NSEC = L.HDR_NSEC >> 2;
const W_SNAPLEN = L.HDR_SNAPLEN >> 2;
const W_LEN = L.HDR_LEN >> 2;
const W_STATUS = L.HDR_STATUS >> 2;
const W_RXHASH = L.HDR_RXHASH >> 2;
const W_VLAN_TCI = L.HDR_VLAN_TCI >> 2;
const H_MAC = L.HDR_MAC >> 1;
const H_NET = L.HDR_NET >> 1;
const H_VLAN_TPID = L.HDR_VLAN_TPID >> 1;
const SLL_IFINDEX = (L.SLL_OFFSET + L.SLL_IFINDEX) >> 2;
const SLL_PROTOCOL = (L.SLL_OFFSET + L.SLL_PROTOCOL) >> 1;
const SLL_HATYPE = (L.SLL_OFFSET + L.SLL_HATYPE) >> 1;
const SLL_PKTTYPE = L.SLL_OFFSET + L.SLL_PKTTYPE;
const SLL_HALEN = L.SLL_OFFSET + L.SLL_HALEN;
const SLL_ADDR = L.SLL_OFFSET + L.SLL_ADDR;
const MIN_HEADER = L.TPACKET3_HDRLEN;

/**
 * @internal What sockfd passes to the constructors of RxBlock and RxFrame: they are exported for
 * `instanceof` and their types, but only a ring makes them (their arguments are views into its mapping).
 */
export const MAKE = Symbol('sockfd.ring');

/**
 * A Buffer over ring memory, made as Node makes its own (lib/internal/buffer.js's FastBuffer: a
 * Uint8Array subclass whose prototype is Buffer.prototype): `instanceof Buffer`, every Buffer method,
 * without the argument checks of `Buffer.from(arrayBuffer, offset, length)`, whose arguments are ours
 * here. Half the cost per frame (16 ns against 28 ns, measured).
 */
class RingBytes extends Uint8Array {}
Object.setPrototypeOf(RingBytes.prototype, Buffer.prototype);
const view = (ab: ArrayBuffer, offset: number, length: number): Buffer => new RingBytes(ab, offset, length) as unknown as Buffer;

// Fields of ringNext's info array (native/ring.cc's BlockInfo).
const I_INDEX = 0, I_STATUS = 1, I_FRAMES = 2, I_FIRST = 3, I_LENGTH = 4, I_SEQ = 5, I_FSEC = 6, I_FNSEC = 7, I_LSEC = 8, I_LNSEC = 9;

/**
 * One captured frame, read in place from its ring block. `data` is a view into the ring, not a copy:
 * it is valid until its block is released (then it has length 0). Copy what must outlive the block
 * (`Buffer.from(frame.data)`).
 */
export class RxFrame {
  /** The captured bytes, from the link-layer header on (SOCK_RAW) or the network header (SOCK_DGRAM); `snaplen` bytes. */
  readonly data: Buffer;
  /** When the kernel received it: seconds since the epoch (`tp_sec`). */
  readonly sec: number;
  /** ... and nanoseconds (`tp_nsec`). */
  readonly nsec: number;
  /** The frame's length on the wire (`tp_len`); more than `snaplen` when a filter cut it. */
  readonly len: number;
  /** The bytes captured (`tp_snaplen`): `data.length` until the block is released. */
  readonly snaplen: number;
  /** `tp_status`: TP_STATUS_VLAN_VALID, _VLAN_TPID_VALID, _CSUMNOTREADY, _CSUM_VALID, _TS_SOFTWARE, ... */
  readonly status: number;
  /** The VLAN tag the NIC or the kernel took off (`tp_vlan_tci`), or null when there was none (no TP_STATUS_VLAN_VALID). */
  readonly vlanTci: number | null;
  /** That tag's protocol (`tp_vlan_tpid`: 0x8100, 0x88a8), or null. */
  readonly vlanTpid: number | null;
  /** The flow hash (`tp_rxhash`), with the ring's `rxhash` option; 0 otherwise. */
  readonly rxhash: number;
  /** Where the network header starts in `data` (`tp_net - tp_mac`: 14 for Ethernet, 0 for SOCK_DGRAM). */
  readonly networkOffset: number;
  /** The interface it came in on or went out of (`sll_ifindex`). */
  readonly ifindex: number;
  /** Its EtherType in network byte order, as `sll_protocol` and sockfd's AF_PACKET addresses hold it (`ntohs` it). */
  readonly protocol: number;
  /** The link's ARPHRD_ type (`sll_hatype`). */
  readonly hatype: number;
  /** PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST or _OUTGOING (`sll_pkttype`). */
  readonly pkttype: number;
  /** The frame header's offset in its block (`block.bytes`). */
  readonly offset: number;
  readonly #bytes: Buffer;

  /**
   * @internal Frames come from {@link RxBlock.nextFrame}.
   * @throws TypeError `ERR_ILLEGAL_CONSTRUCTOR` from any other caller.
   */
  constructor(make: typeof MAKE, ab: ArrayBuffer, bytes: Buffer, u32: Uint32Array, u16: Uint16Array, offset: number, mac: number, snaplen: number) {
    if (make !== MAKE) throw illegalConstructor('RxFrame', 'RxBlock.nextFrame() and iterating a block or ring');
    const w = offset >> 2;
    const h = offset >> 1;
    this.#bytes = bytes;
    this.data = view(ab, offset + mac, snaplen);
    this.sec = u32[w + W_SEC]!;
    this.nsec = u32[w + W_NSEC]!;
    this.len = u32[w + W_LEN]!;
    this.snaplen = snaplen;
    const status = u32[w + W_STATUS]!;
    this.status = status;
    this.vlanTci = status & TP_STATUS_VLAN_VALID ? u32[w + W_VLAN_TCI]! : null;
    this.vlanTpid = status & TP_STATUS_VLAN_TPID_VALID ? u16[h + H_VLAN_TPID]! : null;
    this.rxhash = u32[w + W_RXHASH]!;
    this.networkOffset = u16[h + H_NET]! - mac;
    this.ifindex = u32[w + SLL_IFINDEX]! | 0;
    this.protocol = u16[h + SLL_PROTOCOL]!;
    this.hatype = u16[h + SLL_HATYPE]!;
    this.pkttype = bytes[offset + SLL_PKTTYPE]!;
    this.offset = offset;
  }

  /** `sec` and `nsec` as one count of nanoseconds since the epoch. */
  timestamp(): bigint {
    return BigInt(this.sec) * 1_000_000_000n + BigInt(this.nsec);
  }

  /** A copy of the link-layer source address (`sll_addr`, `sll_halen` bytes: the sender's MAC on Ethernet); empty once the block is released. */
  linkAddress(): Buffer {
    if (this.#bytes.length === 0) return Buffer.alloc(0); // released: the block's buffer is detached
    const halen = Math.min(this.#bytes[this.offset + SLL_HALEN] ?? 0, L.SLL_ADDR_SIZE);
    const start = this.offset + SLL_ADDR;
    return Buffer.from(this.#bytes.subarray(start, start + halen));
  }
}

/** @internal What a block needs of its ring: giving it back. */
export interface BlockOwner {
  releaseBlock(block: RxBlock): void;
}

/** An error for a frame header that points outside its block: the kernel writes none, so something wrote into the ring. */
function corrupt(index: number, offset: number, what: string): Error {
  const err = new Error(`sockfd: frame header at offset ${offset} of ring block ${index} is corrupt (${what}): was the ring written to?`);
  (err as Error & { code: string }).code = 'ERR_RING_CORRUPT';
  return err;
}

/**
 * A block of an {@link RxRing} that the kernel has handed over: its frames, read in place, until
 * {@link RxBlock.release} gives it back. The kernel cannot write into a block until it is released,
 * and it drops frames once every block is held, so release blocks promptly. Releasing detaches every
 * view into the block (`bytes`, each frame's `data`): they read as empty afterwards, never as frames
 * the kernel has written since. `using block = ring.nextBlock()` releases it at the end of the scope.
 */
export class RxBlock implements Iterable<RxFrame> {
  /** The block's place in the ring (0 to blockCount - 1). */
  readonly index: number;
  /** The kernel's sequence number of this filling of a block (`seq_num`, from 1): consecutive blocks differ by 1. */
  readonly sequence: number;
  /** How many frames it holds (`num_pkts`). */
  readonly frameCount: number;
  /** The bytes the kernel used, block header included (`blk_len`). */
  readonly length: number;
  /** `block_status`: TP_STATUS_USER, with TP_STATUS_BLK_TMO and TP_STATUS_LOSING as below. */
  readonly status: number;
  /** The retire timeout closed it before it was full (TP_STATUS_BLK_TMO). */
  readonly timedOut: boolean;
  /** The socket had dropped frames when the kernel closed it (TP_STATUS_LOSING; cleared when the statistics are read). */
  readonly losing: boolean;
  /** When the kernel opened the block for filling (`ts_first_pkt`): seconds ... */
  readonly openedSec: number;
  /** ... and nanoseconds. */
  readonly openedNsec: number;
  /** The last frame's timestamp (`ts_last_pkt`): seconds ... */
  readonly lastSec: number;
  /** ... and nanoseconds. */
  readonly lastNsec: number;
  /** The whole block, header included: a view into the ring, detached on release. */
  readonly bytes: Buffer;
  readonly #owner: BlockOwner;
  readonly #ab: ArrayBuffer;
  readonly #u32: Uint32Array;
  readonly #u16: Uint16Array;
  #offset: number;
  #left: number;
  #released = false;

  /**
   * @internal Blocks come from {@link RxRing.nextBlock}.
   * @throws TypeError `ERR_ILLEGAL_CONSTRUCTOR` from any other caller.
   */
  constructor(make: typeof MAKE, owner: BlockOwner, block: ArrayBuffer, info: Float64Array) {
    if (make !== MAKE) throw illegalConstructor('RxBlock', 'RxRing.nextBlock(), waitBlock() and watch()');
    this.#owner = owner;
    this.index = info[I_INDEX]!;
    this.status = info[I_STATUS]!;
    this.frameCount = info[I_FRAMES]!;
    this.length = info[I_LENGTH]!;
    this.sequence = info[I_SEQ]!;
    this.openedSec = info[I_FSEC]!;
    this.openedNsec = info[I_FNSEC]!;
    this.lastSec = info[I_LSEC]!;
    this.lastNsec = info[I_LNSEC]!;
    this.timedOut = (this.status & TP_STATUS_BLK_TMO) !== 0;
    this.losing = (this.status & TP_STATUS_LOSING) !== 0;
    this.#ab = block;
    this.bytes = view(block, 0, block.byteLength);
    this.#u32 = new Uint32Array(block);
    this.#u16 = new Uint16Array(block);
    this.#offset = info[I_FIRST]!;
    this.#left = this.frameCount;
  }

  /** Whether the block has been given back to the kernel (by `release`, or by closing the ring). */
  get released(): boolean {
    return this.#released;
  }

  /** Frames not read yet with `nextFrame` or iteration. */
  get remaining(): number {
    return this.#released ? 0 : this.#left;
  }

  /**
   * The next frame of the block, or null after the last one (and once the block is released).
   * @throws Error `ERR_RING_CORRUPT` for a frame header pointing outside the block (only if the ring was written to).
   */
  nextFrame(): RxFrame | null {
    if (this.#left === 0 || this.#released) return null;
    const offset = this.#offset;
    const size = this.bytes.length;
    if (offset + MIN_HEADER > size || offset % 8 !== 0) throw corrupt(this.index, offset, 'no room for a header');
    const w = offset >> 2;
    const mac = this.#u16[(offset >> 1) + H_MAC]!;
    const snaplen = this.#u32[w + W_SNAPLEN]!;
    if (mac + snaplen > size - offset) throw corrupt(this.index, offset, 'its data runs past the block');
    const next = this.#u32[w + W_NEXT]!;
    if (--this.#left > 0) {
      if (next === 0 || offset + next > size) throw corrupt(this.index, offset, 'the next frame is outside the block');
      this.#offset = offset + next;
    }
    return new RxFrame(MAKE, this.#ab, this.bytes, this.#u32, this.#u16, offset, mac, snaplen);
  }

  /** Iterates over the frames not read yet. */
  *[Symbol.iterator](): Iterator<RxFrame> {
    for (let f = this.nextFrame(); f !== null; f = this.nextFrame()) yield f;
  }

  /** Gives the block back to the kernel, detaching every view into it. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#owner.releaseBlock(this);
  }

  /** @internal Called by the ring once the block is given back (or the ring is closed). */
  markReleased(): void {
    this.#released = true;
  }

  /** `release()`, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}
