// listSockets: the kernel's list of sockets through NETLINK_SOCK_DIAG, held against `ss` (iproute2,
// an independent sock_diag client) for the same sockets on loopback: TCP in the states loopback can
// hold (LISTEN, SYN_SENT, ESTABLISHED, FIN_WAIT2, CLOSE_WAIT, TIME_WAIT), UDP, unix stream, dgram,
// seqpacket and abstract sockets; the fds of this process and of another one (python3); the filters,
// bad filters, and the netlink sockets never left open, also when a call fails.
//
// States that need a lossy path (SYN_RECV, FIN_WAIT1, LAST_ACK, CLOSING), raw and packet sockets are
// in test/raw/sockdiag.test.ts, in network namespaces.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  AF_UNIX,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_V6ONLY,
  NETLINK_SOCK_DIAG,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  POLLIN,
  POLLOUT,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_DIAG_BY_FAMILY,
  SOCK_NONBLOCK,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SCM_RIGHTS,
  SOL_SOCKET,
  SO_COOKIE,
  SystemError,
  TCP_CONGESTION,
  accept,
  bind,
  close,
  connect,
  getsockname,
  getsockopt,
  listSockets,
  listen,
  poll,
  read,
  recvmsg,
  sendmsg,
  sendto,
  setsockopt,
  shutdown,
  socket,
  socketpair,
  write,
} from '../src/index.js';
import type { SockAddrIn, SocketEntry } from '../src/index.js';
import { dumpInet } from '../src/sockdiag.js';
import { parseAttributes, parseMessages } from '../src/netlink.js';
import { netlinkDump } from '../src/netlinksocket.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks, openFds, ownFds } from './helpers/fds.js';
import { expectAsSs, skmemAsSs, ssMatch } from './helpers/diag.js';
import { pkg } from './helpers/netns.js';
import { ss, ssUnavailable, type SsSocket } from './helpers/ss.js';

checkFdLeaks();
const { own, release } = ownFds();

const noSs = ssUnavailable();
if (noSs) console.log('skipping the comparisons with ss:', noSs, '(install iproute2)');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LO = { family: AF_INET, address: '127.0.0.1', port: 0 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-diag-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ready(fd: number, events: number, ms = 2000): boolean {
  return (poll([{ fd, events }], ms)[0]!.revents & events) !== 0;
}

function listener(backlog = 8): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_STREAM));
  bind(fd, LO);
  listen(fd, backlog);
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

function startConnect(port: number): number {
  const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  try {
    connect(fd, { ...LO, port });
  } catch (err) {
    if ((err as SystemError).code !== 'EINPROGRESS') throw err;
  }
  return fd;
}

function pair(): { port: number; listen: number; client: number; server: number } {
  const l = listener();
  const client = startConnect(l.port);
  expect(ready(client, POLLOUT)).toBe(true);
  expect(ready(l.fd, POLLIN)).toBe(true);
  return { port: l.port, listen: l.fd, client, server: own(accept(l.fd).fd) };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

const inodeOf = (fd: number): number => Number(/socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))![1]);
const byInode = (list: SocketEntry[], fd: number): SocketEntry | undefined => list.find((e) => e.inode === inodeOf(fd));
const tcpOnPort = (port: number): SocketEntry[] => listSockets({ protocol: IPPROTO_TCP, port });
const cookieOf = (fd: number): bigint => {
  const b = getsockopt(fd, SOL_SOCKET, SO_COOKIE, 8);
  return os.endianness() === 'LE' ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0);
};

/** Expects every entry to be listed by ss the same way. */
function expectAllAsSs(entries: SocketEntry[], listing: SsSocket[]): void {
  expect(entries.length).toBeGreaterThan(0);
  for (const e of entries) {
    const s = ssMatch(listing, e);
    expect(s, `ss lists ${e.netid} ${e.stateName} ${JSON.stringify(e.local)} -> ${JSON.stringify(e.peer)}`).toBeDefined();
    expectAsSs(e, s!);
  }
}

describe.skipIf(noSs !== null)('TCP, held against ss -tanoie', () => {
  it('a listener and both ends of a connection: state, queues, addresses, inode, cookie and fds', () => {
    const p = pair();
    write(p.client, Buffer.from('你好，这是客户端!'));
    expect(ready(p.server, POLLIN)).toBe(true);
    const entries = tcpOnPort(p.port);
    expect(entries.map((e) => e.stateName).sort()).toEqual(['ESTABLISHED', 'ESTABLISHED', 'LISTEN']);
    expect(byInode(entries, p.server)!.recvQueue).toBe(25);
    expect(byInode(entries, p.listen)!.sendQueue).toBe(8);
    for (const fd of [p.listen, p.client, p.server]) {
      const e = byInode(entries, fd)!;
      expect(e.fds).toEqual([fd]);
      expect(e.cookie).toBe(cookieOf(fd));
      expect(e.local).toEqual(getsockname(fd));
    }
    expectAllAsSs(entries, ss('-tanoie', `( sport = :${p.port} or dport = :${p.port} )`));
  });

  it('a client beyond the backlog is SYN_SENT with a pending retransmission timer, as ss shows', () => {
    const l = listener(0); // the accept queue holds backlog + 1 = 1
    const first = startConnect(l.port);
    expect(ready(first, POLLOUT)).toBe(true);
    const second = startConnect(l.port);
    const e = byInode(tcpOnPort(l.port), second)!;
    expect(e.stateName).toBe('SYN_SENT');
    expect(e.timer).toMatchObject({ code: 1, name: 'on' });
    expect(e.sendQueue).toBe(1); // the SYN, not yet acknowledged
    expect(byInode(tcpOnPort(l.port), l.fd)!.recvQueue).toBe(1);
    expectAllAsSs(tcpOnPort(l.port), ss('-tanoie', `( sport = :${l.port} or dport = :${l.port} )`));
  });

  it('a half-closed connection is FIN_WAIT2 on the side that shut down and CLOSE_WAIT on the other', async () => {
    const p = pair();
    shutdown(p.client, SHUT_WR);
    await until(() => byInode(tcpOnPort(p.port), p.client)?.stateName === 'FIN_WAIT2', 'FIN_WAIT2');
    const entries = tcpOnPort(p.port);
    expect(byInode(entries, p.server)!.stateName).toBe('CLOSE_WAIT');
    expect(byInode(entries, p.client)!.shutdown).toBe(2); // SEND_SHUTDOWN
    expect(byInode(entries, p.server)!.shutdown).toBe(1); // RCV_SHUTDOWN, from the peer's FIN
    expectAllAsSs(entries, ss('-tanoie', `( sport = :${p.port} or dport = :${p.port} )`));
  });

  it('TIME_WAIT, left by the side that closed first, is listed with no fd and no inode, as ss lists it', async () => {
    const p = pair();
    const clientPort = (getsockname(p.client) as SockAddrIn).port;
    shutdown(p.client, SHUT_WR);
    expect(ready(p.server, POLLIN)).toBe(true);
    expect(read(p.server, Buffer.alloc(16))).toBe(0);
    release(p.server);
    await until(() => listSockets({ port: clientPort, states: ['TIME_WAIT'] }).length === 1, 'TIME_WAIT');
    release(p.client);
    const [tw] = listSockets({ port: clientPort, states: ['TIME_WAIT'] });
    expect(tw).toMatchObject({ stateName: 'TIME_WAIT', inode: 0, fds: [], uid: 0, skmem: null, shutdown: null });
    expect(tw!.tcp).toBeUndefined(); // a TIME_WAIT mini-socket has no TCP_INFO
    expect(tw!.timer).toMatchObject({ code: 3, name: 'timewait', retransmits: 0 });
    expect(tw!.timer!.expires).toBeGreaterThan(0);
    expect(tw!.timer!.expires).toBeLessThanOrEqual(60_000);
    expect(tw!.local).toEqual({ ...LO, port: clientPort });
    expect(tw!.peer).toEqual({ ...LO, port: p.port });
    expectAllAsSs([tw!], ss('-tanoie', 'state', 'time-wait', `( sport = :${clientPort} )`));
  });

  it('TCP_INFO and the congestion algorithm are ss -i\'s figures for a quiescent connection', () => {
    const p = pair();
    const e = byInode(tcpOnPort(p.port), p.client)!;
    const [s] = ss('-tni', `( sport = :${(getsockname(p.client) as SockAddrIn).port} )`);
    const tok = (k: string): string | undefined => s!.tokens.find((t) => t.startsWith(`${k}:`))?.slice(k.length + 1);
    const i = e.tcp!.info;
    expect(s!.tokens).toContain(e.tcp!.congestion);
    expect(e.tcp!.congestion).toBe(getsockopt(p.client, IPPROTO_TCP, TCP_CONGESTION));
    expect(tok('wscale')).toBe(`${i.sndWscale},${i.rcvWscale}`);
    expect(Number(tok('cwnd'))).toBe(i.sndCwnd);
    expect(Number(tok('mss'))).toBe(i.sndMss);
    expect(Number(tok('rcvmss'))).toBe(i.rcvMss);
    expect(Number(tok('advmss'))).toBe(i.advmss);
    expect(Number(tok('pmtu'))).toBe(i.pmtu);
    expect(Number(tok('rto'))).toBe(i.rto / 1000);
    if (e.tcp!.congestion === 'bbr') expect(s!.tokens.some((t) => t.startsWith('bbr:('))).toBe(e.tcp!.bbr !== undefined);
  });

  it('skmem is what ss -m prints for the same quiescent sockets, the sk_buff overhead of 25 bytes included', async () => {
    const p = pair();
    write(p.client, Buffer.from('你好，这是客户端!'));
    expect(ready(p.server, POLLIN)).toBe(true);
    await sleep(50);
    const entries = tcpOnPort(p.port);
    const server = byInode(entries, p.server)!;
    expect(server.recvQueue).toBe(25);
    expect(server.skmem!.rmemAlloc).toBeGreaterThan(25);
    const listing = ss('-tanm', `( sport = :${p.port} or dport = :${p.port} )`);
    for (const fd of [p.listen, p.client, p.server]) {
      const e = byInode(entries, fd)!;
      expect(skmemAsSs(e)).toEqual(ssMatch(listing, e)!.skmem);
    }
  });

  it('IPv6 sockets: a dual-stack listener prints as *:port, a v6only one as [::]:port, and v6only is reported', () => {
    const dual = own(socket(AF_INET6, SOCK_STREAM));
    bind(dual, { family: AF_INET6, address: '::', port: 0 });
    listen(dual, 4);
    const only = own(socket(AF_INET6, SOCK_STREAM));
    setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    bind(only, { family: AF_INET6, address: '::', port: 0 });
    listen(only, 4);
    const entries = listSockets({ family: AF_INET6, states: ['LISTEN'] });
    const d = byInode(entries, dual)!;
    const o = byInode(entries, only)!;
    expect(d.inet!.v6only).toBe(false);
    expect(o.inet!.v6only).toBe(true);
    expect(d.familyName).toBe('AF_INET6');
    expect(d.local).toEqual(getsockname(dual));
    expectAllAsSs([d, o], ss('-tanoie6', 'state', 'listening'));
  });
});

describe.skipIf(noSs !== null)('UDP and unix sockets, held against ss', () => {
  it('UDP: a bound socket with datagrams queued (Recv-Q counts their memory) and a connected one', () => {
    const a = own(socket(AF_INET, SOCK_DGRAM));
    bind(a, LO);
    const b = own(socket(AF_INET, SOCK_DGRAM));
    bind(b, LO);
    connect(b, getsockname(a));
    for (const name of ['Michael', 'Tracy', 'Sarah']) sendto(b, Buffer.from(name), undefined, 0, getsockname(a));
    expect(ready(a, POLLIN)).toBe(true);
    const port = (getsockname(a) as SockAddrIn).port;
    const entries = listSockets({ protocol: IPPROTO_UDP, port });
    expect(byInode(entries, a)).toMatchObject({ stateName: 'CLOSE', netid: 'udp', peer: null, fds: [a] });
    expect(byInode(entries, a)!.recvQueue).toBeGreaterThan('MichaelTracySarah'.length);
    expect(byInode(entries, b)).toMatchObject({ stateName: 'ESTABLISHED', peer: getsockname(a), fds: [b] });
    expect(byInode(entries, a)!.skmem!.rmemAlloc).toBe(byInode(entries, a)!.recvQueue);
    expectAllAsSs(entries, ss('-uanoiem', `( sport = :${port} or dport = :${port} )`));
  });

  it('unix stream: a listener with a pending connection, the accepted pair, paths, peers, and the socket file', () => {
    const where = path.join(tmp, 'stream.sock');
    const l = own(socket(AF_UNIX, SOCK_STREAM));
    bind(l, { family: AF_UNIX, path: where });
    listen(l, 5);
    const pending = own(socket(AF_UNIX, SOCK_STREAM));
    connect(pending, { family: AF_UNIX, path: where });
    const client = own(socket(AF_UNIX, SOCK_STREAM));
    connect(client, { family: AF_UNIX, path: where });
    const [, second] = [own(accept(l).fd), own(accept(l).fd)];
    const thirdClient = own(socket(AF_UNIX, SOCK_STREAM));
    connect(thirdClient, { family: AF_UNIX, path: where });
    write(client, Buffer.from('hello'));
    const all = listSockets({ family: AF_UNIX });
    const lis = byInode(all, l)!;
    expect(lis).toMatchObject({ netid: 'u_str', stateName: 'LISTEN', local: { family: AF_UNIX, path: where }, recvQueue: 1, sendQueue: 5 });
    expect(lis.unix!.pending).toEqual([inodeOf(thirdClient)]);
    const st = fs.statSync(where);
    expect(lis.unix!.vfs).toMatchObject({ inode: st.ino, dev: st.dev });
    const srv = byInode(all, second)!;
    expect(srv.local).toEqual({ family: AF_UNIX, path: where }); // an accepted socket shares the listener's name
    expect(srv.unix!.peerInode).toBe(inodeOf(client));
    expect(srv.peer).toEqual({ family: AF_UNIX, path: '' }); // the client is unnamed
    expect(srv.recvQueue).toBe(5);
    const cli = byInode(all, client)!;
    expect(cli.unix!.peerInode).toBe(srv.inode);
    expect(cli.peer).toEqual({ family: AF_UNIX, path: where });
    expect(cli.uid).toBe(process.getuid!());
    const listing = ss('-xanoiem');
    expectAllAsSs([lis, srv, cli], listing);
    expect(ssMatch(listing, lis)!.tokens.join(' ')).toContain(`ino:${st.ino} `);
    expect(ssMatch(listing, lis)!.tokens.join(' ')).toMatch(new RegExp(`peers: ${inodeOf(thirdClient)}$`));
    fs.unlinkSync(where);
  });

  it('unix dgram, abstract and seqpacket sockets: u_dgr and u_seq, @names, connected peers', () => {
    const a = own(socket(AF_UNIX, SOCK_DGRAM));
    bind(a, { family: AF_UNIX, path: `\0sockfd-diag-${process.pid}` });
    const b = own(socket(AF_UNIX, SOCK_DGRAM));
    connect(b, getsockname(a));
    write(b, Buffer.from('Michael'));
    const [s1, s2] = socketpair(AF_UNIX, SOCK_SEQPACKET).map(own) as [number, number];
    const all = listSockets({ family: AF_UNIX });
    const ea = byInode(all, a)!;
    // connect() on a unix datagram socket marks both ends ESTABLISHED (unix_dgram_connect).
    expect(ea).toMatchObject({ netid: 'u_dgr', stateName: 'ESTABLISHED', local: { family: AF_UNIX, path: `\0sockfd-diag-${process.pid}` }, recvQueue: 7 });
    const lone = own(socket(AF_UNIX, SOCK_DGRAM));
    bind(lone, { family: AF_UNIX, path: `\0sockfd-diag-lone-${process.pid}` });
    expect(byInode(listSockets({ family: AF_UNIX, type: SOCK_DGRAM }), lone)).toMatchObject({ stateName: 'CLOSE', peer: null, unix: { peerInode: 0 } });
    expect(byInode(all, b)).toMatchObject({ stateName: 'ESTABLISHED', peer: getsockname(a) });
    expect(byInode(all, s1)).toMatchObject({ netid: 'u_seq', stateName: 'ESTABLISHED', unix: { peerInode: inodeOf(s2) } });
    expect(listSockets({ family: AF_UNIX, type: SOCK_SEQPACKET }).map((e) => e.netid)).toEqual(expect.arrayContaining(['u_seq']));
    expect(listSockets({ family: AF_UNIX, type: SOCK_SEQPACKET }).every((e) => e.type === SOCK_SEQPACKET)).toBe(true);
    expectAllAsSs([ea, byInode(all, b)!, byInode(all, s1)!, byInode(all, s2)!], ss('-xanoiem'));
  });
});

describe('filters', () => {
  it('family, type and protocol narrow the list to sockets of that kind', () => {
    const p = pair();
    const u = own(socket(AF_INET, SOCK_DGRAM));
    bind(u, LO);
    const [x] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    const inet = listSockets({ family: AF_INET });
    expect(inet.every((e) => e.family === AF_INET)).toBe(true);
    expect(byInode(inet, p.client) && byInode(inet, u)).toBeTruthy();
    expect(byInode(inet, x)).toBeUndefined();
    const dgram = listSockets({ type: SOCK_DGRAM });
    expect(dgram.every((e) => e.type === SOCK_DGRAM)).toBe(true);
    expect(byInode(dgram, u)).toBeDefined();
    expect(byInode(dgram, p.client)).toBeUndefined();
    const tcp = listSockets({ protocol: IPPROTO_TCP });
    expect(tcp.every((e) => e.protocol === IPPROTO_TCP && e.netid === 'tcp')).toBe(true);
    expect(listSockets({ family: AF_UNIX }).every((e) => e.family === AF_UNIX)).toBe(true);
    expect(byInode(listSockets({ family: AF_UNIX }), x)).toBeDefined();
    expect(listSockets({ family: AF_INET6, protocol: IPPROTO_TCP }).every((e) => e.family === AF_INET6)).toBe(true);
  });

  it('states and port select by the kernel\'s state names and by either port', () => {
    const p = pair();
    const listening = listSockets({ states: ['LISTEN'], port: p.port });
    expect(listening.map((e) => e.inode)).toEqual([inodeOf(p.listen)]);
    const both = listSockets({ states: ['ESTABLISHED'], port: p.port });
    expect(both.map((e) => e.inode).sort()).toEqual([inodeOf(p.client), inodeOf(p.server)].sort());
    expect(listSockets({ states: ['LISTEN', 'ESTABLISHED'], port: p.port })).toHaveLength(3);
    expect(listSockets({ states: ['CLOSE_WAIT'], port: p.port })).toEqual([]);
  });

  it('the order is TCP, UDP, unix, packet: ss\'s kinds, TCP first', () => {
    const kinds = listSockets().map((e) => (e.family === AF_UNIX ? 'unix' : e.family === AF_PACKET ? 'packet' : e.netid));
    const firsts = kinds.filter((k, i) => kinds.indexOf(k) === i);
    const rank = ['tcp', 'udp', 'raw', 'unix', 'packet'];
    expect([...firsts].sort((a, b) => rank.indexOf(a) - rank.indexOf(b))).toEqual(firsts);
  });

  it('pid lists another process\'s sockets with that process\'s fds (python3 holding a listener and a UDP socket)', async () => {
    const py = spawn(
      'python3',
      ['-c', 'import socket,sys,os\nl=socket.socket();l.bind(("127.0.0.1",0));l.listen(3)\nu=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);u.bind(("127.0.0.1",0))\nprint(l.getsockname()[1],u.getsockname()[1],l.fileno(),u.fileno(),flush=True)\nsys.stdin.read()'],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      let text = '';
      const line = await new Promise<string>((resolve, reject) => {
        py.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\n')) resolve(text.split('\n')[0]!);
        });
        py.once('error', reject);
        setTimeout(() => reject(new Error('python3 did not print its sockets within 5 s')), 5000);
      });
      const [tport, uport, tfd, ufd] = line.trim().split(' ').map(Number) as [number, number, number, number];
      const theirs = listSockets({ pid: py.pid! });
      const t = theirs.find((e) => e.netid === 'tcp' && (e.local as SockAddrIn).port === tport)!;
      const u = theirs.find((e) => e.netid === 'udp' && (e.local as SockAddrIn).port === uport)!;
      expect(t).toMatchObject({ stateName: 'LISTEN', fds: [tfd], sendQueue: 3 });
      expect(u).toMatchObject({ stateName: 'CLOSE', fds: [ufd] });
      const inodes = new Set(fs.readdirSync(`/proc/${py.pid}/fd`).map((n) => /socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${py.pid}/fd/${n}`))?.[1]).filter(Boolean).map(Number));
      expect(new Set(theirs.map((e) => e.inode))).toEqual(inodes);
      // Not this process's fds: the same sockets listed without pid have none of ours.
      expect(listSockets({ port: tport }).find((e) => e.inode === t.inode)!.fds).toEqual([]);
    } finally {
      py.stdin.end();
      await new Promise((r) => py.once('exit', r));
    }
  });

  it('every fd that holds the socket is listed: a second fd for it received through SCM_RIGHTS too', () => {
    const p = pair();
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM).map(own) as [number, number];
    sendmsg(a, [Buffer.from('x')], { control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [p.client] }] });
    const item = recvmsg(b, [Buffer.alloc(1)], { controlLength: 64 }).control[0]!;
    const copy = own('fds' in item ? item.fds[0]! : -1);
    expect(copy).not.toBe(p.client);
    expect(byInode(tcpOnPort(p.port), p.client)!.fds).toEqual([p.client, copy].sort((x, y) => x - y));
  });
});

describe('bad filters', () => {
  const cases: [string, unknown, string, string][] = [
    ['not an object', 5, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ['an array', [], 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ['an unknown field', { sport: 80 }, 'TypeError', 'ERR_INVALID_ARG_VALUE'],
    ['family of the wrong type', { family: 'inet' }, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ['a family sock_diag is not asked about', { family: 99 }, 'TypeError', 'ERR_INVALID_ARG_VALUE'],
    ['an unknown type', { type: 7 }, 'TypeError', 'ERR_INVALID_ARG_VALUE'],
    ['a protocol out of range', { protocol: 70000 }, 'RangeError', 'ERR_OUT_OF_RANGE'],
    ['a fractional port', { port: 80.5 }, 'RangeError', 'ERR_OUT_OF_RANGE'],
    ['a negative port', { port: -1 }, 'RangeError', 'ERR_OUT_OF_RANGE'],
    ['a port that is a string', { port: '80' }, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ['pid 0', { pid: 0 }, 'RangeError', 'ERR_OUT_OF_RANGE'],
    ['states that is not an array', { states: 'LISTEN' }, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ['a state ss spells, not the kernel', { states: ['ESTAB'] }, 'TypeError', 'ERR_INVALID_ARG_VALUE'],
    ['a state that is not a string', { states: ['LISTEN', 10] }, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
  ];
  const field = (f: unknown): string => {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return '"filter"';
    const [k, v] = Object.entries(f)[0]!;
    return k === 'states' && Array.isArray(v) ? `"filter.states[${v.findIndex((x) => x !== 'LISTEN')}]"` : `"filter.${k}"`;
  };
  for (const [what, filter, name, code] of cases) {
    it(`${what} is a ${name} (${code}) naming the field, and opens no socket`, () => {
      const before = openFds().size;
      const err = thrown(() => listSockets(filter as never));
      expect(err.name).toBe(name);
      expect(err.code).toBe(code);
      expect(err.message).toContain(field(filter));
      expect(openFds().size).toBe(before);
    });
  }
});

describe('errors and fds', () => {
  const socketCount = (): number => [...openFds().values()].filter((t) => t.startsWith('socket:')).length;

  it('listSockets leaves no netlink socket open, call after call', () => {
    const before = socketCount();
    for (let i = 0; i < 20; i++) listSockets();
    expect(socketCount()).toBe(before);
  });

  it('a kernel NLMSG_ERROR reply is a SystemError (EINVAL for a packet_diag request with a protocol), and its socket is closed', () => {
    const before = socketCount();
    const bad = Buffer.alloc(20);
    bad[0] = AF_PACKET;
    bad[1] = 1; // sdiag_protocol: packet_diag takes only 0
    const err = thrown(() => netlinkDump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, bad, 'a bad packet_diag request', () => {}));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'recv' });
    expect(err.message).toBe('recv EINVAL (the kernel answered a bad packet_diag request with NLMSG_ERROR)');
    expect(socketCount()).toBe(before);
  });

  it('a dump the kernel cannot make (no diag handler for the protocol) is a SystemError ENOENT, and its socket is closed', () => {
    const before = socketCount();
    const err = thrown(() => dumpInet(AF_INET, 253 /* an experimental protocol number, never a diag module */, SOCK_STREAM, 0xffe));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'recv' });
    expect(err.message).toContain('SOCK_DIAG_BY_FAMILY AF_INET protocol 253');
    expect(socketCount()).toBe(before);
  });

  it('an exception while replies are read still closes the netlink socket', () => {
    const before = socketCount();
    const req = Buffer.alloc(20);
    req[0] = AF_PACKET;
    const boom = new Error('stop');
    // packet_diag answers every dump, if only with NLMSG_DONE; unix_diag always has our own sockets.
    const unix = Buffer.alloc(24);
    unix[0] = AF_UNIX;
    unix.writeUInt32LE(0xffffffff, 4);
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
    try {
      expect(thrown(() => netlinkDump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, unix, 'unix', () => { throw boom; }))).toBe(boom);
    } finally {
      close(a!);
      close(b!);
    }
    expect(socketCount()).toBe(before);
  });

  it('a pid with no process is a SystemError from reading /proc/<pid>/fd', () => {
    const err = thrown(() => listSockets({ pid: 2 ** 31 - 1 }));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'scandir' });
    expect(err.message).toContain(`/proc/${2 ** 31 - 1}/fd`);
  });

  it('with no fd left (EMFILE) it throws a SystemError and leaves nothing open; with one free it works again', () => {
    const script = `
      const s = require(${JSON.stringify(pkg)});
      const fs = require('node:fs');
      const count = () => fs.readdirSync('/proc/self/fd').length;
      const held = [];
      try { for (;;) held.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      let err;
      try { s.listSockets(); } catch (e) { err = e; }
      // Exactly as many fds as before the call: nothing it opened is left.
      let again = 0;
      try { while (true) { held.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); again++; } } catch (e) { if (e.code !== 'EMFILE') throw e; }
      for (let i = 0; i < 4; i++) s.close(held.pop());
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
      const listed = s.listSockets({ family: s.AF_UNIX }).filter((e) => e.fds.length).map((e) => e.fds[0]).sort((x, y) => x - y);
      for (const fd of [...held, a, b]) s.close(fd);
      process.stdout.write(JSON.stringify({ name: err && err.constructor.name, code: err && err.code, again, listed, pair: [a, b].sort((x, y) => x - y) }));
    `;
    const r = spawnSync('sh', ['-c', `ulimit -n 64 && exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { name: string; code: string; again: number; listed: number[]; pair: number[] };
    expect(got.name).toBe('SystemError');
    expect(got.code).toBe('EMFILE');
    expect(got.again).toBe(0); // the failed call left no fd behind: not one more socket fits
    expect(got.listed).toEqual(expect.arrayContaining(got.pair));
  });
});

describe('netlink framing', () => {
  it('a reply whose nlmsg_len runs past the datagram is a SystemError EBADMSG, not a read out of bounds', () => {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(64, 0); // nlmsg_len says 64 bytes; the datagram has 20
    const err = thrown(() => parseMessages(b));
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'EBADMSG', syscall: 'recv' });
  });

  it('attributes stop at a truncated one, as nla_ok() does', () => {
    const list = Buffer.from([8, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd, 12, 0, 2, 0, 1, 2]);
    const attrs = parseAttributes(list);
    expect([...attrs.keys()]).toEqual([1]);
    expect(attrs.get(1)).toEqual(Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]));
  });
});
