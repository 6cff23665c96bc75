/**
 * Capture files: classic pcap and pcapng, read and written as Node streams (and whole buffers), with
 * nanosecond timestamps. Written files open in tcpdump, tshark and Wireshark; files from them read back
 * packet for packet. Link types: Ethernet (1), raw IP (101), Linux cooked v1 (113) and v2 (276), and
 * any other number as it is (`layerOf(linkType)` says where `parse` starts).
 *
 * pcapng (the default) is written as one section: a Section Header Block, one Interface Description
 * Block per interface (with `if_name` and `if_tsresol` = nanoseconds), then an Enhanced Packet Block per
 * packet. Reading accepts either byte order, several sections, Simple and obsolete Packet Blocks, any
 * `if_tsresol`, and skips blocks of other types.
 * @packageDocumentation
 */
import { Transform, type TransformCallback } from 'node:stream';
import { invalidArgType, invalidArgValue } from './errors.js';
import { BYTE_ORDER_MAGIC, SHB, pad4 } from './pcapread.js';
import type { FirstLayer } from './parse.js';
import { asBuffer, obj, optArray, optUint, uint } from './util.js';
import { RecordChunks } from './pcapchunk.js';

/** LINKTYPE_ETHERNET: Ethernet II frames (also what Linux's `lo` gives on an AF_PACKET socket). */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: IPv4 or IPv6 packets, no link-layer header. */
export const LINKTYPE_RAW = 101;
/** LINKTYPE_LINUX_SLL: Linux cooked capture v1 (16-byte header). */
export const LINKTYPE_LINUX_SLL = 113;
/** LINKTYPE_IPV4: IPv4 packets only. */
export const LINKTYPE_IPV4 = 228;
/** LINKTYPE_IPV6: IPv6 packets only. */
export const LINKTYPE_IPV6 = 229;
/** LINKTYPE_LINUX_SLL2: Linux cooked capture v2 (20-byte header), what `tcpdump -i any` writes. */
export const LINKTYPE_LINUX_SLL2 = 276;

/** A captured packet. */
export interface PacketRecord {
  /** The captured bytes (at most the snapshot length). */
  data: Buffer;
  /** When it was captured, in nanoseconds since the Unix epoch. */
  timestamp: bigint;
  /** Its length on the wire (more than `data.length` when the capture cut it). */
  originalLength: number;
  /** The index of its interface in the file (always 0 in classic pcap). */
  interfaceId: number;
  /** That interface's link type. */
  linkType: number;
}

/** An interface of a capture file. */
export interface CaptureInterface {
  /** The link type of its packets (LINKTYPE_ETHERNET, ...). */
  linkType: number;
  /** The snapshot length: the most bytes kept of a packet; default 262144. */
  snaplen?: number;
  /** The interface name (pcapng `if_name`), e.g. 'eth0'. */
  name?: string;
}

/** A packet to write: the bytes, and optionally when, how long it was, and on which interface. */
export interface PacketInput {
  data: Uint8Array;
  /** Nanoseconds since the epoch, or `{ sec, nsec }` as `SCM_TIMESTAMPNS` gives it; default now. */
  timestamp?: bigint | { sec: number; nsec: number };
  /** The length on the wire; default the data's length. */
  originalLength?: number;
  /** The interface, an index into the writer's interfaces (pcapng); default 0. */
  interfaceId?: number;
}

/** Options of {@link createWriter} and {@link encode}. */
export interface WriterOptions {
  /** `'pcapng'` (default) or `'pcap'` (classic, with nanosecond timestamps unless `microseconds`). */
  format?: 'pcapng' | 'pcap';
  /** The link type of a single interface; default LINKTYPE_ETHERNET. */
  linkType?: number;
  /** The snapshot length of a single interface; default 262144. */
  snaplen?: number;
  /** pcapng: the interfaces, each with its link type (instead of `linkType`/`snaplen`). */
  interfaces?: readonly CaptureInterface[];
  /** Classic pcap: write microsecond timestamps (magic a1b2c3d4) instead of nanoseconds (a1b23c4d). */
  microseconds?: boolean;
}

/** A whole capture file, read. */
export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  interfaces: CaptureInterface[];
  records: PacketRecord[];
}

const DEFAULT_SNAPLEN = 262144;

/**
 * Where `parse` starts for a link type: `'ethernet'`, `'ip'`, `'sll2'`, or undefined when `parse` has
 * no layer for it (Linux cooked v1: skip its 16 bytes and parse `'ip'` when its protocol says so).
 * @param linkType - a LINKTYPE_ number.
 * @returns the first layer, or undefined.
 */
export function layerOf(linkType: number): FirstLayer | undefined {
  if (linkType === LINKTYPE_ETHERNET) return 'ethernet';
  if (linkType === LINKTYPE_RAW || linkType === LINKTYPE_IPV4 || linkType === LINKTYPE_IPV6) return 'ip';
  if (linkType === LINKTYPE_LINUX_SLL2) return 'sll2';
  return undefined;
}

function interfacesOf(options: WriterOptions): CaptureInterface[] {
  if (options.interfaces !== undefined) {
    const list = optArray(options.interfaces, 'options.interfaces');
    if (list.length === 0) throw invalidArgValue('options.interfaces', 'must name at least one interface', list);
    return list.map((i, n) => {
      obj(i, `options.interfaces[${n}]`);
      if (i.name !== undefined && typeof i.name !== 'string') throw invalidArgType(`options.interfaces[${n}].name`, 'of type string', i.name);
      return { linkType: uint(i.linkType, `options.interfaces[${n}].linkType`, 0xffff), snaplen: optUint(i.snaplen, `options.interfaces[${n}].snaplen`, 0xffffffff, DEFAULT_SNAPLEN), ...(i.name === undefined ? {} : { name: i.name }) };
    });
  }
  return [{ linkType: optUint(options.linkType, 'options.linkType', 0xffff, LINKTYPE_ETHERNET), snaplen: optUint(options.snaplen, 'options.snaplen', 0xffffffff, DEFAULT_SNAPLEN) }];
}


function block(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(12 + pad4(body.length));
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(out.length, 4);
  body.copy(out, 8);
  out.writeUInt32LE(out.length, out.length - 4);
  return out;
}

function option(code: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + pad4(value.length));
  out.writeUInt16LE(code, 0);
  out.writeUInt16LE(value.length, 2);
  value.copy(out, 4);
  return out;
}

function header(format: 'pcap' | 'pcapng', ifaces: CaptureInterface[], micro: boolean): Buffer {
  if (format === 'pcap') {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(micro ? 0xa1b2c3d4 : 0xa1b23c4d, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(ifaces[0]!.snaplen ?? DEFAULT_SNAPLEN, 16);
    h.writeUInt32LE(ifaces[0]!.linkType, 20);
    return h;
  }
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8); // section length unknown: a stream
  const parts = [block(SHB, Buffer.concat([shb, option(4, Buffer.from('sockfd')), Buffer.alloc(4)]))];
  for (const i of ifaces) {
    const fixed = Buffer.alloc(8);
    fixed.writeUInt16LE(i.linkType, 0);
    fixed.writeUInt32LE(i.snaplen ?? DEFAULT_SNAPLEN, 4);
    const opts = [option(9, Buffer.from([9]))]; // if_tsresol: 10^-9 s
    if (i.name !== undefined) opts.unshift(option(2, Buffer.from(i.name)));
    parts.push(block(1, Buffer.concat([fixed, ...opts, Buffer.alloc(4)])));
  }
  return Buffer.concat(parts);
}

function nanoseconds(t: PacketInput['timestamp'], name: string): bigint {
  if (t === undefined) return BigInt(Date.now()) * 1_000_000n;
  if (typeof t === 'bigint') {
    if (t < 0n || t >= 2n ** 64n) throw invalidArgValue(name, 'must be nanoseconds since the epoch, >= 0 and < 2^64', t);
    return t;
  }
  obj(t, name);
  return BigInt(uint(t.sec, `${name}.sec`, 0xffffffff)) * 1_000_000_000n + BigInt(uint(t.nsec, `${name}.nsec`, 999_999_999));
}

function record(format: 'pcap' | 'pcapng', ifaces: CaptureInterface[], micro: boolean, p: PacketInput, name: string): Buffer {
  obj(p, name);
  const data = asBuffer(p.data, `${name}.data`);
  const ts = nanoseconds(p.timestamp, `${name}.timestamp`);
  const id = optUint(p.interfaceId, `${name}.interfaceId`, ifaces.length - 1, 0);
  const snaplen = ifaces[id]!.snaplen ?? DEFAULT_SNAPLEN;
  const kept = data.subarray(0, Math.min(data.length, snaplen || data.length));
  const original = optUint(p.originalLength, `${name}.originalLength`, 0xffffffff, data.length);
  if (format === 'pcap') {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Number(ts / 1_000_000_000n) >>> 0, 0);
    const frac = ts % 1_000_000_000n;
    h.writeUInt32LE(Number(micro ? frac / 1000n : frac), 4);
    h.writeUInt32LE(kept.length, 8);
    h.writeUInt32LE(original, 12);
    return Buffer.concat([h, kept]);
  }
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(id, 0);
  fixed.writeUInt32LE(Number(ts >> 32n), 4);
  fixed.writeUInt32LE(Number(ts & 0xffffffffn), 8);
  fixed.writeUInt32LE(kept.length, 12);
  fixed.writeUInt32LE(original, 16);
  return block(6, Buffer.concat([fixed, kept]));
}

function checkOptions(options: WriterOptions): ['pcap' | 'pcapng', CaptureInterface[], boolean] {
  obj(options, 'options');
  const format = options.format ?? 'pcapng';
  if (format !== 'pcap' && format !== 'pcapng') throw invalidArgValue('options.format', "must be 'pcapng' or 'pcap'", format);
  if (options.microseconds !== undefined && typeof options.microseconds !== 'boolean') throw invalidArgType('options.microseconds', 'of type boolean', options.microseconds);
  const ifaces = interfacesOf(options);
  if (format === 'pcap' && ifaces.length > 1) throw invalidArgValue('options.interfaces', 'must hold one interface in classic pcap', ifaces.length);
  return [format, ifaces, options.microseconds === true];
}

function writeAfterEnd(): Error {
  const err = new Error('write after end');
  (err as Error & { code: string }).code = 'ERR_STREAM_WRITE_AFTER_END';
  return err;
}

/** A chunk of records `writePacket` encoded, on its way through the stream. */
interface Encoded {
  readonly [ENCODED]: Buffer;
}
const ENCODED = Symbol('sockfd.pcap.encoded');

/**
 * A stream that turns packets into a capture file: write `PacketInput` objects to it, pipe its bytes
 * to a file (`fs.createWriteStream`). The file header comes first, before any packet.
 *
 * For captures at line rate, `writePacket(data, sec, nsec, originalLength)` takes a packet without an
 * object: records are encoded straight into a 64 KiB output chunk, which goes down the stream when
 * full, at `flushPackets()`, before the next `write()`, and at `end()`. `data` is copied at once, so
 * it may be a view that is reused or released right after the call (a ring frame's `data`).
 * @example
 * const out = pcap.createWriter({ linkType: pcap.LINKTYPE_ETHERNET });
 * out.pipe(fs.createWriteStream('capture.pcapng'));
 * out.write({ data: frame, timestamp: { sec, nsec } });
 * out.writePacket(frame2, sec, nsec);
 * out.end();
 */
export class Writer extends Transform {
  /** The file's format. */
  readonly format: 'pcap' | 'pcapng';
  /** The file's interfaces. */
  readonly interfaces: readonly CaptureInterface[];
  readonly #micro: boolean;
  readonly #chunks: RecordChunks;

  /**
   * @param options - the format and interfaces.
   * @throws TypeError/RangeError for options that cannot be written.
   */
  constructor(options: WriterOptions = {}) {
    super({ writableObjectMode: true, readableObjectMode: false });
    const [format, ifaces, micro] = checkOptions(options);
    this.format = format;
    this.interfaces = ifaces;
    this.#micro = micro;
    this.#chunks = new RecordChunks(format, ifaces, micro);
    this.push(header(format, ifaces, micro));
  }

  /**
   * Writes one packet, encoded at once into the current output chunk (no object, Buffer or BigInt
   * per packet; the bytes of `data` are copied, up to the interface's snapshot length).
   * @param data - the captured bytes.
   * @param sec - the timestamp's seconds since the epoch (0 to 2^32-1) ...
   * @param nsec - ... and nanoseconds (0 to 999999999).
   * @param originalLength - the length on the wire; default `data.length`.
   * @param interfaceId - the interface, an index into the writer's interfaces; default 0.
   * @returns false when the stream asks the writer to wait for `'drain'` (as `write` does).
   * @throws TypeError/RangeError for a bad argument (nothing is written then); Error
   *   `ERR_STREAM_WRITE_AFTER_END` after `end()`.
   */
  writePacket(data: Uint8Array, sec: number, nsec: number, originalLength: number = data?.length, interfaceId = 0): boolean {
    if (this.writableEnded) throw writeAfterEnd();
    const full = this.#chunks.add(data, sec, nsec, originalLength, interfaceId);
    if (full !== null) super.write({ [ENCODED]: full } satisfies Encoded);
    return !this.writableNeedDrain;
  }

  /**
   * Sends the packets `writePacket` has encoded so far down the stream (a partly filled chunk), so
   * that they reach the file without waiting for 64 KiB more.
   * @returns false when the stream asks the writer to wait for `'drain'`.
   */
  flushPackets(): boolean {
    const chunk = this.#chunks.take();
    if (chunk !== null) super.write({ [ENCODED]: chunk } satisfies Encoded);
    return !this.writableNeedDrain;
  }

  /** Writes a `PacketInput`, after the packets `writePacket` has encoded (the order is kept). */
  override write(chunk: PacketInput, callback?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: PacketInput, encoding: BufferEncoding, callback?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: PacketInput, encoding?: BufferEncoding | ((error: Error | null | undefined) => void), callback?: (error: Error | null | undefined) => void): boolean {
    if (this.#chunks.pending) this.flushPackets();
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  /** @internal */
  override _transform(chunk: PacketInput | Encoded, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (chunk !== null && typeof chunk === 'object' && ENCODED in chunk) callback(null, chunk[ENCODED]);
      else callback(null, record(this.format, this.interfaces as CaptureInterface[], this.#micro, chunk as PacketInput, 'packet'));
    } catch (err) {
      callback(err as Error);
    }
  }

  /** @internal The packets `writePacket` encoded last go out before the stream ends. */
  override _flush(callback: TransformCallback): void {
    callback(null, this.#chunks.take() ?? undefined);
  }
}

/**
 * A {@link Writer}.
 * @param options - the format and interfaces.
 * @returns the stream.
 */
export function createWriter(options: WriterOptions = {}): Writer {
  return new Writer(options);
}

/**
 * A whole capture file as one Buffer.
 * @param packets - the packets, in order.
 * @param options - the format and interfaces.
 * @returns the file's bytes.
 * @throws TypeError/RangeError for a packet or an option that cannot be written.
 */
export function encode(packets: readonly PacketInput[], options: WriterOptions = {}): Buffer {
  const [format, ifaces, micro] = checkOptions(options);
  const list = optArray(packets, 'packets', 1 << 24);
  return Buffer.concat([header(format, ifaces, micro), ...list.map((p, i) => record(format, ifaces, micro, p, `packets[${i}]`))]);
}

export { Reader, createReader, decode } from './pcapread.js';
