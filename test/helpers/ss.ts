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

/** The kernel's TCP state name (TCP_STATES) as ss spells it. */
export function ssStateName(kernelName: string): string {
  const map: Record<string, string> = {
    ESTABLISHED: 'ESTAB',
    SYN_SENT: 'SYN-SENT',
    SYN_RECV: 'SYN-RECV',
    FIN_WAIT1: 'FIN-WAIT-1',
    FIN_WAIT2: 'FIN-WAIT-2',
    TIME_WAIT: 'TIME-WAIT',
    CLOSE: 'UNCONN',
    CLOSE_WAIT: 'CLOSE-WAIT',
    LAST_ACK: 'LAST-ACK',
    LISTEN: 'LISTEN',
    CLOSING: 'CLOSING',
  };
  return map[kernelName] ?? kernelName;
}

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
