// Request/response on loopback: sockfd/promises against Node's dgram (UDP) and net (TCP), side by
// side in one run, each client talking to the same C echo peer (bench/peers/echo.c) in its own
// process. One request in flight at a time; 64-byte messages. Prints round trips per second
// (median of the repetitions, with min–max), p50/p99 latency, and the ratio sockfd / Node.
//
//   node bench/rr.mjs [--seconds 2] [--reps 3] [--json out.json]
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const s = require('../dist/cjs/index.js');
const p = require('../dist/cjs/promises.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const seconds = Number(opt('seconds', args.includes('--quick') ? '0.5' : '2'));
const reps = Number(opt('reps', '3'));
const SIZE = 64;

function buildPeer() {
  mkdirSync(join(here, 'bin'), { recursive: true });
  const out = join(here, 'bin/echo');
  execFileSync('gcc', ['-O2', '-o', out, join(here, 'peers/echo.c')]);
  return out;
}

async function startPeer(bin, mode) {
  const child = spawn(bin, [mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  return { child, port };
}

/** Runs `once` back to back for `seconds`; returns round trips/s and latency percentiles (µs). */
async function measure(once) {
  for (let i = 0; i < 200; i++) await once(); // warm up
  const lat = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let now = process.hrtime.bigint();
  const start = now;
  while (now < end) {
    await once();
    const t = process.hrtime.bigint();
    lat.push(Number(t - now) / 1000);
    now = t;
  }
  lat.sort((a, b) => a - b);
  return {
    rps: lat.length / (Number(now - start) / 1e9),
    p50: lat[Math.floor(lat.length * 0.5)],
    p99: lat[Math.floor(lat.length * 0.99)],
  };
}

const clients = {
  async 'udp sockfd/promises'(port) {
    const fd = s.socket(s.AF_INET, s.SOCK_DGRAM);
    s.connect(fd, { family: s.AF_INET, address: '127.0.0.1', port });
    const out = Buffer.alloc(SIZE, 1);
    const buf = Buffer.alloc(2048);
    const r = await measure(async () => {
      await p.send(fd, out);
      await p.recv(fd, buf);
    });
    s.close(fd);
    return r;
  },
  async 'udp dgram'(port) {
    const sock = dgram.createSocket('udp4');
    await new Promise((res) => sock.connect(port, '127.0.0.1', res));
    const out = Buffer.alloc(SIZE, 1);
    let wake = null;
    sock.on('message', () => wake());
    const r = await measure(
      () =>
        new Promise((res) => {
          wake = res;
          sock.send(out);
        }),
    );
    await new Promise((res) => sock.close(res));
    return r;
  },
  async 'tcp sockfd/promises'(port) {
    const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
    await p.connect(fd, { family: s.AF_INET, address: '127.0.0.1', port });
    s.setsockopt(fd, s.IPPROTO_TCP, s.TCP_NODELAY, true);
    const out = Buffer.alloc(SIZE, 1);
    const buf = Buffer.alloc(2048);
    const r = await measure(async () => {
      await p.write(fd, out);
      let got = 0;
      while (got < SIZE) got += await p.read(fd, buf);
    });
    s.close(fd);
    return r;
  },
  async 'tcp net'(port) {
    const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise((res) => sock.once('connect', res));
    const out = Buffer.alloc(SIZE, 1);
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
      () =>
        new Promise((res) => {
          wake = res;
          sock.write(out);
        }),
    );
    sock.destroy();
    return r;
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const bin = buildPeer();
  const peers = { udp: await startPeer(bin, 'udp'), tcp: await startPeer(bin, 'tcp') };
  const results = {};
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, run] of Object.entries(clients)) {
        const r = await run(peers[name.slice(0, 3)].port);
        (results[name] ??= []).push(r);
      }
    }
  } finally {
    for (const peer of Object.values(peers)) peer.child.kill();
  }
  const table = {};
  for (const [name, runs] of Object.entries(results)) {
    const rps = runs.map((r) => r.rps);
    table[name] = {
      'round trips/s (median)': Math.round(median(rps)),
      'min–max': `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}`,
      'p50 µs': median(runs.map((r) => r.p50)).toFixed(1),
      'p99 µs': median(runs.map((r) => r.p99)).toFixed(1),
    };
  }
  console.log(`request/response, ${SIZE}-byte messages, ${reps} × ${seconds}s each, Node ${process.version}`);
  console.table(table);
  const ratio = (a, b) => median(results[a].map((r) => r.rps)) / median(results[b].map((r) => r.rps));
  const ratios = {
    'udp: sockfd/promises / dgram': ratio('udp sockfd/promises', 'udp dgram'),
    'tcp: sockfd/promises / net': ratio('tcp sockfd/promises', 'tcp net'),
  };
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}×`);
  const json = opt('json', undefined);
  if (json) writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), node: process.version, seconds, reps, table, ratios }, null, 2));
}

main();
