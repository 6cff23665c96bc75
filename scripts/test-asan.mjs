// `npm run test:asan`: builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer (cmake-js,
// into build-asan/), then runs the whole test suite through it: the sanitizer runtimes are preloaded
// into node (LD_PRELOAD), SOCKFD_ADDON points every process (test workers and the child processes
// tests start) at the instrumented addon, and any report aborts the process, failing its test file.
// Leak detection is off: node itself keeps allocations alive at exit by design.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/cmake-js/bin/cmake-js'),
    'compile',
    '--out',
    'build-asan',
    // CMakeLists.txt's option: cmake-js overwrites CMAKE_CXX_FLAGS, so flags given there never arrive.
    '--CDSOCKFD_SANITIZE=ON',
  ],
  { cwd: root, stdio: 'inherit' },
);
// Refuse to run the suite against an addon that is not instrumented (it would prove nothing).
const addon = join(root, 'build-asan/Release/sockfd.node');
const symbols = execFileSync('nm', ['-D', addon], { encoding: 'utf8' });
if (!/__asan_|__ubsan_/.test(symbols)) {
  console.error(`test:asan: ${addon} has no sanitizer symbols: the build did not instrument it`);
  process.exit(1);
}
const runtime = (name) => execFileSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
const env = {
  ...process.env,
  SOCKFD_ADDON: addon,
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
