// The pcap writer's allocation-free path, Writer.writePacket(data, sec, nsec, originalLength?,
// interfaceId?): records encoded straight into 64 KiB output chunks. Held against pcap.decode and
// against tcpdump -r and tshark -r reading the files, mixed with write() in order, across chunk
// boundaries, with its argument checks.
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { build, pcap } from '../src/packet/index.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-pcapw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noTcpdump = spawnSync('tcpdump', ['--version']).error ? 'tcpdump is not installed (apt-get install tcpdump)' : null;
const noTshark = spawnSync('tshark', ['--version']).error ? 'tshark is not installed (apt-get install tshark)' : null;
if (noTcpdump) console.log('skipping:', noTcpdump);
if (noTshark) console.log('skipping:', noTshark);

const udp = (i: number, size = 0): Buffer =>
  build([
    { layer: 'ethernet', destination: '02:00:00:00:00:02', source: '02:00:00:00:00:01' },
    { layer: 'ipv4', source: '10.0.0.1', destination: '10.0.0.2' },
    { layer: 'udp', sourcePort: 40000 + (i % 20000), destinationPort: 9 },
    { layer: 'raw', data: Buffer.alloc(size, i & 0xff) },
  ]);

/** Everything a writer produces, once it has ended. */
async function bytesOf(w: pcap.Writer, write: () => void): Promise<Buffer> {
  const parts: Buffer[] = [];
  w.on('data', (d: Buffer) => parts.push(d));
  const ended = new Promise((resolve, reject) => {
    w.on('end', resolve);
    w.on('error', reject);
  });
  write();
  w.end();
  await ended;
  return Buffer.concat(parts);
}

describe('pcap Writer.writePacket', () => {
  it.each(['pcapng', 'pcap'] as const)('%s: records read back with their bytes, lengths and nanosecond timestamps (seconds past 2^32 / 1e9 too)', async (format) => {
    const stamps: [number, number][] = [[0, 0], [1, 999_999_999], [1_700_000_000, 123_456_789], [4_294_967_295, 999_999_999], [4_294_967, 296_000_001]];
    const w = pcap.createWriter({ format });
    const out = await bytesOf(w, () => stamps.forEach(([sec, nsec], i) => w.writePacket(udp(i), sec, nsec, 100 + i)));
    const back = pcap.decode(out);
    expect(back.records.map((r) => [r.timestamp, r.data.toString('hex'), r.originalLength])).toEqual(
      stamps.map(([sec, nsec], i) => [BigInt(sec) * 1_000_000_000n + BigInt(nsec), udp(i).toString('hex'), 100 + i]),
    );
  });

  it('keeps the order of packets written with write() and writePacket() in between', async () => {
    const w = pcap.createWriter();
    const out = await bytesOf(w, () => {
      w.writePacket(udp(0), 1, 0);
      w.write({ data: udp(1), timestamp: 2_000_000_000n });
      w.writePacket(udp(2), 3, 0);
      w.writePacket(udp(3), 4, 0);
      w.write({ data: udp(4), timestamp: 5_000_000_000n });
      w.writePacket(udp(5), 6, 0);
    });
    expect(pcap.decode(out).records.map((r) => r.timestamp)).toEqual([1n, 2n, 3n, 4n, 5n, 6n].map((x) => x * 1_000_000_000n));
  });

  it('crosses 64 KiB chunks, takes a record larger than a chunk, and cuts at the snapshot length', async () => {
    const w = pcap.createWriter({ snaplen: 200_000 });
    const sizes = [...Array.from({ length: 2000 }, (_, i) => i % 97), 150_000, 250_000, 10];
    const bytes = (i: number, n: number): Buffer => Buffer.alloc(n, i & 0xff);
    const out = await bytesOf(w, () => sizes.forEach((n, i) => w.writePacket(bytes(i, n), i, 0)));
    const records = pcap.decode(out).records;
    expect(records.map((r) => r.data.length)).toEqual(sizes.map((n) => Math.min(n, 200_000)));
    expect(records.map((r) => r.originalLength)).toEqual(sizes);
    expect(records.every((r, i) => r.data.equals(bytes(i, sizes[i]!).subarray(0, 200_000)))).toBe(true);
  });

  it('copies the bytes at once: the caller may reuse or release its view right after', async () => {
    const w = pcap.createWriter();
    const data = udp(1);
    const copy = Buffer.from(data);
    const out = await bytesOf(w, () => {
      w.writePacket(data, 1, 1);
      data.fill(0);
    });
    expect(pcap.decode(out).records[0]!.data.equals(copy)).toBe(true);
  });

  it('flushPackets sends a partly filled chunk down the stream before 64 KiB have gathered', async () => {
    const w = pcap.createWriter();
    const parts: Buffer[] = [];
    w.on('data', (d: Buffer) => parts.push(d));
    w.writePacket(udp(0), 1, 0);
    await new Promise(setImmediate);
    const header = Buffer.concat(parts).length;
    expect(w.flushPackets()).toBe(true);
    await new Promise(setImmediate);
    expect(Buffer.concat(parts).length).toBeGreaterThan(header);
    expect(pcap.decode(Buffer.concat(parts)).records).toHaveLength(1);
    w.end();
  });

  it('checks every argument first and writes nothing for a bad one; refuses to write after end()', async () => {
    const w = pcap.createWriter({ interfaces: [{ linkType: 1 }, { linkType: 101 }] });
    const bad: [unknown[], string][] = [
      [['x', 1, 0], 'ERR_INVALID_ARG_TYPE'],
      [[[1, 2], 1, 0], 'ERR_INVALID_ARG_TYPE'],
      [[udp(0), -1, 0], 'ERR_OUT_OF_RANGE'],
      [[udp(0), 2 ** 32, 0], 'ERR_OUT_OF_RANGE'],
      [[udp(0), 1.5, 0], 'ERR_OUT_OF_RANGE'],
      [[udp(0), '1', 0], 'ERR_INVALID_ARG_TYPE'],
      [[udp(0), 1, 1e9], 'ERR_OUT_OF_RANGE'],
      [[udp(0), 1, -1], 'ERR_OUT_OF_RANGE'],
      [[udp(0), 1, 0, -5], 'ERR_OUT_OF_RANGE'],
      [[udp(0), 1, 0, 64, 2], 'ERR_OUT_OF_RANGE'],
      [[udp(0), 1, 0, 64, '0'], 'ERR_INVALID_ARG_TYPE'],
    ];
    const out = await bytesOf(w, () => {
      for (const [args, code] of bad) expect(() => (w.writePacket as (...a: unknown[]) => boolean)(...args), JSON.stringify(args)).toThrow(expect.objectContaining({ code }));
      w.writePacket(udp(9), 9, 9, undefined, 1);
    });
    expect(pcap.decode(out).records.map((r) => [r.timestamp, r.interfaceId])).toEqual([[9_000_000_009n, 1]]);
    expect(() => w.writePacket(udp(0), 1, 0)).toThrow(expect.objectContaining({ code: 'ERR_STREAM_WRITE_AFTER_END' }));
    const classic = pcap.createWriter({ format: 'pcap' });
    expect(() => classic.writePacket(udp(0), 1, 0, 64, 1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    classic.destroy();
  });

  it.skipIf(noTcpdump !== null).each(['pcapng', 'pcap'] as const)('tcpdump -r reads a %s file written with writePacket, packet for packet, to the nanosecond', async (format) => {
    const f = path.join(dir, `wp.${format}`);
    const w = pcap.createWriter({ format });
    const done = pipeline(w, createWriteStream(f));
    for (let i = 0; i < 3000; i++) w.writePacket(udp(i, 18), 1_700_000_000 + i, 1000 * i + 7);
    w.end();
    await done;
    const r = spawnSync('tcpdump', ['-r', f, '-nn', '-tt', '--time-stamp-precision=nano'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3000);
    for (const i of [0, 1, 1234, 2999]) {
      expect(lines[i]!.startsWith(`${1_700_000_000 + i}.${String(1000 * i + 7).padStart(9, '0')} IP 10.0.0.1.${40000 + i} > 10.0.0.2.9: UDP, length 18`)).toBe(true);
    }
  });

  it.skipIf(noTshark !== null)('tshark -r reads the interfaces and original lengths of a writePacket pcapng file', async () => {
    const f = path.join(dir, 'wp2.pcapng');
    const w = pcap.createWriter({ interfaces: [{ linkType: pcap.LINKTYPE_ETHERNET, name: 'ring0', snaplen: 60 }, { linkType: pcap.LINKTYPE_ETHERNET, name: 'ring1' }] });
    const done = pipeline(w, createWriteStream(f));
    w.writePacket(udp(0, 100), 5, 6, 142, 0);
    w.writePacket(udp(1, 10), 7, 8, 52, 1);
    w.end();
    await done;
    const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.len', '-e', 'frame.cap_len'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.split('\t'))).toEqual([['ring0', '142', '60'], ['ring1', '52', '52']]);
    expect(readFileSync(f).length).toBeGreaterThan(0);
  });
});
