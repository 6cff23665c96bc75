// The package's lifecycle steps: `node scripts/lifecycle.mjs prepare|prepack` (package.json's
// "prepare" and "prepack"). This file and scripts/entrypoints.mjs are shipped in the tarball, so each
// step also runs from a packed copy, where there is nothing to build:
//
// - prepare: in a checkout, compiles the TypeScript (scripts/build-ts.mjs: dist/); in a packed copy,
//   which has dist/ and no src/, does nothing.
// - prepack (npm pack, npm publish): in a checkout, builds the prebuilds (scripts/prebuild.mjs:
//   linux-x64, and linux-arm64 with the cross compiler; SOCKFD_PREBUILD=verify only checks prebuilds
//   made elsewhere) and checks that package.json's entry-point fields are those of
//   scripts/entrypoints.mjs; in a checkout and a packed copy alike, it then checks that the linux-x64
//   prebuild is there and loads, and that every prebuild is a Linux binary of its architecture. So a
//   tarball packed from a clean checkout always holds a prebuild, and installs with no compiler.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageFields } from './entrypoints.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The prebuild file of a target (`linux-x64`), as prebuildify names it with --napi --tag-libc. */
export function prebuildFile(dir, target) {
  return join(dir, 'prebuilds', target, 'sockfd.glibc.node');
}

/** ELF e_machine of each architecture. */
const MACHINES = { x64: 62, arm64: 183 };

/** Checks a target's prebuild: a Linux ELF shared object for its architecture, which loads when it is this machine's. */
export function verifyPrebuild(dir, target) {
  const file = prebuildFile(dir, target);
  if (!existsSync(file)) throw new Error(`prepack: ${file} is missing (run \`npm run build:prebuilds\`)`);
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  const arch = target.split('-')[1];
  const machine = header.readUInt16LE(18);
  if (header.toString('latin1', 0, 4) !== '\x7fELF' || header[4] !== 2 || header.readUInt16LE(16) !== 3 || machine !== MACHINES[arch]) {
    throw new Error(`prepack: ${file} is not a 64-bit ELF shared object for ${arch} (e_machine ${machine})`);
  }
  if (arch === process.arch) {
    // Loaded in a child process: a module loaded here could not be unloaded.
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(file)}); if (m.exports.constants.AF_INET !== 2) process.exit(3);`;
    execFileSync(process.execPath, ['-e', script], { stdio: 'inherit' });
  }
}

function prepare(checkout) {
  if (!checkout) {
    console.log('prepare: a packed copy of sockfd, with dist/ built: nothing to do');
    return;
  }
  execFileSync(process.execPath, [join(root, 'scripts/build-ts.mjs')], { stdio: 'inherit' });
}

async function prepack(checkout) {
  if (checkout) {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const want = packageFields();
    for (const [field, value] of Object.entries(want)) {
      if (JSON.stringify(pkg[field]) !== JSON.stringify(value)) {
        throw new Error(`prepack: package.json "${field}" differs from scripts/entrypoints.mjs: run \`npm run gen:package\``);
      }
    }
    const { buildPrebuild, prebuildTargets } = await import('./prebuild.mjs');
    for (const target of prebuildTargets()) {
      if (process.env.SOCKFD_PREBUILD === 'verify') verifyPrebuild(root, target);
      else {
        buildPrebuild(target);
        verifyPrebuild(root, target);
        console.log(`prepack: built ${prebuildFile(root, target)}`);
      }
    }
  }
  verifyPrebuild(root, 'linux-x64');
  const present = existsSync(join(root, 'prebuilds')) ? readdirSync(join(root, 'prebuilds')) : [];
  for (const target of present) verifyPrebuild(root, target);
  console.log(`prepack: prebuilds ${present.join(', ')}`);
}

const step = process.argv[2];
// A checkout has the TypeScript sources and the build scripts; a packed copy has neither.
const checkout = existsSync(join(root, 'src/index.ts')) && existsSync(join(root, 'scripts/build-ts.mjs'));
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (step === 'prepare') prepare(checkout);
  else if (step === 'prepack') await prepack(checkout);
  else {
    console.error('usage: node scripts/lifecycle.mjs prepare|prepack');
    process.exit(2);
  }
}
