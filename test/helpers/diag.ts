// listSockets entries held against `ss`: each entry's columns written the way ss -n writes them
// (independently of src/ssformat.ts), and one comparison of every field ss prints for a socket.
import { if_indextoname } from '../../src/index.js';
import type { SocketEntry } from '../../src/index.js';
import { expect } from 'vitest';
import { SKMEM_LETTERS, ssStateName, type SsSocket } from './ss.js';

const AF_INET6 = 10;
const AF_UNIX = 1;
const AF_PACKET = 17;

function unixName(a: SocketEntry['local'] | null): string {
  const path = a && 'path' in a ? String(a.path) : '';
  if (path === '') return '*';
  return path.startsWith('\0') ? path.replace(/\0/g, '@') : path;
}

function inetName(e: SocketEntry, a: SocketEntry['local'] | null): string {
  const v6only = e.inet?.v6only ?? false;
  const addr = a && 'address' in a ? a : { address: e.family === AF_INET6 ? '::' : '0.0.0.0', port: 0 };
  const host = e.family !== AF_INET6 ? addr.address : !v6only && addr.address === '::' ? '*' : `[${addr.address}]`;
  return `${host}:${addr.port === 0 ? '*' : addr.port}`;
}

/** The Local Address:Port column ss prints for this entry. */
export function ssLocalOf(e: SocketEntry): string {
  if (e.family === AF_UNIX) return `${unixName(e.local)} ${e.inode}`;
  if (e.family === AF_PACKET) {
    const p = e.packet!;
    return `${p.ethProtocol === 3 ? '*' : `[${p.ethProtocol}]`}:${p.ifindex ? if_indextoname(p.ifindex) : '*'}`;
  }
  return inetName(e, e.local);
}

/** The Peer Address:Port column ss prints for this entry (ss names no unix peer, only its inode). */
export function ssPeerOf(e: SocketEntry): string {
  if (e.family === AF_UNIX) return `* ${e.unix!.peerInode}`;
  if (e.family === AF_PACKET) return '*';
  return inetName(e, e.peer);
}

/**
 * Expects `e` to say what ss says of the same socket: state, Recv-Q, Send-Q, both addresses, and of
 * the details those ss printed: ino, sk (the cookie), uid, the timer's name and retransmits, skmem.
 */
export function expectAsSs(e: SocketEntry, s: SsSocket, what = `${e.netid} ${e.stateName} inode ${e.inode}`): void {
  expect({ state: s.state ?? ssStateName(e.stateName), recvQ: s.recvQ, sendQ: s.sendQ, local: s.local, peer: s.peer }, what).toEqual({
    state: ssStateName(e.stateName),
    recvQ: e.recvQueue,
    sendQ: e.sendQueue,
    local: ssLocalOf(e),
    peer: ssPeerOf(e),
  });
  if (s.netid !== undefined) expect(s.netid, what).toBe(e.netid);
  if (e.family !== AF_UNIX && s.ino !== undefined) expect(s.ino, `${what}: ino`).toBe(e.inode);
  if (s.sk !== undefined) expect(s.sk, `${what}: sk`).toBe(e.cookie);
  if (s.tokens.length) expect(s.uid ?? 0, `${what}: uid`).toBe(e.uid ?? 0);
  if (s.timer) {
    expect(e.timer, `${what}: timer`).not.toBeNull();
    // ss 6.1 calls the delayed-ACK timer (code 5, newer than it) 'unknown'.
    expect(s.timer.name, `${what}: timer name`).toBe(e.timer!.code === 5 && s.timer.name === 'unknown' ? 'unknown' : e.timer!.name);
    expect(s.timer.retransmits, `${what}: timer retransmits`).toBe(e.timer!.retransmits);
  } else if (s.tokens.length && e.family !== AF_UNIX && e.family !== AF_PACKET) {
    expect(e.timer, `${what}: ss printed no timer`).toBeNull();
  }
  if (s.skmem) expect(skmemAsSs(e), `${what}: skmem`).toEqual(s.skmem);
}

/** An entry's skmem by ss's letters. */
export function skmemAsSs(e: { skmem: SocketEntry['skmem'] }): Record<string, number> | null {
  if (!e.skmem) return null;
  const out: Record<string, number> = {};
  for (const [field, letter] of Object.entries(SKMEM_LETTERS)) {
    const v = e.skmem[field as keyof typeof SKMEM_LETTERS];
    if (v !== undefined) out[letter] = v;
  }
  return out;
}

/** The ss entry of the entry (by inode for unix sockets, by the cookie or both addresses otherwise). */
export function ssMatch(list: SsSocket[], e: SocketEntry): SsSocket | undefined {
  if (e.family === AF_UNIX) return list.find((s) => s.local.endsWith(` ${e.inode}`));
  if (e.cookie !== null) {
    const bySk = list.find((s) => s.sk === e.cookie);
    if (bySk) return bySk;
  }
  return list.find(
    (s) => s.local === ssLocalOf(e) && s.peer === ssPeerOf(e) && (s.state ?? ssStateName(e.stateName)) === ssStateName(e.stateName) && (e.inode === 0 || s.ino === undefined || s.ino === e.inode),
  );
}

/** The tokens of an ss line that do not move between two snapshots of a socket that is left alone. */
export function stableTokens(e: SsSocket): string[] {
  const moving = /^(lastsnd|lastrcv|lastack|busy|cgroup):/;
  return e.tokens.filter((t) => !moving.test(t)).map((t) => t.replace(/^timer:\(([^,]+),[^,]*,(\d+)\)$/, 'timer:($1,$2)'));
}

/** How two listings name the same socket: its cookie, a unix socket's inode, or its columns. */
function tableKey(e: SsSocket): string {
  if (e.netid?.startsWith('u_')) return `unix ${e.local.split(' ')[1]}`;
  if (e.sk !== undefined) return `sk ${e.sk}`;
  return `cols ${e.state ?? ''} ${e.local} ${e.peer}`;
}

/** The details that name a socket rather than measure it: what stays put even while it retransmits. */
function identityTokens(e: SsSocket): string[] {
  return stableTokens(e).filter((t) => /^(ino|sk|uid|v6only|timer):|^[<-]-[->]$/.test(t));
}

/**
 * Expects `sockfd ss`'s table to list what ss's lists, socket for socket (all of ss's, when `all`),
 * column for column and detail for detail, but for the figures that move between two snapshots. For
 * sockets that are busy retransmitting (`lively`), the TCP_INFO and skmem figures move too: then the
 * columns and the details that name the socket are compared.
 */
export function expectSameTable(ours: SsSocket[], theirs: SsSocket[], all = true, lively = false): void {
  const byKey = new Map(ours.map((e) => [tableKey(e), e]));
  if (all) expect(ours.length, 'as many sockets as ss lists').toBe(theirs.length);
  for (const t of theirs) {
    const o = byKey.get(tableKey(t));
    expect(o, `sockfd ss lists ${t.netid ?? ''} ${t.state ?? ''} ${t.local} ${t.peer}`).toBeDefined();
    expect({ state: t.state ?? o!.state, netid: t.netid ?? o!.netid, recvQ: o!.recvQ, sendQ: o!.sendQ, local: o!.local, peer: o!.peer }).toEqual({
      state: o!.state,
      netid: o!.netid,
      recvQ: t.recvQ,
      sendQ: t.sendQ,
      local: t.local,
      peer: t.peer,
    });
    expect(o!.users, `${t.local}: users`).toEqual(t.users);
    const details = lively ? identityTokens : stableTokens;
    expect(details(o!), `${t.local}: details`).toEqual(details(t));
  }
}
