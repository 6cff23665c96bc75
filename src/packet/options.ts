/**
 * The kind-length-value option lists shared by IPv4 (RFC 791) and TCP (RFC 9293): kind 0 ends the list,
 * kind 1 is a one-byte no-op, every other option is `kind, length, data` with the length counting the
 * first two bytes.
 * @packageDocumentation
 */
import { PacketError, invalidArgType, outOfRange } from './errors.js';
import { asBuffer, optUint, uint } from './util.js';

/**
 * An option kept as raw bytes, for kinds the decoder does not interpret and for a known kind whose
 * length is not the one its RFC gives (a malformed MSS of 5 bytes decodes as `{ kind: 2, data }`).
 * An encoder writes it verbatim as `kind, length, ...data`, so any option can be crafted, bad ones too.
 */
export interface RawOption {
  /** The option's kind (TCP) or type (IPv4) byte, 0 to 255; always followed by a length byte. */
  kind: number;
  /** The option's data after the kind and length bytes (a view into the packet when decoded). */
  data?: Uint8Array;
  /**
   * The length byte to write instead of `2 + data.length` (0 to 255), to craft an option that lies
   * about its length. Decoders never set it.
   */
  length?: number;
}

/** One step of {@link walkOptions}: end of list, no-op, or a kind with its data. @internal */
export type OptionSpan = { kind: 'eol' } | { kind: 'nop' } | { code: number; offset: number; data: Buffer };

/**
 * The options between `start` and `end` of `b`, stopping at the end-of-list option (the bytes after it
 * are padding). Never reads outside `[start, end)`.
 * @throws PacketError field `options` for a length byte missing, below 2, or running past `end`.
 * @internal
 */
export function walkOptions(protocol: string, b: Buffer, start: number, end: number): OptionSpan[] {
  const out: OptionSpan[] = [];
  let i = start;
  while (i < end) {
    const code = b[i]!;
    if (code === 0) {
      out.push({ kind: 'eol' });
      break;
    }
    if (code === 1) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end) {
      throw new PacketError(protocol, 'options', i, `option kind ${code} at offset ${i} has no length byte before the end of the header`);
    }
    const length = b[i + 1]!;
    if (length < 2) {
      const detail = `option kind ${code} at offset ${i} has length ${length}; an option's length is at least 2`;
      throw new PacketError(protocol, 'options', i + 1, detail);
    }
    if (i + length > end) {
      throw new PacketError(
        protocol,
        'options',
        i + 1,
        `option kind ${code} at offset ${i} has length ${length}, but only ${end - i} bytes of the header remain`,
      );
    }
    out.push({ code, offset: i, data: b.subarray(i + 2, i + length) });
    i += length;
  }
  return out;
}

/**
 * Writes a raw option: `kind, length ?? 2 + data.length, ...data`.
 * @internal
 */
export function encodeRaw(o: RawOption, name: string): Buffer {
  const kind = uint(o.kind, `${name}.kind`, 0xff);
  const data = o.data === undefined ? Buffer.alloc(0) : asBuffer(o.data, `${name}.data`);
  if (o.length === undefined && data.length > 253) throw outOfRange(`${name}.data.length`, '<= 253', data.length);
  const length = optUint(o.length, `${name}.length`, 0xff, data.length + 2);
  return Buffer.concat([Buffer.from([kind, length]), data]);
}

/**
 * Encodes an option list, each option by `one`, checking it is an array of objects.
 * @internal
 */
export function encodeOptions<T>(options: readonly T[] | undefined, one: (o: T, name: string) => Buffer): Buffer {
  if (options === undefined) return Buffer.alloc(0);
  if (!Array.isArray(options)) throw invalidArgType('options', 'an array', options);
  const parts = options.map((o, i) => {
    const name = `options[${i}]`;
    if (o === null || typeof o !== 'object') throw invalidArgType(name, 'an object', o);
    return one(o, name);
  });
  return Buffer.concat(parts);
}
