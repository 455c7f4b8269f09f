import { afterAll, beforeAll, expect } from 'vitest'
import { ERROR_STATUS, type ErrorCode } from '../../src/http/errors.js'
import { type Api, api, httpApi } from './api.js'
import { createTestContext, type TestContext } from './context.js'
import { listen } from './server.js'
import { storeSnapshot } from './snapshot.js'

type Answer = Awaited<ReturnType<Api['call']>>

/**
 * A test file's store: its own database and key prefix, made before its
 * tests and removed after them. `ctx` and `store` may be named at the top of
 * the file (they reach the store once it is made). With `listen`, `http` also
 * calls the app through a real listening server.
 *
 *   const { ctx, store, newProduct, expectRefused } = useStore()
 */
export function useStore(env: Record<string, string> = {}, options: { listen?: boolean } = {}) {
  let current: TestContext | undefined
  let server: Awaited<ReturnType<typeof listen>> | undefined
  beforeAll(async () => {
    current = await createTestContext(env)
    if (options.listen) server = await listen(current)
  })
  afterAll(async () => {
    await server?.close()
    await current?.close()
  })
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the store is made in beforeAll: use it inside a test')
    return value
  }
  const ctx = new Proxy({} as TestContext, {
    get: (_, key) => Reflect.get(made(current), key),
  })
  const store = api(ctx)
  let products = 0

  return {
    ctx,
    store,
    /** The same calls through the real listening server (with `{ listen: true }`). */
    http: () => httpApi(made(server).url),
    url: () => made(server).url,
    /** Adds a product through the API (admin), and returns its id. */
    async newProduct(quantity: number, extra: Record<string, unknown> = {}): Promise<number> {
      products += 1
      const res = await store.addProduct({
        name: `Product ${products}`,
        quantity,
        price: 100,
        ...extra,
      })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      return res.body.data.id as number
    },
    /** An order of `quantity` units of one product, checked out: its id. */
    async checkedOut(productId: number, quantity = 1, customerId?: string): Promise<string> {
      const created = await store.createOrder({
        products: [{ product_id: productId, quantity }],
        customer_id: customerId,
      })
      expect(created.status, JSON.stringify(created.body)).toBe(200)
      const res = await store.checkout(created.body.data.id)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      return created.body.data.id as string
    },
    /**
     * Runs `call` and checks it is refused with `code` (and that code's status),
     * and that nothing changed: Redis and Postgres hold what they held before.
     */
    async expectRefused(call: () => Promise<Answer>, code: ErrorCode): Promise<Answer> {
      const before = await storeSnapshot(made(current).deps)
      const res = await call()
      expect(res.status, JSON.stringify(res.body)).toBe(ERROR_STATUS[code])
      expect(res.body.error?.code).toBe(code)
      expect(await storeSnapshot(made(current).deps)).toEqual(before)
      return res
    },
  }
}
