/**
 * The demo's two-queues section, run inside the demo's network namespace (`ip netns exec`, since a
 * socket belongs to the namespace of the process that makes it): a listener on the veth end's address,
 * SYNs crafted with SOCK_RAW + sockfd/packet from addresses of the subnet that nobody answers ARP for
 * (so each stays a SYN_RECV request socket), real clients that complete their handshakes into the
 * accept queue, both queues side by side with the kernel's limits, and an `accept` that drains one
 * queue and not the other. It prints its steps as JSON on stdout for the demo to show.
 *
 * Usage: node demoqueues-child.js LISTEN_ADDRESS FIRST_FAKE_HOST
 * @internal
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import * as s from './index.js';
import { ipv4, tcp } from './packet/index.js';
import type { SockAddrIn } from './sockaddr.js';
import type { SocketEntry } from './diagtypes.js';
import { addrText, viewText, type DemoStep } from './demo.js';

/** A step as the child reports it; the demo adds the section. @internal */
export type ChildStep = Omit<DemoStep, 'section'> & { failed?: boolean };

const HALF_OPEN = 5;
const CLIENTS = 3;
const BACKLOG = 8;
const PORT = 8080;

function sysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

/** Runs the section; returns its steps. @internal */
export function twoQueues(listenAddress: string, fakeBase: number): ChildStep[] {
  const steps: ChildStep[] = [];
  const call = <T>(text: string, fn: () => T, show: (v: T) => string = (v) => String(v ?? 0)): T => {
    const v = fn();
    steps.push({ call: text, result: show(v) });
    return v;
  };
  const note = (text: string): void => void steps.push({ call: '', note: text });
  const view = (fd: number): void => void steps.push({ call: '', view: viewText(s.inspect(fd)) });
  const here: SockAddrIn = { family: s.AF_INET, address: listenAddress, port: PORT };
  const prefix = listenAddress.split('.').slice(0, 3).join('.');

  const l = call('socket(AF_INET, SOCK_STREAM, 0)', () => s.socket(s.AF_INET, s.SOCK_STREAM), String);
  const fds = [l];
  try {
    call(`bind(${l}, ${addrText(here)})`, () => s.bind(l, here));
    call(`listen(${l}, ${BACKLOG})`, () => s.listen(l, BACKLOG));
    view(l);
    const raw = call('socket(AF_INET, SOCK_RAW, IPPROTO_RAW)', () => s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_RAW), String);
    fds.push(raw);
    note(`${HALF_OPEN} SYNs built with sockfd/packet, from addresses of ${prefix}.0/24 that no host has:`);
    for (let i = 0; i < HALF_OPEN; i++) {
      const source = `${prefix}.${fakeBase + i}`;
      const sport = 40000 + i;
      const segment = tcp.encode({ sourcePort: sport, destinationPort: PORT, sequenceNumber: 1000 * (i + 1), flags: { syn: true }, options: [{ kind: 'mss', value: 1460 }] }, undefined, {
        source,
        destination: listenAddress,
      });
      const packet = ipv4.encode({ protocol: tcp.PROTOCOL, source, destination: listenAddress }, segment);
      call(`sendto(${raw}, IPv4 ${source} → ${listenAddress} | TCP ${sport} → ${PORT} SYN, 0, ${listenAddress})`, () =>
        s.sendto(raw, packet, undefined, 0, { family: s.AF_INET, address: listenAddress, port: 0 }), String);
    }
    note('The listener answers each with a SYN-ACK that waits for an ARP reply nobody sends: half-open.');
    note(`${CLIENTS} real clients connect from inside the namespace and complete their handshakes:`);
    const clients: number[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = s.socket(s.AF_INET, s.SOCK_STREAM | s.SOCK_NONBLOCK);
      fds.push(c);
      clients.push(c);
      try {
        s.connect(c, here);
        steps.push({ call: `connect(${c}, ${addrText(here)})`, result: '0' });
      } catch (err) {
        const e = err as Error & { code?: string };
        steps.push({ call: `connect(${c}, ${addrText(here)})`, result: `${e.code} (${e.message})`, failed: true });
      }
    }
    s.poll(clients.map((fd) => ({ fd, events: s.POLLOUT })), 1000);
    s.poll([{ fd: l, events: s.POLLIN }], 1000);
    busyWait(20);
    view(l);
    sideBySide(steps, l);
    note(`The kernel's limits: listen's backlog (${BACKLOG}, capped by net.core.somaxconn = ${sysctl('net.core.somaxconn')}) bounds both queues;`);
    note(`past it, net.ipv4.tcp_syncookies = ${sysctl('net.ipv4.tcp_syncookies')} answers SYNs with cookies and keeps no request socket (0 would drop them);`);
    note(`net.ipv4.tcp_max_syn_backlog = ${sysctl('net.ipv4.tcp_max_syn_backlog')} drops SYNs early only with syncookies off.`);
    const got = call(`accept(${l}, 0)`, () => s.accept(l), (r) => `fd ${r.fd} from ${addrText(r.address)}`);
    fds.push(got.fd);
    view(l);
    note('accept takes only completed connections: the half-open ones stay until their handshake ends or');
    note(`the kernel gives up resending their SYN-ACK (net.ipv4.tcp_synack_retries = ${sysctl('net.ipv4.tcp_synack_retries')}).`);
  } finally {
    for (const fd of fds) s.close(fd);
  }
  return steps;
}

/** The two queues of listener `l`, side by side: its SYN_RECV request sockets, and the completed ones. */
function sideBySide(steps: ChildStep[], l: number): void {
  const info = s.inspect(l);
  const port = (info.local as SockAddrIn).port;
  const half: SocketEntry[] = info.tcp?.synQueue ?? [];
  // The accept queue's connections, as sock_diag lists them: ESTABLISHED, and no inode until accept.
  const done = s.listSockets({ family: s.AF_INET, protocol: s.IPPROTO_TCP, states: ['ESTABLISHED'] }).filter((e) => (e.local as SockAddrIn).port === port && e.inode === 0);
  const left = [`half-open (SYN_RECV): ${half.length} of ${info.tcp?.backlog}`, ...half.map((e) => `  from ${addrText(e.peer)}  SYN-ACK resent ${e.timer?.retransmits ?? 0}×`)];
  const right = [`complete (ESTABLISHED): ${info.tcp?.acceptQueue} of ${(info.tcp?.backlog ?? 0) + 1}`, ...done.map((e) => `  from ${addrText(e.peer)}  no fd yet`)];
  const width = Math.max(...left.map((x) => x.length)) + 4;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    steps.push({ call: '', note: `${(left[i] ?? '').padEnd(width)}${right[i] ?? ''}`.trimEnd() });
  }
}

if (require.main === module) {
  const [address = '198.18.0.1', base = '100'] = process.argv.slice(2);
  try {
    process.stdout.write(JSON.stringify({ steps: twoQueues(address, Number(base)) }));
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: (err as Error).message }));
    process.exitCode = 1;
  }
}
