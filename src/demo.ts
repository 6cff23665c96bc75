/**
 * `sockfd demo` (what `npm start` runs): the seed's diagrams made to happen on loopback, one system
 * call at a time, each shown with its arguments, real fd and result and, after it, the kernel's view
 * of the sockets involved (`inspect`): the TCP call sequence with the state moving LISTEN →
 * ESTABLISHED → FIN_WAIT2/CLOSE_WAIT → TIME_WAIT, connections piling up in the accept queue (and what
 * happens beyond the backlog), bytes waiting in a receive queue, a send queue filling when the peer
 * does not read, the UDP echo with the seed's names, a raw ICMP echo with the packet decoded, and the
 * same TCP exchange made by Node's `net`, inspected through `fdOf`. Bounded: it ends by itself in
 * seconds.
 * @packageDocumentation
 */
import * as net from 'node:net';
import * as readline from 'node:readline';
import * as s from './index.js';
import { icmp, ipv4 } from './packet/index.js';
import type { SocketInfo } from './inspect.js';
import type { SockAddr, SockAddrIn } from './sockaddr.js';
import type { SocketEntry } from './diagtypes.js';
import type { ChildStep } from './demoqueues-child.js';
import { twoQueues } from './demoqueues.js';

/** One line of the demo, as `--json` prints it. */
export interface DemoStep {
  section: string;
  /** The call as C would write it (empty for a note or a view). */
  call: string;
  result?: string;
  /** The kernel's view of an fd after the call: `inspect(fd)`, summarised. */
  view?: string;
  note?: string;
}

/** How the demo presents itself. */
export interface DemoOptions {
  json: boolean;
  color: boolean;
  /** Wait for Enter between sections. */
  step: boolean;
  write: (line: string) => void;
}

/** A socket address as `ip:port` or a quoted path. */
export function addrText(a: SockAddr | null | undefined): string {
  if (!a) return '-';
  if ('address' in a) return a.family === s.AF_INET6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  if ('path' in a) return JSON.stringify(String(a.path)) || '(unnamed)';
  return JSON.stringify(a);
}

/** One line summarising `inspect(fd)`. */
export function viewText(i: SocketInfo): string {
  const kind = `${i.familyName?.replace('AF_', '') ?? i.family}/${i.typeName?.replace('SOCK_', '') ?? i.type}`;
  const parts = [`fd ${i.fd}`, kind];
  if (i.tcp) parts.push(i.tcp.stateName);
  parts.push(i.peer ? `${addrText(i.local)} -> ${addrText(i.peer)}` : addrText(i.local));
  if (i.tcp?.acceptQueue !== undefined) {
    parts.push(`accept queue ${i.tcp.acceptQueue}/${i.tcp.backlog}`);
    if (i.tcp.synQueue) parts.push(`syn queue ${i.tcp.synQueue.length}`);
  }
  else parts.push(`recv-q ${i.recvQueue ?? '-'}`, `send-q ${i.sendQueue ?? '-'}`);
  if (i.nonBlocking) parts.push('O_NONBLOCK');
  return parts.join('  ');
}

/** Terminal columns of a string: CJK and full-width forms take two. */
function width(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Show {
  readonly steps: DemoStep[] = [];
  private section = '';
  constructor(private readonly o: DemoOptions) {}

  private paint(code: string, text: string): string {
    return this.o.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  async heading(title: string): Promise<void> {
    if (this.o.step && this.section) await waitForEnter(this.o.write);
    this.section = title;
    if (!this.o.json) this.o.write(`\n${this.paint('1;4', title)}`);
  }

  note(text: string): void {
    this.steps.push({ section: this.section, call: '', note: text });
    if (!this.o.json) this.o.write(`   ${this.paint('2', text)}`);
  }

  /** Runs one call and prints `call = result`, then the views of `watch` fds. */
  call<T>(text: string, fn: () => T, show: (v: T) => string = (v) => String(v ?? 0), watch: number[] = []): T {
    let value: T;
    let result: string;
    try {
      value = fn();
      result = show(value);
    } catch (err) {
      const e = err as Error & { code?: string };
      result = `throws ${e.message}`;
      this.record(text, result, true);
      throw err;
    }
    this.record(text, result, false);
    for (const fd of watch) this.view(fd);
    return value;
  }

  /** Runs a call whose failure is part of the story (EAGAIN, EINPROGRESS). */
  attempt(text: string, fn: () => unknown, watch: number[] = []): string | undefined {
    try {
      const v = fn();
      this.record(text, String(v ?? 0), false);
      for (const fd of watch) this.view(fd);
      return undefined;
    } catch (err) {
      const e = err as Error & { code?: string };
      this.record(text, `${e.code ?? e.name} (${e.message})`, true);
      for (const fd of watch) this.view(fd);
      return e.code;
    }
  }

  /** Shows a step made elsewhere (by the two-queues child, in its namespace) as one of the demo's own. */
  replay(step: ChildStep): void {
    if (step.note !== undefined) this.note(step.note);
    else if (step.view !== undefined) {
      this.steps.push({ section: this.section, call: '', view: step.view });
      if (!this.o.json) this.o.write(`      ${this.paint('33', '↳ ' + step.view)}`);
    } else this.record(step.call, step.result ?? '', step.failed === true);
  }

  view(fd: number): void {
    const text = viewText(s.inspect(fd));
    this.steps.push({ section: this.section, call: '', view: text });
    if (!this.o.json) this.o.write(`      ${this.paint('33', '↳ ' + text)}`);
  }

  private record(call: string, result: string, failed: boolean): void {
    this.steps.push({ section: this.section, call, result });
    if (this.o.json) return;
    const pad = ' '.repeat(Math.max(1, 60 - width(call)));
    this.o.write(`   ${call}${pad}${this.paint(failed ? '31' : '36', `= ${result}`)}`);
  }
}

/**
 * Enter presses from stdin, counted by one readline interface for the whole demo (a piped stdin
 * delivers all its lines at once). Once stdin ends, nothing waits any more.
 */
class Keys {
  private pending = 0;
  private closed = false;
  private waiting: (() => void) | undefined;
  private readonly rl = readline.createInterface({ input: process.stdin });

  constructor() {
    const rl = this.rl;
    rl.on('line', () => {
      this.pending++;
      this.release();
    });
    rl.on('close', () => {
      this.closed = true;
      this.release();
    });
  }

  private release(): void {
    if (!this.waiting || (this.pending === 0 && !this.closed)) return;
    if (this.pending > 0) this.pending--;
    const w = this.waiting;
    this.waiting = undefined;
    w();
  }

  close(): void {
    this.rl.close();
  }

  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.release();
    });
  }
}

let keys: Keys | undefined;

function waitForEnter(write: (line: string) => void): Promise<void> {
  write('\n   (press Enter for the next step)');
  keys ??= new Keys();
  return keys.next();
}

/** Polls one fd for `events`, up to `ms`; true when ready. */
function ready(fd: number, events: number, ms: number): boolean {
  return (s.poll([{ fd, events }], ms)[0]!.revents & events) !== 0;
}

const LOOPBACK = { family: s.AF_INET, address: '127.0.0.1', port: 0 };

async function tcpSequence(t: Show): Promise<void> {
  await t.heading('TCP: socket → bind → listen → accept ↔ connect → write/read → close');
  const server = t.call('socket(AF_INET, SOCK_STREAM, 0)', () => s.socket(s.AF_INET, s.SOCK_STREAM), String, []);
  t.view(server);
  t.call(`bind(${server}, 127.0.0.1:0)`, () => s.bind(server, LOOPBACK), undefined, [server]);
  t.call(`listen(${server}, 1)`, () => s.listen(server, 1), undefined, [server]);
  const where = s.getsockname(server);
  t.note('A listening socket keeps a queue of connections whose handshake is done, waiting for accept.');
  t.note('Connect three clients before calling accept (non-blocking, so the third does not hang the demo):');
  const clients: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c = t.call('socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)', () => s.socket(s.AF_INET, s.SOCK_STREAM | s.SOCK_NONBLOCK), String);
    clients.push(c);
    t.attempt(`connect(${c}, ${addrText(where)})`, () => s.connect(c, where));
    ready(c, s.POLLOUT, 200);
    t.view(c);
    t.view(server);
  }
  t.note('Linux queues backlog + 1 connections; the third SYN is dropped, so that client stays in SYN_SENT');
  t.note('and its SYN is retransmitted about a second later, once accept has made room.');
  const conn = t.call(`accept(${server}, 0)`, () => s.accept(server), (r) => `fd ${r.fd} from ${addrText(r.address)}`);
  t.view(conn.fd);
  t.view(server);
  const [client, second, third] = clients as [number, number, number];
  const hello = Buffer.from('你好，这是客户端!');
  t.call(`write(${client}, "你好，这是客户端!")`, () => s.write(client, hello), String, [conn.fd]);
  const mem = s.inspect(conn.fd);
  t.note(`The ${mem.recvQueue} bytes sit in the accepted socket's receive queue until read, as sk_buffs: ${mem.skmem?.rmemAlloc ?? '?'} bytes`);
  t.note(`of kernel memory (skmem rmemAlloc, what counts against rcvbuf ${mem.skmem?.rcvbuf ?? mem.rcvbuf}): headers and bookkeeping, not just payload.`);
  const buf = Buffer.alloc(4096);
  t.call(`read(${conn.fd}, buf, 4096)`, () => s.read(conn.fd, buf), (n) => `${n}: "${buf.toString('utf8', 0, n)}"`, [conn.fd]);
  const greeting = Buffer.from('你好，来自服务器的问候!\n');
  t.call(`write(${conn.fd}, "你好，来自服务器的问候!\\n")`, () => s.write(conn.fd, greeting), String, [client]);
  t.call(`read(${client}, buf, 4096)`, () => s.read(client, buf), (n) => `${n}: ${JSON.stringify(buf.toString('utf8', 0, n))}`);
  t.note('Closing, one direction at a time:');
  t.call(`shutdown(${client}, SHUT_WR)`, () => s.shutdown(client, s.SHUT_WR));
  // The peer acknowledges our FIN (possibly delayed by up to ~40 ms): FIN_WAIT1 becomes FIN_WAIT2.
  for (let i = 0; i < 50 && s.inspect(client).tcp?.stateName === 'FIN_WAIT1'; i++) await sleep(10);
  t.view(client);
  t.view(conn.fd);
  t.call(`read(${conn.fd}, buf, 4096)`, () => s.read(conn.fd, buf), (n) => `${n} (end of stream: the peer shut down its side)`);
  t.call(`close(${conn.fd})`, () => s.close(conn.fd));
  ready(client, s.POLLIN, 200);
  t.view(client);
  t.note('The side that closed first is now in TIME_WAIT, which the kernel keeps apart from the socket: the fd');
  t.note('itself reports CLOSE. TIME_WAIT is not an fd, so sock_diag (what ss asks) is where it shows:');
  const clientPort = (s.getsockname(client) as SockAddrIn).port;
  const ours = (e: SocketEntry): boolean => (e.local as SockAddrIn).port === clientPort && (e.peer as SockAddrIn | null)?.port === (where as SockAddrIn).port;
  t.call(`listSockets({ states: ['TIME_WAIT'], port: ${clientPort} })`, () => s.listSockets({ states: ['TIME_WAIT'], port: clientPort }).filter(ours), (list) =>
    list.map((e) => `${e.stateName} ${addrText(e.local)} -> ${addrText(e.peer)}, timer ${Math.round((e.timer?.expires ?? 0) / 1000)} s, inode ${e.inode}, fds [${e.fds}]`).join('; ') || 'none');
  for (const c of [client, second, third]) t.call(`close(${c})`, () => s.close(c));
  t.call(`close(${server})`, () => s.close(server));
}

async function queues(t: Show): Promise<void> {
  await t.heading('Send and receive queues: a peer that does not read');
  const b = s.socket(s.AF_INET, s.SOCK_STREAM);
  const l = s.socket(s.AF_INET, s.SOCK_STREAM);
  try {
    s.bind(l, LOOPBACK);
    s.listen(l);
    s.setsockopt(b, s.SOL_SOCKET, s.SO_RCVBUF, 4096);
    s.connect(b, s.getsockname(l));
    const conn = s.accept(l).fd;
    s.close(l);
    t.call(`setsockopt(${conn}, SOL_SOCKET, SO_SNDBUF, 4096)`, () => s.setsockopt(conn, s.SOL_SOCKET, s.SO_SNDBUF, 4096));
    t.call(`fcntl(${conn}, F_SETFL, O_NONBLOCK)`, () => s.fcntl(conn, s.F_SETFL, s.O_NONBLOCK));
    const chunk = Buffer.alloc(16384, 0x61);
    let total = 0;
    for (let i = 0; i < 64; i++) {
      const text = `send(${conn}, 16 KiB, MSG_DONTWAIT)`;
      const code = t.attempt(text, () => {
        const n = s.send(conn, chunk, undefined, s.MSG_DONTWAIT);
        total += n;
        return n;
      });
      if (code === 'EAGAIN') break;
    }
    t.note(`${total} bytes accepted by the kernel; the peer's receive queue and this send queue hold them:`);
    t.view(conn);
    t.view(b);
    s.close(conn);
  } finally {
    s.close(b);
  }
}

async function udpEcho(t: Show): Promise<void> {
  await t.heading('UDP: bind → sendto ↔ recvfrom (the seed\'s echo server: "Hello, %s!")');
  const server = t.call('socket(AF_INET, SOCK_DGRAM, 0)', () => s.socket(s.AF_INET, s.SOCK_DGRAM), String);
  t.call(`bind(${server}, 127.0.0.1:0)`, () => s.bind(server, LOOPBACK), undefined, [server]);
  const where = s.getsockname(server);
  const client = t.call('socket(AF_INET, SOCK_DGRAM, 0)', () => s.socket(s.AF_INET, s.SOCK_DGRAM), String);
  const buf = Buffer.alloc(1024);
  for (const name of ['Michael', 'Tracy', 'Sarah']) {
    t.call(`sendto(${client}, "${name}", 0, ${addrText(where)})`, () => s.sendto(client, Buffer.from(name), undefined, 0, where), String, [server]);
    const got = t.call(`recvfrom(${server}, buf, 1024, 0)`, () => s.recvfrom(server, buf), (r) => `${r.bytes} from ${addrText(r.address)}`);
    const reply = Buffer.from(`Hello, ${buf.toString('utf8', 0, got.bytes)}!`);
    t.call(`sendto(${server}, "${reply}", 0, ${addrText(got.address)})`, () => s.sendto(server, reply, undefined, 0, got.address!), String);
    t.call(`recvfrom(${client}, buf, 1024, 0)`, () => s.recvfrom(client, buf), (r) => `${r.bytes}: "${buf.toString('utf8', 0, r.bytes)}"`);
  }
  t.call(`close(${client})`, () => s.close(client));
  t.call(`close(${server})`, () => s.close(server));
}

async function rawEcho(t: Show): Promise<void> {
  await t.heading('SOCK_RAW: an ICMP echo to 127.0.0.1, built and decoded with sockfd/packet');
  let fd: number;
  try {
    fd = t.call('socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)', () => s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP), String);
  } catch {
    t.note('skipped: raw sockets need CAP_NET_RAW (run as root, or setcap cap_net_raw+ep on node)');
    return;
  }
  try {
    const id = process.pid & 0xffff;
    const request = icmp.encode({ type: icmp.ECHO_REQUEST, identifier: id, sequence: 1 }, Buffer.from('sockfd demo'));
    t.call(`sendto(${fd}, icmp echo id=${id} seq=1 (${request.length} bytes), 0, 127.0.0.1)`, () =>
      s.sendto(fd, request, undefined, 0, { family: s.AF_INET, address: '127.0.0.1', port: 0 }), String);
    const buf = Buffer.alloc(1500);
    for (let i = 0; i < 4 && ready(fd, s.POLLIN, 1000); i++) {
      const n = s.recv(fd, buf, undefined, s.MSG_DONTWAIT);
      const ip = ipv4.decode(buf.subarray(0, n));
      const m = icmp.decode(ip.payload);
      const kind = m.type === icmp.ECHO_REPLY ? 'echo reply' : m.type === icmp.ECHO_REQUEST ? 'echo request (our own, as raw sockets see it)' : `type ${m.type}`;
      t.call(`recv(${fd}, buf, 1500, 0)`, () => n, () =>
        `${n}: IPv4 ${ip.source} → ${ip.destination} ttl=${ip.ttl} checksum ${ip.checksumValid ? 'ok' : 'BAD'} | ICMP ${kind} id=${m.identifier} seq=${m.sequence} checksum ${m.checksumValid ? 'ok' : 'BAD'} data="${m.payload}"`);
      if (m.type === icmp.ECHO_REPLY && m.identifier === id) break;
    }
  } finally {
    s.close(fd);
  }
}

async function withNet(t: Show): Promise<void> {
  await t.heading("The same exchange through Node's net, its fds inspected with fdOf");
  const server = net.createServer((sock) => {
    sock.once('data', () => sock.end('你好，来自服务器的问候!\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.call('fdOf(server)', () => s.fdOf(server), String, [s.fdOf(server)]);
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  t.call('fdOf(client)', () => s.fdOf(client), String, [s.fdOf(client)]);
  t.note('libuv made both non-blocking and close-on-exec, just as sockfd/promises would.');
  const reply = await new Promise<string>((resolve) => {
    let got = '';
    client.on('data', (d) => (got += d));
    client.on('end', () => resolve(got));
    client.write('你好，这是客户端!');
  });
  t.note(`client received ${JSON.stringify(reply)} and end of stream`);
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

/** Runs the demo; resolves with its steps (what `--json` prints). */
export async function demo(o: DemoOptions): Promise<DemoStep[]> {
  const t = new Show(o);
  const started = Date.now();
  await tcpSequence(t);
  await twoQueues(t);
  await queues(t);
  await udpEcho(t);
  await rawEcho(t);
  await withNet(t);
  if (!o.json) o.write(`\n   done in ${Date.now() - started} ms; every fd above was real: see /proc/${process.pid}/fd while it runs with --step.`);
  keys?.close();
  keys = undefined;
  return t.steps;
}
