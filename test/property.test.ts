import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expireDueReservations } from '../src/orders/expirySweeper.js'
import type { OrderStatus } from '../src/orders/schemas.js'
import { type StockMovement, TRANSITIONS, transitionOf } from '../src/orders/stateMachine.js'
import type { ScriptName } from '../src/redis/scripts.js'
import { derivedStock } from '../src/stock/derived.js'
import { stockOf } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

const { ctx, store } = useStore()

/** A plain in-memory store: what the real one must agree with. */
interface ModelProduct {
  id: number
  available: number
  reserved: number
  sold: number
}
interface ModelOrder {
  id: string
  status: OrderStatus
  lines: { product: number; quantity: number }[]
  paymentId?: string
}

type Op =
  | { kind: 'create'; lines: { product: number; quantity: number }[] }
  | { kind: 'checkout' | 'pay' | 'confirm' | 'reject' | 'cancel' | 'expire'; order: number }
  | { kind: 'restock'; product: number; quantity: number }

const PRODUCTS = 2

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      lines: fc.array(
        fc.record({
          product: fc.integer({ min: 0, max: PRODUCTS - 1 }),
          quantity: fc.integer({ min: 1, max: 4 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('checkout', 'pay', 'confirm', 'reject', 'cancel', 'expire'),
      order: fc.nat(3), // 0 = the newest order: keeps lifecycles moving
    }),
    weight: 6,
  },
  fc.record({
    kind: fc.constant('restock' as const),
    product: fc.integer({ min: 0, max: PRODUCTS - 1 }),
    quantity: fc.integer({ min: 1, max: 5 }),
  }),
)

function merge(lines: { product: number; quantity: number }[]) {
  const merged = new Map<number, number>()
  for (const l of lines) merged.set(l.product, (merged.get(l.product) ?? 0) + l.quantity)
  return [...merged].map(([product, quantity]) => ({ product, quantity }))
}

async function forceExpiry(orderId: string) {
  const { redis, keys } = ctx.deps
  if ((await redis.hget(keys.order(orderId), 'status')) !== 'checkout') return
  await redis.hset(keys.order(orderId), 'reserved_until', '1')
  await redis.zadd(keys.partition(keys.orderPartition(orderId)).reservations, 1, orderId)
  await expireDueReservations(ctx.deps)
}

async function step(op: Op, products: ModelProduct[], orders: ModelOrder[]) {
  if (op.kind === 'create') {
    const lines = merge(op.lines)
    const res = await store.createOrder({
      products: lines.map((l) => ({ product_id: products[l.product]?.id, quantity: l.quantity })),
    })
    const fits = lines.every((l) => l.quantity <= (products[l.product]?.available ?? 0))
    expect(res.status).toBe(fits ? 200 : 409)
    if (fits) orders.push({ id: res.body.data.id, status: 'draft', lines })
    return
  }
  if (op.kind === 'restock') {
    const product = products[op.product] as ModelProduct
    expect((await store.restock(product.id, op.quantity)).status).toBe(200)
    product.available += op.quantity
    return
  }
  const order = orders[orders.length - 1 - (op.order % Math.max(orders.length, 1))]
  if (!order) return
  // What the table (src/orders/stateMachine.ts) says this script does from the order's status.
  const script = SCRIPT_OF[op.kind]
  const transition = transitionOf(script, order.status)
  const fits = order.lines.every((l) => l.quantity <= (products[l.product]?.available ?? 0))
  let res: Awaited<ReturnType<typeof store.call>> | undefined
  switch (op.kind) {
    case 'checkout':
      res = await store.checkout(order.id)
      break
    case 'pay':
      res = await store.pay(order.id)
      break
    case 'confirm':
    case 'reject':
      if (!order.paymentId) return
      res =
        op.kind === 'confirm'
          ? await store.confirm(order.paymentId)
          : await store.reject(order.paymentId)
      break
    case 'cancel':
      res = await store.cancel(order.id)
      break
    case 'expire':
      // A hold run out, then the sweeper: it takes only due holds and skips any other order.
      await forceExpiry(order.id)
      break
  }
  const taken =
    op.kind === 'expire'
      ? TRANSITIONS.find((t) => t.script === 'expireOrder' && t.from === order.status)
      : transition
  if (!taken && op.kind === 'expire') return
  if (!taken) {
    const repeat = TRANSITIONS.some(
      (t) => t.script === script && t.repeatOk && t.to === order.status,
    )
    if (repeat) return expect(res?.status).toBe(200)
    return expect(res?.body.error.code).toBe('INVALID_STATE')
  }
  if (taken.stock === 'reserve' && !fits) return expect(res?.status).toBe(409)
  if (res) expect(res.status).toBe(200)
  for (const l of order.lines) {
    const p = products[l.product] as ModelProduct
    const [from, to] = MOVES[taken.stock ?? 'none']
    if (from && to) {
      p[from] -= l.quantity
      p[to] += l.quantity
    }
  }
  order.status = taken.to
  if (taken.payment?.from === null) order.paymentId = res?.body.data.payment_id
}

/** The script each operation runs. */
const SCRIPT_OF = {
  checkout: 'checkoutOrder',
  pay: 'payOrder',
  confirm: 'confirmPayment',
  reject: 'rejectPayment',
  cancel: 'cancelOrder',
  expire: 'expireOrder',
} as const satisfies Record<string, ScriptName>

/** A stock movement as the counters it moves units between. */
const MOVES: Record<StockMovement | 'none', [Counter | null, Counter | null]> = {
  reserve: ['available', 'reserved'],
  release: ['reserved', 'available'],
  sell: ['reserved', 'sold'],
  none: [null, null],
}
type Counter = 'available' | 'reserved' | 'sold'

describe('random interleavings of the lifecycle', () => {
  it('keep available + reserved + sold = total, and agree with the in-memory model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: PRODUCTS, maxLength: PRODUCTS }),
        fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }),
        async (initial, ops) => {
          const products: ModelProduct[] = []
          for (const quantity of initial) {
            const { body } = await store.addProduct({ name: 'Model', quantity, price: 1.25 })
            products.push({ id: body.data.id, available: quantity, reserved: 0, sold: 0 })
          }
          const totals = () => products.map((p) => p.available + p.reserved + p.sold)
          let expectedTotals = totals()
          const orders: ModelOrder[] = []
          for (const op of ops) {
            await step(op, products, orders)
            if (op.kind === 'restock') expectedTotals = totals()
            for (const p of products) {
              const live = await stockOf(ctx.deps, p.id)
              expect(live).toEqual({ available: p.available, reserved: p.reserved, sold: p.sold })
              expect(Math.min(live.available, live.reserved, live.sold)).toBeGreaterThanOrEqual(0)
            }
            expect(totals()).toEqual(expectedTotals)
          }
          for (const order of orders) {
            expect((await store.getOrder(order.id)).body.data.status).toBe(order.status)
          }
          await ctx.drain()
          const derived = await derivedStock(
            ctx.deps.sql,
            products.map((p) => p.id),
          )
          expect(
            derived.map(({ available, reserved, sold }) => ({ available, reserved, sold })),
          ).toEqual(
            products.map(({ available, reserved, sold }) => ({ available, reserved, sold })),
          )
        },
      ),
      { numRuns: 30 },
    )
    await expectAllInSync(ctx)
  })
})
