/**
 * Neighbor Discovery (RFC 4861): the bodies of ICMPv6 Router Solicitation (133), Router Advertisement
 * (134), Neighbor Solicitation (135), Neighbor Advertisement (136) and Redirect (137), with their
 * options. A body is everything after the ICMPv6 checksum: `encodeBody` gives the 32-bit word after
 * the checksum and the bytes after it, for `icmpv6.encode`; `decodeBody` reads them back, or gives null
 * when the bytes are not a well-formed body of that type (a `build` of a parsed packet then keeps them
 * as raw bytes, so nothing is lost).
 * @packageDocumentation
 */
import { invalidArgValue, outOfRange } from './errors.js';
import { asBuffer, bool, formatHwAddr, formatIPv6, obj, nameArg, optArray, optUint, parseHwAddr, parseIPv6, uint } from './util.js';

/** Option type 1, source link-layer address. */
export const OPT_SOURCE_LINK_LAYER_ADDRESS = 1;
/** Option type 2, target link-layer address. */
export const OPT_TARGET_LINK_LAYER_ADDRESS = 2;
/** Option type 3, prefix information. */
export const OPT_PREFIX_INFORMATION = 3;
/** Option type 4, redirected header. */
export const OPT_REDIRECTED_HEADER = 4;
/** Option type 5, MTU. */
export const OPT_MTU = 5;
/** Option type 25, recursive DNS servers (RFC 8106). */
export const OPT_RDNSS = 25;

/** Source (type 1) or target (type 2) link-layer address; padded with zeros to a multiple of 8 bytes. */
export interface LinkLayerAddressOption {
  kind: 'sourceLinkLayerAddress' | 'targetLinkLayerAddress';
  /** The address as hex bytes joined by ':' ('aa:bb:cc:dd:ee:ff'). */
  address: string;
}

/** Prefix information, type 3, 32 bytes. */
export interface PrefixInformationOption {
  kind: 'prefixInformation';
  /** Leading bits of `prefix` that are valid, 8 bits. */
  prefixLength: number;
  /** L: the prefix is on-link. */
  onLink?: boolean;
  /** A: the prefix can be used for address autoconfiguration. */
  autonomous?: boolean;
  /** R: `prefix` is the router's own address (RFC 6275). */
  routerAddress?: boolean;
  /** The 5 reserved bits after the flags; default 0. */
  reserved1?: number;
  /** Seconds the prefix is valid for on-link determination, 32 bits (0xffffffff: forever). */
  validLifetime: number;
  /** Seconds addresses from the prefix stay preferred, 32 bits. */
  preferredLifetime: number;
  /** The 32 reserved bits before the prefix; default 0. */
  reserved2?: number;
  /** The prefix, e.g. '2001:db8::'. */
  prefix: string;
}

/** Redirected header, type 4: 6 reserved bytes and as much of the redirected packet as fits. */
export interface RedirectedHeaderOption {
  kind: 'redirectedHeader';
  /** The 48 reserved bits, as a number; default 0. */
  reserved?: number;
  /** The start of the redirected packet; padded with zeros to a multiple of 8 bytes when encoded. */
  data: Uint8Array;
}

/** MTU, type 5, 8 bytes. */
export interface MtuOption {
  kind: 'mtu';
  /** The 16 reserved bits; default 0. */
  reserved?: number;
  /** The link MTU, 32 bits. */
  mtu: number;
}

/** Recursive DNS servers, type 25 (RFC 8106). */
export interface RdnssOption {
  kind: 'rdnss';
  /** The 16 reserved bits; default 0. */
  reserved?: number;
  /** Seconds the servers may be used for, 32 bits. */
  lifetime: number;
  /** The servers' addresses. */
  servers: readonly string[];
}

/** Any other option (or a known one whose bytes do not fit its format): `kind` is its type. */
export interface RawNdOption {
  /** The option type, 0 to 255. */
  kind: number;
  /** The bytes after the type and length bytes; the encoder pads them with zeros to a multiple of 8 bytes minus 2. */
  data?: Uint8Array;
  /** The length byte, in 8-byte units, to write instead of the computed one (0 to 255). */
  length?: number;
}

/** A Neighbor Discovery option. */
export type NdOption =
  | LinkLayerAddressOption
  | PrefixInformationOption
  | RedirectedHeaderOption
  | MtuOption
  | RdnssOption
  | RawNdOption;

/** Router Solicitation (type 133). */
export interface RouterSolicitation {
  kind: 'routerSolicitation';
  /** The 32 reserved bits; default 0. */
  reserved?: number;
  options?: readonly NdOption[];
}

/** Router Advertisement (type 134). */
export interface RouterAdvertisement {
  kind: 'routerAdvertisement';
  /** The hop limit hosts should use, 8 bits (0: unspecified). */
  curHopLimit?: number;
  /** M: addresses are available through DHCPv6. */
  managed?: boolean;
  /** O: other configuration is available through DHCPv6. */
  other?: boolean;
  /** H: the router is a mobile IPv6 home agent. */
  homeAgent?: boolean;
  /** Default router preference, 2 bits (RFC 4191): 1 high, 0 medium, 3 low. */
  preference?: number;
  /** P: neighbor discovery proxy (RFC 4389). */
  proxy?: boolean;
  /** The 2 reserved flag bits; default 0. */
  reserved?: number;
  /** Seconds the router is a default router, 16 bits (0: not a default router). */
  routerLifetime?: number;
  /** Milliseconds a neighbor is reachable after a confirmation, 32 bits. */
  reachableTime?: number;
  /** Milliseconds between retransmitted Neighbor Solicitations, 32 bits. */
  retransTimer?: number;
  options?: readonly NdOption[];
}

/** Neighbor Solicitation (type 135). */
export interface NeighborSolicitation {
  kind: 'neighborSolicitation';
  /** The 32 reserved bits; default 0. */
  reserved?: number;
  /** The address whose link-layer address is wanted. */
  target: string;
  options?: readonly NdOption[];
}

/** Neighbor Advertisement (type 136). */
export interface NeighborAdvertisement {
  kind: 'neighborAdvertisement';
  /** R: the sender is a router. */
  router?: boolean;
  /** S: sent in answer to a Neighbor Solicitation. */
  solicited?: boolean;
  /** O: the advertisement should override a cached link-layer address. */
  override?: boolean;
  /** The 29 reserved bits; default 0. */
  reserved?: number;
  /** The address advertised. */
  target: string;
  options?: readonly NdOption[];
}

/** Redirect (type 137). */
export interface Redirect {
  kind: 'redirect';
  /** The 32 reserved bits; default 0. */
  reserved?: number;
  /** The better first hop. */
  target: string;
  /** The destination that is redirected. */
  destination: string;
  options?: readonly NdOption[];
}

/** A Neighbor Discovery message body, tagged by `kind`. */
export type NdBody = RouterSolicitation | RouterAdvertisement | NeighborSolicitation | NeighborAdvertisement | Redirect;

/** The ICMPv6 type of each body kind. */
export const ND_TYPES = {
  routerSolicitation: 133,
  routerAdvertisement: 134,
  neighborSolicitation: 135,
  neighborAdvertisement: 136,
  redirect: 137,
} as const;

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;

function option(o: NdOption, name: string): Buffer {
  obj(o, name);
  let type: number;
  let body: Buffer;
  switch (o.kind) {
    case 'sourceLinkLayerAddress':
    case 'targetLinkLayerAddress':
      type = o.kind === 'sourceLinkLayerAddress' ? OPT_SOURCE_LINK_LAYER_ADDRESS : OPT_TARGET_LINK_LAYER_ADDRESS;
      body = parseHwAddr(o.address, `${name}.address`);
      break;
    case 'prefixInformation': {
      type = OPT_PREFIX_INFORMATION;
      body = Buffer.alloc(30);
      body[0] = uint(o.prefixLength, `${name}.prefixLength`, 0xff);
      body[1] =
        (bool(o.onLink, `${name}.onLink`) ? 0x80 : 0) |
        (bool(o.autonomous, `${name}.autonomous`) ? 0x40 : 0) |
        (bool(o.routerAddress, `${name}.routerAddress`) ? 0x20 : 0) |
        optUint(o.reserved1, `${name}.reserved1`, 0x1f, 0);
      body.writeUInt32BE(uint(o.validLifetime, `${name}.validLifetime`, 0xffffffff), 2);
      body.writeUInt32BE(uint(o.preferredLifetime, `${name}.preferredLifetime`, 0xffffffff), 6);
      body.writeUInt32BE(optUint(o.reserved2, `${name}.reserved2`, 0xffffffff, 0), 10);
      parseIPv6(o.prefix, `${name}.prefix`).copy(body, 14);
      break;
    }
    case 'redirectedHeader': {
      type = OPT_REDIRECTED_HEADER;
      const data = asBuffer(o.data, `${name}.data`);
      body = Buffer.alloc(6 + data.length);
      body.writeUIntBE(optUint(o.reserved, `${name}.reserved`, 0xffffffffffff, 0), 0, 6);
      data.copy(body, 6);
      break;
    }
    case 'mtu':
      type = OPT_MTU;
      body = Buffer.alloc(6);
      body.writeUInt16BE(optUint(o.reserved, `${name}.reserved`, 0xffff, 0), 0);
      body.writeUInt32BE(uint(o.mtu, `${name}.mtu`, 0xffffffff), 2);
      break;
    case 'rdnss': {
      type = OPT_RDNSS;
      const servers = optArray(o.servers, `${name}.servers`);
      body = Buffer.alloc(6 + 16 * servers.length);
      body.writeUInt16BE(optUint(o.reserved, `${name}.reserved`, 0xffff, 0), 0);
      body.writeUInt32BE(uint(o.lifetime, `${name}.lifetime`, 0xffffffff), 2);
      servers.forEach((a, i) => parseIPv6(a, `${name}.servers[${i}]`).copy(body, 6 + 16 * i));
      break;
    }
    default: {
      if (typeof o.kind !== 'number') throw invalidArgValue(`${name}.kind`, 'must be an option name or a type number', (o as { kind: unknown }).kind);
      type = uint(o.kind, `${name}.kind`, 0xff);
      body = o.data === undefined ? Buffer.alloc(0) : asBuffer(o.data, `${name}.data`);
      const out = Buffer.alloc(pad8(2 + body.length));
      out[0] = type;
      const length = out.length / 8;
      if (o.length === undefined && length > 0xff) throw outOfRange(`${name}.data.length`, '<= 2038', body.length);
      out[1] = optUint(o.length, `${name}.length`, 0xff, length);
      body.copy(out, 2);
      return out;
    }
  }
  const out = Buffer.alloc(pad8(2 + body.length));
  if (out.length / 8 > 0xff) throw outOfRange(`${name}.data.length`, '<= 2038', body.length);
  out[0] = type;
  out[1] = out.length / 8;
  body.copy(out, 2);
  return out;
}

/**
 * Encodes a list of ND options.
 * @param options - the options, in order.
 * @returns their bytes.
 * @throws TypeError/RangeError naming the option field at fault.
 */
export function encodeOptions(options: readonly NdOption[] | undefined, name = 'options'): Buffer {
  return Buffer.concat(optArray(options, name).map((o, i) => option(o, `${name}[${i}]`)));
}

function typedOption(type: number, data: Buffer): NdOption {
  switch (type) {
    case OPT_SOURCE_LINK_LAYER_ADDRESS:
    case OPT_TARGET_LINK_LAYER_ADDRESS: {
      // Ethernet's 6 bytes fill the 8-byte option exactly; other lengths cannot be told from padding.
      if (data.length !== 6) break;
      const kind = type === OPT_SOURCE_LINK_LAYER_ADDRESS ? 'sourceLinkLayerAddress' : 'targetLinkLayerAddress';
      return { kind, address: formatHwAddr(data, 0, 6) };
    }
    case OPT_PREFIX_INFORMATION:
      if (data.length !== 30) break;
      return {
        kind: 'prefixInformation',
        prefixLength: data[0]!,
        onLink: (data[1]! & 0x80) !== 0,
        autonomous: (data[1]! & 0x40) !== 0,
        routerAddress: (data[1]! & 0x20) !== 0,
        reserved1: data[1]! & 0x1f,
        validLifetime: data.readUInt32BE(2),
        preferredLifetime: data.readUInt32BE(6),
        reserved2: data.readUInt32BE(10),
        prefix: formatIPv6(data, 14),
      };
    case OPT_REDIRECTED_HEADER:
      if (data.length < 6) break;
      return { kind: 'redirectedHeader', reserved: data.readUIntBE(0, 6), data: data.subarray(6) };
    case OPT_MTU:
      if (data.length !== 6) break;
      return { kind: 'mtu', reserved: data.readUInt16BE(0), mtu: data.readUInt32BE(2) };
    case OPT_RDNSS:
      if (data.length < 22 || (data.length - 6) % 16 !== 0) break;
      return {
        kind: 'rdnss',
        reserved: data.readUInt16BE(0),
        lifetime: data.readUInt32BE(2),
        servers: Array.from({ length: (data.length - 6) / 16 }, (_, i) => formatIPv6(data, 6 + 16 * i)),
      };
    default:
      break;
  }
  return { kind: type, data };
}

/**
 * Decodes a list of ND options; null when an option's length is 0 or runs past the end (RFC 4861
 * says such a packet is discarded). An option whose bytes do not fit its type is kept raw.
 * @param b - the option bytes.
 * @returns the options, or null.
 */
export function decodeOptions(b: Uint8Array): NdOption[] | null {
  const buf = asBuffer(b, 'b');
  const out: NdOption[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 2 > buf.length) return null;
    const size = buf[at + 1]! * 8;
    if (size === 0 || at + size > buf.length) return null;
    const type = buf[at]!;
    const data = buf.subarray(at + 2, at + size);
    const typed = typedOption(type, data);
    // A typed option must give back its own bytes (zero padding, no stray bits), or it stays raw.
    out.push(typeof typed.kind === 'string' && !option(typed, 'option').equals(buf.subarray(at, at + size)) ? { kind: type, data } : typed);
    at += size;
  }
  return out;
}

/**
 * The word after the ICMPv6 checksum and the bytes after it, for a Neighbor Discovery body.
 * @param body - the body.
 * @returns `[restOfHeader, payload]`.
 * @throws TypeError/RangeError naming the field at fault.
 */
export function encodeBody(body: NdBody, name = 'body'): [number, Buffer] {
  nameArg(name);
  obj(body, name);
  const opts = (): Buffer => encodeOptions(body.options, `${name}.options`);
  switch (body.kind) {
    case 'routerSolicitation':
      return [optUint(body.reserved, `${name}.reserved`, 0xffffffff, 0), opts()];
    case 'routerAdvertisement': {
      const flags =
        (bool(body.managed, `${name}.managed`) ? 0x80 : 0) |
        (bool(body.other, `${name}.other`) ? 0x40 : 0) |
        (bool(body.homeAgent, `${name}.homeAgent`) ? 0x20 : 0) |
        (optUint(body.preference, `${name}.preference`, 3, 0) << 3) |
        (bool(body.proxy, `${name}.proxy`) ? 0x04 : 0) |
        optUint(body.reserved, `${name}.reserved`, 3, 0);
      const rest = ((optUint(body.curHopLimit, `${name}.curHopLimit`, 0xff, 0) << 24) | (flags << 16) | optUint(body.routerLifetime, `${name}.routerLifetime`, 0xffff, 0)) >>> 0;
      const timers = Buffer.alloc(8);
      timers.writeUInt32BE(optUint(body.reachableTime, `${name}.reachableTime`, 0xffffffff, 0), 0);
      timers.writeUInt32BE(optUint(body.retransTimer, `${name}.retransTimer`, 0xffffffff, 0), 4);
      return [rest, Buffer.concat([timers, opts()])];
    }
    case 'neighborSolicitation':
      return [optUint(body.reserved, `${name}.reserved`, 0xffffffff, 0), Buffer.concat([parseIPv6(body.target, `${name}.target`), opts()])];
    case 'neighborAdvertisement': {
      const rest =
        ((bool(body.router, `${name}.router`) ? 0x80000000 : 0) |
          (bool(body.solicited, `${name}.solicited`) ? 0x40000000 : 0) |
          (bool(body.override, `${name}.override`) ? 0x20000000 : 0) |
          optUint(body.reserved, `${name}.reserved`, 0x1fffffff, 0)) >>>
        0;
      return [rest, Buffer.concat([parseIPv6(body.target, `${name}.target`), opts()])];
    }
    case 'redirect':
      return [
        optUint(body.reserved, `${name}.reserved`, 0xffffffff, 0),
        Buffer.concat([parseIPv6(body.target, `${name}.target`), parseIPv6(body.destination, `${name}.destination`), opts()]),
      ];
    default:
      throw invalidArgValue(`${name}.kind`, 'must be a Neighbor Discovery message kind', (body as { kind: unknown }).kind);
  }
}

/**
 * Reads a Neighbor Discovery body of ICMPv6 `type` from the word after the checksum and the bytes
 * after it; null when `type` is not an ND type or the bytes are not a well-formed body of it.
 * @param type - the ICMPv6 type (133 to 137).
 * @param rest - the 32-bit word after the checksum.
 * @param payload - the bytes after it.
 * @returns the body, or null.
 */
export function decodeBody(type: number, rest: number, payload: Uint8Array): NdBody | null {
  uint(type, 'type', 0xff);
  uint(rest, 'rest', 0xffffffff);
  const p = asBuffer(payload, 'payload');
  const fixed = { 133: 0, 134: 8, 135: 16, 136: 16, 137: 32 }[type];
  if (fixed === undefined || p.length < fixed) return null;
  const options = decodeOptions(p.subarray(fixed));
  if (options === null) return null;
  switch (type) {
    case 133:
      return { kind: 'routerSolicitation', reserved: rest, options };
    case 134: {
      const flags = (rest >>> 16) & 0xff;
      return {
        kind: 'routerAdvertisement',
        curHopLimit: rest >>> 24,
        managed: (flags & 0x80) !== 0,
        other: (flags & 0x40) !== 0,
        homeAgent: (flags & 0x20) !== 0,
        preference: (flags >> 3) & 3,
        proxy: (flags & 0x04) !== 0,
        reserved: flags & 3,
        routerLifetime: rest & 0xffff,
        reachableTime: p.readUInt32BE(0),
        retransTimer: p.readUInt32BE(4),
        options,
      };
    }
    case 135:
      return { kind: 'neighborSolicitation', reserved: rest, target: formatIPv6(p, 0), options };
    case 136:
      return {
        kind: 'neighborAdvertisement',
        router: (rest & 0x80000000) !== 0,
        solicited: (rest & 0x40000000) !== 0,
        override: (rest & 0x20000000) !== 0,
        reserved: rest & 0x1fffffff,
        target: formatIPv6(p, 0),
        options,
      };
    default:
      return { kind: 'redirect', reserved: rest, target: formatIPv6(p, 0), destination: formatIPv6(p, 16), options };
  }
}
