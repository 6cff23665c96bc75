/**
 * `sockfd traceroute`: argument parsing; the tracing is src/traceroute.ts.
 * @packageDocumentation
 * @internal
 */
import { traceroute, type TracerouteOptions } from '../traceroute.js';
import { type Command, parseHostArgs, usageError } from './command.js';

/** The traceroute command. @internal */
export const tracerouteCommand: Command = {
  name: 'traceroute',
  summary: 'the route to HOST hop by hop, like traceroute(8): UDP probes read back with IP_RECVERR (no privilege), or ICMP echo with -I (CAP_NET_RAW); -n is implied (addresses are not looked up)',
  usage: '[-4|-6] [-I] [-n] [-m max_hops] [-q nqueries] [-w wait] [-p port] HOST',
  async run(args) {
    const o = parseHostArgs<TracerouteOptions>(args, { host: '', maxHops: 30, queries: 3, wait: 5, port: 33434, icmp: false }, {
      numbers: {
        '-m': ['maxHops', 1, 255, false],
        '-q': ['queries', 1, 10, false],
        '-w': ['wait', 0.001, 60, true],
        '-p': ['port', 1, 65535, false],
      },
      switches: {
        '-I': (t) => (t.icmp = true),
        '-n': () => {}, // addresses are never looked up: -n is what traceroute does anyway
        '-4': (t) => (t.family = 4),
        '-6': (t) => (t.family = 6),
      },
    });
    if (typeof o === 'string') return usageError(this, o);
    try {
      return (await traceroute(o, (line) => console.log(line))) ? 0 : 1;
    } catch (err) {
      process.stderr.write(`sockfd traceroute: ${(err as Error).message}\n`);
      return 2;
    }
  },
};
