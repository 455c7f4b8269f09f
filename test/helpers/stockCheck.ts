import { expect } from 'vitest'
import { adminHeaders, type TestContext } from './context.js'

/** Runs the admin stock check through the app. */
export async function stockCheck(ctx: Pick<TestContext, 'app'>, query = '') {
  const res = await ctx.app.request(`/api/v1/check-product-quantity${query}`, {
    headers: adminHeaders,
  })
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
  return { status: res.status, body: (await res.json()) as any }
}

/** After a sale, once the worker caught up, every product is in sync. */
export async function expectAllInSync(ctx: Pick<TestContext, 'app' | 'drain'>) {
  await ctx.drain()
  const { status, body } = await stockCheck(ctx)
  expect(status).toBe(200)
  const notInSync = (body.data.products as { product_id: number; status: string }[]).filter(
    (p) => p.status !== 'in_sync',
  )
  expect(notInSync).toEqual([])
  expect(body.data.products.length).toBeGreaterThan(0)
}
