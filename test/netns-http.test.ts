// The comparison this is all for: client — router — server namespaces, the router adding 20 ms ± 5 ms
// of delay and 2% loss on the way out of each of its links; Node's http serving from a listener made
// with socketIn inside the server namespace (handed over with toNetServer); the same 1 MiB fetched
// from the client namespace once through Node's http (a socketIn socket handed over with
// toNetSocket) and once through sockfd/promises; the same bytes arrive both ways, the handshakes
// take at least the round trip the delay makes, and TCP_INFO of the server's sockets shows the
// retransmissions the loss caused. Nothing is left behind; without CAP_NET_ADMIN/CAP_SYS_ADMIN the
// test is skipped, saying why.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, statSync } from 'node:fs';
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  IPPROTO_TCP,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_REUSEADDR,
  TCP_INFO,
  bind,
  close,
  fdOf,
  getsockopt,
  listen,
  setsockopt,
  socketIn,
  toNetServer,
  toNetSocket,
} from '../src/index.js';
import { native } from '../src/binding.js';
import * as p from '../src/promises.js';
import { createNamespace, createRouter, type Namespace } from '../src/netns/index.js';
import { within } from './helpers/async.js';
import { expectNothingLeft, leftovers, netnsCapsMissing } from './helpers/caps.js';
import { checkFdLeaks } from './helpers/fds.js';

const skip = netnsCapsMissing();
if (skip) console.log('skipping the http-through-a-bad-network test:', skip);

checkFdLeaks();

const SIZE = 1 << 20;
const BODY = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) BODY[i] = (i * 7919) & 0xff;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface ServerView {
  totalRetrans: number;
  retransmits: number;
  rtt: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Reads one HTTP/1.1 response with a Content-Length from a sockfd socket; returns its body. */
async function readResponse(fd: number, pending: { data: Buffer }): Promise<Buffer> {
  const chunk = Buffer.alloc(65536);
  let head = -1;
  while ((head = pending.data.indexOf('\r\n\r\n')) < 0) {
    const n = await p.recv(fd, chunk, { timeout: 20_000 });
    if (n === 0) throw new Error('the server closed before the headers');
    pending.data = Buffer.concat([pending.data, chunk.subarray(0, n)]);
  }
  const headers = pending.data.subarray(0, head).toString('latin1');
  expect(headers).toMatch(/^HTTP\/1\.1 200 /);
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(headers)![1]);
  let body = pending.data.subarray(head + 4);
  const parts = [body];
  let got = body.length;
  while (got < length) {
    const n = await p.recv(fd, chunk, { timeout: 20_000 });
    if (n === 0) throw new Error(`the server closed after ${got} of ${length} bytes`);
    parts.push(Buffer.from(chunk.subarray(0, n)));
    got += n;
  }
  body = Buffer.concat(parts);
  pending.data = body.subarray(length);
  return body.subarray(0, length);
}

describe.skipIf(skip !== null)('http between namespaces through an impaired router', () => {
  it('serves the same bytes to net/http and to sockfd/promises, with the retransmissions in TCP_INFO', async () => {
    const before = leftovers();
    const client: Namespace = createNamespace();
    const server: Namespace = createNamespace();
    cleanups.push(() => client.close(), () => server.close());
    const router = await createRouter([client, server]);
    cleanups.push(() => router.close());
    await router.impair({ delay: 20, jitter: 5, loss: 2, seed: 16 });
    const address = router.address(server);

    // The server: Node's http on a listener made inside the server namespace.
    const lfd = socketIn(server.name, AF_INET, SOCK_STREAM);
    const lns = native.socketNetns(lfd);
    expect(fstatSync(lns).ino).toBe(statSync(server.path).ino);
    closeSync(lns);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, 1);
    bind(lfd, { family: AF_INET, address: '0.0.0.0', port: 80 });
    listen(lfd, 32);
    const httpServer = toNetServer(lfd, {
      server: http.createServer((req, res) => {
        if (req.url === '/data') return void res.writeHead(200, { 'content-length': SIZE }).end(BODY);
        const info = getsockopt(fdOf(req.socket), IPPROTO_TCP, TCP_INFO);
        const view: ServerView = { totalRetrans: info.totalRetrans ?? -1, retransmits: info.retransmits, rtt: info.rtt };
        const json = Buffer.from(JSON.stringify(view));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': json.length }).end(json);
      }),
    });
    cleanups.push(() => new Promise<void>((r) => httpServer.close(() => r())));
    httpServer.keepAliveTimeout = 30_000;

    // 1. Through Node's http, on a socket made in the client namespace and handed to net.
    const cfd = socketIn(client.name, AF_INET, SOCK_STREAM);
    let t0 = performance.now();
    try {
      await p.connect(cfd, { family: AF_INET, address, port: 80 }, { timeout: 10_000 });
    } catch (err) {
      close(cfd);
      throw err;
    }
    const netHandshake = performance.now() - t0;
    const sock = toNetSocket(cfd);
    cleanups.push(() => void sock.destroy());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    (agent as unknown as { createConnection: () => typeof sock }).createConnection = () => sock;
    cleanups.push(() => agent.destroy());
    const get = (path: string): Promise<Buffer> =>
      within(
        new Promise<Buffer>((resolve, reject) => {
          http
            .get({ host: address, port: 80, path, agent }, (res) => {
              const parts: Buffer[] = [];
              res.on('data', (d: Buffer) => parts.push(d)).on('end', () => resolve(Buffer.concat(parts)));
            })
            .on('error', reject);
        }),
        `GET ${path} through net`,
        30_000,
      );
    const viaNet = await get('/data');
    const netInfo = JSON.parse((await get('/info')).toString()) as ServerView;

    // 2. Through sockfd/promises, from the same namespace.
    const sfd = socketIn(client.name, AF_INET, SOCK_STREAM);
    cleanups.push(() => close(sfd));
    t0 = performance.now();
    await p.connect(sfd, { family: AF_INET, address, port: 80 }, { timeout: 10_000 });
    const sockfdHandshake = performance.now() - t0;
    const pending = { data: Buffer.alloc(0) };
    await p.sendAll(sfd, Buffer.from(`GET /data HTTP/1.1\r\nHost: ${address}\r\n\r\n`), { timeout: 10_000 });
    const viaSockfd = await within(readResponse(sfd, pending), 'GET /data through sockfd/promises', 30_000);
    await p.sendAll(sfd, Buffer.from(`GET /info HTTP/1.1\r\nHost: ${address}\r\n\r\n`), { timeout: 10_000 });
    const sockfdInfo = JSON.parse((await within(readResponse(sfd, pending), 'GET /info through sockfd/promises', 30_000)).toString()) as ServerView;

    // The same bytes both ways.
    expect(viaNet.length).toBe(SIZE);
    expect(viaSockfd.length).toBe(SIZE);
    expect(sha(viaNet)).toBe(sha(BODY));
    expect(sha(viaSockfd)).toBe(sha(BODY));
    // A handshake is a round trip through the router: out of it twice, at least 20 - 5 ms each time.
    expect(netHandshake).toBeGreaterThanOrEqual(29);
    expect(sockfdHandshake).toBeGreaterThanOrEqual(29);
    // The loss made the server retransmit on both connections, and the wire dropped frames both ways.
    expect(netInfo.totalRetrans).toBeGreaterThan(0);
    expect(sockfdInfo.totalRetrans).toBeGreaterThan(0);
    expect(netInfo.rtt).toBeGreaterThanOrEqual(29_000); // tcpi_rtt is in microseconds
    const [toClient, toServer] = await router.stats();
    expect(toClient!.aToB.lost).toBeGreaterThan(0);
    expect(toServer!.aToB.lost).toBeGreaterThan(0);
    expect(toClient!.bToA.lost + toServer!.bToA.lost).toBe(0); // only the router's way out is impaired

    for (const c of cleanups.splice(0).reverse()) await c();
    expectNothingLeft(before);
  }, 90_000);
});
