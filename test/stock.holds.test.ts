import { describe, expect, it } from 'vitest'
import { newId, withPartition } from '../src/ids.js'
import { auditHolds, holdLinesScript } from '../src/orders/holds.js'
import { stockOf } from './helpers/snapshot.js'
import { stockCheck } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

// Four partitions on one Redis: products 1 and 2 live in partitions 1 and 2.
const { ctx, store, newProduct } = useStore({ PARTITIONS: '4' })

const holdsReport = async () => (await stockCheck(ctx, '?wait_ms=0')).body.data.holds

/** A hold taken in `partition` for `orderId`, as a checkout's first step takes it, then stopped. */
async function strandedHold(partition: number, orderId: string, productId: number) {
  const reply = await holdLinesScript(ctx.deps, {
    partition,
    orderId,
    home: ctx.deps.keys.orderPartition(orderId),
    customerId: '',
    lines: [{ product_id: productId, quantity: 1, price: 0 }],
    reservationTtlMs: 60_000,
    maxBacklog: 1_000,
    attempt: 'stranded',
  })
  expect(reply).toMatchObject({ code: 'OK', created: true })
  // Its end and the audit's grace have passed (as if the process stopped and time went on).
  await ctx.deps.redis.zadd(ctx.deps.keys.partition(partition).holds, 1, orderId)
}

describe('the stock check audits the holds of orders across partitions', () => {
  it('reports nothing while every hold belongs to an open order', async () => {
    const [a, b] = [await newProduct(5), await newProduct(5)]
    const created = await store.createOrder({
      products: [
        { product_id: a, quantity: 1 },
        { product_id: b, quantity: 1 },
      ],
    })
    expect((await store.checkout(created.body.data.id)).status).toBe(200)
    expect(await holdsReport()).toEqual({ overdue: 0, orphaned: [], missing: [] })
    expect((await store.cancel(created.body.data.id)).status).toBe(200)
  })

  it('lists holds past their end whose order never committed, until the audit releases them', async () => {
    const [a, b] = [await newProduct(5), await newProduct(5)]
    const partition = ctx.deps.keys.productPartition(b)
    // A draft whose checkout stopped after its hold in b's partition, and a hold with no order.
    const draft = await store.createOrder({
      products: [
        { product_id: a, quantity: 1 },
        { product_id: b, quantity: 1 },
      ],
    })
    const draftId = draft.body.data.id as string
    const ghostId = withPartition(newId(), ctx.deps.keys.productPartition(a))
    await strandedHold(partition, draftId, b)
    await strandedHold(partition, ghostId, b)
    expect(await stockOf(ctx.deps, b)).toEqual({ available: 3, reserved: 2, sold: 0 })

    const report = await holdsReport()
    expect(report.overdue).toBe(2)
    expect(report.missing).toEqual([])
    expect(report.orphaned).toHaveLength(2)
    expect(report.orphaned).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          order_id: draftId,
          partition,
          order_status: 'draft',
          action: 'release',
          lines: [{ product_id: b, quantity: 1 }],
        }),
        expect.objectContaining({ order_id: ghostId, order_status: 'none', action: 'release' }),
      ]),
    )

    expect(await auditHolds(ctx.deps, 100)).toBe(2)
    expect(await stockOf(ctx.deps, b)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect(await holdsReport()).toEqual({ overdue: 0, orphaned: [], missing: [] })
  })

  it('lists an open order whose hold in a partition is gone', async () => {
    const [a, b] = [await newProduct(5), await newProduct(5)]
    const created = await store.createOrder({
      products: [
        { product_id: a, quantity: 2 },
        { product_id: b, quantity: 1 },
      ],
    })
    const orderId = created.body.data.id as string
    expect((await store.checkout(orderId)).status).toBe(200)
    await ctx.drain()
    // The hold in b's partition vanishes (a stray DEL, say): its unit is held by no record.
    const partition = ctx.deps.keys.productPartition(b)
    const holdKey = ctx.deps.keys.hold(partition, orderId)
    const hold = await ctx.deps.redis.hgetall(holdKey)
    await ctx.deps.redis.del(holdKey)

    expect((await holdsReport()).missing).toEqual([
      { order_id: orderId, partition, order_status: 'checkout' },
    ])

    // Put back, it is whole again, and the order can end as usual.
    await ctx.deps.redis.hset(holdKey, hold)
    expect((await holdsReport()).missing).toEqual([])
    expect((await store.cancel(orderId)).status).toBe(200)
    expect(await stockOf(ctx.deps, b)).toEqual({ available: 5, reserved: 0, sold: 0 })
  })
})
