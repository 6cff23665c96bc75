// The `sockfd` command as a user runs it: `npm start` is `sockfd demo`.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawUnavailable } from './helpers/netns.js';
import { checkFdLeaks } from './helpers/fds.js';

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
    const r = spawnSync(process.execPath, [bin, 'demo', '--step'], { input: '\n\n\n\n\n\n', encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.match(/press Enter for the next step/g)).toHaveLength(4);
  });

  it('rejects an unknown command with usage and exit code 2', () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain('Usage: sockfd');
  });

  it('--help lists the commands', () => {
    const out = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 20_000 });
    for (const command of ['demo', 'ping', 'ss', 'help']) expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });
});
