import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: e2e suites start servers and kubectl processes; keep parallelism modest.
    maxWorkers: 2,
  },
});
