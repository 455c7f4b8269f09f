import { describe, expect, it } from 'vitest'
import { derivedStock } from '../../src/stock/derived.js'
import { stockOf } from '../helpers/snapshot.js'
import { expectAllInSync } from '../helpers/stockCheck.js'
import { useStore } from '../helpers/store.js'

const { ctx, store, newProduct, checkedOut } = useStore()

/** The whole life of an order, as the original clients drive it, and the record it leaves. */
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

describe('the durable record', () => {
  it('after the worker drains, Postgres derives the same stock as Redis', async () => {
    // A dozen products with sales on them, beside the ones above.
    for (let i = 0; i < 12; i++) await checkedOut(await newProduct(5), 1 + (i % 3))
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
