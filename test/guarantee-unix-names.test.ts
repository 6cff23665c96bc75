// Guarantee: unix socket names round-trip losslessly (issue 12, item 5, as a class). 256 byte strings
// from a seeded PRNG (a fixed list of hard cases first: 0xff, 0xfe, lone surrogates' encodings,
// overlong forms, code points past U+10FFFF, truncated sequences, valid multi-byte text) become
// absolute paths in a temp dir (no NUL or '/' in the name) and 256 more become abstract names ('\0'
// and then any bytes, NULs included). Each is bound, and every call that returns a unix name must
// give back exactly its bytes, as a string when they are valid UTF-8 and as a Buffer otherwise, and
// a value that reaches the socket when given back to connect/sendto: getsockname (then connect to
// it), getpeername, accept's address, recvfrom's, recvmsg's and recvmmsg's sender (then sendto it),
// and decodeSockaddr(encodeSockaddr(x)).
//   SOCKFD_NAMES_SEED=1234 npx vitest run test/guarantee-unix-names.test.ts   (another seed)
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as s from '../src/index.js';
import * as P from '../src/promises.js';
import { checkFdLeaks } from './helpers/fds.js';
import { mulberry32 } from '../src/random.js';

checkFdLeaks();

const { AF_UNIX, SOCK_STREAM, SOCK_DGRAM, MSG_DONTWAIT } = s;
const SEED = Number(process.env.SOCKFD_NAMES_SEED ?? 0x5eed12) >>> 0;
const COUNT = 256;
const dir = mkdtempSync('/tmp/sfdn-'); // short and absolute: the names get most of sun_path's 107 bytes
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dirBytes = Buffer.from(`${dir}/`);

const rnd = mulberry32(SEED);
const int = (n: number): number => Math.floor(rnd() * n);

const HARD = ['ff', 'fe', 'fffe', 'fffe2e736f636b', '808182', 'eda080', 'edbfbf', 'eda0bdedb880', 'c0af', 'c1bf', 'e080af', 'f08080af', 'f4908080', 'f8888080', 'e282', 'f09f98', 'c3a9', 'e282ac', 'f09f9880', '61c3', '2e2eff', 'efbfbd'];

/** Bytes of one random name: valid UTF-8 text, raw bytes, or a mix (so both kinds of result are seen). */
function randomName(length: number, allowed: (b: number) => boolean): Buffer {
  const out: number[] = [];
  const kind = int(3);
  while (out.length < length) {
    if (kind === 0 || (kind === 2 && rnd() < 0.5)) {
      // A valid code point, encoded.
      const cps = [0x20 + int(0x5f), 0x80 + int(0x780), 0x800 + int(0xd000), 0xe000 + int(0x2000), 0x10000 + int(0x100000)];
      for (const b of Buffer.from(String.fromCodePoint(cps[int(cps.length)]!), 'utf8')) out.push(b);
    } else out.push(int(256));
    while (out.length > 0 && !allowed(out[out.length - 1]!)) out.pop();
  }
  return Buffer.from(out.slice(0, length));
}

const pathOk = (b: number): boolean => b !== 0 && b !== 0x2f;
const pathNames: Buffer[] = [...HARD.map((h) => Buffer.from(h, 'hex')), Buffer.from('é€😀 name.sock')];
while (pathNames.length < COUNT) {
  const name = randomName(1 + int(107 - dirBytes.length), pathOk);
  if (name.equals(Buffer.from('.')) || name.equals(Buffer.from('..'))) continue;
  pathNames.push(name);
}
const abstractBody: Buffer[] = [...HARD.map((h) => Buffer.from(h, 'hex')), Buffer.from('00ff00', 'hex'), Buffer.alloc(0)];
while (abstractBody.length < COUNT) abstractBody.push(randomName(int(107), () => true));

/** A name's bytes from what sockfd returned (string or view), and whether its type was the right one. */
function bytesOf(p: unknown): { bytes: Buffer; kind: string } {
  if (typeof p === 'string') return { bytes: Buffer.from(p, 'utf8'), kind: 'string' };
  if (p instanceof Uint8Array) return { bytes: Buffer.from(p.buffer, p.byteOffset, p.byteLength), kind: 'Buffer' };
  return { bytes: Buffer.alloc(0), kind: typeof p };
}
const utf8 = new TextDecoder('utf-8', { fatal: true });
function expectedKind(b: Buffer): string {
  try {
    utf8.decode(b);
    return 'string';
  } catch {
    return 'Buffer';
  }
}

interface Name {
  label: string;
  bytes: Buffer;
  addr: s.SockAddrUn;
}
/** The names of a kind, as addresses given as bytes; an abstract name another process holds is replaced. */
function names(kind: 'path' | 'abstract'): Name[] {
  return (kind === 'path' ? pathNames : abstractBody).map((b, i) => {
    const bytes = kind === 'path' ? Buffer.concat([dirBytes, b]) : Buffer.concat([Buffer.alloc(1), b]);
    return { label: `${kind} #${i} ${b.toString('hex')}`, bytes, addr: { family: AF_UNIX, path: bytes } };
  });
}

const owned: number[] = [];
const sock = (type: number): number => {
  const fd = s.socket(AF_UNIX, type);
  owned.push(fd);
  return fd;
};
function closeOwned(): void {
  for (const fd of owned.splice(0)) s.close(fd);
}
/** Binds `fd` to the name; false when an abstract name is held elsewhere (EADDRINUSE: then it is skipped). */
function bindName(fd: number, n: Name): boolean {
  try {
    s.bind(fd, n.addr);
    return true;
  } catch (err) {
    if ((err as s.SystemError).code === 'EADDRINUSE' && n.bytes[0] === 0) return false;
    throw err;
  }
}
function unlinkName(n: Name): void {
  if (n.bytes[0] !== 0) rmSync(n.bytes, { force: true });
}

/** Checks one returned name against the bytes it should carry; the mismatch, or undefined. */
function mismatch(what: string, n: Name, returned: unknown): string | undefined {
  const { bytes, kind } = bytesOf(returned);
  if (!bytes.equals(n.bytes)) return `${n.label}: ${what} gave ${bytes.toString('hex')}`;
  if (kind !== expectedKind(n.bytes)) return `${n.label}: ${what} gave a ${kind}, not a ${expectedKind(n.bytes)}`;
  return undefined;
}

/** Runs `check` for every name of the kind; the list of failures (empty when all round-trip). */
async function everyName(kind: 'path' | 'abstract', check: (n: Name) => Promise<string | undefined> | string | undefined): Promise<string[]> {
  const failures: string[] = [];
  let checked = 0;
  for (const n of names(kind)) {
    try {
      const f = await check(n);
      if (f !== 'skip') checked++;
      if (f && f !== 'skip') failures.push(f);
    } catch (err) {
      checked++;
      failures.push(`${n.label}: ${String(err)}`);
    } finally {
      closeOwned();
      unlinkName(n);
    }
  }
  expect(checked, 'names checked').toBeGreaterThan(COUNT * 0.9);
  return failures;
}
const SKIP = 'skip';

const peerOf = (fd: number): s.SockAddrUn => s.getsockname(fd) as s.SockAddrUn;
const dgramReceiver = (): number => {
  const r = sock(SOCK_DGRAM);
  s.bind(r, { family: AF_UNIX, path: '' }); // autobind: an abstract name of the kernel's choosing
  return r;
};

describe.each(['path', 'abstract'] as const)('%s names as raw bytes', (kind) => {
  it('getsockname returns the bound bytes, and connect to what it returned reaches the listener; getpeername returns them too', async () => {
    const failures = await everyName(kind, (n) => {
      const l = sock(SOCK_STREAM);
      if (!bindName(l, n)) return SKIP;
      s.listen(l, 4);
      const got = peerOf(l).path;
      const c = sock(SOCK_STREAM);
      s.connect(c, { family: AF_UNIX, path: got });
      owned.push(s.accept(l).fd);
      return mismatch('getsockname', n, got) ?? mismatch('getpeername', n, (s.getpeername(c) as s.SockAddrUn).path);
    });
    expect(failures.slice(0, 10), `${failures.length} of ${COUNT}`).toEqual([]);
  });

  it("accept's address (sync and promises) is the connecting client's bound bytes", async () => {
    const failures = await everyName(kind, async (n) => {
      const l = sock(SOCK_STREAM);
      s.bind(l, { family: AF_UNIX, path: '' });
      s.listen(l, 4);
      const c = sock(SOCK_STREAM);
      if (!bindName(c, n)) return SKIP;
      s.connect(c, peerOf(l));
      const a = s.accept(l);
      owned.push(a.fd);
      const c2 = sock(SOCK_STREAM);
      s.connect(c2, peerOf(l)); // unnamed: its accepted address is the empty path
      const b = await P.accept(l);
      owned.push(b.fd);
      return mismatch('accept', n, (a.address as s.SockAddrUn).path) ?? (bytesOf((b.address as s.SockAddrUn).path).bytes.length === 0 ? undefined : `${n.label}: promises.accept of an unnamed client`);
    });
    expect(failures.slice(0, 10), `${failures.length} of ${COUNT}`).toEqual([]);
  });

  const receivers: [string, (r: number) => unknown][] = [
    ['recvfrom', (r) => (s.recvfrom(r, Buffer.alloc(8)).address as s.SockAddrUn).path],
    ['recvmsg', (r) => (s.recvmsg(r, [Buffer.alloc(8)]).address as s.SockAddrUn).path],
    ['recvmmsg', (r) => (s.recvmmsg(r, [Buffer.alloc(8)], { flags: MSG_DONTWAIT })[0]!.address as s.SockAddrUn).path],
    ['promises.recvfrom', async (r) => ((await P.recvfrom(r, Buffer.alloc(8))).address as s.SockAddrUn).path],
  ];
  it.each(receivers)("%s's sender is the bytes the sender bound, and sendto it reaches the sender", async (what, receive) => {
    const failures = await everyName(kind, async (n) => {
      const d = sock(SOCK_DGRAM);
      if (!bindName(d, n)) return SKIP;
      const r = dgramReceiver();
      s.sendto(d, Buffer.from('ping'), undefined, 0, peerOf(r));
      const from = await receive(r);
      const bad = mismatch(what, n, from);
      if (bad) return bad;
      s.sendto(r, Buffer.from('pong'), undefined, 0, { family: AF_UNIX, path: from as string | Buffer });
      const buf = Buffer.alloc(8);
      return buf.toString('latin1', 0, s.recv(d, buf, undefined, MSG_DONTWAIT)) === 'pong' ? undefined : `${n.label}: the reply did not arrive`;
    });
    expect(failures.slice(0, 10), `${failures.length} of ${COUNT}`).toEqual([]);
  });

  it('decodeSockaddr(encodeSockaddr(x)) gives back the bytes, as a string exactly when they are valid UTF-8', async () => {
    const failures = await everyName(kind, (n) => mismatch('decodeSockaddr(encodeSockaddr())', n, (s.decodeSockaddr(s.encodeSockaddr(n.addr)) as s.SockAddrUn).path));
    expect(failures.slice(0, 10), `${failures.length} of ${COUNT}`).toEqual([]);
  });
});

it('the names cover both kinds of result: valid UTF-8 (strings) and not (Buffers), paths up to 107 bytes', () => {
  const all = [...names('path'), ...names('abstract')];
  const kinds = all.map((n) => expectedKind(n.bytes));
  expect(kinds.filter((k) => k === 'string').length).toBeGreaterThan(60);
  expect(kinds.filter((k) => k === 'Buffer').length).toBeGreaterThan(60);
  expect(Math.max(...names('path').map((n) => n.bytes.length))).toBeLessThanOrEqual(107);
  expect(Math.max(...names('path').map((n) => n.bytes.length))).toBeGreaterThan(100);
});
