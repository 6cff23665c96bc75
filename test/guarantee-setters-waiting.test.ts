// Guarantee (issue 12, item 1, the waiting half): a sockfd/promises call that has to wait on the event
// loop settles with its full result, leaks no fd and leaves sockfd's state sound, even while
// Object.prototype and Array.prototype carry setters for the array indices "0".."3" (the indices of
// result arrays, and also of every array sockfd keeps internally: a waiter pushed onto an array
// queue under a swallowing setter is dropped, and one under a throwing setter throws).
//
// This runs in a child node process (the compiled package in dist/, `npm run build:ts`), because a
// corrupted waiter queue turns every readiness event into an uncaught TypeError, and Node's own
// timer heap and tick queue are arrays too: the child makes its bounding timer before the traps go
// on, counts uncaught exceptions instead of dying, and is killed after 15 s whatever happens.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const DIST_INDEX = path.join(root, 'dist/cjs/index.js');
const DIST_PROMISES = path.join(root, 'dist/cjs/promises.js');

const CHILD = `
'use strict';
const s = require(${JSON.stringify(DIST_INDEX)});
const P = require(${JSON.stringify(DIST_PROMISES)});
const fs = require('node:fs');
// A count and the first message, not an array: pushing to an array is what the traps break.
let uncaught = 0;
let firstUncaught;
process.on('uncaughtException', (e) => { if (uncaught++ === 0) firstUncaught = String(e); });
const sockets = () => new Map(fs.readdirSync('/proc/self/fd').map((n) => { try { return [Number(n), fs.readlinkSync('/proc/self/fd/' + n)]; } catch { return [-1, '']; } }).filter(([, t]) => t.startsWith('socket:')));
function install(mode) {
  const names = ['0', '1', '2', '3'];
  for (const name of names) for (const proto of [Object.prototype, Array.prototype]) {
    Object.defineProperty(proto, name, { configurable: true, get: () => undefined,
      set() { if (mode === 'throwing') throw new Error('trap: a setter for "' + name + '" ran'); } });
  }
  return () => { for (const name of names) for (const proto of [Object.prototype, Array.prototype]) delete proto[name]; };
}
const LO = { family: s.AF_INET, address: '127.0.0.1', port: 0 };
const calls = {
  accept() {
    const l = s.socket(s.AF_INET, s.SOCK_STREAM); s.bind(l, LO); s.listen(l, 4);
    const c = s.socket(s.AF_INET, s.SOCK_STREAM);
    return { start: () => P.accept(l), trigger: () => s.connect(c, s.getsockname(l)), fds: [c, l],
      shape: (r) => typeof r.fd === 'number' && r.address && r.address.port === s.getsockname(c).port };
  },
  'recvmsg with SCM_RIGHTS'() {
    const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM);
    const passed = [s.socket(s.AF_INET, s.SOCK_DGRAM), s.socket(s.AF_INET, s.SOCK_DGRAM)];
    return { start: () => P.recvmsg(b, [Buffer.alloc(8)], { controlLength: 64 }),
      trigger: () => s.sendmsg(a, [Buffer.from('x')], { control: [{ level: s.SOL_SOCKET, type: s.SCM_RIGHTS, fds: passed }] }),
      fds: [...passed, a, b], shape: (r) => r.bytes === 1 && r.control.length === 1 && r.control[0].fds.length === 2 };
  },
};
(async () => {
  const report = {};
  for (const mode of ['swallowing', 'throwing']) for (const [name, make] of Object.entries(calls)) {
    uncaught = 0;
    firstUncaught = undefined;
    const before = sockets();
    const t = make();
    let timer;
    const bound = new Promise((r) => (timer = setTimeout(() => r({ hung: true }), 2000)));
    const cpu0 = process.cpuUsage();
    let outcome;
    const restore = install(mode);
    try {
      const p = t.start();
      t.trigger();
      outcome = await Promise.race([p.then((value) => ({ value }), (error) => ({ error: String(error) })), bound]);
    } catch (error) {
      outcome = { error: 'threw ' + String(error) };
    } finally {
      restore();
      clearTimeout(timer);
    }
    const cpu = process.cpuUsage(cpu0);
    const r = { settled: !outcome.hung, error: outcome.error, shapeOk: outcome.value ? Boolean(t.shape(outcome.value)) : undefined,
      uncaught, firstUncaught, cpuMs: Math.round((cpu.user + cpu.system) / 1000), closeErrors: [] };
    const handed = new Set();
    if (outcome.value) {
      if (typeof outcome.value.fd === 'number') handed.add(outcome.value.fd);
      for (const c of outcome.value.control ?? []) for (const fd of c.fds ?? []) handed.add(fd);
    }
    const created = [...sockets()].filter(([fd, target]) => before.get(fd) !== target && !t.fds.includes(fd)).map(([fd]) => fd);
    r.leaked = created.filter((fd) => !handed.has(fd));
    for (const fd of [...t.fds, ...created]) {
      try { s.close(fd); } catch (e) { r.closeErrors.push('close threw ' + String(e)); try { s.close(fd); } catch {} }
    }
    report[mode + ' ' + name] = r;
  }
  process.stdout.write(JSON.stringify(report) + '\\n');
  process.exit(0);
})();
`;

type Report = Record<string, { settled: boolean; error?: string; shapeOk?: boolean; uncaught: number; firstUncaught?: string; cpuMs: number; closeErrors: string[]; leaked: number[] }>;
let report: Report;

beforeAll(async () => {
  const c = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => c.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((r) => c.once('exit', (n) => r(n)));
  clearTimeout(killer);
  if (code !== 0 || !out.trim()) throw new Error(`the child exited ${code}: ${err.slice(0, 2000)}`);
  report = JSON.parse(out) as Report;
}, 20_000);

describe('a promise call waiting under setters for the array indices "0".."3"', () => {
  for (const name of ['accept', 'recvmsg with SCM_RIGHTS']) {
    it(`${name} under swallowing setters resolves with its whole result, with no uncaught exception and no fd left open`, () => {
      const r = report[`swallowing ${name}`]!;
      expect(r.settled, `settled within 2 s (it used ${r.cpuMs} ms of CPU meanwhile)`).toBe(true);
      expect(r.error).toBeUndefined();
      expect(r.shapeOk, 'the result carries its fd(s) and address').toBe(true);
      expect({ uncaught: r.uncaught, first: r.firstUncaught }).toEqual({ uncaught: 0, first: undefined });
      expect(r.leaked).toEqual([]);
      expect(r.closeErrors, 'close() afterwards').toEqual([]);
    });

    it(`${name} under throwing setters settles (result or rejection), with no uncaught exception and no fd left open`, () => {
      const r = report[`throwing ${name}`]!;
      expect(r.settled, 'settled within 2 s').toBe(true);
      if (r.error === undefined) expect(r.shapeOk).toBe(true);
      expect({ uncaught: r.uncaught, first: r.firstUncaught }).toEqual({ uncaught: 0, first: undefined });
      expect(r.leaked).toEqual([]);
      expect(r.closeErrors, 'close() afterwards').toEqual([]);
    });
  }
});
