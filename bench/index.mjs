// sockfd's benchmark suite: `npm run bench` (= node bench/index.mjs).
//
//   node bench/index.mjs [--quick] [--only name[,name...]] [--reps N] [--seconds S] [--json] [--list]
//
//   --quick    0.2 s per repetition (per-call ops 0.08 s, flood 50k datagrams), without the
//              *-split request/response runs: under a minute
//   --only     run only these workloads (see --list); may be repeated
//   --reps     repetitions per row (default 3; medians are reported with min–max)
//   --seconds  seconds per repetition (default 2)
//   --json     print the JSON document on stdout (the tables then go to stderr)
//   --flood-count N, --flood-sender sendmmsg|sendto, --percall-seconds S, --blast-count N: workload knobs
//
// Every client and peer runs as its own child process with a hard timeout, the client under test
// pinned to one CPU and its peer to another (taskset) where there are two. The C peers are built
// into bench/bin/ with gcc -O2 at the start of each run. Results are written to
// bench/results/<timestamp>.json and bench/results/latest.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { buildPeers, fmt, here, machine, pinPlan, probe, setPins, summary, table } from './lib.mjs';
import { workloads } from './workloads.mjs';
import { captureTargets } from './ring.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const values = (name) => argv.flatMap((a, i) => (a === `--${name}` && i + 1 < argv.length ? [argv[i + 1]] : []));
const value = (name, dflt) => values(name).at(-1) ?? dflt;

if (flag('list') || flag('help')) {
  console.log('workloads (for --only):');
  for (const w of workloads) console.log(`  ${w.name.padEnd(13)} ${w.title}${w.full ? ' [not in --quick]' : ''}`);
  process.exit(0);
}

const quick = flag('quick');
const jsonOut = flag('json');
const only = values('only').flatMap((v) => v.split(',')).filter(Boolean);
for (const name of only) {
  if (!workloads.some((w) => w.name === name)) {
    console.error(`unknown workload '${name}'; one of: ${workloads.map((w) => w.name).join(', ')}`);
    process.exit(2);
  }
}
// --quick leaves out the extra placements (the *-split request/response runs) unless named.
const selected = only.length ? workloads.filter((w) => only.includes(w.name)) : workloads.filter((w) => !(quick && w.full));
const reps = Number(value('reps', '3'));
const seconds = Number(value('seconds', quick ? '0.2' : '2'));
const ctx = {
  quick,
  seconds,
  reps,
  percallSeconds: Number(value('percall-seconds', quick ? '0.08' : String(Math.min(1, seconds / 2)))),
  blastCount: Number(value('blast-count', '5000000')),
  floodCount: Number(value('flood-count', quick ? '50000' : '1000000')),
  floodSeconds: Math.max(5, seconds),
  floodSender: value('flood-sender', 'sendmmsg'),
  syncCalls: 1e6,
  asyncCalls: 1e5,
};

// Human-readable output goes to stdout, or to stderr when stdout carries the JSON.
const log = (...a) => (jsonOut ? console.error(...a) : console.log(...a));

function gitState() {
  const rev = probe('git', ['-C', here, 'rev-parse', '--short', 'HEAD']);
  const dirty = probe('git', ['-C', here, 'status', '--porcelain', '--untracked-files=no']);
  return rev ? `${rev}${dirty ? ' (uncommitted changes)' : ''}` : 'unknown';
}

function pythonPath() {
  return probe('python3', ['-c', 'import sys; print(sys.executable)']);
}

async function main() {
  const started = new Date();
  const require = createRequire(import.meta.url);
  const addon = require('../dist/cjs/binding.js').addonPath;
  const pins = pinPlan();
  setPins(pins);
  ctx.python = pythonPath();
  const m = machine();
  const meta = {
    date: started.toISOString(),
    command: `node bench/index.mjs ${argv.join(' ')}`.trim(),
    node: process.version,
    python: ctx.python ? probe(ctx.python, ['--version']) : null,
    gcc: probe('gcc', ['--version']),
    ...m,
    commit: gitState(),
    addon: relative(join(here, '..'), addon),
    rmemDefault: Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8')),
    pinning: pins.note,
  };

  log(`sockfd benchmark suite — ${meta.date}`);
  log(`reproduce: npm run bench -- ${argv.join(' ') || '(no options)'}   (= ${meta.command}; --list for workloads)`);
  log(`  needs: gcc, python3 (optional, for the Python rows), taskset (optional, for pinning); build first: npm run build`);
  log(`  node ${meta.node}, ${meta.python ?? 'no python3'}, ${meta.gcc ?? 'gcc ?'}`);
  log(`  ${meta.kernel}, ${meta.cpus} × ${meta.cpu}, load ${meta.loadavg.join(' ')}; ${meta.pinning}`);
  log(`  sockfd ${meta.commit}, addon ${meta.addon}; net.core.rmem_default ${meta.rmemDefault} (SO_RCVBUF left at the default everywhere)`);
  const busy = meta.loadavg[0] > meta.cpus * 0.5;
  if (busy) log(`  WARNING: load ${meta.loadavg[0]} on ${meta.cpus} CPUs: other work competes with the benchmark; expect noise (see the CPU ns columns)`);
  log(`  ${reps} repetitions × ${seconds} s per row (per-call ops ${ctx.percallSeconds} s, flood ${ctx.floodCount} datagrams by ${ctx.floodSender}); medians with min–max`);
  log('');
  log('building the C peers (gcc -O2):');
  ctx.bins = buildPeers(log);
  log('');

  const doc = { meta, config: { ...ctx, bins: undefined }, workloads: {}, targets: [] };
  const t0 = Date.now();
  for (const w of selected) {
    const tw = Date.now();
    const rows = Object.entries(w.rows).filter(([, row]) => row(ctx, 0, 0) !== null);
    const results = Object.fromEntries(rows.map(([name]) => [name, []]));
    const errors = [];
    let state;
    try {
      state = w.setup ? await w.setup(ctx) : undefined;
      for (let rep = 0; rep < reps; rep++) {
        for (const [name, row] of rows) {
          try {
            results[name].push(await w.rep(ctx, row, state));
          } catch (err) {
            results[name].push({ error: err.message });
            errors.push(`${name} (rep ${rep + 1}): ${err.message.split('\n').slice(0, 3).join(' | ')}`);
          }
        }
      }
    } finally {
      if (w.teardown && state) await w.teardown(state);
    }
    const out = { title: w.title, seconds: (Date.now() - tw) / 1000, loadavgAfter: machine().loadavg, rows: {}, ratios: {} };
    for (const [name, runs] of Object.entries(results)) {
      out.rows[name] = { runs, summary: {} };
      for (const metric of w.metrics) out.rows[name].summary[metric.key] = summary(runs.map((r) => r[metric.key]));
    }
    // Ratios of medians against the baselines (C, and Node's own module), for the metrics marked.
    for (const metric of w.metrics.filter((x) => x.ratio)) {
      for (const [tag, base] of Object.entries(w.baselines)) {
        const b = out.rows[base]?.summary[metric.key].median;
        for (const name of Object.keys(out.rows)) {
          (out.ratios[`${metric.key} ÷${tag}`] ??= {})[name] = out.rows[name].summary[metric.key].median / b;
        }
      }
    }
    doc.workloads[w.name] = out;
    printWorkload(w, out, errors);
  }
  doc.totalSeconds = (Date.now() - t0) / 1000;
  doc.targets = evaluateTargets(doc.workloads);
  printTargets(doc.targets);
  log(`\n${selected.length} workload(s) in ${doc.totalSeconds.toFixed(1)} s`);

  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(doc, null, 2);
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, 'latest.json'), text);
  log(`results: ${relative(process.cwd(), file)} (and bench/results/latest.json)`);
  if (jsonOut) process.stdout.write(`${text}\n`);
}

function cell(s, metric) {
  if (!s || s.n === 0) return '–';
  const f = (x) => (metric.pct ? fmt(x * 100, 3) : fmt(x));
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

function printWorkload(w, out, errors) {
  log(`${w.title}  [${w.name}, ${out.seconds.toFixed(1)} s, load ${out.loadavgAfter[0]}]`);
  for (const note of w.notes ?? []) log(`  ${note}`);
  if (w.transpose) {
    // One row per metric, one column per implementation, then each one's ratio to the C baseline.
    const names = Object.keys(out.rows);
    const base = w.baselines.C;
    const others = names.filter((n) => n !== base);
    const header = [w.unit ?? '', ...names.map((n) => `${n} (min–max)`), ...others.map((n) => `${n} ÷C`)];
    const rows = w.metrics.map((m) => [
      m.label,
      ...names.map((n) => cell(out.rows[n].summary[m.key], m)),
      ...others.map((n) => {
        const x = out.ratios[`${m.key} ÷C`]?.[n];
        return Number.isFinite(x) ? `${x.toFixed(2)}×` : '–';
      }),
    ]);
    log(table(header, rows));
    for (const e of errors) log(`  ! ${e}`);
    log('');
    return;
  }
  const ratioCols = w.metrics
    .filter((m) => m.ratio)
    .flatMap((m) => Object.keys(w.baselines).map((tag) => ({ key: `${m.key} ÷${tag}`, label: `${w.metrics.filter((x) => x.ratio).length > 1 ? `${m.label} ` : ''}÷${tag}` })));
  const header = ['', ...w.metrics.map((m) => `${m.label} (min–max)`), ...ratioCols.map((c) => c.label)];
  const rows = Object.entries(out.rows).map(([name, r]) => [
    name,
    ...w.metrics.map((m) => cell(r.summary[m.key], m)),
    ...ratioCols.map((c) => {
      const x = out.ratios[c.key]?.[name];
      return Number.isFinite(x) ? `${x.toFixed(2)}×` : '–';
    }),
  ]);
  log(table(header, rows));
  for (const e of errors) log(`  ! ${e}`);
  log('');
}

/** The issue's targets, judged on medians; each only when its workload ran. */
function evaluateTargets(W) {
  const med = (w, row, key) => W[w]?.rows[row]?.summary[key]?.median;
  const t = [];
  const add = (workload, text, value, pass, detail, info = false) => {
    if (!W[workload]) return;
    t.push({ workload, target: text, value, pass: info || !Number.isFinite(value) ? null : pass, info, detail });
  };
  const r = (a, b) => a / b;

  // The targets are judged on the documented hot-loop forms (binary addresses, MMsgBatch); the forms
  // that create or convert objects on every call are shown beside them for comparison.
  const pb = r(med('percall', 'sockfd sync', 'sendto_recvfrom_binary'), med('percall', 'C', 'sendto_recvfrom'));
  add('percall', 'sync sendto+recvfrom (64 B), allocation-free (encodeSockaddr + recvfromInto) ≤ 1.15× C ns/call', pb, pb <= 1.15, `${fmt(med('percall', 'sockfd sync', 'sendto_recvfrom_binary'))} vs ${fmt(med('percall', 'C', 'sendto_recvfrom'))} ns`);
  // The plain forms against CPython's sendto + recvfrom_into (address objects in and out).
  const py = med('percall', 'Python', 'sendto_recvfrom');
  for (const [key, what] of [
    ['sendto_recvfrom', 'address objects in and out'],
    ['sendto_recvfrom_literal', 'a new address literal per call'],
  ]) {
    const x = r(med('percall', 'sockfd sync', key), py);
    add('percall', `sync sendto+recvfrom, ${what} ≤ Python's`, x, x <= 1, `${fmt(med('percall', 'sockfd sync', key))} vs ${fmt(py)} ns`);
  }
  const pp = r(med('percall', 'sockfd promises', 'sendto_recvfrom'), py);
  add('percall', 'sockfd/promises sendto+recvfrom ≤ 1.15× Python sync', pp, pp <= 1.15, `${fmt(med('percall', 'sockfd promises', 'sendto_recvfrom'))} vs ${fmt(py)} ns`);
  const miss = r(med('percall', 'sockfd sync', 'recvfrom_eagain_try'), med('percall', 'Python', 'recvfrom_eagain'));
  add('percall', 'a miss (tryRecvfrom finding nothing) ≤ Python\'s recvfrom EAGAIN', miss, miss <= 1, `${fmt(med('percall', 'sockfd sync', 'recvfrom_eagain_try'))} vs ${fmt(med('percall', 'Python', 'recvfrom_eagain'))} ns`);
  const thrown = r(med('percall', 'sockfd sync', 'recvfrom_eagain'), med('percall', 'Python', 'recvfrom_eagain'));
  add('percall', '(for comparison) the throwing recvfrom EAGAIN (a SystemError with its stack)', thrown, thrown <= 1, `${fmt(med('percall', 'sockfd sync', 'recvfrom_eagain'))} vs ${fmt(med('percall', 'Python', 'recvfrom_eagain'))} ns`, true);
  const gso = r(med('percall', 'sockfd sync', 'getsockopt'), med('percall', 'Python', 'getsockopt'));
  add('percall', 'getsockopt ≤ Python\'s', gso, gso <= 1, `${fmt(med('percall', 'sockfd sync', 'getsockopt'))} vs ${fmt(med('percall', 'Python', 'getsockopt'))} ns`);
  const bb = r(med('percall', 'sockfd batched', 'sendmmsg_recvmmsg'), med('percall', 'C', 'sendmmsg_recvmmsg'));
  add('percall', 'sendmmsg+recvmmsg (MMsgBatch) ≤ 1.15× C per datagram', bb, bb <= 1.15, `${fmt(med('percall', 'sockfd batched', 'sendmmsg_recvmmsg'))} vs ${fmt(med('percall', 'C', 'sendmmsg_recvmmsg'))} ns`);

  const bsb = r(med('udp-blast', 'sockfd sync binary', 'rate'), med('udp-blast', 'C sendto', 'rate'));
  add('udp-blast', 'single-call UDP send rate (sockfd sync sendto, binary address) ≥ 0.9× C sendto', bsb, bsb >= 0.9, `${fmt(med('udp-blast', 'sockfd sync binary', 'rate'))} vs ${fmt(med('udp-blast', 'C sendto', 'rate'))} msgs/s; by CPU ns/msg ${(med('udp-blast', 'C sendto', 'cpuPerMsg') / med('udp-blast', 'sockfd sync binary', 'cpuPerMsg')).toFixed(2)}×`);
  const bs = r(med('udp-blast', 'sockfd sync', 'rate'), med('udp-blast', 'C sendto', 'rate'));
  add('udp-blast', '(for comparison) the same with an address object', bs, bs >= 0.9, `${fmt(med('udp-blast', 'sockfd sync', 'rate'))} vs ${fmt(med('udp-blast', 'C sendto', 'rate'))} msgs/s; by CPU ns/msg ${(med('udp-blast', 'C sendto', 'cpuPerMsg') / med('udp-blast', 'sockfd sync', 'cpuPerMsg')).toFixed(2)}×`, true);
  const bmb = r(med('udp-blast', 'sockfd batched binary', 'rate'), med('udp-blast', 'dgram', 'rate'));
  add('udp-blast', 'sendmmsg (MMsgBatch, binary addresses) ≥ 1.5× dgram', bmb, bmb >= 1.5, `${fmt(med('udp-blast', 'sockfd batched binary', 'rate'))} vs ${fmt(med('udp-blast', 'dgram', 'rate'))} msgs/s; by CPU ns/msg ${(med('udp-blast', 'dgram', 'cpuPerMsg') / med('udp-blast', 'sockfd batched binary', 'cpuPerMsg')).toFixed(2)}×`);
  const bm = r(med('udp-blast', 'sockfd batched', 'rate'), med('udp-blast', 'dgram', 'rate'));
  add('udp-blast', '(for comparison) sendmmsg of an array of { buf, addr } objects', bm, bm >= 1.5, `${fmt(med('udp-blast', 'sockfd batched', 'rate'))} vs ${fmt(med('udp-blast', 'dgram', 'rate'))} msgs/s; by CPU ns/msg ${(med('udp-blast', 'dgram', 'cpuPerMsg') / med('udp-blast', 'sockfd batched', 'cpuPerMsg')).toFixed(2)}×`, true);
  const bc = r(med('udp-blast', 'sockfd batched connected', 'rate'), med('udp-blast', 'dgram connected', 'rate'));
  add('udp-blast', '(for comparison) MMsgBatch vs dgram, both connected: no address per datagram', bc, bc >= 1.5, `${fmt(med('udp-blast', 'sockfd batched connected', 'rate'))} vs ${fmt(med('udp-blast', 'dgram connected', 'rate'))} msgs/s; by CPU ns/msg ${(med('udp-blast', 'dgram connected', 'cpuPerMsg') / med('udp-blast', 'sockfd batched connected', 'cpuPerMsg')).toFixed(2)}×`, true);

  for (const row of ['sockfd batched', 'sockfd batched blocking']) {
    const lb = med('udp-flood', row, 'loss');
    const ld = med('udp-flood', 'dgram', 'loss');
    add(
      'udp-flood',
      `flood receive with recvmmsg (${row}) ≤ 1% loss where dgram loses ≥ 20%`,
      lb,
      lb <= 0.01 && ld >= 0.2,
      `loss ${fmt(lb * 100)}% vs dgram ${fmt(ld * 100)}%${ld < 0.2 ? ' (dgram lost < 20%: the flood did not reach the stated condition)' : ''}`,
    );
  }

  for (const [proto, base, need] of [
    ['udp', 'dgram', 1.1],
    ['tcp', 'net', 1.1],
  ]) {
    for (const w of [`${proto}-rr`, `${proto}-rr-split`]) {
      const x = r(med(w, 'sockfd promises', 'rps'), med(w, base, 'rps'));
      const p99 = med(w, 'sockfd promises', 'p99');
      const p99b = med(w, base, 'p99');
      const limit = r(med(w, 'C', 'rps'), med(w, base, 'rps'));
      add(
        w,
        `${proto.toUpperCase()} request/response${w.endsWith('split') ? ' (split CPUs)' : ''}, sockfd/promises ≥ ${need}× ${base} round trips/s, lower p99`,
        x,
        x >= need && p99 < p99b,
        `${fmt(med(w, 'sockfd promises', 'rps'))} vs ${fmt(med(w, base, 'rps'))} rt/s; p99 ${fmt(p99)} vs ${fmt(p99b)} µs; C itself is ${limit.toFixed(2)}× ${base}`,
      );
    }
  }

  for (const row of ['sockfd sync', 'sockfd promises']) {
    for (const dir of ['send', 'recv']) {
      const x = r(med('tcp-stream', row, dir), med('tcp-stream', 'C', dir));
      add('tcp-stream', `TCP stream ${dir} (${row}) ≥ 0.95× C MB/s`, x, x >= 0.95, `${fmt(med('tcp-stream', row, dir))} vs ${fmt(med('tcp-stream', 'C', dir))} MB/s`);
    }
  }

  const g = med('memory', 'sockfd', 'syncGrowth');
  const gmax = W.memory?.rows.sockfd.summary.syncGrowth.max;
  add('memory', 'RSS growth < 5 MB over 10^6 sync calls', g, gmax < 5, `median ${fmt(g)} MB, max ${fmt(gmax)} MB`);
  const tr = med('memory', 'sockfd', 'asyncTrend');
  const trh = med('memory', 'sockfd', 'asyncHeapTrend');
  add('memory', 'no RSS growth trend over 10^5 async calls (2nd half: RSS < 1 MB, heap < 0.25 MB)', tr, tr < 1 && trh < 0.25, `2nd half: RSS ${fmt(tr)} MB, heap ${fmt(trh)} MB; whole run ${fmt(med('memory', 'sockfd', 'asyncGrowth'))} MB`);

  captureTargets(W, add, fmt);
  return t;
}

function printTargets(targets) {
  if (targets.length === 0) return;
  log('targets (medians):');
  const rows = targets.map((x) => [
    x.info ? 'info' : x.pass === null ? 'n/a' : x.pass ? 'PASS' : 'MISS',
    x.target,
    typeof x.value === 'number' ? (x.target.includes('loss') ? `${fmt(x.value * 100)}%` : x.workload === 'memory' ? `${fmt(x.value)} MB` : `${x.value.toFixed(3)}×`) : String(x.value),
    x.detail,
  ]);
  log(table(['', 'target', 'value', 'detail'], rows));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
