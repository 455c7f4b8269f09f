import { describe, expect, it } from 'vitest'
import { stockOf } from '../helpers/snapshot.js'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct, checkedOut } = useStore()

/** POST /api/v1/cancel-order. */
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
