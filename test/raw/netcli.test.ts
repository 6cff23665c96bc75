// The network commands of the CLI against real kernels: `sockfd traceroute` across a client — router —
// server topology of three namespaces (forwarding on), IPv4 and IPv6, UDP and ICMP; `sockfd capture`
// on a namespace's loopback, read back by tcpdump and tshark; `sockfd ping` without CAP_NET_RAW over an
// ICMP datagram socket where the namespace's net.ipv4.ping_group_range allows it. The host's own
// sysctls are never changed: every sysctl is set inside a namespace the test made.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcap, parse } from '../../src/packet/index.js';
import { readFileSync } from 'node:fs';
import { checkFdLeaks } from '../helpers/fds.js';
import { type Netns, netnsUnavailable, pkg, rawUnavailable } from '../helpers/netns.js';
import { namespacesPerTest } from '../helpers/netns-per-test.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping CLI network tests:', skip);
const noTcpdump = spawnSync('tcpdump', ['--version']).error ? 'tcpdump is not installed (apt-get install tcpdump)' : null;
const noTshark = spawnSync('tshark', ['--version']).error ? 'tshark is not installed (apt-get install tshark)' : null;

checkFdLeaks();

const bin = path.join(__dirname, '..', '..', 'bin', 'sockfd.js');
const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-netcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const space = namespacesPerTest();
const sysctl = (n: Netns, setting: string): void => {
  const r = n.spawn('sysctl', ['-qw', setting]);
  if (r.status !== 0) throw new Error(`sysctl -w ${setting} in ${n.name}: ${r.stderr}`);
};

/** client (10.77.1.2, fd77:1::2) — router (forwarding) — server (10.77.2.2, fd77:2::2). */
function topology(): { client: Netns; router: Netns; server: Netns } {
  const client = space();
  const router = space();
  const server = space();
  client.veth('c0', 'r0', router);
  router.veth('r1', 's0', server);
  client.ip('addr', 'add', '10.77.1.2/24', 'dev', 'c0');
  client.ip('-6', 'addr', 'add', 'fd77:1::2/64', 'dev', 'c0', 'nodad');
  router.ip('addr', 'add', '10.77.1.1/24', 'dev', 'r0');
  router.ip('-6', 'addr', 'add', 'fd77:1::1/64', 'dev', 'r0', 'nodad');
  router.ip('addr', 'add', '10.77.2.1/24', 'dev', 'r1');
  router.ip('-6', 'addr', 'add', 'fd77:2::1/64', 'dev', 'r1', 'nodad');
  server.ip('addr', 'add', '10.77.2.2/24', 'dev', 's0');
  server.ip('-6', 'addr', 'add', 'fd77:2::2/64', 'dev', 's0', 'nodad');
  client.ip('route', 'add', 'default', 'via', '10.77.1.1');
  client.ip('-6', 'route', 'add', 'default', 'via', 'fd77:1::1');
  server.ip('route', 'add', 'default', 'via', '10.77.2.1');
  server.ip('-6', 'route', 'add', 'default', 'via', 'fd77:2::1');
  sysctl(router, 'net.ipv4.ip_forward=1');
  sysctl(router, 'net.ipv6.conf.all.forwarding=1');
  // Three probes a hop arrive faster than ICMP's default rate limits allow.
  for (const n of [router, server]) {
    sysctl(n, 'net.ipv4.icmp_ratelimit=0');
    sysctl(n, 'net.ipv6.icmp.ratelimit=0');
  }
  return { client, router, server };
}

function cli(n: Netns, args: string[], timeoutMs = 20_000): { status: number | null; stdout: string; stderr: string } {
  const r = n.spawn(process.execPath, [bin, ...args], timeoutMs);
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe.skipIf(skip !== null)('sockfd traceroute across client — router — server', () => {
  it.each([
    { name: 'IPv4 with UDP probes', args: ['10.77.2.2'], hops: ['10.77.1.1', '10.77.2.2'], header: 'traceroute to 10.77.2.2 (10.77.2.2), 30 hops max, 60 byte packets' },
    { name: 'IPv6 with UDP probes', args: ['fd77:2::2'], hops: ['fd77:1::1', 'fd77:2::2'], header: 'traceroute to fd77:2::2 (fd77:2::2), 30 hops max, 80 byte packets' },
    { name: 'IPv4 with ICMP echo (-I)', args: ['-I', '10.77.2.2'], hops: ['10.77.1.1', '10.77.2.2'], header: 'traceroute to 10.77.2.2 (10.77.2.2), 30 hops max, 60 byte packets' },
    { name: 'IPv6 with ICMPv6 echo (-I)', args: ['-I', 'fd77:2::2'], hops: ['fd77:1::1', 'fd77:2::2'], header: 'traceroute to fd77:2::2 (fd77:2::2), 30 hops max, 80 byte packets' },
  ])('$name: finds the router, then the server, three answers each', ({ args, hops, header }) => {
    const { client } = topology();
    // Resolve the neighbours along the path first (IPv6 neighbour discovery can cost a first probe).
    cli(client, ['ping', '-c', '1', '-W', '2', hops[1]!]);
    const r = cli(client, ['traceroute', '-w', '2', ...args]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(header);
    expect(lines).toHaveLength(3);
    hops.forEach((hop, i) => {
      expect(lines[i + 1]).toMatch(new RegExp(`^ ${i + 1}  ${hop.replace(/\./g, '\\.')}(  \\d+\\.\\d{3} ms){3}$`));
    });
  });

  it('prints stars for a hop that does not answer and exits 1 when the destination never does', () => {
    const { client, server } = topology();
    server.spawn('ip', ['link', 'set', 's0', 'down']);
    const r = cli(client, ['traceroute', '-m', '2', '-q', '1', '-w', '0.3', '10.77.2.2']);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/^ 1  10\.77\.1\.1  \d+\.\d{3} ms$/), ' 2  *']);
  });
});

describe.skipIf(skip !== null)('sockfd ping without CAP_NET_RAW', () => {
  const DROP = ['--reuid=nobody', '--inh-caps=-all', '--bounding-set=-net_raw'];
  it('falls back to an ICMP datagram socket where net.ipv4.ping_group_range allows the group, and says so', () => {
    const n = space();
    sysctl(n, 'net.ipv4.ping_group_range=0 2147483647');
    for (const host of ['127.0.0.1', '::1']) {
      const r = n.spawn('setpriv', [...DROP, process.execPath, bin, 'ping', '-c', '2', '-i', '0.2', host]);
      expect(String(r.stderr)).toMatch(/^sockfd ping: no CAP_NET_RAW: using an unprivileged ICMP datagram socket \(group 0 is in net\.ipv4\.ping_group_range 0 2147483647\)\n$/);
      expect(r.status).toBe(0);
      const replies = String(r.stdout).split('\n').filter((l) => l.includes(' bytes from '));
      expect(replies).toHaveLength(2);
      expect(replies[0]).toMatch(new RegExp(`^64 bytes from ${host.replace(/\./g, '\\.')}: icmp_seq=1 (ttl|hlim)=64 time=`));
    }
  });

  it('explains net.ipv4.ping_group_range when it forbids the group, in one line, exit 2', () => {
    const n = space(); // a new namespace's range is "1 0": no group at all
    const r = n.spawn('setpriv', [...DROP, process.execPath, bin, 'ping', '-c', '1', '127.0.0.1']);
    expect(r.status).toBe(2);
    const err = String(r.stderr);
    expect(err).toMatch(/^sockfd ping: socket EPERM .*CAP_NET_RAW.*net\.ipv4\.ping_group_range \('1 0'\)\. Allow it with sysctl -w net\.ipv4\.ping_group_range='0 0'/);
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(skip !== null)('sockfd capture', () => {
  /** Runs `sockfd capture` in `n` until it says it is capturing, then `traffic`, then waits for it to exit. */
  async function capture(n: Netns, args: string[], traffic: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn('ip', ['netns', 'exec', n.name, process.execPath, bin, 'capture', ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d;
        if (stderr.includes('capturing on')) resolve();
      });
      child.on('close', () => reject(new Error(`sockfd capture ended early: ${stderr}`)));
    });
    const code = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    n.node(traffic);
    return { code: await code, stderr };
  }
  const traffic = `
    const s = require(${JSON.stringify(pkg)});
    const rx = s.socket(s.AF_INET, s.SOCK_DGRAM);
    s.bind(rx, { family: s.AF_INET, address: '127.0.0.1', port: 47124 });
    const tx = s.socket(s.AF_INET, s.SOCK_DGRAM);
    for (let i = 0; i < 3; i++) {
      s.sendto(tx, Buffer.from('noise ' + i), undefined, 0, { family: s.AF_INET, address: '127.0.0.1', port: 47125 });
      s.sendto(tx, Buffer.from('wanted ' + i), undefined, 0, { family: s.AF_INET, address: '127.0.0.1', port: 47124 });
    }
    s.close(tx); s.close(rx);
  `;

  it.skipIf(noTcpdump !== null || noTshark !== null)('writes -c packets matching a tcpdump filter to a pcapng that tcpdump and tshark read', async () => {
    const n = space();
    const f = path.join(dir, 'cap.pcapng');
    const r = await capture(n, ['lo', '-w', f, '-c', '3', 'udp', 'dst', 'port', '47124'], traffic);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/capturing on lo, link-type EN10MB, writing .*cap\.pcapng \(filter: \d+ BPF instructions\)\n3 packets captured\n$/);
    const dump = spawnSync('tcpdump', ['-r', f, '-nn', '-tt', '--time-stamp-precision=nano'], { encoding: 'utf8' });
    expect(dump.stdout.trim().split('\n').map((l) => l.replace(/^\d+\.\d{9} /, ''))).toEqual([0, 1, 2].map(() => expect.stringMatching(/^IP 127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.47124: UDP, length 8$/)));
    const shark = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'data.data'], { encoding: 'utf8' });
    expect(shark.stdout.trim().split('\n').map((h) => Buffer.from(h, 'hex').toString())).toEqual(['wanted 0', 'wanted 1', 'wanted 2']);
    // And our reader agrees, timestamps included.
    const back = pcap.decode(readFileSync(f));
    const stamps = dump.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    expect(back.records.map((x) => `${x.timestamp / 1_000_000_000n}.${(x.timestamp % 1_000_000_000n).toString().padStart(9, '0')}`)).toEqual(stamps);
    expect(parse(back.records[0]!.data).map((l) => l.layer)).toEqual(['ethernet', 'ipv4', 'udp', 'raw']);
  });

  it.skipIf(noTcpdump !== null)('takes a classic BPF program as tcpdump -ddd prints it, and writes classic pcap for a .pcap name', async () => {
    const n = space();
    const f = path.join(dir, 'cap.pcap');
    const program = spawnSync('tcpdump', ['-ddd', '-y', 'EN10MB', 'udp dst port 47125'], { encoding: 'utf8' }).stdout.trim().split('\n').join(',');
    const r = await capture(n, ['lo', '-w', f, '-c', '2', '--bpf', program], traffic);
    expect(r.code, r.stderr).toBe(0);
    const back = pcap.decode(readFileSync(f));
    expect(back.format).toBe('pcap');
    expect(back.records.map((x) => Buffer.from((parse(x.data).at(-1) as { data: Uint8Array }).data).toString())).toEqual(['noise 0', 'noise 1']);
  });

  it.skipIf(noTcpdump !== null || noTshark !== null)('captures "any" cooked (LINUX_SLL2) with a filter written for that header, which matches in the kernel', async () => {
    const n = space();
    const f = path.join(dir, 'any.pcapng');
    const r = await capture(n, ['any', '-w', f, '-c', '3', 'udp', 'dst', 'port', '47124', 'and', 'inbound'], traffic);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/capturing on any, link-type LINUX_SLL2, writing .*any\.pcapng \(filter: \d+ BPF instructions\)\n3 packets captured\n$/);
    const shark = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'sll.pkttype', '-e', 'sll.ifindex', '-e', 'udp.dstport', '-e', 'data.data'], { encoding: 'utf8' });
    const rows = shark.stdout.trim().split('\n').map((l) => l.split('\t'));
    // PACKET_HOST (0) on lo (ifindex 1): "inbound" read the packet type, the port the UDP header.
    expect(rows.map(([type, ifindex, port, data]) => [type, ifindex, port, Buffer.from(data!, 'hex').toString()])).toEqual([0, 1, 2].map((i) => ['0', '1', '47124', `wanted ${i}`]));
    // A filter on a field of the cooked header the kernel cannot see is refused, before any capture.
    // (ldh [8], the hardware type: "ldh" is BPF_LD | BPF_H | BPF_ABS, 40.)
    expect(cli(n, ['capture', 'any', '-w', path.join(dir, 'y.pcapng'), '--bpf', '2,40 0 0 8,6 0 0 262144'])).toMatchObject({ status: 2, stderr: expect.stringContaining('byte 8 of the cooked header') });
  });

  it('refuses a missing -w, an unknown interface and a bad program with usage and exit 2', () => {
    const n = space();
    expect(cli(n, ['capture', 'lo']).stderr).toContain('an output file is required');
    expect(cli(n, ['capture', 'nosuch0', '-w', path.join(dir, 'x.pcapng')])).toMatchObject({ status: 2, stderr: expect.stringContaining('no such interface: nosuch0') });
    expect(cli(n, ['capture', 'lo', '-w', path.join(dir, 'x.pcapng'), '--bpf', '2,6 0 0 1'])).toMatchObject({ status: 2, stderr: expect.stringContaining('instruction count') });
  });
});
