/**
 * `sockfd ping`: argument parsing; the pinging is src/ping.ts.
 * @packageDocumentation
 * @internal
 */
import { ping, type PingOptions } from '../ping.js';
import { type Command, interruptible, parseHostArgs, usageError } from './command.js';

/** The ping command. @internal */
export const pingCommand: Command = {
  name: 'ping',
  summary: 'ICMP echo like ping(8): SOCK_RAW with CAP_NET_RAW, else an unprivileged ICMP datagram socket (net.ipv4.ping_group_range)',
  usage: '[-c count] [-i interval] [-s packetsize] [-W timeout] HOST',
  async run(args) {
    const o = parseHostArgs<PingOptions>(args, { host: '', count: Infinity, interval: 1, size: 56, timeout: 2 }, {
      numbers: {
        '-c': ['count', 1, 1e9, false],
        '-i': ['interval', 0.001, 3600, true],
        '-s': ['size', 8, 65507, false],
        '-W': ['timeout', 0.001, 3600, true],
      },
    });
    if (typeof o === 'string') return usageError(this, o);
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
