import { describe, expect, it } from 'vitest'
import { jsonHeaders } from '../helpers/context.js'
import { stockOf, storeSnapshot } from '../helpers/snapshot.js'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct, checkedOut, expectRefused } = useStore()

/** POST /api/v1/payment-order, and the admin's confirm and reject. */
describe('payments and the state machine', () => {
  it('refuses to pay a draft', async () => {
    const productId = await newProduct(5)
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    const res = await expectRefused(() => store.pay(created.body.data.id), 'INVALID_STATE')
    expect(res.body.error).toMatchObject({ code: 'INVALID_STATE', details: { status: 'draft' } })
  })

  it('refuses to pay twice, confirm twice, or reject a confirmed payment', async () => {
    const productId = await newProduct(5)
    const orderId = await checkedOut(productId, 2)
    const payment = await store.pay(orderId)
    expect((await store.pay(orderId)).status).toBe(409)
    expect((await store.confirm(payment.body.data.payment_id)).status).toBe(200)
    const again = await expectRefused(
      () => store.confirm(payment.body.data.payment_id),
      'INVALID_STATE',
    )
    expect(again.body.error).toMatchObject({
      code: 'INVALID_STATE',
      details: { status: 'confirmed' },
    })
    const reject = await store.reject(payment.body.data.payment_id)
    expect(reject.status).toBe(409)
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

describe('payment-order with an Idempotency-Key', () => {
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
