/**
 * What sockfd/netns created and has not removed yet, removed on process exit: on `'exit'` (which
 * also follows an uncaught exception or `process.exit()`), and on SIGINT, SIGTERM and SIGHUP when the
 * program has no listener of its own for them (then sockfd removes its namespaces and links and lets
 * the signal end the process as it would have). A program that handles those signals itself keeps
 * the cleanup of its exit. Nothing can run after SIGKILL: namespaces left then are listed by
 * `ip netns list` (their names start with `sockfd-`) and removed with `ip netns del`.
 * @internal
 * @packageDocumentation
 */
import { isMainThread } from 'node:worker_threads';

/** @internal Something to remove synchronously at exit. */
export interface Removable {
  removeSync(): void;
}

const live: Removable[] = [];
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function removeAll(): void {
  // Newest first: links before the namespaces they are in.
  for (const r of live.splice(0).reverse()) {
    try {
      r.removeSync();
    } catch {
      // At exit there is nobody to tell: go on with the rest.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the program handles it: its exit will clean up
  removeAll();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeAll);
  // Workers receive no signals (they belong to the main thread); their 'exit' still runs.
  if (isMainThread) for (const sig of SIGNALS) process.on(sig, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', removeAll);
  if (isMainThread) for (const sig of SIGNALS) process.off(sig, onSignal);
}

/** @internal Remembers `r` for removal at exit. */
export function track(r: Removable): void {
  live.push(r);
  install();
}

/** @internal Forgets `r` (removed already). */
export function untrack(r: Removable): void {
  const i = live.indexOf(r);
  if (i >= 0) live.splice(i, 1);
  if (live.length === 0) uninstall();
}
