import type { Deps } from '../deps.js'
import { runScript } from '../redis/scripts.js'
import type { DerivedStock } from './derived.js'

export interface LiveStock {
  available: number
  reserved: number
  sold: number
}

/** Live counters of many products in one round trip; null where Redis lacks the product. */
export async function readStock(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  productIds: readonly number[],
): Promise<(LiveStock | null)[]> {
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

export interface ProductCatalogue {
  id: number
  name: string
  priceMinor: number
  status: 'active' | 'inactive'
  maxPerCustomer: number | null
}

/** Puts a product in Redis; its counters are set only if Redis has none yet. */
export async function loadProduct(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  product: ProductCatalogue,
  stock: Pick<DerivedStock, 'available' | 'reserved' | 'sold'>,
  version = 0,
): Promise<boolean> {
  const [outcome] = await runScript(
    redis,
    'loadProduct',
    [keys.product(product.id)],
    [
      product.name,
      product.priceMinor,
      product.status,
      product.maxPerCustomer ?? '',
      stock.available,
      stock.reserved,
      stock.sold,
      version,
    ],
  )
  return outcome === 'LOADED'
}
