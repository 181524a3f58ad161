import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['sdk/test/**/*.test.ts', 'signaling-server/test/**/*.test.ts'],
    // @roamhq/wrtc segfaults at exit under worker threads; child processes are fine.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
