import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HEADS_MAX_BYTES, headsCacheSize, rememberHead } from '../src/orders/linesCache.js'
import { cachedPageCount, MAX_CACHED_PAGES } from '../src/products/catalogue.js'
import { api } from './helpers/api.js'
import { createTestContext, jsonHeaders, type TestContext } from './helpers/context.js'

// Each bound on what a request can make the service keep, tried past its limit.
let ctx: TestContext
let store: ReturnType<typeof api>
let productId: number

beforeAll(async () => {
  ctx = await createTestContext({ CATALOGUE_CACHE_MS: '60000' })
  store = api(ctx)
  productId = (await store.addProduct({ name: 'Bounded', quantity: 1_000, price: 1 })).body.data
    .id as number
})
afterAll(() => ctx.close())

describe('bounded memory', () => {
  it(`GET /products keeps at most ${MAX_CACHED_PAGES} pages, however many a client asks for`, async () => {
    for (let page = 1; page <= 150; page++) {
      const res = await store.listProducts(`?page=${page}&per_page=${(page % 7) + 1}`)
      expect(res.status).toBe(200)
    }
    expect(cachedPageCount(ctx.deps.redis)).toBeLessThanOrEqual(MAX_CACHED_PAGES)
    expect(cachedPageCount(ctx.deps.redis)).toBeGreaterThan(0)
  })

  it('an anonymous client gets 60 new Idempotency-Keys at once, then one a second', async () => {
    const body = JSON.stringify({ products: [{ product_id: productId, quantity: 1 }] })
    const statuses: number[] = []
    for (let i = 0; i < 70; i++) {
      const res = await ctx.app.request('/api/v1/create-order', {
        method: 'POST',
        headers: { ...jsonHeaders, 'idempotency-key': `flood-${i}` },
        body,
      })
      statuses.push(res.status)
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).not.toBeNull()
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED')
      }
    }
    const accepted = statuses.filter((s) => s === 200).length
    expect(accepted).toBeGreaterThanOrEqual(60)
    expect(accepted).toBeLessThanOrEqual(62) // a token may refill while the loop runs
    const { redis, keys } = ctx.deps
    const entries = await redis.keys(`{${keys.prefix}}:idempotency:*`)
    expect(entries.length).toBe(accepted)
    // The refused requests changed nothing: one draft per accepted key.
    expect(await redis.zcard(keys.drafts)).toBe(accepted)
    for (const id of await redis.zrange(keys.drafts, '0', '-1')) {
      expect((await store.cancel(id)).status).toBe(200)
    }
  })

  it('the order-heads cache stays within its bytes, whatever the drafts hold', () => {
    const owner = {}
    const lines = Array.from({ length: 100 }, (_, i) => ({
      product_id: i + 1,
      quantity: 10_000,
      price: 99_999_999,
    }))
    for (let i = 0; i < 15_000; i++) {
      rememberHead(owner, `order-${String(i).padStart(30, '0')}`, { lines, customerId: 'c' })
    }
    const size = headsCacheSize(owner)
    expect(size.bytes).toBeLessThanOrEqual(HEADS_MAX_BYTES)
    expect(size.entries).toBeLessThan(15_000)
    expect(size.entries).toBeGreaterThan(5_000)
  })
})
