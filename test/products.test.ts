import { describe, expect, it } from 'vitest'
import { adminHeaders, jsonHeaders } from './helpers/context.js'
import { stockOf, storeSnapshot } from './helpers/snapshot.js'
import { useStore } from './helpers/store.js'

const { ctx, store, expectRefused } = useStore()

describe('POST /api/v1/products', () => {
  it('accepts the original body and loads the stock into Redis', async () => {
    const res = await store.addProduct({ name: 'Sepatu Boots', quantity: 20, price: 100.0 })
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({
      name: 'Sepatu Boots',
      price: 100,
      quantity: 20,
      status: 'active',
      max_per_customer: null,
      stock: { available: 20, reserved: 0, sold: 0 },
    })
    const id = res.body.data.id as number
    expect(await stockOf(ctx.deps, id)).toEqual({ available: 20, reserved: 0, sold: 0 })
    const [row] = await ctx.deps.sql`select price::text, quantity from products where id = ${id}`
    expect(row).toEqual({ price: '100.00', quantity: 20 })
    const ledger = await ctx.deps
      .sql`select kind, quantity from stock_ledger where product_id = ${id}`
    expect(ledger).toEqual([{ kind: 'initial', quantity: 20 }])
  })

  it('stores prices exactly', async () => {
    const res = await store.addProduct({
      name: 'Kaos',
      quantity: 1,
      price: 19.99,
    })
    expect(res.status).toBe(200)
    const [row] = await ctx.deps
      .sql`select price::text from products where id = ${res.body.data.id}`
    expect(row?.price).toBe('19.99')
  })

  it('accepts the optional fields', async () => {
    const res = await store.addProduct({
      name: 'Limited Sneakers',
      quantity: 5,
      price: 250.5,
      status: 1,
      lead_time: 3,
      most_lead_time: 7,
      max_per_customer: 2,
    })
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({
      status: 'active',
      lead_time: 3,
      most_lead_time: 7,
      max_per_customer: 2,
    })
  })
})

describe('GET /api/v1/products', () => {
  it('lists active products with live stock and pagination', async () => {
    const hidden = await store.addProduct({
      name: 'Hidden',
      quantity: 1,
      price: 1,
      status: 'inactive',
    })
    expect(hidden.status).toBe(200)
    const res = await store.listProducts()
    expect(res.status).toBe(200)
    const names = (res.body.data as { name: string }[]).map((p) => p.name)
    expect(names).toContain('Sepatu Boots')
    expect(names).not.toContain('Hidden')
    expect(res.body.pagination).toEqual({
      page: 1,
      per_page: 50,
      total: names.length,
      total_pages: 1,
    })
  })

  it('pages through the products', async () => {
    const first = await store.listProducts('?page=1&per_page=2')
    const second = await store.listProducts('?page=2&per_page=2')
    expect(first.body.data).toHaveLength(2)
    expect(first.body.pagination.total_pages).toBe(Math.ceil(first.body.pagination.total / 2))
    const firstIds = (first.body.data as { id: number }[]).map((p) => p.id)
    const secondIds = (second.body.data as { id: number }[]).map((p) => p.id)
    expect(firstIds.some((id) => secondIds.includes(id))).toBe(false)
  })

  it('shows stock that moves with Redis', async () => {
    const { body } = await store.addProduct({ name: 'Live', quantity: 10, price: 5 })
    const order = await store.createOrder({ products: [{ product_id: body.data.id, quantity: 3 }] })
    expect((await store.checkout(order.body.data.id)).status).toBe(200)
    const res = await store.listProducts('?per_page=200')
    const live = (res.body.data as { id: number; stock: unknown; quantity: number }[]).find(
      (p) => p.id === body.data.id,
    )
    expect(live?.stock).toEqual({ available: 7, reserved: 3, sold: 0 })
    expect(live?.quantity).toBe(7)
  })

  it('rejects bad pagination with 422', async () => {
    for (const query of ['?page=0', '?per_page=1000', '?page=abc']) {
      const res = await store.listProducts(query)
      expect(res.status, query).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_FAILED')
    }
  })
})

describe('POST /api/v1/products/{id}/restock', () => {
  it('adds stock atomically and records it in the ledger', async () => {
    const { body } = await store.addProduct({ name: 'Restockable', quantity: 3, price: 10 })
    const id = body.data.id as number
    const res = await store.restock(id, 7)
    expect(res.status).toBe(200)
    expect(res.body.data.stock).toEqual({ available: 10, reserved: 0, sold: 0 })
    await ctx.drain()
    const ledger = await ctx.deps.sql`
      select kind, quantity from stock_ledger where product_id = ${id} order by created_date, kind
    `
    expect(ledger).toEqual([
      { kind: 'initial', quantity: 3 },
      { kind: 'restock', quantity: 7 },
    ])
    const [row] = await ctx.deps.sql`select quantity from products where id = ${id}`
    expect(row?.quantity).toBe(10)
  })

  it('adds every unit when restocks race', async () => {
    const { body } = await store.addProduct({ name: 'Raced', quantity: 0, price: 1 })
    const id = body.data.id as number
    const results = await Promise.all(Array.from({ length: 50 }, () => store.restock(id, 2)))
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(await stockOf(ctx.deps, id)).toEqual({ available: 100, reserved: 0, sold: 0 })
    await ctx.drain()
    const [sum] = await ctx.deps
      .sql`select sum(quantity)::int as total from stock_ledger where product_id = ${id}`
    expect(sum?.total).toBe(100)
  })
})

describe('bad input changes nothing', () => {
  const cases: [string, unknown, number, string][] = [
    ['malformed JSON', '{"name": "Boots", "quantity": 2,', 400, 'MALFORMED_JSON'],
    ['a missing name', { quantity: 1, price: 1 }, 422, 'VALIDATION_FAILED'],
    ['an empty name', { name: '   ', quantity: 1, price: 1 }, 422, 'VALIDATION_FAILED'],
    [
      'a name over 200 characters',
      { name: 'x'.repeat(201), quantity: 1, price: 1 },
      422,
      'VALIDATION_FAILED',
    ],
    ['a negative quantity', { name: 'a', quantity: -1, price: 1 }, 422, 'VALIDATION_FAILED'],
    ['a fractional quantity', { name: 'a', quantity: 1.5, price: 1 }, 422, 'VALIDATION_FAILED'],
    ['an absurd quantity', { name: 'a', quantity: 1e12, price: 1 }, 422, 'VALIDATION_FAILED'],
    ['a negative price', { name: 'a', quantity: 1, price: -5 }, 422, 'VALIDATION_FAILED'],
    [
      'a price with three decimals',
      { name: 'a', quantity: 1, price: 1.005 },
      422,
      'VALIDATION_FAILED',
    ],
    ['an absurd price', { name: 'a', quantity: 1, price: 1e20 }, 422, 'VALIDATION_FAILED'],
    ['a string quantity', { name: 'a', quantity: '5', price: 1 }, 422, 'VALIDATION_FAILED'],
    ['a string price', { name: 'a', quantity: 5, price: 'ten' }, 422, 'VALIDATION_FAILED'],
    [
      'most_lead_time below lead_time',
      { name: 'a', quantity: 1, price: 1, lead_time: 5, most_lead_time: 2 },
      422,
      'VALIDATION_FAILED',
    ],
    ['a JSON array', [1, 2], 422, 'VALIDATION_FAILED'],
  ]

  it.each(cases.map(([name, body, status, code]) => ({ name, body, status, code })))(
    'POST /products with $name gives $status $code',
    async ({ body, status, code }) => {
      const before = await storeSnapshot(ctx.deps)
      const res = await store.call('POST', '/api/v1/products', body, adminHeaders)
      expect(res.status).toBe(status)
      expect(res.body.error.code).toBe(code)
      expect(typeof res.body.error.message).toBe('string')
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
    },
  )

  it('names the offending field', async () => {
    const res = await store.addProduct({ name: 'a', quantity: -1, price: 1 })
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'quantity' })])
    expect(res.body.error.message).toContain('quantity')
  })

  const restockCases: [string, string, unknown, number, string][] = [
    ['an unknown product', '/api/v1/products/999999/restock', { quantity: 1 }, 404, 'NOT_FOUND'],
    [
      'a malformed product id',
      '/api/v1/products/abc/restock',
      { quantity: 1 },
      422,
      'VALIDATION_FAILED',
    ],
    ['a zero quantity', '/api/v1/products/{id}/restock', { quantity: 0 }, 422, 'VALIDATION_FAILED'],
    [
      'a negative quantity',
      '/api/v1/products/{id}/restock',
      { quantity: -4 },
      422,
      'VALIDATION_FAILED',
    ],
    [
      'a huge quantity',
      '/api/v1/products/{id}/restock',
      { quantity: 2 ** 40 },
      422,
      'VALIDATION_FAILED',
    ],
    [
      'a string quantity',
      '/api/v1/products/{id}/restock',
      { quantity: '3' },
      422,
      'VALIDATION_FAILED',
    ],
  ]

  it.each(
    restockCases.map(([name, path, body, status, code]) => ({ name, path, body, status, code })),
  )('restock with $name gives $status $code', async ({ path, body, status, code }) => {
    const { body: created } = await store.addProduct({ name: 'Target', quantity: 1, price: 1 })
    const before = await storeSnapshot(ctx.deps)
    const res = await store.call(
      'POST',
      path.replace('{id}', String(created.data.id)),
      body,
      adminHeaders,
    )
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe(code)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('refuses an oversized body with 413', async () => {
    await expectRefused(
      () =>
        store.call(
          'POST',
          '/api/v1/products',
          { name: 'a', quantity: 1, price: 1, pad: 'x'.repeat(70_000) },
          adminHeaders,
        ),
      'PAYLOAD_TOO_LARGE',
    )
  })

  it('refuses a non-JSON content type with 415', async () => {
    await expectRefused(
      () =>
        store.call('POST', '/api/v1/products', 'name=a&quantity=1&price=1', {
          authorization: adminHeaders.authorization,
          'content-type': 'application/x-www-form-urlencoded',
        }),
      'UNSUPPORTED_MEDIA_TYPE',
    )
  })
})

describe('admin token', () => {
  const body = { name: 'Sneaky', quantity: 1, price: 1 }

  it.each([
    ['no token', jsonHeaders, 401, 'UNAUTHORIZED'],
    [
      'a wrong token',
      { ...jsonHeaders, authorization: 'Bearer not-the-admin-token' },
      403,
      'FORBIDDEN',
    ],
    [
      'a malformed header',
      { ...jsonHeaders, authorization: 'Basic YWRtaW46YWRtaW4=' },
      401,
      'UNAUTHORIZED',
    ],
  ])('adding a product with %s gives %i', async (_name, headers, status, code) => {
    const before = await storeSnapshot(ctx.deps)
    const res = await store.call(
      'POST',
      '/api/v1/products',
      body,
      headers as Record<string, string>,
    )
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe(code)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })

  it('guards restock too', async () => {
    const { body: created } = await store.addProduct({ name: 'Guarded', quantity: 1, price: 1 })
    const before = await storeSnapshot(ctx.deps)
    const res = await store.call('POST', `/api/v1/products/${created.data.id}/restock`, {
      quantity: 5,
    })
    expect(res.status).toBe(401)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
  })
})
