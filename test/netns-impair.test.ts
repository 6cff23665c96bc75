// Link impairments of sockfd/netns, observed with real traffic between two namespaces: UDP datagrams
// numbered by the sender (which arrive, in what order, how late — lower bounds only: a delay can
// make a frame late, never early), TCP connections cut silently or with RSTs, and the wire's own
// counters. The links are made with ipv6: false so that only the test's own frames cross them (a new
// IPv6 interface sends frames of its own for seconds), and ARP is settled before impairing. The
// kernel's netem (direct links) is tested where the kernel has it; where it does not, the clear error
// is. Nothing is left behind (checked after each test).
import { execFileSync, spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  IPPROTO_TCP,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUFFORCE,
  TCP_INFO,
  TCP_USER_TIMEOUT,
  bind,
  getsockopt,
  listen,
  sendto,
  setsockopt,
} from '../src/index.js';
import * as p from '../src/promises.js';
import { createLink, createNamespace, type Link, type Namespace } from '../src/netns/index.js';
import { expectNothingLeft, leftovers, netnsCapsMissing, toolMissing } from './helpers/caps.js';
import { checkFdLeaks, ownFds } from './helpers/fds.js';
import { DIST_INDEX } from './helpers/workers.js';

const skip = netnsCapsMissing();
if (skip) console.log('skipping sockfd/netns impairment tests:', skip);

checkFdLeaks();
const { own } = ownFds();

/** Whether this kernel has the netem qdisc, asked of iproute2's tc in a scratch namespace. */
function kernelHasNetem(): boolean {
  const scratch = createNamespace();
  try {
    return spawnSync('tc', ['-n', scratch.name, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { encoding: 'utf8' }).status === 0;
  } finally {
    scratch.removeSync();
  }
}
const noTc = toolMissing('tc', 'iproute2');
if (noTc) console.log('skipping the netem tests:', noTc);
const hasNetem = skip === null && noTc === null && kernelHasNetem();
if (skip === null && noTc === null && !hasNetem) console.log('this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM): testing the error that says so instead of netem itself');

const A = '10.2.0.1', B = '10.2.0.2';
const PORT = 9000;
const made: Namespace[] = [];
let before: ReturnType<typeof leftovers>;
let a: Namespace, b: Namespace, link: Link, tx: number, rx: number;

interface Arrival {
  index: number;
  sentAt: number;
  at: number;
}

/** A numbered datagram: index, send time (performance.now() as a double), padding. */
function datagram(index: number, size = 64): Buffer {
  const d = Buffer.alloc(size);
  d.writeUInt32BE(index, 0);
  d.writeDoubleBE(performance.now(), 4);
  return d;
}

function send(count: number, size = 64): void {
  for (let i = 0; i < count; i++) sendto(tx, datagram(i, size), undefined, 0, { family: AF_INET, address: B, port: PORT });
}

/** Receives until `count` datagrams came or none came for `quietMs`. */
async function collect(count: number, quietMs = 1000): Promise<Arrival[]> {
  const out: Arrival[] = [];
  const buf = Buffer.alloc(2048);
  while (out.length < count) {
    try {
      await p.recvfrom(rx, buf, { timeout: quietMs });
    } catch (err) {
      if ((err as { code?: string }).code === 'ETIMEDOUT') break;
      throw err;
    }
    out.push({ index: buf.readUInt32BE(0), sentAt: buf.readDoubleBE(4), at: performance.now() });
  }
  return out;
}

async function setup(wire = true): Promise<void> {
  a = createNamespace();
  b = createNamespace();
  made.push(a, b);
  link = await createLink(a, b, { addresses: [`${A}/24`, `${B}/24`], ipv6: false, wire });
  tx = own(a.socket(AF_INET, SOCK_DGRAM));
  bind(tx, { family: AF_INET, address: A, port: PORT });
  rx = own(b.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK));
  setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20); // room for a whole burst: losses are the wire's only
  bind(rx, { family: AF_INET, address: B, port: PORT });
  // Settle ARP both ways before anything is impaired.
  send(1);
  expect(await collect(1, 3000)).toHaveLength(1);
  sendto(rx, Buffer.from('back'), undefined, 0, { family: AF_INET, address: A, port: PORT });
  await p.recv(tx, Buffer.alloc(16), { timeout: 3000 });
}

describe.skipIf(skip !== null)('link impairments', () => {
  beforeEach(() => {
    before = leftovers();
  });
  afterEach(async () => {
    for (const n of made.splice(0)) await n.close();
    expectNothingLeft(before);
  });

  describe('through the wire', () => {
    beforeEach(() => setup());

    it('delays every frame by at least the delay', async () => {
      await link.impair({ delay: 40 });
      send(10);
      const got = await collect(10);
      expect(got).toHaveLength(10);
      for (const g of got) expect(g.at - g.sentAt).toBeGreaterThanOrEqual(39);
    });

    it('spreads the delay over delay ± jitter', async () => {
      await link.impair({ delay: 30, jitter: 10 });
      send(40);
      const got = await collect(40);
      expect(got).toHaveLength(40);
      const delays = got.map((g) => g.at - g.sentAt);
      for (const d of delays) expect(d).toBeGreaterThanOrEqual(19);
      expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(2);
    });

    it('drops about the share of frames given by loss, and counts them', async () => {
      await link.impair({ loss: 30, seed: 1 });
      const start = (await link.stats()).aToB; // the counters run from the link's creation
      send(400);
      const got = await collect(400);
      const { aToB } = await link.stats();
      expect(aToB.frames - start.frames).toBe(400);
      const lost = aToB.lost - start.lost;
      expect(aToB.sendErrors - start.sendErrors).toBe(0);
      expect(lost).toBe(400 - got.length);
      expect(lost).toBeGreaterThan(60);
      expect(lost).toBeLessThan(180);
      expect(aToB.seed).toBe(1);
    });

    it('drops the same frames again with the same seed', async () => {
      const run = async (): Promise<number[]> => {
        await link.impair({ loss: 40, seed: 20261202 });
        send(200);
        return (await collect(200)).map((g) => g.index).sort((x, y) => x - y);
      };
      const first = await run();
      const second = await run();
      expect(first.length).toBeLessThan(200);
      expect(second).toEqual(first);
    });

    it('sends every frame twice with duplicate: 100', async () => {
      await link.impair({ duplicate: 100 });
      send(20);
      const got = await collect(40);
      expect(got.map((g) => g.index).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i >> 1));
      expect((await link.stats()).aToB.duplicated).toBe(20); // nothing else was duplicated before
    });

    it('lets reordered frames overtake the delayed ones', async () => {
      await link.impair({ delay: 60, reorder: 50, seed: 3 });
      send(40);
      const got = await collect(40);
      const order = got.map((g) => g.index);
      expect(order).toHaveLength(40);
      expect(order).not.toEqual([...order].sort((x, y) => x - y));
      const { reordered } = (await link.stats()).aToB;
      expect(reordered).toBeGreaterThan(0);
      // the reordered ones came first, in order, then the delayed ones, in order
      const early = order.slice(0, reordered), late = order.slice(reordered);
      expect(early).toEqual([...early].sort((x, y) => x - y));
      expect(late).toEqual([...late].sort((x, y) => x - y));
    });

    it('paces frames at the rate, in order', async () => {
      await link.impair({ rate: 800_000 });
      send(25, 1000); // 25 frames of 14 + 20 + 8 + 1000 bytes: 208,400 bits, 260 ms at 800 kbit/s
      const got = await collect(25);
      expect(got.map((g) => g.index)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(got[24]!.at - got[0]!.sentAt).toBeGreaterThanOrEqual(255);
    });

    it('drops what exceeds the queue limit', async () => {
      await link.impair({ delay: 200, limit: 5 });
      send(30);
      const got = await collect(30);
      expect(got.map((g) => g.index)).toEqual([0, 1, 2, 3, 4]);
      expect((await link.stats()).aToB.queueDropped).toBe(25); // none was dropped before
    });

    it('impairs only the frames leaving the end given as from', async () => {
      await link.impair({ loss: 100 }, { from: b });
      send(5);
      expect(await collect(5)).toHaveLength(5);
      sendto(rx, Buffer.from('lost'), undefined, 0, { family: AF_INET, address: A, port: PORT });
      const { aToB, bToA } = await link.stats();
      await expect(p.recv(tx, Buffer.alloc(8), { timeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(aToB.lost).toBe(0);
      expect(bToA.lost).toBeGreaterThanOrEqual(1);
    });

    it('a blackhole cut makes TCP time out (TCP_USER_TIMEOUT), after retransmissions; restore() heals it', async () => {
      const l = own(b.socket(AF_INET, SOCK_STREAM));
      bind(l, { family: AF_INET, address: B, port: 80 });
      listen(l, 4);
      const c = own(a.socket(AF_INET, SOCK_STREAM));
      setsockopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 400);
      await p.connect(c, { family: AF_INET, address: B, port: 80 }, { timeout: 5000 });
      own((await p.accept(l, { timeout: 5000 })).fd);
      await link.cut('blackhole');
      await p.send(c, Buffer.from('into the void'));
      const err = await p.recv(c, Buffer.alloc(16), { timeout: 5000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ETIMEDOUT', syscall: 'recv' });
      expect((await link.stats()).aToB.cutDropped).toBeGreaterThan(1); // the segment and its retransmissions
      await link.restore();
      const again = own(a.socket(AF_INET, SOCK_STREAM));
      await p.connect(again, { family: AF_INET, address: B, port: 80 }, { timeout: 5000 });
    });

    it('a reset cut answers TCP with RSTs: ECONNRESET on an open connection, ECONNREFUSED on a new one', async () => {
      const l = own(b.socket(AF_INET, SOCK_STREAM));
      bind(l, { family: AF_INET, address: B, port: 80 });
      listen(l, 4);
      const c = own(a.socket(AF_INET, SOCK_STREAM));
      await p.connect(c, { family: AF_INET, address: B, port: 80 }, { timeout: 5000 });
      const server = own((await p.accept(l, { timeout: 5000 })).fd);
      await link.cut('reset');
      await p.send(c, Buffer.from('hello?'));
      await expect(p.recv(c, Buffer.alloc(16), { timeout: 5000 })).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(getsockopt(server, IPPROTO_TCP, TCP_INFO).stateName).toBe('ESTABLISHED'); // it heard nothing
      const fresh = own(a.socket(AF_INET, SOCK_STREAM));
      await expect(p.connect(fresh, { family: AF_INET, address: B, port: 80 }, { timeout: 5000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect((await link.stats()).aToB.resets).toBeGreaterThanOrEqual(2);
    });

    it('refuses impairments it cannot honour, instead of ignoring them', async () => {
      await expect(link.impair({ lossy: 1 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("unknown field 'lossy'") });
      await expect(link.impair({ loss: 101 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      await expect(link.impair({ reorder: 10 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("without 'delay'") });
      await expect(link.impair({ limit: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      await expect(link.impair({ delay: '5' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      const stranger = createNamespace();
      made.push(stranger);
      await expect(link.impair({}, { from: stranger })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('is not an end of this link') });
      await expect(link.cut('drop' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await link.close();
      await expect(link.impair({})).rejects.toMatchObject({ code: 'ERR_NETNS_CLOSED' });
    });
  });

  describe('on a direct link (netem)', () => {
    beforeEach(() => setup(false));

    it.skipIf(!hasNetem || noTc !== null)('applies netem with tc, and restore() removes it', async () => {
      await link.impair({ delay: 30 }, { from: a });
      const qdisc = JSON.parse(execFileSync('tc', ['-n', a.name, '-j', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as { kind: string }[];
      expect(qdisc[0]!.kind).toBe('netem');
      send(5);
      for (const g of await collect(5)) expect(g.at - g.sentAt).toBeGreaterThanOrEqual(29);
      await link.restore();
      const after = JSON.parse(execFileSync('tc', ['-n', a.name, '-j', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as { kind: string }[];
      expect(after.map((q) => q.kind)).not.toContain('netem');
    });

    it.skipIf(hasNetem || noTc !== null)('says that this kernel has no netem, and what to use instead', async () => {
      const err = await link.impair({ delay: 30 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_NETNS_NETEM_UNAVAILABLE', message: expect.stringContaining('CONFIG_NET_SCH_NETEM') });
      expect((err as Error).message).toContain('wired link');
      await expect(link.cut('blackhole')).rejects.toMatchObject({ code: 'ERR_NETNS_NETEM_UNAVAILABLE' });
    });

    it('refuses what only the wire does: counters, a reset cut, a seed', async () => {
      await expect(link.stats()).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(link.cut('reset')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('needs a wired link') });
      await expect(link.impair({ delay: 1, seed: 5 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('cannot be seeded') });
    });
  });

  it('names the Debian package when tc is missing', () => {
    const script = `
      const nn = require(${JSON.stringify(DIST_INDEX.replace(/index\.js$/, 'netns/index.js'))});
      (async () => {
        const x = nn.createNamespace(), y = nn.createNamespace();
        const l = await nn.createLink(x, y, { wire: false });
        const err = await l.impair({ delay: 5 }).catch((e) => e);
        await x.close(); await y.close();
        console.log(JSON.stringify({ code: err.code, message: err.message }));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, PATH: '/nonexistent' } });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { code: string; message: string };
    expect(got.code).toBe('ERR_NETNS_TOOL_MISSING');
    expect(got.message).toContain('install the Debian package iproute2');
  });
});


