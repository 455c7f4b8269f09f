import type { Deps } from '../deps.js'
import { holdLinesOf, holdOrderState, holdSettlement } from '../orders/holds.js'

/** The most holds of each kind one check lists; `overdue` counts them all. */
export const HOLDS_LISTED = 50
/** The most open orders across partitions one check looks at for a missing hold. */
const ORDERS_EXAMINED = 1_000

export interface HoldProblem {
  order_id: string
  partition: number
  /** The order's status in its home partition (`none`: no such order anywhere). */
  order_status: string
  lines?: { product_id: number; quantity: number }[]
  held_until?: string
  /** What the hold audit will do with it. */
  action?: 'release' | 'sell'
}

export interface HoldsView {
  /** Holds past their audit time, in every partition: the sweeper settles them within a second. */
  overdue: number
  /** Holds past their end that no order needs any more: units reserved for nobody, until the audit. */
  orphaned: HoldProblem[]
  /** Open orders across partitions whose hold in a partition is gone: units nobody will release. */
  missing: HoldProblem[]
}

/**
 * The holds of orders across partitions, checked against their orders: holds
 * with no order past their expiry (a checkout that crashed between its holds
 * and its commit, or an audit that has not run), and orders that are checked
 * out or paid but miss a hold in one of their partitions. Redis is the
 * authority for both; Postgres only names the open orders across partitions
 * to look at. Its cost is bounded (HOLDS_LISTED, ORDERS_EXAMINED), whatever
 * the size of the shop.
 */
export async function checkHolds(deps: Pick<Deps, 'redis' | 'keys' | 'sql'>): Promise<HoldsView> {
  if (deps.keys.partitions === 1) return { overdue: 0, orphaned: [], missing: [] }
  const [orphans, missing] = await Promise.all([orphanedHolds(deps), missingHolds(deps)])
  return { ...orphans, missing }
}

async function orphanedHolds(deps: Pick<Deps, 'redis' | 'keys' | 'sql'>) {
  const { redis, keys } = deps
  const now = Date.now()
  const perPartition = await Promise.all(
    keys.allPartitions.map(async (part) => {
      const [overdue, due] = await Promise.all([
        redis.zcount(part.holds, '-inf', now),
        redis.zrangebyscore(part.holds, '-inf', now, 'LIMIT', 0, HOLDS_LISTED),
      ])
      const found: HoldProblem[] = []
      for (const orderId of due) {
        const hold = await redis.hgetall(keys.hold(part.index, orderId))
        if (!hold.lines) continue
        const { status, reservedUntil } = await holdOrderState(deps, orderId)
        const action = holdSettlement(status, reservedUntil, now)
        if (action === 'keep') continue
        found.push({
          order_id: orderId,
          partition: part.index,
          order_status: status,
          lines: holdLinesOf(hold.lines).map(({ product_id, quantity }) => ({
            product_id,
            quantity,
          })),
          held_until: new Date(Number(hold.until)).toISOString(),
          action,
        })
      }
      return { overdue, found }
    }),
  )
  return {
    overdue: perPartition.reduce((sum, p) => sum + p.overdue, 0),
    orphaned: perPartition.flatMap((p) => p.found).slice(0, HOLDS_LISTED),
  }
}

async function missingHolds(deps: Pick<Deps, 'redis' | 'keys' | 'sql'>) {
  const { redis, keys, sql } = deps
  const candidates = await sql<{ id: string; partitions: number[] }[]>`
    select o.id, array_agg(distinct p.partition order by p.partition) as partitions
    from orders o
    join order_details d on d.order_id = o.id
    join products p on p.id = d.product_id
    where o.spans and o.status in ('checkout', 'paid')
    group by o.id
    order by o.id
    limit ${ORDERS_EXAMINED}
  `
  const missing: HoldProblem[] = []
  await Promise.all(
    candidates.map(async ({ id, partitions }) => {
      const [status, held] = await Promise.all([
        redis.hget(keys.order(id), 'status'),
        Promise.all(partitions.map((p) => redis.exists(keys.hold(p, id)))),
      ])
      // Redis is the authority: an order that moved on since Postgres saw it ends its holds.
      const open = (s: string | null) => s === 'checkout' || s === 'paid'
      if (!open(status) || held.every((n) => n === 1)) return
      // Read again: a cancel or expiry ends the order first, then its holds.
      const now = await redis.hget(keys.order(id), 'status')
      if (!open(now)) return
      partitions.forEach((partition, i) => {
        if (held[i] === 0) missing.push({ order_id: id, partition, order_status: now as string })
      })
    }),
  )
  return missing.sort((a, b) => (a.order_id < b.order_id ? -1 : 1)).slice(0, HOLDS_LISTED)
}
