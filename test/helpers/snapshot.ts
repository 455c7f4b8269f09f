import type { Deps } from '../../src/deps.js'
import { storeKeyBatches } from '../../src/redis/scan.js'

/** Everything the store holds for this test, so a test can assert that nothing changed. */
export async function storeSnapshot({ redis, sql, keys }: Pick<Deps, 'redis' | 'sql' | 'keys'>) {
  let names: string[] = []
  for await (const batch of storeKeyBatches(redis, keys.prefix)) names.push(...batch)
  // Ids remembered as missing (a read cache) and rate-limit buckets are not store state.
  names = names.filter((name) => !/:(missing|rate):/.test(name)).sort()
  const redisState: Record<string, unknown> = {}
  for (const name of names) {
    const type = await redis.type(name)
    if (type === 'hash') redisState[name] = await redis.hgetall(name)
    else if (type === 'zset') redisState[name] = await redis.zrange(name, '0', '-1', 'WITHSCORES')
    else if (type === 'stream') redisState[name] = await redis.xlen(name)
    else if (type === 'string') redisState[name] = await redis.get(name)
    else redisState[name] = type
  }
  const [tables] = await sql<
    {
      products: string
      stock_ledger: string
      orders: string
      order_details: string
      payments: string
    }[]
  >`
    select (select count(*) from products) as products,
           (select count(*) from stock_ledger) as stock_ledger,
           (select count(*) from orders) as orders,
           (select count(*) from order_details) as order_details,
           (select count(*) from payments) as payments
  `
  return { redis: redisState, postgres: tables }
}

export async function stockOf({ redis, keys }: Pick<Deps, 'redis' | 'keys'>, productId: number) {
  const [available, reserved, sold] = await redis.hmget(
    keys.product(productId),
    'available',
    'reserved',
    'sold',
  )
  return { available: Number(available), reserved: Number(reserved), sold: Number(sold) }
}
