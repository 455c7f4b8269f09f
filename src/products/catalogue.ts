import type { Deps } from '../deps.js'
import { envelope } from '../http/envelope.js'
import { ApiError } from '../http/errors.js'
import { failureToApiError } from '../http/refusals.js'
import { fromMinorUnits } from '../money.js'
import { perClient } from '../perClient.js'
import type { Product, ProductNames } from './schemas.js'

/**
 * The catalogue as Redis holds it: every product hash carries its catalogue
 * fields next to its live counters, and each partition's `catalogue` lists its active ones.
 * Filled on create and on every load or rebuild, so the storefront's reads need
 * no Postgres and survive a Postgres outage.
 */
const FIELDS = [
  'name',
  'price',
  'status',
  'max_per_customer',
  'lead_time',
  'most_lead_time',
  'created',
  'available',
  'reserved',
  'sold',
  'sale_starts',
  'sale_ends',
] as const

const isoOrNull = (ms: string | null | undefined) =>
  ms ? new Date(Number(ms)).toISOString() : null

function present(id: number, values: (string | null)[]): Product | null {
  const [
    name,
    price,
    status,
    maxPerCustomer,
    leadTime,
    mostLeadTime,
    created,
    available,
    reserved,
    sold,
    saleStarts,
    saleEnds,
  ] = values
  if (name == null || available == null) return null
  const stock = { available: Number(available), reserved: Number(reserved), sold: Number(sold) }
  return {
    id,
    name,
    price: fromMinorUnits(price ?? 0),
    quantity: stock.available,
    status: status === 'active' ? 'active' : 'inactive',
    lead_time: Number(leadTime ?? 1),
    most_lead_time: Number(mostLeadTime ?? leadTime ?? 1),
    max_per_customer: maxPerCustomer ? Number(maxPerCustomer) : null,
    stock,
    created_date: new Date(Number(created ?? 0)).toISOString(),
    sale_starts_at: isoOrNull(saleStarts),
    sale_ends_at: isoOrNull(saleEnds),
  }
}

const rebuilding = (subject: string) => failureToApiError({ code: 'REBUILDING' }, subject)

interface CachedPage {
  json: string
  until: number
}
/**
 * Pages one process keeps: any client can ask for any (page, per_page), so the
 * copy holds at most this many (at most 200 products each, about 60 KB), the
 * oldest dropped first.
 */
export const MAX_CACHED_PAGES = 64
const pagesOf = perClient(() => ({
  cached: new Map<string, CachedPage>(),
  /** Refreshes under way, so one request refreshes a page while the others wait for it. */
  refreshing: new Map<string, Promise<string>>(),
}))

/** Drops this process's copy of the catalogue pages (after a change made here). */
export function forgetCatalogue(owner: object) {
  pagesOf(owner).cached.clear()
}

/** How many pages this process keeps a copy of. */
export function cachedPageCount(owner: object): number {
  return pagesOf(owner).cached.size
}

function keepPage(cached: Map<string, CachedPage>, key: string, page: CachedPage) {
  cached.delete(key)
  if (cached.size >= MAX_CACHED_PAGES) {
    const now = Date.now()
    for (const [k, p] of cached) if (p.until <= now) cached.delete(k)
  }
  while (cached.size >= MAX_CACHED_PAGES) {
    const oldest = cached.keys().next().value
    if (oldest === undefined) break
    cached.delete(oldest)
  }
  cached.set(key, page)
}

/**
 * GET /products as its JSON text, served from this process's copy for
 * CATALOGUE_CACHE_MS (about a second): a storefront stampede costs no Redis
 * round trip and no serialisation. The copy is refreshed from Redis once a
 * moment, with one request doing it while the others wait for it.
 */
export async function listProductsJson(
  deps: Pick<Deps, 'redis' | 'keys' | 'config'>,
  page: number,
  perPage: number,
): Promise<string> {
  const ttl = deps.config.CATALOGUE_CACHE_MS
  const key = `${page}:${perPage}`
  const { cached, refreshing } = pagesOf(deps.redis)
  const hit = cached.get(key)
  if (hit && hit.until > Date.now()) return hit.json
  const pending = refreshing.get(key)
  if (pending) return pending
  const load = listProducts(deps, page, perPage).then(({ products, pagination }) => {
    const meta = {
      pagination: {
        current_page: pagination.page,
        per_page: pagination.per_page,
        total: pagination.total,
        total_page: pagination.total_pages,
      },
    }
    const json = JSON.stringify({ ...envelope(products, meta), pagination })
    if (ttl > 0) keepPage(cached, key, { json, until: Date.now() + ttl })
    return json
  })
  refreshing.set(key, load)
  try {
    return await load
  } finally {
    refreshing.delete(key)
  }
}

/**
 * A page of active products, from Redis alone. Each partition keeps its own
 * catalogue (products by id), and pages run through the partitions in turn:
 * by id within a partition. A partition being rebuilt is left out (its
 * products come back with it); only when every partition is, the answer is 503.
 */
export async function listProducts(
  deps: Pick<Deps, 'redis' | 'keys'>,
  page: number,
  perPage: number,
) {
  const { redis, keys } = deps
  const sizes = await Promise.all(
    keys.allPartitions.map(async (part) => {
      const [ready, count] = (await redis
        .multi()
        .exists(part.hydrated)
        .zcard(part.catalogue)
        .exec()
        .then((replies) =>
          (replies ?? []).map(([err, value]) => {
            if (err) throw err
            return value
          }),
        )) as [number, number]
      return { part, size: ready === 0 ? 0 : count, ready: ready === 1 }
    }),
  )
  if (sizes.every((s) => !s.ready)) throw rebuilding('The catalogue')
  const total = sizes.reduce((sum, s) => sum + s.size, 0)
  let skip = (page - 1) * perPage
  let want = perPage
  const ranges: Promise<string[]>[] = []
  for (const { part, size } of sizes) {
    if (want === 0) break
    if (skip >= size) {
      skip -= size
      continue
    }
    const take = Math.min(want, size - skip)
    ranges.push(redis.zrange(part.catalogue, skip, String(skip + take - 1)))
    want -= take
    skip = 0
  }
  const ids = (await Promise.all(ranges)).flat()
  const rows = await Promise.all(ids.map((id) => redis.hmget(keys.product(id), ...FIELDS)))
  const products = ids.flatMap((id, i) => {
    const product = present(Number(id), rows[i] ?? [])
    return product ? [product] : []
  })
  return {
    products,
    pagination: { page, per_page: perPage, total, total_pages: Math.ceil(total / perPage) },
  }
}

/** One product with its live stock, from Redis alone. */
export async function getProduct(deps: Pick<Deps, 'redis' | 'keys'>, id: number): Promise<Product> {
  const { redis, keys } = deps
  const values = await redis.hmget(keys.product(id), ...FIELDS)
  const product = present(id, values)
  if (product) return product
  if ((await redis.exists(keys.partition(keys.productPartition(id)).hydrated)) === 0) {
    throw rebuilding(`Product ${id}`)
  }
  throw new ApiError('NOT_FOUND', `Product ${id} does not exist.`, { product_id: id })
}

const NAME_TTL_MS = 2_000
const nameCache = perClient(() => new Map<number, { name: string; until: number }>())

/**
 * Product names for showing order lines. Orders keep ids and prices only, so
 * names come from the catalogue, kept in process for a moment (a renamed
 * product shows its new name within NAME_TTL_MS).
 */
export async function productNames(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  ids: Iterable<number>,
): Promise<ProductNames> {
  const cache = nameCache(redis)
  const now = Date.now()
  const names = new Map<number, string>()
  const missing: number[] = []
  for (const id of new Set(ids)) {
    const hit = cache.get(id)
    if (hit && hit.until > now) names.set(id, hit.name)
    else missing.push(id)
  }
  if (missing.length > 0) {
    // One round trip: the client pipelines what is sent in one tick (auto-pipelining).
    const replies = await Promise.all(missing.map((id) => redis.hget(keys.product(id), 'name')))
    missing.forEach((id, i) => {
      const name = replies[i]
      if (typeof name !== 'string') return
      names.set(id, name)
      cache.set(id, { name, until: now + NAME_TTL_MS })
    })
  }
  return names
}

/**
 * Names and available units of products, live from Redis in one round trip (for
 * showing an order's lines with their availability); the names are remembered.
 */
export async function productsLive(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  ids: Iterable<number>,
): Promise<{ names: ProductNames; available: ReadonlyMap<number, number> }> {
  const unique = [...new Set(ids)]
  const replies = await Promise.all(
    unique.map((id) => redis.hmget(keys.product(id), 'name', 'available')),
  )
  const names = new Map<number, string>()
  const available = new Map<number, number>()
  unique.forEach((id, i) => {
    const [name, left] = replies[i] ?? []
    if (typeof name === 'string') names.set(id, name)
    if (typeof left === 'string') available.set(id, Number(left))
  })
  rememberNames({ redis }, names)
  return { names, available }
}

/** Remembers names the scripts just returned, so showing the order needs no extra read. */
export function rememberNames({ redis }: Pick<Deps, 'redis'>, names: ProductNames) {
  const cache = nameCache(redis)
  const until = Date.now() + NAME_TTL_MS
  for (const [id, name] of names) cache.set(id, { name, until })
}
