/**
 * Side-by-side benchmark: checkout against a bare Hono echo route, measured in
 * the same run on the same machine, so the ratio means something even where
 * absolute numbers are noisy. Bounded: a few seconds per round.
 *
 *   npm run bench            (uses the local Redis and PostgreSQL; makes a scratch database)
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=100 npm run bench
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'
import { createRedis } from '../src/redis/client.js'
import { storeKeys } from '../src/redis/keys.js'
import { createTestDatabase, deleteKeys, REDIS_URL } from '../test/helpers/context.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const ORDERS = Number(process.env.BENCH_ORDERS ?? 20_000)
const ADMIN_TOKEN = randomBytes(24).toString('base64url')
const json = { 'content-type': 'application/json' }

async function round(title: string, url: string, body: () => string) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: json,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  })
  const row = {
    round: title,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    '2xx': result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
  }
  return row
}

async function inParallel<T>(count: number, limit: number, task: (i: number) => Promise<T>) {
  const results: T[] = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) {
        const i = next++
        results[i] = await task(i)
      }
    }),
  )
  return results
}

const db = await createTestDatabase()
const prefix = `bench-${randomBytes(4).toString('hex')}`
const child = spawn(
  'node',
  [
    ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
    '--import',
    'tsx',
    'scripts/bench-server.ts',
  ],
  {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL,
      KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
try {
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
  const { echoUrl, storeUrl } = JSON.parse(line) as { echoUrl: string; storeUrl: string }

  const product = await fetch(`${storeUrl}/api/v1/products`, {
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ name: 'Bench', quantity: 1_000_000, price: 10 }),
  }).then((r) => r.json() as Promise<{ data: { id: number } }>)
  const productId = product.data.id
  const orderIds = await inParallel(ORDERS, 50, async () => {
    const res = await fetch(`${storeUrl}/api/v1/create-order`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ products: [{ product_id: productId, quantity: 1 }] }),
    })
    return ((await res.json()) as { data: { id: string } }).data.id
  })

  let i = 0
  const orderBody = () => JSON.stringify({ order_id: orderIds[i++ % orderIds.length] })
  const echo = await round('bare Hono echo (POST /echo)', `${echoUrl}/echo`, orderBody)
  const checkout = await round(
    'checkout (POST /api/v1/checkout-order)',
    `${storeUrl}/api/v1/checkout-order`,
    orderBody,
  )
  const create = await round(
    'create-order (POST /api/v1/create-order)',
    `${storeUrl}/api/v1/create-order`,
    () => JSON.stringify({ products: [{ product_id: productId, quantity: 1 }] }),
  )
  console.table([echo, checkout, create])
  console.log(
    `checkout / echo throughput: ${(checkout['req/s'] / echo['req/s']).toFixed(2)}  ` +
      `create-order / echo: ${(create['req/s'] / echo['req/s']).toFixed(2)}  ` +
      `(${CONNECTIONS} connections, ${SECONDS}s per round)`,
  )
} finally {
  child.kill('SIGTERM')
  await once(child, 'exit')
  const redis = createRedis(REDIS_URL, () => {})
  await redis.connect()
  await deleteKeys({ redis, keys: storeKeys(prefix) })
  redis.disconnect()
  await db.drop()
}
