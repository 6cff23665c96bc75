// Capabilities and leftovers for the tests of socketIn and sockfd/netns: why namespaces cannot be
// made here (read from the process's effective capabilities, without making one), and what this
// process has left behind (its /run/netns entries, links in the test's own namespace).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { expect } from 'vitest';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** Why network namespaces cannot be created and entered here, or null when they can. */
export function netnsCapsMissing(): string | null {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  const eff = BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`);
  const missing = [
    [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN (to create and enter network namespaces)'],
    [CAP_NET_ADMIN, 'CAP_NET_ADMIN (to configure their links)'],
  ]
    .filter(([bit]) => (eff & (1n << BigInt(bit as number))) === 0n)
    .map(([, what]) => what);
  return missing.length === 0 ? null : `needs ${missing.join(' and ')}: run the tests as root`;
}

/** The names under /run/netns that this process (or a child of it, by the pid given) made. */
export function ownNamespaces(pid = process.pid): string[] {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(`sockfd-${pid}-`) || n.startsWith(`sockfd-wire-${pid}-`) || n.startsWith(`sockfdtest-${pid}-`));
}

/** The links of this process's own network namespace (from /sys/class/net). */
export function hostLinks(): string[] {
  return readdirSync('/sys/class/net').sort();
}

/** A snapshot to hold against `expectNothingLeft` after a test. */
export function leftovers(): { links: string[] } {
  return { links: hostLinks() };
}

/** Fails unless no namespace of this process and no new link in its own namespace remain. */
export function expectNothingLeft(before: { links: string[] }, pid = process.pid): void {
  expect(ownNamespaces(pid), 'network namespaces left under /run/netns').toEqual([]);
  expect(hostLinks(), 'links left in the test\'s own namespace').toEqual(before.links);
}

/** Why a command cannot be run here, naming the Debian package to install, or null when it can. */
export function toolMissing(command: string, debianPackage: string): string | null {
  const r = spawnSync(command, ['-V'], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return `\`${command}\` is not installed (Debian package ${debianPackage})`;
  return null;
}
