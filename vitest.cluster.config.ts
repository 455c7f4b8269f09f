import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

/**
 * `npm run test:cluster`: the suite's race, lifecycle and property tests
 * again, and the cluster's own tests (test/redis-cluster/), against a private
 * Redis Cluster of 3 masters and 3 replicas with the store over 16 partitions
 * (test/redis-cluster/globalSetup.ts).
 */
export default defineConfig({
  test: {
    ...base.test,
    exclude: ['**/node_modules/**', '**/.git/**'],
    include: [
      'test/redis-cluster/**/*.test.ts',
      'test/race.test.ts',
      'test/property.test.ts',
      'test/holds.property.test.ts',
      'test/routes/lifecycle.test.ts',
    ],
    globalSetup: ['test/redis-cluster/globalSetup.ts'],
    // One file at a time: the fault tests measure how long sales pause, and the sale test
    // each master's share of the work, which other files' clusters on 2 cores would disturb.
    fileParallelism: false,
  },
})
