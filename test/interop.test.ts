// Interop with Node's own sockets: fdOf() on net/dgram objects, native fds handed to net/dgram, and
// the same scenarios run once through sockfd and once through net/dgram with the observable results
// (bytes, end-of-stream, errors) compared side by side.
//
// Every wait is bounded: sockfd/promises calls take { timeout }, Node events go through `within`.
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  IPPROTO_TCP,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_LINGER,
  SO_REUSEPORT,
  TCP_KEEPCNT,
  bind,
  close,
  fdOf,
  getpeername,
  getsockname,
  getsockopt,
  listen,
  release,
  sendto,
  setsockopt,
  shutdown,
  socket,
  type SockAddrIn,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { within } from './helpers/async.js';
import { checkFdLeaks, fdTarget } from './helpers/fds.js';

checkFdLeaks();

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 5000;
const T = { timeout: WAIT_MS };

// ---------------------------------------------------------------------------------------------
// Resources opened by a test; afterEach releases what a test did not.

const owned = new Set<number>();
const handles = new Set<net.Server | net.Socket | dgram.Socket>();

function own(fd: number): number {
  owned.add(fd);
  return fd;
}
/** The fd now belongs to Node (or was closed): afterEach must not close it. */
function disown(fd: number): void {
  owned.delete(fd);
}
function closeFd(fd: number): void {
  owned.delete(fd);
  close(fd);
}
function track<H extends net.Server | net.Socket | dgram.Socket>(h: H): H {
  handles.add(h);
  return h;
}

afterEach(async () => {
  for (const fd of owned) {
    try {
      close(fd);
    } catch {
      // already gone
    }
  }
  owned.clear();
  // Connections first: a net.Server's close waits for its connections.
  const all = [...handles].sort((x, y) => Number(x instanceof net.Server) - Number(y instanceof net.Server));
  for (const h of all) await closeHandle(h);
  handles.clear();
});

/** Closes a Node socket or server and waits (bounded) until it is closed. */
async function closeHandle(h: net.Server | net.Socket | dgram.Socket): Promise<void> {
  handles.delete(h);
  if (h instanceof net.Socket) {
    if (h.closed) return;
    const closed = once(h, 'close').catch(() => undefined);
    h.destroy();
    await within(closed, 'net.Socket close');
  } else if (h instanceof net.Server) {
    if (!h.listening) return;
    await within(new Promise<void>((r) => h.close(() => r())), 'net.Server close');
  } else {
    await within(
      new Promise<void>((r) => {
        try {
          h.close(() => r());
        } catch {
          r(); // not running
        }
      }),
      'dgram close',
    );
  }
}


function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

async function rejection(promise: Promise<unknown>, what: string): Promise<NodeJS.ErrnoException> {
  try {
    await within(promise, what);
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error(`${what}: expected a rejection`);
}

const addrIn = (port: number): SockAddrIn => ({ family: AF_INET, address: LOOPBACK, port });

/** A native listening TCP socket on 127.0.0.1:0 (blocking, as `socket` makes it). */
function nativeListener(): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_STREAM));
  bind(fd, addrIn(0));
  listen(fd, 16);
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

/** A connected native pair over loopback TCP: [client, accepted]. Both end up non-blocking. */
async function nativeTcpPair(): Promise<[number, number]> {
  const l = nativeListener();
  try {
    const c = own(socket(AF_INET, SOCK_STREAM));
    const accepted = p.accept(l.fd, T);
    await p.connect(c, addrIn(l.port), T);
    const a = own((await accepted).fd);
    return [c, a];
  } finally {
    closeFd(l.fd);
  }
}

/** A loopback port with nothing bound to it (bound once, then closed). */
function closedPort(type: number): number {
  const fd = socket(AF_INET, type);
  try {
    bind(fd, addrIn(0));
    return (getsockname(fd) as SockAddrIn).port;
  } finally {
    close(fd);
  }
}

/** Reads `fd` with sockfd/promises until end of stream; everything it got. */
async function recvAll(fd: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = await p.recv(fd, buf, T);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

/** Sends all of `data` with sockfd/promises (send may be short). */
async function sendAll(fd: number, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) off += await p.send(fd, data.subarray(off), T);
}

/** The text a net.Socket receives until it has `bytes` bytes. */
function netRead(s: net.Socket, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (got.length >= bytes) {
        s.off('data', onData);
        s.off('error', reject);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

/** SO_LINGER { l_onoff: 1, l_linger: 0 }: close() then resets the connection. */
function lingerZero(): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32LE(1, 0);
  b.writeInt32LE(0, 4);
  return b;
}

/** The target of an open fd in /proc/self/fd (socket:[inode]); fails if it is not an open socket. */
function socketTarget(fd: number): string {
  const target = fdTarget(fd);
  expect(target, `fd ${fd}`).toMatch(/^socket:\[\d+\]$/);
  return target!;
}

// ---------------------------------------------------------------------------------------------

describe('fdOf', () => {
  it('gives the listening fd of a net.Server: SO_ACCEPTCONN is 1 and getsockname is server.address()', async () => {
    const server = track(net.createServer());
    await within(once(server.listen(0, LOOPBACK), 'listening'), 'listening');
    const fd = fdOf(server);
    socketTarget(fd);
    expect(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN)).toBe(1);
    const address = server.address() as net.AddressInfo;
    expect(getsockname(fd)).toEqual({ family: AF_INET, address: LOOPBACK, port: address.port });
  });

  it('gives the fd of a connected net.Socket: getpeername is its remote end, getsockname its local end', async () => {
    const server = track(net.createServer((s) => track(s)));
    await within(once(server.listen(0, LOOPBACK), 'listening'), 'listening');
    const client = track(net.connect({ host: LOOPBACK, port: (server.address() as net.AddressInfo).port }));
    await within(once(client, 'connect'), 'connect');
    const fd = fdOf(client);
    expect(getpeername(fd)).toEqual({ family: AF_INET, address: client.remoteAddress, port: client.remotePort });
    expect(getsockname(fd)).toEqual({ family: AF_INET, address: client.localAddress, port: client.localPort });
  });

  it('gives the fd of a bound dgram.Socket: getsockname is socket.address()', async () => {
    const u = track(dgram.createSocket('udp4'));
    u.bind(0, LOOPBACK);
    await within(once(u, 'listening'), 'listening');
    const fd = fdOf(u);
    const a = u.address();
    expect(getsockname(fd)).toEqual({ family: AF_INET, address: a.address, port: a.port });
  });

  it('lets an option net does not expose be set: TCP_KEEPCNT 7 on a net.Socket reads back as 7', async () => {
    const server = track(net.createServer((s) => track(s)));
    await within(once(server.listen(0, LOOPBACK), 'listening'), 'listening');
    const client = track(net.connect({ host: LOOPBACK, port: (server.address() as net.AddressInfo).port }));
    await within(once(client, 'connect'), 'connect');
    const fd = fdOf(client);
    expect(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT)).not.toBe(7); // Linux default: 9
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 7);
    expect(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT)).toBe(7);
  });

  it('makes Node emit no warning (no DEP0112 for dgram) for any of the three kinds', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const server = track(net.createServer((s) => track(s)));
      await within(once(server.listen(0, LOOPBACK), 'listening'), 'listening');
      const client = track(net.connect({ host: LOOPBACK, port: (server.address() as net.AddressInfo).port }));
      await within(once(client, 'connect'), 'connect');
      const u = track(dgram.createSocket('udp4'));
      u.bind(0, LOOPBACK);
      await within(once(u, 'listening'), 'listening');
      expect(thrown(() => fdOf(track(dgram.createSocket('udp4')))).code).toBe('ERR_SOCKET_NO_FD');
      for (const fd of [fdOf(server), fdOf(client), fdOf(u)]) socketTarget(fd);
      // process.emitWarning delivers on the next tick; give it a few turns of the loop.
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });

  it('throws ERR_SOCKET_NO_FD for a net.Socket that is not connected', () => {
    const err = thrown(() => fdOf(new net.Socket()));
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_SOCKET_NO_FD');
    expect(err.message).toMatch(/net\.Socket has no fd/);
  });

  it('throws ERR_SOCKET_NO_FD for a dgram.Socket that is not bound', async () => {
    const u = track(dgram.createSocket('udp4'));
    const err = thrown(() => fdOf(u));
    expect(err.code).toBe('ERR_SOCKET_NO_FD');
    expect(err.message).toMatch(/dgram\.Socket has no fd/);
  });

  it('throws ERR_SOCKET_NO_FD for a net.Server once it is closed', async () => {
    const server = net.createServer();
    await within(once(server.listen(0, LOOPBACK), 'listening'), 'listening');
    const target = socketTarget(fdOf(server));
    await within(new Promise<void>((r) => server.close(() => r())), 'close');
    const err = thrown(() => fdOf(server));
    expect(err.code).toBe('ERR_SOCKET_NO_FD');
    expect(err.message).toMatch(/net\.Server has no fd/);
    expect(target).toMatch(/^socket:/);
  });

  it('throws ERR_SOCKET_NO_FD for a destroyed net.Socket and a closed dgram.Socket', async () => {
    const server = track(net.createServer((s) => track(s)));
    await within(once(server.listen(0, LOOPBACK), 'listening'), 'listening');
    const client = track(net.connect({ host: LOOPBACK, port: (server.address() as net.AddressInfo).port }));
    await within(once(client, 'connect'), 'connect');
    await closeHandle(client);
    expect(thrown(() => fdOf(client)).code).toBe('ERR_SOCKET_NO_FD');

    const u = dgram.createSocket('udp4');
    u.bind(0, LOOPBACK);
    await within(once(u, 'listening'), 'listening');
    await within(new Promise<void>((r) => u.close(() => r())), 'dgram close');
    expect(thrown(() => fdOf(u)).code).toBe('ERR_SOCKET_NO_FD');
  });

  it('throws a TypeError (ERR_INVALID_ARG_TYPE) for anything that is not a socket', () => {
    const notSockets: unknown[] = [undefined, null, 3, 'sock', {}, { fd: 3 }, new EventEmitter(), Buffer.alloc(4)];
    for (const x of notSockets) {
      const err = thrown(() => fdOf(x as net.Socket));
      expect(err, String(x)).toBeInstanceOf(TypeError);
      expect(err.code, String(x)).toBe('ERR_INVALID_ARG_TYPE');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('handing a native fd to Node', () => {
  it('net.Server.listen({ fd }) accepts a net.connect client on a native listening socket and exchanges data; closing the server closes the fd', async () => {
    const fd = own(socket(AF_INET, SOCK_STREAM));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    bind(fd, addrIn(0));
    listen(fd, 16);
    const port = (getsockname(fd) as SockAddrIn).port;
    const target = socketTarget(fd);

    const conns: net.Socket[] = [];
    const server = track(
      net.createServer((conn) => {
        conns.push(track(conn));
        conn.once('data', (d) => conn.write(`echo:${d.toString()}`));
      }),
    );
    disown(fd); // Node's from here on
    server.listen({ fd });
    await within(once(server, 'listening'), 'listening');
    expect(fdOf(server)).toBe(fd);
    expect((server.address() as net.AddressInfo).port).toBe(port);

    const client = track(net.connect({ host: LOOPBACK, port }));
    await within(once(client, 'connect'), 'connect');
    const reply = netRead(client, 'echo:hello'.length);
    client.write('hello');
    expect(await within(reply, 'echo')).toBe('echo:hello');

    expect(conns).toHaveLength(1);
    await closeHandle(client);
    for (const conn of conns) await closeHandle(conn);
    await closeHandle(server);
    expect(fdTarget(fd)).not.toBe(target);
  });

  it('new net.Socket({ fd }) reads what the native peer wrote and writes back; destroying it closes the fd', async () => {
    const [c, a] = await nativeTcpPair();
    const target = socketTarget(c);
    // sockfd/promises connected it, so sockfd's watcher may still hold the fd on this loop: let go of
    // it first (libuv refuses a second handle for the fd with EEXIST).
    release(c);
    disown(c);
    const sock = track(new net.Socket({ fd: c }));
    expect(fdOf(sock)).toBe(c);
    expect(sock.remotePort).toBe((getsockname(a) as SockAddrIn).port);

    const got = netRead(sock, 'from native'.length);
    await sendAll(a, Buffer.from('from native'));
    expect(await within(got, 'data from the native peer')).toBe('from native');

    sock.write('from node');
    const buf = Buffer.alloc(64);
    const n = await p.recv(a, buf, T);
    expect(buf.toString('latin1', 0, n)).toBe('from node');

    await closeHandle(sock);
    expect(fdTarget(c)).not.toBe(target);
    expect(await p.recv(a, buf, T)).toBe(0); // the peer sees the close
  });

  it('dgram bind({ fd }) receives a datagram sent by sockfd sendto; closing the dgram socket closes the fd', async () => {
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    bind(fd, addrIn(0));
    const port = (getsockname(fd) as SockAddrIn).port;
    const target = socketTarget(fd);

    const u = track(dgram.createSocket('udp4'));
    disown(fd);
    // With an fd, dgram emits 'listening' synchronously inside bind(): listen first.
    const listening = within(once(u, 'listening'), 'listening');
    u.bind({ fd });
    await listening;
    expect(fdOf(u)).toBe(fd);
    expect(u.address().port).toBe(port);

    const tx = own(socket(AF_INET, SOCK_DGRAM));
    bind(tx, addrIn(0));
    const message = within(once(u, 'message'), 'message') as Promise<[Buffer, dgram.RemoteInfo]>;
    expect(sendto(tx, Buffer.from('datagram'), undefined, 0, addrIn(port))).toBe(8);
    const [msg, rinfo] = await message;
    expect(msg.toString()).toBe('datagram');
    expect(rinfo.port).toBe((getsockname(tx) as SockAddrIn).port);

    await closeHandle(u);
    expect(fdTarget(fd)).not.toBe(target);
  });

  it('a listener used by sockfd/promises accept, then release()d, serves net.Server.listen({ fd })', async () => {
    const l = nativeListener();
    // First life: sockfd/promises accepts a connection on it.
    const c1 = own(socket(AF_INET, SOCK_STREAM));
    const first = p.accept(l.fd, T);
    await p.connect(c1, addrIn(l.port), T);
    own((await first).fd);
    // A second accept waits on the fd's watcher; release() stops the watcher and rejects it.
    const pending = p.accept(l.fd, T);
    release(l.fd);
    const err = await rejection(pending, 'the released accept');
    expect(err.code).toBe('ERR_SOCKET_CLOSED');

    // Second life: Node's.
    const accepted: net.Socket[] = [];
    const server = track(
      net.createServer((conn) => {
        accepted.push(track(conn));
        conn.end('served by node');
      }),
    );
    disown(l.fd);
    server.listen({ fd: l.fd });
    await within(once(server, 'listening'), 'listening');
    const client = track(net.connect({ host: LOOPBACK, port: l.port }));
    const text = netRead(client, 'served by node'.length);
    expect(await within(text, 'the reply from net.Server')).toBe('served by node');
    expect(accepted).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the same scenario through sockfd and through net/dgram', () => {
  it('100 KB sent through sockfd send and through net write arrive intact and identical', async () => {
    const payload = randomBytes(100 * 1024);

    // sockfd sender -> sockfd receiver.
    const [c, a] = await nativeTcpPair();
    const viaSockfd = recvAll(a);
    await sendAll(c, payload);
    shutdown(c, SHUT_WR);
    const gotSockfd = await viaSockfd;

    // net sender -> sockfd receiver.
    const l = nativeListener();
    const acceptedP = p.accept(l.fd, T);
    const client = track(net.connect({ host: LOOPBACK, port: l.port }));
    const peer = own((await acceptedP).fd);
    const viaNet = recvAll(peer);
    client.end(payload);
    const gotNet = await viaNet;

    expect(gotSockfd.length).toBe(payload.length);
    expect(gotNet.length).toBe(payload.length);
    expect(gotSockfd.equals(payload)).toBe(true);
    expect(gotNet.equals(gotSockfd)).toBe(true);
  });

  it('shutdown(SHUT_WR) and socket.end() both give the peer end-of-stream after the data, and the peer can still write back', async () => {
    // sockfd: half-close with shutdown(SHUT_WR).
    const [c, a] = await nativeTcpPair();
    await sendAll(c, Buffer.from('hello'));
    shutdown(c, SHUT_WR);
    const peerSawSockfd = (await recvAll(a)).toString(); // ends only at recv() === 0
    await sendAll(a, Buffer.from('reply'));
    const buf = Buffer.alloc(64);
    const n = await p.recv(c, buf, T);
    const backSockfd = buf.toString('latin1', 0, n);

    // net: half-close with socket.end().
    const l = nativeListener();
    const acceptedP = p.accept(l.fd, T);
    const client = track(net.connect({ host: LOOPBACK, port: l.port }));
    const peer = own((await acceptedP).fd);
    await within(once(client, 'connect'), 'connect');
    const back = netRead(client, 'reply'.length);
    client.end('hello');
    const peerSawNet = (await recvAll(peer)).toString();
    await sendAll(peer, Buffer.from('reply'));
    const backNet = await within(back, 'the reply after end()');

    expect(peerSawSockfd).toBe('hello');
    expect(peerSawNet).toBe('hello');
    expect(backSockfd).toBe('reply');
    expect(backNet).toBe('reply');
  });

  it('a refused connect gives the same code, errno, syscall, address, port and message from sockfd/promises and net.connect', async () => {
    const port = closedPort(SOCK_STREAM);

    const fd = own(socket(AF_INET, SOCK_STREAM));
    const mine = await rejection(p.connect(fd, addrIn(port), T), 'sockfd connect');

    const client = track(net.connect({ host: LOOPBACK, port }));
    const [theirs] = (await within(once(client, 'error').catch((e: unknown) => [e]), 'net error')) as [NodeJS.ErrnoException];

    const fields = (e: NodeJS.ErrnoException & { address?: string; port?: number }) => ({
      code: e.code,
      errno: e.errno,
      syscall: e.syscall,
      address: e.address,
      port: e.port,
      message: e.message,
    });
    expect(fields(mine)).toEqual({
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: LOOPBACK,
      port,
      message: `connect ECONNREFUSED ${LOOPBACK}:${port}`,
    });
    expect(fields(mine)).toEqual(fields(theirs));
  });

  it('a peer closing with SO_LINGER 0 resets the connection: ECONNRESET -104 from sockfd recv and from a net socket read', async () => {
    // sockfd: a recv waiting on the client when the peer resets.
    const [c, a] = await nativeTcpPair();
    const pending = p.recv(c, Buffer.alloc(64), T);
    setsockopt(a, SOL_SOCKET, SO_LINGER, lingerZero());
    closeFd(a);
    const mine = await rejection(pending, 'sockfd recv after the reset');

    // net: a connected net.Socket reading when the (same kind of) native peer resets.
    const l = nativeListener();
    const acceptedP = p.accept(l.fd, T);
    const client = track(net.connect({ host: LOOPBACK, port: l.port }));
    const peer = own((await acceptedP).fd);
    await within(once(client, 'connect'), 'connect');
    const errored = within(once(client, 'error').catch((e: unknown) => [e]), 'net error') as Promise<[NodeJS.ErrnoException]>;
    setsockopt(peer, SOL_SOCKET, SO_LINGER, lingerZero());
    closeFd(peer);
    const [theirs] = await errored;

    expect(mine.code).toBe('ECONNRESET');
    expect(mine.errno).toBe(-104);
    expect(mine.syscall).toBe('recv');
    expect(theirs.code).toBe('ECONNRESET');
    expect(theirs.errno).toBe(-104);
    expect(theirs.syscall).toBe('read');
    expect({ code: mine.code, errno: mine.errno }).toEqual({ code: theirs.code, errno: theirs.errno });
  });

  it('UDP connected to a closed port: after the ICMP port unreachable, sockfd recv fails and dgram emits error, both ECONNREFUSED -111', async () => {
    const port = closedPort(SOCK_DGRAM);

    // sockfd: connect, send, then recv reports the ICMP error queued on the socket.
    const fd = own(socket(AF_INET, SOCK_DGRAM));
    await p.connect(fd, addrIn(port), T);
    expect(await p.send(fd, Buffer.from('ping'), T)).toBe(4);
    const mine = await rejection(p.recv(fd, Buffer.alloc(64), T), 'sockfd recv');

    // dgram: connect, send. Node does report it: libuv's receive path (started by connect) reads the
    // socket's pending error, and the dgram socket emits 'error' with syscall 'recvmsg'. The send
    // callback itself gets no error.
    const u = track(dgram.createSocket('udp4'));
    u.connect(port, LOOPBACK);
    await within(once(u, 'connect'), 'dgram connect');
    const errored = within(once(u, 'error').catch((e: unknown) => [e]), 'dgram error') as Promise<[NodeJS.ErrnoException]>;
    const sendErr = await within(
      new Promise<Error | null>((r) => u.send('ping', (err) => r(err))),
      'dgram send callback',
    );
    const [theirs] = await errored;

    expect(sendErr).toBeNull();
    expect(mine.code).toBe('ECONNREFUSED');
    expect(mine.errno).toBe(-111);
    expect(mine.syscall).toBe('recv');
    expect(theirs.code).toBe('ECONNREFUSED');
    expect(theirs.errno).toBe(-111);
    expect(theirs.syscall).toBe('recvmsg');
  });
});
