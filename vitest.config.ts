import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel workers, each on its own database cloned from a template.
    pool: 'forks',
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    // Here, not in the reporter's own options, which would beat a command line's
    // --outputFile.json (the users' workflow writes its live report elsewhere).
    outputFile: { json: 'reports/vitest.json' },
  },
});
