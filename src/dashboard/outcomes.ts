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

/** Adds this process's counts to Redis and starts again from zero. */
export async function flushOutcomes({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const pending = pendingOf(redis)
  if (pending.size === 0) return
  const counts = new Map(pending)
  pending.clear()
  const pipeline = redis.pipeline()
  for (const [field, n] of counts) pipeline.hincrby(keys.outcomes, field, n)
  await pipeline.exec()
}

/** Every product's counts so far, from Redis. */
export async function readOutcomes({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const byProduct = new Map<number, Record<Outcome, number>>()
  for (const [field, value] of Object.entries(await redis.hgetall(keys.outcomes))) {
    const [id, outcome] = field.split(':') as [string, Outcome]
    const counts = byProduct.get(Number(id)) ?? emptyOutcomes()
    counts[outcome] = Number(value)
    byProduct.set(Number(id), counts)
  }
  return byProduct
}
