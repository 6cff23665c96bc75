/**
 * Reading capture files (see `pcap`): the incremental parser of classic pcap and pcapng behind
 * `pcap.Reader`, `pcap.createReader` and `pcap.decode`.
 * @packageDocumentation
 * @internal
 */
import { Transform, type TransformCallback } from 'node:stream';
import { PacketError } from './errors.js';
import type { CaptureFile, CaptureInterface, PacketRecord } from './pcap.js';
import { asBuffer } from './util.js';

/** The block type of a pcapng Section Header Block. @internal */
export const SHB = 0x0a0d0d0a;
/** The byte-order magic of a Section Header Block. @internal */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Rounds up to a multiple of 4 (pcapng pads blocks and options). @internal */
export const pad4 = (n: number): number => (n + 3) & ~3;

/** The incremental parser behind {@link Reader} and {@link decode}. */
class Parser {
  format: 'pcap' | 'pcapng' | undefined;
  interfaces: CaptureInterface[] = [];
  private resolutions: bigint[] = [];
  private le = true;
  private micro = true;
  private buf: Buffer = Buffer.alloc(0);
  private offset = 0;

  push(chunk: Buffer, out: PacketRecord[]): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let at = 0;
    for (;;) {
      const used = this.next(this.buf.subarray(at), out);
      if (used === 0) break;
      at += used;
    }
    this.offset += at;
    this.buf = this.buf.subarray(at);
  }

  end(): void {
    if (this.format === undefined) throw new PacketError('pcap', 'header', this.offset, this.buf.length === 0 ? 'the file is empty' : `${this.buf.length} bytes are too few for a file header`);
    if (this.buf.length > 0) throw new PacketError(this.format, 'block', this.offset, `the file ends inside a ${this.format === 'pcap' ? 'record' : 'block'} (${this.buf.length} bytes left)`);
  }

  private u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }
  private u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }

  /** Consumes one header, record or block from `b`; 0 when `b` does not hold a whole one yet. */
  private next(b: Buffer, out: PacketRecord[]): number {
    if (this.format === undefined) return this.fileHeader(b);
    if (this.format === 'pcap') {
      if (b.length < 16) return 0;
      const caplen = this.u32(b, 8);
      if (caplen > 0x10000000) throw new PacketError('pcap', 'capturedLength', this.offset + 8, `is ${caplen}, more than any packet`);
      if (b.length < 16 + caplen) return 0;
      const frac = BigInt(this.u32(b, 4));
      out.push({
        data: Buffer.from(b.subarray(16, 16 + caplen)),
        timestamp: BigInt(this.u32(b, 0)) * 1_000_000_000n + (this.micro ? frac * 1000n : frac),
        originalLength: this.u32(b, 12),
        interfaceId: 0,
        linkType: this.interfaces[0]!.linkType,
      });
      return 16 + caplen;
    }
    if (b.length < 12) return 0;
    if (b.readUInt32LE(0) === SHB) return this.sectionHeader(b);
    const length = this.u32(b, 4);
    if (length < 12 || length % 4 !== 0) throw new PacketError('pcapng', 'blockLength', this.offset + 4, `is ${length}, not a multiple of 4 of at least 12`);
    if (b.length < length) return 0;
    this.packetBlock(this.u32(b, 0), b.subarray(8, length - 4), out);
    return length;
  }

  private fileHeader(b: Buffer): number {
    if (b.length < 4) return 0;
    const magic = b.readUInt32LE(0);
    if (magic === SHB) return this.sectionHeader(b);
    if (b.length < 24) return 0;
    const known = new Map([
      [0xa1b2c3d4, [true, true]],
      [0xa1b23c4d, [true, false]],
      [0xd4c3b2a1, [false, true]],
      [0x4d3cb2a1, [false, false]],
    ]);
    const kind = known.get(magic);
    if (kind === undefined) throw new PacketError('pcap', 'magic', this.offset, `0x${magic.toString(16)} is neither a pcap nor a pcapng magic number`);
    [this.le, this.micro] = kind as [boolean, boolean];
    this.format = 'pcap';
    this.interfaces = [{ linkType: this.u32(b, 20) & 0x0fffffff, snaplen: this.u32(b, 16) }];
    return 24;
  }

  private sectionHeader(b: Buffer): number {
    if (b.length < 12) return 0;
    const order = b.readUInt32LE(8);
    if (order !== BYTE_ORDER_MAGIC && order !== 0x4d3c2b1a) throw new PacketError('pcapng', 'byteOrderMagic', this.offset + 8, `0x${order.toString(16)} is not 0x1a2b3c4d in either byte order`);
    this.le = order === BYTE_ORDER_MAGIC;
    const length = this.u32(b, 4);
    if (length < 28 || length % 4 !== 0) throw new PacketError('pcapng', 'blockLength', this.offset + 4, `is ${length} for a section header`);
    if (b.length < length) return 0;
    this.format = 'pcapng';
    this.interfaces = [];
    this.resolutions = [];
    return length;
  }

  private packetBlock(type: number, body: Buffer, out: PacketRecord[]): void {
    const where = (field: string, detail: string): PacketError => new PacketError('pcapng', field, this.offset, detail);
    if (type === 1) {
      if (body.length < 8) throw where('interface', `an interface description block of ${body.length} bytes`);
      const iface: CaptureInterface = { linkType: this.u16(body, 0), snaplen: this.u32(body, 4) };
      let resolution = 1_000_000n;
      for (let at = 8; at + 4 <= body.length; ) {
        const code = this.u16(body, at);
        const len = this.u16(body, at + 2);
        if (code === 0 || at + 4 + len > body.length) break;
        const v = body.subarray(at + 4, at + 4 + len);
        if (code === 2) iface.name = v.toString('utf8');
        if (code === 9 && len >= 1) resolution = v[0]! & 0x80 ? 2n ** BigInt(v[0]! & 0x7f) : 10n ** BigInt(v[0]!);
        at += 4 + pad4(len);
      }
      this.interfaces.push(iface);
      this.resolutions.push(resolution);
      return;
    }
    if (type === 6 || type === 2) {
      if (body.length < 20) throw where('block', `a packet block of ${body.length} bytes`);
      const id = type === 6 ? this.u32(body, 0) : this.u16(body, 0);
      const iface = this.interfaces[id];
      if (iface === undefined) throw where('interfaceId', `${id} names no interface described before it`);
      const caplen = this.u32(body, 12);
      if (20 + caplen > body.length) throw where('capturedLength', `is ${caplen}, past the end of its block`);
      const units = (BigInt(this.u32(body, 4)) << 32n) | BigInt(this.u32(body, 8));
      out.push({ data: Buffer.from(body.subarray(20, 20 + caplen)), timestamp: (units * 1_000_000_000n) / this.resolutions[id]!, originalLength: this.u32(body, 16), interfaceId: id, linkType: iface.linkType });
      return;
    }
    if (type === 3) {
      const iface = this.interfaces[0];
      if (iface === undefined || body.length < 4) throw where('block', 'a simple packet block before any interface');
      const original = this.u32(body, 0);
      const caplen = Math.min(original, body.length - 4, iface.snaplen || Infinity);
      out.push({ data: Buffer.from(body.subarray(4, 4 + caplen)), timestamp: 0n, originalLength: original, interfaceId: 0, linkType: iface.linkType });
    }
    // Other blocks (name resolution, statistics, custom) carry no packets.
  }
}

/**
 * A stream that turns the bytes of a pcap or pcapng file into `PacketRecord` objects. `format` and
 * `interfaces` are known once the first packet has come out.
 * @example
 * for await (const rec of fs.createReadStream('capture.pcapng').pipe(pcap.createReader())) {
 *   console.log(rec.timestamp, parse(rec.data, pcap.layerOf(rec.linkType)));
 * }
 */
export class Reader extends Transform {
  readonly #parser = new Parser();

  constructor() {
    super({ writableObjectMode: false, readableObjectMode: true });
  }

  /** The file's format, once its header is read. */
  get format(): 'pcap' | 'pcapng' | undefined {
    return this.#parser.format;
  }

  /** The interfaces described so far (pcapng: of the current section). */
  get interfaces(): readonly CaptureInterface[] {
    return this.#parser.interfaces;
  }

  /** @internal */
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out: PacketRecord[] = [];
    try {
      this.#parser.push(asBuffer(chunk, 'chunk'), out);
    } catch (err) {
      callback(err as Error);
      return;
    }
    for (const r of out) this.push(r);
    callback();
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      this.#parser.end();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}

/**
 * A {@link Reader}.
 * @returns the stream.
 */
export function createReader(): Reader {
  return new Reader();
}

/**
 * Reads a whole capture file from a Buffer.
 * @param file - the bytes of a pcap or pcapng file.
 * @returns its format, interfaces and packets.
 * @throws PacketError (code `ERR_MALFORMED_PACKET`, protocol `'pcap'` or `'pcapng'`) for bytes that
 *   are not a capture file, or that end inside a record.
 */
export function decode(file: Uint8Array): CaptureFile {
  const p = new Parser();
  const records: PacketRecord[] = [];
  p.push(asBuffer(file, 'file'), records);
  p.end();
  return { format: p.format!, interfaces: p.interfaces, records };
}
