import type { Deps } from '../deps.js'
import type { Counters } from './scripts.js'

/** Live counters of many products in one round trip; null where Redis lacks the product. */
export async function readStock(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  productIds: readonly number[],
): Promise<(Counters | null)[]> {
  const pipeline = redis.pipeline()
  for (const id of productIds) pipeline.hmget(keys.product(id), 'available', 'reserved', 'sold')
  const replies = (await pipeline.exec()) ?? []
  return replies.map(([err, value]) => {
    if (err) throw err
    const [available, reserved, sold] = value as (string | null)[]
    if (available == null) return null
    return { available: Number(available), reserved: Number(reserved), sold: Number(sold) }
  })
}
