import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api } from './helpers/api.js'
import { createTestContext, type TestContext } from './helpers/context.js'
import { listen } from './helpers/server.js'
import { stockOf } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'

let ctx: TestContext
let store: ReturnType<typeof api>
let server: Awaited<ReturnType<typeof listen>>

beforeAll(async () => {
  ctx = await createTestContext()
  store = api(ctx)
  server = await listen(ctx)
})
afterAll(async () => {
  await expectAllInSync(ctx)
  await server.close()
  await ctx.close()
})

async function draftOrders(
  count: number,
  lines: () => { product_id: number; quantity: number }[],
  customer_id?: string,
) {
  const orders = await Promise.all(
    Array.from({ length: count }, () => store.createOrder({ products: lines(), customer_id })),
  )
  expect(orders.every((o) => o.status === 200)).toBe(true)
  return orders.map((o) => o.body.data.id as string)
}

/** Fires every checkout at once over real HTTP; returns status and error code per order. */
async function raceCheckouts(orderIds: string[]) {
  return Promise.all(
    orderIds.map(async (orderId) => {
      const res = await fetch(`${server.url}/api/v1/checkout-order`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order_id: orderId }),
      })
      const body = (await res.json()) as { error?: { code: string } }
      return { orderId, status: res.status, code: body.error?.code }
    }),
  )
}

/** Samples a product's available counter until stopped; returns the lowest value seen. */
function watchAvailable(productId: number) {
  let lowest = Number.POSITIVE_INFINITY
  let running = true
  const loop = (async () => {
    while (running) {
      lowest = Math.min(lowest, (await stockOf(ctx.deps, productId)).available)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  })()
  return async () => {
    running = false
    await loop
    return lowest
  }
}

describe('flash sale over HTTP', () => {
  it('2,000 concurrent buyers for 100 units: exactly 100 checkouts succeed, the rest get OUT_OF_STOCK', async () => {
    const { body } = await store.addProduct({ name: '12.12 Deal', quantity: 100, price: 99.99 })
    const productId = body.data.id as number
    const orderIds = await draftOrders(2000, () => [{ product_id: productId, quantity: 1 }])

    const stopWatching = watchAvailable(productId)
    const results = await raceCheckouts(orderIds)
    const lowest = await stopWatching()

    const succeeded = results.filter((r) => r.status === 200)
    const refused = results.filter((r) => r.status === 409 && r.code === 'OUT_OF_STOCK')
    expect(succeeded).toHaveLength(100)
    expect(refused).toHaveLength(1900)
    expect(lowest).toBeGreaterThanOrEqual(0)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 0, reserved: 100, sold: 0 })

    await ctx.drain()
    const [persisted] = await ctx.deps.sql`
      select count(*)::int as orders, coalesce(sum(d.quantity), 0)::int as units
      from orders o join order_details d on d.order_id = o.id
      where d.product_id = ${productId} and o.status = 'checkout'
    `
    expect(persisted).toEqual({ orders: 100, units: 100 })
  })

  it('overlapping multi-line orders never leave a partial reservation', async () => {
    const products: number[] = []
    for (const name of ['Boots', 'Jacket', 'Scarf']) {
      const { body } = await store.addProduct({ name, quantity: 30, price: 10 })
      products.push(body.data.id)
    }
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const orderIds = await draftOrders(300, () => {
      const first = random(3)
      const second = (first + 1 + random(2)) % 3
      return [
        { product_id: products[first] as number, quantity: 1 + random(3) },
        { product_id: products[second] as number, quantity: 1 + random(3) },
      ]
    })

    const results = await raceCheckouts(orderIds)
    expect(
      results.every((r) => r.status === 200 || (r.status === 409 && r.code === 'OUT_OF_STOCK')),
    ).toBe(true)

    const heldByOrders = new Map<number, number>(products.map((p) => [p, 0]))
    for (const orderId of orderIds) {
      const order = (await store.getOrder(orderId)).body.data
      expect(['checkout', 'draft']).toContain(order.status)
      if (order.status !== 'checkout') continue
      for (const line of order.order_details)
        heldByOrders.set(line.product_id, (heldByOrders.get(line.product_id) ?? 0) + line.quantity)
    }
    for (const productId of products) {
      const stock = await stockOf(ctx.deps, productId)
      expect(stock.available).toBeGreaterThanOrEqual(0)
      expect(stock.available + stock.reserved).toBe(30)
      expect(stock.reserved).toBe(heldByOrders.get(productId))
    }
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0)
    expect(results.filter((r) => r.status === 409).length).toBeGreaterThan(0)
  })

  it('one customer sending 50 parallel checkouts against a limit of 1 gets exactly 1', async () => {
    const { body } = await store.addProduct({
      name: 'Limited',
      quantity: 100,
      price: 10,
      max_per_customer: 1,
    })
    const productId = body.data.id as number
    const orderIds = await draftOrders(
      50,
      () => [{ product_id: productId, quantity: 1 }],
      'greedy-customer',
    )

    const results = await raceCheckouts(orderIds)
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409 && r.code === 'LIMIT_EXCEEDED')).toHaveLength(49)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 99, reserved: 1, sold: 0 })
  })
})
