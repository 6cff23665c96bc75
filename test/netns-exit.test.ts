// What sockfd/netns made is removed when the process ends without closing it: a normal exit, an
// uncaught exception, SIGTERM with no handler of the program's own (the process still dies of the
// signal), and a program that handles SIGINT itself and exits. Each case is a child process that
// makes two namespaces, a wired link and a router (whose wire namespace and thread come with them),
// reports their names, and ends; the test then checks /run/netns and the links of its own namespace.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from './helpers/async.js';
import { expectNothingLeft, leftovers, netnsCapsMissing, ownNamespaces } from './helpers/caps.js';
import { checkFdLeaks } from './helpers/fds.js';
import { DIST_INDEX } from './helpers/workers.js';

const skip = netnsCapsMissing();
if (skip) console.log('skipping sockfd/netns exit tests:', skip);

checkFdLeaks();

const procs: ReturnType<typeof spawn>[] = [];
afterEach(async () => {
  // A child that failed to end is killed (its own exit cleanup then runs), and its pipes closed.
  for (const p of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  }
});

const NETNS = JSON.stringify(DIST_INDEX.replace(/index\.js$/, 'netns/index.js'));

/** A child that builds a small network, prints `ready <names>`, then does `ending`. */
function child(ending: string): { ready: Promise<string[]>; exited: Promise<{ code: number | null; signal: string | null; stderr: string }>; pid: number; kill(sig: NodeJS.Signals): void } {
  const script = `
    const nn = require(${NETNS});
    (async () => {
      const a = nn.createNamespace(), b = nn.createNamespace();
      await nn.createLink(a, b, { addresses: ['10.3.0.1/24', '10.3.0.2/24'] });
      const c = nn.createNamespace();
      const router = await nn.createRouter([c]);
      const names = require('fs').readdirSync('/run/netns').filter((n) => n.includes('-' + process.pid + '-'));
      console.log('ready ' + names.join(' '));
      ${ending}
    })();`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '', stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d));
  const ready = within(
    new Promise<string[]>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('ready '));
        if (line) resolve(line.slice(6).trim().split(' '));
      });
      proc.once('exit', () => reject(new Error(`the child exited before it was ready: ${stderr}`)));
    }),
    'the child to build its network',
    15_000,
  );
  const exited = within(new Promise<{ code: number | null; signal: string | null; stderr: string }>((r) => proc.once('exit', (code, signal) => r({ code, signal, stderr }))), 'the child to exit', 15_000);
  return { ready, exited, pid: proc.pid!, kill: (sig) => proc.kill(sig) };
}

describe.skipIf(skip !== null)('sockfd/netns at exit', () => {
  async function check(ending: string, expected: { code?: number; signal?: string }, trigger?: (c: ReturnType<typeof child>) => void): Promise<void> {
    const before = leftovers();
    const c = child(ending);
    const names = await c.ready;
    expect(names.length).toBe(5); // a, b, c, the router, and the wire's own namespace
    for (const n of names) expect(existsSync(`/run/netns/${n}`)).toBe(true);
    trigger?.(c);
    const end = await c.exited;
    if (expected.signal) expect(end.signal, end.stderr).toBe(expected.signal);
    else expect(end.code, end.stderr).toBe(expected.code);
    expect(ownNamespaces(c.pid)).toEqual([]);
    expectNothingLeft(before, c.pid);
  }

  it('removes everything on a normal exit', async () => {
    await check('', { code: 0 });
  });

  it('removes everything when an uncaught exception ends the process', async () => {
    await check("setImmediate(() => { throw new Error('boom'); });", { code: 1 });
  });

  it('removes everything on SIGTERM, and the process still dies of the signal', async () => {
    await check('setInterval(() => {}, 1000);', { signal: 'SIGTERM' }, (c) => c.kill('SIGTERM'));
  });

  it('leaves SIGINT to a program that handles it, and removes everything at its exit', async () => {
    await check("process.on('SIGINT', () => setTimeout(() => process.exit(3), 50)); setInterval(() => {}, 1000);", { code: 3 }, (c) => c.kill('SIGINT'));
  });
});
