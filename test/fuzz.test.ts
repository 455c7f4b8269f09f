import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { storeSnapshot } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

const { ctx, store } = useStore()

/** Text from every corner: controls, every Unicode plane, lone surrogates, long strings. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 260 }),
  fc.string({ unit: 'grapheme', minLength: 190, maxLength: 210 }),
  fc.string({
    unit: fc.constantFrom('\u0000', '\u0007', '\u007f', '\u0085', '\u202e', '\ud800', 'a', ' '),
  }),
  fc.constantFrom(
    'Sepatu Boots',
    'ａｌｉｃｅ',
    'alice\u200b',
    'Cafe\u0301',
    '😀'.repeat(128),
    '😀'.repeat(129),
  ),
)

/** Numbers at and around each column's limits, and some that are not integers at all. */
const edgeNumber = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(
    10_000,
    10_001,
    1_000_000,
    1_000_001,
    999_999_999,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 53,
    -1,
    1.5,
    1e308,
    -0.01,
  ),
)
const edgePrice = fc.constantFrom(0, 0.01, 0.001, 19.99, 10_000_000, 10_000_000.01, 1e21, -0.01)

type Command =
  | { kind: 'product'; name: string; quantity: number; price: number; limit: number | null }
  | { kind: 'restock'; product: number; quantity: number }
  | { kind: 'order'; product: number; quantity: number; customer: string | undefined }
  | { kind: 'checkout' | 'cancel'; order: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('product' as const),
    name: hostileText,
    quantity: edgeNumber,
    price: edgePrice,
    limit: fc.option(edgeNumber),
  }),
  fc.record({ kind: fc.constant('restock' as const), product: fc.nat(), quantity: edgeNumber }),
  fc.record({
    kind: fc.constant('order' as const),
    product: fc.nat(),
    quantity: edgeNumber,
    customer: fc.option(hostileText, { nil: undefined }),
  }),
  // Polite orders too, so every run acknowledges some, and checkouts and cancels meet real orders.
  fc.record({
    kind: fc.constant('order' as const),
    product: fc.nat(),
    quantity: fc.integer({ min: 1, max: 3 }),
    customer: fc.option(fc.constantFrom('alice', 'bob'), { nil: undefined }),
  }),
  fc.record({ kind: fc.constantFrom('checkout' as const, 'cancel' as const), order: fc.nat() }),
)

describe('random text and numbers at every limit, over the HTTP API', () => {
  it('every 2xx reaches Postgres with no dead letter; every refusal is a 4xx that changed nothing', async () => {
    const seed = await store.addProduct({
      name: 'Seed',
      quantity: 100,
      price: 1,
      max_per_customer: 5,
    })
    const products: number[] = [seed.body.data.id]
    const orders: { id: string; customer_id: string | null }[] = []

    async function run(c: Command) {
      switch (c.kind) {
        case 'product':
          return store.addProduct({
            name: c.name,
            quantity: c.quantity,
            price: c.price,
            ...(c.limit === null ? {} : { max_per_customer: c.limit }),
          })
        case 'restock':
          return store.restock(products[c.product % Math.max(1, products.length)] ?? 1, c.quantity)
        case 'order':
          return store.createOrder({
            products: [
              {
                product_id: products[c.product % Math.max(1, products.length)] ?? 1,
                quantity: c.quantity,
              },
            ],
            ...(c.customer === undefined ? {} : { customer_id: c.customer }),
          })
        case 'checkout':
        case 'cancel': {
          const order =
            orders[c.order % Math.max(1, orders.length)]?.id ??
            '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10'
          return c.kind === 'checkout' ? store.checkout(order) : store.cancel(order)
        }
      }
    }

    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 25 }), async (commands) => {
        for (const c of commands) {
          const before = await storeSnapshot(ctx.deps)
          const res = await run(c)
          expect(res.status, JSON.stringify(c)).toBeLessThan(500)
          if (res.status >= 400) {
            expect(res.body.error.code, JSON.stringify(c)).toEqual(expect.any(String))
            expect(await storeSnapshot(ctx.deps), JSON.stringify(c)).toEqual(before)
            continue
          }
          if (c.kind === 'product') products.push(res.body.data.id)
          if (c.kind === 'order') {
            orders.push({ id: res.body.data.id, customer_id: res.body.data.customer_id })
          }
        }
        await expectAllInSync(ctx)
        expect(await ctx.deps.redis.xlen(ctx.deps.keys.deadLetters)).toBe(0)
      }),
      { numRuns: 12 },
    )

    // Every order the API acknowledged is in Postgres, with the text it answered with.
    const rows = await ctx.deps.sql<{ id: string; customer_id: string | null }[]>`
      select id, customer_id from orders
    `
    const persisted = new Map(rows.map((r) => [r.id, r.customer_id]))
    for (const order of orders) expect(persisted.get(order.id)).toBe(order.customer_id)
    expect(orders.length).toBeGreaterThan(0)
  }, 120_000)
})
