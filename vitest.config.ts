import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Fault tests mount filesystems and spawn processes; keep files apart.
    fileParallelism: false,
    // Installs moto_server, pyarrow and numpy on first use (scripts/test-deps.mjs) ...
    globalSetup: ['test/global-setup.ts'],
    // ... and the run ends by naming what was skipped, and why when a tool was missing.
    reporters: ['default', './test/skip-report.ts'],
  },
});
