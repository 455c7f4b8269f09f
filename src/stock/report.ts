import type { Deps } from '../deps.js'
import { runFullCheck } from './fullCheck.js'
import { checkHolds } from './holds.js'
import { stockTotals } from './verdicts.js'

/** Most drifting or low products the report logs one by one; the rest are counted. */
const LOGGED = 20

/**
 * The periodic full stock check: it checks every product (saving the
 * verdicts the pages and the dashboard read), logs a compact report, warns
 * about drift and low stock, and publishes a summary (pub/sub channel
 * `{prefix}:stock-report`, latest copy at `{prefix}:stock-report:latest`):
 * the totals, and the first drifting and lowest products. Its size does not
 * grow with the catalogue.
 */
export async function publishStockReport(deps: Deps) {
  const check = await runFullCheck(deps, {
    windowDays: deps.config.STOCK_WINDOW_DAYS,
    waitMs: deps.config.STOCK_CHECK_WAIT_MS,
  })
  const { drifted, low, ...counts } = check
  deps.logger.info(counts, 'stock report')
  for (const p of drifted.slice(0, LOGGED)) {
    deps.logger.warn(
      { product_id: p.product_id, drift: p.drift, reason: p.reason },
      'stock drift between Redis and Postgres',
    )
  }
  for (const p of low.slice(0, LOGGED)) {
    deps.logger.warn(
      {
        product_id: p.product_id,
        available: p.redis.available,
        reorder_point: p.reorder_point,
        restock_quantity: p.restock_quantity,
      },
      'low stock',
    )
  }
  const holds = await checkHolds(deps)
  for (const hold of [...holds.orphaned, ...holds.missing].slice(0, LOGGED)) {
    deps.logger.warn(
      hold,
      hold.action
        ? 'an order hold outlived its order: the hold audit will settle it'
        : 'an open order across partitions misses a hold',
    )
  }
  const untold = Math.max(0, check.drift - LOGGED) + Math.max(0, check.low_stock - LOGGED)
  if (untold > 0) {
    deps.logger.warn({ more: untold }, 'more drifting or low products: see the stock check')
  }
  const report = {
    generated_at: check.generated_at,
    totals: await stockTotals(deps),
    full_check: counts,
    holds,
    drift: drifted,
    low_stock: low,
  }
  const json = JSON.stringify(report)
  await deps.redis
    .multi()
    .set(deps.keys.stockReportLatest, json)
    .publish(deps.keys.stockReport, json)
    .exec()
  return report
}
