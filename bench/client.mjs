// The Node side of every workload, run by bench/index.mjs as a child process (one per measurement,
// pinned to its own core), so each client has its own event loop and nothing else in its process.
// Prints one JSON line with its result (receivers first print one with their port).
//
//   node bench/client.mjs <mode> <impl> [args...]
//     udp-blast  sync|sync-binary|promises|batched|batched-binary|batched-connected|dgram|dgram-connected <port> <seconds> <count>
//                                                                      → {sent, seconds, cpu}
//     udp-recv   sync|promises|batched|batched-blocking|dgram          → {port, rcvbuf} … {received, seconds, cpu}
//   (cpu: CPU seconds, user + system, all threads, used by the loop; for receivers from the first datagram on)
//     udp-rr     sync|promises|dgram <port> <seconds>                  → {count, seconds, p50, p99}
//     tcp-rr     sync|promises|net <port> <seconds>                    → {count, seconds, p50, p99}
//     tcp-send   sync|promises|net <port> <seconds>                    → {bytes, seconds}
//     tcp-recv   sync|promises|net <port> <seconds>                    → {bytes, seconds}
//     percall    sync|promises|batched <seconds per op>                → {op: ns per call}
//     memory     sockfd <sync calls> <async calls>   (needs --expose-gc) → {sync, async}
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const s = require('sockfd');
const p = require('sockfd/promises');

const SIZE = 64;
const CHUNK = 65536;
const BATCH = 64;
const CHECK = 256; // datagrams between clock reads, as in the C and Python clients
const now = () => performance.now() / 1000; // seconds
/** CPU time (user + system, all threads) this process has used, in seconds. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const loopback = (port) => ({ family: s.AF_INET, address: '127.0.0.1', port });
const udpSocket = () => s.socket(s.AF_INET, s.SOCK_DGRAM);

// ---------------------------------------------------------------- (1) UDP blast: the sender

/** Sends 64-byte datagrams to 127.0.0.1:port, one address per datagram (unconnected), until time or count. */
const blast = {
  async sync(port, seconds, count, binary = false) {
    const fd = udpSocket();
    const buf = Buffer.alloc(SIZE);
    // The binary form is the documented hot-loop way: the address converted once (encodeSockaddr).
    const to = binary ? s.encodeSockaddr(loopback(port)) : loopback(port);
    let sent = 0;
    const cpu0 = cpu();
    const start = now();
    const end = start + seconds;
    while (sent < count) {
      for (let i = 0; i < CHECK && sent < count; i++) {
        try {
          s.sendto(fd, buf, undefined, 0, to);
          sent++;
        } catch (err) {
          if (err.code !== 'ENOBUFS' && err.code !== 'EAGAIN') throw err;
        }
      }
      if (now() >= end) break;
    }
    return { sent, seconds: now() - start, cpu: cpu() - cpu0 };
  },
  async promises(port, seconds, count) {
    const fd = udpSocket();
    const buf = Buffer.alloc(SIZE);
    const to = loopback(port);
    let sent = 0;
    const cpu0 = cpu();
    const start = now();
    const end = start + seconds;
    while (sent < count) {
      for (let i = 0; i < CHECK && sent < count; i++) {
        await p.sendto(fd, buf, undefined, 0, to);
        sent++;
      }
      if (now() >= end) break;
    }
    return { sent, seconds: now() - start, cpu: cpu() - cpu0 };
  },
  async 'sync-binary'(port, seconds, count) {
    return blast.sync(port, seconds, count, true);
  },
  async 'batched-binary'(port, seconds, count) {
    return blast.batched(port, seconds, count, 'binary');
  },
  /** sendmmsg of bare views on a connected socket: no address per datagram. */
  async 'batched-connected'(port, seconds, count) {
    return blast.batched(port, seconds, count, 'connected');
  },
  /**
   * sendmmsg of 64 messages per call; `mode`: 'object' (an array of { buf, addr }, converted on every
   * call), 'binary' (a reusable MMsgBatch with one binary address per slot), 'connected' (an
   * MMsgBatch without addresses, on a connected socket).
   */
  async batched(port, seconds, count, mode = 'object') {
    const fd = udpSocket();
    const buf = Buffer.alloc(SIZE);
    if (mode === 'connected') s.connect(fd, loopback(port));
    let send;
    if (mode === 'object') {
      const msgs = Array.from({ length: BATCH }, () => ({ buf, addr: loopback(port) }));
      send = (n) => s.sendmmsg(fd, n === BATCH ? msgs : msgs.slice(0, n));
    } else {
      const batch = new s.MMsgBatch(BATCH, SIZE, { addresses: mode === 'binary' });
      for (let i = 0; i < BATCH; i++) batch.set(i, buf, mode === 'binary' ? loopback(port) : undefined);
      send = (n) => s.sendmmsg(fd, batch, 0, n);
    }
    let sent = 0;
    const cpu0 = cpu();
    const start = now();
    const end = start + seconds;
    while (sent < count) {
      try {
        sent += send(Math.min(BATCH, count - sent));
      } catch (err) {
        if (err.code !== 'ENOBUFS' && err.code !== 'EAGAIN') throw err;
      }
      if (now() >= end) break;
    }
    return { sent, seconds: now() - start, cpu: cpu() - cpu0 };
  },
  dgram(port, seconds, count, connected = false) {
    const sock = dgram.createSocket('udp4');
    if (connected) {
      return new Promise((res) => sock.connect(port, '127.0.0.1', res)).then(() => blast.dgramSend(sock, null, seconds, count));
    }
    return blast.dgramSend(sock, port, seconds, count);
  },
  'dgram-connected'(port, seconds, count) {
    return blast.dgram(port, seconds, count, true);
  },
  /** dgram.send is asynchronous: keep a window of sends in flight, refilled from the callbacks. */
  dgramSend(sock, port, seconds, count) {
    const WINDOW = 64; // the best of 1, 8, 64, 256, 1024 on the development machine
    const buf = Buffer.alloc(SIZE);
    let sent = 0;
    let issued = 0;
    let inflight = 0;
    let stopping = false;
    const cpu0 = cpu();
    const start = now();
    const end = start + seconds;
    return new Promise((resolve, reject) => {
      const finish = () => {
        const r = { sent, seconds: now() - start, cpu: cpu() - cpu0 };
        sock.close(() => resolve(r));
      };
      const onSent = (err) => {
        inflight--;
        if (err) return reject(err);
        sent++;
        if (sent % CHECK === 0 && now() >= end) stopping = true;
        if (stopping || issued >= count) {
          if (inflight === 0) finish();
          return;
        }
        pump();
      };
      const pump = () => {
        while (inflight < WINDOW && issued < count) {
          inflight++;
          issued++;
          if (port === null) sock.send(buf, onSent);
          else sock.send(buf, port, '127.0.0.1', onSent);
        }
      };
      pump();
    });
  },
};

// ---------------------------------------------------------------- (1b) UDP receive under a flood

/**
 * Counting receivers. Each binds 127.0.0.1:0 with the kernel's default SO_RCVBUF (never changed),
 * reports it, counts 64-byte datagrams, and stops at the first datagram of another length.
 */
/**
 * A receiver's tally: datagrams received, and the time and CPU from the first to the last of them
 * (so the sender's start-up and the stop markers' wait do not count).
 */
function tally() {
  let received = 0;
  let first = 0;
  let cpu0 = 0;
  let last = 0;
  return {
    add(n) {
      received += n;
      last = now();
      if (first === 0) {
        first = last;
        cpu0 = cpu();
      }
    },
    result: () => ({ received, seconds: last - first, cpu: cpu() - cpu0 }),
  };
}

const receiver = {
  sync(report) {
    const fd = udpSocket();
    s.bind(fd, loopback(0));
    report(fd);
    const buf = Buffer.alloc(2048);
    const t = tally();
    for (;;) {
      const r = s.recvfrom(fd, buf);
      if (r.bytes !== SIZE) break;
      t.add(1);
    }
    return t.result();
  },
  async promises(report) {
    const fd = udpSocket();
    s.bind(fd, loopback(0));
    report(fd);
    const buf = Buffer.alloc(2048);
    const t = tally();
    for (;;) {
      const r = await p.recvfrom(fd, buf);
      if (r.bytes !== SIZE) break;
      t.add(1);
    }
    return t.result();
  },
  /** watch(fd, POLLIN) on the event loop, draining with recvmmsgInto into an MMsgBatch (64 per call) until EAGAIN or a short batch. */
  batched(report) {
    const fd = udpSocket();
    s.bind(fd, loopback(0));
    report(fd);
    const batch = new s.MMsgBatch(BATCH, 2048);
    const opts = { flags: s.MSG_DONTWAIT };
    const t = tally();
    return new Promise((resolve) => {
      const w = s.watch(fd, s.POLLIN, () => {
        for (;;) {
          let n;
          try {
            n = s.recvmmsgInto(fd, batch, opts);
          } catch (err) {
            if (err.code === 'EAGAIN') break;
            throw err;
          }
          const data = countData(batch, n);
          if (data > 0) t.add(data);
          if (data < n) {
            w.close();
            return resolve(t.result());
          }
          if (n < BATCH) break; // a short batch: the queue was empty a moment ago
        }
      });
    });
  },
  /** A blocking recvmmsgInto loop into an MMsgBatch (MSG_WAITFORONE), with no event loop. */
  'batched-blocking'(report) {
    const fd = udpSocket();
    s.bind(fd, loopback(0));
    report(fd);
    const batch = new s.MMsgBatch(BATCH, 2048);
    const opts = { flags: s.MSG_WAITFORONE };
    const t = tally();
    for (;;) {
      const n = s.recvmmsgInto(fd, batch, opts);
      const data = countData(batch, n);
      if (data > 0) t.add(data);
      if (data < n) return t.result();
    }
  },
  dgram(report) {
    const sock = dgram.createSocket('udp4');
    const t = tally();
    return new Promise((resolve) => {
      sock.on('message', (msg) => {
        if (msg.length !== SIZE) {
          sock.close();
          return resolve(t.result());
        }
        t.add(1);
      });
      sock.bind(0, '127.0.0.1', () => report(null, sock));
    });
  },
};

/** How many of the first `n` slots of `batch` hold data datagrams, up to the first stop marker (a datagram of another size). */
function countData(batch, n) {
  for (let i = 0; i < n; i++) if (batch.lengths[i] !== SIZE) return i;
  return n;
}

// ---------------------------------------------------------------- (2, 4) request/response

/** Runs `once` back to back for `seconds` after 200 of warm-up; round trips and latency percentiles (µs). */
async function measure(seconds, once) {
  for (let i = 0; i < 200; i++) await once();
  const lat = new Float64Array(1 << 21);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let prev = start;
  for (;;) {
    await once();
    const t = performance.now();
    if (n < lat.length) lat[n] = (t - prev) * 1000;
    n++;
    prev = t;
    if (t >= end) break;
  }
  const sorted = lat.subarray(0, Math.min(n, lat.length)).sort();
  return { count: n, seconds: (prev - start) / 1000, p50: sorted[Math.floor(sorted.length * 0.5)], p99: sorted[Math.floor(sorted.length * 0.99)] };
}

/** The same loop for a synchronous `once`, without awaits. */
function measureSync(seconds, once) {
  for (let i = 0; i < 200; i++) once();
  const lat = new Float64Array(1 << 21);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let prev = start;
  for (;;) {
    once();
    const t = performance.now();
    if (n < lat.length) lat[n] = (t - prev) * 1000;
    n++;
    prev = t;
    if (t >= end) break;
  }
  const sorted = lat.subarray(0, Math.min(n, lat.length)).sort();
  return { count: n, seconds: (prev - start) / 1000, p50: sorted[Math.floor(sorted.length * 0.5)], p99: sorted[Math.floor(sorted.length * 0.99)] };
}

const udpRr = {
  async sync(port, seconds) {
    const fd = udpSocket();
    s.connect(fd, loopback(port));
    const msg = Buffer.alloc(SIZE, 1);
    const buf = Buffer.alloc(2048);
    return measureSync(seconds, () => {
      s.send(fd, msg);
      s.recv(fd, buf);
    });
  },
  async promises(port, seconds) {
    const fd = udpSocket();
    s.connect(fd, loopback(port));
    const msg = Buffer.alloc(SIZE, 1);
    const buf = Buffer.alloc(2048);
    return measure(seconds, async () => {
      await p.send(fd, msg);
      await p.recv(fd, buf);
    });
  },
  async dgram(port, seconds) {
    const sock = dgram.createSocket('udp4');
    await new Promise((res) => sock.connect(port, '127.0.0.1', res));
    const msg = Buffer.alloc(SIZE, 1);
    let wake = null;
    sock.on('message', () => wake());
    const r = await measure(
      seconds,
      () =>
        new Promise((res) => {
          wake = res;
          sock.send(msg);
        }),
    );
    await new Promise((res) => sock.close(res));
    return r;
  },
};

const tcpRr = {
  async sync(port, seconds) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    s.connect(fd, loopback(port));
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_NODELAY, true);
    const msg = Buffer.alloc(SIZE, 1);
    const buf = Buffer.alloc(2048);
    return measureSync(seconds, () => {
      s.write(fd, msg);
      let got = 0;
      while (got < SIZE) {
        const n = s.read(fd, buf);
        if (n === 0) throw new Error('echo peer closed');
        got += n;
      }
    });
  },
  async promises(port, seconds) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    await p.connect(fd, loopback(port));
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_NODELAY, true);
    const msg = Buffer.alloc(SIZE, 1);
    const buf = Buffer.alloc(2048);
    return measure(seconds, async () => {
      await p.write(fd, msg);
      let got = 0;
      while (got < SIZE) {
        const n = await p.read(fd, buf);
        if (n === 0) throw new Error('echo peer closed');
        got += n;
      }
    });
  },
  async net(port, seconds) {
    const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise((res) => sock.once('connect', res));
    const msg = Buffer.alloc(SIZE, 1);
    let got = 0;
    let wake = null;
    sock.on('data', (d) => {
      got += d.length;
      if (got >= SIZE) {
        got -= SIZE;
        wake();
      }
    });
    const r = await measure(
      seconds,
      () =>
        new Promise((res) => {
          wake = res;
          sock.write(msg);
        }),
    );
    sock.destroy();
    return r;
  },
};

// ---------------------------------------------------------------- (3) TCP stream

/** Writes 64 KiB chunks to the C sink for `seconds`, then half-closes and waits for the sink's count. */
const tcpSend = {
  async sync(port, seconds) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    s.connect(fd, loopback(port));
    const chunk = Buffer.alloc(CHUNK, 'y');
    const start = now();
    const end = start + seconds;
    do {
      let off = 0;
      while (off < CHUNK) off += s.write(fd, off === 0 ? chunk : chunk.subarray(off));
    } while (now() < end);
    s.shutdown(fd, s.SHUT_WR);
    const c = Buffer.alloc(8);
    let got = 0;
    while (got < 8) {
      const n = s.read(fd, c.subarray(got));
      if (n === 0) throw new Error('sink closed early');
      got += n;
    }
    const t = now();
    s.close(fd);
    return { bytes: Number(c.readBigUInt64LE(0)), seconds: t - start };
  },
  async promises(port, seconds) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    await p.connect(fd, loopback(port));
    const chunk = Buffer.alloc(CHUNK, 'y');
    const start = now();
    const end = start + seconds;
    do {
      let off = 0;
      while (off < CHUNK) off += await p.write(fd, off === 0 ? chunk : chunk.subarray(off));
    } while (now() < end);
    s.shutdown(fd, s.SHUT_WR);
    const c = Buffer.alloc(8);
    let got = 0;
    while (got < 8) {
      const n = await p.read(fd, c.subarray(got));
      if (n === 0) throw new Error('sink closed early');
      got += n;
    }
    const t = now();
    s.close(fd);
    return { bytes: Number(c.readBigUInt64LE(0)), seconds: t - start };
  },
  async net(port, seconds) {
    const sock = net.connect({ port, host: '127.0.0.1' });
    await new Promise((res) => sock.once('connect', res));
    const chunk = Buffer.alloc(CHUNK, 'y');
    const start = now();
    const end = start + seconds;
    return new Promise((resolve, reject) => {
      const parts = [];
      sock.on('data', (d) => parts.push(d));
      sock.on('end', () => {
        const c = Buffer.concat(parts);
        resolve({ bytes: Number(c.readBigUInt64LE(0)), seconds: now() - start });
      });
      sock.on('error', reject);
      const pump = () => {
        while (now() < end) {
          if (!sock.write(chunk)) return void sock.once('drain', pump);
        }
        sock.end();
      };
      pump();
    });
  },
};

/** Reads from the C source (64 KiB at a time) for `seconds`. */
const tcpRecv = {
  async sync(port, seconds) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    s.connect(fd, loopback(port));
    const buf = Buffer.alloc(CHUNK);
    let bytes = 0;
    const start = now();
    const end = start + seconds;
    let t;
    do {
      const n = s.read(fd, buf);
      if (n === 0) throw new Error('source closed');
      bytes += n;
    } while ((t = now()) < end);
    s.close(fd);
    return { bytes, seconds: t - start };
  },
  async promises(port, seconds) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    await p.connect(fd, loopback(port));
    const buf = Buffer.alloc(CHUNK);
    let bytes = 0;
    const start = now();
    const end = start + seconds;
    let t;
    do {
      const n = await p.read(fd, buf);
      if (n === 0) throw new Error('source closed');
      bytes += n;
    } while ((t = now()) < end);
    s.close(fd);
    return { bytes, seconds: t - start };
  },
  async net(port, seconds) {
    const sock = net.connect({ port, host: '127.0.0.1' });
    await new Promise((res) => sock.once('connect', res));
    let bytes = 0;
    const start = now();
    const end = start + seconds;
    return new Promise((resolve, reject) => {
      sock.on('error', reject);
      sock.on('data', (d) => {
        bytes += d.length;
        const t = now();
        if (t >= end) {
          sock.removeAllListeners('data');
          sock.destroy();
          resolve({ bytes, seconds: t - start });
        }
      });
    });
  },
};

// ---------------------------------------------------------------- (5) per-call overhead

/** ns per call of `op` (which makes `per` calls), in chunks of 1000 calls, after a warm-up of 1/10 of the time. */
async function perCall(seconds, op, per = 1) {
  const reps = Math.max(1, Math.floor(1000 / per));
  const w = now() + seconds / 10;
  while (now() < w) for (let i = 0; i < reps; i++) await op();
  let calls = 0;
  const start = now();
  const end = start + seconds;
  let t;
  do {
    for (let i = 0; i < reps; i++) await op();
    calls += reps * per;
  } while ((t = now()) < end);
  return ((t - start) * 1e9) / calls;
}

/** The synchronous twin of perCall: no awaits in the loop. */
function perCallSync(seconds, op, per = 1) {
  const reps = Math.max(1, Math.floor(1000 / per));
  const w = now() + seconds / 10;
  while (now() < w) for (let i = 0; i < reps; i++) op();
  let calls = 0;
  const start = now();
  const end = start + seconds;
  let t;
  do {
    for (let i = 0; i < reps; i++) op();
    calls += reps * per;
  } while ((t = now()) < end);
  return ((t - start) * 1e9) / calls;
}

function selfSocket() {
  const fd = udpSocket();
  s.bind(fd, loopback(0));
  return { fd, self: s.getsockname(fd) };
}

const percall = {
  /** `only`: run just that operation (the suite runs each in a fresh process); all of them otherwise. */
  async sync(seconds, only) {
    const want = (op) => only === undefined || only === op;
    const { fd, self } = selfSocket();
    const buf = Buffer.alloc(SIZE, 2);
    const rbuf = Buffer.alloc(2048);
    const { SOL_SOCKET, SO_TYPE, MSG_DONTWAIT } = s;
    let sink = 0;
    const res = {};
    if (want('getsockopt')) res.getsockopt = perCallSync(seconds, () => {
      sink += s.getsockopt(fd, SOL_SOCKET, SO_TYPE);
    });
    if (want('recvfrom_eagain')) res.recvfrom_eagain = perCallSync(seconds, () => {
      try {
        s.recvfrom(fd, rbuf, undefined, MSG_DONTWAIT);
        throw new Error('expected EAGAIN');
      } catch (err) {
        if (err.code !== 'EAGAIN') throw err;
      }
    });
    // The non-throwing form for polling loops: null instead of the EAGAIN SystemError.
    if (want('recvfrom_eagain_try')) res.recvfrom_eagain_try = perCallSync(seconds, () => {
      if (s.tryRecvfrom(fd, rbuf) !== null) throw new Error('expected nothing');
    });
    if (want('sendto_recvfrom')) res.sendto_recvfrom = perCallSync(seconds, () => {
      s.sendto(fd, buf, undefined, 0, self);
      sink += s.recvfrom(fd, rbuf).bytes;
    });
    // The form a newcomer writes: a new address object literal on every call.
    const { AF_INET } = s;
    const port = self.port;
    if (want('sendto_recvfrom_literal')) res.sendto_recvfrom_literal = perCallSync(seconds, () => {
      s.sendto(fd, buf, undefined, 0, { family: AF_INET, address: '127.0.0.1', port });
      sink += s.recvfrom(fd, rbuf).bytes;
    });
    // The allocation-free form: the address encoded once, the sender read into a reused holder.
    const selfBinary = s.encodeSockaddr(self);
    const from = s.sockaddrHolder();
    if (want('sendto_recvfrom_binary')) res.sendto_recvfrom_binary = perCallSync(seconds, () => {
      s.sendto(fd, buf, undefined, 0, selfBinary);
      sink += s.recvfromInto(fd, rbuf, undefined, 0, from);
    });
    // The pieces of sendto+recvfrom, for the analysis: send/recv on a connected socket (no address
    // object either way), and sendto + recv (an address parsed, none created).
    const c = udpSocket();
    s.bind(c, loopback(0));
    s.connect(c, s.getsockname(c));
    if (want('send_recv')) res.send_recv = perCallSync(seconds, () => {
      s.send(c, buf);
      sink += s.recv(c, rbuf);
    });
    if (want('sendto_recv')) res.sendto_recv = perCallSync(seconds, () => {
      s.sendto(fd, buf, undefined, 0, self);
      sink += s.recv(fd, rbuf);
    });
    s.close(c);
    if (sink < 0) console.error(sink);
    return res;
  },
  async promises(seconds) {
    const { fd, self } = selfSocket();
    const buf = Buffer.alloc(SIZE, 2);
    const rbuf = Buffer.alloc(2048);
    // sendto completes at once; recvfrom finds the datagram already queued (loopback delivers inside sendto).
    return {
      sendto_recvfrom: await perCall(seconds, async () => {
        await p.sendto(fd, buf, undefined, 0, self);
        await p.recvfrom(fd, rbuf);
      }),
    };
  },
  async batched(seconds, only) {
    const want = (op) => only === undefined || only === op;
    const { fd, self } = selfSocket();
    const buf = Buffer.alloc(SIZE, 2);
    // A reusable MMsgBatch each way: 64 datagrams to itself, then the 64 back (a short read is topped up).
    const tx = new s.MMsgBatch(BATCH, SIZE, { addresses: true });
    for (let i = 0; i < BATCH; i++) tx.set(i, buf, self);
    const rx = new s.MMsgBatch(BATCH, 2048);
    // The array form too, for comparison: { buf, addr } objects and views converted on every call.
    const msgs = Array.from({ length: BATCH }, () => ({ buf, addr: self }));
    const big = Buffer.alloc(BATCH * 2048);
    const bufs = Array.from({ length: BATCH }, (_, i) => big.subarray(i * 2048, (i + 1) * 2048));
    const lengths = new Uint32Array(BATCH);
    const res = {};
    if (want('sendmmsg_recvmmsg')) {
      res.sendmmsg_recvmmsg = perCallSync(
        seconds,
        () => {
          if (s.sendmmsg(fd, tx) !== BATCH) throw new Error('short sendmmsg');
          let got = 0;
          while (got < BATCH) got += s.recvmmsgInto(fd, rx, { start: got });
        },
        BATCH,
      );
    }
    if (want('sendmmsg_recvmmsg_arrays')) {
      res.sendmmsg_recvmmsg_arrays = perCallSync(
        seconds,
        () => {
          if (s.sendmmsg(fd, msgs) !== BATCH) throw new Error('short sendmmsg');
          let got = 0;
          while (got < BATCH) got += s.recvmmsgInto(fd, got === 0 ? bufs : bufs.slice(got), lengths);
        },
        BATCH,
      );
    }
    return res;
  },
};

// ---------------------------------------------------------------- (6) memory

const rss = () => process.memoryUsage.rss();
const heap = () => process.memoryUsage().heapUsed;
function settle() {
  globalThis.gc();
  globalThis.gc();
}

async function memory(syncCalls, asyncCalls) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
  const { fd, self } = selfSocket();
  const buf = Buffer.alloc(SIZE, 2);
  const rbuf = Buffer.alloc(2048);
  const { SOL_SOCKET, SO_TYPE, MSG_DONTWAIT } = s;
  // Ten calls per cycle: three sendto + recvfrom pairs (an address parsed, a result object and an
  // address object created per recvfrom), three getsockopt, and one recvfrom that fails with EAGAIN
  // (an Error per call).
  const ten = () => {
    for (let i = 0; i < 3; i++) {
      s.sendto(fd, buf, undefined, 0, self);
      s.recvfrom(fd, rbuf);
    }
    for (let i = 0; i < 3; i++) s.getsockopt(fd, SOL_SOCKET, SO_TYPE);
    try {
      s.recvfrom(fd, rbuf, undefined, MSG_DONTWAIT);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  };
  for (let i = 0; i < 10000 / 10; i++) ten(); // warm-up (JIT, inline caches)
  settle();
  const sync = { calls: syncCalls, rssBefore: rss(), heapBefore: heap(), samples: [] };
  const step = syncCalls / 10;
  let t0 = now();
  for (let done = 0; done < syncCalls; ) {
    for (let i = 0; i < step / 10; i++) ten();
    done += step;
    settle();
    sync.samples.push({ calls: done, rss: rss(), heap: heap() });
  }
  sync.seconds = now() - t0;
  sync.rssAfter = rss();
  sync.heapAfter = heap();

  // Async: a recv that has to wait (the watcher path), then the send that satisfies it: two calls.
  const a = udpSocket();
  const b = udpSocket();
  s.bind(b, loopback(0));
  s.connect(a, s.getsockname(b));
  const once = async () => {
    const pending = p.recv(b, rbuf);
    await p.send(a, buf);
    await pending;
  };
  for (let i = 0; i < 1000; i++) await once();
  settle();
  const as = { calls: asyncCalls, rssBefore: rss(), heapBefore: heap(), samples: [] };
  const astep = asyncCalls / 10;
  t0 = now();
  for (let done = 0; done < asyncCalls; ) {
    for (let i = 0; i < astep / 2; i++) await once();
    done += astep;
    settle();
    as.samples.push({ calls: done, rss: rss(), heap: heap() });
  }
  as.seconds = now() - t0;
  as.rssAfter = rss();
  as.heapAfter = heap();
  return { sync, async: as };
}

// ---------------------------------------------------------------- main

async function main() {
  const [mode, impl, ...rest] = process.argv.slice(2);
  const a = rest.map(Number);
  let result;
  switch (mode) {
    case 'udp-blast':
      result = await blast[impl](a[0], a[1], a[2] || Infinity);
      break;
    case 'udp-recv': {
      const report = (fd, sock) => {
        const rcvbuf = fd === null ? sock.getRecvBufferSize() : s.getsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUF);
        const port = fd === null ? sock.address().port : s.getsockname(fd).port;
        out({ port, rcvbuf });
      };
      result = await receiver[impl](report);
      break;
    }
    case 'udp-rr':
      result = await udpRr[impl](a[0], a[1]);
      break;
    case 'tcp-rr':
      result = await tcpRr[impl](a[0], a[1]);
      break;
    case 'tcp-send':
      result = await tcpSend[impl](a[0], a[1]);
      break;
    case 'tcp-recv':
      result = await tcpRecv[impl](a[0], a[1]);
      break;
    case 'percall':
      result = await percall[impl](a[0], rest[1] || undefined);
      break;
    case 'memory':
      result = await memory(a[0], a[1]);
      break;
    default:
      throw new Error(`client.mjs: unknown mode ${mode}`);
  }
  if (!result) throw new Error(`no result for ${mode} ${impl}`);
  out(result);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
