import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'sim/**/*.test.ts', 'bench/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file loads its own mujoco-js module; two at a time fit the 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    hookTimeout: 120_000,
  },
});
