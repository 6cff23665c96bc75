// The `sockfd` command as a user runs it: `npm start` is `sockfd demo`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { netnsUnavailable, rawUnavailable } from './helpers/netns.js';
import { checkFdLeaks } from './helpers/fds.js';
import { parseHostArgs, type HostArgsSpec } from '../src/cli/command.js';

checkFdLeaks();

const bin = path.join(__dirname, '..', 'bin', 'sockfd.js');

interface Step {
  section: string;
  call: string;
  result?: string;
  view?: string;
  note?: string;
}

let steps: Step[];
const inSection = (prefix: string): Step[] => steps.filter((x) => x.section.startsWith(prefix));

beforeAll(() => {
  steps = JSON.parse(execFileSync(process.execPath, [bin, 'demo', '--json'], { encoding: 'utf8', timeout: 30_000 })).steps;
});

describe('sockfd demo', () => {
  it('plays the seed TCP sequence with real fds: socket, bind, listen, connects, accept, write/read, shutdown, close', () => {
    const calls = inSection('TCP').filter((x) => x.call).map((x) => x.call.split('(')[0]);
    expect(calls.slice(0, 3)).toEqual(['socket', 'bind', 'listen']);
    expect(calls.filter((c) => c === 'connect')).toHaveLength(3);
    expect(calls).toContain('accept');
    expect(calls.indexOf('accept')).toBeGreaterThan(calls.lastIndexOf('connect'));
    expect(calls.slice(-4)).toEqual(['close', 'close', 'close', 'close']);
    expect(Number(inSection('TCP')[0]!.result)).toBeGreaterThan(2);
  });

  it('shows the listening socket\'s accept queue filling past its backlog, and a client left in SYN_SENT', () => {
    const views = inSection('TCP').filter((x) => x.view).map((x) => x.view!);
    expect(views).toContainEqual(expect.stringMatching(/LISTEN .*accept queue 0\/1/));
    expect(views).toContainEqual(expect.stringMatching(/LISTEN .*accept queue 2\/1/));
    expect(views).toContainEqual(expect.stringMatching(/SYN_SENT/));
  });

  it('shows the states moving LISTEN → ESTABLISHED → FIN_WAIT2 / CLOSE_WAIT, and bytes waiting before read', () => {
    const views = inSection('TCP').filter((x) => x.view).map((x) => x.view!);
    const at = (re: RegExp): number => views.findIndex((v) => re.test(v));
    expect(at(/LISTEN/)).toBeGreaterThanOrEqual(0);
    expect(at(/ESTABLISHED .*recv-q 25/)).toBeGreaterThan(at(/LISTEN/));
    expect(at(/FIN_WAIT2/)).toBeGreaterThan(at(/ESTABLISHED .*recv-q 25/));
    expect(at(/CLOSE_WAIT/)).toBeGreaterThan(at(/ESTABLISHED .*recv-q 25/));
    expect(inSection('TCP').some((x) => x.result?.includes('你好，这是客户端!'))).toBe(true);
    expect(inSection('TCP').some((x) => x.result?.includes('你好，来自服务器的问候!'))).toBe(true);
  });

  it('fills a send queue until EAGAIN when the peer does not read', () => {
    const q = inSection('Send and receive queues');
    expect(q.some((x) => x.result?.startsWith('EAGAIN'))).toBe(true);
    expect(q.filter((x) => x.view).map((x) => x.view)).toContainEqual(expect.stringMatching(/send-q [1-9]\d*/));
  });

  it('plays the seed UDP echo with Michael, Tracy and Sarah', () => {
    const replies = inSection('UDP')
      .filter((x) => x.call.startsWith('recvfrom') && x.result?.includes('Hello'))
      .map((x) => x.result!.split(': ')[1]);
    expect(replies).toEqual(['"Hello, Michael!"', '"Hello, Tracy!"', '"Hello, Sarah!"']);
  });

  it('sends a raw ICMP echo to 127.0.0.1 and decodes the reply, or says why it cannot', () => {
    const raw = inSection('SOCK_RAW');
    if (rawUnavailable()) {
      expect(raw.some((x) => x.note?.startsWith('skipped: raw sockets need CAP_NET_RAW'))).toBe(true);
    } else {
      expect(raw.some((x) => /ICMP echo reply id=\d+ seq=1 checksum ok data="sockfd demo"/.test(x.result ?? ''))).toBe(true);
    }
  });

  it("inspects both ends of Node's own net exchange through fdOf", () => {
    const n = inSection('The same exchange');
    expect(n.filter((x) => x.view).map((x) => x.view)).toEqual([
      expect.stringMatching(/LISTEN .*O_NONBLOCK/),
      expect.stringMatching(/ESTABLISHED .* -> 127\.0\.0\.1:\d+ .*O_NONBLOCK/),
    ]);
    expect(n.some((x) => x.note?.includes('你好，来自服务器的问候!'))).toBe(true);
  });

  it('prints aligned text without colour when not on a terminal, and finishes by itself', () => {
    const started = Date.now();
    const out = execFileSync(process.execPath, [bin, 'demo'], { encoding: 'utf8', timeout: 30_000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(out).not.toContain('\x1b[');
    expect(out).toMatch(/^ {3}socket\(AF_INET, SOCK_STREAM, 0\) +=\s\d+$/m);
  });

  it('--step waits for Enter between sections', () => {
    const sections = new Set(steps.map((x) => x.section)).size;
    expect(sections).toBeGreaterThanOrEqual(6);
    const r = spawnSync(process.execPath, [bin, 'demo', '--step'], { input: '\n'.repeat(sections + 1), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.match(/press Enter for the next step/g)).toHaveLength(sections - 1);
  });

  it('shows the sk_buff memory behind the 25 bytes waiting to be read (skmem), more than the bytes', () => {
    const note = inSection('TCP').find((x) => x.note?.startsWith('The 25 bytes sit in the accepted socket'))?.note;
    const kernel = Number(/as sk_buffs: (\d+) bytes/.exec(note ?? '')?.[1]);
    expect(kernel).toBeGreaterThan(25);
  });

  it('shows the TIME_WAIT the first close left, through listSockets, with no fd and no inode', () => {
    const tw = inSection('TCP').find((x) => x.call.startsWith("listSockets({ states: ['TIME_WAIT']"));
    expect(tw?.result).toMatch(/^TIME_WAIT 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+, timer \d+ s, inode 0, fds \[\]$/);
  });

  it('shows both queues of a listener side by side, half-open and complete, and accept draining only one', () => {
    const q = inSection("The listen socket's two queues");
    const why = netnsUnavailable() ?? rawUnavailable();
    if (why) {
      expect(q.some((x) => x.note?.startsWith('skipped: '))).toBe(true);
      return;
    }
    const notes = q.filter((x) => x.note).map((x) => x.note!);
    const views = q.filter((x) => x.view).map((x) => x.view!);
    expect(notes).toContainEqual(expect.stringMatching(/^half-open \(SYN_RECV\): 5 of 8 +complete \(ESTABLISHED\): 3 of 9$/));
    expect(notes.filter((n) => /^ {2}from 198\.18\.0\.1\d\d:4000\d {2}SYN-ACK resent 0×/.test(n))).toHaveLength(5);
    expect(notes.join('\n')).toMatch(/net\.core\.somaxconn = \d+/);
    expect(notes.join('\n')).toMatch(/net\.ipv4\.tcp_syncookies = \d/);
    expect(notes.join('\n')).toMatch(/net\.ipv4\.tcp_max_syn_backlog = \d+/);
    expect(q.filter((x) => x.call.startsWith('sendto(')).map((x) => x.result)).toEqual(['44', '44', '44', '44', '44']);
    const accept = q.findIndex((x) => x.call.startsWith('accept('));
    const before = q.slice(0, accept).filter((x) => x.view).map((x) => x.view!);
    const after = q.slice(accept).filter((x) => x.view).map((x) => x.view!);
    expect(before[before.length - 1]).toMatch(/LISTEN +198\.18\.0\.1:8080 +accept queue 3\/8 +syn queue 5$/);
    expect(after[0]).toMatch(/accept queue 2\/8 +syn queue 5$/);
    expect(views.length).toBeGreaterThanOrEqual(3);
    expect(notes[notes.length - 1]).toMatch(/^ip netns del sockfd-demo-\d+: /);
  });

  it('without privileges it says what it skipped and why, and still plays every other section', () => {
    if (process.getuid?.() !== 0) {
      expect(inSection("The listen socket's two queues").some((x) => x.note?.startsWith('skipped: '))).toBe(true);
      return;
    }
    const which = spawnSync('setpriv', ['--version'], { encoding: 'utf8' });
    if (which.error) {
      console.log('skipping the unprivileged demo run: setpriv is missing (install util-linux)');
      return;
    }
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, bin, 'demo', '--json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const plain = (JSON.parse(r.stdout) as { steps: Step[] }).steps;
    const q = plain.filter((x) => x.section.startsWith("The listen socket's two queues"));
    expect(q.map((x) => x.note)).toEqual([
      'skipped: network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN).',
      'Holding half-open connections takes a network namespace of its own (root) and crafted SYNs (CAP_NET_RAW).',
    ]);
    expect(new Set(plain.map((x) => x.section))).toEqual(new Set(steps.map((x) => x.section)));
  });

  it.skipIf(netnsUnavailable() !== null)('removes the namespace it made', () => {
    const made = /^ip netns del (sockfd-demo-\d+):/.exec(inSection("The listen socket's two queues").map((x) => x.note ?? '').find((n) => n.startsWith('ip netns del')) ?? '')?.[1];
    expect(made).toBeDefined();
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    expect(left.split('\n').map((l) => l.split(' ')[0])).not.toContain(made);
  });

  it('rejects an unknown command with usage and exit code 2', () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain('Usage: sockfd');
  });

  it('--help lists the commands', () => {
    const out = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 20_000 });
    for (const command of ['demo', 'ping', 'traceroute', 'capture', 'ss', 'help']) expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('--version prints the package version', () => {
    const out = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 20_000 });
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(out).toBe(`sockfd ${version}\n`);
  });

  it.each(['demo', 'ping', 'traceroute', 'capture', 'ss'])('%s --help prints its usage and summary, and exits 0', (command) => {
    const r = spawnSync(process.execPath, [bin, command, '--help'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: sockfd ${command} `));
    expect(r.stdout.split('\n').length).toBeGreaterThan(2);
  });

  it('a bad option of a command prints that command\'s usage and exits 2', () => {
    const r = spawnSync(process.execPath, [bin, 'traceroute', '-m', 'lots', '127.0.0.1'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sockfd traceroute: invalid value for -m: lots (1 to 255)\nusage: sockfd traceroute [-4|-6] [-I] [-n] [-m max_hops] [-q nqueries] [-w wait] [-p port] HOST\n');
  });

  it('demo with an unknown option says so and prints the help, exit 2, as before', () => {
    const r = spawnSync(process.execPath, [bin, 'demo', '--bogus'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^sockfd demo: unknown option --bogus\n\nsockfd — the POSIX socket API/);
  });
});

describe('the [options] HOST parser that ping and traceroute share', () => {
  interface Opts {
    host: string;
    count: number;
    wait: number;
    icmp: boolean;
  }
  const spec: HostArgsSpec<Opts> = {
    numbers: { '-c': ['count', 1, 10, false], '-w': ['wait', 0.5, 60, true] },
    switches: { '-I': (o) => (o.icmp = true) },
  };
  const parse = (args: string[]): Opts | string => parseHostArgs(args, { host: '', count: 3, wait: 5, icmp: false }, spec);

  it('fills in numeric options and switches around one host, and keeps the defaults of the rest', () => {
    expect(parse(['-c', '2', 'example', '-I'])).toEqual({ host: 'example', count: 2, wait: 5, icmp: true });
    expect(parse(['-w', '0.5', '::1'])).toEqual({ host: '::1', count: 3, wait: 0.5, icmp: false });
  });

  it('says which argument is wrong: a value out of range or missing, a fraction where an integer is due, an unknown option, a second host, no host', () => {
    expect(parse(['-c', '11', 'h'])).toBe('invalid value for -c: 11 (1 to 10)');
    expect(parse(['-c', '1.5', 'h'])).toBe('invalid value for -c: 1.5 (1 to 10)');
    expect(parse(['h', '-w'])).toBe('invalid value for -w: (missing) (0.5 to 60)');
    expect(parse(['-x', 'h'])).toBe('unknown option -x');
    expect(parse(['--toString', 'h'])).toBe('unknown option --toString');
    expect(parse(['a', 'b'])).toBe('one host only');
    expect(parse(['-I'])).toBe('a HOST is required');
  });

  it.each([
    ['ping', ['-W', '0', '127.0.0.1'], 'invalid value for -W: 0 (0.001 to 3600)'],
    ['ping', ['-t', '127.0.0.1'], 'unknown option -t'],
    ['ping', ['127.0.0.1', '127.0.0.2'], 'one host only'],
    ['traceroute', ['-4', '-I', '-n'], 'a HOST is required'],
  ])('sockfd %s %j prints "%s" with its usage and exits 2', (command, args, message) => {
    const r = spawnSync(process.execPath, [bin, command, ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^sockfd ${command}: ${message.replace(/[().]/g, '\\$&')}\\nusage: sockfd ${command} `));
  });
});
