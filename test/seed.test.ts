// The seed note's socket flows (TCP: socket → bind → listen → accept ↔ connect → write/read → close;
// UDP: sendto/recvfrom with `Hello, %s!`), end to end, with sockfd on one side and a real peer on the
// other: Node's `net`, the seed's Python programs (test/peers/), or another sockfd socket.
//
// sockfd's calls are synchronous: a blocking accept/read would freeze the event loop that drives the
// `net` peer and the child process pipes. So every native socket here is non-blocking and driven by
// `retry` below: try the call, and on EAGAIN (EINPROGRESS for connect) wait 5 ms and try again, for
// at most DEADLINE_MS.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  AF_INET,
  F_GETFL,
  F_SETFL,
  O_NONBLOCK,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SystemError,
  accept,
  bind,
  close,
  connect,
  fcntl,
  getpeername,
  getsockname,
  getsockopt,
  listen,
  poll,
  read,
  recvfrom,
  sendto,
  socket,
  write,
  type SockAddr,
  type SockAddrIn,
} from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

// The seed's texts.
const SERVER_GREETING = '你好，来自服务器的问候!\n';
const CLIENT_GREETING = '你好，这是客户端!';
const PY_WELCOME = '欢迎访问TCP服务器！\r\n';
const NAMES = ['Michael', 'Tracy', 'Sarah'];

const DEADLINE_MS = 10_000;
const PEERS = path.join(__dirname, 'peers');
const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Resources opened by a test, released by afterEach whatever happened.

const openFds = new Set<number>();
const children = new Set<ChildProcess>();
const nodeHandles = new Set<net.Server | net.Socket>();

/** Registers a native fd so afterEach closes it if the test does not. */
function own(fd: number): number {
  openFds.add(fd);
  return fd;
}

/** Closes a native fd the test owns. */
function closeFd(fd: number): void {
  openFds.delete(fd);
  close(fd);
}

afterEach(async () => {
  for (const fd of openFds) {
    try {
      close(fd);
    } catch {
      // Already gone; the test's own assertions say why.
    }
  }
  openFds.clear();
  for (const h of nodeHandles) {
    if (h instanceof net.Server) await new Promise<void>((r) => h.close(() => r()));
    else h.destroy();
  }
  nodeHandles.clear();
  await Promise.all([...children].map((c) => killAndReap(c)));
  children.clear();
});

// ---------------------------------------------------------------------------------------------
// Driving non-blocking native sockets from async code.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Makes `call` until it stops failing with one of `again` (EAGAIN by default), within DEADLINE_MS. */
async function retry<T>(what: string, call: () => T, again: readonly string[] = ['EAGAIN']): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    try {
      return call();
    } catch (err) {
      if (!(err instanceof SystemError) || !again.includes(err.code)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: still not ready after ${DEADLINE_MS} ms`);
    await sleep(5);
  }
}

/** Waits (within DEADLINE_MS) until `ready()` is true. */
async function until(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${DEADLINE_MS} ms`);
    await sleep(5);
  }
}

/** C's non-blocking connect: EINPROGRESS, then POLLOUT, then SO_ERROR must be 0. */
async function connectNonBlocking(fd: number, addr: SockAddr): Promise<void> {
  try {
    connect(fd, addr);
    return; // Connected at once (possible on loopback).
  } catch (err) {
    if (!(err instanceof SystemError) || err.code !== 'EINPROGRESS') throw err;
  }
  await until('connect', () => (poll([{ fd, events: POLLOUT }], 0)[0]!.revents & POLLOUT) !== 0);
  expect(getsockopt(fd, SOL_SOCKET, SO_ERROR)).toBe(0);
}

/** Accepts one connection, the new fd non-blocking too. */
async function acceptOne(listenFd: number): Promise<{ fd: number; address: SockAddr | null }> {
  const conn = await retry('accept', () => accept(listenFd, SOCK_NONBLOCK));
  own(conn.fd);
  return conn;
}

/** Writes all of `data`, across partial writes and EAGAIN. */
async function writeAll(fd: number, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) off += await retry('write', () => write(fd, data.subarray(off)));
}

/** Reads exactly `n` bytes (fails at an early end of stream). */
async function readExactly(fd: number, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    const got = await retry('read', () => read(fd, buf.subarray(off)));
    if (got === 0) throw new Error(`read: end of stream after ${off} of ${n} bytes`);
    off += got;
  }
  return buf;
}

/** Reads until end of stream (read returns 0). */
async function readToEnd(fd: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    const got = await retry('read', () => read(fd, buf));
    if (got === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, got)));
  }
}

/** Receives one datagram: its text and sender. */
async function recvDatagram(fd: number): Promise<{ text: string; from: SockAddr | null }> {
  const buf = Buffer.alloc(1024);
  const { bytes, address } = await retry('recvfrom', () => recvfrom(fd, buf));
  return { text: buf.toString('utf8', 0, bytes), from: address };
}

/** A listening non-blocking TCP socket on 127.0.0.1 and an ephemeral port. */
function nativeTcpServer(): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
  bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
  listen(fd, 5);
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

/** A bound non-blocking UDP socket on 127.0.0.1 and an ephemeral port. */
function nativeUdpSocket(): { fd: number; port: number } {
  const fd = own(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
  bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
  return { fd, port: (getsockname(fd) as SockAddrIn).port };
}

const inet = (port: number): SockAddrIn => ({ family: AF_INET, address: LOOPBACK, port });

// ---------------------------------------------------------------------------------------------
// Node and Python peers.

/** `promise`, or a rejection naming `what` after DEADLINE_MS. */
function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Peer {
  child: ChildProcess;
  /** All stdout so far. */
  stdout: () => string;
  /** Resolves with the exit code and all of stdout/stderr once the process is gone. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `python3 test/peers/<script> ...args`. */
function python(script: string, ...args: (string | number)[]): Peer {
  const child = spawn('python3', [path.join(PEERS, script), ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONUTF8: '1' },
  });
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  const stdout = () => Buffer.concat(out).toString('utf8');
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout(), stderr: Buffer.concat(err).toString('utf8') }));
  });
  done.catch(() => {}); // Observed by whoever awaits it; never an unhandled rejection.
  return { child, stdout, done };
}

/** The port a peer prints on its first line of stdout. */
async function portOf(peer: Peer): Promise<number> {
  const exited = peer.done.then((r) => {
    throw new Error(`peer exited (${r.code}) before printing its port: ${r.stderr}`);
  });
  exited.catch(() => {});
  const line = await within(
    'peer port line',
    Promise.race([
      (async () => {
        await until('peer port line', () => peer.stdout().includes('\n'));
        return peer.stdout().split('\n')[0]!;
      })(),
      exited,
    ]),
  );
  const port = Number(line.trim());
  expect(Number.isInteger(port) && port > 0 && port < 65536, `port line ${JSON.stringify(line)}`).toBe(true);
  return port;
}

/** Waits for a peer to exit and checks it exited 0. */
async function finished(peer: Peer): Promise<string> {
  const r = await within('peer exit', peer.done);
  expect(r.code, `peer stderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function killAndReap(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // Wait for 'close': its stdio pipes (socketpairs in libuv) are closed by then.
  if (child.stdout?.closed === false || child.stderr?.closed === false || child.exitCode === null) {
    await Promise.race([new Promise((r) => child.once('close', r)), sleep(2000)]);
  }
}

// ---------------------------------------------------------------------------------------------

describe('TCP sequence with Node net', () => {
  test('a native server accepts a net client, reads its greeting and answers with the server greeting', async () => {
    const server = nativeTcpServer();

    // The seed's client: write the greeting on connect, end after the answer.
    const client = net.createConnection({ host: LOOPBACK, port: server.port });
    nodeHandles.add(client);
    const clientGot = within(
      'net client',
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        client.on('connect', () => client.write(CLIENT_GREETING));
        client.on('data', (d: Buffer) => {
          chunks.push(d);
          client.end();
        });
        client.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        client.on('error', reject);
      }),
    );

    const conn = await acceptOne(server.fd);
    const request = await readExactly(conn.fd, Buffer.byteLength(CLIENT_GREETING));
    await writeAll(conn.fd, Buffer.from(SERVER_GREETING));
    closeFd(conn.fd);
    closeFd(server.fd);

    expect(request.toString('utf8')).toBe(CLIENT_GREETING);
    expect(await clientGot).toBe(SERVER_GREETING);
  });

  test("accept reports the net client's address as the peer", async () => {
    const server = nativeTcpServer();
    const client = net.createConnection({ host: LOOPBACK, port: server.port });
    nodeHandles.add(client);
    const connected = within('net connect', new Promise<void>((r, j) => client.on('connect', r).on('error', j)));

    const conn = await acceptOne(server.fd);
    await connected;
    expect(conn.address).toEqual({ family: AF_INET, address: LOOPBACK, port: client.localPort });
    expect(getpeername(conn.fd)).toEqual(conn.address);
    expect(getsockname(conn.fd)).toEqual(inet(server.port));
    client.destroy();
    closeFd(conn.fd);
    closeFd(server.fd);
  });

  test('a native client connects to net.createServer, sends its greeting and reads the answer until EOF', async () => {
    // The seed's server: greet each client on connection; collect what the client says until it ends.
    let serverGot!: Promise<string>;
    const server = net.createServer((s) => {
      serverGot = within(
        'net server data',
        new Promise<string>((resolve, reject) => {
          const chunks: Buffer[] = [];
          s.on('data', (d: Buffer) => chunks.push(d));
          s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          s.on('error', reject);
        }),
      );
      s.end(SERVER_GREETING);
    });
    nodeHandles.add(server);
    await within('net listen', new Promise<void>((r) => server.listen(0, LOOPBACK, r)));
    const port = (server.address() as net.AddressInfo).port;

    // Blocking socket made non-blocking with fcntl, as a C program would.
    const fd = own(socket(AF_INET, SOCK_STREAM));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    await connectNonBlocking(fd, inet(port));
    expect(getpeername(fd)).toEqual(inet(port));
    await writeAll(fd, Buffer.from(CLIENT_GREETING));
    const answer = await readToEnd(fd);
    closeFd(fd);

    expect(answer.toString('utf8')).toBe(SERVER_GREETING);
    await until('net server connection', () => serverGot !== undefined);
    expect(await serverGot).toBe(CLIENT_GREETING);
  });
});

describe('TCP with the Python server (tcp_server.py)', () => {
  test('a native client receives the welcome line, then EOF', async () => {
    const peer = python('tcp_server.py', 0, 1);
    const port = await portOf(peer);

    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    await connectNonBlocking(fd, inet(port));
    const got = await readToEnd(fd);
    closeFd(fd);

    expect(got.toString('utf8')).toBe(PY_WELCOME);
    expect(got).toEqual(Buffer.from(PY_WELCOME, 'utf8'));
    await finished(peer);
  });

  test("the Python server logs the native client's local address", async () => {
    const peer = python('tcp_server.py', 0, 1);
    const port = await portOf(peer);

    const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    await connectNonBlocking(fd, inet(port));
    const local = getsockname(fd) as SockAddrIn;
    await readToEnd(fd);
    closeFd(fd);

    const stdout = await finished(peer);
    expect(stdout.split('\n')[1]).toBe(`连接地址：('${LOOPBACK}', ${local.port})`);
  });

  test('the Python server serves several native clients in turn', async () => {
    const peer = python('tcp_server.py', 0, 3);
    const port = await portOf(peer);

    for (let i = 0; i < 3; i++) {
      const fd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
      await connectNonBlocking(fd, inet(port));
      expect((await readToEnd(fd)).toString('utf8')).toBe(PY_WELCOME);
      closeFd(fd);
    }
    await finished(peer);
  });
});

describe('TCP with the Python client (tcp_client.py)', () => {
  test("a native server reads the Python client's greeting to EOF and its answer reaches the client", async () => {
    const server = nativeTcpServer();
    const peer = python('tcp_client.py', server.port, CLIENT_GREETING);

    const conn = await acceptOne(server.fd);
    closeFd(server.fd);
    const request = await readToEnd(conn.fd); // The client half-closes after sending.
    await writeAll(conn.fd, Buffer.from(SERVER_GREETING));
    closeFd(conn.fd);

    expect(request.toString('utf8')).toBe(CLIENT_GREETING);
    expect(await finished(peer)).toBe(SERVER_GREETING);
  });
});

describe('UDP with the Python programs', () => {
  test("a native client gets 'Hello, <name>!' from udp_server.py for each name, from the server's address", async () => {
    const peer = python('udp_server.py', 0, NAMES.length);
    const port = await portOf(peer);

    // The seed's client does not bind: the first sendto picks its port.
    const fd = own(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
    const replies: string[] = [];
    for (const name of NAMES) {
      expect(sendto(fd, Buffer.from(name), undefined, 0, inet(port))).toBe(name.length);
      const { text, from } = await recvDatagram(fd);
      expect(from).toEqual(inet(port));
      replies.push(text);
    }
    closeFd(fd);

    expect(replies).toEqual(['Hello, Michael!', 'Hello, Tracy!', 'Hello, Sarah!']);
    await finished(peer);
  });

  test("udp_server.py logs the native client's autobound address for every datagram", async () => {
    const peer = python('udp_server.py', 0, NAMES.length);
    const port = await portOf(peer);

    const fd = own(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
    for (const name of NAMES) {
      sendto(fd, Buffer.from(name), undefined, 0, inet(port));
      await recvDatagram(fd);
    }
    const local = getsockname(fd) as SockAddrIn;
    closeFd(fd);

    // An unbound UDP socket's first sendto autobinds it to the wildcard address and an ephemeral port.
    expect(local.address).toBe('0.0.0.0');
    expect(local.port).toBeGreaterThan(0);
    const stdout = await finished(peer);
    expect(stdout.split('\n').slice(1)).toEqual([
      `Bind UDP on ${port}...`,
      ...NAMES.map(() => `Received from ${LOOPBACK}:${local.port}.`),
      '',
    ]);
  });

  test('multi-byte UTF-8 names survive the round trip through udp_server.py', async () => {
    const peer = python('udp_server.py', 0, 1);
    const port = await portOf(peer);

    const fd = own(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
    sendto(fd, Buffer.from('小明'), undefined, 0, inet(port));
    const { text } = await recvDatagram(fd);
    closeFd(fd);

    expect(text).toBe('Hello, 小明!');
    await finished(peer);
  });

  test('udp_client.py prints the native echo server\'s replies exactly', async () => {
    const server = nativeUdpSocket();
    const peer = python('udp_client.py', server.port);

    const received: string[] = [];
    for (let i = 0; i < NAMES.length; i++) {
      const { text, from } = await recvDatagram(server.fd);
      expect(from).toMatchObject({ family: AF_INET, address: LOOPBACK });
      received.push(text);
      const reply = Buffer.from(`Hello, ${text}!`);
      expect(sendto(server.fd, reply, undefined, 0, from!)).toBe(reply.length);
    }
    closeFd(server.fd);

    expect(received).toEqual(NAMES);
    expect(await finished(peer)).toBe('Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n');
  });
});

describe('native ↔ native', () => {
  test("the UDP flow: the client's names reach the server and each 'Hello, <name>!' comes back from the server's address", async () => {
    const server = nativeUdpSocket();
    const clientFd = own(socket(AF_INET, SOCK_DGRAM));
    fcntl(clientFd, F_SETFL, fcntl(clientFd, F_GETFL) | O_NONBLOCK);
    bind(clientFd, inet(0)); // The seed's UDP diagram binds both sides.
    const clientAddr = getsockname(clientFd);

    const replies: string[] = [];
    for (const name of NAMES) {
      sendto(clientFd, Buffer.from(name), undefined, 0, inet(server.port));
      const request = await recvDatagram(server.fd);
      expect(request).toEqual({ text: name, from: clientAddr });
      sendto(server.fd, Buffer.from(`Hello, ${request.text}!`), undefined, 0, request.from!);
      const reply = await recvDatagram(clientFd);
      expect(reply.from).toEqual(inet(server.port));
      replies.push(reply.text);
    }
    closeFd(clientFd);
    closeFd(server.fd);

    expect(replies).toEqual(['Hello, Michael!', 'Hello, Tracy!', 'Hello, Sarah!']);
  });

  test('the TCP sequence: connect, accept, write/read both ways, close gives EOF', async () => {
    const server = nativeTcpServer();
    const clientFd = own(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK));
    await connectNonBlocking(clientFd, inet(server.port));
    const conn = await acceptOne(server.fd);
    expect(conn.address).toEqual(getsockname(clientFd));

    await writeAll(clientFd, Buffer.from(CLIENT_GREETING));
    expect((await readExactly(conn.fd, Buffer.byteLength(CLIENT_GREETING))).toString('utf8')).toBe(CLIENT_GREETING);
    await writeAll(conn.fd, Buffer.from(SERVER_GREETING));
    closeFd(conn.fd);
    expect((await readToEnd(clientFd)).toString('utf8')).toBe(SERVER_GREETING);
    closeFd(clientFd);
    closeFd(server.fd);
  });
});
