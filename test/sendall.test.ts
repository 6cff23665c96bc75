// sendAll and writeAll, sync and in sockfd/promises: every byte written, however many calls it
// takes (a single send of 32 MiB is short: the witness), and on failure an error that says how many
// bytes went (checked by reading them back on the other end). Peers: a python3 reader in another
// process for the blocking sync call, sockfd sockets for the rest. All on loopback.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_LINGER,
  SO_SNDTIMEO,
  accept,
  bind,
  close,
  connect,
  getsockname,
  listen,
  recv,
  recvfrom,
  sendAll,
  setsockopt,
  socket,
  socketpair,
  writeAll,
  type PartialWriteError,
  type SockAddrIn,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { within } from './helpers/async.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { toolMissing } from './helpers/caps.js';

checkFdLeaks();
const { own } = ownFds();
const noPython = toolMissing('python3', 'python3');
if (noPython) console.log('skipping the python3 reader of sendAll:', noPython);

const MiB = 1024 * 1024;
const big = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4096) b[i] = i & 0xff;
  return b;
};

/** A connected TCP pair on loopback: [client, accepted]. */
function tcpPair(): [number, number] {
  const l = socket(AF_INET, SOCK_STREAM);
  bind(l, { family: AF_INET, address: '127.0.0.1', port: 0 });
  listen(l, 1);
  const c = own(socket(AF_INET, SOCK_STREAM));
  connect(c, getsockname(l));
  const { fd } = accept(l);
  close(l);
  return [c, own(fd)];
}

/** Reads from `fd` until `n` bytes came or it is empty (non-blocking); returns the count. */
function drainNow(fd: number, limit = Infinity): number {
  const buf = Buffer.alloc(MiB);
  let total = 0;
  for (;;) {
    try {
      const r = recv(fd, buf, undefined, MSG_DONTWAIT);
      if (r === 0) return total;
      total += r;
      if (total >= limit) return total;
    } catch {
      return total;
    }
  }
}

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
});

describe('sendAll (sync)', () => {
  it.skipIf(noPython !== null)('sends all 32 MiB to a python3 reader in another process', async () => {
    const l = own(socket(AF_INET, SOCK_STREAM));
    bind(l, { family: AF_INET, address: '127.0.0.1', port: 0 });
    listen(l, 1);
    const reader = spawn(
      'python3',
      ['-c', 'import socket,sys\ns=socket.create_connection(("127.0.0.1", int(sys.argv[1])))\nn=0\nwhile True:\n  d=s.recv(1<<20)\n  if not d: break\n  n+=len(d)\nprint(n)', String((getsockname(l) as SockAddrIn).port)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(reader);
    let out = '';
    reader.stdout!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise((r) => reader.once('exit', r));
    const { fd } = accept(l);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, 10_000); // bounds each wait of the blocking call
    expect(sendAll(fd, big(32 * MiB))).toBe(32 * MiB);
    close(fd);
    await within(exited, 'the python3 reader', 15_000);
    expect(Number(out.trim())).toBe(32 * MiB);
  });

  it('stops at a full queue of a non-blocking socket with EAGAIN and the count of bytes that went', () => {
    const [c, s] = tcpPair();
    const err = thrown<PartialWriteError & { code: string; syscall: string }>(() => sendAll(c, big(32 * MiB), MSG_DONTWAIT));
    expect([err.code, err.syscall]).toEqual(['EAGAIN', 'send']);
    expect(err.bytesWritten).toBeGreaterThan(0);
    expect(err.bytesWritten).toBeLessThan(32 * MiB);
    // What the error says went is exactly what the peer gets.
    let got = 0;
    for (let i = 0; i < 1000 && got < err.bytesWritten; i++) got += drainNow(s, err.bytesWritten);
    expect(got).toBe(err.bytesWritten);
  });

  it('sends a zero-length datagram as one datagram', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    own(a);
    own(b);
    expect(sendAll(a, Buffer.alloc(0))).toBe(0);
    expect(recvfrom(b, Buffer.alloc(8), undefined, MSG_DONTWAIT).bytes).toBe(0); // not EAGAIN: it came
  });

  it('writeAll writes a whole buffer to a file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-writeall-'));
    try {
      const file = path.join(dir, 'out');
      const fd = openSync(file, 'w');
      const data = big(3 * MiB + 17);
      expect(writeAll(fd, data)).toBe(data.length);
      closeSync(fd);
      expect(readFileSync(file).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what is not a buffer', () => {
    expect(thrown(() => sendAll(3, 'text' as never))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => writeAll(3, undefined as never))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('sendAll and writeAll (sockfd/promises)', () => {
  it('send all 32 MiB where one send is short', async () => {
    const [c, s] = tcpPair();
    const data = big(32 * MiB);
    const once = await p.send(c, data);
    expect(once).toBeLessThan(32 * MiB); // the witness: one call is not enough
    const reading = (async () => {
      const buf = Buffer.alloc(MiB);
      let got = 0;
      while (got < 32 * MiB) got += await p.recv(s, buf, { timeout: 5000 });
      return got;
    })();
    expect(await p.sendAll(c, data.subarray(once), { timeout: 20_000 })).toBe(32 * MiB - once);
    expect(await reading).toBe(32 * MiB);
    const [x, y] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
    own(x);
    own(y);
    const r2 = (async () => {
      const buf = Buffer.alloc(MiB);
      let got = 0;
      while (got < 8 * MiB) got += await p.read(y, buf, { timeout: 5000 });
      return got;
    })();
    expect(await p.writeAll(x, big(8 * MiB), { timeout: 20_000 })).toBe(8 * MiB);
    expect(await r2).toBe(8 * MiB);
  });

  it('rejects with ETIMEDOUT and bytesWritten when the peer stops reading', async () => {
    const [c, s] = tcpPair();
    const err = (await p.sendAll(c, big(32 * MiB), { timeout: 200 }).catch((e: unknown) => e)) as PartialWriteError & { code: string };
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.bytesWritten).toBeGreaterThan(0);
    expect(err.bytesWritten).toBeLessThan(32 * MiB);
    let got = 0;
    for (let i = 0; i < 1000 && got < err.bytesWritten; i++) got += drainNow(s, err.bytesWritten);
    expect(got).toBe(err.bytesWritten);
  });

  it('rejects with AbortError and bytesWritten when aborted', async () => {
    const [c] = tcpPair();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = (await p.sendAll(c, big(32 * MiB), 0, { signal: ac.signal }).catch((e: unknown) => e)) as PartialWriteError & { code: string };
    expect(err.code).toBe('ABORT_ERR');
    expect(err.bytesWritten).toBeGreaterThan(0);
  });

  it('rejects with the reset and bytesWritten when the peer goes away', async () => {
    const [c, s] = tcpPair();
    const sending = p.sendAll(c, big(64 * MiB), { timeout: 10_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    setsockopt(s, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 }); // close with RST
    close(s);
    const err = (await sending) as PartialWriteError & { code: string; syscall: string };
    expect(['ECONNRESET', 'EPIPE']).toContain(err.code);
    expect(err.syscall).toBe('send');
    expect(err.bytesWritten).toBeGreaterThan(0);
  });

  it('checks its options', async () => {
    await expect(p.sendAll(3, Buffer.alloc(1), { timeout: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(p.writeAll(3, 'x' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
