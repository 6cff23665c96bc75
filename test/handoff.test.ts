// toNetServer, toNetSocket and toDgram: sockfd sockets handed to Node's net, http and dgram. The
// backlog is checked with `ss` (Send-Q of a listener is its backlog), against Node's own
// server.listen({ fd }) as the witness of what the helper prevents; the EEXIST trap of a forgotten
// release(fd) is shown with Node directly and shown gone through the helpers. All on loopback.
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  POLLIN,
  SOCK_DGRAM,
  SOCK_STREAM,
  SystemError,
  bind,
  close,
  fdOf,
  getsockname,
  listen,
  sendto,
  socket,
  socketpair,
  toDgram,
  toNetServer,
  toNetSocket,
  watch,
  type SockAddrIn,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { within } from './helpers/async.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks } from './helpers/fds.js';
import { ssTcp, ssUnavailable } from './helpers/ss.js';

checkFdLeaks();

const noSs = ssUnavailable();
if (noSs) console.log('skipping the ss checks of toNetServer:', noSs, '(install the Debian package iproute2)');

const LOOPBACK = '127.0.0.1';
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A TCP listener on loopback with this backlog, made by sockfd. */
function listener(backlog: number, family = AF_INET): number {
  const fd = socket(family, SOCK_STREAM);
  bind(fd, { family, address: family === AF_INET ? LOOPBACK : '::1', port: 0 });
  listen(fd, backlog);
  return fd;
}

const portOf = (fd: number): number => (getsockname(fd) as SockAddrIn).port;

/** The backlog `ss` reports for the TCP listener on this port (Send-Q). */
function ssBacklog(port: number): number {
  const entry = ssTcp(`sport = :${port}`).find((e) => e.state === 'LISTEN');
  expect(entry, `ss lists a listener on port ${port}`).toBeDefined();
  return entry!.sendQ;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

describe('toNetServer', () => {
  it.skipIf(noSs !== null)('keeps the native backlog, where Node\'s own listen({ fd }) puts 511', async () => {
    const viaNode = listener(7);
    const plain = net.createServer().listen({ fd: viaNode });
    closers.push(() => closeServer(plain));
    expect(ssBacklog(portOf(viaNode))).toBe(511); // the trap, as Node has it

    const fd = listener(7);
    const server = toNetServer(fd);
    closers.push(() => closeServer(server));
    expect(server.listening).toBe(true);
    expect(ssBacklog(portOf(fd))).toBe(7);
  });

  it.skipIf(noSs !== null)('keeps a backlog of 0 too, and takes one given in the options', async () => {
    const zero = listener(0);
    const s0 = toNetServer(zero);
    closers.push(() => closeServer(s0));
    expect(ssBacklog(portOf(zero))).toBe(0);
    const fd = listener(100);
    const s3 = toNetServer(fd, { backlog: 3 });
    closers.push(() => closeServer(s3));
    expect(ssBacklog(portOf(fd))).toBe(3);
  });

  it.skipIf(noSs !== null)('keeps the backlog of an AF_UNIX listener (read through NETLINK_SOCK_DIAG)', async () => {
    const name = `sockfd-handoff-${process.pid}-${Math.random().toString(16).slice(2)}`;
    const fd = socket(AF_UNIX, SOCK_STREAM);
    bind(fd, { family: AF_UNIX, path: `\0${name}` });
    listen(fd, 5);
    const server = toNetServer(fd);
    closers.push(() => closeServer(server));
    const out = execFileSync('ss', ['-xlH', 'src', `@${name}`], { encoding: 'utf8' }).trim().split(/\s+/);
    expect(out.slice(0, 4)).toEqual(['u_str', 'LISTEN', '0', '5']);
  });

  it('serves http from a native listener given to http.createServer()', async () => {
    const fd = listener(16);
    const server = toNetServer(fd, { server: http.createServer((req, res) => res.end(`hello ${req.url}`)) });
    closers.push(() => closeServer(server));
    expect(server).toBeInstanceOf(http.Server);
    const body = await within(
      new Promise<string>((resolve, reject) => {
        http.get({ host: LOOPBACK, port: portOf(fd), path: '/native', agent: false }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      }),
      'the http response',
    );
    expect(body).toBe('hello /native');
  });

  it('takes an fd that sockfd/promises used without release(fd), where Node alone fails with EEXIST', async () => {
    const accepted = async (fd: number): Promise<void> => {
      const client = net.connect(portOf(fd), LOOPBACK);
      const conn = await p.accept(fd, { timeout: 5000 });
      close(conn.fd);
      client.destroy();
    };
    const trap = listener(8);
    await accepted(trap); // sockfd's watcher of the fd stays started after the call
    const plain = net.createServer().listen({ fd: trap });
    const err = await within(new Promise<NodeJS.ErrnoException>((r) => plain.once('error', r)), 'Node\'s listen error');
    expect(err.code).toBe('EEXIST');
    close(trap);

    const fd = listener(8);
    await accepted(fd);
    const server = toNetServer(fd);
    closers.push(() => closeServer(server));
    const connection = within(new Promise<net.Socket>((r) => server.once('connection', r)), 'a connection through net');
    const client = net.connect(portOf(fd), LOOPBACK);
    closers.push(() => client.destroy());
    (await connection).destroy();
  });

  it('refuses an fd that a pending sockfd/promises call still waits on', async () => {
    const fd = listener(4);
    const ac = new AbortController();
    const pending = p.accept(fd, { signal: ac.signal });
    const err = thrown(() => toNetServer(fd));
    expect(err).toMatchObject({ code: 'ERR_SOCKET_WATCHED', message: expect.stringContaining('1 sockfd/promises call(s) waiting') });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORT_ERR' });
    close(fd);
  });

  it('refuses what is not a listening stream socket, saying what it is', () => {
    const file = fs.openSync('/proc/self/status', 'r');
    expect(thrown(() => toNetServer(file))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_FD_TYPE', message: expect.stringContaining('a regular file, not a socket') });
    fs.closeSync(file);
    const udp = socket(AF_INET, SOCK_DGRAM);
    expect(thrown(() => toNetServer(udp))).toMatchObject({ code: 'ERR_INVALID_FD_TYPE', message: expect.stringContaining('AF_INET SOCK_DGRAM socket') });
    expect(thrown<Error>(() => toNetServer(udp)).message).toContain('use toDgram');
    close(udp);
    const idle = socket(AF_INET, SOCK_STREAM);
    expect(thrown(() => toNetServer(idle))).toMatchObject({ code: 'ERR_SOCKET_NOT_LISTENING' });
    close(idle);
    const closed = socket(AF_INET, SOCK_STREAM);
    close(closed);
    expect(thrown<SystemError>(() => toNetServer(closed))).toMatchObject({ code: 'EBADF', syscall: 'fstat' });
  });

  it('refuses bad options instead of ignoring them', () => {
    const fd = listener(4);
    expect(thrown(() => toNetServer(fd, { server: http.createServer(), allowHalfOpen: true }))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(thrown(() => toNetServer(fd, { backlog: -1 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => toNetServer(fd, { server: {} as net.Server }))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => toNetServer('3' as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    close(fd);
  });
});

describe('toNetSocket', () => {
  it('gives a connected sockfd socket to net, after sockfd/promises connect, without release(fd)', async () => {
    const echo = net.createServer((c) => c.pipe(c)).listen(0, LOOPBACK);
    closers.push(() => closeServer(echo));
    await within(new Promise((r) => echo.once('listening', r)), 'the echo server');
    const fd = socket(AF_INET, SOCK_STREAM);
    await p.connect(fd, { family: AF_INET, address: LOOPBACK, port: (echo.address() as net.AddressInfo).port }, { timeout: 5000 });
    const sock = toNetSocket(fd);
    closers.push(() => sock.destroy());
    expect(fdOf(sock)).toBe(fd);
    sock.write('through net');
    const back = await within(new Promise<string>((r) => sock.once('data', (d: Buffer) => r(d.toString()))), 'the echo');
    expect(back).toBe('through net');
  });

  it('gives an AF_UNIX stream socket to net as a pipe', async () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
    const sa = toNetSocket(a), sb = toNetSocket(b);
    closers.push(() => sa.destroy(), () => sb.destroy());
    sa.end('over a socketpair');
    const text = await within(new Promise<string>((r) => { let t = ''; sb.on('data', (d: Buffer) => (t += d)).on('end', () => r(t)); }), 'the data');
    expect(text).toBe('over a socketpair');
  });

  it('refuses an unconnected, a listening and a datagram socket, and an fd net already owns', async () => {
    const idle = socket(AF_INET, SOCK_STREAM);
    expect(thrown(() => toNetSocket(idle))).toMatchObject({ code: 'ERR_SOCKET_NOT_CONNECTED', message: expect.stringContaining('not connected') });
    close(idle);
    const l = listener(2);
    expect(thrown(() => toNetSocket(l))).toMatchObject({ code: 'ERR_SOCKET_NOT_CONNECTED', message: expect.stringContaining('use toNetServer') });
    close(l);
    const udp = socket(AF_INET6, SOCK_DGRAM);
    expect(thrown(() => toNetSocket(udp))).toMatchObject({ code: 'ERR_INVALID_FD_TYPE', message: expect.stringContaining('AF_INET6 SOCK_DGRAM') });
    close(udp);
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
    const owner = new net.Socket({ fd: a });
    closers.push(() => owner.destroy());
    expect(thrown(() => toNetSocket(a))).toMatchObject({ code: 'ERR_SOCKET_WATCHED', message: expect.stringContaining('another net/dgram handle') });
    close(b);
    expect(thrown(() => toNetSocket(3, { fd: 4 } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});

describe('toDgram', () => {
  it('gives a bound UDP socket to dgram, which receives at once', async () => {
    const fd = socket(AF_INET, SOCK_DGRAM);
    bind(fd, { family: AF_INET, address: LOOPBACK, port: 0 });
    const udp = toDgram(fd);
    closers.push(() => new Promise((r) => udp.close(() => r(undefined))));
    expect(udp.address().port).toBe(portOf(fd));
    const got = within(new Promise<string>((r) => udp.once('message', (m) => r(m.toString()))), 'the datagram');
    const sender = socket(AF_INET, SOCK_DGRAM);
    sendto(sender, Buffer.from('Tracy'), undefined, 0, getsockname(fd));
    close(sender);
    expect(await got).toBe('Tracy');
  });

  it('takes the type from the socket\'s family and refuses the other one', () => {
    const fd = socket(AF_INET6, SOCK_DGRAM);
    expect(thrown(() => toDgram(fd, { type: 'udp4' }))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("must be 'udp6'") });
    const udp = toDgram(fd, { type: 'udp6' });
    expect(udp).toBeInstanceOf(dgram.Socket);
    udp.close();
  });

  it('refuses a stream socket, and an fd a watch() subscription still uses', () => {
    const tcp = socket(AF_INET, SOCK_STREAM);
    expect(thrown(() => toDgram(tcp))).toMatchObject({ code: 'ERR_INVALID_FD_TYPE', message: expect.stringContaining('use toNetSocket or toNetServer') });
    close(tcp);
    const fd = socket(AF_INET, SOCK_DGRAM);
    const w = watch(fd, POLLIN, () => {});
    expect(thrown(() => toDgram(fd))).toMatchObject({ code: 'ERR_SOCKET_WATCHED', message: expect.stringContaining('1 watch() subscription(s)') });
    w.close();
    const udp = toDgram(fd); // the subscription is closed: the idle watcher is released
    udp.close();
  });
});
