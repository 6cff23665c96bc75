/**
 * The `sockfd` command: `sockfd demo` (what `npm start` runs) plays the seed's TCP and UDP call
 * sequences on loopback through sockfd, printing every call with its real fd and result.
 * @packageDocumentation
 */
import { demo } from './demo.js';
import { ping, type PingOptions } from './ping.js';
import * as ssCommand from './sscmd.js';

const HELP = `sockfd — the POSIX socket API for Node.js, on real file descriptors

Usage: sockfd <command> [options]

Commands:
  demo [--json] [--step]
                  make the seed's diagrams happen on 127.0.0.1: every call with its real fd
                  and result, and the kernel's view after it (this is what \`npm start\` runs)
  ping [-c count] [-i interval] [-s size] [-W timeout] HOST
                  ICMP echo over a SOCK_RAW socket (needs CAP_NET_RAW), like ping(8)
  ss [--pid N] [--json] [filter]
                  ${ssCommand.summary}
  help            this text
`;

const PING_USAGE = 'usage: sockfd ping [-c count] [-i interval] [-s packetsize] [-W timeout] HOST';

/** Parses ping's options; a string is a usage error. */
function pingOptions(args: string[]): PingOptions | string {
  const o: PingOptions = { host: '', count: Infinity, interval: 1, size: 56, timeout: 2 };
  const numbers: Record<string, [keyof PingOptions, number, number]> = {
    '-c': ['count', 1, 1e9],
    '-i': ['interval', 0.001, 3600],
    '-s': ['size', 8, 65507],
    '-W': ['timeout', 0.001, 3600],
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const spec = numbers[a];
    if (spec) {
      const v = Number(args[++i]);
      const [key, min, max] = spec;
      if (!Number.isFinite(v) || v < min || v > max || (key !== 'interval' && key !== 'timeout' && !Number.isInteger(v))) {
        return `sockfd ping: invalid value for ${a}: ${args[i] ?? '(missing)'} (${min} to ${max})`;
      }
      (o as unknown as Record<string, number>)[key] = v;
    } else if (a.startsWith('-')) return `sockfd ping: unknown option ${a}`;
    else if (o.host) return `sockfd ping: one host only`;
    else o.host = a;
  }
  return o.host ? o : 'sockfd ping: a HOST is required';
}

async function pingCommand(args: string[]): Promise<number> {
  const options = pingOptions(args);
  if (typeof options === 'string') {
    process.stderr.write(`${options}\n${PING_USAGE}\n`);
    return 2;
  }
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort();
  process.once('SIGINT', onSigint);
  try {
    const stats = await ping({ ...options, signal: interrupt.signal }, (line) => console.log(line));
    return stats.received > 0 ? 0 : 1;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`sockfd ping: ${e.message}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'demo', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'ping') return pingCommand(rest);
  if (command === 'ss') return ssCommand.run(rest);
  if (command !== 'demo') {
    process.stderr.write(`sockfd: unknown command '${command}'\n\n${HELP}`);
    return 2;
  }
  const unknown = rest.filter((a) => a !== '--json' && a !== '--step');
  if (unknown.length) {
    process.stderr.write(`sockfd demo: unknown option ${unknown[0]}\n\n${HELP}`);
    return 2;
  }
  const json = rest.includes('--json');
  const write = (line: string): void => void process.stdout.write(line + '\n');
  try {
    const steps = await demo({ json, step: rest.includes('--step'), color: !json && process.stdout.isTTY === true, write });
    if (json) write(JSON.stringify({ steps }, null, 2));
    return 0;
  } catch (err) {
    process.stderr.write(`\nsockfd demo failed: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}
