// `npm run build:prebuilds [-- target ...]`: the N-API prebuilds a tarball ships, made with prebuildify
// and tagged by C library (--tag-libc), so that node-gyp-build loads prebuilds/linux-x64/sockfd.glibc.node
// on a glibc system and, on a musl one (Alpine), finds no match and builds from source instead of
// loading a glibc binary. Targets: linux-x64 and linux-arm64 by default (SOCKFD_PREBUILD_TARGETS
// chooses others); the host's architecture is built natively, the other with Debian's cross compiler
// (g++-aarch64-linux-gnu for arm64, g++-x86-64-linux-gnu for x64). One Node-API build serves every Node
// version from 20 on.
//
// Each build runs in a scratch copy of the native sources, so the checkout's own build/Release (the
// addon the tests load) is never replaced by another architecture's.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** GNU triplets of the cross compilers, by Node's name for the architecture. */
const TRIPLETS = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

/** The targets to build: SOCKFD_PREBUILD_TARGETS (space-separated), else linux-x64 and linux-arm64. */
export function prebuildTargets() {
  return (process.env.SOCKFD_PREBUILD_TARGETS ?? 'linux-x64 linux-arm64').split(/\s+/).filter(Boolean);
}

/** Whether this machine can build `target`, or why not (the Debian package to install). */
export function canBuild(target) {
  const [platform, arch] = target.split('-');
  if (platform !== 'linux' || process.platform !== 'linux') return `${target}: only Linux targets are built, on Linux`;
  if (arch === process.arch) return null;
  const triplet = TRIPLETS[arch];
  if (!triplet) return `${target}: no cross compiler is known for ${arch}`;
  const found = spawnSync('sh', ['-c', `command -v ${triplet}-g++`]).status === 0;
  return found ? null : `${target}: no ${triplet}-g++ (install the Debian package g++-${triplet.replace(/_/g, '-')})`;
}

/** The node-gyp that npm itself uses (and installs fall back to), and the Node headers it builds against. */
function nodeGyp() {
  const npmCli = process.env.npm_execpath ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const gyp = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(gyp)) throw new Error(`prebuild: node-gyp not found beside npm (${gyp})`);
  return gyp;
}
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(process.execPath, '..', '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** Builds one target's prebuild into `out`/prebuilds (the checkout's by default); scripts/lifecycle.mjs checks it. */
export function buildPrebuild(target, out = root) {
  const why = canBuild(target);
  if (why) throw new Error(`prebuild: cannot build ${why}`);
  const arch = target.split('-')[1];
  const scratch = mkdtempSync(join(tmpdir(), `sockfd-prebuild-${target}-`));
  try {
    for (const f of ['binding.gyp', 'package.json', 'native']) cpSync(join(root, f), join(scratch, f), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
    const env = { ...process.env, PREBUILD_NODE_GYP: nodeGyp(), JOBS: process.env.JOBS ?? 'max' };
    const dir = nodeDir();
    if (dir) env.npm_config_nodedir = dir;
    if (arch !== process.arch) {
      const t = TRIPLETS[arch];
      Object.assign(env, { CC: `${t}-gcc`, CXX: `${t}-g++`, LINK: `${t}-g++`, AR: `${t}-ar`, PREBUILD_STRIP_BIN: `${t}-strip` });
    }
    mkdirSync(join(out, 'prebuilds'), { recursive: true });
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/prebuildify/bin.js'), '--napi', '--strip', '--tag-libc', '--arch', arch, '--out', out],
      { cwd: scratch, env, stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { prebuildFile, verifyPrebuild } = await import('./lifecycle.mjs');
  const targets = process.argv.length > 2 ? process.argv.slice(2) : prebuildTargets();
  for (const target of targets) {
    buildPrebuild(target);
    verifyPrebuild(root, target);
    console.log(`prebuild: ${prebuildFile(root, target)}`);
  }
}
