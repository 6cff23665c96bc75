/**
 * The allocation-free record path of the pcap writer: records encoded one after another straight into
 * an output chunk (64 KiB, or one record's size when larger), which is handed over whole. No object,
 * Buffer or BigInt is made per packet; the chunk is the only allocation, once per 64 KiB of output.
 * @internal
 * @packageDocumentation
 */
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import type { CaptureInterface } from './pcap.js';
import { pad4 } from './pcapread.js';

/** Bytes of output gathered before a chunk is handed over. */
export const CHUNK_SIZE = 1 << 16;
const DEFAULT_SNAPLEN = 262144;
const EPB = 6;
const TWO32 = 2 ** 32;

function u32(value: number, name: string): void {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  throw outOfRange(name, 'an integer >= 0 and <= 4294967295', value);
}

/** Encodes pcap or pcapng records into chunks. @internal */
export class RecordChunks {
  #chunk: Buffer | null = null;
  #view: DataView | null = null;
  #pos = 0;
  readonly #snaplens: number[];

  constructor(
    readonly format: 'pcap' | 'pcapng',
    readonly interfaces: readonly CaptureInterface[],
    readonly micro: boolean,
  ) {
    this.#snaplens = interfaces.map((i) => i.snaplen || DEFAULT_SNAPLEN);
  }

  /** Whether encoded bytes are waiting in the current chunk. */
  get pending(): boolean {
    return this.#pos > 0;
  }

  /**
   * Encodes one record; returns the chunk it filled (to hand over) when the record did not fit, else
   * null. Arguments are checked first: nothing is written for a bad one.
   */
  add(data: Uint8Array, sec: number, nsec: number, originalLength: number, interfaceId: number): Buffer | null {
    if (!(data instanceof Uint8Array)) throw invalidArgType('data', 'an instance of Buffer or Uint8Array', data);
    if (sec >>> 0 !== sec) u32(sec, 'sec');
    if (nsec >>> 0 !== nsec || nsec > 999_999_999) {
      if (typeof nsec !== 'number') throw invalidArgType('nsec', 'of type number', nsec);
      throw outOfRange('nsec', 'an integer >= 0 and <= 999999999', nsec);
    }
    if (originalLength >>> 0 !== originalLength) u32(originalLength, 'originalLength');
    const snaplen = this.#snaplens[interfaceId];
    if (snaplen === undefined || interfaceId >>> 0 !== interfaceId) {
      if (typeof interfaceId !== 'number') throw invalidArgType('interfaceId', 'of type number', interfaceId);
      throw outOfRange('interfaceId', `an integer >= 0 and <= ${this.interfaces.length - 1}`, interfaceId);
    }
    if (this.format === 'pcap' && interfaceId !== 0) throw invalidArgValue('interfaceId', 'must be 0 in classic pcap', interfaceId);
    const kept = data.length < snaplen ? data.length : snaplen;
    const size = this.format === 'pcapng' ? 32 + pad4(kept) : 16 + kept;
    let full: Buffer | null = null;
    if (this.#chunk === null || this.#pos + size > this.#chunk.length) {
      full = this.take();
      this.#chunk = Buffer.allocUnsafe(size > CHUNK_SIZE ? size : CHUNK_SIZE);
      this.#view = new DataView(this.#chunk.buffer, this.#chunk.byteOffset, this.#chunk.length);
    }
    const chunk = this.#chunk;
    const v = this.#view!;
    let p = this.#pos;
    if (this.format === 'pcapng') {
      // Nanoseconds since the epoch as two 32-bit halves, exactly: sec * 1e9 overflows 2^53.
      const secHi = Math.floor(sec / 65536);
      const a = (sec - secHi * 65536) * 1e9 + nsec; // < 2^47
      const b = secHi * 1e9; // < 2^46; stands for b * 2^16
      const bLo = b % 65536;
      const x = a + bLo * 65536; // < 2^48
      const low = x % TWO32;
      const high = (b - bLo) / 65536 + (x - low) / TWO32;
      v.setUint32(p, EPB, true);
      v.setUint32(p + 4, size, true);
      v.setUint32(p + 8, interfaceId, true);
      v.setUint32(p + 12, high, true);
      v.setUint32(p + 16, low, true);
      v.setUint32(p + 20, kept, true);
      v.setUint32(p + 24, originalLength, true);
      chunk.set(kept === data.length ? data : data.subarray(0, kept), p + 28);
      p += 28 + kept;
      const end = this.#pos + size - 4;
      while (p < end) chunk[p++] = 0;
      v.setUint32(p, size, true);
      p += 4;
    } else {
      v.setUint32(p, sec, true);
      v.setUint32(p + 4, this.micro ? Math.floor(nsec / 1000) : nsec, true);
      v.setUint32(p + 8, kept, true);
      v.setUint32(p + 12, originalLength, true);
      chunk.set(kept === data.length ? data : data.subarray(0, kept), p + 16);
      p += 16 + kept;
    }
    this.#pos = p;
    return full;
  }

  /** The encoded bytes waiting, handed over (the chunk is not written to again), or null. */
  take(): Buffer | null {
    if (this.#chunk === null || this.#pos === 0) return null;
    const out = this.#chunk.subarray(0, this.#pos);
    this.#chunk = null;
    this.#view = null;
    this.#pos = 0;
    return out;
  }
}
