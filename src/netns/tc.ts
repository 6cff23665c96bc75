/**
 * iproute2's `tc`, for the kernel's netem qdisc (the `netem` engine of direct links). netem's
 * parameters are tc's own language (time units, percentages, distribution tables that come with
 * iproute2, correlations), and the kernel takes them in a structure of psched ticks that tc computes
 * from /proc/net/psched: speaking that through rtnetlink would copy tc's parser, so sockfd/netns runs
 * `tc -netns NAME qdisc ...` instead. Everything else (links, addresses, routes, MTU, up/down) goes
 * through rtnetlink directly.
 * @internal
 * @packageDocumentation
 */
import { execFile } from 'node:child_process';
import type { Namespace } from './namespace.js';

const TC_MS = 10_000;

function coded(code: string, message: string): Error {
  const err = new Error(message);
  (err as Error & { code: string }).code = code;
  return err;
}

/**
 * Runs `tc -netns <ns> ...args`, resolving with its stdout. A missing `tc` is an error naming the
 * Debian package (iproute2); a kernel without netem says so.
 */
export function tc(ns: Namespace, args: string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tc', ['-netns', ns.name, ...args], { timeout: TC_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') {
        return reject(coded('ERR_NETNS_TOOL_MISSING', `sockfd/netns: ${what} needs \`tc\`, which is not installed: install the Debian package iproute2 (apt-get install iproute2)`));
      }
      const text = String(stderr).trim();
      if (/qdisc kind is unknown/i.test(text) && args.includes('netem')) {
        return reject(
          coded(
            'ERR_NETNS_NETEM_UNAVAILABLE',
            `sockfd/netns: ${what}: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM, module sch_netem; tc said: ${text}). Use a wired link (createLink's default), whose impairments need no kernel support`,
          ),
        );
      }
      reject(coded('ERR_NETNS_TC', `sockfd/netns: ${what}: \`tc ${['-netns', ns.name, ...args].join(' ')}\` failed${e.killed ? ` (killed after ${TC_MS} ms)` : ''}: ${text || e.message}`));
    });
  });
}
