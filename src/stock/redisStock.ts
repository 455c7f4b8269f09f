import type { Deps } from '../deps.js'
import type { Counters } from './scripts.js'

/** Live counters of many products in one round trip; null where Redis lacks the product. */
export async function readStock(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  productIds: readonly number[],
): Promise<(Counters | null)[]> {
  // One round trip: the client pipelines what is sent in one tick (auto-pipelining).
  const replies = await Promise.all(
    productIds.map((id) => redis.hmget(keys.product(id), 'available', 'reserved', 'sold')),
  )
  return replies.map((value) => {
    const [available, reserved, sold] = value
    if (available == null) return null
    return { available: Number(available), reserved: Number(reserved), sold: Number(sold) }
  })
}
