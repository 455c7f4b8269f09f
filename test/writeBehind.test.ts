import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { settlePaymentScript } from '../src/payments/scripts.js'
import { restockProductScript } from '../src/products/scripts.js'
import { parseEvent } from '../src/worker/events.js'
import { applyEvents, StreamBehindError, streamPosition } from '../src/worker/sink.js'
import { writeBehindStatus } from '../src/worker/status.js'
import { CONSUMER_GROUP, writeBehindWorker } from '../src/worker/writeBehind.js'
import { api } from './helpers/api.js'
import { createTestContext, type TestContext } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync, stockCheck } from './helpers/stockCheck.js'
import { runTraffic } from './helpers/traffic.js'

let ctx: TestContext
let store: ReturnType<typeof api>
/** The fence epoch of this store's Redis (its readiness marker). */
const epoch = async () => Number(await ctx.deps.redis.get(ctx.deps.keys.hydrated))

beforeAll(async () => {
  ctx = await createTestContext()
  store = api(ctx)
})
afterAll(() => ctx.close())

async function orderSnapshot(orderId: string) {
  const [row] = await ctx.deps.sql`
    select o.status, o.version, (select count(*)::int from order_details d where d.order_id = o.id) as lines,
           (select status from payments p where p.order_id = o.id) as payment
    from orders o where o.id = ${orderId}
  `
  return row
}

/** The raw stream entries, parsed, without consuming them. */
async function streamEvents() {
  const entries = await ctx.deps.redis.xrange(ctx.deps.keys.events, '-', '+')
  return entries.map(([id, fields]) => parseEvent(id, fields))
}

describe('the Postgres sink', () => {
  it('applying the same events twice, or in reverse, ends in the latest state', async () => {
    await ctx.drain()
    const { body } = await store.addProduct({ name: 'Sink', quantity: 10, price: 3 })
    const created = await store.createOrder({
      products: [{ product_id: body.data.id, quantity: 2 }],
    })
    const orderId = created.body.data.id as string
    await store.checkout(orderId)
    const payment = await store.pay(orderId)
    await store.confirm(payment.body.data.payment_id)
    const events = await streamEvents()
    expect(events.map((e) => e.type)).toEqual([
      'order_created',
      'order_checkout',
      'order_paid',
      'payment_confirmed',
    ])

    await applyEvents(ctx.deps.sql, [...events].reverse(), await epoch())
    const latest = await orderSnapshot(orderId)
    expect(latest).toEqual({
      status: 'payment_confirmed',
      version: 4,
      lines: 1,
      payment: 'confirmed',
    })

    for (const event of events) await applyEvents(ctx.deps.sql, [event], await epoch())
    await applyEvents(ctx.deps.sql, events, await epoch())
    expect(await orderSnapshot(orderId)).toEqual(latest)
    const [product] = await ctx.deps.sql`select quantity from products where id = ${body.data.id}`
    expect(product?.quantity).toBe(8)
    await ctx.drain()
  })
})

describe('reads of finished orders', () => {
  it('expire from Redis after the worker persisted them, then come from Postgres unchanged', async () => {
    const { body } = await store.addProduct({ name: 'Archive', quantity: 5, price: 7.5 })
    const created = await store.createOrder({
      products: [{ product_id: body.data.id, quantity: 2 }],
    })
    const orderId = created.body.data.id as string
    await store.checkout(orderId)
    const payment = await store.pay(orderId)
    const paymentId = payment.body.data.payment_id as string
    await store.confirm(paymentId)
    const hotOrder = (await store.getOrder(orderId)).body
    const hotPayment = (await store.getPayment(paymentId)).body
    expect(await ctx.deps.redis.pttl(ctx.deps.keys.order(orderId))).toBe(-1)

    await ctx.drain()
    const ttl = await ctx.deps.redis.pttl(ctx.deps.keys.order(orderId))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(ctx.deps.config.FINISHED_ORDER_TTL_SECONDS * 1000)
    expect(await ctx.deps.redis.pttl(ctx.deps.keys.payment(paymentId))).toBeGreaterThan(0)

    await ctx.deps.redis.del(ctx.deps.keys.order(orderId), ctx.deps.keys.payment(paymentId))
    expect((await store.getOrder(orderId)).body).toEqual(hotOrder)
    expect((await store.getPayment(paymentId)).body).toEqual(hotPayment)
    expect((await store.confirm(paymentId)).body.error).toMatchObject({
      code: 'INVALID_STATE',
      details: { status: 'confirmed' },
    })
    expect((await store.checkout(orderId)).body.error).toMatchObject({ code: 'INVALID_STATE' })
  })
})

describe('several workers at once', () => {
  it('three workers draining the same stream while orders flow write each order once, in sync', async () => {
    await ctx.drain()
    const { body } = await store.addProduct({ name: 'Many workers', quantity: 10_000, price: 2 })
    // Not exclusive: all three write the one partition at once, as a worker that lost its
    // lease mid-batch does beside the one that took it over.
    const workers = ['w1', 'w2', 'w3'].map((consumer) =>
      writeBehindWorker(ctx.deps, { consumer, batchSize: 20, blockMs: 50, exclusive: false }),
    )
    for (const worker of workers) await worker.start()
    const acknowledged = await runTraffic(store, body.data.id, {
      lanes: 6,
      paceMs: 0,
      maxOrders: 600,
      keepGoing: () => true,
    })
    for (const worker of workers) await worker.stop()
    await expectAllInSync(ctx)
    const [row] = await ctx.deps.sql`
      select count(*)::int as orders, count(distinct o.id)::int as distinct_orders
      from orders o join order_details d on d.order_id = o.id where d.product_id = ${body.data.id}
    `
    expect(row).toEqual({ orders: acknowledged.size, distinct_orders: acknowledged.size })
    expect((await writeBehindStatus(ctx.deps)).dead_letters).toBe(0)
  })

  it('a consumer that stops mid-batch keeps its events in the stream until another takes them over', async () => {
    await ctx.drain()
    const { redis, keys } = ctx.deps
    const { body } = await store.addProduct({ name: 'Stopped reader', quantity: 10, price: 2 })
    const orders: string[] = []
    for (let i = 0; i < 3; i++) {
      const created = await store.createOrder({
        products: [{ product_id: body.data.id, quantity: 1 }],
      })
      orders.push(created.body.data.id as string)
    }
    const events = await redis.xrange(keys.events, '-', '+')
    expect(events).toHaveLength(3)
    const patient = writeBehindWorker(ctx.deps, {
      consumer: 'patient',
      batchSize: 1,
      claimIdleMs: 60_000,
    })
    // The first event is written; a consumer reads the second and stops (a crash);
    // the third is written. No acknowledgement removes the stopped read's event.
    expect(await patient.drainOnce()).toBe(1)
    const stopped = await redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'stopped',
      'COUNT',
      1,
      'STREAMS',
      keys.events,
      '>',
    )
    expect(stopped?.[0]?.[1].map(([id]) => id)).toEqual([events[1]?.[0]])
    expect(await patient.drainOnce()).toBe(1)
    // Only the stopped read's event is left: below it trimmed, above it deleted.
    const left = (await redis.xrange(keys.events, '-', '+')).map(([id]) => id)
    expect(left).toEqual([events[1]?.[0]])
    // Taken over, written, and trimmed with everything before it.
    const takeover = writeBehindWorker(ctx.deps, { consumer: 'takeover', claimIdleMs: 0 })
    expect(await takeover.drain()).toBe(1)
    expect(await redis.xlen(keys.events)).toBe(0)
    const [row] = await ctx.deps
      .sql`select count(*)::int as n from orders where id = any(${orders})`
    expect(row?.n).toBe(3)
  })
})

describe('workers sharing the lanes', () => {
  it("share the partitions one writer each, and a survivor takes over a stopped worker's lanes", async () => {
    const shared = await createTestContext({ PARTITIONS: '4' })
    const { redis, keys } = shared.deps
    const holders = () => Promise.all(keys.allPartitions.map((part) => redis.get(part.laneLease)))
    const workers = ['a', 'b'].map((consumer) =>
      writeBehindWorker(shared.deps, { consumer, leaseMs: 300, blockMs: 50 }),
    )
    const [a, b] = workers as [(typeof workers)[0], (typeof workers)[0]]
    try {
      const sharedStore = api(shared)
      const products: number[] = []
      for (let i = 0; i < 4; i++) {
        const { body } = await sharedStore.addProduct({
          name: `Lane ${i}`,
          quantity: 100,
          price: 1,
        })
        products.push(body.data.id)
      }
      await a.start()
      await b.start()
      // Two each, and each partition's lease names the one worker whose lane runs.
      await expect
        .poll(() => [a.lanes().length, b.lanes().length], { timeout: 5_000, interval: 20 })
        .toEqual([2, 2])
      const byLease = await holders()
      for (const part of keys.allPartitions) {
        const runsIn = a.lanes().includes(part.index) ? 'a' : 'b'
        expect(byLease[part.index], `partition ${part.index}`).toBe(runsIn)
      }
      const orders = async () => {
        for (const productId of products) {
          const created = await sharedStore.createOrder({
            products: [{ product_id: productId, quantity: 1 }],
          })
          expect(created.status).toBe(200)
          expect((await sharedStore.checkout(created.body.data.id)).status).toBe(200)
        }
      }
      await orders()
      await expect.poll(() => writeBehindStatus(shared.deps).then((s) => s.backlog)).toBe(0)

      // a stops: its lanes are b's within a lease or so, and b writes every partition.
      await a.stop()
      await expect.poll(() => b.lanes(), { timeout: 5_000, interval: 20 }).toEqual([0, 1, 2, 3])
      expect(await holders()).toEqual(['b', 'b', 'b', 'b'])
      await orders()
      await expect.poll(() => writeBehindStatus(shared.deps).then((s) => s.backlog)).toBe(0)
      await b.stop()
      expect(await holders()).toEqual([null, null, null, null])
      await expectAllInSync(shared)
    } finally {
      for (const worker of workers) await worker.stop()
      await shared.close()
    }
  })
  it("takes over a crashed worker's lanes once its leases run out", async () => {
    const shared = await createTestContext({ PARTITIONS: '4' })
    const { redis, keys } = shared.deps
    // What a crashed worker leaves behind: its leases on two lanes and its heartbeat.
    for (const p of [0, 1]) await redis.set(keys.partition(p).laneLease, 'crashed', 'PX', 400)
    await redis.zadd(keys.workers, Date.now() + 400, 'crashed')
    const survivor = writeBehindWorker(shared.deps, { consumer: 'survivor', leaseMs: 300 })
    try {
      const sharedStore = api(shared)
      const { body } = await sharedStore.addProduct({ name: 'Orphan lane', quantity: 5, price: 1 })
      expect(keys.productPartition(body.data.id)).toBe(1)
      await survivor.start()
      await expect.poll(() => survivor.lanes(), { timeout: 5_000, interval: 10 }).toEqual([2, 3])
      // An order in the crashed worker's partition waits until its lease runs out, then goes.
      const created = await sharedStore.createOrder({
        products: [{ product_id: body.data.id, quantity: 1 }],
      })
      expect(created.status).toBe(200)
      expect(await redis.xlen(keys.partition(1).events)).toBe(1)
      await expect
        .poll(() => survivor.lanes(), { timeout: 5_000, interval: 10 })
        .toEqual([0, 1, 2, 3])
      await expect.poll(() => redis.xlen(keys.partition(1).events), { timeout: 5_000 }).toBe(0)
    } finally {
      await survivor.stop()
      await shared.close()
    }
  })
})

describe('lingering after a partial batch', () => {
  it('lets the events of the next moment gather into one batch, and still writes them all', async () => {
    await ctx.drain()
    const { body } = await store.addProduct({ name: 'Linger', quantity: 10, price: 2 })
    const order = async () =>
      (await store.createOrder({ products: [{ product_id: body.data.id, quantity: 1 }] })).body.data
        .id as string
    const written = async (ids: string[]) =>
      (await ctx.deps.sql`select count(*)::int as n from orders where id = any(${ids})`)[0]?.n
    const worker = writeBehindWorker(ctx.deps, {
      consumer: 'lingering',
      blockMs: 50,
      lingerMs: 1_000,
    })
    await worker.start()
    try {
      const first = await order()
      await expect.poll(() => written([first]), { timeout: 5_000, interval: 10 }).toBe(1)
      // The first batch held one event, so the worker now waits before reading again.
      const next = [await order(), await order(), await order()]
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await written(next)).toBe(0)
      await expect.poll(() => written(next), { timeout: 5_000, interval: 20 }).toBe(3)
    } finally {
      await worker.stop()
    }
  })
})

describe('the backlog bound', () => {
  it('refuses new orders and checkouts with 503 above MAX_BACKLOG, and takes them again once drained', async () => {
    const bounded = await createTestContext({ MAX_BACKLOG: '5' })
    try {
      const boundedStore = api(bounded)
      const { body } = await boundedStore.addProduct({ name: 'Bounded', quantity: 100, price: 1 })
      const orders = []
      for (let i = 0; i < 5; i++) {
        orders.push(
          (
            await boundedStore.createOrder({
              products: [{ product_id: body.data.id, quantity: 1 }],
            })
          ).body.data.id,
        )
      }
      const before = await storeSnapshot(bounded.deps)
      const refused = await boundedStore.checkout(orders[0])
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(refused.body.error).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        details: { reason: 'backlog', backlog: 5 },
      })
      const another = await boundedStore.createOrder({
        products: [{ product_id: body.data.id, quantity: 1 }],
      })
      expect(another.status).toBe(503)
      expect(another.body.error.details).toEqual({ reason: 'backlog', backlog: 5 })
      expect(await storeSnapshot(bounded.deps)).toEqual(before)

      await bounded.drain()
      expect((await boundedStore.checkout(orders[0])).status).toBe(200)
    } finally {
      await bounded.close()
    }
  })
})

describe('poison events', () => {
  it('go to the dead-letter stream with their error, are counted, and never block the rest', async () => {
    await ctx.drain()
    const { keys, redis } = ctx.deps
    await redis.xadd(keys.events, '*', 'type', 'order_created', 'at', '1', 'order', '{not json')
    await redis.xadd(
      keys.events,
      '*',
      'type',
      'stock_restock',
      'at',
      '1',
      'ledger',
      JSON.stringify({
        id: '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10',
        product_id: '99999',
        kind: 'restock',
        quantity: '1',
      }),
    )
    const { body } = await store.addProduct({ name: 'After poison', quantity: 5, price: 1 })
    const good = await store.createOrder({ products: [{ product_id: body.data.id, quantity: 1 }] })

    await ctx.drain()
    expect(await orderSnapshot(good.body.data.id)).toMatchObject({ status: 'draft' })
    const dead = await redis.xrange(keys.deadLetters, '-', '+')
    expect(dead).toHaveLength(2)
    const errors = dead.map(([, fields]) => fields[fields.indexOf('error') + 1])
    expect(errors[0]).toMatch(/malformed order/)
    expect(errors[1]).toMatch(/foreign key/)
    expect(await writeBehindStatus(ctx.deps)).toEqual({
      backlog: 0,
      lag_ms: 0,
      dead_letters: 2,
      dead_letters_dropped: 0,
    })
    // Hand-made poison has no fix to replay; clear it so the store ends clean.
    await redis.del(keys.deadLetters)
  })
})

describe('a command resent after a lost reply', () => {
  it('answers the same decision again and moves the stock once', async () => {
    const { body } = await store.addProduct({ name: 'Resent', quantity: 10, price: 1 })
    const productId = body.data.id as number
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 3 }] })
    const orderId = created.body.data.id as string
    await store.checkout(orderId)
    const payment = await store.pay(orderId)
    const lines = [{ product_id: productId, quantity: 3, price: 100 }]
    const confirm = () =>
      settlePaymentScript(
        ctx.deps,
        'confirmPayment',
        { id: payment.body.data.payment_id, order_id: orderId },
        lines,
        'request-1',
      )
    expect((await confirm()).code).toBe('OK')
    expect((await confirm()).code).toBe('OK')
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 7, reserved: 0, sold: 3 })
    expect((await store.confirm(payment.body.data.payment_id)).status).toBe(409)

    const restock = () =>
      restockProductScript(
        ctx.deps,
        productId,
        5,
        '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a11',
        1_000_000_000,
      )
    await restock()
    await restock()
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 12, reserved: 0, sold: 3 })
  })
})

describe('a stream that goes backwards', () => {
  it('stops the write-behind, and /readyz and the stock check say so', async () => {
    const local = await createTestContext()
    try {
      const shop = api(local)
      const product = await shop.addProduct({ name: 'Backwards', quantity: 10, price: 1 })
      for (let i = 0; i < 3; i++) {
        const order = await shop.createOrder({
          products: [{ product_id: product.body.data.id, quantity: 1 }],
        })
        expect(order.status).toBe(200)
      }
      await local.drain()
      const { redis, keys, sql } = local.deps
      const seen = await streamPosition(
        sql,
        Number(await local.deps.redis.get(local.deps.keys.hydrated)),
      )
      expect(seen).toBe(3)

      // Redis forgets entries Postgres holds, as a failover with REDIS_REPLICA_ACKS=0 can:
      // its stream starts again below what Postgres has seen.
      await redis.del(keys.events)
      await redis.xgroup('CREATE', keys.events, 'postgres-writers', '0', 'MKSTREAM')
      const after = await shop.createOrder({
        products: [{ product_id: product.body.data.id, quantity: 1 }],
      })
      expect(after.status).toBe(200)
      await expect(local.drain()).rejects.toThrow(StreamBehindError)
      const [row] =
        await sql`select count(*)::int as n from orders where id = ${after.body.data.id}`
      expect(row?.n).toBe(0) // nothing guessed

      // New entries carry Redis's count past what Postgres saw: the stream stays stopped.
      for (let i = 0; i < 4; i++) {
        await shop.createOrder({ products: [{ product_id: product.body.data.id, quantity: 1 }] })
      }
      await expect(local.drain()).rejects.toThrow(StreamBehindError)

      const ready = await shop.call('GET', '/readyz')
      expect(ready.status).toBe(200)
      expect(ready.body.reasons).toContain('stream_behind')
      const check = await stockCheck(local, '?wait_ms=0')
      expect(check.body.data.write_behind.stream_behind).toEqual({
        partition: 0,
        redis_entries: 1,
        postgres_entries: seen,
      })
    } finally {
      // Its store disagrees with Postgres on purpose: closed here, not checked after the test.
      await local.close()
    }
  })
})
