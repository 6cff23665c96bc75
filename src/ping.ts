/**
 * `sockfd ping HOST`: ICMP echo built with sockfd/packet and driven by sockfd/promises, printing
 * replies and a summary the way iputils' `ping` does. Over a SOCK_RAW socket when the process has
 * CAP_NET_RAW; otherwise, as iputils does, over an unprivileged ICMP datagram socket
 * (`SOCK_DGRAM`, `IPPROTO_ICMP`/`IPPROTO_ICMPV6`), which Linux allows to the groups in
 * `net.ipv4.ping_group_range` (for IPv6 too). There the kernel sets the identifier (the socket's
 * "port") and the checksum, and hands over the ICMP message without its IP header.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import * as dns from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_RECVHOPLIMIT,
  IPPROTO_IP,
  IP_RECVTTL,
  IP_TTL,
  SOCK_DGRAM,
  SOCK_RAW,
} from './constants.generated.js';
import { SystemError } from './errors.js';
import { close, socket } from './socket.js';
import { setsockopt } from './sockopt.js';
import * as p from './promises.js';
import { icmp, icmpv6, ipv4 } from './packet/index.js';
import type { SockAddr } from './sockaddr.js';

/** What `ping` was asked to do. */
export interface PingOptions {
  host: string;
  /** Echo requests to send; Infinity until `signal` aborts. */
  count: number;
  /** Seconds between requests. */
  interval: number;
  /** Bytes of data after the ICMP header (the first 8 carry the send time). */
  size: number;
  /** Seconds to wait for the last reply. */
  timeout: number;
  /** Ends an unbounded run (Ctrl-C). */
  signal?: AbortSignal;
}

/** The summary `ping` prints last. */
export interface PingStats {
  transmitted: number;
  received: number;
  /** Round-trip times in ms. */
  rtts: number[];
  /** Total time in ms. */
  time: number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

async function resolveHost(host: string): Promise<{ address: string; family: typeof AF_INET | typeof AF_INET6 }> {
  const v = isIP(host);
  if (v) return { address: host, family: v === 6 ? AF_INET6 : AF_INET };
  const r = await dns.lookup(host);
  return { address: r.address, family: r.family === 6 ? AF_INET6 : AF_INET };
}

/** `net.ipv4.ping_group_range` as the kernel shows it, or undefined when it cannot be read. */
function pingGroupRange(): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo === undefined || hi === undefined ? undefined : [lo, hi];
  } catch {
    return undefined;
  }
}

/**
 * The ICMP socket: SOCK_RAW, or without CAP_NET_RAW an ICMP datagram socket (saying so through
 * `note`), or an error that says why neither is allowed and how to allow one.
 */
function openIcmp(family: number, v6: boolean, note: (text: string) => void): { fd: number; raw: boolean } {
  const protocol = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  try {
    return { fd: socket(family, SOCK_RAW, protocol), raw: true };
  } catch (err) {
    if (!(err instanceof SystemError) || (err.code !== 'EPERM' && err.code !== 'EACCES')) throw err;
    const range = pingGroupRange();
    const gid = process.getgid?.() ?? 0;
    try {
      const fd = socket(family, SOCK_DGRAM, protocol);
      note(`no CAP_NET_RAW: using an unprivileged ICMP datagram socket (group ${gid} is in net.ipv4.ping_group_range${range ? ` ${range[0]} ${range[1]}` : ''})`);
      return { fd, raw: false };
    } catch (err2) {
      if (!(err2 instanceof SystemError) || (err2.code !== 'EACCES' && err2.code !== 'EPERM')) throw err2;
      const shown = range ? `'${range[0]} ${range[1]}'` : 'unreadable';
      throw new Error(
        `${err.message}; an unprivileged ICMP datagram socket is refused too (socket ${err2.code}): group ${gid} is not in ` +
          `net.ipv4.ping_group_range (${shown}). Allow it with sysctl -w net.ipv4.ping_group_range='${gid} ${gid}' ` +
          `(or '0 2147483647' for every group), or give node CAP_NET_RAW (setcap cap_net_raw+ep "$(command -v node)")`,
      );
    }
  }
}

/**
 * Pings `options.host`, writing lines through `print` and notes (the datagram-socket fallback)
 * through `note`; resolves with the statistics.
 * @throws Error naming CAP_NET_RAW and net.ipv4.ping_group_range when neither a raw nor an ICMP
 *   datagram socket may be opened.
 */
export async function ping(options: PingOptions, print: (line: string) => void, note: (text: string) => void = () => undefined): Promise<PingStats> {
  const { address, family } = await resolveHost(options.host);
  const v6 = family === AF_INET6;
  const { fd, raw } = openIcmp(family, v6, note);
  // On a datagram socket the kernel writes the socket's "port" as the identifier and delivers only
  // the replies to it, so the identifier is neither chosen nor checked there.
  const identifier = raw ? process.pid & 0xffff : 0;
  const target: SockAddr = { family, address, port: 0 };
  const sentAt = new Map<number, bigint>();
  const stats: PingStats = { transmitted: 0, received: 0, rtts: [], time: 0 };
  const started = process.hrtime.bigint();
  const header = v6 ? 40 : 20;
  print(`PING ${options.host} (${address}) ${options.size}(${options.size + 8 + header}) bytes of data.`);
  const stop = new AbortController();
  const receiving = (async () => {
    if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    else if (!raw) setsockopt(fd, IPPROTO_IP, IP_RECVTTL, 1);
    const buf = Buffer.alloc(65536);
    for (;;) {
      let bytes: number;
      let from: string;
      let ttl: number | undefined;
      let message: icmp.Packet | icmpv6.Packet;
      try {
        if (v6) {
          const m = await p.recvmsg(fd, [buf], { controlLength: 64 }, { signal: stop.signal });
          bytes = m.bytes;
          from = m.address && 'address' in m.address ? m.address.address : '?';
          ttl = m.control.find((c) => c.level === IPPROTO_IPV6 && c.type === IPV6_HOPLIMIT)?.value;
          message = icmpv6.decode(buf.subarray(0, Math.min(bytes, buf.length)));
        } else if (!raw) {
          const m = await p.recvmsg(fd, [buf], { controlLength: 64 }, { signal: stop.signal });
          bytes = m.bytes;
          from = m.address && 'address' in m.address ? m.address.address : '?';
          ttl = m.control.find((c) => c.level === IPPROTO_IP && c.type === IP_TTL)?.value;
          message = icmp.decode(buf.subarray(0, Math.min(bytes, buf.length)));
        } else {
          const r = await p.recvfrom(fd, buf, { signal: stop.signal });
          const ip = ipv4.decode(buf.subarray(0, Math.min(r.bytes, buf.length)));
          bytes = ip.payload.length;
          from = ip.source;
          ttl = ip.ttl;
          message = icmp.decode(ip.payload);
        }
      } catch (err) {
        if ((err as Error).name === 'AbortError') return;
        if ((err as Error).name === 'PacketError') continue; // not a packet we can read: not ours
        throw err;
      }
      const reply = v6 ? icmpv6.ECHO_REPLY : icmp.ECHO_REPLY;
      // A raw socket sees every ICMP message, our own requests to 127.0.0.1 included.
      if (message.type !== reply || (raw && message.identifier !== identifier) || message.sequence === undefined) continue;
      const sent = sentAt.get(message.sequence);
      if (sent === undefined) continue;
      sentAt.delete(message.sequence);
      const rtt = Number(process.hrtime.bigint() - sent) / 1e6;
      stats.received++;
      stats.rtts.push(rtt);
      const ttlText = ttl === undefined ? '' : ` ${v6 ? 'hlim' : 'ttl'}=${ttl}`;
      print(`${bytes} bytes from ${from}: icmp_seq=${message.sequence}${ttlText} time=${rtt < 10 ? rtt.toFixed(3) : rtt.toFixed(1)} ms`);
      if (stats.received === options.count) return;
    }
  })();
  try {
    const payload = Buffer.alloc(options.size);
    for (let i = 0; i < options.size; i++) payload[i] = (i + 8) & 0xff;
    for (let seq = 1; seq <= options.count && !options.signal?.aborted; seq++) {
      const packet = v6
        ? icmpv6.encode({ type: icmpv6.ECHO_REQUEST, identifier, sequence: seq & 0xffff }, payload) // the kernel sums ICMPv6
        : icmp.encode({ type: icmp.ECHO_REQUEST, identifier, sequence: seq & 0xffff }, payload);
      sentAt.set(seq & 0xffff, process.hrtime.bigint());
      await p.sendto(fd, packet, undefined, 0, target);
      stats.transmitted++;
      if (seq < options.count) await sleep(options.interval * 1000, options.signal);
    }
    // Wait for the last replies, at most `timeout` seconds, or until all have come; then stop the
    // timer so that it does not hold the process open.
    const waited = new AbortController();
    const onInterrupt = (): void => waited.abort();
    options.signal?.addEventListener('abort', onInterrupt, { once: true });
    await Promise.race([receiving, sleep(options.timeout * 1000, waited.signal)]);
    waited.abort();
    options.signal?.removeEventListener('abort', onInterrupt);
  } finally {
    stop.abort();
    await receiving.catch(() => undefined);
    close(fd);
  }
  stats.time = Number(process.hrtime.bigint() - started) / 1e6;
  const loss = stats.transmitted ? Math.round((100 * (stats.transmitted - stats.received)) / stats.transmitted) : 0;
  print('');
  print(`--- ${options.host} ping statistics ---`);
  print(`${stats.transmitted} packets transmitted, ${stats.received} received, ${loss}% packet loss, time ${Math.round(stats.time)}ms`);
  if (stats.rtts.length) {
    const min = Math.min(...stats.rtts);
    const max = Math.max(...stats.rtts);
    const avg = stats.rtts.reduce((a, b) => a + b, 0) / stats.rtts.length;
    const mdev = Math.sqrt(stats.rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / stats.rtts.length);
    print(`rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((x) => x.toFixed(3)).join('/')} ms`);
  }
  return stats;
}
