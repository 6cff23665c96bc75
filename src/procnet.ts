/**
 * Raw sockets from /proc/net/raw and /proc/net/raw6, for kernels built without raw_diag: there the
 * kernel ends a raw sock_diag dump with ENOENT, and `ss -w` reads these files instead; so does
 * `listSockets`. The line format is the kernel's (net/ipv4/raw.c `raw_sock_seq_show`, net/ipv6/
 * datagram.c `__ip6_dgram_sock_seq_show`): `sl: local:port remote:port st tx_queue:rx_queue tr:when
 * retrnsmt uid timeout inode ref pointer drops`, each address printed as host-order 32-bit hex words
 * of the network-order address, the port being the socket's protocol.
 * @internal
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { AF_INET, AF_INET6, SOCK_RAW } from './constants.generated.js';
import { constantName } from './constants.js';
import { inetAddr } from './diagparse.js';
import type { SocketEntry } from './diagtypes.js';
import { w32 } from './netlink.js';
import { TCP_STATES } from './optcodecs.js';
import { append } from './own.js';

/** 'HHHHHHHH[HHHHHHHH...]:PPPP' → the address bytes (network order) and the port. */
function hexAddr(text: string): { addr: Buffer; port: number } | null {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return null;
  const words = m[1]!.match(/.{8}/g)!;
  const addr = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => w32(addr, parseInt(w, 16), i * 4));
  return { addr, port: parseInt(m[2]!, 16) };
}

/** The raw sockets listed in /proc/net/raw (AF_INET) or /proc/net/raw6 (AF_INET6). @internal */
export function procRawSockets(family: number): SocketEntry[] {
  const text = readFileSync(family === AF_INET6 ? '/proc/net/raw6' : '/proc/net/raw', 'utf8');
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = hexAddr(f[1]!);
    const remote = hexAddr(f[2]!);
    const queues = /^([0-9A-Fa-f]+):([0-9A-Fa-f]+)$/.exec(f[4]!);
    if (!local || !remote || !queues) continue;
    const state = parseInt(f[3]!, 16);
    const protocol = local.port;
    append(out, {
      family,
      familyName: constantName(family, 'AF_'),
      type: SOCK_RAW,
      typeName: 'SOCK_RAW',
      protocol,
      protocolName: constantName(protocol, 'IPPROTO_') ?? null,
      netid: 'raw',
      state,
      stateName: TCP_STATES[state] || String(state),
      local: inetAddr(family === AF_INET6 ? AF_INET6 : AF_INET, local.addr, local.port, 0),
      peer: remote.addr.every((b) => b === 0) && remote.port === 0 ? null : inetAddr(family, remote.addr, remote.port, 0),
      recvQueue: parseInt(queues[2]!, 16),
      sendQueue: parseInt(queues[1]!, 16),
      inode: Number(f[9]),
      uid: Number(f[7]),
      cookie: null,
      timer: null,
      shutdown: null,
      skmem: null,
      fds: [],
    });
  }
  return out;
}
