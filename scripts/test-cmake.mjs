// Builds nothing: runs the test files that exercise the loader and the core families against the
// cmake-js build (build-cmake/Release/sockfd.node, made by `npm run build:cmake`), via SOCKFD_ADDON.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build-cmake/Release/sockfd.node');
if (!existsSync(addon)) {
  console.error(`${addon} is missing: run \`npm run build:cmake\` first`);
  process.exit(1);
}
const files = ['test/binding.test.ts', 'test/connection.test.ts', 'test/io.test.ts', 'test/promises.test.ts'];
const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...files, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SOCKFD_ADDON: addon },
});
process.exit(r.status ?? 1);
