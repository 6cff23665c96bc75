// Signal storms for the guarantee tests: SIGUSR2 from a child process (one signal per millisecond,
// switched on for a bounded time per call) and SIGCHLD from real short-lived children of this
// process (`sleep` processes that exit while a blocking call runs). Signal listeners are counted; the
// callbacks of signals that arrive while the main thread is blocked run at the next loop turns, so a
// count taken around a call (see `timed`) is the number of signals that arrived during it.
import { spawn, type ChildProcess } from 'node:child_process';

export const counts = { usr2: 0, chld: 0 };
const onUsr2 = (): void => void counts.usr2++;
const onChld = (): void => void counts.chld++;
const children = new Set<ChildProcess>();
let stormer: ChildProcess | undefined;

const STORMER = `
  const target = Number(process.argv[1]);
  let end = 0, timer = null, buf = '';
  const tick = () => {
    if (Date.now() > end) { clearInterval(timer); timer = null; return; }
    try { process.kill(target, 'SIGUSR2'); } catch { process.exit(0); }
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\\n'); nl >= 0; nl = buf.indexOf('\\n')) {
      end = Date.now() + Number(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (!timer) timer = setInterval(tick, 1);
      process.stdout.write('on\\n');
    }
  });
  process.stdin.on('end', () => process.exit(0));
`;

export const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Installs the listeners and starts the SIGUSR2 child (idle until `storm`). */
export function startStorms(): void {
  process.on('SIGUSR2', onUsr2);
  process.on('SIGCHLD', onChld);
  stormer = spawn(process.execPath, ['-e', STORMER, String(process.pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Kills every child and, once signals still queued have been delivered, removes the listeners. */
export async function stopStorms(): Promise<void> {
  stormer?.stdin?.end();
  stormer?.kill('SIGKILL');
  await killChildren();
  await turns(3);
  process.off('SIGUSR2', onUsr2);
  process.off('SIGCHLD', onChld);
}

/** Kills the short-lived children still running (call after each test). */
export async function killChildren(): Promise<void> {
  const all = [...children];
  children.clear();
  for (const c of all) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(all.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
}

/** SIGUSR2 at this process every millisecond for `ms`; resolves once they are arriving. */
export async function storm(ms: number): Promise<void> {
  const s = stormer!;
  const acked = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the storm child did not answer within 5 s')), 5000);
    s.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  s.stdin!.write(`${ms}\n`);
  await acked;
  const start = counts.usr2;
  const deadline = Date.now() + 5000;
  while (counts.usr2 - start < 5) {
    if (Date.now() > deadline) throw new Error('no SIGUSR2 arrived within 5 s of the storm starting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Children of this process that exit `delays` ms from now (SIGCHLD for each). */
export function chldBurst(delays: readonly number[]): void {
  for (const d of delays) {
    const c = spawn('sleep', [(d / 1000).toFixed(3)], { stdio: 'ignore' });
    c.on('error', () => undefined);
    children.add(c);
  }
}

/** A spaced burst of SIGCHLD over the first `windowMs` of a call that starts now. */
export function chldDuring(windowMs: number): void {
  const delays: number[] = [];
  for (let d = 40; d < windowMs - 20; d += Math.max(30, Math.floor(windowMs / 8))) delays.push(d);
  chldBurst(delays);
}

/** A node child process, killed with the others after the test; `fds` become its fds 3, 4, ... */
export function child(args: string[], fds: number[] = []): ChildProcess {
  const c = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit', ...fds] });
  children.add(c);
  return c;
}

export interface Timed<T> {
  ms: number;
  usr2: number;
  chld: number;
  result?: T;
  error?: { code?: string; syscall?: string; message?: string };
}

/** Runs a blocking `call`; how long it took and which signals arrived meanwhile. */
export async function timed<T>(call: () => T): Promise<Timed<T>> {
  await turns(2);
  const usr2 = counts.usr2;
  const chld = counts.chld;
  const t0 = performance.now();
  const out: Timed<T> = { ms: 0, usr2: 0, chld: 0 };
  try {
    out.result = call();
  } catch (err) {
    out.error = err as NonNullable<Timed<T>['error']>;
  }
  out.ms = performance.now() - t0;
  await turns(3);
  out.usr2 = counts.usr2 - usr2;
  out.chld = counts.chld - chld;
  return out;
}

/** The first line a child writes, or a rejection after `ms`. */
export function firstLine(c: ChildProcess, what: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    c.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${what}: the child exited (${code ?? sig}) first`));
    });
  });
}
