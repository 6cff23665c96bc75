// `sockfd capture` through a ring: on one end of a veth pair between two namespaces this file makes,
// frames from a sockfd sender at the other end end up in the pcapng file in order, with their
// lengths and timestamps, read back by tcpdump; and the capture process has the ring mapped.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcap } from '../../src/packet/index.js';
import { within } from '../helpers/async.js';
import { toolMissing } from '../helpers/caps.js';
import { checkFdLeaks } from '../helpers/fds.js';
import { ETHERTYPE, type Wire, flood, makeWire, ringUnavailable, seqOf } from '../helpers/ring.js';

const skip = ringUnavailable() ?? toolMissing('tcpdump', 'tcpdump');
if (skip) console.log('skipping sockfd capture ring tests:', skip);

checkFdLeaks();

const bin = path.join(__dirname, '..', '..', 'bin', 'sockfd.js');
const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-ringcap-'));
let w: Wire;

describe.skipIf(skip !== null)('sockfd capture through a TPACKET_V3 ring', () => {
  beforeAll(async () => {
    w = await makeWire();
  });
  afterAll(async () => {
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every frame of a flood, in order, with lengths and timestamps, from a ring it has mapped', async () => {
    const f = path.join(dir, 'flood.pcapng');
    const filter = `ether proto ${ETHERTYPE}`;
    const child = spawn('ip', ['netns', 'exec', w.b.name, process.execPath, bin, 'capture', w.link.b.name, '-w', f, '-c', '2000', ...filter.split(' ')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 20_000,
    });
    let stderr = '';
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await within(
      new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d;
          if (stderr.includes('capturing on')) resolve();
        });
        child.on('close', () => reject(new Error(`sockfd capture ended early: ${stderr}`)));
      }),
      'sockfd capture to start',
      10_000,
    );
    // `ip netns exec` enters the namespace and execs node: the child is the capture process.
    let mapped = false;
    try {
      mapped = /socket:\[\d+\]$/m.test(readFileSync(`/proc/${child.pid}/maps`, 'utf8'));
    } catch {
      mapped = false;
    }
    const t0 = BigInt(Date.now()) * 1_000_000n;
    for (let i = 0; i < 20; i++) flood(w, i * 100, 100);
    expect(await within(closed, 'sockfd capture to exit', 15_000), stderr).toBe(0);
    expect(mapped).toBe(true);
    expect(stderr).toMatch(/2000 packets captured\n$/);
    const back = pcap.decode(readFileSync(f));
    expect(back.records.map((r) => seqOf(r.data))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    for (const r of back.records) {
      expect(r.data.length).toBe(64);
      expect(r.originalLength).toBe(64);
      expect(r.timestamp).toBeGreaterThanOrEqual(t0 - 1_000_000_000n);
    }
    const dump = spawnSync('tcpdump', ['-r', f, '-nn', '-c', '1', '-e'], { encoding: 'utf8' });
    expect(dump.stdout).toContain(`ethertype Unknown (0x${ETHERTYPE.toString(16)}), length 64`);
  });
});
