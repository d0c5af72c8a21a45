import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Gives the run its own TMPDIR and fails it if a pixels-* temp folder is left behind.
    globalSetup: ['test/global-setup.ts'],
  },
});
