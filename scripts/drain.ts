/**
 * Write-behind drain rate: appends checkout traffic to the event stream through
 * the real Lua scripts (no HTTP), then times the worker writing it all to
 * Postgres, on a scratch database and key prefix. Used by `npm run bench` (its
 * drain round) and `npm run bench:drain`.
 */
import { randomBytes } from 'node:crypto'
import { loadConfig } from '../src/config.js'
import { createSql } from '../src/db/client.js'
import type { Deps } from '../src/deps.js'
import { ANONYMOUS } from '../src/http/customers.js'
import { createLogger } from '../src/logger.js'
import { createMetrics } from '../src/metrics/metrics.js'
import { checkoutOrder, createOrder } from '../src/orders/service.js'
import { createProduct } from '../src/products/service.js'
import { ensureHydrated } from '../src/recovery/hydrate.js'
import { createRedis } from '../src/redis/client.js'
import { storeKeys } from '../src/redis/keys.js'
import { writeBehindWorker } from '../src/worker/writeBehind.js'
import { deletePrefix, REDIS_URL, scratchDatabase } from './lib/scratch.js'

const LANES = 50

/** Appends `orders` checkouts through the scripts, then times one worker writing them to Postgres. */
export async function measureDrain(orders: number) {
  const ORDERS = orders
  const db = await scratchDatabase('drain')
  const prefix = `drain-${randomBytes(4).toString('hex')}`
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    REDIS_URL,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
  })
  const redis = createRedis(REDIS_URL, () => {})
  await redis.connect()
  const sql = createSql(db.url)
  const deps: Deps = {
    config: { ...config, ADMIN_TOKEN: 'unused-admin-token-0000' },
    redis,
    sql,
    keys: storeKeys(prefix),
    logger: createLogger('silent'),
    metrics: createMetrics(),
  }
  try {
    await ensureHydrated(deps)
    const product = await createProduct(deps, {
      name: 'Drain',
      quantity: 1_000_000,
      price: 9.99,
      status: 'active',
      lead_time: 1,
      max_per_customer: null,
    })
    let next = 0
    const appendStarted = performance.now()
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < ORDERS) {
          next += 1
          const order = await createOrder(
            deps,
            { products: [{ product_id: product.id, quantity: 1 }] },
            ANONYMOUS,
          )
          await checkoutOrder(deps, order.id, ANONYMOUS)
        }
      }),
    )
    const appendSeconds = (performance.now() - appendStarted) / 1000
    const events = await redis.xlen(deps.keys.events)

    const worker = writeBehindWorker(deps, { consumer: 'bench' })
    const drainStarted = performance.now()
    const written = await worker.drain()
    const drainSeconds = (performance.now() - drainStarted) / 1000

    console.table([
      {
        step: 'append (create + checkout scripts)',
        events,
        seconds: appendSeconds.toFixed(2),
        'events/s': Math.round(events / appendSeconds),
      },
      {
        step: `drain to Postgres (batch ${config.WORKER_BATCH_SIZE})`,
        events: written,
        seconds: drainSeconds.toFixed(2),
        'events/s': Math.round(written / drainSeconds),
      },
    ])
    console.log(
      `drain / arrival: ${(written / drainSeconds / (events / appendSeconds)).toFixed(2)}`,
    )
    return {
      appendPerSecond: Math.round(events / appendSeconds),
      drainPerSecond: Math.round(written / drainSeconds),
    }
  } finally {
    await deletePrefix(redis, prefix)
    redis.disconnect()
    await sql.end()
    await db.drop()
  }
}
