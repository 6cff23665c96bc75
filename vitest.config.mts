import { defineConfig } from 'vitest/config';

// Forked workers: a native crash takes down one worker and is reported, not the whole runner.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
  },
});
