import { describe, expect, it } from 'vitest'
import { adminHeaders } from '../helpers/context.js'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct, checkedOut } = useStore()

/** Units per customer (max_per_customer), at checkout. */
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
