/**
 * The main-thread side of the wire (see wire-worker.ts): one worker thread and one hidden namespace
 * per process, shared by every wired link, started with the first and stopped with the last.
 * @internal
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../binding.js';
import { SystemError } from '../errors.js';
import { createNamespace, type Namespace } from './namespace.js';
import type { DirectionStats, WireRequest } from './wire-worker.js';

/** How long the wire thread may take to answer (it answers at once unless it is stuck). */
const ANSWER_MS = 10_000;

/** What `Link.stats()` returns for a wired link: each direction's counters. */
export interface WireStats {
  /** Frames from the link's `a` end towards `b`. */
  aToB: DirectionStats;
  /** Frames from `b` towards `a`. */
  bToA: DirectionStats;
}

/** The compiled worker: next to this file in dist/, or found from the package root when run from src/. */
function workerFile(): string {
  const here = path.join(__dirname, 'wire-worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.join(packageRoot() ?? path.join(__dirname, '..', '..', '..'), 'dist', 'cjs', 'netns', 'wire-worker.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`sockfd/netns: the wire's worker script is missing (${built}): build the TypeScript (npm run build:ts)`);
}

let current: WireHost | undefined;
let nextId = 1;

export class WireHost {
  readonly ns: Namespace;
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private users = 0;
  private dead: Error | undefined;

  private constructor() {
    this.ns = createNamespace(`sockfd-wire-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, { loopback: false });
    try {
      this.worker = new Worker(workerFile());
    } catch (err) {
      this.ns.removeSync();
      throw err;
    }
    this.worker.on('message', (m: { seq: number; value?: unknown; error?: { message: string; code?: string; errno?: number; syscall?: string } }) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      clearTimeout(p.timer);
      if (m.error) {
        const e = m.error;
        p.reject(e.errno !== undefined && e.syscall ? Object.assign(new SystemError(e.errno, e.syscall), { message: e.message }) : Object.assign(new Error(e.message), { code: e.code }));
      } else p.resolve(m.value);
    });
    const fail = (err: Error): void => {
      this.dead = err;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(err);
      }
      this.pending.clear();
      if (current === this) current = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`sockfd/netns: the wire thread exited (${code})`)));
    // After the listeners: adding a 'message' listener refs the worker's port again. The wire never
    // keeps the process alive by itself; pending requests do, with their timers.
    this.worker.unref();
  }

  /** The process's wire host, started if needed; every `acquire` is paired with a `release`. */
  static acquire(): WireHost {
    current ??= new WireHost();
    current.users++;
    return current;
  }

  static nextId(): number {
    return nextId++;
  }

  request<T>(request: WireRequest): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`sockfd/netns: the wire thread did not answer '${request.op}' within ${ANSWER_MS} ms`));
      }, ANSWER_MS);
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.worker.postMessage({ seq, request });
    });
  }

  /** Tells the wire thread without waiting for its answer (at exit, where nothing can wait). */
  notify(request: WireRequest): void {
    if (!this.dead) this.worker.postMessage({ seq: 0, request });
  }

  /** Ends one user; the last one stops the thread (after it closed its sockets) and removes the namespace. */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    if (current === this) current = undefined;
    try {
      if (!this.dead) await this.request({ op: 'shutdown' });
    } finally {
      await this.worker.terminate();
      this.ns.removeSync();
    }
  }

  /** The synchronous end, at exit: the thread dies with the process; the namespace is removed. */
  releaseSync(): void {
    if (--this.users > 0) return;
    if (current === this) current = undefined;
    this.notify({ op: 'shutdown' });
    this.ns.removeSync();
  }
}
