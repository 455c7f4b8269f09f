import type { Deps } from '../deps.js'
import { type CheckOptions, checkContext, checkProducts, type ProductCheck } from './check.js'

/** Products per chunk of the full check: one cut, one query of each kind, per chunk. */
export const FULL_CHECK_CHUNK = 1_000
/** Most drifting and low products a full check hands back (all are in stock_verdicts). */
const KEEP = 100

export interface FullCheck {
  generated_at: string
  checked: number
  in_sync: number
  pending: number
  drift: number
  low_stock: number
  ms: number
  /** The first drifting products, by id (at most KEEP). */
  drifted: ProductCheck[]
  /** The products furthest below their reorder point (at most KEEP). */
  low: ProductCheck[]
}

/**
 * Checks every product, FULL_CHECK_CHUNK at a time, each chunk at its own
 * consistent cut, and saves every verdict (the pages sort on them). A chunk
 * does not wait for the write-behind; products still pending are checked
 * again once at the end, waiting up to `waitMs`. Memory stays bounded by the
 * chunk and by KEEP, whatever the catalogue's size. The API keeps answering:
 * each chunk holds Redis for one short read-only script.
 */
export async function runFullCheck(deps: Deps, options: CheckOptions): Promise<FullCheck> {
  const started = Date.now()
  const context = await checkContext(deps)
  const counts = { checked: 0, in_sync: 0, pending: 0, drift: 0, low_stock: 0 }
  const drifted: ProductCheck[] = []
  let low: ProductCheck[] = []
  const pendingIds: number[] = []
  const tally = (checks: ProductCheck[], final: boolean) => {
    for (const check of checks) {
      if (check.status === 'pending' && !final) {
        pendingIds.push(check.product_id)
        continue
      }
      counts.checked += 1
      counts[check.status] += 1
      if (check.status === 'drift' && drifted.length < KEEP) drifted.push(check)
      if (check.restock_quantity > 0) {
        counts.low_stock += 1
        low.push(check)
      }
    }
    if (low.length > 2 * KEEP) low = furthestBelow(low)
  }

  let after = 0
  for (;;) {
    const rows = await deps.sql<{ id: string }[]>`
      select id from products where id > ${after} order by id limit ${FULL_CHECK_CHUNK}
    `
    if (rows.length === 0) break
    const ids = rows.map((r) => Number(r.id))
    after = ids[ids.length - 1] as number
    const { checks } = await checkProducts(deps, ids, { ...options, waitMs: 0 }, context)
    tally(checks, false)
  }
  for (let i = 0; i < pendingIds.length; i += FULL_CHECK_CHUNK) {
    const { checks } = await checkProducts(
      deps,
      pendingIds.slice(i, i + FULL_CHECK_CHUNK),
      options,
      context,
    )
    tally(checks, true)
  }
  return {
    generated_at: new Date().toISOString(),
    ...counts,
    ms: Date.now() - started,
    drifted,
    low: furthestBelow(low),
  }
}

const furthestBelow = (checks: ProductCheck[]) =>
  [...checks].sort((a, b) => b.restock_quantity - a.restock_quantity).slice(0, KEEP)
