import { afterEach, describe, expect, it } from 'vitest'
import { startRedisServer } from '../scripts/lib/topology/redisServer.js'
import { ensureHydrated } from '../src/recovery/hydrate.js'
import { derivedStock } from '../src/stock/derived.js'
import { writeBehindStatus } from '../src/worker/status.js'
import { writeBehindWorker } from '../src/worker/writeBehind.js'
import { api } from './helpers/api.js'
import { cleanupList } from './helpers/cleanups.js'
import { ADMIN_TOKEN, createTestContext, deleteKeys, type TestContext } from './helpers/context.js'
import { startService } from './helpers/processes.js'
import { stockOf } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { startTcpProxy } from './helpers/tcpProxy.js'
import { type Acknowledged, runTraffic } from './helpers/traffic.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const cleanups = cleanupList()
afterEach(async () => {
  await cleanups.run()
})

async function newProduct(ctx: TestContext, quantity: number) {
  const res = await api(ctx).addProduct({ name: 'Fault', quantity, price: 12.5 })
  expect(res.status).toBe(200)
  return res.body.data.id as number
}

/** Postgres holds every acknowledged order exactly once, in its final status. */
async function expectPersisted(ctx: TestContext, acknowledged: Acknowledged) {
  const rows = await ctx.deps.sql<{ id: string; status: string; lines: number }[]>`
    select o.id, o.status, (select count(*)::int from order_details d where d.order_id = o.id) as lines
    from orders o
  `
  const persisted = new Map(rows.map((r) => [r.id, r]))
  for (const [orderId, status] of acknowledged) {
    const live = await ctx.deps.redis.hget(ctx.deps.keys.order(orderId), 'status')
    const row = persisted.get(orderId)
    expect(row, `order ${orderId} (${status}) is in Postgres`).toBeDefined()
    expect(row?.status).toBe(live ?? status)
    expect(row?.lines).toBe(1)
  }
  const ids = rows.map((r) => r.id)
  expect(new Set(ids).size).toBe(ids.length)
}

/** The stock derived from Postgres alone equals the live Redis counters. */
async function expectStockAgrees(ctx: TestContext, productId: number) {
  const [derived] = await derivedStock(ctx.deps.sql, [productId])
  const live = await stockOf(ctx.deps, productId)
  expect(live).toEqual({
    available: derived?.available,
    reserved: derived?.reserved,
    sold: derived?.sold,
  })
  expect(live.available + live.reserved + live.sold).toBe(derived?.total)
}

describe('worker killed', () => {
  it('kill -9 the worker process 10+ times while 5,000+ orders flow: nothing lost, nothing twice', async () => {
    const ctx = await createTestContext({ WORKER_CLAIM_IDLE_MS: '300' })
    cleanups.push(() => ctx.close())
    const productId = await newProduct(ctx, 1_000_000)
    const env = {
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: ctx.deps.config.REDIS_URL,
      KEY_PREFIX: ctx.prefix,
      ADMIN_TOKEN,
      WORKER_CLAIM_IDLE_MS: '300',
      WORKER_BATCH_SIZE: '200',
      WORKER_BLOCK_MS: '100',
      LOG_LEVEL: 'info',
    }

    let kills = 0
    let persistedWhileKilling = 0
    let flowing = true
    const traffic = runTraffic(api(ctx), productId, {
      lanes: 10,
      paceMs: 5,
      maxOrders: 6000,
      keepGoing: () => true,
    }).finally(() => {
      flowing = false
    })
    while (kills < 10 || flowing) {
      const worker = startService(env, ['--role=worker'])
      await worker.printed('write-behind worker started')
      await sleep(100 + Math.random() * 500)
      worker.child.kill('SIGKILL')
      await worker.exited
      kills += 1
    }
    const acknowledged = await traffic
    persistedWhileKilling = (await ctx.deps.sql`select count(*)::int as n from orders`)[0]?.n
    expect(acknowledged.size).toBeGreaterThanOrEqual(5000)
    expect(persistedWhileKilling).toBeGreaterThan(0)

    await ctx.drain()
    expect((await writeBehindStatus(ctx.deps)).dead_letters).toBe(0)
    await expectPersisted(ctx, acknowledged)
    await expectStockAgrees(ctx, productId)
    await expectAllInSync(ctx)
  }, 120_000)
})

describe('Postgres gone', () => {
  it('keeps taking orders for 10+ seconds without Postgres, then drains the backlog', async () => {
    const proxy = await startTcpProxy(5432)
    cleanups.push(() => proxy.close())
    const ctx = await createTestContext({}, (url) => {
      const u = new URL(url)
      u.port = String(proxy.port)
      return u.toString()
    })
    cleanups.push(() => ctx.close())
    const store = api(ctx)
    const productId = await newProduct(ctx, 100_000)
    const worker = writeBehindWorker(ctx.deps, { blockMs: 100 })
    await worker.start()
    cleanups.push(() => worker.stop())

    await proxy.cut()
    const outageEnds = Date.now() + 10_500
    const acknowledged = await runTraffic(store, productId, {
      lanes: 4,
      paceMs: 20,
      maxOrders: 3000,
      keepGoing: () => Date.now() < outageEnds,
    })
    expect(acknowledged.size).toBeGreaterThan(100)
    const created = [...acknowledged.values()]
    expect(created.filter((s) => s === 'payment_confirmed').length).toBeGreaterThan(10)

    // Sales go on: the instance stays in service, degraded, naming the cause.
    const ready = await store.call('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: 'degraded', reasons: ['postgres'] })
    expect(ready.body.checks.postgres.ok).toBe(false)
    expect(ready.body.write_behind.backlog).toBeGreaterThan(0)
    expect(ready.body.write_behind.lag_ms).toBeGreaterThan(5000)

    await proxy.restore()
    const deadline = Date.now() + 30_000
    while ((await writeBehindStatus(ctx.deps)).backlog > 0 && Date.now() < deadline)
      await sleep(100)
    expect((await writeBehindStatus(ctx.deps)).backlog).toBe(0)
    await expectPersisted(ctx, acknowledged)
    await expectStockAgrees(ctx, productId)
    await expectAllInSync(ctx)
    expect((await store.call('GET', '/readyz')).status).toBe(200)
  }, 90_000)
})

describe('Redis killed', () => {
  it('with appendfsync always, every acknowledged order survives kill -9 and reaches Postgres', async () => {
    const redisServer = await startRedisServer()
    cleanups.push(() => redisServer.stop())
    const ctx = await createTestContext({ REDIS_URL: redisServer.url })
    cleanups.push(() => ctx.close())
    const productId = await newProduct(ctx, 100_000)

    let stop = false
    const traffic = runTraffic(api(ctx), productId, {
      lanes: 8,
      paceMs: 2,
      maxOrders: 20_000,
      keepGoing: () => !stop,
    })
    await sleep(1500)
    await redisServer.kill()
    await sleep(300)
    await redisServer.restart()
    await sleep(1000)
    stop = true
    const acknowledged = await traffic
    expect(acknowledged.size).toBeGreaterThan(200)

    for (const [orderId, status] of acknowledged) {
      const live = await ctx.deps.redis.hget(ctx.deps.keys.order(orderId), 'status')
      const reachable: Record<string, string[]> = {
        draft: ['draft', 'checkout', 'cancelled'],
        checkout: ['checkout', 'paid', 'cancelled'],
        paid: ['paid', 'payment_confirmed', 'payment_rejected'],
      }
      expect(reachable[status] ?? [status], `order ${orderId}`).toContain(live)
    }
    await ctx.drain()
    await expectPersisted(ctx, acknowledged)
    await expectStockAgrees(ctx, productId)
    await expectAllInSync(ctx)
  }, 90_000)
})

describe('Redis emptied', () => {
  it('hydration restores counters, reservations and limits from Postgres, once, and sales still never oversell', async () => {
    const ctx = await createTestContext()
    cleanups.push(() => ctx.close())
    const store = api(ctx)
    const limited = (
      await store.addProduct({ name: 'Limited', quantity: 50, price: 5, max_per_customer: 3 })
    ).body.data.id as number
    const productId = await newProduct(ctx, 300)
    const acknowledged = await runTraffic(store, productId, {
      lanes: 4,
      paceMs: 0,
      maxOrders: 120,
      keepGoing: () => true,
    })
    const limitedOrder = await store.createOrder({
      products: [{ product_id: limited, quantity: 2 }],
      customer_id: 'ann',
    })
    await store.checkout(limitedOrder.body.data.id)
    await ctx.drain()

    const before = {
      stock: await stockOf(ctx.deps, productId),
      limited: await stockOf(ctx.deps, limited),
      reservations: await ctx.deps.redis.zrange(
        ctx.deps.keys.reservations,
        '0',
        '-1',
        'WITHSCORES',
      ),
      units: await ctx.deps.redis.hgetall(ctx.deps.keys.customerUnits(limited)),
    }
    expect(before.stock.reserved).toBeGreaterThan(0)

    await deleteKeys(ctx.deps)
    const runs = await Promise.all([
      ensureHydrated(ctx.deps),
      ensureHydrated(ctx.deps),
      ensureHydrated(ctx.deps),
    ])
    expect(runs.filter((rebuilt) => rebuilt.length > 0)).toHaveLength(1)

    expect(await stockOf(ctx.deps, productId)).toEqual(before.stock)
    expect(await stockOf(ctx.deps, limited)).toEqual(before.limited)
    expect(
      await ctx.deps.redis.zrange(ctx.deps.keys.reservations, '0', '-1', 'WITHSCORES'),
    ).toEqual(before.reservations)
    expect(await ctx.deps.redis.hgetall(ctx.deps.keys.customerUnits(limited))).toEqual(before.units)
    await expectStockAgrees(ctx, productId)

    // Open orders carry on where they were.
    const open = [...acknowledged].find(([, status]) => status === 'checkout')?.[0] as string
    const paid = await store.pay(open)
    expect(paid.status).toBe(200)
    expect((await store.confirm(paid.body.data.payment_id)).status).toBe(200)
    const more = await store.createOrder({
      products: [{ product_id: limited, quantity: 2 }],
      customer_id: 'ann',
    })
    expect((await store.checkout(more.body.data.id)).body.error.code).toBe('LIMIT_EXCEEDED')

    // And a new rush sells exactly what is left.
    const left = (await stockOf(ctx.deps, productId)).available
    const orders = await Promise.all(
      Array.from({ length: left + 50 }, () =>
        store.createOrder({ products: [{ product_id: productId, quantity: 1 }] }),
      ),
    )
    const results = await Promise.all(orders.map((o) => store.checkout(o.body.data.id)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(left)
    expect((await stockOf(ctx.deps, productId)).available).toBe(0)
    await expectAllInSync(ctx)
    await expectStockAgrees(ctx, productId)

    // A Redis that kept its data but lacks the marker (an upgrade) is rebuilt over, and the
    // rebuild overwrites nothing Redis holds.
    await ctx.deps.redis.del(ctx.deps.keys.hydrated)
    const live = await stockOf(ctx.deps, productId)
    expect(await ensureHydrated(ctx.deps)).toEqual([0]) // partition 0 rebuilt
    expect(await ctx.deps.redis.exists(ctx.deps.keys.hydrated)).toBe(1)
    expect(await stockOf(ctx.deps, productId)).toEqual(live)
  }, 60_000)
})
