import { configDefaults, defineConfig } from 'vitest/config'
import SummaryReporter from './test/summaryReporter.js'

/**
 * The slow files: real faults (killed and stalled Redis servers, failovers,
 * proxies that drop replies), spawned service processes and browsers.
 * `npm run test:fast` leaves them out for everyday work; `npm test` and CI run
 * everything.
 */
const SLOW = [
  'test/faults.test.ts',
  'test/failover.test.ts',
  'test/outages.test.ts',
  'test/rebuild.test.ts',
  'test/process.test.ts',
  'test/cluster.test.ts',
  'test/readme.test.ts',
  'test/*.browser.test.ts',
]

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      'test/fixtures/**',
      // They need a Redis Cluster: `npm run test:cluster` (vitest.cluster.config.ts) starts one.
      'test/redis-cluster/**',
      ...(process.env.TEST_FAST === '1' ? SLOW : []),
    ],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', new SummaryReporter()],
  },
})
