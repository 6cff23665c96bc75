// Guarantee: "bad input is an exception, never a crash" — and an exception a program can tell apart:
// every error sockfd throws has a string `code` (Node's ERR_* for argument errors, the errno name for
// a SystemError, ERR_MALFORMED_PACKET for a PacketError, ABORT_ERR, ERR_SOCKET_CLOSED). Every exported
// function of `sockfd`, `sockfd/promises` and `sockfd/packet`, enumerated at run time (nested
// namespaces, constructors and class methods such as MMsgBatch's included, so whatever the package
// exports is covered), is called with hostile values in each argument position: null, undefined,
// strings, valueOf/toString objects, Proxies (throwing, lying about everything or their length,
// revoked), huge, negative and fractional numbers, bigints, symbols, sparse arrays of length 2^32-1,
// frozen objects, detached buffers. A function fails when a call throws or rejects with no string
// `code` (errors thrown by the hostile values' own getters pass through and are not counted), takes
// more than 2 s (huge lists must be refused before they are walked), hangs (its worker is terminated
// after 1.5 s without progress), leaves a socket open, or leaves a promise pending once its fds are
// closed; and the whole run fails on any uncaughtException or unhandledRejection.
//
// The calls run in child processes (test/helpers/surface-fuzz-child.cjs, two at a time over
// alternate functions) on the compiled package (dist/: `npm run build:ts` after changing src/), so
// that a call that never returns can be stopped: a child that writes no heartbeat for 1.5 s is
// killed, its call reported as hung, and a new child goes on with the next function. Only
// non-blocking sockets the child owns are used, and only loopback and unix addresses.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as sockfd from '../src/index.js';
import * as packet from '../src/packet/index.js';
import * as promises from '../src/promises.js';
import { checkFdLeaks } from './helpers/fds.js';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { enumerate } = require('./helpers/surface-fuzz-child.cjs') as { enumerate(m: Record<string, object>): { key: string }[] };

checkFdLeaks();

const CHILD = path.join(__dirname, 'helpers/surface-fuzz-child.cjs');
const DIST = path.join(__dirname, '..', 'dist/cjs');
const KEYS = enumerate({ sockfd, promises, packet }).map((e) => e.key);
const HANG_MS = 1500;
const SHARDS = 2;

interface FnReport {
  key: string;
  calls: number;
  faults: string[];
  faultCount: number;
  slow: string[];
  pending: number;
  leaked: string[];
  hung?: string;
}
const reports = new Map<string, FnReport>();
const uncaught: string[] = [];

/** Runs a child over functions from, from + SHARDS, ...; resolves with the index to go on from (past the end when done). */
function runChild(from: number): Promise<number> {
  const c = spawn(process.execPath, [CHILD, DIST, String(from), String(SHARDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  let beat = { index: from, what: '(starting)' };
  let last = Date.now();
  let finished = false;
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()).length > 4000 && (stderr = stderr.slice(-4000)));
  c.stdout.on('data', (d: Buffer) => {
    last = Date.now();
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (text.startsWith('B ')) {
        const sp = text.indexOf(' ', 2);
        beat = { index: Number(text.slice(2, sp)), what: text.slice(sp + 1) };
      } else if (text.startsWith('R ')) {
        const r = JSON.parse(text.slice(2)) as FnReport;
        reports.set(r.key, r);
      } else if (text.startsWith('D ')) {
        finished = true;
        uncaught.push(...(JSON.parse(text.slice(2)) as { uncaught: string[] }).uncaught);
      }
    }
  });
  return new Promise((resolve) => {
    const watchdog = setInterval(() => {
      if (Date.now() - last < HANG_MS) return;
      clearInterval(watchdog);
      const key = KEYS[beat.index] ?? `#${beat.index}`;
      reports.set(key, { key, calls: 0, faults: [], faultCount: 0, slow: [], pending: 0, leaked: [], hung: beat.what });
      c.kill('SIGKILL');
    }, 100);
    c.once('exit', (code, signal) => {
      clearInterval(watchdog);
      if (signal === 'SIGKILL') return resolve(beat.index + SHARDS);
      if (!finished) uncaught.push(`a fuzz child exited ${code ?? signal} during ${beat.what}: ${stderr}`);
      resolve(KEYS.length);
    });
  });
}

beforeAll(async () => {
  await Promise.all(
    Array.from({ length: SHARDS }, async (_, shard) => {
      for (let from = shard, runs = 0; from < KEYS.length && runs < 40; runs++) from = await runChild(from);
    }),
  );
}, 120_000);

describe('the whole TypeScript surface called with hostile values', () => {
  it('enumerates the surface: sockfd, promises, packet (namespaces, constructors, class methods)', () => {
    for (const key of ['sockfd.socket', 'promises.recv', 'packet.ipv4.encode', 'new sockfd.MMsgBatch', 'sockfd.MMsgBatch#set', 'new packet.PacketError']) {
      expect(KEYS).toContain(key);
    }
  });

  it('no uncaughtException or unhandledRejection during the run', () => {
    expect(uncaught).toEqual([]);
  });

  it.each(KEYS)('%s: every error has a string code; no call hangs, is slow, leaks a socket or stays pending', (key) => {
    const r = reports.get(key);
    expect(r, `no report for ${key}: dist/ may be stale (npm run build:ts)`).toBeDefined();
    expect(r!.hung, 'the call that never returned').toBeUndefined();
    expect(r!.faults, `${r!.faultCount} of ${r!.calls} calls threw or rejected without a string code`).toEqual([]);
    expect(r!.slow, 'calls that took more than 2 s').toEqual([]);
    expect(r!.leaked, 'sockets left open').toEqual([]);
    expect(r!.pending, 'promises still pending 2 s after their fds were closed').toBe(0);
  });
});
