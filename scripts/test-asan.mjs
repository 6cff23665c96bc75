// `npm run test:asan`: builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer (cmake-js,
// into build-asan/), then runs the whole test suite through it: the sanitizer runtimes are preloaded
// into node (LD_PRELOAD), SOCKFD_ADDON points every process (test workers and the child processes
// tests start) at the instrumented addon, and any report aborts the process, failing its test file.
// Leak detection is off: node itself keeps allocations alive at exit by design.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const flags = '-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g';
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/cmake-js/bin/cmake-js'),
    'compile',
    '--out',
    'build-asan',
    `--CDCMAKE_CXX_FLAGS=${flags}`,
    '--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined',
  ],
  { cwd: root, stdio: 'inherit' },
);
const runtime = (name) => execFileSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
const env = {
  ...process.env,
  SOCKFD_ADDON: join(root, 'build-asan/Release/sockfd.node'),
  LD_PRELOAD: `${runtime('libasan.so')} ${runtime('libubsan.so')}`,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};
const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);
