// The release as a user gets it: a prebuild made with prebuildify, packed with `npm pack`, installed
// from the tarball into a fresh directory on a "machine" without a compiler (gcc, g++, cc, make and
// python3 hidden from PATH), then loaded by name. All of it happens in a copy of the package, so the
// working tree's build is untouched.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
// What a user's machine has: no test-time addon override, no sanitizer preload.
const clean: NodeJS.ProcessEnv = { ...process.env };
delete clean.SOCKFD_ADDON;
delete clean.LD_PRELOAD;
let work: string;
let tarball: string;

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = clean): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
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
  symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sockfd-release-'));
  const pkg = path.join(work, 'pkg');
  // The tracked files, as a fresh clone has them, plus the installed dev tools.
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) cpSync(path.join(root, f), path.join(pkg, f), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  sh(process.execPath, [path.join(root, 'node_modules/prebuildify/bin.js'), '--napi', '--strip'], pkg, { ...clean, JOBS: 'max' });
  sh(process.execPath, [path.join(pkg, 'scripts/build-ts.mjs')], pkg);
  const out = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', work], pkg);
  tarball = path.join(work, out.trim().split('\n').pop()!);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack + install without a compiler', () => {
  it('the tarball holds the prebuild, the compiled JS with types, the native sources, and no tests', () => {
    const list = sh('tar', ['-tzf', tarball], work).split('\n');
    expect(list).toContain('package/prebuilds/linux-x64/sockfd.node');
    expect(list).toContain('package/dist/cjs/index.js');
    expect(list).toContain('package/dist/cjs/index.d.ts');
    expect(list).toContain('package/dist/esm/promises.mjs');
    expect(list).toContain('package/native/sockaddr.cc');
    expect(list).toContain('package/binding.gyp');
    expect(list.some((f) => f.startsWith('package/test/'))).toBe(false);
  });

  it('installs from the tarball with no compiler on PATH and loads the prebuild by name', () => {
    const app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const env = { ...clean, PATH: compilerlessPath(app), npm_config_nodedir: '/nonexistent' };
    for (const tool of ['gcc', 'g++', 'cc', 'make', 'python3']) {
      expect(spawnSync('sh', ['-c', `command -v ${tool}`], { env }).status, `${tool} hidden`).not.toBe(0);
    }
    sh('npm', ['install', '--no-audit', '--no-fund', tarball], app, env);
    expect(readdirSync(path.join(app, 'node_modules/sockfd'))).not.toContain('build');
    const out = sh(
      'node',
      [
        '-e',
        `const s = require('sockfd'); const [a, b] = s.socketpair(s.AF_UNIX, s.SOCK_STREAM);
         s.write(a, Buffer.from('prebuilt')); const buf = Buffer.alloc(8); s.read(b, buf);
         console.log(buf.toString(), require('sockfd/packet').checksum(Buffer.from([0, 1])));`,
      ],
      app,
      env,
    );
    expect(out.trim()).toBe('prebuilt 65534');
  });

  it('without a prebuild or a compiler, loading says what was tried and how to fix it', () => {
    const app = path.join(work, 'bare');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }));
    const env = { ...clean, PATH: compilerlessPath(app) };
    sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app, env);
    rmSync(path.join(app, 'node_modules/sockfd/prebuilds'), { recursive: true });
    const r = spawnSync('node', ['-e', "require('sockfd')"], { cwd: app, env, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('could not find the native addon');
    expect(r.stderr).toContain('tried: prebuilds/linux-x64/ and build/Release/');
    expect(r.stderr).toContain('npm rebuild sockfd');
  });
});
