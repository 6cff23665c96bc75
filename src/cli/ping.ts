/**
 * `sockfd ping`: argument parsing; the pinging is src/ping.ts.
 * @packageDocumentation
 * @internal
 */
import { ping, type PingOptions } from '../ping.js';
import { type Command, interruptible, numberArg, usageError } from './command.js';

/** The ping command. @internal */
export const pingCommand: Command = {
  name: 'ping',
  summary: 'ICMP echo like ping(8): SOCK_RAW with CAP_NET_RAW, else an unprivileged ICMP datagram socket (net.ipv4.ping_group_range)',
  usage: '[-c count] [-i interval] [-s packetsize] [-W timeout] HOST',
  async run(args) {
    const o: PingOptions = { host: '', count: Infinity, interval: 1, size: 56, timeout: 2 };
    const numbers: Record<string, [keyof PingOptions, number, number, boolean]> = {
      '-c': ['count', 1, 1e9, false],
      '-i': ['interval', 0.001, 3600, true],
      '-s': ['size', 8, 65507, false],
      '-W': ['timeout', 0.001, 3600, true],
    };
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const spec = numbers[a];
      if (spec) {
        const v = numberArg(a, args[++i], spec[1], spec[2], spec[3]);
        if (typeof v === 'string') return usageError(this, v);
        (o as unknown as Record<string, number>)[spec[0]] = v;
      } else if (a.startsWith('-')) return usageError(this, `unknown option ${a}`);
      else if (o.host) return usageError(this, 'one host only');
      else o.host = a;
    }
    if (!o.host) return usageError(this, 'a HOST is required');
    return interruptible(async (signal) => {
      try {
        const stats = await ping({ ...o, signal }, (line) => console.log(line), (note) => process.stderr.write(`sockfd ping: ${note}\n`));
        return stats.received > 0 ? 0 : 1;
      } catch (err) {
        process.stderr.write(`sockfd ping: ${(err as Error).message}\n`);
        return 2;
      }
    });
  },
};
