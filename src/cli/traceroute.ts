/**
 * `sockfd traceroute`: argument parsing; the tracing is src/traceroute.ts.
 * @packageDocumentation
 * @internal
 */
import { traceroute, type TracerouteOptions } from '../traceroute.js';
import { type Command, numberArg, usageError } from './command.js';

/** The traceroute command. @internal */
export const tracerouteCommand: Command = {
  name: 'traceroute',
  summary: 'the route to HOST hop by hop, like traceroute(8): UDP probes read back with IP_RECVERR (no privilege), or ICMP echo with -I (CAP_NET_RAW); -n is implied (addresses are not looked up)',
  usage: '[-4|-6] [-I] [-n] [-m max_hops] [-q nqueries] [-w wait] [-p port] HOST',
  async run(args) {
    const o: TracerouteOptions = { host: '', maxHops: 30, queries: 3, wait: 5, port: 33434, icmp: false };
    const numbers: Record<string, [keyof TracerouteOptions, number, number, boolean]> = {
      '-m': ['maxHops', 1, 255, false],
      '-q': ['queries', 1, 10, false],
      '-w': ['wait', 0.001, 60, true],
      '-p': ['port', 1, 65535, false],
    };
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const spec = numbers[a];
      if (spec) {
        const v = numberArg(a, args[++i], spec[1], spec[2], spec[3]);
        if (typeof v === 'string') return usageError(this, v);
        (o as unknown as Record<string, number>)[spec[0]] = v;
      } else if (a === '-I') o.icmp = true;
      else if (a === '-n') continue;
      else if (a === '-4' || a === '-6') o.family = a === '-4' ? 4 : 6;
      else if (a.startsWith('-')) return usageError(this, `unknown option ${a}`);
      else if (o.host) return usageError(this, 'one host only');
      else o.host = a;
    }
    if (!o.host) return usageError(this, 'a HOST is required');
    try {
      return (await traceroute(o, (line) => console.log(line))) ? 0 : 1;
    } catch (err) {
      process.stderr.write(`sockfd traceroute: ${(err as Error).message}\n`);
      return 2;
    }
  },
};
