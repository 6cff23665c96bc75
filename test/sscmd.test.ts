// `sockfd ss` as a user runs it (bin/sockfd.js in a child process), held against `ss -tuxwanpiem`
// for the sockets this test process holds: every column and every detail ss prints, token for
// token, except the figures that move between two snapshots (ms since the last send/receive/ACK,
// busy time, the timer's time left) and the cgroup path ss resolves; --json against listSockets;
// --pid, the kind/state/port filters, and the usage errors.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SHUT_WR,
  SystemError,
  accept,
  bind,
  close,
  connect,
  getsockname,
  listSockets,
  listen,
  poll,
  sendto,
  shutdown,
  socket,
  socketpair,
  write,
} from '../src/index.js';
import type { SockAddrIn } from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';
import { parseSs, ss, ssUnavailable, type SsSocket } from './helpers/ss.js';
import { expectSameTable, stableTokens } from './helpers/diag.js';

checkFdLeaks();

const bin = path.join(__dirname, '..', 'bin', 'sockfd.js');
const noSs = ssUnavailable();
if (noSs) console.log('skipping the comparisons with ss:', noSs, '(install iproute2)');

const sockfdSs = (...args: string[]): string => execFileSync(process.execPath, [bin, 'ss', ...args], { encoding: 'utf8', timeout: 20_000 });
const ready = (fd: number, events: number): boolean => (poll([{ fd, events }], 2000)[0]!.revents & events) !== 0;
const inodeOf = (fd: number): number => Number(/socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))![1]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const LO = { family: AF_INET, address: '127.0.0.1', port: 0 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-sscmd-'));
const fds: number[] = [];
const own = (fd: number): number => (fds.push(fd), fd);
let port = 0;
let udpPort = 0;
let where = '';

// One set of quiescent sockets for the whole file: a TCP listener and a connection with 25 bytes
// unread, a UDP socket with datagrams queued, an IPv6 listener, unix stream and dgram sockets.
beforeAll(async () => {
  const l = own(socket(AF_INET, SOCK_STREAM));
  bind(l, LO);
  listen(l, 4);
  port = (getsockname(l) as SockAddrIn).port;
  const c = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  try {
    connect(c, { ...LO, port });
  } catch (err) {
    if ((err as SystemError).code !== 'EINPROGRESS') throw err;
  }
  expect(ready(c, POLLOUT) && ready(l, POLLIN)).toBe(true);
  const a = own(accept(l).fd);
  write(c, Buffer.from('你好，这是客户端!'));
  expect(ready(a, POLLIN)).toBe(true);
  const u = own(socket(AF_INET, SOCK_DGRAM));
  bind(u, LO);
  udpPort = (getsockname(u) as SockAddrIn).port;
  const u2 = own(socket(AF_INET, SOCK_DGRAM));
  sendto(u2, Buffer.from('Michael'), undefined, 0, getsockname(u));
  const l6 = own(socket(AF_INET6, SOCK_STREAM));
  bind(l6, { family: AF_INET6, address: '::1', port: 0 });
  listen(l6, 2);
  where = path.join(tmp, 'ss.sock');
  const ul = own(socket(AF_UNIX, SOCK_STREAM));
  bind(ul, { family: AF_UNIX, path: where });
  listen(ul, 3);
  const uc = own(socket(AF_UNIX, SOCK_STREAM));
  connect(uc, { family: AF_UNIX, path: where });
  const [d1, d2] = socketpair(AF_UNIX, SOCK_DGRAM).map(own) as [number, number];
  write(d1, Buffer.from('Tracy'));
  void d2;
  await sleep(60); // quiescent from here: delayed ACKs sent, memory settled
});

afterAll(() => {
  for (const fd of fds) close(fd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const stable = stableTokens;

function key(e: SsSocket): string {
  return e.netid?.startsWith('u_') ? `unix ${e.local.split(' ')[1]}` : `sk ${e.sk}`;
}

describe.skipIf(noSs !== null)('sockfd ss, held against ss -tuxwanpiem', () => {
  it('--pid of this process lists its sockets, each column and detail as ss prints it', () => {
    const mine = new Set(fds.map(inodeOf));
    const ours = parseSs(sockfdSs('--pid', String(process.pid)));
    const theirs = ss('-tuxwanpiem').filter((e) => e.users.some((u) => u.pid === process.pid));
    const inode = (e: SsSocket): number => (e.netid!.startsWith('u_') ? Number(e.local.split(' ')[1]) : e.ino!);
    // Ours, and whatever else the test runner holds: nothing of another process.
    for (const i of mine) expect(ours.map(inode)).toContain(i);
    expect(ours.every((e) => e.users.length > 0 && e.users.every((u) => u.pid === process.pid))).toBe(true);
    const byKey = new Map(theirs.map((e) => [key(e), e]));
    for (const o of ours.filter((e) => mine.has(inode(e)))) {
      const t = byKey.get(key(o));
      expect(t, `ss lists ${o.netid} ${o.local}`).toBeDefined();
      expect({ netid: o.netid, state: o.state, recvQ: o.recvQ, sendQ: o.sendQ, local: o.local, peer: o.peer }).toEqual({
        netid: t!.netid,
        state: t!.state,
        recvQ: t!.recvQ,
        sendQ: t!.sendQ,
        local: t!.local,
        peer: t!.peer,
      });
      expect(o.users).toEqual(t!.users.filter((u) => u.pid === process.pid));
      expect(stable(o), `${o.netid} ${o.local}`).toEqual(stable(t!));
    }
  });

  it('without --pid it lists the namespace\'s sockets, naming every process that holds one, as ss -p does', () => {
    const ours = parseSs(sockfdSs());
    for (const fd of fds) {
      const inode = inodeOf(fd);
      const o = ours.find((e) => (e.netid!.startsWith('u_') ? e.local.endsWith(` ${inode}`) : e.ino === inode));
      expect(o, `fd ${fd}`).toBeDefined();
      expect(o!.users).toContainEqual({ name: fs.readFileSync('/proc/self/comm', 'utf8').trim(), pid: process.pid, fd });
    }
    expect(ours.some((e) => e.users.some((u) => u.pid !== process.pid)) || ours.every((e) => e.users.every((u) => u.pid === process.pid))).toBe(true);
  });

  it('kinds, states and ports narrow the table: tcp state LISTEN, udp, unix, a port, ss\'s state names', () => {
    const listening = parseSs(sockfdSs('--pid', String(process.pid), 'tcp', 'state', 'LISTEN'));
    expect(listening.map((e) => e.netid + ' ' + e.state).sort()).toEqual(['tcp LISTEN', 'tcp LISTEN']);
    expect(parseSs(sockfdSs('--pid', String(process.pid), 'tcp', 'state', 'ESTAB')).map((e) => e.state)).toEqual(['ESTAB', 'ESTAB']);
    // The bound one and the one sendto bound to a port of its own.
    expect(parseSs(sockfdSs('--pid', String(process.pid), 'udp')).map((e) => e.netid)).toEqual(['udp', 'udp']);
    const unix = parseSs(sockfdSs('--pid', String(process.pid), 'unix'));
    expect(unix.every((e) => e.netid!.startsWith('u_'))).toBe(true);
    expect(unix.map((e) => e.netid)).toEqual(expect.arrayContaining(['u_str', 'u_str', 'u_dgr', 'u_dgr']));
    const onPort = parseSs(sockfdSs('--pid', String(process.pid), 'port', String(port)));
    expect(onPort).toHaveLength(3);
    expect(parseSs(sockfdSs('--pid', String(process.pid), '-6')).map((e) => e.local)).toEqual([expect.stringMatching(/^\[::1\]:\d+$/)]);
    expect(parseSs(sockfdSs('--pid', String(process.pid), 'port', String(udpPort))).map((e) => e.netid)).toEqual(['udp']);
    expect(parseSs(sockfdSs('--pid', String(process.pid), 'port', String(port), 'state', 'LISTEN')).map((e) => e.sendQ)).toEqual([4]);
  });

  it('TCP in the states loopback holds, SYN_SENT, FIN_WAIT2, CLOSE_WAIT and TIME_WAIT, as ss -tanpiem prints them', async () => {
    const l = socket(AF_INET, SOCK_STREAM);
    bind(l, LO);
    listen(l, 0); // room for one completed connection at a time
    const p = (getsockname(l) as SockAddrIn).port;
    const connectTo = (): number => {
      const fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
      try {
        connect(fd, { ...LO, port: p });
      } catch (err) {
        if ((err as SystemError).code !== 'EINPROGRESS') throw err;
      }
      return fd;
    };
    const a = connectTo();
    expect(ready(a, POLLOUT) && ready(l, POLLIN)).toBe(true);
    const srv = accept(l).fd;
    const b = connectTo();
    expect(ready(b, POLLOUT) && ready(l, POLLIN)).toBe(true);
    const srv2 = accept(l).fd;
    const queued = connectTo(); // completes into the accept queue, which is then full
    expect(ready(queued, POLLOUT)).toBe(true);
    const stuck = connectTo(); // its SYN is dropped: SYN_SENT
    shutdown(a, SHUT_WR); // a: FIN_WAIT2, srv: CLOSE_WAIT
    shutdown(b, SHUT_WR);
    close(srv2); // b: TIME_WAIT once srv2's FIN arrives
    await sleep(60);
    try {
      const filter = `( sport = :${p} or dport = :${p} )`;
      const ours = parseSs(sockfdSs('tcp', 'port', String(p)));
      const theirs = ss('-tanpiem', filter);
      expect(new Set(theirs.map((e) => e.state))).toEqual(new Set(['LISTEN', 'ESTAB', 'SYN-SENT', 'FIN-WAIT-2', 'CLOSE-WAIT', 'TIME-WAIT']));
      expectSameTable(ours, theirs);
    } finally {
      for (const fd of [l, a, b, srv, queued, stuck]) close(fd);
    }
  });

  it('--json gives listSockets\' entries, 64-bit cookies as decimal strings, with the holders added', () => {
    const json = JSON.parse(sockfdSs('--pid', String(process.pid), '--json')) as Array<Record<string, unknown> & { cookie: string | null; inode: number; users: unknown[]; fds: number[] }>;
    const mine = new Set(fds.map(inodeOf));
    const direct = listSockets({ pid: process.pid }).filter((e) => mine.has(e.inode));
    expect(direct).toHaveLength(mine.size);
    for (const d of direct) {
      const j = json.find((e) => e.inode === d.inode)!;
      expect(j.cookie).toBe(d.cookie === null ? null : d.cookie.toString());
      expect(j.fds).toEqual(d.fds);
      expect(j.users).toEqual(d.fds.map((fd) => ({ name: expect.any(String), pid: process.pid, fd })));
      expect({ local: j.local, peer: j.peer, stateName: j.stateName, netid: j.netid }).toEqual({ local: d.local, peer: d.peer, stateName: d.stateName, netid: d.netid });
    }
  });
});

describe('sockfd ss arguments', () => {
  const run = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [bin, 'ss', ...args], { encoding: 'utf8', timeout: 20_000 });
  for (const [args, message] of [
    [['--frob'], 'unknown argument --frob'],
    [['--pid', 'abc'], '--pid needs an integer'],
    [['--pid'], '--pid needs an integer'],
    [['state', 'NOPE'], 'unknown state NOPE'],
    [['port', '70000'], 'port needs an integer from 0 to 65535'],
  ] as [string[], string][]) {
    it(`${args.join(' ')} is a usage error: exit 2, the reason and the usage on stderr`, () => {
      const r = run(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain('usage: sockfd ss');
      expect(r.stdout).toBe('');
    });
  }

  it('a --pid with no process behind it fails with exit 1 and says why', () => {
    const r = run('--pid', String(2 ** 31 - 1));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^sockfd ss: scandir ENOENT \(cannot read \/proc\/2147483647\/fd\)/);
  });

  it('--help prints the usage and exits 0; sockfd --help lists ss', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: sockfd ss [--pid N] [--json]');
    expect(execFileSync(process.execPath, [bin, "--help"], { encoding: "utf8" })).toMatch(/^ {2}ss \[--pid N\] \[--json\] /m);
  });
});
