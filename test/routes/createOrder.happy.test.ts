import { describe, expect, it } from 'vitest'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct } = useStore()

/** POST /api/v1/create-order: what it makes. */
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
})

describe('create-order with an Idempotency-Key', () => {
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
})
