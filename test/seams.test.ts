import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { MAX_TOTAL_STOCK } from '../src/products/schemas.js'
import { createRedis } from '../src/redis/client.js'
import { failureFrom } from '../src/redis/replies.js'
import { UnknownReplyError } from '../src/redis/scripts.js'
import { adminHeaders, jsonHeaders, REDIS_URL } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync, stockCheck } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

const { ctx, store, newProduct: addProduct, expectRefused } = useStore()

const newProduct = (quantity: number, extra: Record<string, unknown> = {}) =>
  addProduct(quantity, { price: 10, ...extra })

describe('text that Postgres would refuse is refused at the edge', () => {
  const hostile = {
    'a NUL byte': 'evil\u0000x',
    'a bell': 'ding\u0007',
    'a DEL': 'del\u007f',
    'a C1 control': 'c1\u0085',
    'a right-to-left override': 'abc\u202Egnp.exe',
    'a lone surrogate': 'half\ud800',
    'only spaces': '   ',
  }

  for (const [label, value] of Object.entries(hostile)) {
    it(`customer_id with ${label} is a 422 and changes nothing`, async () => {
      const productId = await newProduct(10)
      const res = await expectRefused(
        () =>
          store.createOrder({
            products: [{ product_id: productId, quantity: 1 }],
            customer_id: value,
          }),
        'VALIDATION_FAILED',
      )
      expect(res.body.error.details[0].field).toBe('customer_id')
    })

    it(`a product name with ${label} is a 422 and changes nothing`, async () => {
      const before = await storeSnapshot(ctx.deps)
      const res = await store.addProduct({ name: value, quantity: 1, price: 1 })
      expect(res.status).toBe(422)
      expect(res.body.error.details[0].field).toBe('name')
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
    })
  }

  it('keeps text normalised (NFC) and trimmed, and takes every column at its limit', async () => {
    const decomposed = await store.addProduct({ name: '  Cafe\u0301  ', quantity: 5, price: 1 })
    expect(decomposed.status).toBe(200)
    expect(decomposed.body.data.name).toBe('Caf\u00e9')

    // 200 three-byte characters; 128 characters of customer id, all outside the BMP
    // (two UTF-16 units each: lengths are characters, as Postgres counts them).
    const wide = await store.addProduct({ name: '€'.repeat(200), quantity: 5, price: 1 })
    expect(wide.status).toBe(200)
    const tooWide = await store.addProduct({ name: '€'.repeat(201), quantity: 5, price: 1 })
    expect(tooWide.status).toBe(422)
    const customer = '😀'.repeat(128)
    const order = await store.createOrder({
      products: [{ product_id: wide.body.data.id, quantity: 5 }],
      customer_id: customer,
    })
    expect(order.status).toBe(200)
    expect((await store.checkout(order.body.data.id)).status).toBe(200)
    const longer = await store.createOrder({
      products: [{ product_id: wide.body.data.id, quantity: 1 }],
      customer_id: `${customer}x`,
    })
    expect(longer.status).toBe(422)

    await ctx.drain()
    const [row] = await ctx.deps.sql<{ customer_id: string; name: string }[]>`
      select o.customer_id, p.name from orders o
      join order_details d on d.order_id = o.id join products p on p.id = d.product_id
      where o.id = ${order.body.data.id}
    `
    expect(row).toEqual({ customer_id: customer, name: '€'.repeat(200) })
    await expectAllInSync(ctx)
  })
})

describe('numbers stay within what their columns hold', () => {
  it(`a product's total stock stops at MAX_TOTAL_STOCK (${MAX_TOTAL_STOCK}), atomically`, async () => {
    const productId = await newProduct(1_000_000)
    const restocks = await Promise.all(
      Array.from({ length: MAX_TOTAL_STOCK / 1_000_000 - 1 }, () =>
        store.restock(productId, 1_000_000),
      ),
    )
    expect(restocks.every((r) => r.status === 200)).toBe(true)
    expect(await stockOf(ctx.deps, productId)).toEqual({
      available: MAX_TOTAL_STOCK,
      reserved: 0,
      sold: 0,
    })

    const over = await expectRefused(() => store.restock(productId, 1), 'STOCK_LIMIT')
    expect(over.body.error).toMatchObject({
      code: 'STOCK_LIMIT',
      details: { total: MAX_TOTAL_STOCK, max_total_stock: MAX_TOTAL_STOCK },
    })

    await ctx.drain()
    const [ledger] = await ctx.deps.sql<{ total: string }[]>`
      select sum(quantity)::text as total from stock_ledger where product_id = ${productId}
    `
    expect(ledger?.total).toBe(String(MAX_TOTAL_STOCK))
    await expectAllInSync(ctx)
  })

  it('a negative live counter never stops orders or the ledger reaching Postgres', async () => {
    const productId = await newProduct(5)
    const other = await newProduct(5)
    await ctx.drain()
    // An operator's slip: the live counter goes below zero by hand.
    await ctx.deps.redis.hset(ctx.deps.keys.product(productId), 'available', '-3')
    expect((await store.restock(productId, 1)).status).toBe(200)
    const order = await store.createOrder({
      products: [
        { product_id: other, quantity: 1 },
        { product_id: productId, quantity: 1 },
      ],
    })
    expect(order.status).toBe(409) // -2 left: out of stock, nothing reserved
    await ctx.drain()
    expect(await ctx.deps.redis.xlen(ctx.deps.keys.deadLetters)).toBe(0)
    const [mirror] = await ctx.deps.sql<{ quantity: number }[]>`
      select quantity from products where id = ${productId}
    `
    expect(mirror?.quantity).toBe(-2)

    const check = await stockCheck(ctx, `?product_id=${productId}`)
    expect(check.body.data.products[0]).toMatchObject({
      status: 'drift',
      reason: 'A live counter in Redis is negative.',
    })
    const repaired = await store.call('POST', '/api/v1/reconcile', { dry_run: false }, adminHeaders)
    expect(repaired.body.data.repairs).toEqual([
      expect.objectContaining({
        product_id: productId,
        applied: true,
        to: { available: 6, reserved: 0, sold: 0 },
      }),
    ])
    await expectAllInSync(ctx)
  })

  it('product ids in paths are canonical: 06, 6.0 and +6 are not product 6', async () => {
    const productId = await newProduct(1)
    for (const spelling of [`0${productId}`, `${productId}.0`, `+${productId}`, `${productId}e0`]) {
      const res = await store.call(
        'POST',
        `/api/v1/products/${encodeURIComponent(spelling)}/restock`,
        { quantity: 1 },
        adminHeaders,
      )
      expect(res.status, spelling).toBe(422)
    }
  })
})

describe('order and payment ids are case-insensitive', () => {
  it('an upper-case UUID reaches the same order and payment, through every step', async () => {
    const productId = await newProduct(5)
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 2 }] })
    const id = created.body.data.id as string
    const upper = id.toUpperCase()

    const fetched = await store.getOrder(upper)
    expect(fetched.status).toBe(200)
    expect(fetched.body.data).toMatchObject({ id, status: 'draft' })
    const checkout = await store.checkout(upper)
    expect(checkout.status).toBe(200)
    expect(checkout.body.data).toMatchObject({ id, status: 'checkout' })
    const paid = await store.pay(upper)
    expect(paid.status).toBe(200)
    const paymentUpper = (paid.body.data.payment_id as string).toUpperCase()
    expect((await store.getPayment(paymentUpper)).body.data.order_id).toBe(id)
    expect((await store.confirm(paymentUpper)).status).toBe(200)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 3, reserved: 0, sold: 2 })
    await expectAllInSync(ctx)
  })
})

describe('Idempotency-Key runs after auth, in the caller and route scope', () => {
  it('never replays an admin response to a caller without the token', async () => {
    const body = { name: `Idem ${Math.random()}`, quantity: 3, price: 1 }
    const key = { 'idempotency-key': `create-${Math.random()}` }
    const first = await store.call('POST', '/api/v1/products', body, { ...adminHeaders, ...key })
    expect(first.status).toBe(200)

    const anonymous = await store.call('POST', '/api/v1/products', body, { ...jsonHeaders, ...key })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('idempotent-replayed')).toBeNull()
    const wrong = await store.call('POST', '/api/v1/products', body, {
      ...jsonHeaders,
      ...key,
      authorization: 'Bearer not-the-admin-token-at-all',
    })
    expect(wrong.status).toBe(403)

    const again = await store.call('POST', '/api/v1/products', body, { ...adminHeaders, ...key })
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
  })

  it('scopes a restock by the parsed product, so one key is one restock', async () => {
    const productId = await newProduct(1)
    const key = { ...adminHeaders, 'idempotency-key': `restock-${Math.random()}` }
    const restock = (path: string) => store.call('POST', path, { quantity: 5 }, key)
    expect((await restock(`/api/v1/products/${productId}/restock`)).status).toBe(200)
    const replay = await restock(`/api/v1/products/${productId}/restock`)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect((await restock(`/api/v1/products/0${productId}/restock`)).status).toBe(422)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 6, reserved: 0, sold: 0 })
  })

  it('keeps different callers apart: the same key and body make two orders', async () => {
    const productId = await newProduct(5)
    const body = { products: [{ product_id: productId, quantity: 1 }] }
    const key = { 'idempotency-key': `order-${Math.random()}` }
    const anonymous = await store.createOrder(body, key)
    const admin = await store.call('POST', '/api/v1/create-order', body, {
      ...adminHeaders,
      ...key,
    })
    expect(anonymous.status).toBe(200)
    expect(admin.status).toBe(200)
    expect(admin.headers.get('idempotent-replayed')).toBeNull()
    expect(admin.body.data.id).not.toBe(anonymous.body.data.id)
    await expectAllInSync(ctx)
  })
})

describe('no silent errors', () => {
  function capturedLogger() {
    const lines: Record<string, unknown>[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    })
    return { logger: pino({ level: 'info' }, stream), lines }
  }

  it('a reply no wrapper knows is a 500 with a request id, logged with the script name', async () => {
    const { logger, lines } = capturedLogger()
    const redis = createRedis(REDIS_URL, logger)
    await redis.connect()
    redis.defineCommand('checkoutOrder', { lua: "return { 'SURPRISE', 'x' }" })
    try {
      const app = createApp({ ...ctx.deps, redis, logger })
      const productId = await newProduct(1)
      const order = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
      const res = await app.request('/api/v1/checkout-order', {
        method: 'POST',
        headers: jsonHeaders,
        body: JSON.stringify({ order_id: order.body.data.id }),
      })
      expect(res.status).toBe(500)
      const body = (await res.json()) as { error: { code: string; request_id: string } }
      expect(body.error.code).toBe('INTERNAL_ERROR')
      expect(body.error.request_id).toBe(res.headers.get('x-request-id'))
      const logged = lines.find((l) => l.msg === 'unhandled error')
      expect(logged).toMatchObject({ request_id: body.error.request_id })
      expect(JSON.stringify(logged)).toContain('script checkoutOrder')
    } finally {
      redis.disconnect()
    }
    expect(() => failureFrom('payOrder', ['KEYS_MISSING'])).toThrow(UnknownReplyError)
  })

  it('every Redis connection logs its errors', async () => {
    const { logger, lines } = capturedLogger()
    const redis = createRedis('redis://127.0.0.1:1', logger)
    await redis.connect().catch(() => {})
    redis.disconnect()
    expect(lines.some((l) => l.msg === 'redis connection error')).toBe(true)
  })
})
