import { describe, expect, it } from 'vitest'
import { storeSnapshot } from '../helpers/snapshot.js'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct, expectRefused } = useStore()

/** POST /api/v1/create-order: what it refuses, changing nothing. */
describe('create-order', () => {
  it('refuses repeated lines that merge past 10,000 units, changing nothing', async () => {
    const productId = await newProduct(20_000)
    const res = await expectRefused(
      () =>
        store.createOrder({
          products: Array.from({ length: 100 }, () => ({
            product_id: productId,
            quantity: 10_000,
          })),
        }),
      'VALIDATION_FAILED',
    )
    expect(res.body.error.details).toEqual([
      { field: 'products.1.quantity', message: expect.stringContaining('more than 10000 units') },
    ])
    const atLimit = await store.createOrder({
      products: [
        { product_id: productId, quantity: 4_000 },
        { product_id: productId, quantity: 6_000 },
      ],
    })
    expect(atLimit.status).toBe(200)
    expect(atLimit.body.data.order_details[0].quantity).toBe(10_000)
  })

  it('soft-checks availability without reserving (409 OUT_OF_STOCK)', async () => {
    const productId = await newProduct(3)
    const res = await expectRefused(
      () => store.createOrder({ products: [{ product_id: productId, quantity: 4 }] }),
      'OUT_OF_STOCK',
    )
    expect(res.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { product_id: productId, available: 3 },
    })
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

describe('create-order with an Idempotency-Key', () => {
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
})
