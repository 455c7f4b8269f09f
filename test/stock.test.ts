import { v7 as uuidv7 } from 'uuid'
import { describe, expect, it } from 'vitest'
import { patientDuplicate } from '../src/redis/client.js'
import { restockAdvice } from '../src/stock/advice.js'
import { publishStockReport } from '../src/stock/report.js'
import { adminHeaders, jsonHeaders } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync, stockCheck } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

const { ctx, store, newProduct: addProduct, expectRefused } = useStore()

const newProduct = (quantity: number, extra: Record<string, unknown> = {}) =>
  addProduct(quantity, { price: 10, ...extra })

async function sell(productId: number, quantity: number) {
  const order = await store.createOrder({ products: [{ product_id: productId, quantity }] })
  await store.checkout(order.body.data.id)
  const payment = await store.pay(order.body.data.id)
  await store.confirm(payment.body.data.payment_id)
}

const reconcileCall = (body?: unknown, headers: Record<string, string> = adminHeaders) =>
  store.call('POST', '/api/v1/reconcile', body, headers)

describe('GET /api/v1/check-product-quantity', () => {
  it('reports every product in sync after a sale, in the fixed response shape', async () => {
    const productId = await newProduct(100)
    await sell(productId, 5)
    const held = await store.createOrder({ products: [{ product_id: productId, quantity: 15 }] })
    await store.checkout(held.body.data.id)
    await expectAllInSync(ctx)

    const { status, body } = await stockCheck(ctx, `?product_id=${productId}`)
    expect(status).toBe(200)
    expect(Object.keys(body.data).sort()).toEqual([
      'generated_at',
      'holds',
      'pagination',
      'products',
      'totals',
      'window_days',
      'write_behind',
    ])
    expect(body.data.write_behind).toEqual({ backlog: 0, lag_ms: 0 })
    expect(body.data.holds).toEqual({ overdue: 0, orphaned: [], missing: [] })
    expect(body.data.products).toEqual([
      {
        product_id: productId,
        name: expect.any(String),
        status: 'in_sync',
        available_quantity: 80,
        redis: { available: 80, reserved: 15, sold: 5 },
        database: { available: 80, reserved: 15, sold: 5 },
        drift: { available: 0, reserved: 0, sold: 0 },
        safety_stock: expect.any(Number),
        reorder_point: expect.any(Number),
        restock_quantity: expect.any(Number),
        sales: { avg_daily: expect.any(Number), max_daily: 5 },
      },
    ])
  })

  it('detects drift when a Redis counter is changed behind its back, naming product and counter', async () => {
    const productId = await newProduct(30)
    await ctx.drain()
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'available', 7)
    const { body } = await stockCheck(ctx, `?product_id=${productId}`)
    expect(body.data.products[0]).toMatchObject({
      product_id: productId,
      status: 'drift',
      redis: { available: 37 },
      database: { available: 30 },
      drift: { available: 7, reserved: 0, sold: 0 },
    })
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'available', -7)
  })

  it('reports pending, not drift, while events are not in Postgres yet', async () => {
    const productId = await newProduct(10)
    await ctx.drain()
    const order = await store.createOrder({ products: [{ product_id: productId, quantity: 4 }] })
    await store.checkout(order.body.data.id)
    const { body } = await stockCheck(ctx, `?product_id=${productId}&wait_ms=100`)
    expect(body.data.products[0]).toMatchObject({
      status: 'pending',
      redis: { available: 6, reserved: 4 },
    })
    expect(body.data.write_behind.backlog).toBeGreaterThan(0)

    await ctx.drain()
    expect((await stockCheck(ctx, `?product_id=${productId}`)).body.data.products[0].status).toBe(
      'in_sync',
    )
  })

  it('says drift, with the reason, once the worker has written nothing for STOCK_PENDING_LIMIT_MS', async () => {
    const productId = await newProduct(10)
    await ctx.drain()
    const order = await store.createOrder({ products: [{ product_id: productId, quantity: 2 }] })
    await store.checkout(order.body.data.id)
    const limit = ctx.deps.config.STOCK_PENDING_LIMIT_MS
    ctx.deps.config.STOCK_PENDING_LIMIT_MS = 100
    try {
      await new Promise((resolve) => setTimeout(resolve, 250))
      const { body } = await stockCheck(ctx, `?product_id=${productId}&wait_ms=0`)
      expect(body.data.products[0]).toMatchObject({
        status: 'drift',
        reason: expect.stringContaining('has not written changes for'),
      })
    } finally {
      ctx.deps.config.STOCK_PENDING_LIMIT_MS = limit
    }
    await ctx.drain()
  })

  it('says drift, not pending for ever, when Postgres holds a newer stock version than Redis', async () => {
    const productId = await newProduct(10)
    await ctx.drain()
    // As after a rebuild that read Postgres before a batch landed: Postgres is ahead.
    await ctx.deps
      .sql`update products set stock_version = stock_version + 1 where id = ${productId}`
    const { body } = await stockCheck(ctx, `?product_id=${productId}&wait_ms=200`)
    expect(body.data.products[0]).toMatchObject({
      status: 'drift',
      reason: expect.stringContaining('Redis lost changes that Postgres holds'),
    })
    await ctx.deps
      .sql`update products set stock_version = stock_version - 1 where id = ${productId}`
  })

  it('computes safety stock, reorder point and restock quantity from daily sales', async () => {
    const productId = await newProduct(20, { lead_time: 2, most_lead_time: 4 })
    // Hand-made history: 5, 10 and 3 units confirmed on three different days.
    for (const [daysAgo, units] of [
      [1, 5],
      [2, 10],
      [3, 3],
    ] as const) {
      const id = uuidv7()
      const at = new Date(Date.now() - daysAgo * 86_400_000)
      await ctx.deps.sql`
        insert into orders (id, status, order_date, total_amount, version, updated_date)
        values (${id}, 'payment_confirmed', ${at}, ${units * 10}, 4, ${at})
      `
      await ctx.deps.sql`
        insert into order_details (order_id, product_id, quantity, price, amount)
        values (${id}, ${productId}, ${units}, 10, ${units * 10})
      `
    }
    const { body } = await stockCheck(ctx, `?product_id=${productId}&window_days=10&wait_ms=0`)
    // avg = 18 / 10 = 1.8, max = 10
    // safety = ceil(10 × 4 − 1.8 × 2) = ceil(36.4) = 37; reorder = ceil(1.8 × 2) + 37 = 41; restock = 41 − 20
    expect(body.data.products[0]).toMatchObject({
      safety_stock: 37,
      reorder_point: 41,
      restock_quantity: 21,
      sales: { avg_daily: 1.8, max_daily: 10 },
    })
    expect(body.data.window_days).toBe(10)
    await ctx.deps.sql`delete from order_details where product_id = ${productId}`
  })

  it('lists products with no sales, with zeros', async () => {
    const productId = await newProduct(0)
    const { body } = await stockCheck(ctx, `?product_id=${productId}`)
    expect(body.data.products[0]).toMatchObject({
      safety_stock: 0,
      reorder_point: 0,
      restock_quantity: 0,
      sales: { avg_daily: 0, max_daily: 0 },
    })
  })

  it.each([
    ['an unknown product', '?product_id=987654', 404],
    ['a malformed product', '?product_id=abc', 422],
    ['a zero window', '?window_days=0', 422],
    ['a window over a year', '?window_days=400', 422],
    ['a non-numeric window', '?window_days=week', 422],
  ])('refuses %s', async (_name, query, status) => {
    const { status: got, body } = await stockCheck(ctx, query)
    expect(got).toBe(status)
    expect(body.error.code).toBeTypeOf('string')
  })

  it('needs the admin token', async () => {
    expect((await store.call('GET', '/api/v1/check-product-quantity')).status).toBe(401)
    const wrong = await store.call('GET', '/api/v1/check-product-quantity', undefined, {
      authorization: 'Bearer not-the-admin-token',
    })
    expect(wrong.status).toBe(403)
  })
})

describe('pages, filters and totals of the stock check', () => {
  it('pages what needs attention first: drift, then low stock, then the rest by id', async () => {
    const tag = `page-${Math.random().toString(36).slice(2, 8)}`
    const ids: number[] = []
    for (let i = 0; i < 5; i++) ids.push(await newProduct(10, { name: `${tag} ${i}` }))
    // Product 3 sells out on a day of sales: below its reorder point (lead times 1 and 2).
    await store.call('PATCH', `/api/v1/products/${ids[3]}`, { most_lead_time: 2 }, adminHeaders)
    await sell(ids[3] as number, 10)
    await ctx.drain()
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(ids[4] as number), 'available', 1)
    await publishStockReport(ctx.deps) // the full check: every verdict saved

    const first = await stockCheck(ctx, `?q=${tag}&per_page=2`)
    expect(first.status).toBe(200)
    expect(first.body.data.pagination).toEqual({ page: 1, per_page: 2, total: 5, total_pages: 3 })
    expect(first.body.meta.pagination).toEqual({
      current_page: 1,
      per_page: 2,
      total: 5,
      total_page: 3,
    })
    const order = [first]
    for (const page of [2, 3])
      order.push(await stockCheck(ctx, `?q=${tag}&per_page=2&page=${page}`))
    const seen = order.flatMap((r) =>
      r.body.data.products.map((p: { product_id: number }) => p.product_id),
    )
    expect(seen).toEqual([ids[4], ids[3], ids[0], ids[1], ids[2]])
    expect(first.body.data.products.map((p: { status: string }) => p.status)).toEqual([
      'drift',
      'in_sync',
    ])
    expect(first.body.data.products[1].restock_quantity).toBeGreaterThan(0)

    const drifting = await stockCheck(ctx, `?q=${tag}&status=drift`)
    expect(drifting.body.data.products.map((p: { product_id: number }) => p.product_id)).toEqual([
      ids[4],
    ])
    const low = await stockCheck(ctx, `?q=${tag}&low_stock=true`)
    expect(low.body.data.products.map((p: { product_id: number }) => p.product_id)).toEqual([
      ids[3],
    ])
    expect((await stockCheck(ctx, `?q=${ids[2]}`)).body.data.products[0].product_id).toBe(ids[2])
    expect(first.body.data.totals).toMatchObject({
      drift: 1,
      units: expect.objectContaining({ sold: expect.any(Number) }),
    })
    expect(first.body.data.totals.products).toBeGreaterThanOrEqual(5)
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(ids[4] as number), 'available', -1)
  })

  it('filters on a sale window open now or opening within a day', async () => {
    const tag = `sale-${Math.random().toString(36).slice(2, 8)}`
    const soon = new Date(Date.now() + 3_600_000).toISOString()
    const later = new Date(Date.now() + 3 * 86_400_000).toISOString()
    const open = await newProduct(1, { name: `${tag} open`, sale_ends_at: later })
    const opening = await newProduct(1, { name: `${tag} soon`, sale_starts_at: soon })
    await newProduct(1, { name: `${tag} later`, sale_starts_at: later })
    await newProduct(1, { name: `${tag} none` })
    const { body } = await stockCheck(ctx, `?q=${tag}&on_sale=true`)
    expect(body.data.products.map((p: { product_id: number }) => p.product_id)).toEqual([
      open,
      opening,
    ])
    expect((await stockCheck(ctx, `?q=${tag}&on_sale=false`)).body.data.pagination.total).toBe(2)
  })

  it('takes % and _ in a search literally', async () => {
    const tag = `lit-${Math.random().toString(36).slice(2, 8)}`
    await newProduct(1, { name: `${tag} 100% cotton` })
    await newProduct(1, { name: `${tag} 1000 cotton` })
    const { body } = await stockCheck(ctx, `?q=${encodeURIComponent(`${tag} 100%`)}`)
    expect(body.data.products.map((p: { name: string }) => p.name)).toEqual([`${tag} 100% cotton`])
    const under = await stockCheck(ctx, `?q=${encodeURIComponent(`${tag} 1_0`)}`)
    expect(under.body.data.pagination.total).toBe(0)
  })

  it.each([
    ['per_page=0', 'per_page'],
    ['per_page=201', 'per_page'],
    ['page=0', 'page'],
    ['status=broken', 'status'],
    ['low_stock=yes', 'low_stock'],
    ['q=%00', 'q'],
    ['q=%E2%80%AEevil', 'q'],
    [`q=${'x'.repeat(201)}`, 'q'],
  ])('refuses %s with 422 naming %s', async (query, field) => {
    const res = await stockCheck(ctx, `?${query}`)
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('VALIDATION_FAILED')
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field)
  })
})

describe('POST /api/v1/reconcile', () => {
  it('a dry run reports the repair and changes nothing; a real run repairs and records it', async () => {
    const productId = await newProduct(40)
    await sell(productId, 2)
    await ctx.drain()
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'sold', 3)
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'available', -3)

    const before = await storeSnapshot(ctx.deps)
    const dry = await reconcileCall({ product_id: productId })
    expect(dry.status).toBe(200)
    expect(dry.body.data).toEqual({
      dry_run: true,
      checked: 1,
      repairs: [
        {
          product_id: productId,
          from: { available: 35, reserved: 0, sold: 5 },
          to: { available: 38, reserved: 0, sold: 2 },
          applied: false,
        },
      ],
    })
    expect(await storeSnapshot(ctx.deps)).toEqual(before)

    const real = await reconcileCall({ dry_run: false, product_id: productId })
    expect(real.status).toBe(200)
    expect(real.body.data.repairs[0]).toMatchObject({ product_id: productId, applied: true })
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 38, reserved: 0, sold: 2 })
    const [recorded] = await ctx.deps.sql`
      select redis_before, redis_after from stock_reconciliations where product_id = ${productId}
    `
    expect(recorded).toEqual({
      redis_before: { available: 35, reserved: 0, sold: 5 },
      redis_after: { available: 38, reserved: 0, sold: 2 },
    })
    await ctx.drain()
    expect((await stockCheck(ctx, `?product_id=${productId}`)).body.data.products[0].status).toBe(
      'in_sync',
    )
  })

  it('a dry run without a body checks every product', async () => {
    await ctx.drain()
    const res = await ctx.app.request('/api/v1/reconcile', {
      method: 'POST',
      headers: { authorization: adminHeaders.authorization },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { data: { dry_run: boolean; checked: number } }
    expect(body.data.dry_run).toBe(true)
    expect(body.data.checked).toBeGreaterThan(1)
  })

  it('refuses while the write-behind backlog is not empty', async () => {
    const productId = await newProduct(5)
    await store.restock(productId, 1)
    await expectRefused(() => reconcileCall({ dry_run: false }), 'BACKLOG_NOT_EMPTY')
    await ctx.drain()
  })

  it('needs the admin token, and a JSON body', async () => {
    expect((await reconcileCall({ dry_run: false }, jsonHeaders)).status).toBe(401)
    expect((await reconcileCall('{"dry_run":', adminHeaders)).status).toBe(400)
    expect((await reconcileCall({ dry_run: 'no' }, adminHeaders)).status).toBe(422)
  })
})

describe('the periodic stock report', () => {
  it('is published for the dashboard, with drift flagged', async () => {
    const productId = await newProduct(12)
    await ctx.drain()
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'reserved', 1)
    const subscriber = patientDuplicate(ctx.deps.redis)
    await subscriber.subscribe(ctx.deps.keys.stockReport)
    const received = new Promise<string>((resolve) =>
      subscriber.on('message', (_channel, message) => resolve(message)),
    )

    const report = await publishStockReport(ctx.deps)
    const published = JSON.parse(await received)
    subscriber.disconnect()
    expect(published.full_check).toMatchObject({ drift: 1 })
    expect(published.totals).toMatchObject({ drift: 1 })
    expect(
      published.drift.find((p: { product_id: number }) => p.product_id === productId),
    ).toMatchObject({
      status: 'drift',
      drift: { reserved: 1 },
    })
    expect(
      JSON.parse((await ctx.deps.redis.get(ctx.deps.keys.stockReportLatest)) as string),
    ).toEqual(report)
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'reserved', -1)
  })
})

describe('GET /metrics', () => {
  const METRIC_LINE =
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.eE+-]+|NaN|[+-]Inf$/

  async function scrape() {
    const res = await ctx.app.request('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    return res.text()
  }
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    return line ? Number(line.split(' ')[1]) : 0
  }

  it('parses as Prometheus text format and moves when checkouts happen', async () => {
    const productId = await newProduct(2)
    const before = await scrape()
    for (const line of before.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
      expect(line).toMatch(METRIC_LINE)
    }
    const reservedBefore = value(before, 'store_checkouts_total{outcome="reserved"}')
    const soldOutBefore = value(before, 'store_checkouts_total{outcome="out_of_stock"}')

    const a = await store.createOrder({ products: [{ product_id: productId, quantity: 2 }] })
    const b = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    await store.checkout(a.body.data.id)
    await store.checkout(b.body.data.id)

    const after = await scrape()
    expect(value(after, 'store_checkouts_total{outcome="reserved"}')).toBe(reservedBefore + 1)
    expect(value(after, 'store_checkouts_total{outcome="out_of_stock"}')).toBe(soldOutBefore + 1)
    expect(value(after, `store_stock_units{product_id="${productId}",state="reserved"}`)).toBe(2)
    expect(after).toMatch(
      /^http_requests_total\{method="POST",route="\/api\/v1\/checkout-order",status="200"\} \d+$/m,
    )
    expect(after).toMatch(/^store_write_behind_backlog \d+$/m)
    expect(after).toMatch(/^store_dead_letters \d+$/m)
    expect(after).toMatch(/^# TYPE store_stock_drift_units gauge$/m)
  })

  it('names a drifting product in the drift gauge, and only while it drifts', async () => {
    const productId = await newProduct(3)
    await ctx.drain()
    const series = `store_stock_drift_units{product_id="${productId}",counter="available"}`
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'available', 2)
    await stockCheck(ctx, `?product_id=${productId}`)
    expect(value(await scrape(), series)).toBe(2)
    await ctx.deps.redis.hincrby(ctx.deps.keys.product(productId), 'available', -2)
    await stockCheck(ctx, `?product_id=${productId}`)
    expect(await scrape()).not.toContain(series)
  })
})

describe('restock advice', () => {
  it('follows the documented formulas on hand-computed data', () => {
    expect(
      restockAdvice({
        dailySales: [4, 8, 6],
        windowDays: 3,
        leadTime: 3,
        mostLeadTime: 5,
        available: 10,
      }),
    ).toEqual({
      avg_daily_sales: 6,
      max_daily_sales: 8,
      safety_stock: 22, // 8 × 5 − 6 × 3
      reorder_point: 40, // 6 × 3 + 22
      restock_quantity: 30,
    })
    expect(
      restockAdvice({ dailySales: [], windowDays: 30, leadTime: 1, mostLeadTime: 1, available: 0 }),
    ).toEqual({
      avg_daily_sales: 0,
      max_daily_sales: 0,
      safety_stock: 0,
      reorder_point: 0,
      restock_quantity: 0,
    })
  })
})
