import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { ApiError } from '../http/errors.js'
import { runScript } from '../redis/scripts.js'
import { writeBehindStatus } from '../worker/status.js'
import { type Counters, checkStock } from './check.js'

export interface Repair {
  product_id: number
  from: Counters
  to: Counters
  applied: boolean
  reason?: string
}

/**
 * Brings Redis back in line with Postgres for the products that drifted.
 * A dry run (the default) only says what it would change. Refuses while the
 * write-behind backlog is not empty, since Postgres is then behind, not wrong.
 * Each repair is one script that first checks the product did not move since
 * the check, and is recorded in stock_reconciliations.
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
  const { report, versions } = await checkStock(deps, {
    windowDays: deps.config.STOCK_WINDOW_DAYS,
    waitMs: deps.config.STOCK_CHECK_WAIT_MS,
    productId: options.productId,
  })
  const drifted = report.products.filter((p) => p.status === 'drift')
  const repairs: Repair[] = []
  for (const product of drifted) {
    const repair: Repair = {
      product_id: product.product_id,
      from: product.redis,
      to: product.database,
      applied: false,
    }
    repairs.push(repair)
    if (options.dryRun) continue
    const [outcome] = await runScript(
      deps.redis,
      'repairStock',
      [deps.keys.product(product.product_id), deps.keys.events],
      [
        product.product_id,
        versions.get(product.product_id) ?? -1,
        product.database.available,
        product.database.reserved,
        product.database.sold,
      ],
    )
    if (outcome !== 'OK') {
      repair.reason =
        outcome === 'CHANGED'
          ? 'the product changed since the check; run it again'
          : 'the product is not in Redis'
      continue
    }
    repair.applied = true
    await deps.sql`
      insert into stock_reconciliations ${deps.sql({
        id: uuidv7(),
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
  return { dry_run: options.dryRun, checked: report.products.length, repairs }
}
