import type { Deps } from '../deps.js'
import { ApiError } from '../http/errors.js'
import { failureToApiError } from '../http/refusals.js'
import { newId } from '../ids.js'
import { parseLines } from '../orders/records.js'
import { clearSoldOut } from '../products/soldOut.js'
import { keyBatches } from '../redis/scan.js'
import { writeBehindStatus } from '../worker/status.js'
import { type Counters, checkProducts, type ProductCheck } from './check.js'
import { FULL_CHECK_CHUNK, runFullCheck } from './fullCheck.js'
import { repairStockScript } from './scripts.js'

export interface Repair {
  product_id: number
  from: Counters
  to: Counters
  applied: boolean
  reason?: string
  orders?: string[]
}

const SCAN_BATCH = 500

async function* chain<T>(iterables: AsyncIterable<T>[]) {
  for (const iterable of iterables) yield* iterable
}

/**
 * Orders Redis holds whose state Postgres does not have (missing, or an older
 * version), by product. Repairing such a product to Postgres's numbers would
 * forget their units: the next cancel or expiry would create stock from nothing.
 */
async function unaccountedOrders(deps: Deps, productIds: ReadonlySet<number>) {
  const { redis, sql, keys } = deps
  const byProduct = new Map<number, string[]>()
  if (productIds.size === 0) return byProduct
  const batches = keys.allPartitions.map((part) =>
    keyBatches(redis, `${part.tag}:order:*`, SCAN_BATCH),
  )
  for await (const batch of chain(batches)) {
    const values = await Promise.all(batch.map((key) => redis.hmget(key, 'id', 'v', 'lines')))
    const rows = values.flatMap((value) => {
      const [id, v, lines] = value
      if (!id || !v || lines == null) return []
      const touched = parseLines(lines)
        .map((l) => l.product_id)
        .filter((p) => productIds.has(p))
      return touched.length > 0 ? [{ id, version: Number(v), touched }] : []
    })
    if (rows.length === 0) continue
    const persisted = await sql<{ id: string; version: number }[]>`
      select id, version from orders where id in ${sql(rows.map((r) => r.id))}
    `
    const versions = new Map(persisted.map((r) => [r.id, r.version]))
    for (const row of rows) {
      if ((versions.get(row.id) ?? 0) >= row.version) continue
      for (const p of row.touched) byProduct.set(p, [...(byProduct.get(p) ?? []), row.id])
    }
  }
  return byProduct
}

/**
 * Brings Redis back in line with Postgres for the products that drifted, and
 * never creates or destroys a unit doing it:
 * - it refuses while the write-behind backlog is not empty (Postgres is behind, not wrong);
 * - it leaves alone a product with dead letters, or with orders Redis holds that
 *   Postgres does not, and names them;
 * - it never sets a counter below zero (the script checks again);
 * - the counters it sets are Postgres's derivation, so available + reserved +
 *   sold equals the ledger total afterwards.
 * A dry run (the default) only says what it would change. Each repair is one
 * script that first checks the product did not move since the check, and is
 * recorded in stock_reconciliations.
 */
export async function reconcile(
  deps: Deps,
  options: { dryRun: boolean; productId?: number | undefined },
) {
  const { backlog } = await writeBehindStatus(deps)
  if (backlog > 0) {
    throw new ApiError(
      'BACKLOG_NOT_EMPTY',
      `${backlog} events are not in Postgres yet; reconcile once the write-behind backlog is empty.`,
      { backlog },
    )
  }
  const { checked, drifted, versions } = await driftedProducts(deps, options.productId)
  const unaccounted = await unaccountedOrders(deps, new Set(drifted.map((p) => p.product_id)))
  const repairs: Repair[] = []
  for (const product of drifted) {
    const repair: Repair = {
      product_id: product.product_id,
      from: product.redis,
      to: product.database,
      applied: false,
    }
    repairs.push(repair)
    const orders = unaccounted.get(product.product_id)
    if (product.dead_letters?.length) {
      repair.reason = `${product.dead_letters.length} dead letter(s) hold changes of this product; replay them first`
      continue
    }
    if (orders) {
      repair.reason = 'Redis holds orders of this product that Postgres does not; not repaired'
      repair.orders = orders
      continue
    }
    if (
      Math.min(product.database.available, product.database.reserved, product.database.sold) < 0
    ) {
      repair.reason = 'Postgres derives a negative counter for this product; not repaired'
      continue
    }
    if (options.dryRun) continue
    const repairId = newId()
    const reply = await repairStockScript(
      deps,
      repairId,
      product.product_id,
      versions.get(product.product_id) ?? -1,
      product.database,
    )
    switch (reply.code) {
      case 'OK':
        break
      case 'CHANGED':
        repair.reason = 'the product changed since the check; run it again'
        continue
      case 'NEGATIVE':
        repair.reason = 'a counter would be negative; not repaired'
        continue
      case 'NOT_FOUND':
        repair.reason = 'the product is not in Redis'
        continue
      default:
        throw failureToApiError(reply, `Product ${product.product_id}`)
    }
    repair.applied = true
    clearSoldOut(deps.redis, [product.product_id])
    await deps.sql`
      insert into stock_reconciliations ${deps.sql({
        id: repairId,
        product_id: product.product_id,
        redis_before: deps.sql.json(product.redis),
        redis_after: deps.sql.json(product.database),
      })}
    `
    deps.logger.warn(
      { product_id: product.product_id, from: product.redis, to: product.database },
      'stock repaired',
    )
  }
  return { dry_run: options.dryRun, checked, repairs }
}

/**
 * The products that drifted, each checked afresh (its version at that cut is
 * what its repair expects): one product, or, after a full check of the
 * catalogue, every product it found drifting, a chunk at a time.
 */
async function driftedProducts(deps: Deps, productId: number | undefined) {
  const options = {
    windowDays: deps.config.STOCK_WINDOW_DAYS,
    waitMs: deps.config.STOCK_CHECK_WAIT_MS,
  }
  let ids: number[]
  let checked: number
  if (productId !== undefined) {
    const [exists] = await deps.sql`select 1 from products where id = ${productId}`
    if (!exists) {
      throw new ApiError('NOT_FOUND', `Product ${productId} does not exist.`, {
        product_id: productId,
      })
    }
    ids = [productId]
    checked = 1
  } else {
    checked = (await runFullCheck(deps, options)).checked
    const rows = await deps.sql<{ product_id: string }[]>`
      select product_id from stock_verdicts where status = 'drift' order by product_id
    `
    ids = rows.map((r) => Number(r.product_id))
  }
  const drifted: ProductCheck[] = []
  const versions = new Map<number, number>()
  for (let i = 0; i < ids.length; i += FULL_CHECK_CHUNK) {
    const chunk = await checkProducts(deps, ids.slice(i, i + FULL_CHECK_CHUNK), options)
    drifted.push(...chunk.checks.filter((p) => p.status === 'drift'))
    for (const [id, v] of chunk.versions) versions.set(id, v)
  }
  return { checked, drifted, versions }
}
