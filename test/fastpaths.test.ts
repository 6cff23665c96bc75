// The fast paths of the plain forms (src/addrmemo.ts) and the non-throwing forms (tryRecv, ...):
// they must give exactly what the slow paths give, never share an object between two results, never
// keep an address they should not, and report errors exactly as before. Peers: another sockfd
// socket, Node's dgram, and a python3 sender.
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  MSG_PEEK,
  SOCK_DGRAM,
  SOCK_STREAM,
  SystemError,
  bind,
  close,
  connect,
  decodeSockaddr,
  encodeSockaddr,
  getsockname,
  recvfrom,
  recvfromInto,
  sendto,
  setsockopt,
  SOL_SOCKET,
  SO_SNDBUF,
  socket,
  socketpair,
  sockaddrHolder,
  tryRecv,
  tryRecvfrom,
  tryRecvfromInto,
  trySend,
  trySendto,
  type InetFamily,
  type SockAddr,
} from '../src/index.js';
import * as promises from '../src/promises.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { thrown } from './helpers/expect.js';

checkFdLeaks();
const fds = ownFds();
const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

function udp(family: InetFamily = AF_INET): { fd: number; addr: SockAddr } {
  const fd = fds.own(socket(family, SOCK_DGRAM));
  bind(fd, family === AF_INET ? { family, address: '127.0.0.1', port: 0 } : { family, address: '::1', port: 0 });
  return { fd, addr: getsockname(fd) };
}

/** Sends one more datagram from a to b and reads it the slow way, for comparison. */
function slowSenderAfter(a: number, b: number): { bytes: number; address: SockAddr | null } {
  trySend(a, Buffer.from('u'));
  return slowSender(b, Buffer.alloc(4));
}

/** What the native layer itself makes of a sender: recvfromInto + decodeSockaddr. */
function slowSender(fd: number, buf: Buffer): { bytes: number; address: SockAddr | null } {
  const from = sockaddrHolder();
  const bytes = recvfromInto(fd, buf, undefined, 0, from);
  return { bytes, address: decodeSockaddr(from) };
}

describe('recvfrom and sendto with address objects', () => {
  it('give the same results as the native conversion, for IPv4 and IPv6 senders that change', () => {
    for (const family of [AF_INET, AF_INET6]) {
      const rx = udp(family);
      const senders = [udp(family), udp(family), udp(family)];
      const buf = Buffer.alloc(64);
      // Each sender twice in a row (a memo hit), then the next (a miss), then the first again.
      for (const tx of [...senders, senders[0]!, senders[0]!, senders[2]!]) {
        sendto(tx.fd, Buffer.from('a'), undefined, 0, rx.addr);
        sendto(tx.fd, Buffer.from('b'), undefined, 0, rx.addr);
        const fast = recvfrom(rx.fd, buf);
        const slow = slowSender(rx.fd, buf);
        expect(fast).toEqual({ bytes: 1, address: tx.addr });
        expect(slow).toEqual({ bytes: 1, address: tx.addr });
        expect(Object.keys(fast.address!)).toEqual(Object.keys(slow.address!));
      }
    }
  });

  it('never hands the same address object to two results, and a result changed by the caller changes nothing later', () => {
    const rx = udp();
    const tx = udp();
    const buf = Buffer.alloc(8);
    sendto(tx.fd, Buffer.from('1'), undefined, 0, rx.addr);
    sendto(tx.fd, Buffer.from('2'), undefined, 0, rx.addr);
    const first = recvfrom(rx.fd, buf);
    (first.address as { port: number }).port = 1;
    const second = recvfrom(rx.fd, buf);
    expect(second.address).not.toBe(first.address);
    expect(second.address).toEqual(tx.addr);
  });

  it('send to a new destination when the same object is changed between calls, as an object literal per call does', () => {
    const a = udp();
    const b = udp();
    const tx = udp();
    const to = { family: AF_INET, address: '127.0.0.1', port: (a.addr as { port: number }).port };
    const buf = Buffer.alloc(8);
    sendto(tx.fd, Buffer.from('A'), undefined, 0, to);
    to.port = (b.addr as { port: number }).port;
    sendto(tx.fd, Buffer.from('B'), undefined, 0, to);
    sendto(tx.fd, Buffer.from('C'), undefined, 0, { family: AF_INET, address: '127.0.0.1', port: to.port });
    expect(buf.toString('utf8', 0, recvfrom(a.fd, buf).bytes)).toBe('A');
    expect(buf.toString('utf8', 0, recvfrom(b.fd, buf).bytes)).toBe('B');
    expect(buf.toString('utf8', 0, recvfrom(b.fd, buf).bytes)).toBe('C');
  });

  it('read each field of the address once and keep the errors they always had', () => {
    const tx = udp();
    const rx = udp();
    let reads = 0;
    const to = {
      family: AF_INET,
      get address() {
        reads++;
        return '127.0.0.1';
      },
      port: (rx.addr as { port: number }).port,
    };
    sendto(tx.fd, Buffer.from('x'), undefined, 0, to);
    expect(reads).toBe(1);
    const err = thrown(() => sendto(tx.fd, Buffer.from('x'), undefined, 0, { family: AF_INET, address: '127.0.0.1', port: 70000 }));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/"addr\.port"/);
    const bad = thrown(() => sendto(tx.fd, Buffer.from('x'), undefined, 0, { family: AF_INET, address: '127.0.0.256', port: 1 }));
    expect((bad as Error & { code: string }).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('a refused sendto names the address it was given', () => {
    // Port 0 is no destination: UDP refuses it with EINVAL before anything is sent.
    const fd = fds.own(socket(AF_INET, SOCK_DGRAM));
    for (let i = 0; i < 2; i++) {
      const err = thrown(() => sendto(fd, Buffer.from('x'), undefined, 0, { family: AF_INET, address: '127.0.0.3', port: 0 }));
      expect(err).toBeInstanceOf(SystemError);
      expect((err as SystemError).code).toBe('EINVAL');
      expect((err as SystemError).address).toBe('127.0.0.3');
    }
  });

  it('reports the senders of a dgram peer and of a python3 peer as they are', async () => {
    const rx = udp();
    const port = (rx.addr as { port: number }).port;
    const d = dgram.createSocket('udp4');
    sockets.push(d);
    await new Promise<void>((r) => d.bind(0, '127.0.0.1', () => r()));
    d.send('from dgram', port, '127.0.0.1');
    const buf = Buffer.alloc(64);
    const got = await promises.recvfrom(rx.fd, buf, { timeout: 5000 });
    expect(got.address).toEqual({ family: AF_INET, address: '127.0.0.1', port: d.address().port });
    const py = spawnSync(
      'python3',
      ['-c', `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0)); s.sendto(b"py", ("127.0.0.1", ${port})); print(s.getsockname()[1])`],
      { encoding: 'utf8', timeout: 10_000 },
    );
    expect(py.status).toBe(0);
    const r = await promises.recvfrom(rx.fd, buf, { timeout: 5000 });
    expect(r).toEqual({ bytes: 2, address: { family: AF_INET, address: '127.0.0.2', port: Number(py.stdout) } });
  });

  it('other families take the native path: unix senders, a connected stream socket (null)', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM).map((fd) => fds.own(fd)) as [number, number];
    trySend(a, Buffer.from('u'));
    expect(recvfrom(b, Buffer.alloc(4))).toEqual(slowSenderAfter(a, b));
    const [c, d] = socketpair(AF_UNIX, SOCK_STREAM).map((fd) => fds.own(fd)) as [number, number];
    trySend(c, Buffer.from('s'));
    expect(recvfrom(d, Buffer.alloc(4))).toEqual({ bytes: 1, address: null });
  });
});

describe('the non-throwing forms', () => {
  it('tryRecv, tryRecvfrom and tryRecvfromInto return null when nothing waits, and what recv/recvfrom return otherwise', () => {
    const rx = udp();
    const tx = udp();
    const buf = Buffer.alloc(16);
    const from = sockaddrHolder();
    expect(tryRecv(rx.fd, buf)).toBeNull();
    expect(tryRecvfrom(rx.fd, buf)).toBeNull();
    expect(tryRecvfromInto(rx.fd, buf, undefined, 0, from)).toBeNull();
    sendto(tx.fd, Buffer.from('hello'), undefined, 0, rx.addr);
    expect(tryRecv(rx.fd, buf, undefined, MSG_PEEK)).toBe(5);
    expect(tryRecvfrom(rx.fd, buf, undefined, MSG_PEEK)).toEqual({ bytes: 5, address: tx.addr });
    expect(tryRecvfromInto(rx.fd, buf, undefined, 0, from)).toBe(5);
    expect(decodeSockaddr(from)).toEqual(tx.addr);
    expect(tryRecvfrom(rx.fd, buf)).toBeNull();
  });

  it('they do not wait on a blocking socket (MSG_DONTWAIT is added)', () => {
    const rx = udp();
    const t = Date.now();
    expect(tryRecvfrom(rx.fd, Buffer.alloc(4))).toBeNull();
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('trySend and trySendto return null when the send queue is full, and the count otherwise', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM).map((fd) => fds.own(fd)) as [number, number];
    setsockopt(a, SOL_SOCKET, SO_SNDBUF, 4096);
    const chunk = Buffer.alloc(65536);
    let full = false;
    for (let i = 0; i < 1000 && !full; i++) full = trySend(a, chunk) === null;
    expect(full).toBe(true);
    expect(tryRecv(b, Buffer.alloc(65536))).toBeGreaterThan(0);
    const rx = udp();
    const tx = udp();
    expect(trySendto(tx.fd, Buffer.from('x'), undefined, 0, rx.addr)).toBe(1);
    expect(trySendto(tx.fd, Buffer.from('x'), undefined, 0, encodeSockaddr(rx.addr))).toBe(1);
  });

  it('other failures throw the SystemError the plain call throws, and bad arguments its argument errors', () => {
    const fd = fds.own(socket(AF_INET, SOCK_STREAM));
    const err = thrown(() => tryRecv(fd, Buffer.alloc(4)));
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).code).toBe('ENOTCONN');
    const refused = thrown(() => trySendto(fds.own(socket(AF_INET, SOCK_DGRAM)), Buffer.from('x'), undefined, 0, { family: AF_INET6, address: '::1', port: 9 }));
    expect((refused as SystemError).code).toBe('EAFNOSUPPORT');
    expect((refused as SystemError).address).toBe('::1');
    const rx = udp();
    expect((thrown(() => tryRecv(rx.fd, Buffer.alloc(4), 5)) as Error & { code: string }).code).toBe('ERR_OUT_OF_RANGE');
    expect((thrown(() => tryRecv(rx.fd, Buffer.alloc(4), undefined, 2 ** 31)) as Error & { code: string }).code).toBe('ERR_OUT_OF_RANGE');
    expect((thrown(() => tryRecvfromInto(rx.fd, Buffer.alloc(4), undefined, 0, 'x' as never)) as Error & { code: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((thrown(() => tryRecv(2 ** 32 + rx.fd, Buffer.alloc(4))) as Error & { code: string }).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('connect then tryRecv on a connected UDP socket reads what the peer sent', () => {
    const a = udp();
    const b = udp();
    connect(a.fd, b.addr);
    sendto(b.fd, Buffer.from('hi'), undefined, 0, a.addr);
    const buf = Buffer.alloc(4);
    expect(tryRecv(a.fd, buf)).toBe(2);
    expect(buf.toString('utf8', 0, 2)).toBe('hi');
  });
});
