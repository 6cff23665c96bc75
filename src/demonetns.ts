/**
 * The demo's network namespace, made and removed with ip(8): one namespace with loopback up and a
 * veth pair `va` (the local end, with an address) and `vb` (the peer end, up, with no address, so
 * nothing in the namespace answers ARP for the rest of the subnet). Programs run inside it through
 * `ip netns exec`. Kept in this one small module so that sockfd/netns can replace it.
 * @internal
 * @packageDocumentation
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** A namespace made for the demo; `close()` removes it and everything in it. @internal */
export interface DemoNamespace {
  readonly name: string;
  /** Runs `file args...` inside the namespace, for at most `timeoutMs`. */
  run(file: string, args: string[], timeoutMs: number): SpawnSyncReturns<string>;
  close(): void;
}

function ip(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
}

/**
 * Makes the namespace, with `address` (CIDR, e.g. '198.18.0.1/24') on `va`. Returns why it cannot
 * (a sentence) instead when ip(8) is missing or refuses (no CAP_SYS_ADMIN/CAP_NET_ADMIN).
 * @internal
 */
export function makeDemoNamespace(address: string): DemoNamespace | string {
  if (process.getuid?.() !== 0) return 'network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)';
  const name = `sockfd-demo-${process.pid}`;
  const add = ip(['netns', 'add', name]);
  if (add.error) return `ip (iproute2) is not available: ${add.error.message}`;
  if (add.status !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`;
  const ns: DemoNamespace = {
    name,
    run: (file, args, timeoutMs) => spawnSync('ip', ['netns', 'exec', name, file, ...args], { encoding: 'utf8', timeout: timeoutMs }),
    close: () => void ip(['netns', 'del', name]),
  };
  for (const args of [
    ['link', 'set', 'lo', 'up'],
    ['link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'],
    ['link', 'set', 'va', 'up'],
    ['link', 'set', 'vb', 'up'],
    ['addr', 'add', address, 'dev', 'va'],
  ]) {
    const r = ip(['-n', name, ...args]);
    if (r.status !== 0) {
      ns.close();
      return `cannot set up the namespace (ip ${args.join(' ')}): ${r.stderr.trim()}`;
    }
  }
  return ns;
}
