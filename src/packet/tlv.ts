/**
 * The type-length-value options of the IPv6 Hop-by-Hop and Destination Options headers (RFC 8200
 * section 4.2), shared by the `hopopts` and `dstopts` namespaces.
 * @packageDocumentation
 * @internal
 */
import { PacketError, invalidArgValue, outOfRange } from './errors.js';
import { asBuffer, obj, optUint, uint } from './util.js';

/** Option type 0, Pad1: one zero byte, no length. */
export const OPT_PAD1 = 0;
/** Option type 1, PadN: two or more bytes of padding. */
export const OPT_PADN = 1;
/** Option type 4, tunnel encapsulation limit (RFC 2473). */
export const OPT_TUNNEL_LIMIT = 4;
/** Option type 5, router alert (RFC 2711): MLD, RSVP. */
export const OPT_ROUTER_ALERT = 5;
/** Option type 0xc2, jumbo payload (RFC 2675). */
export const OPT_JUMBO = 0xc2;
/** Option type 0xc9, home address (RFC 6275). */
export const OPT_HOME_ADDRESS = 0xc9;

/** Pad1, type 0: a single zero byte. */
export interface Pad1Option {
  /** `'pad1'`. */
  kind: 'pad1';
}

/** PadN, type 1: `length` zero bytes after the type and length bytes. */
export interface PadNOption {
  /** `'padN'`. */
  kind: 'padN';
  /** The count of zero bytes after the type and length bytes, 0 to 255; default 0. */
  length?: number;
}

/** Router alert, type 5 (RFC 2711): 2 bytes of value. */
export interface RouterAlertOption {
  /** `'routerAlert'`. */
  kind: 'routerAlert';
  /** 0 for MLD, 1 for RSVP, 2 for active networks; 16 bits, default 0. */
  value?: number;
}

/** Jumbo payload, type 0xc2 (RFC 2675): the 32-bit length of a jumbogram. */
export interface JumboOption {
  /** `'jumbo'`. */
  kind: 'jumbo';
  /** The payload length in bytes, 32 bits. */
  payloadLength: number;
}

/**
 * Any other option, as bytes: `kind` is the option type (its two high bits say what a node that does
 * not know it must do). Known types whose bytes do not fit their format decode this way too, and so
 * does a PadN whose padding is not all zeros.
 */
export interface RawTlvOption {
  /** The option type byte, 0 to 255 (not 0, which is Pad1 and has no length byte). */
  kind: number;
  /** The option data after the type and length bytes; none by default. */
  data?: Uint8Array;
  /** The length byte to write instead of `data.length` (0 to 255), to craft a lying option. */
  length?: number;
}

/** An option of a Hop-by-Hop or Destination Options header. */
export type TlvOption = Pad1Option | PadNOption | RouterAlertOption | JumboOption | RawTlvOption;

/**
 * Encodes one option.
 * @internal
 */
export function encodeTlv(o: TlvOption, name: string): Buffer {
  obj(o, name);
  switch (o.kind) {
    case 'pad1':
      return Buffer.from([OPT_PAD1]);
    case 'padN': {
      const n = optUint(o.length, `${name}.length`, 0xff, 0);
      const out = Buffer.alloc(2 + n);
      out[0] = OPT_PADN;
      out[1] = n;
      return out;
    }
    case 'routerAlert': {
      const out = Buffer.from([OPT_ROUTER_ALERT, 2, 0, 0]);
      out.writeUInt16BE(optUint(o.value, `${name}.value`, 0xffff, 0), 2);
      return out;
    }
    case 'jumbo': {
      const out = Buffer.from([OPT_JUMBO, 4, 0, 0, 0, 0]);
      out.writeUInt32BE(uint(o.payloadLength, `${name}.payloadLength`, 0xffffffff), 2);
      return out;
    }
    default: {
      if (typeof o.kind !== 'number') {
        throw invalidArgValue(`${name}.kind`, 'must be an option name or a type number', (o as { kind: unknown }).kind);
      }
      const kind = uint(o.kind, `${name}.kind`, 0xff);
      const data = o.data === undefined ? Buffer.alloc(0) : asBuffer(o.data, `${name}.data`);
      if (o.length === undefined && data.length > 0xff) throw outOfRange(`${name}.data.length`, '<= 255', data.length);
      return Buffer.concat([Buffer.from([kind, optUint(o.length, `${name}.length`, 0xff, data.length)]), data]);
    }
  }
}

/** Decodes one option from its type and data, falling back to raw bytes when the format does not fit. */
function decodeTlv(kind: number, data: Buffer): TlvOption {
  if (kind === OPT_PADN && data.every((x) => x === 0)) return { kind: 'padN', length: data.length };
  if (kind === OPT_ROUTER_ALERT && data.length === 2) return { kind: 'routerAlert', value: data.readUInt16BE(0) };
  if (kind === OPT_JUMBO && data.length === 4) return { kind: 'jumbo', payloadLength: data.readUInt32BE(0) };
  return { kind, data };
}

/**
 * The options between `start` and `end` of `b`. Never reads outside `[start, end)`.
 * @throws PacketError field `options` for a length running past the header.
 * @internal
 */
export function walkTlvs(protocol: string, b: Buffer, start: number, end: number): TlvOption[] {
  const out: TlvOption[] = [];
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === OPT_PAD1) {
      out.push({ kind: 'pad1' });
      i++;
      continue;
    }
    if (i + 1 >= end) {
      throw new PacketError(protocol, 'options', i, `option type ${kind} at offset ${i} has no length byte before the end of the header`);
    }
    const length = b[i + 1]!;
    if (i + 2 + length > end) {
      const detail = `option type ${kind} at offset ${i} has length ${length}, but only ${end - i - 2} bytes of the header remain`;
      throw new PacketError(protocol, 'options', i + 1, detail);
    }
    out.push(decodeTlv(kind, b.subarray(i + 2, i + 2 + length)));
    i += 2 + length;
  }
  return out;
}

/**
 * The padding that brings `used` bytes to a multiple of 8: nothing, a Pad1, or a PadN.
 * @internal
 */
export function tlvPadding(used: number): Buffer {
  const n = (8 - (used % 8)) % 8;
  if (n === 0) return Buffer.alloc(0);
  if (n === 1) return Buffer.from([OPT_PAD1]);
  const out = Buffer.alloc(n);
  out[0] = OPT_PADN;
  out[1] = n - 2;
  return out;
}
