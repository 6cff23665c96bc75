// sockfd/promises against the real kernel: accept/connect/recv/read/send/write/recvfrom/sendto wait
// for readiness on the fd's libuv poll watcher; abort and timeout consume nothing; bad arguments
// reject; close() rejects waiters and nothing fires for a reused fd number; the fd becomes
// non-blocking; pending buffers survive GC; no thread-pool thread is parked per call.
//
// Every wait is bounded: the calls carry their own `timeout`, other waits go through `within()`.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_UNIX,
  FIONREAD,
  F_GETFL,
  MSG_DONTWAIT,
  O_NONBLOCK,
  POLLIN,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_SNDBUF,
  bind,
  close,
  fcntl,
  getsockname,
  ioctl,
  listen,
  recv,
  send,
  setsockopt,
  socket,
  socketpair,
  watch,
  write,
  type SockAddrIn,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

checkFdLeaks();

// ---------------------------------------------------------------------------------------------
// fds opened by a test; afterEach closes whatever a test did not close itself.

const { own, release: closeOwned } = ownFds();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockfd-promises-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Err = Error & Record<string, unknown>;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `pr`, or a rejection if it has not settled within `ms`. */
function within<T>(pr: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([pr, t]).finally(() => clearTimeout(timer));
}

/** The rejection reason of `pr` (bounded); fails if it resolves. */
async function rejection(pr: Promise<unknown>, ms = 5000): Promise<Err> {
  try {
    await within(pr, ms, 'expected rejection');
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('expected rejection did not settle')) throw err;
    return err as Err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

interface Tracked<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: Err;
  resolves: number;
  rejects: number;
  /** Settles (never rejects) when `pr` does. */
  done: Promise<void>;
}
/** Observes a promise's settlement without consuming its rejection as unhandled. */
function track<T>(pr: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending', resolves: 0, rejects: 0, done: Promise.resolve() };
  t.done = pr.then(
    (v) => {
      t.state = 'resolved';
      t.value = v;
      t.resolves++;
    },
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e as Err;
      t.rejects++;
    },
  );
  return t;
}

function streamPair(): [number, number] {
  const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
  return [own(a), own(b)];
}

function tcpListener(): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_STREAM));
  bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
  listen(fd, 16);
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

function bytesWaiting(fd: number): number {
  return ioctl(fd, FIONREAD);
}

const WAIT = { timeout: 5000 };

// ---------------------------------------------------------------------------------------------

describe('accept and connect', () => {
  it('accept waits for a net.connect client and returns its fd and address', async () => {
    const l = tcpListener();
    const accepted = track(p.accept(l.fd, WAIT));
    await sleep(30);
    expect(accepted.state).toBe('pending');

    const client = net.connect(l.port, '127.0.0.1');
    try {
      await within(new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject)));
      await accepted.done;
      expect(accepted.error).toBeUndefined();
      const { fd, address } = accepted.value!;
      own(fd);
      expect(fd).toBeGreaterThan(2);
      expect(address).toEqual({ family: AF_INET, address: '127.0.0.1', port: client.localPort });
      // The fd is the accepted end of that very connection.
      expect(write(fd, Buffer.from('hi'))).toBe(2);
      const data = await within(new Promise<Buffer>((resolve) => client.once('data', resolve)));
      expect(data.toString()).toBe('hi');
    } finally {
      client.destroy();
    }
  });

  it('connect to a net.createServer listener completes and the server sees the connection', async () => {
    const server = net.createServer();
    const conns: net.Socket[] = [];
    server.on('connection', (s) => conns.push(s));
    await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const fd = own(socket(AF_INET, SOCK_STREAM));
      const seen = within(new Promise<net.Socket>((resolve) => server.once('connection', resolve)));
      await expect(p.connect(fd, { family: AF_INET, address: '127.0.0.1', port }, WAIT)).resolves.toBeUndefined();
      const conn = await seen;
      expect(conn.remotePort).toBe((getsockname(fd) as SockAddrIn).port);
    } finally {
      for (const s of conns) s.destroy();
      await within(new Promise<void>((resolve) => server.close(() => resolve())));
    }
  });

  it('connect to a closed port rejects with the same fields and message as net.connect', async () => {
    const probe = socket(AF_INET, SOCK_STREAM);
    bind(probe, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const port = (getsockname(probe) as SockAddrIn).port;
    close(probe);

    const fd = own(socket(AF_INET, SOCK_STREAM));
    const mine = await rejection(p.connect(fd, { family: AF_INET, address: '127.0.0.1', port }, WAIT));
    const theirs = await within(
      new Promise<Err>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('error', (e) => resolve(e as unknown as Err));
        s.once('connect', () => {
          s.destroy();
          reject(new Error('net.connect unexpectedly connected'));
        });
      }),
    );

    expect(mine.code).toBe('ECONNREFUSED');
    expect(mine.errno).toBe(-os.constants.errno.ECONNREFUSED);
    expect(mine.syscall).toBe('connect');
    expect(mine.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    for (const field of ['code', 'errno', 'syscall', 'address', 'port', 'message'] as const) {
      expect(mine[field], field).toEqual(theirs[field]);
    }
  });
});

describe('waiting for data and room', () => {
  it('recv waits for data written later', async () => {
    const [a, b] = streamPair();
    const buf = Buffer.alloc(64);
    const got = track(p.recv(a, buf, WAIT));
    setTimeout(() => write(b, Buffer.from('later')), 50);
    await sleep(20);
    expect(got.state).toBe('pending');
    await got.done;
    expect(got.error).toBeUndefined();
    expect(got.value).toBe(5);
    expect(buf.toString('latin1', 0, 5)).toBe('later');
  });

  it('read waits for data written later', async () => {
    const [a, b] = streamPair();
    const buf = Buffer.alloc(64);
    const got = track(p.read(a, buf, WAIT));
    setTimeout(() => write(b, Buffer.from('via read')), 50);
    await sleep(20);
    expect(got.state).toBe('pending');
    await got.done;
    expect(got.error).toBeUndefined();
    expect(got.value).toBe(8);
    expect(buf.toString('latin1', 0, 8)).toBe('via read');
  });

  it('recv resolves without a loop turn when data is already there', async () => {
    const [a, b] = streamPair();
    write(b, Buffer.from('now'));
    const buf = Buffer.alloc(16);
    const first = await Promise.race([
      p.recv(a, buf, WAIT),
      new Promise<string>((resolve) => setImmediate(() => resolve('needed a loop turn'))),
    ]);
    expect(first).toBe(3);
    expect(buf.toString('latin1', 0, 3)).toBe('now');
  });

  it('several pending recvs on one fd are served in FIFO order', async () => {
    const [a, b] = streamPair();
    const bufs = [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)];
    const order: number[] = [];
    const pending = bufs.map((buf, i) =>
      p.recv(a, buf, WAIT).then((n) => {
        order.push(i);
        return n;
      }),
    );
    await sleep(20);
    expect(order).toEqual([]);
    write(b, Buffer.from('abc'));
    expect(await Promise.all(pending)).toEqual([1, 1, 1]);
    expect(order).toEqual([0, 1, 2]);
    expect(bufs.map((x) => x.toString('latin1'))).toEqual(['a', 'b', 'c']);
  });

  // A unix stream pair: with a small SO_SNDBUF and nobody reading, the sender gets EAGAIN
  // deterministically (no TCP window dynamics).
  for (const call of ['send', 'write'] as const) {
    it(`${call} on a full socket buffer waits and completes once the peer drains`, async () => {
      const [a, b] = streamPair();
      setsockopt(a, SOL_SOCKET, SO_SNDBUF, 4096);
      setsockopt(b, SOL_SOCKET, SO_RCVBUF, 4096);
      const fill = Buffer.alloc(4096, 'A');
      let filled = 0;
      for (;;) {
        try {
          filled += send(a, fill, undefined, MSG_DONTWAIT);
        } catch (err) {
          if ((err as Err).code === 'EAGAIN') break;
          throw err;
        }
        expect(filled, 'the buffer never filled').toBeLessThan(64 << 20);
      }
      expect(filled).toBeGreaterThan(0);

      const chunk = Buffer.alloc(65536, 'B');
      const sent = track(call === 'send' ? p.send(a, chunk, WAIT) : p.write(a, chunk, WAIT));
      await sleep(100);
      expect(sent.state).toBe('pending');

      const received: Buffer[] = [];
      let got = 0;
      const rb = Buffer.alloc(65536);
      const take = async (): Promise<void> => {
        const n = await p.recv(b, rb, WAIT);
        expect(n).toBeGreaterThan(0);
        received.push(Buffer.from(rb.subarray(0, n)));
        got += n;
      };
      while (got < filled) await take();
      await sent.done;
      expect(sent.error).toBeUndefined();
      const r = sent.value!;
      expect(r).toBeGreaterThan(0);
      while (got < filled + r) await take();

      const all = Buffer.concat(received);
      expect(all.length).toBe(filled + r);
      expect(all.subarray(0, filled).every((x) => x === 0x41)).toBe(true);
      expect(all.subarray(filled).every((x) => x === 0x42)).toBe(true);
      expect(bytesWaiting(b)).toBe(0);
    });
  }

  it('recvfrom waits for a dgram datagram and gives the sender address', async () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const port = (getsockname(fd) as SockAddrIn).port;
    const peer = dgram.createSocket('udp4');
    try {
      await within(new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve)));
      const buf = Buffer.alloc(64);
      const got = track(p.recvfrom(fd, buf, WAIT));
      await sleep(20);
      expect(got.state).toBe('pending');
      peer.send('ping', port, '127.0.0.1');
      await got.done;
      expect(got.error).toBeUndefined();
      expect(got.value).toEqual({
        bytes: 4,
        address: { family: AF_INET, address: '127.0.0.1', port: peer.address().port },
      });
      expect(buf.toString('latin1', 0, 4)).toBe('ping');
    } finally {
      await within(new Promise<void>((resolve) => peer.close(() => resolve())));
    }
  });

  it('sendto delivers a datagram that dgram receives from our address', async () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const port = (getsockname(fd) as SockAddrIn).port;
    const peer = dgram.createSocket('udp4');
    try {
      await within(new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve)));
      const message = within(
        new Promise<[Buffer, dgram.RemoteInfo]>((resolve) => peer.once('message', (m, r) => resolve([m, r]))),
      );
      const to = { family: AF_INET, address: '127.0.0.1', port: peer.address().port };
      await expect(p.sendto(fd, Buffer.from('pong'), undefined, 0, to, WAIT)).resolves.toBe(4);
      const [m, rinfo] = await message;
      expect(m.toString()).toBe('pong');
      expect(rinfo.address).toBe('127.0.0.1');
      expect(rinfo.port).toBe(port);
    } finally {
      await within(new Promise<void>((resolve) => peer.close(() => resolve())));
    }
  });
});

describe('options in place of omitted optional arguments', () => {
  it('accept(fd, { signal }) takes the options object and honours the signal', async () => {
    const l = tcpListener();
    const ac = new AbortController();
    const pending = p.accept(l.fd, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const err = await rejection(pending);
    expect(err.name).toBe('AbortError');
  });

  it('recv(fd, buf, { timeout }) takes the options object and honours the timeout', async () => {
    const [a] = streamPair();
    const err = await rejection(p.recv(a, Buffer.alloc(8), { timeout: 30 }));
    expect(err.code).toBe('ETIMEDOUT');
  });
});

describe('abort and timeout', () => {
  it('an abort while waiting rejects with AbortError and consumes no data', async () => {
    const [a, b] = streamPair();
    const ac = new AbortController();
    const buf = Buffer.alloc(64);
    const aborted = track(p.recv(a, buf, { signal: ac.signal, timeout: 5000 }));
    await sleep(20);
    expect(aborted.state).toBe('pending');
    ac.abort();
    await within(aborted.done);
    expect(aborted.error?.name).toBe('AbortError');
    expect(aborted.error?.code).toBe('ABORT_ERR');

    write(b, Buffer.from('all of it'));
    const later = Buffer.alloc(64);
    await expect(p.recv(a, later, WAIT)).resolves.toBe(9);
    expect(later.toString('latin1', 0, 9)).toBe('all of it');
    expect(buf.every((x) => x === 0)).toBe(true);
    expect(aborted.resolves + aborted.rejects).toBe(1);
  });

  it('an already-aborted signal rejects without receiving, leaving the data queued', async () => {
    const [a, b] = streamPair();
    write(b, Buffer.from('queued'));
    const ac = new AbortController();
    ac.abort();
    const buf = Buffer.alloc(64);
    const err = await rejection(p.recv(a, buf, { signal: ac.signal }));
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ABORT_ERR');
    expect(buf.every((x) => x === 0)).toBe(true);
    expect(bytesWaiting(a)).toBe(6);
  });

  it('a timeout rejects with ETIMEDOUT naming the syscall after about the time, consuming no data', async () => {
    const [a, b] = streamPair();
    const buf = Buffer.alloc(64);
    const t0 = performance.now();
    const err = await rejection(p.recv(a, buf, { timeout: 150 }));
    const elapsed = performance.now() - t0;
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.syscall).toBe('recv');
    expect(err.errno).toBe(-os.constants.errno.ETIMEDOUT);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2000);

    write(b, Buffer.from('after'));
    const later = Buffer.alloc(64);
    await expect(p.recv(a, later, WAIT)).resolves.toBe(5);
    expect(later.toString('latin1', 0, 5)).toBe('after');
    expect(buf.every((x) => x === 0)).toBe(true);
  });

  it('a timed-out accept names accept as the syscall and leaves a later connection for the next accept', async () => {
    const l = tcpListener();
    const err = await rejection(p.accept(l.fd, { timeout: 50 }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.syscall).toBe('accept');

    const c = own(socket(AF_INET, SOCK_STREAM));
    await p.connect(c, { family: AF_INET, address: '127.0.0.1', port: l.port }, WAIT);
    const { fd, address } = await p.accept(l.fd, WAIT);
    own(fd);
    expect(address).toEqual(getsockname(c));
  });
});

describe('bad arguments reject the promise (no synchronous throw)', () => {
  /** Calls `make` (which must not throw) and returns the rejection. */
  async function rejects(make: () => Promise<unknown>): Promise<Err> {
    let pr: Promise<unknown> | undefined;
    expect(() => {
      pr = make();
    }).not.toThrow();
    expect(pr).toBeInstanceOf(Promise);
    return rejection(pr!);
  }

  it('a negative or fractional fd rejects with a RangeError', async () => {
    expect(await rejects(() => p.recv(-1, Buffer.alloc(4)))).toBeInstanceOf(RangeError);
    expect(await rejects(() => p.accept(1.5))).toBeInstanceOf(RangeError);
  });

  it('a non-number fd rejects with a TypeError', async () => {
    expect(await rejects(() => p.recv('3' as unknown as number, Buffer.alloc(4)))).toBeInstanceOf(TypeError);
    expect(await rejects(() => p.send(null as unknown as number, Buffer.alloc(4)))).toBeInstanceOf(TypeError);
  });

  it('a bad options.timeout rejects with a RangeError and receives nothing', async () => {
    const [a, b] = streamPair();
    write(b, Buffer.from('keep'));
    for (const timeout of [-1, NaN, 2 ** 31, Infinity]) {
      const err = await rejects(() => p.recv(a, Buffer.alloc(8), { timeout }));
      expect(err, String(timeout)).toBeInstanceOf(RangeError);
    }
    expect(bytesWaiting(a)).toBe(4);
  });

  it('an options.signal that is not an AbortSignal rejects with a TypeError and receives nothing', async () => {
    const [a, b] = streamPair();
    write(b, Buffer.from('keep'));
    const fake = { aborted: false, addEventListener() {}, removeEventListener() {} };
    const err = await rejects(() => p.recv(a, Buffer.alloc(8), { signal: fake as unknown as AbortSignal }));
    expect(err).toBeInstanceOf(TypeError);
    expect(bytesWaiting(a)).toBe(4);
  });
  it('a length beyond the view rejects with a RangeError and receives nothing', async () => {
    const [a, b] = streamPair();
    write(b, Buffer.from('keep'));
    const buf = Buffer.alloc(8);
    expect(await rejects(() => p.recv(a, buf, 9, WAIT))).toBeInstanceOf(RangeError);
    expect(await rejects(() => p.read(a, buf, 9, WAIT))).toBeInstanceOf(RangeError);
    expect(buf.every((x) => x === 0)).toBe(true);
    expect(bytesWaiting(a)).toBe(4);
  });

  it('an fd that is not open rejects with the same EBADF error as the sync call', async () => {
    // A number that is not open: well above every fd open now.
    const fd = Math.max(...fs.readdirSync('/proc/self/fd').map(Number)) + 1000;
    let sync: Err | undefined;
    try {
      recv(fd, Buffer.alloc(4));
    } catch (e) {
      sync = e as Err;
    }
    expect(sync?.code).toBe('EBADF');
    const async = await rejects(() => p.recv(fd, Buffer.alloc(4), WAIT));
    for (const field of ['code', 'errno', 'syscall', 'message'] as const) {
      expect(async[field], field).toEqual(sync![field]);
    }
  });
});

describe('close semantics', () => {
  it('close(fd) rejects every pending waiter with ERR_SOCKET_CLOSED', async () => {
    const [a] = streamPair();
    const r1 = track(p.recv(a, Buffer.alloc(8), WAIT));
    const r2 = track(p.read(a, Buffer.alloc(8), WAIT));
    await sleep(20);
    closeOwned(a);
    await within(Promise.all([r1.done, r2.done]));
    for (const t of [r1, r2]) {
      expect(t.state).toBe('rejected');
      expect(t.error?.code).toBe('ERR_SOCKET_CLOSED');
    }
  });

  it('a new socket reusing the closed fd number triggers nothing for the old waiters', async () => {
    const [a, b] = streamPair();
    const oldBufs = [Buffer.alloc(32), Buffer.alloc(32)];
    const old = oldBufs.map((buf) => track(p.recv(a, buf, WAIT)));
    await sleep(20);

    closeOwned(a);
    const [c, d] = streamPair();
    expect(c).toBe(a); // the kernel gave the lowest free number: the one just closed

    write(d, Buffer.from('for the new socket'));
    await within(Promise.all(old.map((t) => t.done)));
    const fresh = Buffer.alloc(64);
    await expect(p.recv(c, fresh, WAIT)).resolves.toBe(18);
    expect(fresh.toString('latin1', 0, 18)).toBe('for the new socket');

    // More data and a few loop turns: still nothing for the old waiters.
    write(d, Buffer.from('more'));
    await sleep(50);
    for (const [i, t] of old.entries()) {
      expect(t.rejects).toBe(1);
      expect(t.resolves).toBe(0);
      expect(t.error?.code).toBe('ERR_SOCKET_CLOSED');
      expect(oldBufs[i]!.every((x) => x === 0)).toBe(true);
    }
    expect(bytesWaiting(c)).toBe(4);
    closeOwned(b);
  });

  it('closing the fd from inside a watch callback is safe and stops all callbacks', async () => {
    const [a, b] = streamPair();
    let first = 0;
    let second = 0;
    watch(a, POLLIN, () => {
      first++;
      closeOwned(a);
    });
    watch(a, POLLIN, () => {
      second++;
    });
    write(b, Buffer.from('wake'));
    const t0 = Date.now();
    while (first === 0 && Date.now() - t0 < 5000) await sleep(5);
    expect(first).toBe(1);

    // Reuse the number at once, readable: the old subscriptions must stay silent.
    const [c, d] = streamPair();
    expect(c).toBe(a);
    write(d, Buffer.from('new'));
    await sleep(100);
    expect(first).toBe(1);
    expect(second).toBe(0);
    expect(bytesWaiting(c)).toBe(3);
  });

  it("an fd closed and reused from another fd's callback in the same loop iteration gets no stale event", async () => {
    const [a, b] = streamPair();
    const [c, d] = streamPair();
    const calls = new Map<number, number>();
    const count = (fd: number): void => void calls.set(fd, (calls.get(fd) ?? 0) + 1);
    let victim = -1;
    let reused = -1;
    let newCalls = 0;
    const subs: { close(): void }[] = [];
    const onReady = (self: number, other: number) => (): void => {
      count(self);
      if (victim !== -1) return;
      // First callback of the iteration: the other fd is ready too (its event may be in the same
      // epoll batch). Close it and reuse its number at once, watched for POLLIN with no data.
      victim = other;
      closeOwned(other);
      const [e, f] = streamPair();
      reused = e;
      subs.push(watch(e, POLLIN, () => newCalls++));
      own(f);
      for (const s of subs.splice(0, 2)) s.close();
    };
    subs.push(watch(a, POLLIN, onReady(a, c)));
    subs.push(watch(c, POLLIN, onReady(c, a)));
    write(b, Buffer.from('x'));
    write(d, Buffer.from('y'));
    const t0 = Date.now();
    while (victim === -1 && Date.now() - t0 < 5000) await sleep(5);
    expect(victim).not.toBe(-1);
    await sleep(100);
    expect(reused).toBe(victim);
    expect(calls.get(victim) ?? 0).toBe(0);
    expect(newCalls).toBe(0);
    for (const s of subs) s.close();
  });
});

describe('blocking mode', () => {
  it('a send/recv that completes at once leaves the fd flags alone (MSG_DONTWAIT needs no watcher)', async () => {
    const [a, b] = streamPair();
    await expect(p.send(a, Buffer.from('x'), WAIT)).resolves.toBe(1);
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(0);
    expect(bytesWaiting(b)).toBe(1);
  });

  it('a promises call that waits sets O_NONBLOCK, after which a sync recv with no data throws EAGAIN', async () => {
    const [a, b] = streamPair();
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(0);
    const pending = p.recv(a, Buffer.alloc(8), WAIT);
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    write(b, Buffer.from('y'));
    await expect(pending).resolves.toBe(1);
    let err: Err | undefined;
    try {
      recv(a, Buffer.alloc(8));
    } catch (e) {
      err = e as Err;
    }
    expect(err?.code).toBe('EAGAIN');
    expect(err?.syscall).toBe('recv');
  });

  it('read, write, accept and connect set O_NONBLOCK at their first call', async () => {
    const [a, b] = streamPair();
    write(b, Buffer.from('z'));
    await expect(p.read(a, Buffer.alloc(8), WAIT)).resolves.toBe(1);
    expect(fcntl(a, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
  });
});

describe('buffers of pending calls', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;

  /** A WeakRef to a fresh buffer passed only to a pending recv, and the recv's promise. */
  function startRecv(fd: number): { ref: WeakRef<Uint8Array>; pending: Promise<number> } {
    const buf = new Uint8Array(1024);
    return { ref: new WeakRef(buf), pending: p.recv(fd, buf, WAIT) };
  }
  function garbage(): WeakRef<Uint8Array> {
    return new WeakRef(new Uint8Array(1024));
  }

  it('a buffer referenced only by a pending recv survives GC and receives the bytes', async () => {
    const [a, b] = streamPair();
    const { ref, pending } = startRecv(a);
    const control = garbage();
    await sleep(10); // a new task: WeakRef targets are only held strongly until the job ends
    for (let i = 0; i < 3; i++) {
      gc();
      const junk: unknown[] = [];
      for (let j = 0; j < 50_000; j++) junk.push({ j, s: `x${j}` }, new Uint8Array(64));
      await sleep(1);
    }
    gc();
    expect(control.deref(), 'GC did not run: the check would be meaningless').toBeUndefined();
    expect(ref.deref()).toBeDefined();

    write(b, Buffer.from('hello'));
    await expect(pending).resolves.toBe(5);
    const buf = ref.deref();
    expect(buf).toBeDefined();
    expect(Buffer.from(buf!.subarray(0, 5)).toString('latin1')).toBe('hello');
  });
});

describe('threads', () => {
  function threads(): number {
    return fs.readdirSync('/proc/self/task').length;
  }

  it('pending accepts park no thread and leave the thread pool free', async () => {
    const file = path.join(tmp, 'small.txt');
    fs.writeFileSync(file, 'small file');
    await within(fs.promises.readFile(file)); // the pool's threads exist from here on
    const before = threads();

    const listeners = Array.from({ length: 8 }, () => tcpListener().fd);
    const pending = listeners.map((fd) => track(p.accept(fd, WAIT)));
    await sleep(50);
    expect(threads()).toBeLessThanOrEqual(before);
    expect(await within(fs.promises.readFile(file, 'utf8'), 2000, 'readFile')).toBe('small file');
    expect(pending.every((t) => t.state === 'pending')).toBe(true);

    for (const fd of listeners) closeOwned(fd);
    await within(Promise.all(pending.map((t) => t.done)));
    for (const t of pending) {
      expect(t.state).toBe('rejected');
      expect(t.error?.code).toBe('ERR_SOCKET_CLOSED');
    }
  });
});
