// Comparing Node's net/http with sockfd across a bad network, in one process: an http server inside
// one network namespace, clients in another, a router between them. The same scenarios run through
// Node's http (on a socket handed over with toNetSocket) and through sockfd/promises, and what each
// client observes is printed side by side: status and bytes or the error (code, syscall), the time
// it took, and the kernel's retransmission counters (TCP_INFO, as `inspect` and `ss -ti` show them).
//
//   1. a clean link, then 20 ms ± 5 ms of delay and 2% loss on the router's way out
//   2. a cut that answers with RSTs (as a firewall's tcp-reset): the client hears ECONNRESET at once
//   3. a silent black hole: the client retransmits until TCP_USER_TIMEOUT gives up with ETIMEDOUT
//
//   sudo node examples/netns-comparison.js [--json]
// Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); everything it creates is gone when it ends.
const http = require('node:http');
const s = require('sockfd');
const p = require('sockfd/promises');
const { createNamespace, createRouter } = require('sockfd/netns');

const SIZE = 256 * 1024;
const USER_TIMEOUT_MS = 1000;
const tcpInfo = (fd) => s.getsockopt(fd, s.IPPROTO_TCP, s.TCP_INFO);

/** A connection from the client namespace: Node's http over it, or sockfd/promises. */
async function connect(kind, client, address) {
  const fd = client.socket(s.AF_INET, s.SOCK_STREAM);
  s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_USER_TIMEOUT, USER_TIMEOUT_MS); // bounds a black hole
  const t0 = performance.now();
  await p.connect(fd, { family: s.AF_INET, address, port: 80 }, { timeout: 10_000 });
  const conn = { kind, fd, address, port: s.getsockname(fd).port, handshakeMs: performance.now() - t0, pending: Buffer.alloc(0) };
  if (kind === 'net') {
    conn.socket = s.toNetSocket(fd); // sockfd's watcher from p.connect is released by the helper
    conn.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    conn.agent.createConnection = () => conn.socket;
  }
  return conn;
}

const alive = (conn) => conn.kind === 'sockfd' || !conn.socket.destroyed;

/** GET `path`: { status, bytes } or { error: 'CODE (syscall)' }, the time it took, and the most retransmissions seen. */
async function get(conn, path) {
  const t0 = performance.now();
  let retrans = tcpInfo(conn.fd).totalRetrans;
  // Sample TCP_INFO while waiting: once net has seen an error, it has closed the fd.
  const sampler = setInterval(() => alive(conn) && (retrans = Math.max(retrans, tcpInfo(conn.fd).totalRetrans)), 50);
  const r = await (conn.kind === 'net' ? viaNet(conn, path) : viaSockfd(conn, path)).catch((err) => ({ error: `${err.code} (${err.syscall})` }));
  clearInterval(sampler);
  if (alive(conn)) retrans = Math.max(retrans, tcpInfo(conn.fd).totalRetrans);
  return { ...r, ms: Math.round(performance.now() - t0), clientRetrans: retrans };
}

function viaNet(conn, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: conn.address, port: 80, path, agent: conn.agent }, (res) => {
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length)).on('end', () => resolve({ status: res.statusCode, bytes })).on('error', reject);
    });
    req.on('error', reject).setTimeout(10_000, () => req.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT', syscall: 'wait' })));
  });
}

async function viaSockfd(conn, path) {
  await p.sendAll(conn.fd, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${conn.address}\r\n\r\n`), { timeout: 10_000 });
  const chunk = Buffer.alloc(65536);
  const more = async () => {
    const n = await p.recv(conn.fd, chunk, { timeout: 10_000 });
    if (n === 0) throw Object.assign(new Error('closed'), { code: 'EOF', syscall: 'recv' });
    return chunk.subarray(0, n);
  };
  let head;
  while ((head = conn.pending.indexOf('\r\n\r\n')) < 0) conn.pending = Buffer.concat([conn.pending, await more()]);
  const headers = conn.pending.subarray(0, head).toString('latin1');
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(headers)[1]);
  let bytes = conn.pending.length - head - 4;
  while (bytes < length) bytes += (await more()).length;
  conn.pending = Buffer.alloc(0);
  return { status: Number(headers.split(' ')[1]), bytes: length };
}

function end(conn) {
  if (conn.kind === 'net') {
    conn.socket.destroy();
    conn.agent.destroy();
  } else s.close(conn.fd);
}

async function main() {
  const json = process.argv.includes('--json');
  const rows = [];
  const row = (scenario, conn, r, extra = {}) => {
    const entry = { scenario, client: conn.kind, handshakeMs: Math.round(conn.handshakeMs), ...r, ...extra };
    rows.push(entry);
    if (json) return;
    const what = r.error ?? `${r.status} ${r.bytes} bytes`;
    const counters = Object.entries(extra).map(([k, v]) => `${k} ${v}`).join('  ');
    console.log(`${scenario.padEnd(17)} ${conn.kind.padEnd(6)} ${what.padEnd(20)} ${String(r.ms).padStart(5)} ms  handshake ${String(entry.handshakeMs).padStart(3)} ms  client retrans ${r.clientRetrans}  ${counters}`);
  };

  const client = createNamespace(), server = createNamespace();
  const router = await createRouter([client, server]);
  try {
    const address = router.address(server);
    // The server: Node's http on a listener made inside the server namespace with socketIn.
    const lfd = s.socketIn(server.path, s.AF_INET, s.SOCK_STREAM);
    s.bind(lfd, { family: s.AF_INET, address: '0.0.0.0', port: 80 });
    s.listen(lfd, 64);
    const served = new Map(); // client port -> the server's socket of that connection
    const httpServer = s.toNetServer(lfd, { server: http.createServer((req, res) => res.writeHead(200, { 'content-length': req.url === '/big' ? SIZE : 2 }).end(req.url === '/big' ? Buffer.alloc(SIZE, 'x') : 'ok')) });
    httpServer.on('connection', (sock) => served.set(sock.remotePort, sock));
    httpServer.keepAliveTimeout = 60_000;
    const serverRetrans = (conn) => tcpInfo(s.fdOf(served.get(conn.port))).totalRetrans;

    for (const [scenario, impairment] of [['clean', {}], ['20±5 ms, 2% loss', { delay: 20, jitter: 5, loss: 2, seed: 1 }]]) {
      await router.impair(impairment);
      for (const kind of ['net', 'sockfd']) {
        const conn = await connect(kind, client, address);
        const r = await get(conn, '/big');
        row(scenario, conn, r, { 'server retrans': serverRetrans(conn) });
        end(conn);
      }
    }
    await router.impair({});

    for (const mode of ['reset', 'blackhole']) {
      const conns = [await connect('net', client, address), await connect('sockfd', client, address)];
      for (const conn of conns) await get(conn, '/'); // established and working
      await router.cut(mode);
      const outcomes = await Promise.all(conns.map((conn) => get(conn, '/')));
      conns.forEach((conn, i) => row(`cut: ${mode}`, conn, outcomes[i]));
      await router.restore();
      conns.forEach(end);
    }
    const [toClient, toServer] = await router.stats();
    const wire = {
      lostTowardsClient: toClient.aToB.lost,
      lostTowardsServer: toServer.aToB.lost,
      resetsSent: toClient.aToB.resets + toClient.bToA.resets + toServer.aToB.resets + toServer.bToA.resets,
      blackholed: toClient.aToB.cutDropped + toClient.bToA.cutDropped + toServer.aToB.cutDropped + toServer.bToA.cutDropped,
    };
    if (json) console.log(JSON.stringify({ rows, wire }));
    else console.log(`the router's wire: ${JSON.stringify(wire)}`);
    await new Promise((r) => httpServer.close(r));
  } finally {
    await router.close();
    await client.close();
    await server.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
