import { defineConfig } from 'vitest/config';

// Forked workers: a native crash takes down one worker and is reported, not the whole runner.
// The type tests (test/*.test-d.ts) run through tsc with test/tsconfig.json, under the strict flags
// users compile with; a type error anywhere in src/ or test/ fails the run too.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: 'test/tsconfig.json',
    },
  },
});
