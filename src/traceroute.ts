/**
 * `sockfd traceroute HOST`: the route to a host, hop by hop, the way traceroute(8) finds it. By
 * default with UDP probes to ports 33434 and up on an ordinary datagram socket with IP_RECVERR /
 * IPV6_RECVERR: each hop's ICMP time exceeded (and the destination's port unreachable) arrives on the
 * socket's error queue with the reporting node as the offender, so no privilege is needed. With
 * `icmp`, ICMP echo requests over a SOCK_RAW socket (CAP_NET_RAW), the answers matched to the probes
 * with sockfd/packet's `matches` (the time exceeded quotes the probe).
 * @packageDocumentation
 */
import * as dns from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_RECVERR,
  IPV6_UNICAST_HOPS,
  IP_RECVERR,
  IP_TTL,
  MSG_DONTWAIT,
  MSG_ERRQUEUE,
  POLLERR,
  POLLIN,
  SOCK_DGRAM,
  SOCK_RAW,
} from './constants.generated.js';
import { connect, getsockname } from './connection.js';
import { recvfrom, sendto } from './io.js';
import { recvmsg } from './msg.js';
import { build, matches, parse, type Layer } from './packet/index.js';
import { close, poll, socket } from './socket.js';
import { setsockopt } from './sockopt.js';

/** What `traceroute` was asked to do. */
export interface TracerouteOptions {
  host: string;
  /** The largest hop count tried; default 30. */
  maxHops: number;
  /** Probes per hop; default 3. */
  queries: number;
  /** Seconds to wait for each probe's answer; default 5. */
  wait: number;
  /** The first UDP destination port; default 33434 (incremented per probe). */
  port: number;
  /** ICMP echo probes over SOCK_RAW instead of UDP. */
  icmp: boolean;
  /** 4 or 6 to choose the family of a name; default whichever it resolves to first. */
  family?: 4 | 6;
}

/** One probe's outcome: who answered and how long it took, or nothing. */
export interface HopAnswer {
  address: string;
  rtt: number;
  /** The destination itself answered (port unreachable, echo reply). */
  reached: boolean;
}

const now = (): bigint => process.hrtime.bigint();
const ms = (from: bigint): number => Number(now() - from) / 1e6;

/** Waits at most `until` for `events` on fd; true when they came. */
function ready(fd: number, events: number, until: bigint): boolean {
  for (;;) {
    const left = Number(until - now()) / 1e6;
    if (left <= 0) return false;
    const [r] = poll([{ fd, events }], Math.ceil(left));
    if (r && (r.revents & (events | POLLERR)) !== 0) return true;
  }
}

/** A UDP probe: sent with the hop limit `ttl`, answered on the error queue. */
function udpProbe(fd: number, v6: boolean, address: string, port: number, ttl: number, wait: number, size: number): HopAnswer | null {
  setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, ttl);
  const payload = Buffer.alloc(size);
  payload.writeUInt32BE(port, 0); // tells this probe's error from a late one of the previous probe
  const sent = now();
  sendto(fd, payload, undefined, 0, { family: v6 ? AF_INET6 : AF_INET, address, port });
  const until = sent + BigInt(Math.round(wait * 1e9));
  const buf = Buffer.alloc(2048);
  while (ready(fd, POLLIN, until)) {
    let m: ReturnType<typeof recvmsg>;
    try {
      m = recvmsg(fd, [buf], { controlLength: 512, flags: MSG_ERRQUEUE | MSG_DONTWAIT });
    } catch {
      // Not an error: an ordinary datagram (a UDP server answered); read it off and count it as the destination.
      let r: ReturnType<typeof recvfrom>;
      try {
        r = recvfrom(fd, buf, undefined, MSG_DONTWAIT);
      } catch {
        continue;
      }
      if (r.address && 'address' in r.address) return { address: r.address.address, rtt: ms(sent), reached: true };
      continue;
    }
    const err = m.control.flatMap((c) => ('error' in c ? [c.error] : []))[0];
    if (err === undefined || m.bytes < 4 || buf.readUInt32BE(0) !== port) continue;
    const offender = err.offender && 'address' in err.offender ? err.offender.address : '?';
    const unreachable = v6 ? err.type === 1 : err.type === 3;
    return { address: offender, rtt: ms(sent), reached: unreachable };
  }
  return null;
}

/** The local address the route to `address` uses. */
function localAddress(v6: boolean, address: string): string {
  const fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM);
  try {
    connect(fd, { family: v6 ? AF_INET6 : AF_INET, address, port: 9 });
    return (getsockname(fd) as { address: string }).address;
  } finally {
    close(fd);
  }
}

/** An ICMP echo probe over SOCK_RAW, its answer matched with `matches`. */
function icmpProbe(fd: number, v6: boolean, source: string, address: string, sequence: number, ttl: number, wait: number, size: number): HopAnswer | null {
  setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, ttl);
  const identifier = process.pid & 0xffff;
  const ip: Layer = v6 ? { layer: 'ipv6', source, destination: address, hopLimit: ttl } : { layer: 'ipv4', source, destination: address, ttl };
  const echo: Layer[] = [ip, v6 ? { layer: 'icmpv6', type: 128, identifier, sequence } : { layer: 'icmp', type: 8, identifier, sequence }, { layer: 'raw', data: Buffer.alloc(size) }];
  const packet = build(echo);
  const sentLayers = parse(packet, v6 ? 'ipv6' : 'ipv4');
  const sent = now();
  // The kernel adds the IP header (and sums ICMPv6): send the ICMP message only.
  sendto(fd, packet.subarray(v6 ? 40 : 20), undefined, 0, { family: v6 ? AF_INET6 : AF_INET, address, port: 0 });
  const until = sent + BigInt(Math.round(wait * 1e9));
  const buf = Buffer.alloc(65536);
  while (ready(fd, POLLIN, until)) {
    const r = recvfrom(fd, buf, undefined, MSG_DONTWAIT);
    const from = r.address && 'address' in r.address ? r.address.address : '?';
    const bytes = buf.subarray(0, Math.min(r.bytes, buf.length));
    // IPv4 raw sockets hand over the IP header; IPv6 ones only the ICMPv6 message.
    const answer = v6 ? [{ layer: 'ipv6', source: from, destination: source } as Layer, ...parse(bytes, 'icmpv6', { partial: true })] : parse(bytes, 'ipv4', { partial: true });
    if (!matches(sentLayers, answer)) continue;
    const t = answer[1];
    const reached = t?.layer === 'icmp' ? t.type === 0 : t?.layer === 'icmpv6' ? t.type === 129 : false;
    return { address: from, rtt: ms(sent), reached };
  }
  return null;
}

async function resolve(host: string, family?: 4 | 6): Promise<{ address: string; v6: boolean }> {
  const v = isIP(host);
  if (v) return { address: host, v6: v === 6 };
  const r = await dns.lookup(host, family === undefined ? {} : { family });
  return { address: r.address, v6: r.family === 6 };
}

/**
 * Traces the route to `options.host`, printing the header line and then one line per hop as
 * traceroute(8) does (`" 2  10.0.2.2  0.051 ms  0.040 ms  0.038 ms"`, `*` for a probe without answer).
 * @returns whether the destination answered.
 * @throws SystemError from `socket` (EPERM for `icmp` without CAP_NET_RAW).
 */
export async function traceroute(options: TracerouteOptions, print: (line: string) => void): Promise<boolean> {
  const { address, v6 } = await resolve(options.host, options.family);
  const size = 32;
  const fd = options.icmp ? socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) : socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM);
  try {
    if (!options.icmp) setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, 1);
    const source = options.icmp ? localAddress(v6, address) : '';
    print(`traceroute to ${options.host} (${address}), ${options.maxHops} hops max, ${size + 8 + (v6 ? 40 : 20)} byte packets`);
    let seq = 0;
    for (let ttl = 1; ttl <= options.maxHops; ttl++) {
      let line = `${String(ttl).padStart(2)} `;
      let last: string | undefined;
      let reached = false;
      for (let q = 0; q < options.queries; q++) {
        const a = options.icmp
          ? icmpProbe(fd, v6, source, address, ++seq, ttl, options.wait, size)
          : udpProbe(fd, v6, address, options.port + seq++, ttl, options.wait, size);
        if (a === null) {
          line += ' *';
          continue;
        }
        if (a.address !== last) line += ` ${a.address}`;
        last = a.address;
        line += `  ${a.rtt.toFixed(3)} ms`;
        reached ||= a.reached || a.address === address;
      }
      print(line);
      if (reached) return true;
    }
    return false;
  } finally {
    close(fd);
  }
}
