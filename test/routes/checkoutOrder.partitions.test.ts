import { describe, expect, it } from 'vitest'
import { hintedSoldOut, hintSoldOut } from '../../src/products/soldOut.js'
import { stockOf } from '../helpers/snapshot.js'
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
})
