// pcap and pcapng files: written by sockfd and read by tcpdump and tshark, written by tcpdump and read
// by sockfd, packet for packet with their nanosecond timestamps, as streams and as whole buffers.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createReadStream, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PacketError, build, parse, pcap, type Layer } from '../src/packet/index.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks } from './helpers/fds.js';
import { Netns, netnsUnavailable, pkg } from './helpers/netns.js';

checkFdLeaks();

const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => path.join(dir, name);

const missing = (tool: string, pkgName: string): string | null =>
  spawnSync(tool, ['--version'], { encoding: 'utf8' }).error ? `${tool} is not installed (apt-get install ${pkgName})` : null;
const noTcpdump = missing('tcpdump', 'tcpdump');
const noTshark = missing('tshark', 'tshark');
if (noTcpdump) console.log('skipping tcpdump tests:', noTcpdump);
if (noTshark) console.log('skipping tshark tests:', noTshark);

function frame(i: number): Buffer {
  const layers: Layer[] = [
    { layer: 'ethernet', destination: '02:00:00:00:00:02', source: '02:00:00:00:00:01' },
    i % 2 ? { layer: 'ipv6', source: '2001:db8::1', destination: '2001:db8::2' } : { layer: 'ipv4', source: '10.0.0.1', destination: '10.0.0.2', identification: i },
    { layer: 'udp', sourcePort: 40000 + i, destinationPort: 9 },
    { layer: 'raw', data: Buffer.from(`packet ${i}`) },
  ];
  return build(layers);
}
const packets = Array.from({ length: 5 }, (_, i) => ({ data: frame(i), timestamp: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_123n + 7n }));
const stamp = (ns: bigint): string => `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;

function tcpdumpRead(f: string): string[] {
  const r = spawnSync('tcpdump', ['-r', f, '-nn', '-tt', '--time-stamp-precision=nano'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tcpdump -r failed: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

function tsharkRead(f: string): string[][] {
  const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'udp.srcport', '-e', 'data.data'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`tshark -r failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => l.split('\t'));
}

describe('pcap: files sockfd writes', () => {
  it.each(['pcapng', 'pcap'] as const)('round-trip through decode as %s, timestamps to the nanosecond', (format) => {
    const back = pcap.decode(pcap.encode(packets, { format }));
    expect(back.format).toBe(format);
    expect(back.interfaces[0]).toMatchObject({ linkType: pcap.LINKTYPE_ETHERNET });
    expect(back.records.map((r) => [r.timestamp, r.data.toString('hex'), r.originalLength])).toEqual(packets.map((p) => [p.timestamp, p.data.toString('hex'), p.data.length]));
  });

  it.skipIf(noTcpdump !== null).each(['pcapng', 'pcap'] as const)('tcpdump -r reads a %s file packet for packet, with its timestamps', (format) => {
    const f = file(`w.${format}`);
    writeFileSync(f, pcap.encode(packets, { format }));
    const lines = tcpdumpRead(f);
    expect(lines).toHaveLength(packets.length);
    lines.forEach((line, i) => {
      expect(line.startsWith(`${stamp(packets[i]!.timestamp)} IP`)).toBe(true);
      expect(line).toContain(`.${40000 + i} > `);
    });
  });

  it.skipIf(noTshark !== null)('tshark -r reads a pcapng file written through the stream, packet for packet', async () => {
    const f = file('stream.pcapng');
    const w = pcap.createWriter({ interfaces: [{ linkType: pcap.LINKTYPE_ETHERNET, name: 'veth-test' }] });
    const done = pipeline(w, createWriteStream(f));
    for (const p of packets) w.write(p);
    w.end();
    await done;
    const rows = tsharkRead(f);
    expect(rows).toHaveLength(packets.length);
    rows.forEach(([time, len, port, payload], i) => {
      expect(time).toBe(stamp(packets[i]!.timestamp));
      expect(Number(len)).toBe(packets[i]!.data.length);
      expect(Number(port)).toBe(40000 + i);
      expect(Buffer.from(payload!, 'hex').toString()).toBe(`packet ${i}`);
    });
  });

  it.skipIf(noTshark !== null)('tshark reads raw-IP link types and cut packets with their original length', () => {
    const f = file('raw.pcapng');
    const ip = frame(2).subarray(14);
    writeFileSync(f, pcap.encode([{ data: ip, timestamp: 5n }, { data: ip.subarray(0, 30), originalLength: ip.length, timestamp: 6n }], { linkType: pcap.LINKTYPE_RAW, snaplen: 65535 }));
    const rows = tsharkRead(f);
    expect(rows.map((r) => [r[1], r[2]])).toEqual([[String(ip.length), '40002'], [String(ip.length), '40002']]);
  });

  it('reads a stream in chunks of any size', async () => {
    const f = file('chunks.pcapng');
    writeFileSync(f, pcap.encode(packets));
    const got: bigint[] = [];
    for await (const r of createReadStream(f, { highWaterMark: 7 }).pipe(pcap.createReader())) got.push((r as pcap.PacketRecord).timestamp);
    expect(got).toEqual(packets.map((p) => p.timestamp));
  });

  it('refuses what is not a capture file, or ends inside a block, with a PacketError', () => {
    expect(thrown(() => pcap.decode(Buffer.from('not a capture file at all')))).toBeInstanceOf(PacketError);
    const whole = pcap.encode(packets);
    const err = thrown(() => pcap.decode(whole.subarray(0, whole.length - 3))) as PacketError;
    expect([err.protocol, err.field]).toEqual(['pcapng', 'block']);
    expect((thrown(() => pcap.encode([{ data: 'x' as never }])) as { code: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((thrown(() => pcap.encode(packets, { format: 'pcapx' as never })) as { code: string }).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});

const nsSkip = noTcpdump ?? netnsUnavailable();
if (nsSkip) console.log('skipping tcpdump capture tests:', nsSkip);

let ns: Netns | undefined;
let children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  children = [];
  ns?.destroy();
  ns = undefined;
});

/** Captures `count` packets with tcpdump inside the namespace while `send` runs there. */
async function tcpdumpCapture(n: Netns, args: string[], f: string, count: number, send: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', n.name, 'tcpdump', ...args, '-w', f, '-c', String(count), '-U', '--time-stamp-precision=nano'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 });
  children.push(child);
  let stderr = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('listening on')) resolve();
    });
    child.on('close', () => reject(new Error(`tcpdump ended before listening: ${stderr}`)));
  });
  await listening;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  n.node(send);
  expect(await exited, stderr).toBe(0);
}

const sender = (count: number): string => `
  const s = require(${JSON.stringify(pkg)});
  const rx = s.socket(s.AF_INET, s.SOCK_DGRAM);
  s.bind(rx, { family: s.AF_INET, address: '127.0.0.1', port: 47123 });
  const tx = s.socket(s.AF_INET, s.SOCK_DGRAM);
  for (let i = 0; i < ${count}; i++) s.sendto(tx, Buffer.from('datagram ' + i), undefined, 0, { family: s.AF_INET, address: '127.0.0.1', port: 47123 });
  s.close(tx); s.close(rx);
`;

describe.skipIf(nsSkip !== null)('pcap: files tcpdump writes, in a namespace of our own', () => {
  it('reads what tcpdump -i lo -w writes: every packet, its bytes and its nanosecond timestamp as tcpdump -r shows them', async () => {
    ns = new Netns();
    const f = file('lo.pcap');
    await tcpdumpCapture(ns, ['-i', 'lo', 'udp port 47123'], f, 4, sender(4));
    const back = pcap.decode(readFileSync(f));
    expect(back.records).toHaveLength(4);
    const lines = tcpdumpRead(f);
    back.records.forEach((r, i) => {
      expect(lines[i]!.startsWith(stamp(r.timestamp))).toBe(true);
      const layers = parse(r.data, pcap.layerOf(r.linkType));
      expect(layers.map((l) => l.layer)).toEqual(['ethernet', 'ipv4', 'udp', 'raw']);
      expect(Buffer.from((layers[3] as { data: Uint8Array }).data).toString()).toBe(`datagram ${i}`);
      expect(build(layers).equals(r.data)).toBe(true);
    });
  });

  it('reads Linux cooked v2 from tcpdump -i any as sll2 layers', async () => {
    ns = new Netns();
    const f = file('any.pcap');
    await tcpdumpCapture(ns, ['-i', 'any', 'udp port 47123'], f, 2, sender(2));
    const back = pcap.decode(readFileSync(f));
    expect(back.records[0]!.linkType).toBe(pcap.LINKTYPE_LINUX_SLL2);
    const layers = parse(back.records[0]!.data, 'sll2');
    expect(layers.map((l) => l.layer)).toEqual(['sll2', 'ipv4', 'udp', 'raw']);
    expect(layers[0]).toMatchObject({ protocol: 0x0800, ifindex: 1, hatype: 772 });
  });
});
