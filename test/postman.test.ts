import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, createTestContext, type TestContext } from './helpers/context.js'
import { listen } from './helpers/server.js'
import { stockOf } from './helpers/snapshot.js'

/**
 * Replays the original shop's Postman collection (test/fixtures, copied from the
 * seed) against a real server. Only the ids (UUIDs here) and the admin header
 * differ from what the original clients send.
 */
interface PostmanItem {
  name: string
  request: {
    method: string
    header: { key: string; value: string }[]
    body?: { raw: string }
    url: { path: string[]; variable?: { key: string; value: string }[] }
  }
}

const collection = JSON.parse(
  readFileSync(new URL('./fixtures/online-store.postman_collection.json', import.meta.url), 'utf8'),
) as { item: PostmanItem[] }
const item = (name: string) => collection.item.find((i) => i.name === name) as PostmanItem
const ADMIN_ROUTES = ['add product', 'confirm-payment', 'reject-payment', 'check-products-stock']

let ctx: TestContext
let server: Awaited<ReturnType<typeof listen>>
const ids = { product: 0, order: '', payment: '' }

beforeAll(async () => {
  ctx = await createTestContext()
  server = await listen(ctx)
})
afterAll(async () => {
  await server.close()
  await ctx.close()
})

/** Sends one request of the collection as written, with today's ids in place of the old ones. */
async function send(name: string) {
  const { request } = item(name)
  const path = `/${request.url.path.join('/')}`
    .replace(':order_id', ids.order)
    .replace(':payment_id', ids.payment)
  const body = request.body?.raw
    .replace(/"order_id": 26/, `"order_id": "${ids.order}"`)
    .replace(/"product_id": 1\b/, `"product_id": ${ids.product}`)
  const headers = Object.fromEntries(request.header.map((h) => [h.key, h.value]))
  if (ADMIN_ROUTES.includes(name)) headers.Authorization = `Bearer ${ADMIN_TOKEN}`
  const res = await fetch(`${server.url}${path}`, { method: request.method, headers, body })
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the responses freely
  return { status: res.status, body: (await res.json()) as any }
}

describe('the original Postman collection', () => {
  it('works end to end: add product → create → get → checkout → pay → confirm, another → reject, get payment', async () => {
    expect((await send('get all products')).status).toBe(200)

    const added = await send('add product')
    expect(added.status).toBe(200)
    expect(added.body.data).toMatchObject({ name: 'Sepatu Boots', quantity: 20, price: 100 })
    ids.product = added.body.data.id
    expect((await send('get all products')).body.data).toEqual([
      expect.objectContaining({ id: ids.product }),
    ])

    const created = await send('create-order')
    expect(created.status).toBe(200)
    ids.order = created.body.data.id
    expect(created.body.data.order_details).toEqual([
      {
        id: `${ids.order}:1`,
        product_id: ids.product,
        product_name: 'Sepatu Boots',
        quantity: 5,
        price: 100,
        amount: 500,
        available: 20,
        product_availability: { status: 'available', available_quantity: 20 },
      },
    ])
    expect((await send('get order by order id')).body.data).toMatchObject({
      id: ids.order,
      status: 'draft',
      order_details: [
        {
          product_id: ids.product,
          product_name: 'Sepatu Boots',
          quantity: 5,
          price: 100,
          amount: 500,
        },
      ],
    })
    expect((await send('checkout-order')).body.data.status).toBe('checkout')
    const paid = await send('payment-order')
    expect(paid.status).toBe(200)
    ids.payment = paid.body.data.payment_id
    expect((await send('confirm-payment')).body.data).toMatchObject({ payment_status: 'confirmed' })
    expect((await send('get payment by payment id')).body.data).toMatchObject({
      payment_id: ids.payment,
      payment_status: 'confirmed',
      order_status: 'payment_confirmed',
      amount: expect.any(Number),
      order_date: expect.any(String),
      payment_date: expect.any(String),
      order_details: [
        expect.objectContaining({ product_id: ids.product, product_name: 'Sepatu Boots' }),
      ],
    })

    ids.order = (await send('create-order')).body.data.id
    await send('checkout-order')
    ids.payment = (await send('payment-order')).body.data.payment_id
    expect((await send('reject-payment')).body.data).toMatchObject({ payment_status: 'rejected' })
    expect((await send('get payment by payment id')).body.data.order_status).toBe(
      'payment_rejected',
    )

    expect(await stockOf(ctx.deps, ids.product)).toEqual({ available: 15, reserved: 0, sold: 5 })
    await ctx.drain()
    const stock = await send('check-products-stock')
    expect(stock.status).toBe(200)
    expect(stock.body.data.products).toEqual([
      expect.objectContaining({
        product_id: ids.product,
        status: 'in_sync',
        redis: { available: 15, reserved: 0, sold: 5 },
      }),
    ])
  })
})
