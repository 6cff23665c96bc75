// Fuzzing the boundary: every function export of sockfd and sockfd/promises is called with random and
// hostile arguments — wrong types, huge and negative numbers, 2**32+k fds, NaN, detached and resizable
// ArrayBuffers, views at odd offsets, valueOf/getters/Proxies that close the fd or detach the buffer
// in the middle of the call, malformed sockaddrs, control messages and BPF programs, 5000-entry
// arrays. The only allowed outcomes are a return value (or a resolved promise), or an exception (or a
// rejection) that is a TypeError, RangeError, SystemError, or one of the documented others: AbortError,
// code ERR_SOCKET_CLOSED (an fd closed under a waiter) and ERR_SOCKET_NO_FD (fdOf). Anything else —
// and of course a crash of the process — fails, naming the function and describing its arguments.
//
// The generator is a seeded PRNG (mulberry32); the seed is in the describe name, so a failure is
// replayed with the same seed (results may still differ where they depend on the kernel's timing):
//   SOCKFD_FUZZ_SEED=1234 npx vitest run test/fuzz.test.ts
// The default run makes 100000 calls (a few seconds). The long run under ASan+UBSan makes 10^6:
//   SOCKFD_FUZZ_CALLS=1000000 npm run test:asan -- test/fuzz.test.ts
//
// Nothing may block and nothing may leave loopback: the fds given in fd position are only sockets this
// file owns (all O_NONBLOCK, restored after any fcntl; SO_LINGER cleared after any setsockopt, since a
// lingering close blocks even on a non-blocking socket), numbers that can never be open fds, or
// non-integers; sync poll's timeout is clamped to 0–1 ms; addresses are 127.0.0.1, ::1, unix paths in a
// temp dir and abstract names (AF_PACKET/AF_NETLINK addresses only reach sockets that refuse them);
// socket()/socketpair() calls that would create raw or packet sockets are turned into datagram ones.
// fds a call creates (socket, socketpair, accept, SCM_RIGHTS) are closed at once; the file's sockets are
// re-created when a call (or a hostile getter) closes one; pending sockfd/promises calls are left
// pending and must all settle once every fd is closed at the end.
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sockfd from '../src/index.js';
import { SystemError } from '../src/errors.js';
import * as promises from '../src/promises.js';
import { AbortError } from '../src/promises.js';
import { checkFdLeaks } from './helpers/fds.js';
import { mulberry32 } from '../src/random.js';

checkFdLeaks();

const SEED = Number(process.env.SOCKFD_FUZZ_SEED ?? 0x50cfd) >>> 0;
const CALLS = Number(process.env.SOCKFD_FUZZ_CALLS ?? 100_000);

// ---------------------------------------------------------------------------------------------
// The PRNG (src/random.ts's mulberry32, seeded).

let rnd = mulberry32(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const chance = (p: number): boolean => rnd() < p;
function pick<T>(items: readonly T[]): T {
  return items[int(items.length)]!;
}

// ---------------------------------------------------------------------------------------------
// Constants by name (some are missing on some systems: those are left out).

const C = sockfd.constants;
function k(name: string): number {
  const v = C[name];
  if (v === undefined) throw new Error(`constant ${name} missing`);
  return v;
}
const ks = (...names: string[]): number[] => names.map((n) => C[n]).filter((v): v is number => v !== undefined);

const { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, O_NONBLOCK, F_SETFL, F_SETFD, FD_CLOEXEC } = sockfd;
const SO_LINGER = k('SO_LINGER');
const SCM_RIGHTS = k('SCM_RIGHTS');
const RAW_TYPES = new Set(ks('SOCK_RAW', 'SOCK_PACKET'));
const AF_PACKET = k('AF_PACKET');

// ---------------------------------------------------------------------------------------------
// The sockets this file owns: every fd given in fd position is one of them (or can never be open).

const tmp = mkdtempSync(join(tmpdir(), 'sockfd-fuzz-'));
let generation = 0;
// Hostile addresses include relative unix paths (random strings), which bind a socket file in the
// working directory: this file works in its temp dir, so that nothing is left in the checkout.
const cwd = process.cwd();
beforeAll(() => process.chdir(tmp));

interface Group {
  name: string;
  fds: number[];
}

function nonblock(fd: number): number {
  sockfd.fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

class Pool {
  groups: Group[] = [];
  live = new Set<number>();
  dirty = false;
  udp4Port = 9;
  udp6Port = 9;
  tcpPort = 9;
  unixPath = join(tmp, 'none.sock');
  readonly ipv6: boolean;

  constructor() {
    let ok = true;
    try {
      const fd = sockfd.socket(AF_INET6, SOCK_DGRAM);
      try {
        sockfd.bind(fd, { family: AF_INET6, address: '::1', port: 0 });
      } catch {
        ok = false;
      }
      sockfd.close(fd);
    } catch {
      ok = false;
    }
    this.ipv6 = ok;
    for (const name of ['tcp', 'udp4', 'udp6', 'unixStream', 'unixDgram', 'unixListener']) {
      if (name === 'udp6' && !this.ipv6) continue;
      this.groups.push({ name, fds: [] });
    }
    for (const g of this.groups) this.make(g);
    pools.push(this);
  }

  private make(g: Group): void {
    const fds: number[] = [];
    switch (g.name) {
      case 'tcp': {
        const l = sockfd.socket(AF_INET, SOCK_STREAM);
        fds.push(l);
        sockfd.bind(l, { family: AF_INET, address: '127.0.0.1', port: 0 });
        sockfd.listen(l, 8);
        this.tcpPort = (sockfd.getsockname(l) as sockfd.SockAddrIn).port;
        const c = sockfd.socket(AF_INET, SOCK_STREAM);
        fds.push(c);
        sockfd.connect(c, { family: AF_INET, address: '127.0.0.1', port: this.tcpPort });
        fds.push(sockfd.accept(l).fd);
        break;
      }
      case 'udp4': {
        const u = sockfd.socket(AF_INET, SOCK_DGRAM);
        fds.push(u);
        sockfd.bind(u, { family: AF_INET, address: '127.0.0.1', port: 0 });
        this.udp4Port = (sockfd.getsockname(u) as sockfd.SockAddrIn).port;
        break;
      }
      case 'udp6': {
        const u = sockfd.socket(AF_INET6, SOCK_DGRAM);
        fds.push(u);
        sockfd.bind(u, { family: AF_INET6, address: '::1', port: 0 });
        this.udp6Port = (sockfd.getsockname(u) as sockfd.SockAddrIn6).port;
        break;
      }
      case 'unixStream':
        fds.push(...sockfd.socketpair(AF_UNIX, SOCK_STREAM));
        break;
      case 'unixDgram':
        fds.push(...sockfd.socketpair(AF_UNIX, SOCK_DGRAM));
        break;
      case 'unixListener': {
        const l = sockfd.socket(AF_UNIX, SOCK_STREAM);
        fds.push(l);
        this.unixPath = join(tmp, `listener-${generation++}.sock`);
        sockfd.bind(l, { family: AF_UNIX, path: this.unixPath });
        sockfd.listen(l, 8);
        break;
      }
    }
    for (const fd of fds) {
      nonblock(fd);
      this.live.add(fd);
    }
    g.fds = fds;
  }

  /** Closes `fd` if it is one of ours and still open (a hostile getter's doing, or a close call's). */
  kill(fd: number): void {
    if (!this.live.has(fd)) return;
    this.live.delete(fd);
    this.dirty = true;
    try {
      sockfd.close(fd);
    } catch {
      // closed already
    }
  }

  /** Notes that a call closed `fd` (or tried to). */
  closedBy(fd: unknown): void {
    if (typeof fd === 'number' && this.live.has(fd)) {
      this.live.delete(fd);
      this.dirty = true;
    }
  }

  /** Re-creates every group that lost a member (closing its survivors first). */
  repair(): void {
    if (!this.dirty) return;
    this.dirty = false;
    for (const g of this.groups) {
      if (g.fds.every((fd) => this.live.has(fd))) continue;
      this.closeGroup(g);
      this.make(g);
    }
  }

  private closeGroup(g: Group): void {
    for (const fd of g.fds) {
      if (!this.live.has(fd)) continue;
      this.live.delete(fd);
      try {
        sockfd.close(fd);
      } catch {
        // gone already
      }
    }
    g.fds = [];
  }

  /** Undoes what calls may have changed that could make a later call block. */
  restore(): void {
    for (const fd of this.live) {
      try {
        sockfd.fcntl(fd, F_SETFL, O_NONBLOCK);
        sockfd.fcntl(fd, F_SETFD, FD_CLOEXEC);
        sockfd.setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 0, linger: 0 });
      } catch {
        // not every socket takes SO_LINGER; none of this may fail the run
      }
    }
  }

  /** Closes every socket and makes new ones: rejects the waiters that piled up. */
  recycle(): void {
    for (const g of this.groups) {
      this.closeGroup(g);
      this.make(g);
    }
  }

  closeAll(): void {
    for (const g of this.groups) this.closeGroup(g);
  }

  liveFds(): number[] {
    return [...this.live];
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments: each carries a description for the failure report.

interface Arg {
  v: unknown;
  d: string;
}
const A = (v: unknown, d: string): Arg => ({ v, d });

interface ResizableArrayBuffer extends ArrayBuffer {
  resize(n: number): void;
}
const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ResizableArrayBuffer;

/** What the current call's hostile objects act on. */
interface CallCtx {
  victimFd: number;
  ab: ArrayBuffer;
  rab: ResizableArrayBuffer;
}

let pool: Pool;
const pools: Pool[] = [];
let ctx: CallCtx;

function detach(ab: ArrayBuffer): void {
  try {
    structuredClone(ab, { transfer: [ab] });
  } catch {
    // detached already
  }
}

/** A side effect a hostile object performs when it is read. */
function makeAct(): { run(): void; d: string } {
  const c = ctx;
  switch (int(6)) {
    case 0:
    case 1: {
      const fd = c.victimFd;
      return { run: () => pool.kill(fd), d: `closes fd ${fd}` };
    }
    case 2:
      return { run: () => detach(c.ab), d: "detaches the call's ArrayBuffer" };
    case 3:
      return { run: () => c.rab.resize(0), d: 'shrinks the resizable buffer to 0' };
    case 4:
      return { run: () => c.rab.resize(160), d: "grows the resizable buffer to 160" };
    default:
      return { run: () => undefined, d: 'does nothing' };
  }
}

// Shared, never-detached buffers (a hostile getter only ever detaches the call's own ArrayBuffer).
const big = Buffer.alloc(65536, 0x41);
const zeros = Buffer.alloc(1500);
const ones = Buffer.alloc(64, 0xff);
const detachedAb = new ArrayBuffer(32);
const detachedView = new Uint8Array(detachedAb);
const detachedDataView = new DataView(detachedAb, 4);
detach(detachedAb);
const shared = new Uint8Array(new SharedArrayBuffer(64));
const hugeControl = Buffer.alloc((1 << 20) + 1);
const tcpInfoBytes = Buffer.alloc(256);

function viewArg(): Arg {
  switch (int(22)) {
    case 0: return A(Buffer.alloc(0), 'Buffer(0)');
    case 1: return A(zeros.subarray(0, 1), 'Buffer(1)');
    case 2: return A(zeros.subarray(0, 64), 'Buffer(64)');
    case 3: return A(zeros, 'Buffer(1500)');
    case 4: return A(big, 'Buffer(65536)');
    case 5: return A(big.subarray(1, 8), 'Buffer.subarray(1, 8) (odd offset)');
    case 6: return A(big.subarray(3), 'Buffer.subarray(3) (odd offset, 65533 bytes)');
    case 7: return A(new Float64Array(8), 'Float64Array(8)');
    case 8: return A(new DataView(new ArrayBuffer(16), 3, 5), 'DataView(ab, 3, 5)');
    case 9: return A(new Uint16Array(new ArrayBuffer(32), 2, 7), 'Uint16Array(ab, 2, 7)');
    case 10: return A(new BigInt64Array(2), 'BigInt64Array(2)');
    case 11: return A(detachedView, 'a Uint8Array of a detached ArrayBuffer');
    case 12: return A(detachedDataView, 'a DataView of a detached ArrayBuffer');
    case 13: return A(shared, 'a Uint8Array of a SharedArrayBuffer');
    case 14: return A(new Uint8Array(ctx.rab), "a length-tracking Uint8Array of the call's resizable ArrayBuffer");
    case 15: return A(new Uint8Array(ctx.rab, 33), "a length-tracking Uint8Array at offset 33 of the call's resizable ArrayBuffer");
    case 16: return A(new Uint8Array(ctx.ab), "Uint8Array of the call's ArrayBuffer (64)");
    case 17: return A(new DataView(ctx.ab, 1, 9), "DataView(the call's ArrayBuffer, 1, 9)");
    case 18: return A(Buffer.from(ctx.ab, 5, 17), "Buffer.from(the call's ArrayBuffer, 5, 17)");
    case 19: return A(ones, 'Buffer(64) of 0xff');
    case 20: return A(new Float32Array(ctx.ab, 4, 3), "Float32Array(the call's ArrayBuffer, 4, 3)");
    default: return A(tcpInfoBytes, 'Buffer(256)');
  }
}

const HUGE = [2 ** 31, 2 ** 32, 2 ** 53, 1e300, Infinity, -Infinity, -(2 ** 31) - 1, 4294967295, 2 ** 63];

function numberArg(): Arg {
  switch (int(8)) {
    case 0: return A(-1, '-1');
    case 1: return A(NaN, 'NaN');
    case 2: return A(1.5, '1.5');
    case 3: { const v = pick(HUGE); return A(v, String(v)); }
    case 4: { const v = int(70000); return A(v, String(v)); }
    case 5: { const v = 2 ** 32 + int(64); return A(v, `2**32+${v - 2 ** 32}`); }
    case 6: return A(Number.MIN_VALUE, 'Number.MIN_VALUE');
    default: { const v = pick([0, 1, 2, 3, 4, 6, 7, 8, 10, 17, 41, 64, 255, 256, 1024, 65535, 65536]); return A(v, String(v)); }
  }
}

const NOOP = (): void => undefined;

/** Anything at all: the hostile pool every argument may be drawn from. */
function hostileArg(depth = 0): Arg {
  switch (int(depth > 1 ? 24 : 32)) {
    case 0: return A(undefined, 'undefined');
    case 1: return A(null, 'null');
    case 2: return A(true, 'true');
    case 3: return A('3', "'3'");
    case 4: return A('', "''");
    case 5: return A('x'.repeat(300), "'x' x 300");
    case 6: return A(3n, '3n');
    case 7: return A(2n ** 64n, '2n**64n');
    case 8: return A(Symbol('s'), 'Symbol()');
    case 9: return A({}, '{}');
    case 10: return A([], '[]');
    case 11: return A(NOOP, 'a function');
    case 12: return A(Object.create(null), 'Object.create(null)');
    case 13: return A(new ArrayBuffer(8), 'an ArrayBuffer (not a view)');
    case 14: return A(new Number(3), 'new Number(3)');
    case 15: return A(new Date(0), 'a Date');
    case 16: {
      const act = makeAct();
      const v = int(8);
      return A({ valueOf: () => (act.run(), v) }, `an object whose valueOf ${act.d} and returns ${v}`);
    }
    case 17: {
      const act = makeAct();
      return A({ [Symbol.toPrimitive]: () => (act.run(), 1) }, `an object whose Symbol.toPrimitive ${act.d}`);
    }
    case 18: return A(new Array(5000).fill(0), 'an array of 5000 zeros');
    case 19: return getterBag();
    case 20: return proxyArg(depth);
    case 21:
    case 22:
    case 23: return numberArg();
    case 24: return viewArg();
    case 25: return sockaddrArg(depth + 1);
    case 26: return controlListArg(depth + 1);
    case 27: return bpfArg();
    case 28: return pollListArg(depth + 1);
    case 29: return optionsArg(depth + 1);
    case 30: return buffersArg(depth + 1);
    default: return A(pick([-0.5, 0.1, 1e-300]), 'a tiny fraction');
  }
}

/** A plausible value for a property name, so that hostile objects get past the first checks. */
function plausible(key: string): unknown {
  switch (key) {
    case 'family': return pick([AF_INET, AF_INET6, AF_UNIX]);
    case 'address': return pick(['127.0.0.1', '::1']);
    case 'port': return pool.udp4Port;
    case 'path': return pick([pool.unixPath, '\0sockfd-fuzz']);
    case 'flowinfo': case 'scopeId': return 0;
    case 'fds': return [ctx.victimFd];
    case 'data': case 'buf': return new Uint8Array(ctx.ab);
    case 'level': return SOL_SOCKET;
    case 'type': return SCM_RIGHTS;
    case 'fd': return ctx.victimFd;
    case 'events': return sockfd.POLLIN;
    case 'flags': return sockfd.MSG_DONTWAIT;
    case 'controlLength': return 64;
    case 'timeout': return 0;
    case 'code': return 6;
    case 'jt': case 'jf': case 'k': return 0;
    case 'onoff': return 1;
    case 'linger': return 0;
    case 'sec': return 0;
    case 'usec': return 1000;
    case 'multiaddr': return '127.0.0.1';
    case 'ifindex': return 1;
    case 'addr': return { family: AF_INET, address: '127.0.0.1', port: pool.udp4Port };
    case 'control': return [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [ctx.victimFd] }];
    case 'length': return 1;
    case 'pid': return process.pid;
    case 'uid': case 'gid': return 0;
    default: return undefined;
  }
}

const BAG_KEYS = ['family', 'address', 'port', 'path', 'fds', 'data', 'level', 'type', 'fd', 'events', 'flags', 'controlLength', 'timeout', 'addr', 'control', 'signal', 'buf', 'code', 'jt', 'jf', 'k', 'onoff', 'linger', 'sec', 'usec', 'multiaddr', 'ifindex'];

/** An object whose every property is a getter that acts, then returns a plausible value. */
function getterBag(): Arg {
  const act = makeAct();
  const o: Record<string, unknown> = {};
  for (const key of BAG_KEYS) {
    Object.defineProperty(o, key, { enumerable: true, get: () => (act.run(), plausible(key)) });
  }
  return A(o, `an object whose getters (family, port, path, fds, data, level, type, ...) each ${act.d}`);
}

/** A Proxy whose get trap acts, then returns a plausible or a hostile value. */
function proxyArg(depth: number): Arg {
  const act = makeAct();
  const wild = chance(0.3);
  const target = chance(0.2) ? [zeros.subarray(0, 4)] : {};
  const p = new Proxy(target, {
    get(t, key) {
      if (typeof key === 'symbol') return undefined;
      act.run();
      if (key === 'length' && Array.isArray(t)) return t.length;
      if (wild && chance(0.5)) return hostileArg(depth + 2).v;
      return plausible(key);
    },
    has: () => true,
  });
  return A(p, `a Proxy (${Array.isArray(target) ? 'of an array' : 'of an object'}) whose get trap ${act.d}${wild ? ' and returns hostile values' : ''}`);
}

const le = endianness() === 'LE';

/** The binary form of a sockaddr: a 4-byte host-order length, then the sockaddr's bytes. */
function binary(family: number, body: Buffer, length?: number, size = 132): Buffer {
  const sa = Buffer.alloc(2 + body.length);
  if (le) sa.writeUInt16LE(family, 0);
  else sa.writeUInt16BE(family, 0);
  body.copy(sa, 2);
  const b = Buffer.alloc(Math.max(size, 4));
  const n = length ?? sa.length;
  if (le) b.writeUInt32LE(n >>> 0, 0);
  else b.writeUInt32BE(n >>> 0, 0);
  sa.copy(b, 4, 0, Math.min(sa.length, b.length - 4));
  return b.subarray(0, size);
}

function inet4(port: number): Buffer {
  const body = Buffer.alloc(14);
  body.writeUInt16BE(port, 0);
  Buffer.from([127, 0, 0, 1]).copy(body, 2);
  return body;
}

/** Binary addresses, well-formed and not. */
function binaryAddrArg(): Arg {
  switch (int(14)) {
    case 0: case 1: return A(binary(AF_INET, inet4(pool.udp4Port)), "the UDP socket's address, binary");
    case 2: return A(binary(AF_INET, inet4(pool.tcpPort)), "the TCP listener's address, binary");
    case 3: return A(binary(AF_INET, inet4(9), 2), 'binary AF_INET of length 2');
    case 4: return A(binary(AF_INET, inet4(9), 0), 'binary of length 0');
    case 5: return A(binary(AF_INET, inet4(9), 129), 'binary of length 129');
    case 6: return A(binary(AF_INET, inet4(9), 0xffffffff), 'binary of length 2**32-1');
    case 7: return A(Buffer.alloc(3), 'a 3-byte binary address');
    case 8: return A(binary(AF_INET, inet4(9), 16, 19), 'binary of length 16 in a 19-byte view');
    case 9: {
      const b = Buffer.alloc(140);
      binary(AF_INET, inet4(pool.udp4Port)).copy(b, 3);
      return A(b.subarray(3), 'a binary address at an odd offset');
    }
    case 10: return A(binary(AF_UNIX, Buffer.alloc(126, 0x61), 128), 'binary AF_UNIX of 126 path bytes, no NUL');
    case 11: return A(binary(0xffff, Buffer.alloc(126, 0xff), 128), 'binary family 0xffff, 128 bytes');
    case 12: {
      const v = new Uint8Array(ctx.ab, 0, 24);
      v.set(binary(AF_INET, inet4(pool.udp4Port), undefined, 24));
      return A(v, "a binary address in the call's ArrayBuffer");
    }
    default: {
      const b = binary(AF_PACKET, Buffer.alloc(18, 1), undefined, 136);
      return A(new Float64Array(b.buffer, b.byteOffset, 17), 'a binary AF_PACKET address in a Float64Array');
    }
  }
}

function sockaddrArg(depth = 0): Arg {
  const P = pool;
  if (chance(0.15)) return binaryAddrArg();
  switch (int(30)) {
    case 0: case 1: return A({ family: AF_INET, address: '127.0.0.1', port: P.udp4Port }, 'the UDP socket\'s address');
    case 2: return A({ family: AF_INET, address: '127.0.0.1', port: P.tcpPort }, 'the TCP listener\'s address');
    case 3: return A({ family: AF_INET6, address: '::1', port: P.udp6Port }, 'the UDP6 socket\'s address');
    case 4: return A({ family: AF_UNIX, path: P.unixPath }, 'the unix listener\'s path');
    case 5: return A({ family: AF_UNIX, path: `\0sockfd-fuzz-${process.pid}-${int(4)}` }, 'an abstract unix name');
    case 6: return A({ family: AF_UNIX, path: join(tmp, `f-${int(4)}.sock`) }, 'a unix path in the temp dir');
    case 7: return A({ family: AF_INET, address: '127.0.0.1', port: 70000 }, 'port 70000');
    case 8: return A({ family: AF_INET, address: '127.0.0.1', port: -1 }, 'port -1');
    case 9: return A({ family: AF_INET, address: 'x', port: 1 }, "address 'x'");
    case 10: return A({ family: AF_INET, address: '127.0.0.1\0junk', port: 1 }, 'address with a NUL');
    case 11: return A({ family: 9999, address: '127.0.0.1', port: 1 }, 'family 9999');
    case 12: return A({ family: AF_INET }, 'AF_INET without address or port');
    case 13: return A({ family: AF_UNIX, path: 'p'.repeat(200) }, 'a unix path of 200 bytes');
    case 14: return A({ family: AF_UNIX, path: Buffer.alloc(108, 0x61) }, 'a unix path Buffer of 108 bytes');
    case 15: return A({ family: AF_UNIX, path: 'a\0b' }, 'a unix path with an inner NUL');
    case 16: return A({ family: AF_UNIX, path: '\0' + 'n'.repeat(107) }, 'an abstract name of 108 bytes');
    case 17: return A({ family: AF_INET6, address: '::1', port: 1, flowinfo: 2 ** 20, scopeId: -1 }, 'flowinfo 2**20, scopeId -1');
    case 18: return A({ family: AF_INET6, address: 'fe80::1%lo', port: 9 }, "'fe80::1%lo'");
    case 19: return A({ family: AF_INET6, address: '::1%99999999999', port: 9 }, 'a huge zone index');
    case 20: return A({ family: AF_PACKET, protocol: 0x0300, ifindex: 1, addr: Buffer.alloc(6) }, 'AF_PACKET on lo');
    case 21: return A({ family: AF_PACKET, protocol: 0x0300, ifindex: 1, addr: Buffer.alloc(9), halen: 9 }, 'AF_PACKET with a 9-byte addr');
    case 22: return A({ family: AF_PACKET, protocol: -1, ifindex: 2 ** 31 }, 'AF_PACKET with bad fields');
    case 23: return A({ family: k('AF_NETLINK'), pid: -1, groups: 2 ** 32 }, 'AF_NETLINK with bad fields');
    case 24: return A({ family: '2', address: '127.0.0.1', port: '9' }, 'string family and port');
    case 25: return A({ family: AF_INET, address: 127, port: 1.5 }, 'numeric address, port 1.5');
    case 26: return getterBag();
    case 27: return proxyArg(depth);
    case 28: return A({ family: AF_UNIX, path: new Uint8Array(ctx.ab, 1, 20) }, "a unix path that is a view of the call's ArrayBuffer");
    default: return depth > 2 ? A(undefined, 'undefined') : hostileArg(depth + 1);
  }
}

function controlArg(depth: number): Arg {
  const fd = ctx.victimFd;
  switch (int(16)) {
    case 0: case 1: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] }, `SCM_RIGHTS [${fd}]`);
    case 2: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [] }, 'SCM_RIGHTS []');
    case 3: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, fds: new Array(300).fill(fd) }, 'SCM_RIGHTS with 300 fds');
    case 4: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [-1, '3', 2 ** 32] }, 'SCM_RIGHTS [-1, "3", 2**32]');
    case 5: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [2 ** 31 - 1] }, 'SCM_RIGHTS [2**31-1]');
    case 6: return A({ level: SOL_SOCKET, type: k('SCM_CREDENTIALS'), pid: process.pid, uid: 0, gid: 0 }, 'SCM_CREDENTIALS');
    case 7: return A({ level: SOL_SOCKET, type: k('SCM_CREDENTIALS'), pid: -1, uid: 2 ** 32, gid: 1.5 }, 'SCM_CREDENTIALS with bad fields');
    case 8: return A({ level: k('IPPROTO_IP'), type: k('IP_PKTINFO'), addr: 'x' }, "IP_PKTINFO addr 'x'");
    case 9: return A({ level: k('IPPROTO_IP'), type: k('IP_TTL'), value: 2 ** 40 }, 'IP_TTL 2**40');
    case 10: return A({ level: 0, type: 0, data: Buffer.alloc(70000) }, 'a 70000-byte raw item');
    case 11: return A({ level: 0, type: 0, data: hugeControl }, 'a raw item over 1 MiB');
    case 12: return A({ level: 1.5, type: NaN }, 'level 1.5, type NaN');
    case 13: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, data: 'str' }, "data 'str'");
    case 14: return A({ level: SOL_SOCKET, type: SCM_RIGHTS, data: new Uint8Array(ctx.ab, 3, 8) }, "raw SCM_RIGHTS bytes from the call's ArrayBuffer");
    default: return depth > 3 ? A(null, 'null') : hostileArg(depth + 1);
  }
}

function controlListArg(depth = 0): Arg {
  switch (int(8)) {
    case 0: return A(undefined, 'no control');
    case 1: return A([], '[]');
    case 2: return A(new Array(2000).fill({ level: 0, type: 0, data: zeros.subarray(0, 1) }), '2000 raw control items');
    case 3: {
      const act = makeAct();
      const item = controlArg(depth).v;
      const arr: unknown[] = [];
      Object.defineProperty(arr, 0, { enumerable: true, get: () => (act.run(), item) });
      return A(arr, `a control array whose element getter ${act.d}`);
    }
    default: {
      const items = [controlArg(depth), ...(chance(0.3) ? [controlArg(depth)] : [])];
      return A(items.map((a) => a.v), `[${items.map((a) => a.d).join(', ')}]`);
    }
  }
}

function bpfArg(): Arg {
  switch (int(10)) {
    case 0: return A([{ code: 6, jt: 0, jf: 0, k: 0xffffffff }], 'BPF: accept all');
    case 1: return A([{ code: 6, jt: 0, jf: 0, k: 0 }], 'BPF: drop all');
    case 2: return A([{ code: 0x10000, jt: 0, jf: 0, k: 0 }], 'BPF: code 0x10000');
    case 3: return A([{ code: 6, jt: 256, jf: -1, k: 0 }], 'BPF: jt 256, jf -1');
    case 4: return A([{ code: 6, jt: 0, jf: 0, k: 2 ** 32 }], 'BPF: k 2**32');
    case 5: return A([null], 'BPF: [null]');
    case 6: return A([], 'BPF: []');
    case 7: return A(new Array(5000).fill({ code: 6, jt: 0, jf: 0, k: 0 }), 'BPF: 5000 instructions');
    case 8: return A([{ code: 0x15, jt: 200, jf: 0, k: 0 }, { code: 6, jt: 0, jf: 0, k: 0 }], 'BPF: a jump out of the program');
    default: {
      const act = makeAct();
      return A([{ get code() { act.run(); return 6; }, jt: 0, jf: 0, k: 0 }], `BPF: a code getter that ${act.d}`);
    }
  }
}

function pollListArg(depth = 0): Arg {
  const fds = pool.liveFds();
  switch (int(9)) {
    case 0: case 1: return A(fds.map((fd) => ({ fd, events: sockfd.POLLIN | sockfd.POLLOUT })), 'every owned fd, POLLIN|POLLOUT');
    case 2: return A([{ fd: 2 ** 32 + 3, events: 1 }], '[{ fd: 2**32+3 }]');
    case 3: return A([{ fd: -1, events: 1 }], '[{ fd: -1 }]');
    case 4: return A([{ fd: pick(fds), events: 0x10000 }], '[{ events: 0x10000 }]');
    case 5: return A([null, 3], '[null, 3]');
    case 6: return A(new Array(5000).fill({ fd: 2 ** 31 - 1, events: 1 }), '5000 entries of a closed fd');
    case 7: {
      const act = makeAct();
      return A([{ get fd() { act.run(); return ctx.victimFd; }, events: 1 }], `an entry whose fd getter ${act.d}`);
    }
    default: return depth > 2 ? A([], '[]') : hostileArg(depth + 1);
  }
}

function optionsArg(depth = 0): Arg {
  switch (int(20)) {
    case 0: return A({}, '{}');
    case 1: return A({ timeout: 1 }, '{ timeout: 1 }');
    case 2: return A({ timeout: -1 }, '{ timeout: -1 }');
    case 3: return A({ timeout: NaN }, '{ timeout: NaN }');
    case 4: return A({ timeout: 2 ** 31 }, '{ timeout: 2**31 }');
    case 5: return A({ timeout: 2 ** 31 - 1 }, '{ timeout: 2**31-1 }');
    case 6: return A({ signal: AbortSignal.abort() }, '{ signal: aborted }');
    case 7: return A({ signal: new AbortController().signal }, '{ signal: never aborted }');
    case 8: return A({ signal: {} }, '{ signal: {} }');
    case 9: return A({ signal: AbortSignal.timeout(1) }, '{ signal: AbortSignal.timeout(1) }');
    case 10: return A({ flags: pick(FLAGS) }, '{ flags }');
    case 11: return A({ controlLength: pick([0, 64, 1 << 20, (1 << 20) + 1, -1, 1.5]) }, '{ controlLength }');
    case 12: return A({ control: controlListArg(depth).v, flags: 0 }, '{ control }');
    case 13: return A({ addr: sockaddrArg(depth).v }, '{ addr }');
    case 14: return A({ timeout: pick([0, 1, 1.5, -1]), flags: pick(FLAGS) }, '{ timeout, flags }');
    case 15: return getterBag();
    case 16: return proxyArg(depth);
    case 17: {
      const act = makeAct();
      return A({ get timeout() { act.run(); return 1; } }, `{ timeout getter that ${act.d} }`);
    }
    default: return depth > 2 ? A(undefined, 'undefined') : hostileArg(depth + 1);
  }
}

function buffersArg(depth = 0): Arg {
  switch (int(8)) {
    case 0: return A([], '[]');
    case 1: case 2: {
      const vs = [viewArg(), viewArg()];
      return A(vs.map((a) => a.v), `[${vs.map((a) => a.d).join(', ')}]`);
    }
    case 3: return A(new Array(5000).fill(zeros.subarray(0, 1)), '5000 views');
    case 4: return A([zeros.subarray(0, 8), 'str', null], '[view, "str", null]');
    case 5: {
      const act = makeAct();
      const arr: unknown[] = [new Uint8Array(ctx.ab)];
      Object.defineProperty(arr, 1, { enumerable: true, get: () => (act.run(), new Uint8Array(ctx.ab, 2)) });
      return A(arr, `[view of the call's ArrayBuffer, a getter that ${act.d}]`);
    }
    case 6: return A({ length: 2, 0: zeros, 1: zeros }, 'an array-like object');
    default: return depth > 2 ? A([], '[]') : hostileArg(depth + 1);
  }
}

function messagesArg(depth = 0): Arg {
  switch (int(7)) {
    case 0: return A([zeros.subarray(0, 4)], '[view]');
    case 1: return A([{ buf: zeros.subarray(0, 4), addr: sockaddrArg(depth).v }], '[{ buf, addr }]');
    case 2: return A([{ buf: 'x' }], "[{ buf: 'x' }]");
    case 3: return A([null], '[null]');
    case 4: return A(new Array(5000).fill(zeros.subarray(0, 1)), '5000 messages');
    case 5: return A([zeros.subarray(0, 2), { buf: viewArg().v, addr: sockaddrArg(depth).v }], '[view, { buf, addr }]');
    default: return hostileArg(depth + 1);
  }
}

/**
 * An MMsgBatch, usually a sound one (loopback addresses only: the bytes of an address are never
 * fuzzed, so nothing can leave the host), sometimes tampered with after construction: lengths beyond
 * the slot, bogus address lengths, arrays swapped for short, detached or resizable ones.
 */
function batchArg(): Arg {
  const slots = pick([1, 2, 4, 64]);
  const size = pick([1, 8, 64, 2048]);
  const addresses = chance(0.6);
  const b = new sockfd.MMsgBatch(slots, size, { addresses });
  for (let i = 0; i < slots; i++) {
    b.lengths[i] = int(size + 1);
    if (addresses && chance(0.8)) b.setAddress(i, pick([{ family: AF_INET, address: '127.0.0.1', port: pool.udp4Port }, { family: AF_INET6, address: '::1', port: pool.udp6Port }]));
  }
  const d = `MMsgBatch(${slots}, ${size}${addresses ? ', addresses' : ''})`;
  const mutable = b as unknown as Record<string, unknown>;
  switch (int(12)) {
    case 0: b.lengths[int(slots)] = pick([size + 1, 2 ** 31, 2 ** 32 - 1]); return A(b, `${d} with a length beyond its slot`);
    case 1:
      if (addresses) new DataView(b.addresses!.buffer).setUint32(int(slots) * 132, pick([1, 3, 129, 2 ** 31, 2 ** 32 - 1]), endianness() === 'LE');
      return A(b, `${d} with a bogus address length`);
    case 2: mutable.data = b.data.subarray(0, Math.max(0, b.data.length - 1)); return A(b, `${d} whose data is one byte short`);
    case 3: mutable.lengths = new Uint32Array(0); return A(b, `${d} with empty lengths`);
    case 4: mutable.data = detachedView; return A(b, `${d} with detached data`);
    case 5: mutable.data = new Uint8Array(ctx.rab); return A(b, `${d} whose data is the call's resizable ArrayBuffer`);
    case 6: if (addresses) mutable.addresses = new Uint8Array(10); return A(b, `${d} with a short address array`);
    case 7: mutable.size = pick([0, -1, 1.5, 2 ** 31]); return A(b, `${d} with a bad size`);
    default: return A(b, d);
  }
}

const FLAGS = [0, ...ks('MSG_DONTWAIT', 'MSG_PEEK', 'MSG_TRUNC', 'MSG_OOB', 'MSG_ERRQUEUE', 'MSG_WAITFORONE', 'MSG_MORE', 'MSG_CTRUNC', 'MSG_EOR'), k('MSG_PEEK') | k('MSG_TRUNC'), k('MSG_WAITALL') | k('MSG_DONTWAIT'), 0x7fffffff, -1];
const LEVELS = [SOL_SOCKET, ...ks('IPPROTO_IP', 'IPPROTO_IPV6', 'IPPROTO_TCP', 'IPPROTO_UDP', 'SOL_PACKET'), 0, -1, 2 ** 31 - 1];
const OPTNAMES = ks(
  'SO_TYPE', 'SO_ERROR', 'SO_RCVBUF', 'SO_SNDBUF', 'SO_LINGER', 'SO_RCVTIMEO', 'SO_SNDTIMEO', 'SO_REUSEADDR', 'SO_KEEPALIVE',
  'SO_BINDTODEVICE', 'SO_ATTACH_FILTER', 'SO_DETACH_FILTER', 'SO_ATTACH_REUSEPORT_CBPF', 'SO_PEERCRED', 'SO_DOMAIN', 'SO_PROTOCOL',
  'SO_ACCEPTCONN', 'SO_TIMESTAMPING', 'TCP_INFO', 'TCP_NODELAY', 'TCP_CONGESTION', 'IP_TTL', 'IP_TOS', 'IP_ADD_MEMBERSHIP',
  'IP_MULTICAST_IF', 'IP_PKTINFO', 'IP_RECVERR', 'IPV6_V6ONLY', 'IPV6_JOIN_GROUP', 'IPV6_RECVERR',
).concat([0, 255, 9999, -1]);

/** A plausible-but-fuzzed value for a parameter, chosen by the parameter's name. */
function byName(fn: string, param: string): Arg | undefined {
  const n = (v: number): Arg => A(v, String(v));
  if (fn === 'packetFanout' && param === 'options') {
    // Well-formed fanout requests reach setsockopt(PACKET_FANOUT) on this file's (non-packet) sockets.
    const o = { type: pick([0, 1, 2, 3, 6, 99]), id: pick([0, 1, 65535, 65536]), ...(chance(0.3) ? { flags: pick([0, 0x1000, 0x2000, 0x8000, 1]) } : {}) };
    return A(o, JSON.stringify(o));
  }
  switch (param) {
    case 'buf': case 'src': case 'b': case 'out':
      if (fn === 'inet_pton') return A(pick(['127.0.0.1', '::1', 'x', '1.2.3.4.5', '']), 'an address string');
      if (param === 'out' && chance(0.4)) return pick([A(undefined, 'undefined'), n(pick([0, 4, 256, 65536, 65537, -1]))]);
      return viewArg();
    case 'length': return chance(0.3) ? A(undefined, 'undefined') : n(pick([0, 1, 3, 7, 8, 9, 63, 64, 65, 1500, 65536]));
    case 'flags': return n(pick(FLAGS));
    case 'addr': return sockaddrArg();
    case 'level': return n(pick(LEVELS));
    case 'name':
      if (fn === 'if_nametoindex') return A(pick(['lo', '', 'x'.repeat(20), 'lo\0x']), 'an interface name');
      return n(pick(OPTNAMES));
    case 'value':
      if (fn === 'constantName') return n(pick([0, 1, 2, 3, 10, 17, -1]));
      switch (int(10)) {
        case 0: return A({ onoff: 1, linger: 5 }, '{ onoff: 1, linger: 5 }');
        case 1: return A({ sec: 0, usec: 2e6 }, '{ sec: 0, usec: 2e6 }');
        case 2: return A({ multiaddr: '127.0.0.1', ifindex: 1 }, '{ multiaddr, ifindex }');
        case 3: return bpfArg();
        case 4: return A(pick(['lo', 'cubic', 'x', '']), 'a string');
        case 5: return A(pick([true, false]), 'a boolean');
        case 6: return viewArg();
        default: return n(pick([0, 1, 4096, 65536, -1, 2 ** 31 - 1]));
      }
    case 'backlog': return n(pick([0, 1, 8, -1, 4096]));
    case 'how': return n(pick(ks('SHUT_RD', 'SHUT_WR', 'SHUT_RDWR').concat([3, -1])));
    case 'cmd': return n(pick(ks('F_GETFD', 'F_SETFD', 'F_GETFL', 'F_SETFL', 'F_DUPFD', 'F_SETOWN', 'F_GETLK').concat([-1])));
    case 'arg': return n(pick([0, O_NONBLOCK, FD_CLOEXEC, k('O_ASYNC'), -1]));
    case 'request': return n(pick(ks('FIONREAD', 'SIOCINQ', 'SIOCOUTQ', 'SIOCOUTQNSD', 'SIOCATMARK').concat([0x5401, -1, 2 ** 32])));
    case 'fds': return pollListArg();
    case 'timeoutMs': return n(0);
    case 'domain': case 'af': return n(pick([AF_INET, AF_INET6, AF_UNIX, k('AF_NETLINK'), 0, -1, 9999]));
    case 'type': return n(pick([SOCK_STREAM, SOCK_DGRAM, k('SOCK_SEQPACKET'), SOCK_DGRAM | k('SOCK_NONBLOCK'), 99]));
    case 'protocol': return n(pick([0, 6, 17, 1, -1, 256]));
    // socketIn: this process's own namespace (entering it works as root), and files that are not one.
    case 'netns': return A(pick<unknown>(['/proc/self/ns/net', '/proc/thread-self/ns/net', { pid: process.pid }, 'sockfd-fuzz-no-such-namespace', '/proc/self/ns/mnt', '/etc/hostname']), 'a namespace');
    case 'buffers': return chance(0.3) ? batchArg() : buffersArg();
    case 'batch': return batchArg();
    case 'start': return n(pick([0, 1, 2, 63, 64, 65, -1, 1.5]));
    case 'count': return chance(0.3) ? A(undefined, 'undefined') : n(pick([0, 1, 2, 64, 65, 1024, 1025, -1]));
    case 'options': case 'wait': return optionsArg();
    case 'messages': return chance(0.3) ? batchArg() : messagesArg();
    case 'lengths': return pick([A(new Uint32Array(4), 'Uint32Array(4)'), A(new Uint32Array(0), 'Uint32Array(0)'), A(new Int32Array(4), 'Int32Array(4)'), A(new Uint32Array(2000), 'Uint32Array(2000)')]);
    case 'program': return bpfArg();
    case 'events': return n(pick([sockfd.POLLIN, sockfd.POLLOUT, sockfd.POLLIN | sockfd.POLLOUT, sockfd.POLLPRI, sockfd.POLLRDHUP, 0, sockfd.POLLERR, -1]));
    case 'callback': return A(NOOP, 'a no-op callback');
    case 'index': return n(pick([0, 1, 2, 2 ** 32 - 1, 2 ** 32]));
    case 'errno': return n(pick([1, 11, 24, 111, 115, 4095, 9999, -104]));
    case 'prefix': return A(pick(['AF_', 'SOCK_', 'E', '']), 'a prefix');
    case 'hostshort': case 'netshort': case 'hostlong': case 'netlong': return n(pick([0, 1, 0x1234, 65535, 65536, 2 ** 32 - 1]));
    case 'socket': return fdOfArg();
    case 'binary': return binaryAddrArg();
    case 'from':
      switch (int(5)) {
        case 0: return A(Buffer.alloc(132), 'a 132-byte holder');
        case 1: return A(Buffer.alloc(131), 'a 131-byte holder');
        case 2: return A(Buffer.alloc(140).subarray(3), 'a holder at an odd offset');
        case 3: return A(new Uint8Array(ctx.rab), "the call's resizable ArrayBuffer as the holder");
        default: return A(detachedView, 'a detached holder');
      }
    default: return undefined;
  }
}

let server: net.Server;
let udp: dgram.Socket;

function fdOfArg(): Arg {
  switch (int(7)) {
    case 0: return A(server, 'a listening net.Server');
    case 1: return A(udp, 'a bound dgram.Socket');
    case 2: return A(new net.Socket(), 'an unconnected net.Socket');
    case 3: return A({ _handle: null }, '{ _handle: null }');
    case 4: return A({ _handle: { fd: 2 ** 31 - 1 } }, '{ _handle: { fd } }');
    case 5: return A({ setBroadcast: NOOP }, '{ setBroadcast() }');
    default: return proxyArg(0);
  }
}

/** Numbers that are never an open fd of this process. */
const NEVER_OPEN = [2 ** 31 - 1, 2 ** 30, 1e9];

function fdArg(): Arg {
  const fds = pool.liveFds();
  if (chance(0.75) && fds.length > 0) {
    const fd = pick(fds);
    return A(fd, `fd ${fd}`);
  }
  const fd = pick(fds.length > 0 ? fds : [3]);
  switch (int(16)) {
    case 0: case 1: { const v = pick(NEVER_OPEN); return A(v, `${v} (never open)`); }
    case 2: return A(2 ** 32 + fd, `2**32+${fd}`);
    case 3: return A(-1, '-1');
    case 4: return A(NaN, 'NaN');
    case 5: return A(fd + 0.5, `${fd + 0.5}`);
    case 6: return A(String(fd), `'${fd}'`);
    case 7: return A(BigInt(fd), `${fd}n`);
    case 8: {
      const act = makeAct();
      return A({ valueOf: () => (act.run(), fd) }, `an object whose valueOf ${act.d} and returns ${fd}`);
    }
    case 9: return A(new Number(fd), `new Number(${fd})`);
    case 10: return A(2 ** 53, '2**53');
    case 11: return A(-(2 ** 31), '-(2**31)');
    case 12: return A(Infinity, 'Infinity');
    default: {
      // anything that is not an integer, so that it can never name an fd this file does not own
      let a = hostileArg();
      while (typeof a.v === 'number' && Number.isInteger(a.v)) a = hostileArg();
      return a;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The targets: every function export, with its parameter names (from its source).

interface Target {
  label: string;
  name: string;
  fn: (...args: unknown[]) => unknown;
  params: string[];
  fdFirst: boolean;
  async: boolean;
}

function paramNames(f: Function): string[] {
  const src = Function.prototype.toString.call(f);
  const open = src.indexOf('(');
  let depth = 0;
  let cur = '';
  const out: string[] = [];
  for (let i = open + 1; i < src.length; i++) {
    const ch = src[i]!;
    if (depth === 0 && (ch === ',' || ch === ')')) {
      const m = /^\s*(?:\.\.\.)?([A-Za-z_$][\w$]*)/.exec(cur);
      if (m) out.push(m[1]!);
      cur = '';
      if (ch === ')') break;
      continue;
    }
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    cur += ch;
  }
  return out;
}

function isClass(f: Function): boolean {
  return /^class\b/.test(Function.prototype.toString.call(f));
}

const syncModule = sockfd as unknown as Record<string, unknown>;

// The hand-off helpers give a live fd to Node, which then owns it while the pool here would go on
// using and closing it: they are left out, and their argument checks are tested in handoff.test.ts.
const HANDOFFS = new Set(['toNetServer', 'toNetSocket', 'toDgram']);
// openRxRing makes an AF_PACKET socket bound to an interface, which this file may not make (nothing
// here may capture or send outside loopback): its argument checks are tested in
// test/raw/ring-lifecycle.test.ts, on interfaces of namespaces that test makes.
const PACKET_SOCKETS = new Set(['openRxRing']);

/** A module's function exports; in sockfd/promises, one that is sockfd's own function (close) is sync. */
function targetsOf(mod: Record<string, unknown>, prefix: string, isPromises: boolean): Target[] {
  const out: Target[] = [];
  for (const [name, v] of Object.entries(mod)) {
    if (typeof v !== 'function' || isClass(v) || HANDOFFS.has(name) || PACKET_SOCKETS.has(name)) continue;
    const params = paramNames(v);
    const async = isPromises && syncModule[name] !== v;
    out.push({ label: `${prefix}.${name}`, name, fn: v as (...args: unknown[]) => unknown, params, fdFirst: params[0] === 'fd', async });
  }
  return out;
}

const syncTargets = targetsOf(syncModule, 'sockfd', false);
const asyncTargets = targetsOf(promises as unknown as Record<string, unknown>, 'sockfd/promises', true);

function makeArgs(t: Target): Arg[] {
  // A third of the calls are well-formed but for a few arguments, so that they reach the kernel and
  // the hostile values meet real state; the rest draw freely from the hostile pool.
  const wellFormed = chance(0.35);
  const n = wellFormed || chance(0.8) ? t.params.length : int(t.params.length + 3);
  const pNamed = wellFormed ? 0.93 : 0.5;
  const args: Arg[] = [];
  for (let i = 0; i < n; i++) {
    const param = t.params[i];
    if (i === 0 && t.fdFirst) {
      const a = fdArg();
      args.push(a);
      if (typeof a.v === 'number' && pool.live.has(a.v)) ctx.victimFd = a.v;
      continue;
    }
    const named = param !== undefined && chance(pNamed) ? byName(t.name, param) : undefined;
    args.push(named ?? hostileArg());
  }
  return args;
}

/** Keeps a call from blocking or from making what this file may not make (raw sockets). */
function tame(t: Target, args: Arg[]): void {
  if (t.name === 'poll' && args[1] && typeof args[1].v === 'number' && Number.isInteger(args[1].v) && args[1].v >= -1) {
    const v = chance(0.9) ? 0 : 1;
    args[1] = A(v, `${v} (clamped)`);
  }
  if (t.name === 'socket' || t.name === 'socketpair' || t.name === 'socketIn') {
    const at = t.name === 'socketIn' ? 1 : 0; // socketIn(netns, domain, type, protocol)
    if (args[at]?.v === AF_PACKET) args[at] = A(AF_INET, 'AF_INET (was AF_PACKET)');
    const type = args[at + 1]?.v;
    if (typeof type === 'number' && RAW_TYPES.has(type & 0xf)) args[at + 1] = A(SOCK_DGRAM, 'SOCK_DGRAM (was raw)');
  }
}

// ---------------------------------------------------------------------------------------------
// Outcomes.

function allowed(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SystemError || err instanceof AbortError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_SOCKET_CLOSED' || code === 'ERR_SOCKET_NO_FD';
}

function show(err: unknown): string {
  if (err instanceof Error) {
    const where = (err.stack ?? '').split('\n').slice(1, 3).map((s) => s.trim()).join(' | ');
    return `${err.constructor.name}${(err as { code?: string }).code ? ` [${(err as { code?: string }).code}]` : ''}: ${err.message} (at ${where})`;
  }
  try {
    return `a thrown ${typeof err}: ${String(err)}`;
  } catch {
    return `a thrown ${typeof err}`;
  }
}

/** Closes what a successful call created, so nothing leaks. */
function release(t: Target, result: unknown): void {
  const closeFd = (fd: unknown): void => {
    if (typeof fd === 'number' && !pool.live.has(fd)) {
      try {
        sockfd.close(fd);
      } catch {
        // already closed
      }
    }
  };
  if (result === null || result === undefined) return;
  switch (t.name) {
    case 'socket':
    case 'socketIn':
      closeFd(result);
      break;
    case 'socketpair':
      if (Array.isArray(result)) result.forEach(closeFd);
      break;
    case 'accept':
      closeFd((result as { fd?: unknown }).fd);
      break;
    case 'recvmsg':
      for (const c of (result as { control?: { fds?: number[] }[] }).control ?? []) c.fds?.forEach(closeFd);
      break;
    case 'watch':
      (result as sockfd.FdWatch).close();
      break;
  }
}

interface Stats {
  calls: number;
  ok: number;
  system: number;
  argument: number;
  other: number;
}

interface Run {
  calls: number;
  violations: string[];
  syncThrows: string[];
  stats: Map<string, Stats>;
  pending: Map<Promise<unknown>, string>;
}

function newRun(): Run {
  return { calls: 0, violations: [], syncThrows: [], stats: new Map(), pending: new Map() };
}

function stat(run: Run, label: string): Stats {
  let s = run.stats.get(label);
  if (!s) run.stats.set(label, (s = { calls: 0, ok: 0, system: 0, argument: 0, other: 0 }));
  return s;
}

function count(s: Stats, err: unknown): void {
  if (err instanceof SystemError) s.system++;
  else if (err instanceof TypeError || err instanceof RangeError) s.argument++;
  else s.other++;
}

/** One call: random target (from `targets`), random arguments, outcome checked. */
function callOnce(run: Run, targets: Target[], i: number): void {
  const t = pick(targets);
  const live = pool.liveFds();
  ctx = { victimFd: pick(live), ab: new ArrayBuffer(64), rab: new Resizable(64, { maxByteLength: 160 }) };
  const args = makeArgs(t);
  tame(t, args);
  const what = `#${i} ${t.label}(${args.map((a) => a.d).join(', ')})`;
  const s = stat(run, t.label);
  s.calls++;
  run.calls++;
  let result: unknown;
  try {
    result = t.fn(...args.map((a) => a.v));
  } catch (err) {
    count(s, err);
    if (t.async) run.syncThrows.push(`${what} threw synchronously: ${show(err)}`);
    if (!allowed(err)) run.violations.push(`${what} threw ${show(err)}`);
    after(t, args);
    return;
  }
  if (t.async) {
    if (!(result instanceof Promise)) {
      run.violations.push(`${what} returned ${typeof result}, not a Promise`);
    } else {
      const p = result;
      run.pending.set(p, what);
      p.then(
        (v) => {
          run.pending.delete(p);
          s.ok++;
          release(t, v);
        },
        (err: unknown) => {
          run.pending.delete(p);
          count(s, err);
          if (!allowed(err)) run.violations.push(`${what} rejected with ${show(err)}`);
        },
      );
    }
  } else {
    s.ok++;
    release(t, result);
  }
  after(t, args);
}

function after(t: Target, args: Arg[]): void {
  if (t.name === 'close') pool.closedBy(args[0]?.v);
  if (t.name === 'fcntl' || t.name === 'setsockopt') pool.restore();
  pool.repair();
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs `calls` calls, yielding to the event loop every 64 so that waiters get their events. */
async function fuzz(run: Run, targets: Target[], calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    callOnce(run, targets, i);
    if ((i & 63) === 63) await tick();
    if (i % 5000 === 4999) pool.recycle();
  }
}

/** Closes every owned fd, then waits (bounded) for every pending call to settle. */
async function settle(run: Run): Promise<string[]> {
  pool.closeAll();
  const deadline = Date.now() + 5000;
  while (run.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return [...run.pending.values()].map((w) => `${w} was still pending 5 s after every fd was closed`);
}

function summary(run: Run): string {
  return [...run.stats.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, s]) => `${label} ${s.calls}: ok ${s.ok}, sys ${s.system}, arg ${s.argument}${s.other ? `, other ${s.other}` : ''}`)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------

afterAll(async () => {
  for (const p of pools) p.closeAll();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await new Promise<void>((r) => (udp ? udp.close(() => r()) : r()));
  process.chdir(cwd);
  rmSync(tmp, { recursive: true, force: true });
});

describe(`fuzzing every export of sockfd and sockfd/promises (seed ${SEED}, ${CALLS} calls)`, () => {
  it('finds a function export for every documented call, with its parameter names', () => {
    const names = syncTargets.map((t) => t.name);
    for (const n of ['socket', 'socketpair', 'close', 'poll', 'bind', 'accept', 'connect', 'read', 'write', 'sendto', 'recvfrom', 'sendmsg', 'recvmmsg', 'getsockopt', 'setsockopt', 'watch', 'inspect', 'fdOf']) {
      expect(names).toContain(n);
    }
    expect(asyncTargets.filter((t) => t.async).map((t) => t.name).sort()).toEqual(
      ['accept', 'connect', 'read', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsgInto', 'recvmsg', 'send', 'sendAll', 'sendmmsg', 'sendmsg', 'sendto', 'write', 'writeAll'].sort(),
    );
    expect(asyncTargets.filter((t) => !t.async).map((t) => t.name)).toEqual(['close']);
    expect(syncTargets.find((t) => t.name === 'recv')?.params).toEqual(['fd', 'buf', 'length', 'flags']);
  });

  it(
    `every call ends in a result or a TypeError/RangeError/SystemError (or AbortError, ERR_SOCKET_CLOSED, ERR_SOCKET_NO_FD)`,
    async () => {
      rnd = mulberry32(SEED);
      server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      udp = dgram.createSocket('udp4');
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
      pool = new Pool();
      const run = newRun();
      const t0 = performance.now();
      await fuzz(run, [...syncTargets, ...asyncTargets], CALLS);
      const fuzzMs = performance.now() - t0;
      const unsettled = await settle(run);
      console.log(
        `fuzz seed ${SEED}: ${run.calls} calls in ${(fuzzMs / 1000).toFixed(1)} s ` +
          `(${Math.round(run.calls / (fuzzMs / 1000))}/s), ${run.violations.length} violations\n${summary(run)}`,
      );

      expect(run.calls).toBe(CALLS);
      expect([...run.violations, ...unsettled].slice(0, 30), `seed ${SEED}: calls with an outcome outside the allowed ones`).toEqual([]);
      // The generator reaches past the argument checks of every export: each one returned a value
      // or failed in the kernel at least once, so the fuzzing is not all TypeErrors.
      for (const t of [...syncTargets, ...asyncTargets]) {
        const s = run.stats.get(t.label);
        expect(s?.calls ?? 0, `${t.label} was called`).toBeGreaterThan(100);
        expect((s?.ok ?? 0) + (s?.system ?? 0), `${t.label} got past its argument checks at least once`).toBeGreaterThan(0);
      }
    },
    Math.max(60_000, CALLS * 3),
  );

  it('sockfd/promises functions never throw synchronously: a bad argument is a rejected promise', async () => {
    rnd = mulberry32(SEED ^ 0x9e3779b9);
    pool = new Pool();
    const run = newRun();
    await fuzz(run, asyncTargets, Math.max(20_000, Math.floor(CALLS / 5)));
    const unsettled = await settle(run);
    expect(unsettled).toEqual([]);
    // One line per function (the first offending call), so the report stays readable.
    const first = new Map<string, string>();
    for (const line of run.syncThrows) {
      const fn = /^#\d+ (\S+?)\(/.exec(line)?.[1] ?? line;
      if (!first.has(fn)) first.set(fn, line);
    }
    expect([...first.values()], `seed ${SEED}: sockfd/promises calls that threw instead of returning a rejected promise`).toEqual([]);
  }, 60_000);

  it('sockfd/promises refuses the flags the sync call refuses, instead of wrapping or truncating them', async () => {
    const [a, b] = sockfd.socketpair(AF_UNIX, SOCK_DGRAM);
    try {
      sockfd.send(b, Buffer.from('keep me'));
      const buf = Buffer.alloc(16);
      const MSG_PEEK = k('MSG_PEEK');
      const refusedBySync: [string, unknown][] = [
        ['2**32 + MSG_PEEK', 2 ** 32 + MSG_PEEK],
        ['MSG_PEEK + 0.5', MSG_PEEK + 0.5],
        ["'2' (MSG_PEEK as a string)", String(MSG_PEEK)],
      ];
      const wrong: string[] = [];
      for (const [what, flags] of refusedBySync) {
        expect(() => sockfd.recv(a, buf, undefined, flags as number), `sync recv with flags ${what}`).toThrow(/flags/);
        const outcome = await promises.recv(a, buf, undefined, flags as number).then(
          (n) => `resolved with ${n} (the datagram was read as if the flags were ${(flags as number) | 0})`,
          (err: unknown) => (err instanceof TypeError || err instanceof RangeError ? null : `rejected with ${show(err)}`),
        );
        if (outcome !== null) wrong.push(`promises.recv(fd, buf, undefined, ${what}) ${outcome}`);
      }
      expect(wrong).toEqual([]);
    } finally {
      sockfd.close(a);
      sockfd.close(b);
    }
  });
});
