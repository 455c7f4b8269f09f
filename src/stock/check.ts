import type { Deps } from '../deps.js'
import { type DeadLetter, listDeadLetters } from '../worker/deadLetters.js'
import { streamBehind, writeBehindStatus } from '../worker/status.js'
import { type RestockAdvice, restockAdvice } from './advice.js'
import { type DerivedStock, derivedStock } from './derived.js'
import { type Counters, type LiveCounters, stockCutScript as stockCut } from './scripts.js'
import { type CheckStatus, saveVerdicts } from './verdicts.js'

export type { CheckStatus, Counters }

export interface ProductCheck extends Omit<RestockAdvice, 'avg_daily_sales' | 'max_daily_sales'> {
  product_id: number
  name: string
  status: CheckStatus
  /** Why a product is not in sync, in a sentence. */
  reason?: string
  /** The original's name for the units free to sell (the same as redis.available). */
  available_quantity: number
  redis: Counters
  database: Counters
  drift: Counters
  /** Events of this product that could not be written to Postgres. */
  dead_letters?: { id: string; event_id: string; type: string; error: string }[]
  sales: { avg_daily: number; max_daily: number }
}

export interface WriteBehindView {
  backlog: number
  lag_ms: number
  /** Set when the event stream went backwards and the write-behind stopped. */
  stream_behind?: { partition: number; redis_entries: number; postgres_entries: number }
}

/**
 * What every product of one check shares, read once: the write-behind's state
 * and the dead letters (a full check of 50,000 products reads them once, not
 * once per chunk).
 */
export interface CheckContext {
  writeBehind: WriteBehindView
  lettersOf: ReadonlyMap<number, readonly DeadLetter[]>
}

export interface CheckOptions {
  windowDays: number
  waitMs: number
}

const ZERO: Counters = { available: 0, reserved: 0, sold: 0 }
const counters = ({ available, reserved, sold }: Counters): Counters => ({
  available,
  reserved,
  sold,
})
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Stream ids compare as (milliseconds, sequence). */
function streamIdAfter(a: string, b: string): boolean {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt)
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt)
  return aMs > bMs || (aMs === bMs && aSeq > bSeq)
}

/**
 * True once the worker has written every event of the partition up to
 * `lastId` (written events are deleted).
 */
async function persistedThrough(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  partition: number,
  lastId: string,
) {
  const [oldest] = await redis.xrange(keys.partition(partition).events, '-', '+', 'COUNT', 1)
  return oldest === undefined || streamIdAfter(oldest[0], lastId)
}

interface Comparison {
  status: CheckStatus
  redis: LiveCounters | null
  database: DerivedStock | undefined
  /** Postgres caught up with the cut but reflects an older stock version. */
  versionGap?: boolean
  /** Postgres caught up with the cut but reflects a newer stock version than Redis. */
  ahead?: boolean
  /**
   * Still waiting, and the oldest unwritten event is this old (past
   * STOCK_PENDING_LIMIT_MS): waiting is no longer the explanation, so it is drift.
   */
  stalledMs?: number
}

/**
 * Compares Redis with Postgres at one consistent cut. The same counters at the
 * same stock version are in sync at once. A difference is drift only once
 * Postgres holds every event up to the cut (with several writers, an event of
 * the product may still be in flight behind a later one); until then it waits,
 * up to `waitMs`, and is reported `pending` rather than as false drift.
 */
async function compare(deps: Deps, productIds: number[], waitMs: number) {
  // One cut per partition (its own stream position), merged.
  const byPartition = new Map<number, number[]>()
  for (const id of productIds) {
    const p = deps.keys.productPartition(id)
    byPartition.set(p, [...(byPartition.get(p) ?? []), id])
  }
  const parts = await Promise.all(
    [...byPartition].map(([p, ids]) => compareInPartition(deps, p, ids, waitMs)),
  )
  return new Map(parts.flatMap((results) => [...results]))
}

async function compareInPartition(
  deps: Deps,
  partition: number,
  productIds: number[],
  waitMs: number,
) {
  const results = new Map<number, Comparison>()
  const deadline = Date.now() + waitMs
  let open = productIds
  while (open.length > 0) {
    const cut = await stockCut(deps, partition, open)
    const persisted = await persistedThrough(deps, partition, cut.lastId)
    const db = new Map((await derivedStock(deps.sql, open)).map((d) => [d.productId, d]))
    const stillOpen: number[] = []
    for (const id of open) {
      const redis = cut.live.get(id) ?? null
      const database = db.get(id)
      const same =
        redis !== null &&
        database !== undefined &&
        redis.version === database.version &&
        redis.available === database.available &&
        redis.reserved === database.reserved &&
        redis.sold === database.sold
      if (redis === null || !database) {
        results.set(id, { status: 'drift', redis, database })
      } else if (same) {
        // The same counters at the same version: in sync, whatever else is still in the
        // stream (a busy sale never empties it, and most products have nothing in it).
        results.set(id, { status: 'in_sync', redis, database })
      } else if (persisted && redis.version === database.version) {
        results.set(id, { status: 'drift', redis, database })
      } else if (persisted && database.version < redis.version) {
        // Postgres holds every event up to the cut, yet an older version of this
        // product: a change never arrived (dead-lettered, or lost). Waiting will not fix it.
        results.set(id, { status: 'drift', redis, database, versionGap: true })
      } else if (persisted) {
        // Postgres is ahead of Redis, with nothing left to write: Redis lost changes
        // Postgres holds (say, a rebuild read Postgres before they arrived).
        results.set(id, { status: 'drift', redis, database, ahead: true })
      } else {
        results.set(id, { status: 'pending', redis, database })
        stillOpen.push(id)
      }
    }
    open = stillOpen
    if (open.length === 0 || Date.now() >= deadline) break
    await sleep(Math.min(50, Math.max(0, deadline - Date.now())))
  }
  return results
}

/** The write-behind's state and the dead letters by product, for one check. */
export async function checkContext(deps: Deps): Promise<CheckContext> {
  const [status, letters, behind] = await Promise.all([
    writeBehindStatus(deps),
    listDeadLetters(deps),
    streamBehind(deps),
  ])
  const lettersOf = new Map<number, DeadLetter[]>()
  for (const letter of letters) {
    for (const id of letter.product_ids) lettersOf.set(id, [...(lettersOf.get(id) ?? []), letter])
  }
  return {
    writeBehind: {
      backlog: status.backlog,
      lag_ms: status.lag_ms,
      ...(behind ? { stream_behind: behind } : {}),
    },
    lettersOf,
  }
}

interface ProductRow {
  id: string
  name: string
  lead_time: number
  most_lead_time: number
}

/**
 * Checks these products live, in the order given: Redis against Postgres at
 * one cut, the restock advice, and their dead letters. Its cost grows with the
 * number of products, not with the catalogue. Each verdict is saved
 * (`stock_verdicts`), so the pages sort and filter on what was last seen.
 * Products Postgres does not know are left out. `versions` has each product's
 * Redis stock version at the cut (a repair refuses if the product moved since).
 */
export async function checkProducts(
  deps: Deps,
  productIds: readonly number[],
  options: CheckOptions,
  context?: CheckContext,
): Promise<{ checks: ProductCheck[]; versions: Map<number, number> }> {
  const versions = new Map<number, number>()
  if (productIds.length === 0) return { checks: [], versions }
  const { sql } = deps
  const rows = await sql<ProductRow[]>`
    select id, name, lead_time, most_lead_time from products where id in ${sql(productIds)}
  `
  const byId = new Map(rows.map((r) => [Number(r.id), r]))
  const ids = productIds.filter((id) => byId.has(id))
  const [comparisons, sales, shared] = await Promise.all([
    compare(deps, ids, options.waitMs),
    dailySales(deps, ids, options.windowDays),
    context ?? checkContext(deps),
  ])
  // Pending has a bound: past STOCK_PENDING_LIMIT_MS without a write, waiting is no explanation.
  const stalledMs =
    shared.writeBehind.lag_ms > deps.config.STOCK_PENDING_LIMIT_MS
      ? shared.writeBehind.lag_ms
      : undefined

  const checks = ids.map((id): ProductCheck => {
    const product = byId.get(id) as ProductRow
    let compared = comparisons.get(id) as Comparison
    if (compared.status === 'pending' && stalledMs !== undefined) {
      compared = { ...compared, status: 'drift', stalledMs }
    }
    const { redis, database } = compared
    const letters = shared.lettersOf.get(id) ?? []
    // Dead letters never reach Postgres by themselves: that is drift, not waiting.
    const status = letters.length > 0 ? 'drift' : compared.status
    if (redis) versions.set(id, redis.version)
    const live = redis ? counters(redis) : ZERO
    const derived = database ? counters(database) : ZERO
    const advice = restockAdvice({
      dailySales: sales.get(id) ?? [],
      windowDays: options.windowDays,
      leadTime: product.lead_time,
      mostLeadTime: product.most_lead_time,
      available: live.available,
    })
    const reason = explain(status, compared, letters)
    return {
      product_id: id,
      name: product.name,
      status,
      ...(reason ? { reason } : {}),
      available_quantity: live.available,
      redis: live,
      database: derived,
      drift: {
        available: live.available - derived.available,
        reserved: live.reserved - derived.reserved,
        sold: live.sold - derived.sold,
      },
      ...(letters.length > 0
        ? {
            dead_letters: letters.map((d) => ({
              id: d.id,
              event_id: d.event_id,
              type: d.type,
              error: d.error,
            })),
          }
        : {}),
      safety_stock: advice.safety_stock,
      reorder_point: advice.reorder_point,
      restock_quantity: advice.restock_quantity,
      sales: { avg_daily: advice.avg_daily_sales, max_daily: advice.max_daily_sales },
    }
  })
  await saveVerdicts(deps, checks)
  noteDrift(deps, checks)
  return { checks, versions }
}

/**
 * The drift gauge names drifting products only: a series per product of a
 * 50,000-product catalogue would swamp Prometheus. A product back in sync
 * loses its series.
 */
function noteDrift({ metrics }: Pick<Deps, 'metrics'>, checks: readonly ProductCheck[]) {
  for (const check of checks) {
    if (check.status === 'pending') continue
    for (const counter of ['available', 'reserved', 'sold'] as const) {
      const labels = { product_id: String(check.product_id), counter }
      if (check.status === 'drift') metrics.drift.set(labels, check.drift[counter])
      else metrics.drift.remove(labels)
    }
  }
}

/** Why a product is not in sync, for the people who read the report. */
function explain(
  status: CheckStatus,
  { redis, database, versionGap, ahead, stalledMs }: Comparison,
  letters: readonly DeadLetter[],
): string | undefined {
  if (letters.length > 0) {
    return (
      `${letters.length} event(s) of this product could not be written to Postgres ` +
      `(dead letters; first: ${letters[0]?.error}). Fix the cause, then ` +
      '`npm run dead-letters -- replay`.'
    )
  }
  if (status === 'in_sync') return undefined
  if (redis === null) return 'Redis does not hold this product.'
  if (!database) return 'Postgres does not hold this product.'
  if (status === 'pending') {
    return 'The write-behind worker has not yet written every change up to this check.'
  }
  if (stalledMs !== undefined) {
    return (
      `Not compared: the write-behind has not written changes for ${Math.round(stalledMs / 1000)} s ` +
      '(is Postgres reachable, and is a worker running?). See /readyz and the backlog.'
    )
  }
  if (ahead) {
    return (
      `Postgres reflects stock version ${database.version}, newer than Redis's ${redis.version}, ` +
      'with nothing left to write: Redis lost changes that Postgres holds.'
    )
  }
  if (versionGap) {
    return (
      `Postgres reflects stock version ${database.version} but Redis is at ${redis.version}, ` +
      'with nothing left to write: changes never reached Postgres.'
    )
  }
  if (Math.min(redis.available, redis.reserved, redis.sold) < 0) {
    return 'A live counter in Redis is negative.'
  }
  return 'Redis and Postgres disagree at the same point in time.'
}

/** Units sold (payment confirmed) per product and day, over the last `windowDays` days. */
async function dailySales({ sql }: Pick<Deps, 'sql'>, productIds: number[], windowDays: number) {
  if (productIds.length === 0) return new Map<number, number[]>()
  const rows = await sql<{ product_id: string; units: string }[]>`
    select d.product_id, sum(d.quantity) as units
    from order_details d join orders o on o.id = d.order_id
    where o.status = 'payment_confirmed'
      and o.order_date >= now() - make_interval(days => ${windowDays})
      and d.product_id in ${sql(productIds)}
    group by d.product_id, (o.order_date at time zone 'UTC')::date
  `
  const byProduct = new Map<number, number[]>()
  for (const row of rows) {
    const id = Number(row.product_id)
    byProduct.set(id, [...(byProduct.get(id) ?? []), Number(row.units)])
  }
  return byProduct
}
