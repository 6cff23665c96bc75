// inspect(fd)'s kernel-memory and congestion fields and a listener's half-open queue: skmem
// (SO_MEMINFO) held against `ss -m` for the same quiescent sockets, tcp.congestion against
// TCP_CONGESTION as set and as `ss -i` prints it, and tcp.synQueue on loopback, where no handshake
// stays half-open (test/raw/sockdiag.test.ts crafts some in a namespace).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IPPROTO_TCP,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SystemError,
  TCP_CONGESTION,
  accept,
  bind,
  connect,
  getsockname,
  inspect,
  listen,
  poll,
  sendto,
  setsockopt,
  socket,
  write,
} from '../src/index.js';
import type { SockAddrIn } from '../src/index.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { skmemAsSs } from './helpers/diag.js';
import { pkg } from './helpers/netns.js';
import { ss, ssUnavailable } from './helpers/ss.js';

checkFdLeaks();
const { own } = ownFds();
const noSs = ssUnavailable();
if (noSs) console.log('skipping the comparisons with ss:', noSs, '(install iproute2)');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LO = { family: AF_INET, address: '127.0.0.1', port: 0 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-inspect-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ready = (fd: number, events: number): boolean => (poll([{ fd, events }], 2000)[0]!.revents & events) !== 0;
const inodeOf = (fd: number): number => Number(/socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))![1]);

function tcpPair(): { listener: number; port: number; client: number; server: number } {
  const listener = own(socket(AF_INET, SOCK_STREAM));
  bind(listener, LO);
  listen(listener, 4);
  const port = (getsockname(listener) as SockAddrIn).port;
  const client = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  try {
    connect(client, { ...LO, port });
  } catch (err) {
    if ((err as SystemError).code !== 'EINPROGRESS') throw err;
  }
  expect(ready(client, POLLOUT)).toBe(true);
  expect(ready(listener, POLLIN)).toBe(true);
  return { listener, port, client, server: own(accept(listener).fd) };
}

describe.skipIf(noSs !== null)('skmem: SO_MEMINFO, as ss -m prints it', () => {
  it('TCP: the listener and both ends, 25 bytes unread holding several hundred bytes of kernel memory', async () => {
    const p = tcpPair();
    write(p.client, Buffer.from('你好，这是客户端!'));
    expect(ready(p.server, POLLIN)).toBe(true);
    await sleep(50); // let the ACK and any delayed work settle: the sockets are quiescent from here
    const listing = ss('-tanem', `( sport = :${p.port} or dport = :${p.port} )`);
    for (const fd of [p.listener, p.client, p.server]) {
      const s = listing.find((x) => x.ino === inodeOf(fd));
      expect(skmemAsSs(inspect(fd)), `fd ${fd}`).toEqual(s!.skmem);
    }
    const server = inspect(p.server);
    expect(server.recvQueue).toBe(25);
    expect(server.skmem!.rmemAlloc).toBeGreaterThan(25 * 4); // sk_buff truesize, not payload
    expect(server.skmem!.rcvbuf).toBe(server.rcvbuf);
    expect(inspect(p.client).skmem!.sndbuf).toBe(inspect(p.client).sndbuf);
  });

  it('UDP: queued datagrams count in rmemAlloc as in ss\'s Recv-Q', () => {
    const a = own(socket(AF_INET, SOCK_DGRAM));
    bind(a, LO);
    const b = own(socket(AF_INET, SOCK_DGRAM));
    for (const name of ['Michael', 'Tracy', 'Sarah']) sendto(b, Buffer.from(name), undefined, 0, getsockname(a));
    expect(ready(a, POLLIN)).toBe(true);
    const [s] = ss('-uanem', `( sport = :${(getsockname(a) as SockAddrIn).port} )`);
    const info = inspect(a);
    expect(skmemAsSs(info)).toEqual(s!.skmem);
    expect(info.skmem!.rmemAlloc).toBe(s!.recvQ);
  });

  it('unix stream: written and not yet read, on both ends', () => {
    const where = path.join(tmp, 'm.sock');
    const l = own(socket(AF_UNIX, SOCK_STREAM));
    bind(l, { family: AF_UNIX, path: where });
    listen(l, 1);
    const c = own(socket(AF_UNIX, SOCK_STREAM));
    connect(c, { family: AF_UNIX, path: where });
    const srv = own(accept(l).fd);
    write(c, Buffer.from('hello'));
    const listing = ss('-xanem');
    for (const fd of [c, srv]) {
      const s = listing.find((x) => x.local.endsWith(` ${inodeOf(fd)}`));
      expect(skmemAsSs(inspect(fd)), `fd ${fd}`).toEqual(s!.skmem);
    }
    expect(inspect(c).skmem!.wmemAlloc).toBeGreaterThan(5); // the unread skb is charged to the writer
    fs.unlinkSync(where);
  });
});

describe('tcp.congestion', () => {
  it('is TCP_CONGESTION: the system default, and what setsockopt chose', () => {
    const p = tcpPair();
    const def = fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    expect(inspect(p.client).tcp!.congestion).toBe(def);
    setsockopt(p.client, IPPROTO_TCP, TCP_CONGESTION, 'reno');
    expect(inspect(p.client).tcp!.congestion).toBe('reno');
  });

  it.skipIf(noSs !== null)('is the algorithm ss -i names for the same socket', () => {
    const p = tcpPair();
    setsockopt(p.server, IPPROTO_TCP, TCP_CONGESTION, 'reno');
    const listing = ss('-tanie', `( sport = :${p.port} or dport = :${p.port} )`);
    for (const fd of [p.listener, p.client, p.server]) {
      const s = listing.find((x) => x.ino === inodeOf(fd))!;
      expect(s.tokens, `fd ${fd}`).toContain(inspect(fd).tcp!.congestion);
    }
  });
});

describe('tcp.synQueue', () => {
  it('a loopback listener whose handshakes all completed holds none, however full its accept queue', () => {
    const p = tcpPair();
    const info = inspect(p.listener);
    expect(info.tcp!.synQueue).toEqual([]);
    expect(inspect(p.client).tcp!.synQueue).toBeUndefined(); // not a listener
  });

  it('is there for IPv6 listeners too, dual-stack or not', () => {
    for (const address of ['::', '::1']) {
      const l = own(socket(AF_INET6, SOCK_STREAM));
      bind(l, { family: AF_INET6, address, port: 0 });
      listen(l, 4);
      expect(inspect(l).tcp!.synQueue).toEqual([]);
    }
  });

  it('is null, not a throw, when sock_diag cannot be asked: inspect reads what it can', () => {
    // No fd left for the netlink socket: a child process at its fd limit.
    const script = `
      const s = require(${JSON.stringify(pkg)});
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      s.listen(l, 4);
      const held = [];
      try { for (;;) held.push(s.socket(s.AF_INET, s.SOCK_DGRAM)); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const info = s.inspect(l);
      process.stdout.write(JSON.stringify({ synQueue: info.tcp.synQueue, state: info.tcp.stateName, backlog: info.tcp.backlog }));
    `;
    const r = spawnSync('sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ synQueue: null, state: 'LISTEN', backlog: 4 });
  });
});
