import { expect } from 'vitest'
import { derivedStock } from '../../src/stock/derived.js'
import { adminHeaders, type TestContext } from './context.js'

/** Runs the admin stock check through the app. */
export async function stockCheck(ctx: Pick<TestContext, 'app'>, query = '') {
  const res = await ctx.app.request(`/api/v1/check-product-quantity${query}`, {
    headers: adminHeaders,
  })
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
  return { status: res.status, body: (await res.json()) as any }
}

/**
 * The store's invariants, once the worker caught up: every product is in sync,
 * no dead letter waits, and each product's live available + reserved + sold
 * equals its ledger total. Every file checks them after every test
 * (`test/setup.ts`); tests that sell call this to say so where it matters.
 */
export async function expectAllInSync(ctx: Pick<TestContext, 'app' | 'drain' | 'deps'>) {
  await expectInvariants(ctx)
  const { body } = await stockCheck(ctx)
  expect(body.data.products.length).toBeGreaterThan(0)
}

type Checked = { product_id: number; status: string; reason?: string }

/** Every product's live verdict, page by page (and one by one for any a page reordered away). */
async function checkEveryProduct(ctx: Pick<TestContext, 'app' | 'deps'>): Promise<Checked[]> {
  const seen = new Map<number, Checked>()
  for (let page = 1; ; page++) {
    const { status, body } = await stockCheck(ctx, `?per_page=200&page=${page}`)
    expect(status).toBe(200)
    for (const p of body.data.products as Checked[]) seen.set(p.product_id, p)
    if (page >= body.data.pagination.total_pages) break
  }
  for (const { id } of await ctx.deps.sql<{ id: string }[]>`select id from products`) {
    if (seen.has(Number(id))) continue
    const { body } = await stockCheck(ctx, `?product_id=${id}`)
    seen.set(Number(id), body.data.products[0])
  }
  return [...seen.values()]
}

export async function expectInvariants(ctx: Pick<TestContext, 'app' | 'drain' | 'deps'>) {
  await ctx.drain()
  const notInSync = (await checkEveryProduct(ctx)).filter((p) => p.status !== 'in_sync')
  expect(notInSync).toEqual([])
  const { redis, keys, sql } = ctx.deps
  expect(await redis.xlen(keys.deadLetters)).toBe(0)
  expect(Number((await redis.get(keys.deadLettersDropped)) ?? 0)).toBe(0)
  for (const stock of await derivedStock(sql)) {
    const [available, reserved, sold] = (
      await redis.hmget(keys.product(stock.productId), 'available', 'reserved', 'sold')
    ).map(Number)
    expect((available ?? 0) + (reserved ?? 0) + (sold ?? 0), `product ${stock.productId}`).toBe(
      stock.total,
    )
  }
}
