// examples/netns-comparison.js, run as a user runs it (as root), with --json: the same scenarios
// through Node's http and through sockfd/promises give the same bytes, the same error codes (each
// named by its own syscall), retransmissions during a black hole, and nothing left behind.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNothingLeft, leftovers, netnsCapsMissing } from './helpers/caps.js';
import { checkFdLeaks } from './helpers/fds.js';

const skip = netnsCapsMissing();
if (skip) console.log('skipping examples/netns-comparison.js:', skip);

checkFdLeaks();

interface Row {
  scenario: string;
  client: 'net' | 'sockfd';
  handshakeMs: number;
  status?: number;
  bytes?: number;
  error?: string;
  ms: number;
  clientRetrans: number;
}

describe.skipIf(skip !== null)('examples/netns-comparison.js', () => {
  it('shows net and sockfd observing the same network the same way', () => {
    const before = leftovers();
    const run = spawnSync(process.execPath, [path.join('examples', 'netns-comparison.js'), '--json'], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const { rows, wire } = JSON.parse(run.stdout) as { rows: Row[]; wire: Record<string, number> };
    const pick = (scenario: string, client: string): Row => rows.find((r) => r.scenario === scenario && r.client === client)!;
    for (const scenario of ['clean', '20±5 ms, 2% loss']) {
      for (const client of ['net', 'sockfd']) expect(pick(scenario, client)).toMatchObject({ status: 200, bytes: 262144 });
    }
    for (const client of ['net', 'sockfd']) expect(pick('20±5 ms, 2% loss', client).handshakeMs).toBeGreaterThanOrEqual(29);
    expect([pick('cut: reset', 'net').error, pick('cut: reset', 'sockfd').error]).toEqual(['ECONNRESET (read)', 'ECONNRESET (recv)']);
    expect([pick('cut: blackhole', 'net').error, pick('cut: blackhole', 'sockfd').error]).toEqual(['ETIMEDOUT (read)', 'ETIMEDOUT (recv)']);
    for (const client of ['net', 'sockfd']) {
      const hole = pick('cut: blackhole', client);
      expect(hole.clientRetrans).toBeGreaterThan(0);
      expect(hole.ms).toBeGreaterThanOrEqual(1000); // TCP_USER_TIMEOUT
    }
    expect(wire.lostTowardsClient! + wire.lostTowardsServer!).toBeGreaterThan(0);
    expect(wire.resetsSent).toBeGreaterThanOrEqual(2);
    expectNothingLeft(before, run.pid); // the example's own namespaces, named after its pid
  }, 90_000);
});
