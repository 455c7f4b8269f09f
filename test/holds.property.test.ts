import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import type { Deps } from '../src/deps.js'
import { expireDueReservations } from '../src/orders/expirySweeper.js'
import { auditHolds } from '../src/orders/holds.js'
import { SCRIPT_NAMES } from '../src/redis/scripts.js'
import { derivedStock } from '../src/stock/derived.js'
import { type Api, api } from './helpers/api.js'
import { stockOf } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { useStore } from './helpers/store.js'

/**
 * Orders across partitions, under random crash points and resends. Each step
 * runs through an API process that may die after any number of its script
 * calls, before a call is sent or after it ran (its reply lost); any script
 * call made so far may later arrive again (ioredis resends what it sent when
 * a reply was lost). Whatever happens, no unit is oversold, created or
 * destroyed; and once the reservations have run out and the hold audit has
 * run, every unit is where the orders say: reserved for paid orders, sold for
 * confirmed ones, on sale otherwise.
 */
const { ctx, store } = useStore({ PARTITIONS: process.env.TEST_PARTITIONS ?? '4' })

/** Where a step's process dies: after `calls` script calls, before the next is sent or once it ran. */
interface Crash {
  calls: number
  replyLost: boolean
}

type Op =
  | {
      kind: 'buy'
      lines: { product: number; quantity: number }[]
      /** How far the buyer (and the admin) go in one process: check out, pay, then decide. */
      until: 'draft' | 'checkout' | 'pay' | 'confirm' | 'reject'
      crash: Crash | null
    }
  | {
      kind: 'checkout' | 'pay' | 'confirm' | 'reject' | 'cancel'
      order: number
      crash: Crash | null
    }
  | {
      /**
       * Two buyers draft the same lines, then check out one after the other; with
       * `retry`, the first then cancels and the second checks out again.
       */
      kind: 'contend'
      lines: { product: number; quantity: number }[]
      retry: boolean
      crash: Crash | null
    }
  | { kind: 'expire'; order: number }
  | { kind: 'resend'; call: number }
  | { kind: 'audit' }

const PRODUCTS = 3

const crashArb = fc.option(fc.record({ calls: fc.nat(9), replyLost: fc.boolean() }), {
  freq: 2,
})
/** An order's lines: two or three products, so two or three partitions. */
const linesArb = fc.uniqueArray(
  fc.record({
    product: fc.integer({ min: 0, max: PRODUCTS - 1 }),
    quantity: fc.integer({ min: 1, max: 3 }),
  }),
  { minLength: 2, maxLength: PRODUCTS, selector: (l) => l.product },
)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('buy' as const),
      lines: linesArb,
      // Drafts are checked out later, after other orders took stock: so checkouts are refused
      // in a later partition, after holds were taken in earlier ones.
      until: fc.constantFrom(
        'draft' as const,
        'draft' as const,
        'draft' as const,
        'checkout' as const,
        'pay' as const,
        'confirm' as const,
        'reject' as const,
      ),
      crash: crashArb,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('checkout' as const, 'pay' as const),
      order: fc.nat(3),
      crash: crashArb,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('confirm' as const, 'reject' as const),
      order: fc.nat(3),
      crash: crashArb,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      order: fc.nat(3),
      crash: crashArb,
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('contend' as const),
      lines: linesArb,
      retry: fc.boolean(),
      crash: crashArb,
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('expire' as const), order: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('resend' as const), call: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('audit' as const) }), weight: 1 },
)

/** A script call as the client sent it, to be sent again. */
interface SentCall {
  method: string
  args: unknown[]
  /** The order of the step that sent it. */
  orderId: string
}

/**
 * An API process of its own over the store's Redis client: its script calls
 * are recorded, and `dieAfter` makes it die mid-step. The client runs scripts
 * as named commands on one Redis and as EVALSHA/EVAL on a cluster: both are
 * watched.
 */
function flakyProcess(deps: Deps) {
  const real = deps.redis
  const watched = new Set<string>([...SCRIPT_NAMES, 'evalsha', 'eval'])
  const sent: SentCall[] = []
  let crash: (Crash & { dead: boolean }) | null = null
  let stepOrder = ''
  const redis = new Proxy(real, {
    get(target, prop, _receiver) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      if (typeof prop !== 'string' || !watched.has(prop)) return value.bind(target)
      return async (...args: unknown[]) => {
        if (crash?.dead) throw new Error('this process died')
        if (crash && crash.calls === 0 && !crash.replyLost) {
          crash.dead = true
          throw new Error('this process died before sending')
        }
        sent.push({ method: prop, args, orderId: stepOrder })
        const reply = await value.apply(target, args)
        if (crash) {
          crash.calls -= 1
          if (crash.calls < 0) {
            crash.dead = true
            throw new Error('this process died before the reply came')
          }
        }
        return reply
      }
    },
  })
  const app = createApp({ ...deps, redis })
  return {
    store: api({ app }),
    sent,
    /** Runs `step` (on `orderId`) in a process that dies as `crash` says (or lives, with null). */
    async run<T>(orderId: string, step: (store: Api) => Promise<T>, dies: Crash | null) {
      crash = dies ? { ...dies, dead: false } : null
      stepOrder = orderId
      try {
        return await step(api({ app }))
      } finally {
        crash = null
      }
    },
    /** Sends a recorded call again, as ioredis resends a command whose reply it lost. */
    async resend(call: SentCall) {
      await (real as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[call.method]
        ?.apply(real, call.args)
        .catch(() => {})
    },
  }
}

interface KnownOrder {
  id: string
  lines: { product_id: number; quantity: number }[]
  paymentId?: string
}

async function orderStatus(orderId: string) {
  return ctx.deps.redis.hget(ctx.deps.keys.order(orderId), 'status')
}

/** Every reservation run out, then the hold audit over every hold: what a while later looks like. */
async function settle(orders: KnownOrder[]) {
  const { redis, keys } = ctx.deps
  for (const order of orders) {
    if ((await orderStatus(order.id)) !== 'checkout') continue
    await redis.hset(keys.order(order.id), 'reserved_until', '1')
    await redis.zadd(keys.partition(keys.orderPartition(order.id)).reservations, 1, order.id)
  }
  await expireDueReservations(ctx.deps)
  for (const part of keys.allPartitions) {
    for (const orderId of await redis.zrange(part.holds, '0', '-1')) {
      await redis.zadd(part.holds, 1, orderId)
    }
  }
  await auditHolds(ctx.deps, 10_000)
}

describe('orders across partitions, with crashes and resends', () => {
  it('never oversell, create or lose a unit, and end with every unit where the orders say', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: PRODUCTS, maxLength: PRODUCTS }),
        fc.array(opArb, { minLength: 10, maxLength: 50 }),
        async (initial, ops) => {
          const products: { id: number; total: number }[] = []
          for (const quantity of initial) {
            const { body } = await store.addProduct({ name: 'Held', quantity, price: 2 })
            products.push({ id: body.data.id, total: quantity })
          }
          const partitions = new Set(products.map((p) => ctx.deps.keys.productPartition(p.id)))
          expect(partitions.size).toBe(PRODUCTS)
          const process = flakyProcess(ctx.deps)
          const orders: KnownOrder[] = []
          /** Orders a crash or a resend touched: only they may leave a hold behind until the audit. */
          const tainted = new Set<string>()
          const pick = (n: number) => orders[orders.length - 1 - (n % Math.max(orders.length, 1))]

          for (const op of ops) {
            if (op.kind === 'buy') {
              const lines = op.lines.map((l) => ({
                product_id: (products[l.product] as { id: number }).id,
                quantity: l.quantity,
              }))
              const created = await store.createOrder({ products: lines })
              if (created.status !== 200) continue
              const order: KnownOrder = { id: created.body.data.id, lines }
              orders.push(order)
              if (op.crash) tainted.add(order.id)
              await process.run(
                order.id,
                async (s) => {
                  if (op.until === 'draft') return
                  if ((await s.checkout(order.id)).status !== 200 || op.until === 'checkout') return
                  const paid = await s.pay(order.id)
                  if (paid.status >= 300) return
                  order.paymentId = paid.body.data.payment_id as string
                  if (op.until === 'confirm') await s.confirm(order.paymentId)
                  if (op.until === 'reject') await s.reject(order.paymentId)
                },
                op.crash,
              )
            } else if (op.kind === 'contend') {
              const lines = op.lines.map((l) => ({
                product_id: (products[l.product] as { id: number }).id,
                quantity: l.quantity,
              }))
              const drafts: KnownOrder[] = []
              for (let i = 0; i < 2; i++) {
                const created = await store.createOrder({ products: lines })
                if (created.status === 200) drafts.push({ id: created.body.data.id, lines })
              }
              orders.push(...drafts)
              const [first, second] = drafts
              if (first) await process.run(first.id, (s) => s.checkout(first.id), null)
              if (second) {
                if (op.crash) tainted.add(second.id)
                await process.run(second.id, (s) => s.checkout(second.id), op.crash)
              }
              if (first && second && op.retry) {
                await process.run(first.id, (s) => s.cancel(first.id), null)
                await process.run(second.id, (s) => s.checkout(second.id), null)
              }
            } else if (op.kind === 'resend') {
              const call = process.sent[op.call % Math.max(process.sent.length, 1)]
              if (call) {
                tainted.add(call.orderId)
                await process.resend(call)
              }
            } else if (op.kind === 'audit') {
              await auditHolds(ctx.deps, 1_000)
            } else {
              const order = pick(op.order)
              if (!order) continue
              if (op.kind === 'expire') {
                if ((await orderStatus(order.id)) === 'checkout') {
                  const { redis, keys } = ctx.deps
                  await redis.hset(keys.order(order.id), 'reserved_until', '1')
                  const home = keys.partition(keys.orderPartition(order.id))
                  await redis.zadd(home.reservations, 1, order.id)
                  await expireDueReservations(ctx.deps)
                }
                continue
              }
              if (op.crash) tainted.add(order.id)
              if (op.kind === 'checkout' || op.kind === 'pay' || op.kind === 'cancel') {
                const res = await process.run(order.id, (s) => s[op.kind](order.id), op.crash)
                if (op.kind === 'pay' && res.status < 300)
                  order.paymentId = res.body.data.payment_id
              } else if (order.paymentId) {
                const paymentId = order.paymentId
                await process.run(
                  order.id,
                  (s) => (op.kind === 'confirm' ? s.confirm(paymentId) : s.reject(paymentId)),
                  op.crash,
                )
              }
            }
            // An order no crash or resend touched holds exactly what its status says.
            for (const order of orders) {
              if (tainted.has(order.id)) continue
              const status = await orderStatus(order.id)
              const open = status === 'checkout' || status === 'paid'
              for (const line of order.lines) {
                const partition = ctx.deps.keys.productPartition(line.product_id)
                const held = await ctx.deps.redis.exists(ctx.deps.keys.hold(partition, order.id))
                expect(held, `order ${order.id} (${status}), partition ${partition}`).toBe(
                  open ? 1 : 0,
                )
              }
            }
            // At every moment: nothing oversold, no unit made or lost.
            for (const p of products) {
              const live = await stockOf(ctx.deps, p.id)
              expect(
                Math.min(live.available, live.reserved, live.sold),
                `product ${p.id}`,
              ).toBeGreaterThanOrEqual(0)
              expect(live.available + live.reserved + live.sold, `product ${p.id}`).toBe(p.total)
            }
          }

          // A while later: reservations ran out, the audit settled every hold.
          await settle(orders)
          const expected = new Map(products.map((p) => [p.id, { reserved: 0, sold: 0 }]))
          for (const order of orders) {
            const status = await orderStatus(order.id)
            for (const line of order.lines) {
              const counts = expected.get(line.product_id) as { reserved: number; sold: number }
              if (status === 'paid') counts.reserved += line.quantity
              if (status === 'payment_confirmed') counts.sold += line.quantity
            }
          }
          for (const p of products) {
            const { reserved, sold } = expected.get(p.id) as { reserved: number; sold: number }
            expect(await stockOf(ctx.deps, p.id), `product ${p.id}`).toEqual({
              available: p.total - reserved - sold,
              reserved,
              sold,
            })
          }
          // Postgres, from its own rows (order lines, and holds by their versions), agrees.
          await ctx.drain()
          const derived = await derivedStock(
            ctx.deps.sql,
            products.map((p) => p.id),
          )
          for (const p of products) {
            const live = await stockOf(ctx.deps, p.id)
            const { available, reserved, sold } = derived.find((d) => d.productId === p.id) ?? {}
            expect({ available, reserved, sold }, `product ${p.id} in Postgres`).toEqual(live)
          }
          // What holds are left belong to paid orders (payment pins them).
          for (const part of ctx.deps.keys.allPartitions) {
            for (const orderId of await ctx.deps.redis.zrange(part.holds, '0', '-1')) {
              expect(await orderStatus(orderId), `hold of ${orderId}`).toBe('paid')
            }
          }
        },
      ),
      { numRuns: 40 },
    )
    await expectAllInSync(ctx)
  })
})
