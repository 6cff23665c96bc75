// probe(): a packet built from layers goes out on the raw socket its outer layer needs and the
// matching answer comes back parsed: SYN-ACK and RST from the kernel's TCP, echo replies, an ICMP
// error quoting a UDP probe, several probes answered out of order, ARP over a veth pair, timeouts and
// aborts that close every fd. Each test runs its child inside network namespaces it creates.
import { describe, expect, it } from 'vitest';
import { checkFdLeaks } from '../helpers/fds.js';
import { type Netns, netnsUnavailable, packetPkg, pkg, rawUnavailable } from '../helpers/netns.js';
import { namespacesPerTest } from '../helpers/netns-per-test.js';

const skip = netnsUnavailable() ?? rawUnavailable();
if (skip) console.log('skipping probe tests:', skip);

checkFdLeaks();

const space = namespacesPerTest();

/** Runs an async body in a node child inside `n`; the body's resolved value comes back as JSON. */
function run<T>(n: Netns, body: string): T {
  const script = `
    'use strict';
    const s = require(${JSON.stringify(pkg)});
    const { probe, parse } = require(${JSON.stringify(packetPkg)});
    const fs = require('fs');
    const sockets = () => fs.readdirSync('/proc/self/fd').filter((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f).startsWith('socket:'); } catch { return false; } }).length;
    (async () => { ${body} })().then((v) => process.stdout.write(JSON.stringify(v)), (e) => { process.stdout.write(JSON.stringify({ error: e.name, code: e.code, message: e.message })); });
  `;
  return JSON.parse(n.node(script, 15_000)) as T;
}

describe.skipIf(skip !== null)('probe, in a network namespace', () => {
  it('a SYN to a listening port on 127.0.0.1 gets the kernel\'s SYN-ACK, matched by ports and acknowledgment', () => {
    const got = run<{ layers: string[]; syn: boolean; ack: boolean; acked: boolean; from: number; sockets: number[] }>(space(), `
      const l = s.socket(s.AF_INET, s.SOCK_STREAM);
      s.bind(l, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      s.listen(l);
      const port = s.getsockname(l).port;
      const before = sockets();
      const a = await probe([{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'tcp', destinationPort: port, sequenceNumber: 1000, flags: { syn: true } }]);
      const after = sockets();
      s.close(l);
      return { layers: a.map((x) => x.layer), syn: a[1].flags.syn, ack: a[1].flags.ack, acked: a[1].acknowledgmentNumber === 1001, from: a[1].sourcePort === port ? 1 : 0, sockets: [before, after] };
    `);
    expect(got).toEqual({ layers: ['ipv4', 'tcp'], syn: true, ack: true, acked: true, from: 1, sockets: [got.sockets[0], got.sockets[0]] });
  });

  it('a SYN to a closed port gets a RST, and ICMP/ICMPv6 echo requests their replies', () => {
    const got = run<unknown[]>(space(), `
      const rst = await probe([{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'tcp', destinationPort: 9, flags: { syn: true } }]);
      const echo = await probe([{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'icmp', identifier: 77, sequence: 5 }, { layer: 'raw', data: Buffer.from('hi') }]);
      const echo6 = await probe([{ layer: 'ipv6', destination: '::1' }, { layer: 'icmpv6' }]);
      return [rst[1].flags.rst, echo[1].type, echo[1].identifier, echo[1].sequence, Buffer.from(echo[2].data).toString(), echo6.map((x) => x.layer), echo6[1].type, echo6[1].checksumValid];
    `);
    expect(got).toEqual([true, 0, 77, 5, 'hi', ['ipv6', 'icmpv6'], 129, true]);
  });

  it('a UDP probe to a closed port is answered by the ICMP port unreachable quoting it', () => {
    const got = run<{ type: number; code: number; quote: string[]; port: number }>(space(), `
      const a = await probe([{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'udp', sourcePort: 45000, destinationPort: 33434 }, { layer: 'raw', data: Buffer.alloc(100) }]);
      return { type: a[1].type, code: a[1].code, quote: a[1].quote.map((x) => x.layer), port: a[1].quote[1].destinationPort };
    `);
    expect(got).toEqual({ type: 3, code: 3, quote: ['ipv4', 'udp', 'raw'], port: 33434 });
  });

  it('several probes at once are matched to answers that come out of order', () => {
    const got = run<{ first: string; second: number; order: string[] }>(space(), `
      const dgram = require('dgram');
      const order = [];
      const srv = dgram.createSocket('udp4');
      await new Promise((r) => srv.bind(0, '127.0.0.1', r));
      srv.on('message', (m, from) => setTimeout(() => { order.push('udp'); srv.send(Buffer.from('late ' + m), from.port, from.address); }, 300));
      const [u, e] = await probe([
        [{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'udp', destinationPort: srv.address().port }, { layer: 'raw', data: Buffer.from('q') }],
        [{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'icmp' }],
      ], { timeout: 3000 });
      order.unshift(e ? 'icmp' : 'none');
      srv.close();
      return { first: Buffer.from(u[2].data).toString(), second: e[1].type, order };
    `);
    expect(got).toEqual({ first: 'late q', second: 0, order: ['icmp', 'udp'] });
  });

  it('resolves null on timeout and rejects with AbortError on abort, closing its sockets both times', () => {
    const got = run<{ timedOut: null; waited: boolean; aborted: string; sockets: number[] }>(space(), `
      // A bound UDP socket that never answers: no reply, and no ICMP error either.
      const quiet = s.socket(s.AF_INET, s.SOCK_DGRAM);
      s.bind(quiet, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
      const silent = [{ layer: 'ipv4', destination: '127.0.0.1' }, { layer: 'udp', destinationPort: s.getsockname(quiet).port }];
      const before = sockets();
      const t0 = Date.now();
      const timedOut = await probe(silent, { timeout: 200 });
      const waited = Date.now() - t0 >= 190;
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      const aborted = await probe(silent, { timeout: 5000, signal: ac.signal }).catch((e) => e.name);
      const after = sockets();
      s.close(quiet);
      return { timedOut, waited, aborted, sockets: [before, after] };
    `);
    expect(got).toEqual({ timedOut: null, waited: true, aborted: 'AbortError', sockets: [got.sockets[0], got.sockets[0]] });
  });

  it('an Ethernet ARP request on a veth pair is answered by the peer namespace\'s kernel', () => {
    const a = space();
    const b = space();
    a.veth('pa', 'pb', b);
    a.ip('addr', 'add', '10.200.0.1/24', 'dev', 'pa');
    b.ip('addr', 'add', '10.200.0.2/24', 'dev', 'pb');
    const mac = a.ip('-j', 'link', 'show', 'pa');
    const own = (JSON.parse(mac) as { address: string }[])[0]!.address;
    const got = run<{ op: number; sender: string; layers: string[] }>(a, `
      const ans = await probe([
        { layer: 'ethernet', destination: 'ff:ff:ff:ff:ff:ff', source: '${own}' },
        { layer: 'arp', operation: 1, senderHardwareAddress: '${own}', senderProtocolAddress: '10.200.0.1', targetProtocolAddress: '10.200.0.2' },
      ], { interface: 'pa', timeout: 3000 });
      return { op: ans[1].operation, sender: ans[1].senderProtocolAddress, layers: ans.map((x) => x.layer) };
    `);
    expect(got).toEqual({ op: 2, sender: '10.200.0.2', layers: ['ethernet', 'arp'] });
  });

  it('refuses a first layer no raw socket sends, and an Ethernet probe without an interface, before opening anything', () => {
    const got = run<unknown[]>(space(), `
      const a = await probe([{ layer: 'udp', sourcePort: 1, destinationPort: 2 }]).catch((e) => e.code + ' ' + e.message.includes('layers[0].layer'));
      const b = await probe([{ layer: 'ethernet', destination: 'ff:ff:ff:ff:ff:ff', source: '02:00:00:00:00:01' }, { layer: 'raw', data: Buffer.alloc(46) }].map((l, i) => i === 0 ? { ...l, etherType: 0x88b5 } : l)).catch((e) => e.code + ' ' + e.message.includes('options.interface'));
      const c = await probe(null).catch((e) => e.code);
      return [a, b, c, sockets()];
    `);
    expect(got.slice(0, 3)).toEqual(['ERR_INVALID_ARG_VALUE true', 'ERR_INVALID_ARG_TYPE true', 'ERR_INVALID_ARG_TYPE']);
  });
});
