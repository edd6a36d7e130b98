import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind loopback ports and start several peers; two workers match the
    // 2-core machines CI runs on.
    maxWorkers: 2,
  },
})
