// Constants: the values are the system headers' (checked against Python's socket, select, fcntl,
// os and termios modules, which read the same headers), constantName maps numbers back to names,
// and the generated files match what scripts/gen-constants.mjs renders from native/constants.txt.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as sockfd from '../src/index.js';
import { constantName, constants, errnoName } from '../src/index.js';
import { native } from '../src/binding.js';
import * as sizes from '../src/sizes.generated.js';
// @ts-ignore -- a plain .mjs script without type declarations; its functions are typed below.
import * as genUntyped from '../scripts/gen-constants.mjs';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const gen = genUntyped as {
  readNames(): string[];
  renderNative(names: string[]): string;
  renderTs(names: string[], values: Record<string, number>): string;
  probeValues(names: string[]): Record<string, number>;
  errnoNames(values: Record<string, number>): string[];
  isLiteral(name: string): boolean;
  readSizes(): string[];
  sizeName(struct: string): string;
  renderSizesTs(sizes: string[]): string;
};

const root = path.join(__dirname, '..');

/** The values Python reports for `names`, for those its modules define. */
function pythonValues(names: string[]): Record<string, number> {
  const script = [
    'import json, socket, select, fcntl, os, termios, sys',
    'out = {}',
    'for n in json.load(sys.stdin):',
    '    for m in (socket, select, fcntl, os, termios):',
    '        v = getattr(m, n, None)',
    '        if isinstance(v, int) and not isinstance(v, bool):',
    '            out[n] = int(v)',
    '            break',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(names), encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, number>;
}

const exported = sockfd as unknown as Record<string, unknown>;

describe('values', () => {
  const KEY = [
    'AF_INET',
    'AF_INET6',
    'AF_UNIX',
    'AF_PACKET',
    'AF_NETLINK',
    'SOCK_STREAM',
    'SOCK_DGRAM',
    'SOCK_RAW',
    'SOCK_SEQPACKET',
    'SOCK_NONBLOCK',
    'SOCK_CLOEXEC',
    'IPPROTO_TCP',
    'IPPROTO_UDP',
    'IPPROTO_ICMP',
    'IPPROTO_ICMPV6',
    'IPPROTO_RAW',
    'SOL_SOCKET',
    'SO_REUSEADDR',
    'SO_REUSEPORT',
    'SO_TYPE',
    'SO_ERROR',
    'SO_RCVBUF',
    'SO_LINGER',
    'SO_RCVTIMEO',
    'MSG_DONTWAIT',
    'MSG_PEEK',
    'MSG_TRUNC',
    'MSG_NOSIGNAL',
    'IP_HDRINCL',
    'IP_TTL',
    'IPV6_V6ONLY',
    'TCP_NODELAY',
    'TCP_INFO',
    'TCP_KEEPCNT',
    'SHUT_RD',
    'SHUT_WR',
    'SHUT_RDWR',
    'SOMAXCONN',
    'POLLIN',
    'POLLOUT',
    'POLLHUP',
    'F_GETFD',
    'F_SETFL',
    'FD_CLOEXEC',
    'O_NONBLOCK',
    'FIONREAD',
  ];

  it('the key constants are what Python reports', () => {
    const py = pythonValues(KEY);
    expect(Object.keys(py).sort()).toEqual([...KEY].sort());
    const ours: Record<string, unknown> = {};
    for (const n of KEY) ours[n] = exported[n];
    expect(ours).toEqual(py);
  });

  it('every listed constant Python also knows has the value Python reports', () => {
    const names = gen.readNames();
    const py = pythonValues(names);
    expect(Object.keys(py).length).toBeGreaterThan(100);
    const mismatched = Object.entries(py)
      .filter(([n, v]) => constants[n] !== v)
      .map(([n, v]) => `${n}: sockfd ${constants[n]}, python ${v}`);
    expect(mismatched).toEqual([]);
  });

  it('the SOL_ levels for TCP and UDP, which <netinet/tcp.h> and <netinet/udp.h> define, are exported', () => {
    expect(sockfd.SOL_TCP).toBe(6);
    expect(sockfd.SOL_UDP).toBe(17);
  });

  it('a few values are the well-known Linux ones', () => {
    expect(sockfd.AF_UNIX).toBe(1);
    expect(sockfd.AF_INET).toBe(2);
    expect(sockfd.AF_INET6).toBe(10);
    expect(sockfd.SOCK_STREAM).toBe(1);
    expect(sockfd.SOCK_DGRAM).toBe(2);
    expect(sockfd.SOCK_RAW).toBe(3);
    expect(sockfd.IPPROTO_TCP).toBe(6);
    expect(sockfd.SOL_SOCKET).toBe(1);
    expect(sockfd.ETH_P_ALL).toBe(3);
  });

  it('every named export of a constant equals its entry in constants', () => {
    const names = gen.readNames();
    const wrong = names.filter((n) => exported[n] !== constants[n]).map((n) => `${n}: ${String(exported[n])} vs ${constants[n]}`);
    expect(wrong).toEqual([]);
  });

  it('constants holds only names from the list, each a number', () => {
    const listed = new Set(gen.readNames());
    for (const [n, v] of Object.entries(constants)) {
      expect(listed.has(n), n).toBe(true);
      expect(typeof v, n).toBe('number');
    }
  });

  it('constants is frozen', () => {
    expect(Object.isFrozen(constants)).toBe(true);
  });
});

describe('ErrnoName', () => {
  it('every errno from 1 to 4095 is named within ErrnoName, or as E<number>', () => {
    const onDisk = fs.readFileSync(path.join(root, 'src/constants.generated.ts'), 'utf8');
    const union = onDisk.slice(onDisk.indexOf('export type ErrnoName ='));
    const listed = new Set([...union.matchAll(/'(\w+)'/g)].map((m) => m[1]));
    expect(listed.has('ECONNREFUSED') && listed.has('EINPROGRESS') && listed.has('ENOTSUP')).toBe(true);
    const outside: string[] = [];
    for (let n = 1; n <= 4095; n++) {
      const name = errnoName(n);
      if (!listed.has(name) && !/^E\d+$/.test(name)) outside.push(`${n}: ${name}`);
    }
    expect(outside).toEqual([]);
    expect([...listed].sort()).toEqual(gen.errnoNames(constants));
  });
});

describe('constantName', () => {
  it("constantName(2, 'AF_') is 'AF_INET'", () => {
    expect(constantName(2, 'AF_')).toBe('AF_INET');
  });

  it("constantName(1, 'AF_') is 'AF_UNIX', not AF_LOCAL", () => {
    expect(constantName(1, 'AF_')).toBe('AF_UNIX');
  });

  it("constantName(6, 'IPPROTO_') is 'IPPROTO_TCP'", () => {
    expect(constantName(6, 'IPPROTO_')).toBe('IPPROTO_TCP');
  });

  it('names the value of a constant back within its group', () => {
    expect(constantName(sockfd.SO_REUSEADDR, 'SO_')).toBe('SO_REUSEADDR');
    expect(constantName(sockfd.SOCK_SEQPACKET, 'SOCK_')).toBe('SOCK_SEQPACKET');
  });

  it('an unknown value is undefined', () => {
    expect(constantName(123456, 'AF_')).toBeUndefined();
  });

  it('an unknown prefix is undefined', () => {
    expect(constantName(2, 'NOPE_')).toBeUndefined();
  });
});

describe('generated files', () => {
  it('native/constants.inc is what gen-constants renders from the list', () => {
    const onDisk = fs.readFileSync(path.join(root, 'native/constants.inc'), 'utf8');
    expect(onDisk).toBe(gen.renderNative(gen.readNames()));
  });

  it('src/constants.generated.ts is what gen-constants renders from the list and the values the addon reports', () => {
    const onDisk = fs.readFileSync(path.join(root, 'src/constants.generated.ts'), 'utf8');
    expect(onDisk).toBe(gen.renderTs(gen.readNames(), constants));
  });

  const noCompiler = spawnSync('sh', ['-c', 'command -v "${CXX:-g++}"']).status === 0 ? null : 'no C++ compiler (install the Debian package g++)';
  if (noCompiler) console.log(`skipping the probe test: ${noCompiler}`);
  it.skipIf(noCompiler !== null)("the generator's probe program reads from the headers the values the addon reports", () => {
    const names = gen.readNames();
    const probed = gen.probeValues(names);
    expect(probed).toEqual({ ...constants });
  });

  it('a constant typed by its value is typed with the value the addon reports', () => {
    const onDisk = fs.readFileSync(path.join(root, 'src/constants.generated.ts'), 'utf8');
    expect(onDisk).toContain('export const AF_INET = constants.AF_INET as 2;');
    expect(onDisk).toContain('export const SO_LINGER = constants.SO_LINGER as 13;');
    const typed = [...onDisk.matchAll(/^export const (\w+) = constants\.\w+ as (\d+);$/gm)];
    expect(typed.length).toBeGreaterThan(300);
    const wrong = typed.filter(([, n, v]) => constants[n!] !== Number(v)).map(([, n, v]) => `${n}: typed ${v}, is ${constants[n!]}`);
    expect(wrong).toEqual([]);
    expect(typed.every(([, n]) => gen.isLiteral(n!))).toBe(true);
  });

  it('flags and counts are typed number, not by their value', () => {
    const onDisk = fs.readFileSync(path.join(root, 'src/constants.generated.ts'), 'utf8');
    for (const n of ['SOCK_STREAM', 'SOCK_NONBLOCK', 'MSG_PEEK', 'POLLIN', 'O_NONBLOCK', 'ECONNREFUSED', 'AF_MAX']) {
      expect(onDisk).toContain(`export const ${n} = constants.${n} as number;`);
    }
  });

  it('a constant these headers lack is typed number | undefined, and is undefined', () => {
    const onDisk = fs.readFileSync(path.join(root, 'src/constants.generated.ts'), 'utf8');
    const missing = gen.readNames().filter((n) => !(n in constants));
    expect(missing.length).toBeGreaterThan(0);
    for (const n of missing) {
      expect(onDisk).toContain(`export const ${n} = constants.${n} as number | undefined;`);
      expect(n in exported, n).toBe(true);
      expect(exported[n], n).toBeUndefined();
    }
    const untyped = [...onDisk.matchAll(/^export const (\w+) = constants\.\w+ as number \| undefined;$/gm)].map((m) => m[1]);
    expect(untyped.sort()).toEqual([...missing].sort());
  });

  it('src/sizes.generated.ts is what gen-constants renders from the list', () => {
    const onDisk = fs.readFileSync(path.join(root, 'src/sizes.generated.ts'), 'utf8');
    expect(onDisk).toBe(gen.renderSizesTs(gen.readSizes()));
  });

  it('the list names each constant once', () => {
    const names = gen.readNames();
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('AF_INET');
  });
});

/** The uapi headers that declare the enumerators and structs of the list (native/constants.cc includes them too). */
const ENUM_HEADERS = [
  'linux/if_addr.h',
  'linux/if_link.h',
  'linux/if_packet.h',
  'linux/inet_diag.h',
  'linux/netlink.h',
  'linux/packet_diag.h',
  'linux/rtnetlink.h',
  'linux/sock_diag.h',
  'linux/unix_diag.h',
  'linux/veth.h',
  'linux/virtio_net.h',
];

/** Compiles and runs a C program whose main body is `body`, returning its stdout. */
function runC(prefix: string, body: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const src = ['#include <stdio.h>', ...ENUM_HEADERS.map((h) => `#include <${h}>`), 'int main(void) {', ...body, '  return 0;', '}'].join('\n');
    fs.writeFileSync(path.join(dir, 'prog.c'), src);
    const build = spawnSync('cc', ['-o', path.join(dir, 'prog'), path.join(dir, 'prog.c')], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    return spawnSync(path.join(dir, 'prog'), { encoding: 'utf8' }).stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('enumerators (the `enum` lines of native/constants.txt)', () => {
  const enumerators = [...(genUntyped as { readEnumerators(): Set<string> }).readEnumerators()];
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error) console.log('skipping the C check of the enumerators: no C compiler (install gcc)');

  it('are exported without #ifdef, and only those lines are', () => {
    const inc = fs.readFileSync(path.join(root, 'native/constants.inc'), 'utf8');
    expect(enumerators).toContain('INET_DIAG_INFO');
    for (const n of enumerators) expect(inc).not.toContain(`#ifdef ${n}\n`);
    expect(inc).toContain('#ifdef AF_INET\n');
  });

  it.skipIf(cc.error !== undefined)('have the values a C program compiled against the same headers prints', () => {
    const out = runC('sockfd-enum-', enumerators.map((n) => `  printf("%s %ld\\n", "${n}", (long)${n});`));
    const c = Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
    expect(Object.fromEntries(enumerators.map((n) => [n, constants[n]]))).toEqual(c);
  });
});

describe('struct sizes (the `sizeof` lines of native/constants.txt)', () => {
  const structs = gen.readSizes();
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error) console.log('skipping the C check of the struct sizes: no C compiler (install gcc)');

  it('are listed apart from the constants: none of them is a constant, and the addon exports each one', () => {
    expect(structs).toContain('ifinfomsg');
    expect(structs).toContain('inet_diag_req_v2');
    expect(Object.keys(native.sizes).sort()).toEqual([...structs].sort());
    for (const s of structs) expect(constants[gen.sizeName(s)], s).toBeUndefined();
  });

  it('are what sizes.generated.ts exports, by SIZEOF_<NAME>', () => {
    const exported = sizes as unknown as Record<string, number>;
    expect(Object.fromEntries(structs.map((s) => [gen.sizeName(s), exported[gen.sizeName(s)]]))).toEqual(
      Object.fromEntries(structs.map((s) => [gen.sizeName(s), native.sizes[s]])),
    );
  });

  it.skipIf(cc.error !== undefined)('are what sizeof gives in a C program compiled against the same headers', () => {
    const out = runC('sockfd-sizeof-', structs.map((s) => `  printf("%s %zu\\n", "${s}", sizeof(struct ${s}));`));
    const c = Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
    expect(Object.fromEntries(structs.map((s) => [s, native.sizes[s]]))).toEqual(c);
  });
});
