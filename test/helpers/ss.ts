// `ss` (iproute2) as an independent witness: the kernel's sock_diag view of TCP sockets, to hold
// sockfd's inspect() and TCP_INFO against. Parses `ss -tanie` (state, Recv-Q, Send-Q, local, peer,
// `ino:N`, and the -i line of TCP details).
import { execFileSync, spawnSync } from 'node:child_process';

/** One socket as `ss -tanie` prints it. */
export interface SsEntry {
  /** ss's state name: LISTEN, ESTAB, SYN-SENT, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK, CLOSING, TIME-WAIT, ... */
  state: string;
  recvQ: number;
  sendQ: number;
  /** '127.0.0.1:40000', '[::1]:40000'. */
  local: string;
  peer: string;
  /** The socket's inode (`ino:N`); 0 for sockets without an fd (TIME-WAIT, accepted-but-not-yet-accepted). */
  inode: number;
  /** Everything after the addresses, the -i details line included. */
  details: string;
}

/** Why `ss` cannot be used here, or null when it can. */
export function ssUnavailable(): string | null {
  const r = spawnSync('ss', ['-V'], { encoding: 'utf8' });
  if (r.error) return `\`ss\` (iproute2) is not available: ${r.error.message}`;
  return r.status === 0 ? null : `\`ss -V\` failed: ${r.stderr}`;
}

/** All TCP sockets, as `ss -tanie [filter...]` lists them. */
export function ssTcp(...filter: string[]): SsEntry[] {
  const text = execFileSync('ss', ['-tanie', ...filter], { encoding: 'utf8' });
  const entries: SsEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      // The -i line belongs to the entry above it.
      const last = entries[entries.length - 1];
      if (last) last.details += ` ${line.trim()}`;
      continue;
    }
    const [state, recvQ, sendQ, local, peer, ...rest] = line.trim().split(/\s+/);
    const details = rest.join(' ');
    entries.push({
      state: state!,
      recvQ: Number(recvQ),
      sendQ: Number(sendQ),
      local: local!,
      peer: peer!,
      inode: Number(/\bino:(\d+)/.exec(details)?.[1] ?? 0),
      details,
    });
  }
  return entries;
}

/** The `ss -tanie` entry of the socket with this inode, or undefined when ss does not list it. */
export function ssByInode(inode: number, port?: number): SsEntry | undefined {
  const filter = port ? [`( sport = :${port} or dport = :${port} )`] : [];
  return ssTcp(...filter).find((e) => e.inode === inode);
}

/** The kernel's TCP state name (TCP_STATES) as ss spells it: sockfd's own table, held against what ss prints. */
export { ssStateName } from '../../src/ssformat.js';

/** A numeric `key:value` from the -i details ('cwnd:10', 'rto:204', 'rtt:0.026/0.013' gives 0.026). */
export function ssField(entry: SsEntry, key: string): number | undefined {
  const m = new RegExp(`(?:^|\\s)${key}:([0-9.]+)`).exec(entry.details);
  return m ? Number(m[1]) : undefined;
}

/** 'a.b.c.d:port' or '[v6]:port', as ss prints an address. */
export function ssAddr(addr: { address?: string; port?: number }): string {
  const a = addr.address ?? '';
  return a.includes(':') ? `[${a}]:${addr.port}` : `${a}:${addr.port}`;
}

/** A process holding a socket, from ss -p's `users:(("name",pid=N,fd=M),...)`. */
export interface SsUser {
  name: string;
  pid: number;
  fd: number;
}

/** One socket of any kind as ss prints it (with or without the Netid column), details parsed. */
export interface SsSocket {
  /** The Netid column (tcp, udp, raw, u_str, u_dgr, u_seq, p_raw, p_dgr), when ss printed one. */
  netid?: string;
  /** The State column; undefined when ss left it out (it does when asked for one state only). */
  state?: string;
  recvQ: number;
  sendQ: number;
  /** The local column: 'addr:port', or for unix sockets 'path inode' (two of ss's columns). */
  local: string;
  /** The peer column, in the same form. */
  peer: string;
  /** `users:((...))`, or [] when ss printed none. */
  users: SsUser[];
  /** Every token after the columns and users, the indented -i/-m/packet lines included, in order. */
  tokens: string[];
  /** `ino:N` (the first one; for unix sockets the inode is the local column's port instead). */
  ino?: number;
  /** `sk:HEX`, the socket cookie. */
  sk?: bigint;
  /** `uid:N` (ss prints it only when it is not 0). */
  uid?: number;
  /** `timer:(name,expires,retransmits)`. */
  timer?: { name: string; expires: string; retransmits: number };
  /** `skmem:(r..,rb..,t..,tb..,f..,w..,o..,bl..,d..)` by ss's letters. */
  skmem?: Record<string, number>;
}

const USERS = /^users:\((.*)\)$/;

/** Parses the output of any ss listing; lines that start with whitespace continue the entry above. */
export function parseSs(text: string): SsSocket[] {
  const lines = text.split('\n');
  const header = lines.shift() ?? '';
  const hasNetid = header.startsWith('Netid');
  const hasState = /^(Netid\s+)?State\b/.test(header);
  const out: SsSocket[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      out[out.length - 1]?.tokens.push(...line.trim().split(/\s+/));
      continue;
    }
    const t = line.trim().split(/\s+/);
    let i = 0;
    const netid = hasNetid ? t[i++] : undefined;
    const state = hasState ? t[i++]! : undefined;
    const recvQ = Number(t[i++]);
    const sendQ = Number(t[i++]);
    const pair = netid?.startsWith('u_') ?? false;
    const local = pair ? `${t[i]} ${t[i + 1]}` : t[i]!;
    i += pair ? 2 : 1;
    const peer = pair ? `${t[i]} ${t[i + 1]}` : t[i]!;
    i += pair ? 2 : 1;
    const entry: SsSocket = { ...(netid ? { netid } : {}), ...(state ? { state } : {}), recvQ, sendQ, local, peer, users: [], tokens: [] };
    for (const tok of t.slice(i)) {
      const u = USERS.exec(tok);
      if (u && entry.users.length === 0) {
        for (const m of u[1]!.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)/g)) entry.users.push({ name: m[1]!, pid: Number(m[2]), fd: Number(m[3]) });
      } else entry.tokens.push(tok);
    }
    out.push(entry);
  }
  for (const e of out) {
    for (const tok of e.tokens) {
      let m: RegExpExecArray | null;
      if (e.ino === undefined && (m = /^ino:(\d+)$/.exec(tok))) e.ino = Number(m[1]);
      else if ((m = /^sk:([0-9a-f]+)$/.exec(tok))) e.sk = BigInt(`0x${m[1]}`);
      else if ((m = /^uid:(\d+)$/.exec(tok))) e.uid = Number(m[1]);
      else if ((m = /^timer:\(([^,]+),([^,]*),(\d+)\)$/.exec(tok))) e.timer = { name: m[1]!, expires: m[2]!, retransmits: Number(m[3]) };
      else if ((m = /^skmem:\((.*)\)$/.exec(tok))) {
        e.skmem = {};
        for (const part of m[1]!.split(',')) {
          const p = /^([a-z]+)(\d+)$/.exec(part);
          if (p) e.skmem[p[1]!] = Number(p[2]);
        }
      }
    }
  }
  return out;
}

/** Runs `ss ...args` (always numeric) and parses what it prints. */
export function ss(...args: string[]): SsSocket[] {
  return parseSs(execFileSync('ss', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
}

/** The value of `key:value` among an entry's tokens ('cwnd' gives '10', 'wscale' gives '10,10'). */
export function ssToken(e: SsSocket, key: string): string | undefined {
  const tok = e.tokens.find((t) => t.startsWith(`${key}:`));
  return tok?.slice(key.length + 1);
}

/** ss's letters of skmem, by the SkMemInfo field each prints. */
export const SKMEM_LETTERS = {
  rmemAlloc: 'r',
  rcvbuf: 'rb',
  wmemAlloc: 't',
  sndbuf: 'tb',
  fwdAlloc: 'f',
  wmemQueued: 'w',
  optmem: 'o',
  backlog: 'bl',
  drops: 'd',
} as const;
