import { describe, expect, it } from 'vitest'
import { newId } from '../src/ids.js'
import { updateProductScript } from '../src/products/scripts.js'
import { listDeadLetters, replayDeadLetters } from '../src/worker/deadLetters.js'
import { writeBehindWorker } from '../src/worker/writeBehind.js'
import { api } from './helpers/api.js'
import { adminHeaders, createTestContext } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync, stockCheck } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'
import { startTcpProxy } from './helpers/tcpProxy.js'

const { ctx, store } = useStore()

const reconcile = (body: unknown) => store.call('POST', '/api/v1/reconcile', body, adminHeaders)
const readiness = async () => (await store.call('GET', '/readyz')).body

/**
 * An order Postgres refuses for a reason outside the API (here, a constraint an
 * operator added) is an incident: it stays visible everywhere, reconcile will
 * not paper over it, and once the cause is fixed a replay brings it home.
 */
describe('an acknowledged change Postgres refuses', () => {
  it('is a dead letter that stays visible, blocks reconcile, and replays once fixed', async () => {
    const productId = (await store.addProduct({ name: 'Incident', quantity: 10, price: 1 })).body
      .data.id as number
    await ctx.drain()
    await ctx.deps
      .sql`alter table orders add constraint no_mallory check (customer_id <> 'mallory')`

    const order = await store.createOrder({
      products: [{ product_id: productId, quantity: 3 }],
      customer_id: 'mallory',
    })
    expect(order.status).toBe(200)
    expect((await store.checkout(order.body.data.id)).status).toBe(200)
    await ctx.drain()

    // Visible: the dead-letter stream, /readyz, /metrics, and the stock check.
    const letters = await listDeadLetters(ctx.deps)
    expect(letters.map((d) => d.type)).toEqual(['order_created', 'order_checkout'])
    expect(letters[1]).toMatchObject({ product_ids: [productId], order_id: order.body.data.id })
    expect(letters[0]?.error).toMatch(/no_mallory/)
    expect(await readiness()).toMatchObject({
      status: 'degraded',
      write_behind: { dead_letters: 2, dead_letters_dropped: 0 },
    })
    const metrics = await ctx.app.request('/metrics')
    expect(await metrics.text()).toMatch(/^store_dead_letters 2$/m)
    const check = await stockCheck(ctx, `?product_id=${productId}&wait_ms=0`)
    expect(check.body.data.products[0]).toMatchObject({
      status: 'drift',
      reason: expect.stringContaining('could not be written to Postgres'),
      dead_letters: [
        expect.objectContaining({ type: 'order_created' }),
        expect.objectContaining({ type: 'order_checkout' }),
      ],
    })

    // Reconcile will not set Redis to Postgres's numbers while the order is unaccounted for.
    const before = await storeSnapshot(ctx.deps)
    const refused = await reconcile({ dry_run: false })
    expect(refused.status).toBe(200)
    expect(refused.body.data.repairs).toEqual([
      expect.objectContaining({
        product_id: productId,
        applied: false,
        reason: expect.stringContaining('dead letter'),
      }),
    ])
    expect(await storeSnapshot(ctx.deps)).toEqual(before)

    // Cancelling the order returns exactly its units: nothing is created from nothing.
    expect((await store.cancel(order.body.data.id)).status).toBe(200)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 10, reserved: 0, sold: 0 })

    // The cause is fixed; the replay applies every event once, in order.
    await ctx.deps.sql`alter table orders drop constraint no_mallory`
    expect(await replayDeadLetters(ctx.deps)).toHaveLength(2)
    await ctx.drain()
    expect(await readiness()).toMatchObject({ status: 'ready', write_behind: { dead_letters: 0 } })
    const [row] = await ctx.deps.sql<{ status: string }[]>`
      select status from orders where id = ${order.body.data.id}
    `
    expect(row?.status).toBe('cancelled')
    await expectAllInSync(ctx)
  })

  it('reconcile names the orders Redis holds and Postgres lost, and leaves the product alone', async () => {
    const productId = (await store.addProduct({ name: 'Lost', quantity: 10, price: 1 })).body.data
      .id as number
    await ctx.drain()
    await ctx.deps.sql`alter table orders add constraint no_trudy check (customer_id <> 'trudy')`
    const order = await store.createOrder({
      products: [{ product_id: productId, quantity: 4 }],
      customer_id: 'trudy',
    })
    await store.checkout(order.body.data.id)
    await ctx.drain()
    // The worst case: the dead letters themselves are gone (say, dropped when the stream was full).
    await ctx.deps.redis.del(ctx.deps.keys.deadLetters)
    await ctx.deps.sql`alter table orders drop constraint no_trudy`

    const before = await storeSnapshot(ctx.deps)
    const refused = await reconcile({ dry_run: false, product_id: productId })
    expect(refused.body.data.repairs).toEqual([
      {
        product_id: productId,
        from: { available: 6, reserved: 4, sold: 0 },
        to: { available: 10, reserved: 0, sold: 0 },
        applied: false,
        reason: expect.stringContaining('Redis holds orders'),
        orders: [order.body.data.id],
      },
    ])
    expect(await storeSnapshot(ctx.deps)).toEqual(before)

    // Events carry whole snapshots: the order's next change brings it to Postgres in full.
    expect((await store.cancel(order.body.data.id)).status).toBe(200)
    await expectAllInSync(ctx)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 10, reserved: 0, sold: 0 })
  })

  it('a full dead-letter stream counts what it drops and alarms, never silently', async () => {
    const small = await createTestContext({ DEAD_LETTER_MAX: '1' })
    try {
      const { redis, keys } = small.deps
      for (const n of [1, 2, 3]) {
        await redis.xadd(keys.events, '*', 'type', 'order_created', 'at', '1', 'order', `{bad ${n}`)
      }
      await writeBehindWorker(small.deps, { consumer: 'small' }).drain()
      expect(await redis.xlen(keys.deadLetters)).toBe(1)
      const ready = await small.app.request('/readyz')
      expect(await ready.json()).toMatchObject({
        status: 'degraded',
        write_behind: { dead_letters: 1, dead_letters_dropped: 2 },
      })
      const metrics = await (await small.app.request('/metrics')).text()
      expect(metrics).toMatch(/^store_dead_letters_dropped 2$/m)
    } finally {
      await small.close()
    }
  })
})

describe('sale instants', () => {
  it('are checked in UTC, whatever the server time zone: 9999-12-31T23:00-05:00 is year 10000', async () => {
    const zone = process.env.TZ
    process.env.TZ = 'America/New_York'
    try {
      const before = await storeSnapshot(ctx.deps)
      const res = await store.addProduct({
        name: 'Far future',
        quantity: 1,
        price: 1,
        sale_ends_at: '9999-12-31T23:00:00-05:00',
      })
      expect(res.status).toBe(422)
      expect(res.body.error.details).toEqual([
        { field: 'sale_ends_at', message: expect.stringContaining('9999') },
      ])
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
      const last = await store.addProduct({
        name: 'Last instant',
        quantity: 1,
        price: 1,
        sale_ends_at: '9999-12-31T18:59:59-05:00',
      })
      expect(last.status).toBe(200)
    } finally {
      if (zone === undefined) delete process.env.TZ
      else process.env.TZ = zone
    }
  })

  it('a product change Postgres refuses is a dead letter that names its product', async () => {
    const id = (await store.addProduct({ name: 'Refused change', quantity: 3, price: 1 })).body.data
      .id as number
    await ctx.drain()
    // Past the API's checks (as an older version let through): an instant Postgres cannot hold.
    const reply = await updateProductScript(ctx.deps, newId(), id, {
      sale_ends: String(Date.UTC(10_000, 0, 1)),
    })
    expect(reply.code).toBe('OK')
    await ctx.drain()
    const letters = await listDeadLetters(ctx.deps)
    expect(letters).toEqual([
      expect.objectContaining({ type: 'product_updated', product_ids: [id] }),
    ])
    const check = await stockCheck(ctx, `?product_id=${id}&wait_ms=0`)
    expect(check.body.data.products[0]).toMatchObject({ status: 'drift' })
    // Put it right: a change Postgres can hold, and the incident closed.
    const fixed = await store.call(
      'PATCH',
      `/api/v1/products/${id}`,
      { sale_ends_at: null },
      adminHeaders,
    )
    expect(fixed.status).toBe(200)
    await ctx.drain()
    await ctx.deps.redis.del(ctx.deps.keys.deadLetters)
  })
})

describe('memory an anonymous client can take', () => {
  it('a 100-line draft, and its idempotency entry, stay within the documented bounds', async () => {
    const ids: number[] = []
    for (let i = 0; i < 100; i++) {
      const name = `${'N'.repeat(190)} ${i}`
      ids.push(
        (await store.addProduct({ name, quantity: 10_000, price: 9_999_999.99 })).body.data.id,
      )
    }
    const order = await store.createOrder(
      {
        products: ids.map((product_id) => ({ product_id, quantity: 10_000 })),
        customer_id: 'c'.repeat(128),
      },
      { 'idempotency-key': 'k'.repeat(255) },
    )
    expect(order.status).toBe(200)
    const { redis, keys } = ctx.deps
    const draftBytes = Number(
      await redis.call('MEMORY', 'USAGE', keys.order(order.body.data.id), 'SAMPLES', '0'),
    )
    const idemKeys = await redis.keys(`{${keys.prefix}}:idempotency:*`)
    const idemBytes = Math.max(
      ...(await Promise.all(
        idemKeys.map(async (k) => Number(await redis.call('MEMORY', 'USAGE', k))),
      )),
    )
    // docs/operations.md's table quotes these bounds.
    expect(draftBytes).toBeLessThanOrEqual(3_072)
    expect(idemBytes).toBeLessThanOrEqual(256)
    expect((await store.cancel(order.body.data.id)).status).toBe(200)
    await expectAllInSync(ctx)
  })

  it('drafts stop at MAX_DRAFTS with a 503, and nothing changes', async () => {
    const capped = await createTestContext({ MAX_DRAFTS: '2' })
    try {
      const cappedStore = api(capped)
      const productId = (await cappedStore.addProduct({ name: 'Capped', quantity: 9, price: 1 }))
        .body.data.id as number
      const line = { products: [{ product_id: productId, quantity: 1 }] }
      expect((await cappedStore.createOrder(line)).status).toBe(200)
      const second = await cappedStore.createOrder(line)
      const before = await storeSnapshot(capped.deps)
      const refused = await cappedStore.createOrder(line)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(refused.body.error.details).toEqual({ reason: 'drafts', drafts: 2 })
      expect(await storeSnapshot(capped.deps)).toEqual(before)
      // A draft checked out no longer counts.
      expect((await cappedStore.checkout(second.body.data.id)).status).toBe(200)
      expect((await cappedStore.createOrder(line)).status).toBe(200)
      await expectAllInSync(capped)
    } finally {
      await capped.close()
    }
  })
})

describe('reads while Postgres is down', () => {
  it('the catalogue and known orders still answer; an unknown id is a cached 404 or a 503', async () => {
    const proxy = await startTcpProxy(5432)
    const cut = await createTestContext({}, (url) => {
      const u = new URL(url)
      u.port = String(proxy.port)
      return u.toString()
    })
    try {
      const cutStore = api(cut)
      const productId = (await cutStore.addProduct({ name: 'Offline', quantity: 5, price: 2 })).body
        .data.id as number
      const order = await cutStore.createOrder({
        products: [{ product_id: productId, quantity: 1 }],
      })
      const seen = '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10'
      const unseen = '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a11'
      expect((await cutStore.getOrder(seen)).status).toBe(404)

      await proxy.cut()
      const products = await cutStore.listProducts()
      expect(products.status).toBe(200)
      expect(products.body.data).toEqual([
        expect.objectContaining({
          id: productId,
          name: 'Offline',
          stock: { available: 5, reserved: 0, sold: 0 },
        }),
      ])
      expect((await cutStore.getOrder(order.body.data.id)).status).toBe(200)
      expect((await cutStore.checkout(order.body.data.id)).status).toBe(200)
      // Remembered as missing: no Postgres query needed (none could succeed now).
      const cached = await cutStore.getOrder(seen)
      expect(cached.status).toBe(404)
      const unknown = await cutStore.getOrder(unseen)
      expect(unknown.status).toBe(503)
      expect(unknown.headers.get('retry-after')).toBe('1')
      expect(unknown.body.error.details).toEqual({ reason: 'postgres' })
      expect((await cutStore.getPayment(unseen)).status).toBe(503)

      await proxy.restore()
      await expectAllInSync(cut)
    } finally {
      await cut.close()
      await proxy.close()
    }
  })
})
