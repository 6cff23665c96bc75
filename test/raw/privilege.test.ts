// Without CAP_NET_RAW: `socket` fails with EPERM and a message naming the capability, and
// `sockfd ping` says so and exits 2. With it, `sockfd ping` inside a fresh namespace.
//
// Privileges are dropped for a child process only, with
// `setpriv --reuid=nobody --inh-caps=-all --bounding-set=-net_raw`. Every child runs inside a network
// namespace of the test's own, removed after each test, so even a ping that should not have worked
// could only reach that namespace's loopback. Children are bounded by run timeouts.
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFdLeaks } from '../helpers/fds.js';
import { Netns, netnsUnavailable, pkg, rawUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping raw socket tests:', skip);

checkFdLeaks();

const bin = path.join(__dirname, '..', '..', 'bin', 'sockfd.js');
const DROP = ['--reuid=nobody', '--inh-caps=-all', '--bounding-set=-net_raw'];

let ns: Netns;

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command inside the namespace; `unprivileged` runs it as nobody without CAP_NET_RAW. */
function exec(args: string[], { unprivileged = false, timeoutMs = 10_000 } = {}): Outcome {
  const started = Date.now();
  const r = unprivileged ? ns.spawn('setpriv', [...DROP, ...args], timeoutMs) : ns.spawn(args[0]!, args.slice(1), timeoutMs);
  return { status: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - started };
}

interface Failure {
  ok: boolean;
  name?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  message?: string;
  isSystemError?: boolean;
  uid: number;
}

/** Calls socket(domain, type, protocol) in an unprivileged node child; reports the error it throws. */
function unprivilegedSocket(domain: string, type: string, protocol: string): Failure {
  const script = `
    const s = require(${JSON.stringify(pkg)});
    let out;
    try {
      s.close(s.socket(s.${domain}, s.${type}, ${protocol}));
      out = { ok: true };
    } catch (e) {
      out = { ok: false, name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message, isSystemError: e instanceof s.SystemError };
    }
    out.uid = process.getuid();
    process.stdout.write(JSON.stringify(out));
  `;
  const r = exec([process.execPath, '-e', script], { unprivileged: true });
  if (r.status !== 0) throw new Error(`the unprivileged child exited ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Failure;
}

describe.skipIf(skip !== null)('raw sockets without CAP_NET_RAW', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => {
    ns.destroy();
  });

  it('an unprivileged child still opens an ordinary UDP socket (the privileges dropped are only the raw ones)', () => {
    const got = unprivilegedSocket('AF_INET', 'SOCK_DGRAM', '0');
    expect(got.uid).not.toBe(0);
    expect(got.ok).toBe(true);
  });

  it.each([
    ['AF_INET', 'SOCK_RAW', 's.IPPROTO_ICMP'],
    ['AF_INET', 'SOCK_RAW', 's.IPPROTO_RAW'],
    ['AF_INET6', 'SOCK_RAW', 's.IPPROTO_ICMPV6'],
    ['AF_PACKET', 'SOCK_RAW', 's.htons(s.ETH_P_ALL)'],
    ['AF_PACKET', 'SOCK_DGRAM', 's.htons(s.ETH_P_ALL)'],
  ])('socket(%s, %s, %s) without CAP_NET_RAW throws EPERM from socket with a message naming CAP_NET_RAW', (domain, type, protocol) => {
    const got = unprivilegedSocket(domain, type, protocol);
    expect(got.uid).not.toBe(0);
    expect(got).toMatchObject({ ok: false, name: 'Error', code: 'EPERM', errno: -1, syscall: 'socket', isSystemError: true });
    expect(got.message).toMatch(/^socket EPERM \(.*CAP_NET_RAW.*\)$/);
  });

  it('sockfd ping without CAP_NET_RAW, where ping_group_range forbids datagram ICMP, names CAP_NET_RAW and ping_group_range and exits 2', () => {
    // A new namespace's net.ipv4.ping_group_range is "1 0": no group may open an ICMP datagram socket.
    const r = exec([process.execPath, bin, 'ping', '-c', '1', '127.0.0.1'], { unprivileged: true });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^sockfd ping: socket EPERM .*CAP_NET_RAW.*net\.ipv4\.ping_group_range/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1); // one clear line, no stack trace
  });
});

describe.skipIf(skip !== null)('sockfd ping with CAP_NET_RAW, in a fresh network namespace', () => {
  beforeEach(() => {
    ns = new Netns();
  });
  afterEach(() => {
    ns.destroy();
  });

  it.each([
    { host: '127.0.0.1', total: '84', hopName: 'ttl' },
    { host: '::1', total: '104', hopName: 'hlim' },
  ])('sockfd ping -c 3 -i 0.2 $host prints 3 replies and a summary without packet loss', ({ host, total, hopName }) => {
    const r = exec([process.execPath, bin, 'ping', '-c', '3', '-i', '0.2', host]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`PING ${host} (${host}) 56(${total}) bytes of data.`);
    const replies = lines.filter((l) => l.includes(' bytes from '));
    expect(replies).toHaveLength(3);
    replies.forEach((line, i) => {
      expect(line).toMatch(new RegExp(`^64 bytes from ${host.replace(/\./g, '\\.')}: icmp_seq=${i + 1} ${hopName}=64 time=\\d+(\\.\\d+)? ms$`));
    });
    expect(r.stdout).toContain(`--- ${host} ping statistics ---`);
    expect(r.stdout).toMatch(/^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$/m);
    expect(r.stdout).toMatch(/^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  });

  it('sockfd ping exits once the last reply is in, without waiting out the -W timeout', () => {
    // ping(8) ends as soon as it has its -c replies; -W only bounds the wait for missing ones.
    const r = exec([process.execPath, bin, 'ping', '-c', '1', '-W', '3', '127.0.0.1'], { timeoutMs: 8_000 });
    expect(r.stdout).toMatch(/1 packets transmitted, 1 received, 0% packet loss/);
    expect(r.status).toBe(0);
    expect(r.ms, 'sockfd ping waited out the whole -W 3 s after its only reply had arrived').toBeLessThan(1_500);
  });
});
