import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HEADS_MAX_BYTES, headsCacheSize, rememberHead } from '../src/orders/linesCache.js'
import { cachedPageCount, MAX_CACHED_PAGES } from '../src/products/catalogue.js'
import { api } from './helpers/api.js'
import { createTestContext, type TestContext } from './helpers/context.js'

// Each bound on what a request can make the service keep, tried past its limit.
let ctx: TestContext
let store: ReturnType<typeof api>

beforeAll(async () => {
  ctx = await createTestContext({ CATALOGUE_CACHE_MS: '60000' })
  store = api(ctx)
  await store.addProduct({ name: 'Bounded', quantity: 1_000, price: 1 })
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
