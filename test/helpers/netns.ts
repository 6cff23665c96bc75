// Network namespaces for privileged tests: each test makes its own, with loopback up and veth pairs
// where it needs two "hosts", runs sockfd inside it in a child node process, and removes it after.
// Nothing is ever sent outside a namespace the test created (or loopback).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
/** The built package, for scripts run in a child process. */
export const pkg = path.join(root, 'dist', 'cjs', 'index.js');
export const packetPkg = path.join(root, 'dist', 'cjs', 'packet', 'index.js');

/** Why namespaces cannot be used here, or null when they can (root with CAP_NET_ADMIN and `ip`). */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespace tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)';
  const probe = `sockfd-probe-${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.error) return `\`ip\` (iproute2) is not available: ${r.error.message}`;
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

/** Why raw sockets cannot be opened by this process, or null when they can. */
export function rawUnavailable(): string | null {
  const r = spawnSync(process.execPath, ['-e', `const s = require(${JSON.stringify(pkg)}); s.close(s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP));`], {
    encoding: 'utf8',
  });
  return r.status === 0 ? null : `SOCK_RAW is not permitted here (CAP_NET_RAW missing): ${r.stderr.split('\n').find((l) => l.includes('EPERM')) ?? r.stderr.trim()}`;
}

/** A network namespace with loopback up. */
export class Netns {
  readonly name = `sockfd-${process.pid}-${randomBytes(3).toString('hex')}`;
  private closed = false;

  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
    this.ip('link', 'set', 'lo', 'up');
  }

  /** Runs `ip -n <ns> ...args`. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8' });
  }

  /** Adds a veth pair inside this namespace (or with `peer` in another), both ends up. */
  veth(a: string, b: string, peer: Netns = this): void {
    execFileSync('ip', ['-n', this.name, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', peer.name]);
    this.ip('link', 'set', a, 'up');
    peer.ip('link', 'set', b, 'up');
  }

  /** Runs a command inside the namespace; resolves with its stdout, rejects on failure or timeout. */
  spawn(command: string, args: string[], timeoutMs = 10_000): ReturnType<typeof spawnSync> {
    return spawnSync('ip', ['netns', 'exec', this.name, command, ...args], { encoding: 'utf8', timeout: timeoutMs });
  }

  /** Runs a node script inside the namespace and returns its stdout; throws with its stderr on failure. */
  node(script: string, timeoutMs = 10_000): string {
    const r = this.spawn(process.execPath, ['-e', script], timeoutMs);
    if (r.status !== 0) throw new Error(`node in ${this.name} exited ${r.status ?? r.signal}: ${r.stderr}`);
    return String(r.stdout);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}
