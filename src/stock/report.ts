import type { Deps } from '../deps.js'
import { checkStock } from './check.js'

/**
 * The periodic stock check: logs a compact report, warns about drift and low
 * stock, and publishes the full report for the dashboard (pub/sub channel
 * `{prefix}:stock-report`, latest copy at `{prefix}:stock-report:latest`).
 */
export async function publishStockReport(deps: Deps) {
  const { report } = await checkStock(deps, {
    windowDays: deps.config.STOCK_WINDOW_DAYS,
    waitMs: deps.config.STOCK_CHECK_WAIT_MS,
  })
  const count = (status: string) => report.products.filter((p) => p.status === status).length
  const lowStock = report.products.filter((p) => p.restock_quantity > 0)
  deps.logger.info(
    {
      products: report.products.length,
      in_sync: count('in_sync'),
      pending: count('pending'),
      drift: count('drift'),
      low_stock: lowStock.length,
      ...report.write_behind,
    },
    'stock report',
  )
  for (const p of report.products.filter((p) => p.status === 'drift')) {
    deps.logger.warn(
      { product_id: p.product_id, drift: p.drift },
      'stock drift between Redis and Postgres',
    )
  }
  for (const p of lowStock) {
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
  const json = JSON.stringify(report)
  await deps.redis
    .multi()
    .set(deps.keys.stockReportLatest, json)
    .publish(deps.keys.stockReport, json)
    .exec()
  return report
}
