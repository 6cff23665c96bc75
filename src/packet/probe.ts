/**
 * `probe(layers, options)`: send a packet built from layers on the raw socket its outermost layer
 * needs, and resolve with the parsed answer that matches it (see `matches`), or null on timeout. The
 * socket calls are sockfd's own (`sockfd/promises`), loaded only when a probe is made, so the rest of
 * `sockfd/packet` needs no native addon.
 * @packageDocumentation
 */
import { randomInt } from 'node:crypto';
import type * as Promises from '../promises.js';
import type * as Sync from '../index.js';
import { build } from './build.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import type { IcmpLayer, Icmpv6Layer, Layer, TcpLayer, UdpLayer } from './layers.js';
import { matches } from './match.js';
import { parse } from './parse.js';
import { list, obj, optUint } from './util.js';

/** A layer as `probe` takes it: ports, sequence numbers and ICMP types may be left for it to choose. */
export type ProbeLayer =
  | Exclude<Layer, TcpLayer | UdpLayer | IcmpLayer | Icmpv6Layer>
  | (Omit<TcpLayer, 'sourcePort'> & { sourcePort?: number })
  | (Omit<UdpLayer, 'sourcePort'> & { sourcePort?: number })
  | (Omit<IcmpLayer, 'type'> & { type?: number })
  | (Omit<Icmpv6Layer, 'type'> & { type?: number });

/** Options of {@link probe}. */
export interface ProbeOptions {
  /** Milliseconds to wait for the answers (all of them, for several probes); default 2000. */
  timeout?: number;
  /** Aborting rejects the probe with an `AbortError`; its sockets are closed. */
  signal?: AbortSignal;
  /** The interface to send an Ethernet frame on (required when the outermost layer is `ethernet`). */
  interface?: string;
}

interface Native {
  s: typeof Sync;
  p: typeof Promises;
}

let native: Native | undefined;
function load(): Native {
  // Loaded on first use: the addon is needed only to send.
  native ??= { s: require('../index.js') as typeof Sync, p: require('../promises.js') as typeof Promises };
  return native;
}

/** The local address the kernel's route picks to reach `destination`, from a connected UDP socket. */
function routeSource(n: Native, destination: string, v6: boolean): string {
  const { s } = n;
  const fd = s.socket(v6 ? s.AF_INET6 : s.AF_INET, s.SOCK_DGRAM);
  try {
    s.connect(fd, { family: v6 ? s.AF_INET6 : s.AF_INET, address: destination, port: 9 });
    const local = s.getsockname(fd);
    return (local as { address: string }).address;
  } finally {
    s.close(fd);
  }
}

/** The probe with what the user left to us filled in (a copy; the caller's objects are not touched). */
function complete(n: Native, layers: readonly ProbeLayer[], name: string): Layer[] {
  const given = list<ProbeLayer>(layers, name, 4096);
  if (given.length === 0) throw invalidArgType(name, 'a non-empty array of layer objects', layers);
  return given.map((l0, i) => {
    const l = { ...obj(l0, `${name}[${i}]`) } as Record<string, unknown>;
    if ((l.layer === 'ipv4' || l.layer === 'ipv6') && l.source === undefined) {
      if (typeof l.destination !== 'string') throw invalidArgType(`${name}[${i}].destination`, 'of type string', l.destination);
      l.source = routeSource(n, l.destination, l.layer === 'ipv6');
    }
    if ((l.layer === 'tcp' || l.layer === 'udp') && l.sourcePort === undefined) l.sourcePort = randomInt(32768, 61000);
    if (l.layer === 'tcp' && l.sequenceNumber === undefined) l.sequenceNumber = randomInt(0, 2 ** 32);
    if (l.layer === 'icmp' || l.layer === 'icmpv6') {
      const echo = l.layer === 'icmp' ? 8 : 128;
      l.type ??= echo;
      if (l.type === echo && l.restOfHeader === undefined) {
        l.identifier ??= randomInt(0, 0x10000);
        l.sequence ??= 1;
      }
    }
    return l as unknown as Layer;
  });
}

interface Plan {
  bytes: Buffer;
  sent: Layer[];
  first: 'ethernet' | 'ipv4' | 'ipv6';
  destination: string;
  ifindex: number;
}

function plan(n: Native, layers: readonly ProbeLayer[], name: string, iface: string | undefined): Plan {
  const filled = complete(n, layers, name);
  const outer = filled[0]!;
  if (outer.layer !== 'ethernet' && outer.layer !== 'ipv4' && outer.layer !== 'ipv6') {
    throw invalidArgValue(`${name}[0].layer`, "must be 'ethernet', 'ipv4' or 'ipv6' (the layer a raw socket sends)", outer.layer);
  }
  const bytes = build(filled);
  let ifindex = 0;
  if (outer.layer === 'ethernet') {
    if (typeof iface !== 'string') throw invalidArgType('options.interface', 'of type string (an Ethernet probe needs an interface)', iface);
    ifindex = n.s.if_nametoindex(iface);
  }
  return { bytes, sent: parse(bytes, outer.layer), first: outer.layer, destination: outer.layer === 'ethernet' ? outer.destination : outer.destination, ifindex };
}

/**
 * Sends a probe and resolves with the parsed answer that matches it: opens the raw socket its
 * outermost layer needs (`AF_PACKET` for `ethernet`, on `options.interface`; `SOCK_RAW` with
 * IP_HDRINCL — `IPPROTO_RAW` — for `ipv4` and its IPv6 counterpart for `ipv6`, with an `AF_PACKET`
 * socket to hear the answer), fills what was left out (the IP source from the route, as a connected
 * UDP socket's `getsockname` gives it; a random source port and TCP sequence number; an ICMP echo
 * request with a random identifier), sends, and waits for a packet that `matches` it: an echo reply,
 * a TCP segment acknowledging it, a UDP datagram from the probed port, or an ICMP error quoting it.
 * Several probes (`probe([[...], [...]])`) are sent together and matched to their answers in whatever
 * order those come. Every socket is closed when the probe settles, whether answered, timed out,
 * aborted or failed. Needs CAP_NET_RAW.
 * @param layers - the probe's layers, outermost first; or a list of probes.
 * @param options - `{ timeout, signal, interface }`.
 * @returns the answer as layers, or null when none came in time (for a list, one entry per probe).
 * @throws SystemError `EPERM` from `socket` without CAP_NET_RAW; TypeError/RangeError for layers that
 *   cannot be built or options of the wrong type; AbortError when `signal` aborts.
 * @example
 * const answer = await probe([{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'tcp', destinationPort: port, flags: { syn: true } }]);
 * // answer?.[1] is the SYN-ACK (or a RST) from the port
 */
export function probe(layers: readonly ProbeLayer[], options?: ProbeOptions): Promise<Layer[] | null>;
export function probe(layers: readonly (readonly ProbeLayer[])[], options?: ProbeOptions): Promise<(Layer[] | null)[]>;
export async function probe(layers: readonly ProbeLayer[] | readonly (readonly ProbeLayer[])[], options: ProbeOptions = {}): Promise<Layer[] | null | (Layer[] | null)[]> {
  obj(options, 'options');
  const timeout = optUint(options.timeout, 'options.timeout', 2 ** 31 - 1, 2000);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an instance of AbortSignal', options.signal);
  // At most 4096 probes at once (or layers in one): a list is refused by its length, never walked.
  const outer = list<unknown>(layers, 'layers', 4096);
  const many = Array.isArray(outer[0]);
  const probes = (many ? outer : [layers]) as readonly (readonly ProbeLayer[])[];
  const n = load();
  const plans = probes.map((l, i) => plan(n, l, many ? `layers[${i}]` : 'layers', options.interface));
  const results = await exchange(n, plans, timeout, options.signal);
  return many ? results : results[0]!;
}

async function exchange(n: Native, plans: Plan[], timeout: number, signal: AbortSignal | undefined): Promise<(Layer[] | null)[]> {
  const { s, p } = n;
  const fds: number[] = [];
  const open = (domain: number, type: number, protocol: number): number => {
    const fd = s.socket(domain, type, protocol);
    fds.push(fd);
    return fd;
  };
  const results: (Layer[] | null)[] = plans.map(() => null);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => stop.abort(), timeout);
  try {
    if (signal?.aborted) throw new p.AbortError();
    // One listener per kind of first layer, opened before anything is sent.
    const listeners = new Map<string, number>();
    const senders = new Map<string, number>();
    for (const pl of plans) {
      if (listeners.has(pl.first + pl.ifindex)) continue;
      if (pl.first === 'ethernet') {
        const fd = open(s.AF_PACKET, s.SOCK_RAW, s.htons(s.ETH_P_ALL));
        s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex: pl.ifindex });
        listeners.set(pl.first + pl.ifindex, fd);
        senders.set(pl.first + pl.ifindex, fd);
      } else {
        listeners.set(pl.first + pl.ifindex, open(s.AF_PACKET, s.SOCK_DGRAM, s.htons(pl.first === 'ipv4' ? s.ETH_P_IP : s.ETH_P_IPV6)));
        senders.set(pl.first + pl.ifindex, open(pl.first === 'ipv4' ? s.AF_INET : s.AF_INET6, s.SOCK_RAW, s.IPPROTO_RAW));
      }
    }
    const receiving = [...new Set(listeners.values())].map(async (fd) => {
      const buf = Buffer.alloc(65536);
      for (;;) {
        if (results.every((r) => r !== null)) return;
        let got: Awaited<ReturnType<typeof p.recvfrom>>;
        try {
          got = await p.recvfrom(fd, buf, { signal: stop.signal });
        } catch (err) {
          if (stop.signal.aborted && !signal?.aborted) return; // the timeout, or every answer is in
          throw err;
        }
        const from = got.address as { pkttype?: number } | null;
        if (from?.pkttype === s.PACKET_OUTGOING) continue;
        const bytes = Buffer.from(buf.subarray(0, Math.min(got.bytes, buf.length)));
        plans.forEach((pl, i) => {
          if (results[i] !== null || listeners.get(pl.first + pl.ifindex) !== fd) return;
          let answer: Layer[];
          try {
            answer = parse(bytes, pl.first === 'ethernet' ? 'ethernet' : 'ip', { partial: true });
          } catch {
            return;
          }
          if (matches(pl.sent, answer)) results[i] = answer;
        });
        if (results.every((r) => r !== null)) stop.abort();
      }
    });
    const received = Promise.all(receiving);
    received.catch(() => undefined); // awaited below; a failed send must not leave it unhandled
    for (const pl of plans) {
      const fd = senders.get(pl.first + pl.ifindex)!;
      const dest = pl.first === 'ethernet'
        ? { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex: pl.ifindex, halen: 6, addr: Buffer.from(pl.destination.split(':').map((x) => parseInt(x, 16))) }
        : { family: pl.first === 'ipv4' ? s.AF_INET : s.AF_INET6, address: pl.destination, port: 0 };
      await p.sendto(fd, pl.bytes, undefined, 0, dest, { signal: stop.signal });
    }
    await received;
    if (signal?.aborted) throw new p.AbortError(undefined, { cause: signal.reason });
    return results;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
    for (const fd of fds) s.close(fd);
  }
}
