import { describe, expect, it } from 'vitest'
import { adminHeaders, jsonHeaders } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

const { ctx, store, expectRefused } = useStore()

const patch = (id: number, body: unknown, headers: Record<string, string> = adminHeaders) =>
  store.call('PATCH', `/api/v1/products/${id}`, body, headers)
const redisNow = async () => {
  const [seconds, micros] = await ctx.deps.redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('sale windows', () => {
  it('100 buyers racing across the start instant: none is served before it', async () => {
    const starts = (await redisNow()) + 1_200
    const res = await store.addProduct({
      name: 'Flash',
      quantity: 50,
      price: 9,
      sale_starts_at: new Date(starts).toISOString(),
    })
    expect(res.status).toBe(200)
    const id = res.body.data.id as number
    // Drafts may be ready before the start; checkout opens at the instant.
    const drafts = await Promise.all(
      Array.from({ length: 100 }, () =>
        store.createOrder({ products: [{ product_id: id, quantity: 1 }] }),
      ),
    )
    expect(drafts.every((d) => d.status === 200)).toBe(true)

    const ttlMs = ctx.deps.config.RESERVATION_TTL_SECONDS * 1000
    const early: number[] = []
    const served: number[] = []
    await Promise.all(
      drafts.map(async (draft) => {
        const deadline = starts + 1_500
        while ((await redisNow()) < deadline) {
          const before = await redisNow()
          const out = await store.checkout(draft.body.data.id)
          if (out.status === 200) {
            served.push(Date.parse(out.body.data.reserved_until) - ttlMs)
            return
          }
          if (out.body.error.code === 'SALE_NOT_STARTED') {
            expect(out.body.error.details.sale_starts_at).toBe(new Date(starts).toISOString())
            early.push(before)
          } else {
            expect(out.body.error.code).toBe('OUT_OF_STOCK')
            return
          }
          await sleep(20)
        }
      }),
    )
    expect(early.length).toBeGreaterThan(0)
    expect(served).toHaveLength(50)
    // Every reservation was made at or after the start, by Redis's clock.
    expect(Math.min(...served)).toBeGreaterThanOrEqual(starts)
    expect(await stockOf(ctx.deps, id)).toEqual({ available: 0, reserved: 50, sold: 0 })
    await expectAllInSync(ctx)
  })

  it('PATCH ending a sale stops checkouts at once, and every refusal changes nothing', async () => {
    const id = (await store.addProduct({ name: 'Ending', quantity: 10, price: 2 })).body.data.id
    const draft = await store.createOrder({ products: [{ product_id: id, quantity: 1 }] })
    const ended = await patch(id, { sale_ends_at: new Date(Date.now() - 1_000).toISOString() })
    expect(ended.status).toBe(200)
    expect(ended.body.data.sale_ends_at).not.toBeNull()

    await expectRefused(() => store.checkout(draft.body.data.id), 'SALE_ENDED')
    const create = await store.createOrder({ products: [{ product_id: id, quantity: 1 }] })
    expect(create.body.error.code).toBe('SALE_ENDED')

    // Reopened: the same draft checks out.
    expect((await patch(id, { sale_ends_at: null })).status).toBe(200)
    expect((await store.checkout(draft.body.data.id)).status).toBe(200)
    await expectAllInSync(ctx)
  })

  it('the product list shows the window, so a storefront can count down', async () => {
    const starts = '2099-12-12T00:00:00.000Z'
    const ends = '2099-12-12T02:00:00.000Z'
    const id = (
      await store.addProduct({
        name: 'Later',
        quantity: 1,
        price: 1,
        sale_starts_at: starts,
        sale_ends_at: ends,
      })
    ).body.data.id
    const listed = (await store.listProducts('?per_page=200')).body.data.find(
      (p: { id: number }) => p.id === id,
    )
    expect(listed).toMatchObject({ sale_starts_at: starts, sale_ends_at: ends })
  })
})

describe('PATCH /api/v1/products/{id}', () => {
  it('changes the catalogue at once in Redis and, through the write-behind, in Postgres; orders keep their price', async () => {
    const id = (await store.addProduct({ name: 'Before', quantity: 10, price: 10 })).body.data.id
    const order = await store.createOrder({ products: [{ product_id: id, quantity: 2 }] })
    const changed = await patch(id, {
      name: 'After',
      price: 12.5,
      lead_time: 2,
      most_lead_time: 5,
      max_per_customer: 3,
      sale_starts_at: '2020-01-01T00:00:00+07:00',
    })
    expect(changed.status).toBe(200)
    expect(changed.body.data).toMatchObject({
      name: 'After',
      price: 12.5,
      lead_time: 2,
      most_lead_time: 5,
      max_per_customer: 3,
      sale_starts_at: '2019-12-31T17:00:00.000Z',
      sale_ends_at: null,
    })
    expect((await store.getOrder(order.body.data.id)).body.data).toMatchObject({
      total_amount: 20,
      order_details: [{ product_name: 'After', price: 10, amount: 20 }],
    })

    await ctx.drain()
    const [row] = await ctx.deps.sql`
      select name, price::text, lead_time, most_lead_time, max_per_customer, sale_starts_at, catalogue_version
      from products where id = ${id}
    `
    expect(row).toEqual({
      name: 'After',
      price: '12.50',
      lead_time: 2,
      most_lead_time: 5,
      max_per_customer: 3,
      sale_starts_at: new Date('2019-12-31T17:00:00.000Z'),
      catalogue_version: 1,
    })
    const [line] = await ctx.deps
      .sql`select price::text from order_details where order_id = ${order.body.data.id}`
    expect(line?.price).toBe('10.00')

    // Deactivated: gone from the list, and new orders are refused.
    expect((await patch(id, { status: 'inactive' })).status).toBe(200)
    const listed = (await store.listProducts('?per_page=200')).body.data.map(
      (p: { id: number }) => p.id,
    )
    expect(listed).not.toContain(id)
    expect((await store.createOrder({ products: [{ product_id: id, quantity: 1 }] })).status).toBe(
      404,
    )
    await expectAllInSync(ctx)
  })

  it('a restart keeps a change Postgres has not seen yet', async () => {
    const id = (await store.addProduct({ name: 'Fresh', quantity: 1, price: 1 })).body.data.id
    await ctx.drain()
    expect((await patch(id, { name: 'Renamed' })).status).toBe(200)
    // A service start loads the catalogue from Postgres (still 'Fresh'): the newer Redis copy wins.
    const { loadStockIntoRedis } = await import('../src/recovery/load.js')
    await loadStockIntoRedis(ctx.deps)
    expect(await ctx.deps.redis.hget(ctx.deps.keys.product(id), 'name')).toBe('Renamed')
    await expectAllInSync(ctx)
  })

  const invalid: [string, unknown][] = [
    ['an empty body', {}],
    ['an unknown field', { quantity: 5 }],
    ['a NUL in the name', { name: 'a\u0000b' }],
    ['a negative price', { price: -1 }],
    [
      'a window that ends before it starts',
      { sale_starts_at: '2030-01-02T00:00:00Z', sale_ends_at: '2030-01-01T00:00:00Z' },
    ],
    ['a date without an offset', { sale_starts_at: '2030-01-02 00:00' }],
  ]
  for (const [label, body] of invalid) {
    it(`refuses ${label} with 422 and changes nothing`, async () => {
      const id = (await store.addProduct({ name: 'Fixed', quantity: 1, price: 1 })).body.data.id
      const before = await storeSnapshot(ctx.deps)
      const res = await patch(id, body)
      expect(res.status).toBe(422)
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
    })
  }

  it('checks the merged product: most_lead_time below the current lead_time, or an end before the current start', async () => {
    const id = (
      await store.addProduct({
        name: 'Merged',
        quantity: 1,
        price: 1,
        lead_time: 4,
        sale_starts_at: '2030-01-02T00:00:00Z',
      })
    ).body.data.id
    const before = await storeSnapshot(ctx.deps)
    const lead = await patch(id, { most_lead_time: 2 })
    expect(lead.status).toBe(422)
    expect(lead.body.error.details).toEqual([
      { field: 'most_lead_time', message: 'must be at least lead_time' },
    ])
    const window = await patch(id, { sale_ends_at: '2030-01-01T00:00:00Z' })
    expect(window.status).toBe(422)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('is for the admin only, and 404 for an unknown product', async () => {
    const id = (await store.addProduct({ name: 'Guarded', quantity: 1, price: 1 })).body.data.id
    expect((await patch(id, { name: 'x' }, jsonHeaders)).status).toBe(401)
    expect(
      (
        await patch(
          id,
          { name: 'x' },
          { ...jsonHeaders, authorization: 'Bearer wrong-token-wrong-token' },
        )
      ).status,
    ).toBe(403)
    expect((await patch(987_654, { name: 'x' })).status).toBe(404)
  })
})
