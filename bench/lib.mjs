// The benchmark harness's plumbing: building the C peers, spawning bounded and pinned children,
// statistics, and text tables. No measurement happens in this process: every client and peer is
// its own child, so each has its own event loop (or none) and its own core where there are two.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const binDir = join(here, 'bin');

/** Compiles every bench/peers/*.c into bench/bin/ with gcc -O2 (only when the source is newer). */
export function buildPeers(log) {
  mkdirSync(binDir, { recursive: true });
  const peers = join(here, 'peers');
  const header = statSync(join(peers, 'common.h')).mtimeMs;
  const bins = {};
  for (const file of readdirSync(peers).filter((f) => f.endsWith('.c'))) {
    const name = file.slice(0, -2);
    const src = join(peers, file);
    const out = join(binDir, name);
    const fresh = existsSync(out) && statSync(out).mtimeMs >= Math.max(statSync(src).mtimeMs, header);
    if (!fresh) {
      log(`  gcc -O2 -o bench/bin/${name} bench/peers/${file}`);
      execFileSync('gcc', ['-O2', '-Wall', '-o', out, src], { stdio: ['ignore', 'inherit', 'inherit'] });
    }
    bins[name] = out;
  }
  return bins;
}

/** The first line of a command's output, or null when it cannot run. */
export function probe(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0];
  } catch {
    return null;
  }
}

/** Which cores to pin to: the client under test on one, its peer on another (taskset, ≥ 2 CPUs). */
export function pinPlan() {
  const taskset = probe('taskset', ['-p', String(process.pid)]) !== null;
  let allowed = [];
  try {
    const line = execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
    for (const part of line.split(':')[1].trim().split(',')) {
      const [lo, hi] = part.split('-').map(Number);
      for (let c = lo; c <= (hi ?? lo); c++) allowed.push(c);
    }
  } catch {
    allowed = [];
  }
  if (!taskset || allowed.length < 2) return { client: null, peer: null, note: 'not pinned (taskset missing or fewer than 2 CPUs)' };
  // The last two allowed cores: core 0 takes most interrupts.
  const [client, peer] = allowed.slice(-2);
  return { client, peer, note: `client under test on CPU ${client}, its peer on CPU ${peer} (taskset)` };
}

let pins = { client: null, peer: null };
export function setPins(p) {
  pins = p;
}

/**
 * Spawns `cmd args` on the given side's core. Resolves with every JSON line it printed, the first
 * when `onFirst` is given (for peers that report their port), and enforces a hard timeout (SIGKILL).
 */
export function launch(cmd, args, { side = 'client', timeout = 30000, onFirst } = {}) {
  const cpu = pins[side];
  const [file, argv] = cpu === null || cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let stderr = '';
  let buffered = '';
  let timedOut = false;
  let firstSeen = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeout);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i).trim();
      buffered = buffered.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const obj = JSON.parse(line);
      lines.push(obj);
      if (!firstSeen && onFirst) {
        firstSeen = true;
        onFirst(obj);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new Error(`${cmd} ${args.join(' ')}: killed after the ${timeout / 1000}s timeout`));
      if (code !== 0 && !(signal && child.stopping)) {
        return reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? signal}\n${stderr.trim()}`));
      }
      resolve(lines);
    });
  });
  done.catch(() => {});
  return { child, done, stop: () => ((child.stopping = true), child.kill('SIGTERM')) };
}

/** Runs a client to completion and returns its last JSON line. */
export async function runClient(cmd, args, timeout, side = 'client') {
  const lines = await launch(cmd, args, { side, timeout }).done;
  if (lines.length === 0) throw new Error(`${cmd} ${args.join(' ')}: printed no result`);
  return lines[lines.length - 1];
}

/** Starts a server-like child and waits for its first JSON line ({ port, ... }). */
export function startPeer(cmd, args, { side = 'peer', timeout = 600000 } = {}) {
  return new Promise((resolve, reject) => {
    const h = launch(cmd, args, {
      side,
      timeout,
      onFirst: (info) => resolve({ ...h, info }),
    });
    h.done.then(
      () => reject(new Error(`${cmd} exited before reporting its port`)),
      reject,
    );
  });
}

export const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

export function summary(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length, values: xs };
}

/** A number for a table: 3 significant digits, thousands grouped. */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  if (a === 0) return '0';
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

/** A fixed-width text table; the first column left-aligned, the rest right-aligned. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s, w, left) => (left ? s + ' '.repeat(w - [...s].length) : ' '.repeat(w - [...s].length) + s);
  const line = (r) => r.map((c, i) => pad(c, widths[i], i === 0)).join('  ');
  return [line(all[0]), widths.map((w) => '─'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    kernel: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}
