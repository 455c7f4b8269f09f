import { describe, expect, it } from 'vitest'
import { adminHeaders } from '../helpers/context.js'
import { stockOf, storeSnapshot } from '../helpers/snapshot.js'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct, checkedOut, expectRefused } = useStore()

/** POST /api/v1/checkout-order. */
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
    const res = await expectRefused(() => store.checkout(b.body.data.id), 'OUT_OF_STOCK')
    expect(res.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { product_id: productId, available: 0 },
    })
    expect(res.body.error.message).toContain(String(productId))
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
    const res = await expectRefused(() => store.checkout(orderId), 'INVALID_STATE')
    expect(res.body.error).toMatchObject({ code: 'INVALID_STATE', details: { status: 'paid' } })
  })

  it('refuses a draft whose product was set inactive since, with 409 PRODUCT_INACTIVE', async () => {
    const productId = await newProduct(5)
    const draft = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    const held = await checkedOut(productId)
    const patch = (status: string) =>
      store.call('PATCH', `/api/v1/products/${productId}`, { status }, adminHeaders)
    expect((await patch('inactive')).status).toBe(200)
    const res = await expectRefused(() => store.checkout(draft.body.data.id), 'PRODUCT_INACTIVE')
    expect(res.body.error).toMatchObject({
      code: 'PRODUCT_INACTIVE',
      details: { product_id: productId },
    })
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
