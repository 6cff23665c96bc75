/**
 * {@link SocketEntry} as `ss -tuxwanpiem` prints it (iproute2 misc/ss.c): the columns (Netid, State,
 * Recv-Q, Send-Q, local and peer address, Process), the -e/-o details (`timer:(…)`, `uid:`, `ino:`,
 * `sk:`, `v6only:`, the shutdown arrows), and the -i/-m line (`skmem:(…)` and the TCP_INFO figures, in
 * ss's order, with ss's units and rounding). Used by `sockfd ss`.
 * @internal
 * @packageDocumentation
 */
import { AF_INET6, AF_PACKET, AF_UNIX, ETH_P_ALL, TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN, TCPI_OPT_SACK, TCPI_OPT_SYN_DATA, TCPI_OPT_TIMESTAMPS, TCPI_OPT_USEC_TS, TCPI_OPT_WSCALE } from './constants.generated.js';
import type { SocketEntry, UnixDiag } from './diagtypes.js';
import type { SkMemInfo } from './skmem.js';
import type { SocketUser } from './procfd.js';
import type { SockAddr } from './sockaddr.js';
import { if_indextoname } from './inet.js';

/** An interface's name, or 'ifN' as iproute2 writes an index it cannot name. */
function interfaceName(index: number): string {
  try {
    return if_indextoname(index);
  } catch {
    return `if${index}`;
  }
}

/** The state as ss names it (sstate_name[] in ss.c). */
const SS_STATES: Record<string, string> = {
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

/** A kernel state name as ss spells it ('ESTABLISHED' → 'ESTAB'). @internal */
export function ssStateName(kernelName: string): string {
  return SS_STATES[kernelName] ?? 'UNKNOWN';
}

/** C's `%g`: six significant digits, trailing zeros dropped, exponent form outside 1e-4 … 1e6. */
export function fmtG(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = x.toExponential(5).split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const t = x.toPrecision(6);
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

/** ss's print_ms_timer: '940ms', '20sec', '1.500sec', '1min30sec'. */
export function fmtTimer(ms: number): string {
  let secs = Math.floor(ms / 1000);
  const minutes = Math.floor(secs / 60);
  secs %= 60;
  let msecs = ms % 1000;
  let out = '';
  if (minutes) {
    msecs = 0;
    out = `${minutes}min`;
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    out += `${secs}${msecs ? '.' : 'sec'}`;
  }
  if (msecs) out += `${String(msecs).padStart(3, '0')}${secs ? 'sec' : 'ms'}`;
  return out;
}

/** An IP address and port as ss -n prints them: '127.0.0.1:80', '[::1]:80', '*:80' (a dual-stack '::'). */
function inetText(a: SockAddr | null, family: number, v6only: boolean, wildcardPort: boolean): string {
  const any = family === AF_INET6 ? '::' : '0.0.0.0';
  const addr = a && 'address' in a ? a : { address: any, port: 0 };
  const port = addr.port === 0 && wildcardPort ? '*' : String(addr.port);
  let host: string;
  if (family === AF_INET6) host = !v6only && addr.address === '::' ? '*' : `[${addr.address}]`;
  else host = addr.address;
  return `${host}:${port}`;
}

/** A unix address as ss prints it: the path, '@name' for an abstract one (NULs as '@'), '*' for none. */
function unixText(a: SockAddr | null): string {
  if (!a || !('path' in a)) return '*';
  const path = typeof a.path === 'string' ? a.path : Buffer.from(a.path).toString('latin1');
  if (path === '') return '*';
  return path.startsWith('\0') ? path.replace(/\0/g, '@') : path;
}

/** The local and peer columns of an entry. @internal */
export function addressColumns(e: SocketEntry): [string, string] {
  if (e.family === AF_UNIX) {
    return [`${unixText(e.local)} ${e.inode}`, `${e.unix?.peerInode ? unixText(e.peer) : '*'} ${e.unix?.peerInode ?? 0}`];
  }
  if (e.family === AF_PACKET) {
    // As ss -n: ETH_P_ALL is '*', any other protocol its number in brackets; then the interface.
    const p = e.packet;
    const proto = !p || p.ethProtocol === ETH_P_ALL ? '*' : `[${p.ethProtocol}]`;
    return [`${proto}:${p?.ifindex ? interfaceName(p.ifindex) : '*'}`, '*'];
  }
  const v6only = e.inet?.v6only ?? false;
  return [inetText(e.local, e.family, v6only, true), inetText(e.peer, e.family, v6only, true)];
}

/** `skmem:(r…,rb…,t…,tb…,f…,w…,o…,bl…,d…)`, as ss -m prints it. @internal */
export function skmemText(m: SkMemInfo): string {
  let t = `skmem:(r${m.rmemAlloc},rb${m.rcvbuf},t${m.wmemAlloc},tb${m.sndbuf},f${m.fwdAlloc},w${m.wmemQueued},o${m.optmem}`;
  if (m.backlog !== undefined) t += `,bl${m.backlog}`;
  if (m.drops !== undefined) t += `,d${m.drops}`;
  return t + ')';
}

const bps = (x: number): string => `${Math.round(x)}bps`;

/** The TCP_INFO part of ss -i's line (tcp_stats_print in ss.c), token by token. @internal */
export function tcpInfoTokens(e: SocketEntry): string[] {
  const t = e.tcp;
  if (!t) return [];
  const i = t.info;
  const out: string[] = [];
  const has = (bit: number | undefined): boolean => bit !== undefined && (i.options & bit) !== 0;
  if (has(TCPI_OPT_TIMESTAMPS)) out.push('ts');
  if (has(TCPI_OPT_USEC_TS)) out.push('usec_ts');
  if (has(TCPI_OPT_SACK)) out.push('sack');
  if (has(TCPI_OPT_ECN)) out.push('ecn');
  if (has(TCPI_OPT_ECN_SEEN)) out.push('ecnseen');
  if (has(TCPI_OPT_SYN_DATA)) out.push('fastopen');
  if (t.congestion) out.push(t.congestion);
  if (has(TCPI_OPT_WSCALE)) out.push(`wscale:${i.sndWscale},${i.rcvWscale}`);
  if (i.rto && i.rto !== 3000000) out.push(`rto:${fmtG(i.rto / 1000)}`);
  if (i.backoff) out.push(`backoff:${i.backoff}`);
  if (i.rtt) out.push(`rtt:${fmtG(i.rtt / 1000)}/${fmtG(i.rttvar / 1000)}`);
  if (i.ato) out.push(`ato:${fmtG(i.ato / 1000)}`);
  if (i.sndMss) out.push(`mss:${i.sndMss}`);
  if (i.pmtu) out.push(`pmtu:${i.pmtu}`);
  if (i.rcvMss) out.push(`rcvmss:${i.rcvMss}`);
  if (i.advmss) out.push(`advmss:${i.advmss}`);
  if (i.sndCwnd) out.push(`cwnd:${i.sndCwnd}`);
  if (i.sndSsthresh && i.sndSsthresh < 0xffff) out.push(`ssthresh:${i.sndSsthresh}`);
  const counters: [keyof typeof i, string][] = [
    ['bytesSent', 'bytes_sent'],
    ['bytesRetrans', 'bytes_retrans'],
    ['bytesAcked', 'bytes_acked'],
    ['bytesReceived', 'bytes_received'],
    ['segsOut', 'segs_out'],
    ['segsIn', 'segs_in'],
    ['dataSegsOut', 'data_segs_out'],
    ['dataSegsIn', 'data_segs_in'],
  ];
  for (const [k, name] of counters) if (i[k]) out.push(`${name}:${i[k]}`);
  if (t.dctcp) {
    const d = t.dctcp;
    out.push(d.enabled ? `dctcp:(ce_state:${d.ceState},alpha:${d.alpha},ab_ecn:${d.abEcn},ab_tot:${d.abTot})` : 'dctcp:fallback_mode');
  }
  if (t.bbr) {
    const b = t.bbr;
    let s = `bbr:(bw:${bps(b.bw * 8)},mrtt:${fmtG(b.minRtt / 1000)}`;
    if (b.pacingGain) s += `,pacing_gain:${fmtG(b.pacingGain)}`;
    if (b.cwndGain) s += `,cwnd_gain:${fmtG(b.cwndGain)}`;
    out.push(s + ')');
  }
  let rtt = i.rtt;
  if (t.vegas && t.vegas.enabled && t.vegas.rtt && t.vegas.rtt !== 0x7fffffff) rtt = t.vegas.rtt;
  if (rtt > 0 && i.sndMss && i.sndCwnd) out.push('send', bps((i.sndCwnd * i.sndMss * 8000000) / rtt));
  if (i.lastDataSent) out.push(`lastsnd:${i.lastDataSent}`);
  if (i.lastDataRecv) out.push(`lastrcv:${i.lastDataRecv}`);
  if (i.lastAckRecv) out.push(`lastack:${i.lastAckRecv}`);
  // The u64 fields are bigints (exact); what ss prints of them is a float figure, as here.
  const unlimited = 2n ** 64n - 1n;
  if (i.pacingRate && i.pacingRate !== unlimited) {
    let s = bps(Number(i.pacingRate) * 8);
    if (i.maxPacingRate && i.maxPacingRate !== unlimited) s += `/${bps(Number(i.maxPacingRate) * 8)}`;
    out.push('pacing_rate', s);
  }
  if (i.deliveryRate) out.push('delivery_rate', bps(Number(i.deliveryRate) * 8));
  if (i.delivered) out.push(`delivered:${i.delivered}`);
  if (i.deliveredCe) out.push(`delivered_ce:${i.deliveredCe}`);
  if (i.deliveryRateAppLimited) out.push('app_limited');
  if (i.busyTime) {
    const busy = Number(i.busyTime);
    out.push(`busy:${i.busyTime / 1000n}ms`);
    if (i.rwndLimited) out.push(`rwnd_limited:${i.rwndLimited / 1000n}ms(${((100 * Number(i.rwndLimited)) / busy).toFixed(1)}%)`);
    if (i.sndbufLimited) out.push(`sndbuf_limited:${i.sndbufLimited / 1000n}ms(${((100 * Number(i.sndbufLimited)) / busy).toFixed(1)}%)`);
  }
  if (i.unacked) out.push(`unacked:${i.unacked}`);
  if (i.retrans || i.totalRetrans) out.push(`retrans:${i.retrans}/${i.totalRetrans ?? 0}`);
  if (i.lost) out.push(`lost:${i.lost}`);
  if (i.sacked && e.stateName !== 'LISTEN') out.push(`sacked:${i.sacked}`);
  if (i.dsackDups) out.push(`dsack_dups:${i.dsackDups}`);
  if (i.fackets) out.push(`fackets:${i.fackets}`);
  if (i.reordering !== 3) out.push(`reordering:${i.reordering}`);
  if (i.reordSeen) out.push(`reord_seen:${i.reordSeen}`);
  if (i.rcvRtt) out.push(`rcv_rtt:${fmtG(i.rcvRtt / 1000)}`);
  if (i.rcvSpace) out.push(`rcv_space:${i.rcvSpace}`);
  if (i.rcvSsthresh) out.push(`rcv_ssthresh:${i.rcvSsthresh}`);
  if (i.notsentBytes) out.push(`notsent:${i.notsentBytes}`);
  if (i.minRtt && i.minRtt !== 0xffffffff) out.push(`minrtt:${fmtG(i.minRtt / 1000)}`);
  if (i.rcvOoopack) out.push(`rcv_ooopack:${i.rcvOoopack}`);
  if (i.sndWnd) out.push(`snd_wnd:${i.sndWnd}`);
  return out;
}

/**
 * The `dev:` of a unix socket file as ss prints it: ss hands the kernel's dev_t (major << 20 | minor)
 * to glibc's major()/minor(), which decode userspace's encoding, so 254:0 prints as 0/65024. The
 * table prints what ss prints; {@link UnixDiag.vfs} has the device decoded correctly.
 */
function ssDev(major: number, minor: number): string {
  const raw = major * 2 ** 20 + minor;
  return `${Math.floor(raw / 256) & 0xfff}/${(raw & 0xff) | (Math.floor(raw / 4096) & 0xfff00)}`;
}

const arrows = (mask: number): string => `${mask & 1 ? '-' : '<'}-${mask & 2 ? '-' : '>'}`;

/** `users:(("name",pid=N,fd=M),...)`, or '' for none. @internal */
export function usersText(users: readonly SocketUser[] | undefined): string {
  if (!users || users.length === 0) return '';
  return `users:(${users.map((u) => `("${u.name}",pid=${u.pid},fd=${u.fd})`).join(',')})`;
}

/** The details after the Process column, and the lines below the entry (-i/-m, packet info). @internal */
export function detailParts(e: SocketEntry): { details: string[]; below: string[] } {
  const details: string[] = [];
  const below: string[] = [];
  if (e.family === AF_UNIX) {
    if (e.skmem) details.push(skmemText(e.skmem));
    if (e.shutdown !== null) details.push(arrows(e.shutdown));
    if (e.unix?.vfs) details.push(`ino:${e.unix.vfs.inode}`, `dev:${ssDev(e.unix.vfs.major, e.unix.vfs.minor)}`);
    if (e.unix?.pending) details.push('peers:', ...e.unix.pending.map(String));
    return { details, below };
  }
  // A raw socket read from /proc/net/raw (no raw_diag: no cookie) is printed as ss prints those: the
  // columns and the processes only (dgram_show_line in ss.c).
  if (e.cookie === null) return { details, below };
  if (e.timer) details.push(`timer:(${e.timer.name},${fmtTimer(e.timer.expires)},${e.timer.retransmits})`);
  if (e.uid) details.push(`uid:${e.uid}`);
  details.push(`ino:${e.inode}`);
  if (e.cookie !== null) details.push(`sk:${e.cookie.toString(16)}`);
  if (e.inet?.mark) details.push(`fwmark:0x${e.inet.mark.toString(16)}`);
  if (e.family === AF_INET6 && e.inet?.v6only !== undefined) details.push(`v6only:${e.inet.v6only ? 1 : 0}`);
  if (e.shutdown !== null) details.push(arrows(e.shutdown));
  if (e.family === AF_PACKET && e.packet) {
    const p = e.packet;
    const flags = [p.running && 'running', p.auxdata && 'auxdata', p.origdev && 'origdev', p.vnethdr && 'vnethdr', p.loss && 'loss'].filter(Boolean);
    below.push(`ver:${p.version} cpy_thresh:${p.copyThresh} flags( ${flags.length ? flags.join(' ') : '0'} )`);
    const ring = (name: string, r: NonNullable<typeof p.rxRing>): string =>
      `${name}(blk_size:${r.blockSize},blk_nr:${r.blockCount},frm_size:${r.frameSize},frm_nr:${r.frameCount},tmo:${r.retireTimeout},features:0x${r.features.toString(16)})`;
    if (p.rxRing) below.push(ring('ring_rx', p.rxRing));
    if (p.txRing) below.push(ring('ring_tx', p.txRing));
    if (p.fanout) below.push(`fanout(id:${p.fanout.id},type:${p.fanout.typeName})`);
    // ss -m prints skmem last, on the last of these lines.
    if (e.skmem) below[below.length - 1] += ` ${skmemText(e.skmem)}`;
    return { details, below };
  }
  const info = [...(e.skmem ? [skmemText(e.skmem)] : []), ...tcpInfoTokens(e)];
  if (info.length) below.push(info.join(' '));
  return { details, below };
}

/**
 * The table: a header, then per entry one line of columns and details, and its -i/-m lines, each
 * starting with a tab as ss prints them.
 * @internal
 */
export function formatTable(entries: readonly SocketEntry[], usersOf: (e: SocketEntry) => readonly SocketUser[] | undefined): string {
  const header = ['Netid', 'State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'Process'];
  const rows = entries.map((e) => {
    const [local, peer] = addressColumns(e);
    return [e.netid, ssStateName(e.stateName), String(e.recvQueue), String(e.sendQueue), local, peer, usersText(usersOf(e))];
  });
  const widths = header.slice(0, 6).map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  // Columns padded to their widest cell, then the Process column and the details, single-spaced.
  const pad = (cells: string[], rest: string[]): string =>
    [...cells.map((cell, c) => cell.padEnd(widths[c]!)), ...rest.filter(Boolean)].join(' ').trimEnd();
  const lines = [pad(header.slice(0, 6), [header[6]!])];
  entries.forEach((e, n) => {
    const { details, below } = detailParts(e);
    const row = rows[n]!;
    lines.push(pad(row.slice(0, 6), [row[6]!, ...details]));
    for (const b of below) lines.push(`\t ${b}`);
  });
  return lines.join('\n') + '\n';
}
