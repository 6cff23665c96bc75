// Address round trips: JS address -> struct sockaddr (bind/connect/sendto) -> kernel ->
// struct sockaddr -> JS address (getsockname/getpeername/recvfrom/accept), for every family sockfd knows.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
  ARPHRD_LOOPBACK,
  ETH_P_ALL,
  NETLINK_ROUTE,
  POLLIN,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_STREAM,
  SystemError,
  accept,
  bind,
  close,
  connect,
  getpeername,
  getsockname,
  htons,
  if_nametoindex,
  listen,
  poll,
  recvfrom,
  sendto,
  socket,
  socketpair,
} from '../src/index.js';
import type { SockAddr } from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const opened: number[] = [];
const files: string[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) {
    try {
      close(fd);
    } catch {
      // already closed by the test
    }
  }
  for (const file of files.splice(0)) fs.rmSync(file, { force: true });
});

function open(domain: number, type: number, protocol = 0): number {
  const fd = socket(domain, type, protocol);
  opened.push(fd);
  return fd;
}

/** A socket path in os.tmpdir(), removed after the test. */
function tmpPath(tag: string): string {
  const p = path.join(os.tmpdir(), `sockfd-${tag}-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  files.push(p);
  return p;
}

function portOf(addr: SockAddr): number {
  if (!('port' in addr)) throw new Error(`no port in ${JSON.stringify(addr)}`);
  return addr.port;
}

describe('IPv4', () => {
  it('127.0.0.1 port 0 binds and reads back as { family, address, port } with a kernel-chosen port', () => {
    const fd = open(AF_INET, SOCK_DGRAM);
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const got = getsockname(fd);
    expect(got).toEqual({ family: AF_INET, address: '127.0.0.1', port: portOf(got) });
    expect(portOf(got)).toBeGreaterThan(0);
  });

  it('an explicit port round-trips in host byte order', () => {
    const probe = open(AF_INET, SOCK_DGRAM);
    bind(probe, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const port = portOf(getsockname(probe));
    close(probe);
    const fd = open(AF_INET, SOCK_DGRAM);
    bind(fd, { family: AF_INET, address: '127.0.0.1', port });
    expect(getsockname(fd)).toEqual({ family: AF_INET, address: '127.0.0.1', port });
  });

  it('accept and getpeername give the connecting socket its own getsockname address', () => {
    const server = open(AF_INET, SOCK_STREAM);
    bind(server, { family: AF_INET, address: '127.0.0.1', port: 0 });
    listen(server);
    const client = open(AF_INET, SOCK_STREAM);
    connect(client, getsockname(server));
    const conn = accept(server);
    opened.push(conn.fd);
    expect(conn.address).toEqual(getsockname(client));
    expect(getpeername(conn.fd)).toEqual(getsockname(client));
    expect(getpeername(client)).toEqual(getsockname(server));
  });

  it('recvfrom reports the sender as its getsockname address', () => {
    const rx = open(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
    bind(rx, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const tx = open(AF_INET, SOCK_DGRAM);
    bind(tx, { family: AF_INET, address: '127.0.0.1', port: 0 });
    expect(sendto(tx, Buffer.from('ping'), undefined, 0, getsockname(rx))).toBe(4);
    expect(poll([{ fd: rx, events: POLLIN }], 2000)[0]!.revents & POLLIN).toBe(POLLIN);
    const got = recvfrom(rx, Buffer.alloc(16));
    expect(got).toEqual({ bytes: 4, address: getsockname(tx) });
  });
});

describe('IPv6', () => {
  it("'::1' reads back with flowinfo 0 and scopeId 0 present", () => {
    const fd = open(AF_INET6, SOCK_DGRAM);
    bind(fd, { family: AF_INET6, address: '::1', port: 0 });
    const got = getsockname(fd);
    expect(got).toEqual({ family: AF_INET6, address: '::1', port: portOf(got), flowinfo: 0, scopeId: 0 });
    expect(Object.keys(got).sort()).toEqual(['address', 'family', 'flowinfo', 'port', 'scopeId']);
  });

  it('an address written in long form reads back in canonical form', () => {
    const fd = open(AF_INET6, SOCK_DGRAM);
    bind(fd, { family: AF_INET6, address: '0000:0000:0000:0000:0000:0000:0000:0001', port: 0 });
    expect(getsockname(fd)).toMatchObject({ address: '::1' });
  });

  it("an IPv4-mapped address '::ffff:127.0.0.1' round-trips", () => {
    const fd = open(AF_INET6, SOCK_DGRAM);
    bind(fd, { family: AF_INET6, address: '::ffff:127.0.0.1', port: 0 });
    expect(getsockname(fd)).toMatchObject({ family: AF_INET6, address: '::ffff:127.0.0.1', scopeId: 0 });
  });

  // The kernel only keeps a scope id for addresses that need one (link-local unicast and
  // link-local multicast). `lo` has no fe80:: address on this host (binding 'fe80::1%lo' is
  // EADDRNOTAVAIL), but a link-local multicast group such as ff02::1 may be bound on any interface
  // without being one of the host's addresses, and getsockname then reports the scope id the bind
  // was given. No traffic is sent.
  it("a '%lo' zone suffix sets scopeId to if_nametoindex('lo')", () => {
    const lo = if_nametoindex('lo');
    const fd = open(AF_INET6, SOCK_DGRAM);
    bind(fd, { family: AF_INET6, address: 'ff02::1%lo', port: 0 });
    expect(getsockname(fd)).toMatchObject({ family: AF_INET6, address: 'ff02::1', scopeId: lo });
  });

  it("a numeric zone suffix ('%1') sets scopeId to that index", () => {
    const lo = if_nametoindex('lo');
    const fd = open(AF_INET6, SOCK_DGRAM);
    bind(fd, { family: AF_INET6, address: `ff02::1%${lo}`, port: 0 });
    expect(getsockname(fd)).toMatchObject({ address: 'ff02::1', scopeId: lo });
  });

  it('the scopeId field sets the scope id', () => {
    const lo = if_nametoindex('lo');
    const fd = open(AF_INET6, SOCK_DGRAM);
    bind(fd, { family: AF_INET6, address: 'ff02::1', port: 0, scopeId: lo });
    expect(getsockname(fd)).toMatchObject({ address: 'ff02::1', scopeId: lo });
  });

  it('a link-local multicast bind without any scope is EINVAL from the kernel (so the scope above was passed)', () => {
    const fd = open(AF_INET6, SOCK_DGRAM);
    let caught: unknown;
    try {
      bind(fd, { family: AF_INET6, address: 'ff02::1', port: 0 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SystemError);
    expect((caught as SystemError).code).toBe('EINVAL');
  });

  it('recvfrom reports an IPv6 sender as its getsockname address', () => {
    const rx = open(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK);
    bind(rx, { family: AF_INET6, address: '::1', port: 0 });
    const tx = open(AF_INET6, SOCK_DGRAM);
    bind(tx, { family: AF_INET6, address: '::1', port: 0 });
    expect(sendto(tx, Buffer.from('ping6'), undefined, 0, getsockname(rx))).toBe(5);
    expect(poll([{ fd: rx, events: POLLIN }], 2000)[0]!.revents & POLLIN).toBe(POLLIN);
    expect(recvfrom(rx, Buffer.alloc(16))).toEqual({ bytes: 5, address: getsockname(tx) });
  });
});

describe('AF_UNIX', () => {
  it('a path in os.tmpdir() round-trips and creates the socket file', () => {
    const p = tmpPath('path');
    const fd = open(AF_UNIX, SOCK_STREAM);
    bind(fd, { family: AF_UNIX, path: p });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: p });
    expect(fs.statSync(p).isSocket()).toBe(true);
  });

  it('a path of exactly 108 bytes (sun_path without a NUL) round-trips', () => {
    const base = path.join(os.tmpdir(), `sockfd-${process.pid}-`);
    const p = base + 'x'.repeat(108 - Buffer.byteLength(base));
    expect(Buffer.byteLength(p)).toBe(108);
    files.push(p);
    const fd = open(AF_UNIX, SOCK_DGRAM);
    bind(fd, { family: AF_UNIX, path: p });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: p });
  });

  it('a Buffer path is accepted and reads back as the same string', () => {
    const p = tmpPath('buffer');
    const fd = open(AF_UNIX, SOCK_STREAM);
    bind(fd, { family: AF_UNIX, path: Buffer.from(p) });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: p });
  });

  it('a UTF-8 path round-trips', () => {
    const p = tmpPath('ünïcødé');
    const fd = open(AF_UNIX, SOCK_STREAM);
    bind(fd, { family: AF_UNIX, path: p });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: p });
    expect(fs.existsSync(p)).toBe(true);
  });

  it("an abstract name with an embedded '\\0' round-trips exactly", () => {
    const name = `\0sockfd-test-${randomBytes(6).toString('hex')}\0tail`;
    const fd = open(AF_UNIX, SOCK_DGRAM);
    bind(fd, { family: AF_UNIX, path: name });
    const got = getsockname(fd);
    expect(got).toEqual({ family: AF_UNIX, path: name });
    expect('path' in got && got.path === name).toBe(true);
  });

  it('an abstract name given as a Buffer round-trips', () => {
    const name = `\0sockfd-test-${randomBytes(6).toString('hex')}`;
    const fd = open(AF_UNIX, SOCK_DGRAM);
    bind(fd, { family: AF_UNIX, path: Buffer.from(name) });
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: name });
  });

  it('an abstract name is reachable by the same name: connect + getpeername', () => {
    const name = `\0sockfd-test-${randomBytes(6).toString('hex')}\0x`;
    const server = open(AF_UNIX, SOCK_STREAM);
    bind(server, { family: AF_UNIX, path: name });
    listen(server);
    const client = open(AF_UNIX, SOCK_STREAM);
    connect(client, { family: AF_UNIX, path: name });
    expect(getpeername(client)).toEqual({ family: AF_UNIX, path: name });
    const conn = accept(server);
    opened.push(conn.fd);
    // The client is unnamed: accept reports the unnamed address.
    expect(conn.address).toEqual({ family: AF_UNIX, path: '' });
  });

  it("an unbound unix socket's getsockname is the unnamed address { path: '' }", () => {
    const fd = open(AF_UNIX, SOCK_STREAM);
    expect(getsockname(fd)).toEqual({ family: AF_UNIX, path: '' });
  });

  it("a socketpair's peer is the unnamed address", () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
    opened.push(a, b);
    expect(getpeername(a)).toEqual({ family: AF_UNIX, path: '' });
  });

  it("binding path '' autobinds an abstract name", () => {
    const fd = open(AF_UNIX, SOCK_DGRAM);
    bind(fd, { family: AF_UNIX, path: '' });
    const got = getsockname(fd);
    expect(got.family).toBe(AF_UNIX);
    const name = 'path' in got ? got.path : undefined;
    expect(typeof name).toBe('string');
    expect((name as string).startsWith('\0')).toBe(true);
    expect((name as string).length).toBeGreaterThan(1);
  });
});

describe('AF_NETLINK', () => {
  it('bind { pid: 0, groups: 0 } lets the kernel assign a pid > 0', () => {
    const fd = open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    bind(fd, { family: AF_NETLINK, pid: 0, groups: 0 });
    const got = getsockname(fd);
    expect(got).toMatchObject({ family: AF_NETLINK, groups: 0 });
    expect('pid' in got && got.pid).toBeGreaterThan(0);
    expect(Object.keys(got).sort()).toEqual(['family', 'groups', 'pid']);
  });

  it('pid and groups may be omitted', () => {
    const fd = open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    bind(fd, { family: AF_NETLINK });
    const got = getsockname(fd);
    expect(got).toMatchObject({ family: AF_NETLINK, groups: 0 });
    expect('pid' in got && got.pid).toBeGreaterThan(0);
  });
});

/** Whether this process may open AF_PACKET sockets (CAP_NET_RAW), and why not. */
const packetDenied: string | undefined = (() => {
  try {
    close(socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL)));
    return undefined;
  } catch (err) {
    if (err instanceof SystemError && (err.code === 'EPERM' || err.code === 'EACCES' || err.code === 'EAFNOSUPPORT')) {
      return `socket(AF_PACKET) failed with ${err.code}`;
    }
    throw err;
  }
})();
if (packetDenied) console.log(`skipping AF_PACKET round trips: ${packetDenied} (needs CAP_NET_RAW)`);

describe('AF_PACKET (no packet is sent)', () => {
  it.skipIf(packetDenied !== undefined)(
    "bind to lo reads back ifindex 1, hatype ARPHRD_LOOPBACK and lo's 6-byte zero address",
    () => {
      const lo = if_nametoindex('lo');
      const fd = open(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
      bind(fd, { family: AF_PACKET, protocol: htons(ETH_P_ALL), ifindex: lo });
      const got = getsockname(fd);
      expect(ARPHRD_LOOPBACK).toBe(772);
      expect(got).toMatchObject({ family: AF_PACKET, protocol: htons(ETH_P_ALL), ifindex: 1, hatype: ARPHRD_LOOPBACK, halen: 6 });
      const addr = 'addr' in got ? got.addr : undefined;
      expect(Buffer.isBuffer(addr)).toBe(true);
      expect(addr).toEqual(Buffer.alloc(6));
    },
  );

  it('an sll addr longer than 8 bytes is a RangeError naming "addr.addr"', () => {
    // The address is converted before any system call, so any socket will do when AF_PACKET is denied.
    const fd = packetDenied ? open(AF_INET, SOCK_DGRAM) : open(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
    let caught: unknown;
    try {
      bind(fd, { family: AF_PACKET, protocol: htons(ETH_P_ALL), ifindex: 1, addr: Buffer.alloc(9) });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toContain('"addr.addr"');
    expect((caught as { code?: string }).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('an sll halen beyond 8 is a RangeError naming "addr.halen"', () => {
    const fd = open(AF_INET, SOCK_DGRAM);
    let caught: unknown;
    try {
      bind(fd, { family: AF_PACKET, protocol: htons(ETH_P_ALL), ifindex: 1, halen: 9 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toContain('"addr.halen"');
  });
});
