/**
 * The demo's section on the listen socket's two queues (the seed's second diagram): made in a network
 * namespace of its own, by a child process inside it (demoqueues-child.ts), whose steps are shown here
 * as if they were the demo's own. Without root (namespaces) or CAP_NET_RAW (the crafted SYNs), the
 * section says what it skipped and why.
 * @internal
 * @packageDocumentation
 */
import * as path from 'node:path';
import type { ChildStep } from './demoqueues-child.js';
import { makeDemoNamespace } from './demonetns.js';

/** What the section needs of the demo's printer. @internal */
export interface StepSink {
  heading(title: string): Promise<void>;
  note(text: string): void;
  replay(step: ChildStep): void;
}

const SUBNET = '198.18.0'; // RFC 2544's benchmarking range, inside a namespace of our own
const CHILD_TIMEOUT_MS = 5000;

/** Runs the section. @internal */
export async function twoQueues(t: StepSink): Promise<void> {
  await t.heading('The listen socket\'s two queues: half-open (SYN_RECV) and complete (ESTABLISHED)');
  const ns = makeDemoNamespace(`${SUBNET}.1/24`);
  if (typeof ns === 'string') {
    t.note(`skipped: ${ns}.`);
    t.note('Holding half-open connections takes a network namespace of its own (root) and crafted SYNs (CAP_NET_RAW).');
    return;
  }
  try {
    t.note(`In a network namespace made for this (${ns.name}): veth va ${SUBNET}.1/24 <-> vb with no address, so nobody`);
    t.note(`answers ARP for the rest of ${SUBNET}.0/24. A socket lives in its creator's namespace: what follows runs in a`);
    t.note('child process started there with `ip netns exec`.');
    const r = ns.run(process.execPath, [path.join(__dirname, 'demoqueues-child.js'), `${SUBNET}.1`, '100'], CHILD_TIMEOUT_MS);
    let out: { steps?: ChildStep[]; error?: string } = {};
    try {
      out = JSON.parse(r.stdout) as typeof out;
    } catch {
      out = { error: (r.error?.message ?? r.stderr.trim()) || `exit ${r.status ?? r.signal}` };
    }
    if (out.error !== undefined || !out.steps) {
      const why = out.error ?? 'no steps';
      t.note(`skipped: the child in the namespace failed: ${/EPERM|EACCES/.test(why) ? `${why} (raw sockets need CAP_NET_RAW)` : why}`);
      return;
    }
    for (const step of out.steps) t.replay(step);
  } finally {
    ns.close();
    t.note(`ip netns del ${ns.name}: the namespace, its veth pair and every socket in it are gone.`);
  }
}
