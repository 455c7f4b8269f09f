import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expireDueReservations, expireStaleDrafts } from '../src/orders/expirySweeper.js'
import { derivedStock } from '../src/stock/derived.js'
import { api } from './helpers/api.js'
import {
  adminHeaders,
  createTestContext,
  jsonHeaders,
  type TestContext,
} from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'

let ctx: TestContext
let store: ReturnType<typeof api>

beforeAll(async () => {
  ctx = await createTestContext()
  store = api(ctx)
})
afterAll(() => ctx.close())

async function newProduct(quantity: number, extra: Record<string, unknown> = {}) {
  const res = await store.addProduct({
    name: `Product ${Math.random()}`,
    quantity,
    price: 100.0,
    ...extra,
  })
  expect(res.status).toBe(200)
  return res.body.data.id as number
}

async function checkedOut(productId: number, quantity = 1, customer_id?: string) {
  const created = await store.createOrder({
    products: [{ product_id: productId, quantity }],
    customer_id,
  })
  expect(created.status).toBe(200)
  const res = await store.checkout(created.body.data.id)
  expect(res.status).toBe(200)
  return created.body.data.id as string
}

describe('the original Postman sequence', () => {
  it('add product, create, get, checkout, pay, confirm, get payment', async () => {
    const productId = await newProduct(20)

    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 5 }] })
    expect(created.status).toBe(200)
    expect(created.body.data).toMatchObject({
      status: 'draft',
      total_amount: 500,
      customer_id: null,
      order_details: [
        { product_id: productId, quantity: 5, price: 100, amount: 500, available: 20 },
      ],
    })
    const orderId = created.body.data.id as string
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 20, reserved: 0, sold: 0 })

    const fetched = await store.getOrder(orderId)
    expect(fetched.status).toBe(200)
    expect(fetched.body.data).toMatchObject({ id: orderId, status: 'draft', total_amount: 500 })
    expect(fetched.body.data.reserved_until).toBeUndefined()

    const checkout = await store.checkout(orderId)
    expect(checkout.status).toBe(200)
    expect(checkout.body.data.status).toBe('checkout')
    expect(Date.parse(checkout.body.data.reserved_until)).toBeGreaterThan(Date.now() + 500_000)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 15, reserved: 5, sold: 0 })
    expect((await store.getOrder(orderId)).body.data.reserved_until).toBe(
      checkout.body.data.reserved_until,
    )

    const payment = await store.pay(orderId)
    expect(payment.status).toBe(200)
    expect(payment.body.data).toMatchObject({
      order_id: orderId,
      payment_status: 'paid',
      amount: 500,
      order_status: 'paid',
    })
    expect(payment.body.data.order_date).toBe(created.body.data.order_date)
    const paymentId = payment.body.data.payment_id as string
    expect((await store.getOrder(orderId)).body.data.reserved_until).toBeUndefined()

    const confirmed = await store.confirm(paymentId)
    expect(confirmed.status).toBe(200)
    expect(confirmed.body.data).toMatchObject({
      payment_status: 'confirmed',
      order_status: 'payment_confirmed',
    })
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 15, reserved: 0, sold: 5 })

    const read = await store.getPayment(paymentId)
    expect(read.status).toBe(200)
    expect(read.body.data).toEqual({
      id: paymentId,
      status: 'confirmed',
      payment_id: paymentId,
      order_id: orderId,
      payment_status: 'confirmed',
      order_status: 'payment_confirmed',
      amount: 500,
      total_amount: 500,
      order_date: created.body.data.order_date,
      payment_date: payment.body.data.payment_date,
      order_details: [
        {
          id: `${orderId}:1`,
          detail_id: `${orderId}:1`,
          product_id: productId,
          product_name: expect.any(String),
          quantity: 5,
          price: 100,
          amount: 500,
          available: 15,
          product_availability: { status: 'available', available_quantity: 15 },
        },
      ],
    })

    await ctx.drain()
    const [order] = await ctx.deps
      .sql`select status, total_amount::text from orders where id = ${orderId}`
    expect(order).toEqual({ status: 'payment_confirmed', total_amount: '500.00' })
    const [paid] = await ctx.deps
      .sql`select status, amount::text from payments where id = ${paymentId}`
    expect(paid).toEqual({ status: 'confirmed', amount: '500.00' })
  })

  it('and the reject branch returns the units', async () => {
    const productId = await newProduct(10)
    const orderId = await checkedOut(productId, 4)
    const payment = await store.pay(orderId)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 6, reserved: 4, sold: 0 })
    const rejected = await store.reject(payment.body.data.payment_id)
    expect(rejected.status).toBe(200)
    expect(rejected.body.data).toMatchObject({
      payment_status: 'rejected',
      order_status: 'payment_rejected',
    })
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 10, reserved: 0, sold: 0 })
    expect((await store.getPayment(payment.body.data.payment_id)).body.data.order_status).toBe(
      'payment_rejected',
    )
  })
})

describe('create-order', () => {
  it('merges a repeated product into one line', async () => {
    const productId = await newProduct(10)
    const res = await store.createOrder({
      products: [
        { product_id: productId, quantity: 2 },
        { product_id: productId, quantity: 3 },
      ],
    })
    expect(res.status).toBe(200)
    expect(res.body.data.order_details).toEqual([
      expect.objectContaining({ product_id: productId, quantity: 5, amount: 500 }),
    ])
  })

  it('refuses repeated lines that merge past 10,000 units, changing nothing', async () => {
    const productId = await newProduct(20_000)
    const before = await storeSnapshot(ctx.deps)
    const res = await store.createOrder({
      products: Array.from({ length: 100 }, () => ({ product_id: productId, quantity: 10_000 })),
    })
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('VALIDATION_FAILED')
    expect(res.body.error.details).toEqual([
      { field: 'products.1.quantity', message: expect.stringContaining('more than 10000 units') },
    ])
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
    const atLimit = await store.createOrder({
      products: [
        { product_id: productId, quantity: 4_000 },
        { product_id: productId, quantity: 6_000 },
      ],
    })
    expect(atLimit.status).toBe(200)
    expect(atLimit.body.data.order_details[0].quantity).toBe(10_000)
  })

  it('computes totals exactly in minor units', async () => {
    const a = await newProduct(10, { price: 0.1 })
    const b = await newProduct(10, { price: 0.2 })
    const res = await store.createOrder({
      products: [
        { product_id: a, quantity: 3 },
        { product_id: b, quantity: 1 },
      ],
    })
    expect(res.body.data.total_amount).toBe(0.5)
    await ctx.drain()
    const [row] = await ctx.deps
      .sql`select total_amount::text from orders where id = ${res.body.data.id}`
    expect(row?.total_amount).toBe('0.50')
  })

  it('soft-checks availability without reserving (409 OUT_OF_STOCK)', async () => {
    const productId = await newProduct(3)
    const before = await storeSnapshot(ctx.deps)
    const res = await store.createOrder({ products: [{ product_id: productId, quantity: 4 }] })
    expect(res.status).toBe(409)
    expect(res.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { product_id: productId, available: 3 },
    })
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  const bad: [string, unknown, number, string][] = [
    ['an unknown product', { products: [{ product_id: 987654, quantity: 1 }] }, 404, 'NOT_FOUND'],
    ['an empty list', { products: [] }, 422, 'VALIDATION_FAILED'],
    ['no products field', {}, 422, 'VALIDATION_FAILED'],
    ['a zero quantity', { products: [{ product_id: 1, quantity: 0 }] }, 422, 'VALIDATION_FAILED'],
    [
      'a negative quantity',
      { products: [{ product_id: 1, quantity: -2 }] },
      422,
      'VALIDATION_FAILED',
    ],
    ['a huge quantity', { products: [{ product_id: 1, quantity: 1e9 }] }, 422, 'VALIDATION_FAILED'],
    [
      'a fractional quantity',
      { products: [{ product_id: 1, quantity: 1.5 }] },
      422,
      'VALIDATION_FAILED',
    ],
    [
      'a string product id',
      { products: [{ product_id: 'one', quantity: 1 }] },
      422,
      'VALIDATION_FAILED',
    ],
    ['malformed JSON', '{"products": [', 400, 'MALFORMED_JSON'],
  ]
  it.each(bad.map(([name, body, status, code]) => ({ name, body, status, code })))(
    'refuses $name with $status $code and changes nothing',
    async ({ body, status, code }) => {
      await newProduct(5)
      const before = await storeSnapshot(ctx.deps)
      const res = await store.call('POST', '/api/v1/create-order', body)
      expect(res.status).toBe(status)
      expect(res.body.error.code).toBe(code)
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
    },
  )

  it('needs a customer_id for a product with a per-customer limit', async () => {
    const productId = await newProduct(5, { max_per_customer: 1 })
    const res = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('CUSTOMER_ID_REQUIRED')
  })
})

describe('checkout', () => {
  it('repeating a checkout returns the same reservation and reserves nothing more', async () => {
    const productId = await newProduct(10)
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 3 }] })
    const first = await store.checkout(created.body.data.id)
    const second = await store.checkout(created.body.data.id)
    expect(second.status).toBe(200)
    expect(second.body.data.reserved_until).toBe(first.body.data.reserved_until)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 7, reserved: 3, sold: 0 })
  })

  it('names the product and what is left when stock ran out', async () => {
    const productId = await newProduct(2)
    const a = await store.createOrder({ products: [{ product_id: productId, quantity: 2 }] })
    const b = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    expect((await store.checkout(a.body.data.id)).status).toBe(200)
    const before = await storeSnapshot(ctx.deps)
    const res = await store.checkout(b.body.data.id)
    expect(res.status).toBe(409)
    expect(res.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { product_id: productId, available: 0 },
    })
    expect(res.body.error.message).toContain(String(productId))
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('reserves all lines or none', async () => {
    const plenty = await newProduct(10)
    const scarce = await newProduct(1)
    const order = await store.createOrder({
      products: [
        { product_id: plenty, quantity: 2 },
        { product_id: scarce, quantity: 1 },
      ],
    })
    await checkedOut(scarce, 1)
    const res = await store.checkout(order.body.data.id)
    expect(res.status).toBe(409)
    expect(await stockOf(ctx.deps, plenty)).toEqual({ available: 10, reserved: 0, sold: 0 })
    expect((await store.getOrder(order.body.data.id)).body.data.status).toBe('draft')
  })

  it('refuses an order that is not a draft with 409 INVALID_STATE', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId)
    await store.pay(orderId)
    const before = await storeSnapshot(ctx.deps)
    const res = await store.checkout(orderId)
    expect(res.status).toBe(409)
    expect(res.body.error).toMatchObject({ code: 'INVALID_STATE', details: { status: 'paid' } })
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('refuses a draft whose product was set inactive since, with 409 PRODUCT_INACTIVE', async () => {
    const productId = await newProduct(5)
    const draft = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    const held = await checkedOut(productId)
    const patch = (status: string) =>
      store.call('PATCH', `/api/v1/products/${productId}`, { status }, adminHeaders)
    expect((await patch('inactive')).status).toBe(200)
    const before = await storeSnapshot(ctx.deps)
    const res = await store.checkout(draft.body.data.id)
    expect(res.status).toBe(409)
    expect(res.body.error).toMatchObject({
      code: 'PRODUCT_INACTIVE',
      details: { product_id: productId },
    })
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
    // A reservation held before may still be paid: the buyer holds those units.
    expect((await store.pay(held)).status).toBe(200)
    expect((await patch('active')).status).toBe(200)
  })

  it.each([
    ['an unknown order', { order_id: '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10' }, 404],
    ['a malformed order id', { order_id: 'abc' }, 422],
    ['a numeric order id', { order_id: 26 }, 422],
    ['no order id', {}, 422],
  ])('refuses %s', async (_name, body, status) => {
    const before = await storeSnapshot(ctx.deps)
    const res = await store.call('POST', '/api/v1/checkout-order', body)
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBeTypeOf('string')
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })
})

describe('order ids on every order endpoint', () => {
  const endpoints = ['/api/v1/checkout-order', '/api/v1/payment-order', '/api/v1/cancel-order']
  const bodies: [string, unknown, number][] = [
    ['an unknown order', { order_id: '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10' }, 404],
    ['a malformed order id', { order_id: 'abc' }, 422],
    ['a huge number', { order_id: 1e300 }, 422],
    ['malformed JSON', '{"order_id": ', 400],
  ]
  const cases = endpoints.flatMap((path) =>
    bodies.map(([name, body, status]) => ({ path, name, body, status })),
  )
  it.each(cases)(
    '$path refuses $name with $status and changes nothing',
    async ({ path, body, status }) => {
      const before = await storeSnapshot(ctx.deps)
      const res = await store.call('POST', path, body)
      expect(res.status).toBe(status)
      expect(Object.keys(res.body)).toEqual(['error', 'status'])
      expect(res.body.status.code).toBe(status)
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
    },
  )
})

describe('payments and the state machine', () => {
  it('refuses to pay a draft', async () => {
    const productId = await newProduct(5)
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    const before = await storeSnapshot(ctx.deps)
    const res = await store.pay(created.body.data.id)
    expect(res.status).toBe(409)
    expect(res.body.error).toMatchObject({ code: 'INVALID_STATE', details: { status: 'draft' } })
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('refuses to pay twice, confirm twice, or reject a confirmed payment', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId, 2)
    const payment = await store.pay(orderId)
    expect((await store.pay(orderId)).status).toBe(409)
    expect((await store.confirm(payment.body.data.payment_id)).status).toBe(200)
    const before = await storeSnapshot(ctx.deps)
    const again = await store.confirm(payment.body.data.payment_id)
    expect(again.status).toBe(409)
    expect(again.body.error).toMatchObject({
      code: 'INVALID_STATE',
      details: { status: 'confirmed' },
    })
    const reject = await store.reject(payment.body.data.payment_id)
    expect(reject.status).toBe(409)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 3, reserved: 0, sold: 2 })
  })

  it('needs the admin token to confirm or reject', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId)
    const payment = await store.pay(orderId)
    const before = await storeSnapshot(ctx.deps)
    expect((await store.confirm(payment.body.data.payment_id, jsonHeaders)).status).toBe(401)
    expect(
      (
        await store.reject(payment.body.data.payment_id, {
          authorization: 'Bearer wrong-token-wrong-token',
        })
      ).status,
    ).toBe(403)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('gives 404 for an unknown payment and 422 for a malformed id', async () => {
    expect((await store.confirm('01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10')).status).toBe(404)
    expect((await store.getPayment('01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10')).status).toBe(404)
    expect((await store.confirm('not-a-uuid')).status).toBe(422)
    expect((await store.getOrder('not-a-uuid')).status).toBe(422)
    expect((await store.getOrder('01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10')).status).toBe(404)
  })
})

describe('cancel-order', () => {
  it('cancels a draft', async () => {
    const productId = await newProduct(5)
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    const res = await store.cancel(created.body.data.id)
    expect(res.status).toBe(200)
    expect(res.body.data.status).toBe('cancelled')
  })

  it('releases a checked-out reservation', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId, 3)
    expect((await store.cancel(orderId)).status).toBe(200)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect(await ctx.deps.redis.zscore(ctx.deps.keys.reservations, orderId)).toBeNull()
  })

  it('refuses to cancel a paid order', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId)
    await store.pay(orderId)
    const res = await store.cancel(orderId)
    expect(res.status).toBe(409)
    expect(res.body.error.details.status).toBe('paid')
  })
})

describe('per-customer limit', () => {
  /** A one-unit draft for `customer` whose checkout the limit refuses; returns its id. */
  async function refusedOverLimit(
    productId: number,
    customer: string,
    limit: number,
    held: number,
  ) {
    const draft = await store.createOrder({
      products: [{ product_id: productId, quantity: 1 }],
      customer_id: customer,
    })
    const refused = await store.checkout(draft.body.data.id)
    expect(refused.status).toBe(409)
    expect(refused.body.error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { max_per_customer: limit, held },
    })
    return draft.body.data.id as string
  }

  it('counts reserved and bought units, and released units count back', async () => {
    const productId = await newProduct(10, { max_per_customer: 2 })
    const first = await checkedOut(productId, 2, 'alice')
    const second = await refusedOverLimit(productId, 'alice', 2, 2)
    expect((await checkedOut(productId, 2, 'bob')).length).toBeGreaterThan(0)

    const payment = await store.pay(first)
    await store.reject(payment.body.data.payment_id)
    expect((await store.checkout(second)).status).toBe(200)
  })

  it('a limit set later counts the units customers already hold, and their release counts back', async () => {
    const productId = await newProduct(10)
    const bought = await checkedOut(productId, 2, 'carol')
    const payment = await store.pay(bought)
    expect((await store.confirm(payment.body.data.payment_id)).status).toBe(200)
    const reserved = await checkedOut(productId, 1, 'carol')

    const limited = await ctx.app.request(`/api/v1/products/${productId}`, {
      method: 'PATCH',
      headers: adminHeaders,
      body: JSON.stringify({ max_per_customer: 3 }),
    })
    expect(limited.status).toBe(200)

    const more = await refusedOverLimit(productId, 'carol', 3, 3)
    expect((await checkedOut(productId, 3, 'dave')).length).toBeGreaterThan(0)

    // Units reserved before the limit was set count back when released, and no further.
    expect((await store.cancel(reserved)).status).toBe(200)
    expect((await store.checkout(more)).status).toBe(200)
    await refusedOverLimit(productId, 'carol', 3, 3)
  })
})

describe('idempotency', () => {
  it('a retried create-order returns the same order, as it is now, and creates nothing more', async () => {
    const productId = await newProduct(5)
    const body = { products: [{ product_id: productId, quantity: 1 }] }
    const first = await store.createOrder(body, { 'idempotency-key': 'create-1' })
    const count = await ctx.deps.redis.xlen(ctx.deps.keys.events)
    const retry = await store.createOrder(body, { 'idempotency-key': 'create-1' })
    expect(retry.status).toBe(200)
    // The order as it is now, with each product's availability now (unchanged here).
    expect(retry.body.data).toEqual(first.body.data)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(await ctx.deps.redis.xlen(ctx.deps.keys.events)).toBe(count)
  })

  it('the same key with a different body gives 422', async () => {
    const productId = await newProduct(5)
    await store.createOrder(
      { products: [{ product_id: productId, quantity: 1 }] },
      { 'idempotency-key': 'create-2' },
    )
    const res = await store.createOrder(
      { products: [{ product_id: productId, quantity: 2 }] },
      { 'idempotency-key': 'create-2' },
    )
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED')
  })

  it('a retried payment returns the same payment', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId)
    const first = await store.pay(orderId, { 'idempotency-key': `pay-${orderId}` })
    const retry = await store.pay(orderId, { 'idempotency-key': `pay-${orderId}` })
    expect(first.status).toBe(200)
    expect(retry.status).toBe(200)
    expect(retry.body.data.id).toBe(first.body.data.id)
  })
})

describe('the durable record', () => {
  it('after the worker drains, Postgres derives the same stock as Redis', async () => {
    await ctx.drain()
    const derived = await derivedStock(ctx.deps.sql)
    for (const product of derived) {
      const live = await stockOf(ctx.deps, product.productId)
      expect({ id: product.productId, ...live }).toEqual({
        id: product.productId,
        available: product.available,
        reserved: product.reserved,
        sold: product.sold,
      })
    }
    expect(derived.length).toBeGreaterThan(10)
    await expectAllInSync(ctx)
  })
})

describe('expiry', () => {
  let short: TestContext
  let shortStore: ReturnType<typeof api>
  beforeAll(async () => {
    short = await createTestContext({ RESERVATION_TTL_SECONDS: '1', DRAFT_TTL_SECONDS: '1' })
    shortStore = api(short)
  })
  afterAll(() => short.close())

  it('the sweeper releases expired stock, and a later payment is refused', async () => {
    const { body } = await shortStore.addProduct({ name: 'Flash', quantity: 5, price: 1 })
    const created = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 2 }],
    })
    expect((await shortStore.checkout(created.body.data.id)).status).toBe(200)
    expect(await stockOf(short.deps, body.data.id)).toEqual({ available: 3, reserved: 2, sold: 0 })
    expect(await expireDueReservations(short.deps)).toBe(0)

    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await expireDueReservations(short.deps)).toBe(1)
    expect(await stockOf(short.deps, body.data.id)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect((await shortStore.getOrder(created.body.data.id)).body.data.status).toBe('expired')

    const pay = await shortStore.pay(created.body.data.id)
    expect(pay.status).toBe(409)
    expect(pay.body.error.details.status).toBe('expired')
  })

  it('drafts nobody checked out expire, and leave Redis once Postgres has them', async () => {
    const { body } = await shortStore.addProduct({ name: 'Abandoned', quantity: 5, price: 1 })
    const abandoned = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 1 }],
    })
    const kept = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 1 }],
    })
    expect((await shortStore.checkout(kept.body.data.id)).status).toBe(200)
    expect(await expireStaleDrafts(short.deps)).toBe(0)

    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await expireStaleDrafts(short.deps)).toBe(1)
    expect((await shortStore.getOrder(abandoned.body.data.id)).body.data.status).toBe('expired')
    expect((await shortStore.checkout(abandoned.body.data.id)).body.error).toMatchObject({
      code: 'INVALID_STATE',
      details: { status: 'expired' },
    })
    expect(await short.deps.redis.zcard(short.deps.keys.drafts)).toBe(0)
    await short.drain()
    expect(
      await short.deps.redis.pttl(short.deps.keys.order(abandoned.body.data.id)),
    ).toBeGreaterThan(0)
    const [row] = await short.deps
      .sql`select status from orders where id = ${abandoned.body.data.id}`
    expect(row?.status).toBe('expired')
    expect((await shortStore.cancel(kept.body.data.id)).status).toBe(200)
  })

  it('a payment after the deadline is refused even before the sweeper runs', async () => {
    const { body } = await shortStore.addProduct({ name: 'Flash 2', quantity: 5, price: 1 })
    const created = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 2 }],
    })
    await shortStore.checkout(created.body.data.id)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const pay = await shortStore.pay(created.body.data.id)
    expect(pay.status).toBe(409)
    expect(pay.body.error.code).toBe('RESERVATION_EXPIRED')
    expect(await stockOf(short.deps, body.data.id)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect(await expireDueReservations(short.deps)).toBe(0)
    await expectAllInSync(short)
  })
})
