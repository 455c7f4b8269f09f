import { describe, expect, it } from 'vitest'
import { expireDueReservations, expireStaleDrafts } from '../../src/orders/expirySweeper.js'
import { stockOf } from '../helpers/snapshot.js'
import { expectAllInSync } from '../helpers/stockCheck.js'
import { useStore } from '../helpers/store.js'

const { ctx: short, store: shortStore } = useStore({
  RESERVATION_TTL_SECONDS: '1',
  DRAFT_TTL_SECONDS: '1',
})

/** Reservations and drafts that run out of time. */
describe('expiry', () => {
  it('the sweeper releases expired stock, and a later payment is refused', async () => {
    const { body } = await shortStore.addProduct({ name: 'Flash', quantity: 5, price: 1 })
    const created = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 2 }],
    })
    expect((await shortStore.checkout(created.body.data.id)).status).toBe(200)
    expect(await stockOf(short.deps, body.data.id)).toEqual({ available: 3, reserved: 2, sold: 0 })
    expect(await expireDueReservations(short.deps)).toBe(0)

    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await expireDueReservations(short.deps)).toBe(1)
    expect(await stockOf(short.deps, body.data.id)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect((await shortStore.getOrder(created.body.data.id)).body.data.status).toBe('expired')

    const pay = await shortStore.pay(created.body.data.id)
    expect(pay.status).toBe(409)
    expect(pay.body.error.details.status).toBe('expired')
  })

  it('drafts nobody checked out expire, and leave Redis once Postgres has them', async () => {
    const { body } = await shortStore.addProduct({ name: 'Abandoned', quantity: 5, price: 1 })
    const abandoned = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 1 }],
    })
    const kept = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 1 }],
    })
    expect((await shortStore.checkout(kept.body.data.id)).status).toBe(200)
    expect(await expireStaleDrafts(short.deps)).toBe(0)

    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await expireStaleDrafts(short.deps)).toBe(1)
    expect((await shortStore.getOrder(abandoned.body.data.id)).body.data.status).toBe('expired')
    expect((await shortStore.checkout(abandoned.body.data.id)).body.error).toMatchObject({
      code: 'INVALID_STATE',
      details: { status: 'expired' },
    })
    expect(await short.deps.redis.zcard(short.deps.keys.drafts)).toBe(0)
    await short.drain()
    expect(
      await short.deps.redis.pttl(short.deps.keys.order(abandoned.body.data.id)),
    ).toBeGreaterThan(0)
    const [row] = await short.deps
      .sql`select status from orders where id = ${abandoned.body.data.id}`
    expect(row?.status).toBe('expired')
    expect((await shortStore.cancel(kept.body.data.id)).status).toBe(200)
  })

  it('a payment after the deadline is refused even before the sweeper runs', async () => {
    const { body } = await shortStore.addProduct({ name: 'Flash 2', quantity: 5, price: 1 })
    const created = await shortStore.createOrder({
      products: [{ product_id: body.data.id, quantity: 2 }],
    })
    await shortStore.checkout(created.body.data.id)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const pay = await shortStore.pay(created.body.data.id)
    expect(pay.status).toBe(409)
    expect(pay.body.error.code).toBe('RESERVATION_EXPIRED')
    expect(await stockOf(short.deps, body.data.id)).toEqual({ available: 5, reserved: 0, sold: 0 })
    expect(await expireDueReservations(short.deps)).toBe(0)
    await expectAllInSync(short)
  })
})
