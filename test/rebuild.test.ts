import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisServer } from '../scripts/lib/topology/redisServer.js'
import { createSql } from '../src/db/client.js'
import { ensureHydrated } from '../src/recovery/hydrate.js'
import { createRedis } from '../src/redis/client.js'
import { storeKeys } from '../src/redis/keys.js'
import { derivedStock } from '../src/stock/derived.js'
import { api, httpApi } from './helpers/api.js'
import {
  ADMIN_TOKEN,
  createTestContext,
  createTestDatabase,
  untilRedisAnswers,
} from './helpers/context.js'
import { startService } from './helpers/processes.js'
import { stockOf } from './helpers/snapshot.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A Redis without persistence is killed with -9 in the middle of a sale, stays
 * down for a few seconds and comes back empty, while buyers keep buying from a
 * real service process. The service must notice, refuse with 503 (never 404 or
 * 500) until it has rebuilt the store from Postgres, and then carry on: every
 * open order Postgres knows can still be checked out, paid, confirmed, rejected
 * or cancelled, nothing is oversold, and the stock check says in_sync.
 */
describe('Redis restarts empty while the service runs', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  let service: ReturnType<typeof startService>
  const prefix = 'rebuild'

  beforeAll(async () => {
    db = await createTestDatabase()
    redisServer = await startRedisServer({ persistence: 'none' })
    service = startService({
      DATABASE_URL: db.url,
      REDIS_URL: redisServer.url,
      KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      EXPIRY_SWEEP_INTERVAL_MS: '200',
      WORKER_BLOCK_MS: '100',
      STOCK_CHECK_WAIT_MS: '5000',
    })
  })
  afterAll(async () => {
    service.child.kill('SIGKILL')
    await redisServer.stop()
    await db.drop()
  })

  it('is rebuilt completely, pauses changes with 503 meanwhile, and every open order carries on', async () => {
    const url = await service.listening
    const admin = httpApi(url, { authorization: `Bearer ${ADMIN_TOKEN}` })
    const store = httpApi(url)
    const boots = (await admin.addProduct({ name: 'Boots', quantity: 400, price: 10 })).body.data
      .id as number
    const limited = (
      await admin.addProduct({ name: 'Limited', quantity: 100, price: 5, max_per_customer: 2 })
    ).body.data.id as number

    const statuses = new Map<number, number>()
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)
    let buying = true
    let bought = 0
    const notFound: string[] = []
    const buyer = async (lane: number) => {
      for (let i = 0; buying && i < 2_000; i++) {
        const created = await store.createOrder({
          products: [
            { product_id: boots, quantity: 1 },
            ...(i % 3 === 0 ? [{ product_id: limited, quantity: 1 }] : []),
          ],
          customer_id: `buyer-${lane}-${i % 7}`,
        })
        count(created.status)
        if (created.status !== 200) {
          await sleep(50)
          continue
        }
        const id = created.body.data.id as string
        if (i % 4 === 3) continue // left as a draft
        const checkout = await store.checkout(id)
        count(checkout.status)
        if (checkout.status === 404) notFound.push(id)
        if (checkout.status !== 200 || i % 4 === 2) continue // left holding a reservation
        const paid = await store.pay(id)
        count(paid.status)
        if (paid.status === 200) bought += 1
        await sleep(5)
      }
    }
    const lanes = Promise.all([0, 1, 2, 3].map(buyer))

    await sleep(1_500)
    await redisServer.kill()
    await sleep(3_000)
    await redisServer.restart() // empty: this Redis keeps nothing on disk
    await sleep(2_500)
    buying = false
    await lanes

    // Refusals while Redis was away or being rebuilt were 503s, never 500.
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0)
    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([])
    expect(bought).toBeGreaterThan(0)

    const ready = await fetch(`${url}/readyz`)
    expect(ready.status).toBe(200)
    const readiness = (await ready.json()) as { status: string }
    expect(readiness.status).toBe('ready')

    // Every open order Postgres knows is back in Redis and can move on.
    const sql = createSql(db.url, { max: 2 })
    const redis = createRedis(redisServer.url, () => {})
    await redis.connect()
    try {
      const keys = storeKeys(prefix)
      await waitForEmptyBacklog(redis, keys.events)
      const open = await sql<{ id: string; status: string; payment_id: string | null }[]>`
        select o.id, o.status, p.id as payment_id
        from orders o left join payments p on p.order_id = o.id
        where o.status in ('draft', 'checkout', 'paid') order by o.id
      `
      // A 404 is only for an order this Redis, which kept nothing on disk, lost before the
      // worker wrote it (the trade-off of running without AOF): never for one Postgres has.
      if (notFound.length > 0) {
        const known = await sql`select id from orders where id in ${sql(notFound)}`
        expect(known).toEqual([])
      }
      const byStatus = (status: string) => open.filter((o) => o.status === status)
      expect(byStatus('draft').length).toBeGreaterThan(0)
      expect(byStatus('checkout').length).toBeGreaterThan(0)
      expect(byStatus('paid').length).toBeGreaterThan(0)
      for (const order of open) {
        expect(await redis.hget(keys.order(order.id), 'status')).toBe(order.status)
      }
      const [draft, draft2] = byStatus('draft')
      const [held, held2] = byStatus('checkout')
      const [paid, paid2] = byStatus('paid')
      expect([200, 409]).toContain((await store.checkout(draft?.id as string)).status)
      expect((await store.cancel(draft2?.id ?? (draft?.id as string))).status).toBe(200)
      expect((await store.pay(held?.id as string)).status).toBe(200)
      expect((await store.cancel(held2?.id ?? (held?.id as string))).status).toBe(held2 ? 200 : 409)
      expect((await admin.confirm(paid?.payment_id as string)).status).toBe(200)
      if (paid2) expect((await admin.reject(paid2.payment_id as string)).status).toBe(200)

      await waitForEmptyBacklog(redis, keys.events)
      const check = await admin.call('GET', '/api/v1/check-product-quantity')
      expect(check.status).toBe(200)
      const products = check.body.data.products as { product_id: number; status: string }[]
      expect(products.map((p) => p.status)).toEqual(['in_sync', 'in_sync'])

      // Nothing oversold: the live counters add up to what the ledger says was stocked.
      for (const stock of await derivedStock(sql)) {
        const [available, reserved, sold] = (
          await redis.hmget(keys.product(stock.productId), 'available', 'reserved', 'sold')
        ).map(Number)
        expect(
          Math.min(available as number, reserved as number, sold as number),
        ).toBeGreaterThanOrEqual(0)
        expect((available as number) + (reserved as number) + (sold as number)).toBe(stock.total)
      }
      expect(await redis.xlen(keys.deadLetters)).toBe(0)
      expect(service.output().stderr).not.toContain('Unhandled error event')
    } finally {
      redis.disconnect()
      await sql.end()
    }
  }, 90_000)
})

async function waitForEmptyBacklog(redis: ReturnType<typeof createRedis>, events: string) {
  const deadline = Date.now() + 20_000
  while ((await redis.xlen(events)) > 0 && Date.now() < deadline) await sleep(50)
  expect(await redis.xlen(events)).toBe(0)
}

describe('a rebuild racing a slow write-behind batch', () => {
  it('waits for the batch in flight, so Redis and Postgres agree on the order and its units', async () => {
    const server = await startRedisServer({ persistence: 'none' })
    const ctx = await createTestContext({ REDIS_URL: server.url })
    const locker = createSql(ctx.databaseUrl, { max: 1 })
    try {
      const store = api(ctx)
      const product = await store.addProduct({ name: 'Fenced', quantity: 10, price: 1 })
      const productId = product.body.data.id as number
      const created = await store.createOrder({
        products: [{ product_id: productId, quantity: 10 }],
      })
      const orderId = created.body.data.id as string
      await ctx.drain()
      expect((await store.checkout(orderId)).status).toBe(200)

      // Postgres slowed: a lock holds every write to orders (reads still go through).
      let release = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let locked = () => {}
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve
      })
      const held = locker.begin(async (tx) => {
        await tx`lock table orders in exclusive mode`
        locked()
        await released
      })
      await isLocked
      // The worker reads the checkout and its transaction waits on the lock.
      const batch = ctx.drain().catch((err: Error) => err)
      await sleep(300)

      // Redis dies and comes back empty; the rebuild starts while the batch is in flight.
      await server.kill()
      await server.restart()
      await untilRedisAnswers(ctx.deps.redis)
      const rebuild = ensureHydrated(ctx.deps)
      await sleep(500)
      release()
      await held
      await batch
      await rebuild

      const [row] = await ctx.deps.sql<{ status: string }[]>`
        select status from orders where id = ${orderId}
      `
      expect(row?.status).toBe('checkout')
      expect(await ctx.deps.redis.hget(ctx.deps.keys.order(orderId), 'status')).toBe('checkout')
      expect(await stockOf(ctx.deps, productId)).toEqual({ available: 0, reserved: 10, sold: 0 })
      // The same units are not sold twice.
      const again = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
      expect(again.status).toBe(409)
      expect(again.body.error.code).toBe('OUT_OF_STOCK')
      expect((await store.cancel(orderId)).status).toBe(200)
    } finally {
      await locker.end({ timeout: 5 })
      await ctx.close()
      await server.stop()
    }
  }, 60_000)
})
