// sockfd/netns: namespaces made as `ip netns add` makes them, links (direct veth pairs and wired
// ones), addresses, routes, MTU and a router, each checked against iproute2 (`ip -j ...`, `ip netns
// list`) as the independent witness, and against real traffic between the namespaces. Every test
// makes its own namespaces and checks afterwards that nothing is left: no /run/netns entry of this
// process and no new link in its own namespace.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_IP,
  IP_MTU_DISCOVER,
  IP_PMTUDISC_DO,
  IP_RECVTTL,
  IP_TTL,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_IP,
  SystemError,
  bind,
  close,
  listen,
  sendto,
  setsockopt,
  type InetFamily,
  type SockAddr,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { createLink, createNamespace, createRouter, type Namespace } from '../src/netns/index.js';
import { expectNothingLeft, leftovers, netnsCapsMissing, toolMissing } from './helpers/caps.js';
import { thrown } from './helpers/expect.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';

// iproute2's `ip` is the independent witness of these tests (sockfd/netns itself never runs it).
const skip = netnsCapsMissing() ?? toolMissing('ip', 'iproute2');
if (skip) console.log('skipping sockfd/netns tests:', skip);

checkFdLeaks();
const { own } = ownFds();

interface IpLink {
  ifname: string;
  mtu: number;
  flags: string[];
  link_netnsid?: number;
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

/** `ip -n NAME -j ...args`, parsed: iproute2's view of a namespace. */
function ip<T>(ns: Namespace, ...args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-n', ns.name, '-j', ...args], { encoding: 'utf8', timeout: 10_000 })) as T;
}

const made: Namespace[] = [];
let before: ReturnType<typeof leftovers>;

function ns(name?: string): Namespace {
  const n = createNamespace(name);
  made.push(n);
  return n;
}

/** Connects a TCP client in `from` to a listener in `to` at `address`; resolves when the handshake is done. */
async function tcpConnects(from: Namespace, to: Namespace, address: string, family: InetFamily = AF_INET): Promise<void> {
  const l = own(to.socket(family, SOCK_STREAM));
  bind(l, { family, address, port: 8080 } as SockAddr);
  listen(l, 4);
  const c = own(from.socket(family, SOCK_STREAM));
  await p.connect(c, { family, address, port: 8080 } as SockAddr, { timeout: 5000 });
  const conn = await p.accept(l, { timeout: 5000 });
  own(conn.fd);
}

describe('the sockfd/netns entry point', () => {
  it('resolves by name from CommonJS and ESM, one instance for both', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module';
         import nn, { createNamespace, createLink, createRouter, Namespace, NETNS_RUN_DIR } from 'sockfd/netns';
         const require = createRequire(import.meta.url);
         console.log(require('sockfd/netns').createNamespace === createNamespace, nn.createLink === createLink, typeof createRouter, typeof Namespace, NETNS_RUN_DIR);`,
      ],
      { cwd: path.join(__dirname, '..'), encoding: 'utf8' },
    );
    expect(out.trim()).toBe('true true function function /run/netns');
  });
});

describe.skipIf(skip !== null)('sockfd/netns', () => {
  beforeEach(() => {
    before = leftovers();
  });
  afterEach(async () => {
    for (const n of made.splice(0)) await n.close();
    expectNothingLeft(before);
  });

  describe('createNamespace', () => {
    it('makes a namespace that `ip netns list` lists, with lo up, and close() removes it', async () => {
      const blue = createNamespace();
      expect(blue.path).toBe(`/run/netns/${blue.name}`);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(blue.name);
      expect(ip<IpLink[]>(blue, 'link', 'show', 'lo')[0]!.flags).toContain('UP');
      await blue.close();
      expect(blue.closed).toBe(true);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(blue.name);
      await blue.close(); // idempotent
    });

    it('is removed at the end of an `await using` block', async () => {
      let name = '';
      {
        await using blue = createNamespace();
        name = blue.name;
        expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(name);
      }
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(name);
    });

    it('leaves /run/netns a shared mount point, as iproute2 makes it', () => {
      ns();
      const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/run/netns');
      expect(line).toMatch(/ shared:\d+/);
    });

    it('takes a name, and refuses one that exists or is a path', () => {
      const name = `sockfdtest-${process.pid}-named`;
      const blue = ns(name);
      expect(blue.name).toBe(name);
      const err = thrown<SystemError>(() => createNamespace(name));
      expect([err.code, err.syscall]).toEqual(['EEXIST', 'open']);
      expect(err.message).toContain(`a network namespace named '${name}' exists already`);
      expect(thrown(() => createNamespace('a/b'))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
      expect(thrown(() => createNamespace(undefined, { lo: true } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    });

    it('leaves lo down with loopback: false', () => {
      const blue = ns(undefined);
      const dark = createNamespace(undefined, { loopback: false });
      made.push(dark);
      expect(ip<IpLink[]>(dark, 'link', 'show', 'lo')[0]!.flags).not.toContain('UP');
      expect(ip<IpLink[]>(blue, 'link', 'show', 'lo')[0]!.flags).toContain('UP');
    });
  });

  describe('a namespace\'s links, addresses and routes', () => {
    it('adds addresses and routes and sets links as `ip` then shows them', async () => {
      const a = ns(), b = ns();
      await createLink(a, b, { wire: false });
      a.addAddress('eth0', '10.9.0.1/24');
      a.addAddress('eth0', 'fd09::1/64');
      a.setLink('eth0', { mtu: 1400 });
      a.addRoute('10.99.0.0/16', { via: '10.9.0.254' });
      a.addRoute('default', { dev: 'eth0' });
      const addrs = ip<IpAddr[]>(a, 'addr', 'show', 'eth0')[0]!.addr_info.map((x) => `${x.local}/${x.prefixlen}`);
      expect(addrs).toEqual(expect.arrayContaining(['10.9.0.1/24', 'fd09::1/64']));
      expect(ip<IpLink[]>(a, 'link', 'show', 'eth0')[0]!.mtu).toBe(1400);
      const routes = ip<{ dst: string; gateway?: string; dev: string }[]>(a, 'route');
      expect(routes).toEqual(expect.arrayContaining([expect.objectContaining({ dst: '10.99.0.0/16', gateway: '10.9.0.254' }), expect.objectContaining({ dst: 'default', dev: 'eth0' })]));
      // sockfd's own view agrees
      expect(a.addresses().filter((x) => x.link === 'eth0').map((x) => `${x.address}/${x.prefixLength}`)).toEqual(expect.arrayContaining(addrs));
      expect(a.routes()).toEqual(expect.arrayContaining([expect.objectContaining({ destination: '10.99.0.0/16', gateway: '10.9.0.254' })]));
      expect(a.links().find((l) => l.name === 'eth0')).toMatchObject({ mtu: 1400, up: true, kind: 'veth' });
      a.setLink('eth0', { up: false });
      expect(ip<IpLink[]>(a, 'link', 'show', 'eth0')[0]!.flags).not.toContain('UP');
    });

    it('reports the kernel\'s refusals as SystemErrors named after the rtnetlink message', async () => {
      const a = ns();
      const missing = thrown(() => a.addAddress('eth7', '10.0.0.1/24'));
      expect(missing).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`is not a link of namespace ${a.name}`) });
      a.addAddress('lo', '10.7.7.7/32');
      const twice = thrown<SystemError>(() => a.addAddress('lo', '10.7.7.7/32'));
      expect([twice.code, twice.syscall]).toEqual(['EEXIST', 'RTM_NEWADDR']);
      expect(twice.message).toContain(`in namespace ${a.name}`);
      const unreachable = thrown<SystemError>(() => a.addRoute('default', { via: '192.0.2.1' }));
      expect([unreachable.code, unreachable.syscall]).toEqual(['ENETUNREACH', 'RTM_NEWROUTE']);
      expect(thrown(() => a.setLink('lo', { mtu: 100_000 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect(thrown(() => a.addAddress('lo', '10.0.0.300/24'))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await a.close();
      expect(thrown(() => a.links())).toMatchObject({ code: 'ERR_NETNS_CLOSED' });
    });
  });

  describe('createLink', () => {
    for (const wire of [false, true]) {
      it(`connects two namespaces ${wire ? 'through the wire' : 'with a direct veth pair'}, and close() removes both ends`, async () => {
        const a = ns(), b = ns();
        const link = await createLink(a, b, { addresses: ['10.1.0.1/24', '10.1.0.2/24'], wire, mtu: 1400 });
        expect([link.a.name, link.b.name, link.wired]).toEqual(['eth0', 'eth0', wire]);
        expect([link.a.address, link.b.address]).toEqual(['10.1.0.1', '10.1.0.2']);
        for (const n of [a, b]) expect(ip<IpLink[]>(n, 'link', 'show', 'eth0')[0]).toMatchObject({ mtu: 1400, flags: expect.arrayContaining(['UP']) });
        await tcpConnects(a, b, '10.1.0.2');
        await link.close();
        for (const n of [a, b]) expect(ip<IpLink[]>(n, 'link').map((l) => l.ifname)).toEqual(['lo']);
      });
    }

    it('names each end by the first free eth<N> of its namespace, or as told', async () => {
      const a = ns(), b = ns();
      await createLink(a, b, { wire: false });
      const second = await createLink(a, b, { wire: false, names: [undefined, 'uplink'] });
      expect([second.a.name, second.b.name]).toEqual(['eth1', 'uplink']);
      await expect(createLink(a, b, { names: ['has space', undefined] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(createLink(a, b, { names: ['eth0', undefined], wire: false })).rejects.toMatchObject({ code: 'EEXIST', syscall: 'RTM_NEWLINK' });
    });

    it('is removed when either namespace is closed', async () => {
      const a = ns(), b = ns();
      await createLink(a, b, { addresses: ['10.1.0.1/24', '10.1.0.2/24'] });
      await a.close();
      expect(ip<IpLink[]>(b, 'link').map((l) => l.ifname)).toEqual(['lo']);
    });

    it('sets the MTU of both ends, which the kernel then enforces', async () => {
      const a = ns(), b = ns();
      const link = await createLink(a, b, { addresses: ['10.1.0.1/24', '10.1.0.2/24'] });
      link.setMtu(1280);
      for (const n of [a, b]) expect(ip<IpLink[]>(n, 'link', 'show', 'eth0')[0]!.mtu).toBe(1280);
      const fd = own(a.socket(AF_INET, SOCK_DGRAM));
      setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
      const to = { family: AF_INET, address: '10.1.0.2', port: 9 };
      expect(sendto(fd, Buffer.alloc(1252), undefined, 0, to)).toBe(1252); // 1252 + 28 = 1280
      expect(thrown<SystemError>(() => sendto(fd, Buffer.alloc(1253), undefined, 0, to)).code).toBe('EMSGSIZE');
    });

    it('refuses bad options', async () => {
      const a = ns(), b = ns();
      await expect(createLink(a, b, { mtu: 10 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      await expect(createLink(a, b, { addresses: ['10.0.0.1', 'nonsense'] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(createLink(a, b, { ipv6: false, addresses: ['fd00::1/64', undefined] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(createLink(a, b, { speed: 1 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(createLink(a, {} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(ip<IpLink[]>(a, 'link').map((l) => l.ifname)).toEqual(['lo']); // nothing half-made
    });
  });

  describe('createRouter', () => {
    it('forwards IPv4 and IPv6 between hosts, one hop (the TTL the server receives is 63)', async () => {
      const client = ns(), server = ns();
      const router = await createRouter([client, server]);
      made.push(router.namespace);
      expect([router.address(server), router.gateway(client), router.address(server, 6)]).toEqual(['10.0.2.2', '10.0.1.1', 'fd00:0:0:2::2']);
      await tcpConnects(client, server, router.address(server));
      await tcpConnects(client, server, router.address(server, 6), AF_INET6);
      const rx = own(server.socket(AF_INET, SOCK_DGRAM));
      setsockopt(rx, SOL_IP, IP_RECVTTL, 1);
      bind(rx, { family: AF_INET, address: '0.0.0.0', port: 7 });
      const tx = own(client.socket(AF_INET, SOCK_DGRAM));
      setsockopt(tx, SOL_IP, IP_TTL, 64);
      sendto(tx, Buffer.from('hop'), undefined, 0, { family: AF_INET, address: router.address(server), port: 7 });
      const m = await p.recvmsg(rx, [Buffer.alloc(16)], { controlLength: 64 }, { timeout: 5000 });
      expect(m.control).toEqual([expect.objectContaining({ type: IP_TTL, value: 63 })]);
    });

    it('close() removes the router and its links; the hosts stay, without them', async () => {
      const client = ns(), server = ns();
      const router = await createRouter([client, server]);
      await router.close();
      expect(router.namespace.closed).toBe(true);
      for (const n of [client, server]) {
        expect(ip<IpLink[]>(n, 'link').map((l) => l.ifname)).toEqual(['lo']);
        expect(n.routes()).toEqual([]);
      }
    });

    it('refuses hosts that are not namespaces, or twice the same', async () => {
      const a = ns();
      await expect(createRouter([])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(createRouter([a, a])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(createRouter(['x' as never])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    });
  });
});
