// The `sockfd` command as a user runs it: `npm start` is `sockfd demo`.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = path.join(__dirname, '..', 'bin', 'sockfd.js');

interface Step {
  section: string;
  call: string;
  result: string;
}

describe('sockfd demo', () => {
  it('plays the seed TCP sequence with real fds and the greetings both ways', () => {
    const out = JSON.parse(execFileSync(process.execPath, [bin, 'demo', '--json'], { encoding: 'utf8', timeout: 20_000 }));
    const steps: Step[] = out.steps.filter((x: Step) => x.call !== '');
    const tcp = steps.filter((x) => x.section.startsWith('TCP'));
    const calls = tcp.map((x) => x.call.split('(')[0]);
    expect(calls.slice(0, 8)).toEqual(['socket', 'bind', 'listen', 'getsockname', 'getsockopt', 'socket', 'connect', 'accept']);
    expect(Number(tcp[0]!.result)).toBeGreaterThan(2);
    expect(tcp.some((x) => x.result.includes('你好，这是客户端!'))).toBe(true);
    expect(tcp.some((x) => x.result.includes('你好，来自服务器的问候!'))).toBe(true);
    expect(tcp.some((x) => x.result.startsWith('0 (end of stream'))).toBe(true);
  });

  it('plays the seed UDP echo with Michael, Tracy and Sarah', () => {
    const out = JSON.parse(execFileSync(process.execPath, [bin, 'demo', '--json'], { encoding: 'utf8', timeout: 20_000 }));
    const replies = (out.steps as Step[])
      .filter((x) => x.section.startsWith('UDP') && x.call.startsWith('recvfrom') && x.result.includes('Hello'))
      .map((x) => x.result.split(': ')[1]);
    expect(replies).toEqual(['"Hello, Michael!"', '"Hello, Tracy!"', '"Hello, Sarah!"']);
  });

  it('prints aligned text without colour when not on a terminal', () => {
    const out = execFileSync(process.execPath, [bin, 'demo'], { encoding: 'utf8', timeout: 20_000 });
    expect(out).not.toContain('\x1b[');
    expect(out).toMatch(/^ {3}socket\(AF_INET, SOCK_STREAM, 0\) +=\s\d+$/m);
  });

  it('rejects an unknown command with usage and exit code 2', () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain('Usage: sockfd');
  });
});
