import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api } from './helpers/api.js'
import { createTestContext, jsonHeaders, type TestContext } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { bearer, CUSTOMER_SECRET, customerToken } from './helpers/tokens.js'

/** The shipped fair-use defaults (the other test files lift them). */
const DEFAULT_LIMITS = { RATE_LIMIT_PER_SECOND: '10', RATE_LIMIT_BURST: '30', MAX_OPEN_ORDERS: '5' }

describe('the per-customer limit (max_per_customer)', () => {
  let ctx: TestContext
  let store: ReturnType<typeof api>
  beforeAll(async () => {
    ctx = await createTestContext({ CUSTOMER_JWT_SECRET: CUSTOMER_SECRET })
    store = api(ctx)
  })
  afterAll(() => ctx.close())

  it('a verified customer holds the limit, whatever the body says', async () => {
    const id = (
      await store.addProduct({ name: 'One each', quantity: 10, price: 1, max_per_customer: 1 })
    ).body.data.id
    const alice = bearer(await customerToken('alice'))
    const body = { products: [{ product_id: id, quantity: 1 }] }
    const first = await store.createOrder(body, alice)
    expect((await store.checkout(first.body.data.id, alice)).status).toBe(200)

    // The subject is used exactly as issued: another spelling is someone else.
    for (const customer_id of ['bob', 'alice2', 'Alice', 'alice\u200b']) {
      const res = await store.createOrder({ ...body, customer_id }, alice)
      expect(res.status, customer_id).toBe(403)
    }
    const second = await store.createOrder(body, alice)
    expect((await store.checkout(second.body.data.id, alice)).body.error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { max_per_customer: 1, held: 1 },
    })
    expect(await stockOf(ctx.deps, id)).toEqual({ available: 9, reserved: 1, sold: 0 })
  })
})

describe('anonymous mode', () => {
  let ctx: TestContext
  let store: ReturnType<typeof api>
  beforeAll(async () => {
    ctx = await createTestContext()
    store = api(ctx)
  })
  afterAll(() => ctx.close())

  it('counts the spellings of one customer as one: case, width, zero-width and spaces', async () => {
    const id = (
      await store.addProduct({ name: 'One each', quantity: 10, price: 1, max_per_customer: 1 })
    ).body.data.id
    const spellings = ['alice', 'Alice', 'alice\u200b', 'ａｌｉｃｅ', ' ALICE ', 'al\u00ADice']
    const outcomes: number[] = []
    for (const customer_id of spellings) {
      const created = await store.createOrder({
        products: [{ product_id: id, quantity: 1 }],
        customer_id,
      })
      expect(created.status, customer_id).toBe(200)
      expect(created.body.data.customer_id).toBe('alice')
      outcomes.push((await store.checkout(created.body.data.id)).status)
    }
    expect(outcomes).toEqual([200, 409, 409, 409, 409, 409])
    // A different name is a different customer: anonymous mode trusts what the client sends.
    const other = await store.createOrder({
      products: [{ product_id: id, quantity: 1 }],
      customer_id: 'alice2',
    })
    expect((await store.checkout(other.body.data.id)).status).toBe(200)
    expect(await stockOf(ctx.deps, id)).toEqual({ available: 8, reserved: 2, sold: 0 })
  })

  it('refuses control characters in customer_id', async () => {
    const id = (await store.addProduct({ name: 'Plain', quantity: 1, price: 1 })).body.data.id
    const res = await store.createOrder({
      products: [{ product_id: id, quantity: 1 }],
      customer_id: 'al\u0000ice',
    })
    expect(res.status).toBe(422)
  })
})

describe('fairness', () => {
  let ctx: TestContext
  let store: ReturnType<typeof api>
  let productId: number
  beforeAll(async () => {
    ctx = await createTestContext({ CUSTOMER_JWT_SECRET: CUSTOMER_SECRET, ...DEFAULT_LIMITS })
    store = api(ctx)
    productId = (await store.addProduct({ name: 'Hot', quantity: 1_000, price: 1 })).body.data.id
  })
  afterAll(() => ctx.close())

  it('a burst from one customer meets 429 with Retry-After, while another customer is served', async () => {
    const greedy = bearer(await customerToken('greedy'))
    const polite = bearer(await customerToken('polite'))
    const order = await store.createOrder(
      { products: [{ product_id: productId, quantity: 1 }] },
      greedy,
    )
    const mine = await store.createOrder(
      { products: [{ product_id: productId, quantity: 1 }] },
      polite,
    )
    const get = (id: string, headers: Record<string, string>) =>
      store.call('GET', `/api/v1/order/${id}`, undefined, headers)
    const burst = await Promise.all([
      ...Array.from({ length: 60 }, () => get(order.body.data.id, greedy)),
      ...Array.from({ length: 10 }, () => get(mine.body.data.id, polite)),
    ])
    const greedyStatuses = burst.slice(0, 60).map((r) => r.status)
    const limited = burst.slice(0, 60).filter((r) => r.status === 429)
    // The bucket holds 30 and refills 10 a second: about 30 of 60 get through at once.
    expect(greedyStatuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(28)
    expect(greedyStatuses.filter((s) => s === 200).length).toBeLessThanOrEqual(33)
    expect(limited.length + greedyStatuses.filter((s) => s === 200).length).toBe(60)
    expect(limited[0]?.body.error.code).toBe('RATE_LIMITED')
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(burst.slice(60).map((r) => r.status)).toEqual(Array(10).fill(200))
    const metrics = await (await ctx.app.request('/metrics')).text()
    expect(metrics).toMatch(
      new RegExp(`store_rate_limited_total\\{scope="customer"\\} ${limited.length}`),
    )
  })

  it('holds the open-order cap under concurrency, and paying or cancelling frees a place', async () => {
    const buyer = bearer(await customerToken('hoarder'))
    const body = { products: [{ product_id: productId, quantity: 1 }] }
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.createOrder(body, buyer)),
    )
    const created = results.filter((r) => r.status === 200)
    expect(created).toHaveLength(5)
    expect(results.filter((r) => r.status === 409).map((r) => r.body.error.code)).toEqual(
      Array(15).fill('TOO_MANY_OPEN_ORDERS'),
    )
    const before = await storeSnapshot(ctx.deps)
    expect((await store.createOrder(body, buyer)).status).toBe(409)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)

    const [first, second] = created
    expect((await store.checkout(first?.body.data.id, buyer)).status).toBe(200) // still open
    expect((await store.createOrder(body, buyer)).status).toBe(409)
    expect((await store.pay(first?.body.data.id, buyer)).status).toBe(200) // no longer open
    expect((await store.createOrder(body, buyer)).status).toBe(200)
    expect(
      (await store.call('POST', '/api/v1/cancel-order', { order_id: second?.body.data.id }, buyer))
        .status,
    ).toBe(200)
    expect((await store.createOrder(body, buyer)).status).toBe(200)
    expect((await store.createOrder(body, buyer)).status).toBe(409)
    await expectAllInSync(ctx)
  })
})

describe('the per-IP limit (off by default)', () => {
  it('with TRUST_PROXY, limits each X-Forwarded-For client on its own', async () => {
    const ctx = await createTestContext({
      IP_RATE_LIMIT_PER_SECOND: '1',
      IP_RATE_LIMIT_BURST: '2',
      TRUST_PROXY: 'true',
    })
    try {
      const store = api(ctx)
      const from = (ip: string) => ({ ...jsonHeaders, 'x-forwarded-for': `${ip}, 10.0.0.1` })
      const get = (ip: string) =>
        store.call('GET', '/api/v1/order/01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10', undefined, from(ip))
      expect((await get('198.51.100.7')).status).toBe(404)
      expect((await get('198.51.100.7')).status).toBe(404)
      const third = await get('198.51.100.7')
      expect(third.status).toBe(429)
      expect(third.body.error.details.scope).toBe('ip')
      expect((await get('203.0.113.9')).status).toBe(404)
    } finally {
      await ctx.close()
    }
  })
})
