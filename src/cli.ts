/**
 * The `sockfd` command: `sockfd demo` (what `npm start` runs) plays the seed's TCP and UDP call
 * sequences on loopback through sockfd, printing every call with its real fd and result.
 * @packageDocumentation
 */
import * as s from './index.js';
import { ping, type PingOptions } from './ping.js';
import type { SockAddr } from './sockaddr.js';

interface Step {
  section: string;
  call: string;
  result: string;
  note?: string;
}

class Tracer {
  readonly steps: Step[] = [];
  private section = '';
  constructor(
    private readonly json: boolean,
    private readonly color: boolean,
  ) {}

  heading(title: string): void {
    this.section = title;
    if (!this.json) console.log(`\n${this.paint('1', `== ${title}`)}`);
  }

  note(text: string): void {
    if (!this.json) console.log(`   ${this.paint('2', text)}`);
    else this.steps.push({ section: this.section, call: '', result: '', note: text });
  }

  /** Runs one call, printing `call = result`. */
  call<T>(text: string, fn: () => T, show: (v: T) => string = (v) => String(v)): T {
    let value: T;
    try {
      value = fn();
    } catch (err) {
      const e = err as Error & { code?: string };
      this.record(text, `throws ${e.code ?? e.name}: ${e.message}`);
      throw err;
    }
    this.record(text, show(value));
    return value;
  }

  private record(call: string, result: string): void {
    this.steps.push({ section: this.section, call, result });
    if (!this.json) console.log(`   ${call}${' '.repeat(Math.max(1, 59 - width(call)))}${this.paint('36', `= ${result}`)}`);
  }

  private paint(code: string, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
}

/** Terminal columns of a string: CJK and full-width forms take two. */
function width(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

function addr(a: SockAddr | null): string {
  if (a === null) return 'null';
  if ('address' in a) return `${a.address}:${a.port}`;
  if ('path' in a) return JSON.stringify(String(a.path));
  return JSON.stringify(a);
}

const LOOPBACK = { family: s.AF_INET, address: '127.0.0.1', port: 0 };

function tcpDemo(t: Tracer): void {
  t.heading('TCP: socket -> bind -> listen -> accept <-> connect -> write/read -> close');
  const server = t.call('socket(AF_INET, SOCK_STREAM, 0)', () => s.socket(s.AF_INET, s.SOCK_STREAM));
  t.call(`bind(${server}, 127.0.0.1:0)`, () => s.bind(server, LOOPBACK), () => '0');
  t.call(`listen(${server}, 5)`, () => s.listen(server, 5), () => '0');
  const where = t.call(`getsockname(${server})`, () => s.getsockname(server), addr);
  t.call(`getsockopt(${server}, SOL_SOCKET, SO_ACCEPTCONN)`, () => s.getsockopt(server, s.SOL_SOCKET, s.SO_ACCEPTCONN));
  const client = t.call('socket(AF_INET, SOCK_STREAM, 0)', () => s.socket(s.AF_INET, s.SOCK_STREAM));
  t.call(`connect(${client}, ${addr(where)})`, () => s.connect(client, where), () => '0');
  t.note('The three-way handshake is done by the kernel: the connection now waits in the listen queue.');
  const conn = t.call(`accept(${server}, 0)`, () => s.accept(server), (r) => `fd ${r.fd} from ${addr(r.address)}`);
  const hello = Buffer.from('你好，这是客户端!');
  t.call(`write(${client}, "你好，这是客户端!")`, () => s.write(client, hello));
  t.call(`ioctl(${conn.fd}, FIONREAD)`, () => s.ioctl(conn.fd, s.FIONREAD), (n) => `${n} bytes in the receive queue`);
  const buf = Buffer.alloc(1024);
  const n = t.call(`read(${conn.fd}, buf, 1024)`, () => s.read(conn.fd, buf), (n) => `${n}: "${buf.toString('utf8', 0, n)}"`);
  void n;
  const greeting = Buffer.from('你好，来自服务器的问候!\n');
  t.call(`write(${conn.fd}, "你好，来自服务器的问候!\\n")`, () => s.write(conn.fd, greeting));
  t.call(`read(${client}, buf, 1024)`, () => s.read(client, buf), (n) => `${n}: ${JSON.stringify(buf.toString('utf8', 0, n))}`);
  t.call(`close(${client})`, () => s.close(client), () => '0');
  t.call(`read(${conn.fd}, buf, 1024)`, () => s.read(conn.fd, buf), (n) => `${n} (end of stream: the client closed)`);
  t.call(`close(${conn.fd})`, () => s.close(conn.fd), () => '0');
  t.call(`close(${server})`, () => s.close(server), () => '0');
}

function udpDemo(t: Tracer): void {
  t.heading('UDP: bind -> sendto <-> recvfrom (the seed\'s echo server: "Hello, %s!")');
  const server = t.call('socket(AF_INET, SOCK_DGRAM, 0)', () => s.socket(s.AF_INET, s.SOCK_DGRAM));
  t.call(`bind(${server}, 127.0.0.1:0)`, () => s.bind(server, LOOPBACK), () => '0');
  const where = t.call(`getsockname(${server})`, () => s.getsockname(server), addr);
  const client = t.call('socket(AF_INET, SOCK_DGRAM, 0)', () => s.socket(s.AF_INET, s.SOCK_DGRAM));
  const buf = Buffer.alloc(1024);
  for (const name of ['Michael', 'Tracy', 'Sarah']) {
    t.call(`sendto(${client}, "${name}", ${addr(where)})`, () => s.sendto(client, Buffer.from(name), undefined, 0, where));
    const got = t.call(`recvfrom(${server}, buf, 1024)`, () => s.recvfrom(server, buf), (r) => `${r.bytes} from ${addr(r.address)}`);
    const reply = Buffer.from(`Hello, ${buf.toString('utf8', 0, got.bytes)}!`);
    t.call(`sendto(${server}, "${reply}", ${addr(got.address)})`, () => s.sendto(server, reply, undefined, 0, got.address!));
    t.call(`recvfrom(${client}, buf, 1024)`, () => s.recvfrom(client, buf), (r) => `${r.bytes}: "${buf.toString('utf8', 0, r.bytes)}"`);
  }
  t.call(`close(${client})`, () => s.close(client), () => '0');
  t.call(`close(${server})`, () => s.close(server), () => '0');
}

const HELP = `sockfd — the POSIX socket API for Node.js, on real file descriptors

Usage: sockfd <command> [options]

Commands:
  demo [--json]   play the TCP and UDP call sequences on 127.0.0.1, printing each call,
                  its real fd and its result (this is what \`npm start\` runs)
  ping [-c count] [-i interval] [-s size] [-W timeout] HOST
                  ICMP echo over a SOCK_RAW socket (needs CAP_NET_RAW), like ping(8)
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
  if (command !== 'demo') {
    process.stderr.write(`sockfd: unknown command '${command}'\n\n${HELP}`);
    return 2;
  }
  const json = rest.includes('--json');
  const t = new Tracer(json, !json && process.stdout.isTTY === true);
  try {
    tcpDemo(t);
    udpDemo(t);
  } catch (err) {
    if (json) console.log(JSON.stringify({ steps: t.steps, error: String(err) }, null, 2));
    else console.error(`\nsockfd demo failed: ${(err as Error).message}`);
    return 1;
  }
  if (json) console.log(JSON.stringify({ steps: t.steps }, null, 2));
  return 0;
}
