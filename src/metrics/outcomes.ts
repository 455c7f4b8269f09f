import type { Deps } from '../deps.js'
import { perClient } from '../perClient.js'

/**
 * What buyers met, per product: checkouts reserved, and refusals by reason
 * (rate limits, which come before any product is known, count under product 0).
 * Each API process counts in memory (no Redis call on the hot path) and adds
 * its counts to one Redis hash (`keys.outcomes`) every couple of seconds, so
 * the dashboard shows the whole shop whichever process serves it.
 */
export type Outcome =
  | 'reserved'
  | 'out_of_stock'
  | 'limit_exceeded'
  | 'sale_closed'
  | 'rate_limited'

/** No outcome yet. */
export const emptyOutcomes = (): Record<Outcome, number> => ({
  reserved: 0,
  out_of_stock: 0,
  limit_exceeded: 0,
  sale_closed: 0,
  rate_limited: 0,
})

const pendingOf = perClient(() => new Map<string, number>())

export function countOutcome(owner: object, productId: number, outcome: Outcome) {
  const counts = pendingOf(owner)
  const field = `${productId}:${outcome}`
  counts.set(field, (counts.get(field) ?? 0) + 1)
}

const OUTCOMES = Object.keys(emptyOutcomes()) as Outcome[]

/** How long a product that sold stays in the `selling` set the dashboard reads. */
export const SELLING_WINDOW_MS = 60_000
/** The shop's checkouts, summed over products: one field, however large the catalogue. */
const SHOP_RESERVED = 'shop:reserved'

/**
 * Adds this process's counts to Redis and starts again from zero. Products
 * that sold are also marked in `keys.selling` (scored by when), which forgets
 * them after SELLING_WINDOW_MS: the dashboard's "selling now" costs one read
 * of the products that sold lately, not of the catalogue.
 */
export async function flushOutcomes({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const pending = pendingOf(redis)
  if (pending.size === 0) return
  const counts = new Map(pending)
  pending.clear()
  const now = Date.now()
  const pipeline = redis.pipeline()
  let reserved = 0
  for (const [field, n] of counts) {
    pipeline.hincrby(keys.outcomes, field, n)
    if (field.endsWith(':reserved')) {
      reserved += n
      pipeline.zadd(keys.selling, now, field.slice(0, -':reserved'.length))
    }
  }
  if (reserved > 0) {
    pipeline.hincrby(keys.outcomes, SHOP_RESERVED, reserved)
    pipeline.zremrangebyscore(keys.selling, '-inf', now - SELLING_WINDOW_MS)
  }
  await pipeline.exec()
}

/** The counts of these products, the shop's checkouts and its rate-limited calls: one HMGET. */
export async function readOutcomes(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  productIds: readonly number[],
) {
  const fields = productIds.flatMap((id) => OUTCOMES.map((o) => `${id}:${o}`))
  const values = await redis.hmget(keys.outcomes, SHOP_RESERVED, '0:rate_limited', ...fields)
  const byProduct = new Map<number, Record<Outcome, number>>()
  productIds.forEach((id, i) => {
    const counts = emptyOutcomes()
    OUTCOMES.forEach((o, j) => {
      counts[o] = Number(values[2 + i * OUTCOMES.length + j] ?? 0)
    })
    byProduct.set(id, counts)
  })
  return {
    byProduct,
    checkouts: Number(values[0] ?? 0),
    rateLimited: Number(values[1] ?? 0),
  }
}

/** Products that sold within SELLING_WINDOW_MS, most recent first. */
export async function sellingNow({ redis, keys }: Pick<Deps, 'redis' | 'keys'>, limit: number) {
  const ids = await redis.zrevrangebyscore(
    keys.selling,
    '+inf',
    Date.now() - SELLING_WINDOW_MS,
    'LIMIT',
    0,
    limit,
  )
  return ids.map(Number)
}
