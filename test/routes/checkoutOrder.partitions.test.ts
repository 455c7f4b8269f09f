import { describe, expect, it } from 'vitest'
import { endHoldScript, holdLinesScript } from '../../src/orders/holds.js'
import { hintedSoldOut, hintSoldOut } from '../../src/products/soldOut.js'
import { stockOf } from '../helpers/snapshot.js'
import { expectInvariants } from '../helpers/stockCheck.js'
import { useStore } from '../helpers/store.js'

// Four partitions on one Redis: consecutive products live in different partitions.
const { ctx, store, newProduct, checkedOut } = useStore({ PARTITIONS: '4' })

/** POST /api/v1/checkout-order, for an order whose lines span partitions. */
describe('checkout across partitions', () => {
  it('a refusal gives back the units it held, and this process stops hinting them sold out', async () => {
    const [held, scarce] = [await newProduct(1), await newProduct(1)]
    const created = await store.createOrder({
      products: [
        { product_id: held, quantity: 1 },
        { product_id: scarce, quantity: 1 },
      ],
    })
    // Another buyer takes the scarce unit, and one just found `held` empty (its hint).
    await checkedOut(scarce)
    hintSoldOut(ctx.deps.redis, held, 60_000)

    const refused = await store.checkout(created.body.data.id)
    expect(refused.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { product_id: scarce },
    })
    // The hold on `held` was taken, then given back: its unit is on sale, and not hinted away.
    expect(await stockOf(ctx.deps, held)).toEqual({ available: 1, reserved: 0, sold: 0 })
    expect(hintedSoldOut(ctx.deps.redis, [held])).toBeUndefined()
    await checkedOut(held)
  })

  it('a draft refused for want of stock checks out once the stock is back', async () => {
    // Holds are taken in partition order: `plenty`'s first, so it is held when `scarce` refuses.
    let plenty = await newProduct(5)
    const { productPartition } = ctx.deps.keys
    while (productPartition(plenty) === 3) plenty = await newProduct(5)
    const scarce = await newProduct(2)
    expect(productPartition(plenty)).toBeLessThan(productPartition(scarce))
    const created = await store.createOrder({
      products: [
        { product_id: plenty, quantity: 1 },
        { product_id: scarce, quantity: 2 },
      ],
    })
    const other = await checkedOut(scarce)
    // Its hold on `plenty` is taken, then given back when `scarce` refuses.
    const refused = await store.checkout(created.body.data.id)
    expect(refused.body.error).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { product_id: scarce },
    })
    expect(await stockOf(ctx.deps, plenty)).toEqual({ available: 5, reserved: 0, sold: 0 })

    expect((await store.cancel(other)).status).toBe(200)
    const again = await store.checkout(created.body.data.id)
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect(await stockOf(ctx.deps, plenty)).toEqual({ available: 4, reserved: 1, sold: 0 })
    expect(await stockOf(ctx.deps, scarce)).toEqual({ available: 0, reserved: 2, sold: 0 })
    // Postgres follows: the new attempt's hold is newer than the one given back.
    await expectInvariants(ctx)
    expect((await store.cancel(created.body.data.id)).status).toBe(200)
  })
})

/** lua/holdLines.lua and lua/endHold.lua, called as a checkout calls them, and sent again. */
describe('a hold, its attempts and their resends', () => {
  it('a resend of a released attempt is refused, a new attempt is held, a late release spares it', async () => {
    const productId = await newProduct(5)
    const partition = ctx.deps.keys.productPartition(productId)
    const orderId = (
      await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    ).body.data.id as string
    const lines = [{ product_id: productId, quantity: 2, price: 0 }]
    const hold = (attempt: string) =>
      holdLinesScript(ctx.deps, {
        partition,
        orderId,
        home: partition,
        customerId: '',
        lines,
        reservationTtlMs: 60_000,
        maxBacklog: 1_000,
        attempt,
      })
    const release = (scope: string) =>
      endHoldScript(ctx.deps, partition, orderId, 'release', lines, scope)

    expect(await hold('first')).toMatchObject({ code: 'OK', created: true })
    expect(await release('first')).toEqual({ code: 'OK', outcome: 'released' })
    // The first attempt's hold, sent again after its release: refused, nothing reserved.
    expect(await hold('first')).toEqual({ code: 'RELEASED' })
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 5, reserved: 0, sold: 0 })
    // A second attempt is held; the first's release, arriving late, leaves it alone.
    expect(await hold('second')).toMatchObject({ code: 'OK', created: true })
    expect(await release('first')).toEqual({ code: 'OK', outcome: 'released' })
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 3, reserved: 2, sold: 0 })
    // The order ends: its hold goes, and no attempt's resend takes one again.
    expect(await release('*')).toEqual({ code: 'OK', outcome: 'released' })
    expect(await hold('second')).toEqual({ code: 'RELEASED' })
    expect(await hold('third')).toEqual({ code: 'RELEASED' })
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect((await store.cancel(orderId)).status).toBe(200)
  })
})
