import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import type { AppEnv } from '../http/env.js'
import { isRebuilding } from '../recovery/hydrate.js'
import { readStock } from '../stock/redisStock.js'
import { writeBehindStatus } from '../worker/status.js'

/** How long a scrape waits for Redis to refresh the gauges it reads at scrape time. */
const REFRESH_TIMEOUT_MS = 500
/**
 * Products with their own stock series: the first of the catalogue, by id. A
 * series per product of a 50,000-product catalogue would take longer to read
 * than a scrape may wait, and swamp Prometheus; the stock check covers them all.
 */
export const STOCK_SERIES_LIMIT = 1_000

/** Fills the gauges that are read at scrape time; a failing source is skipped, never fatal. */
async function refreshGauges(deps: Deps) {
  const { metrics } = deps
  await writeBehindStatus(deps)
    .then((s) => {
      metrics.backlog.set(s.backlog)
      metrics.lag.set(s.lag_ms / 1000)
      metrics.deadLetters.set(s.dead_letters)
      metrics.deadLettersDropped.set(s.dead_letters_dropped)
    })
    .catch(() => {})
  await isRebuilding(deps)
    .then((rebuilding) => metrics.rebuilding.set(rebuilding ? 1 : 0))
    .catch(() => {})
  await Promise.all(
    deps.keys.allPartitions.map((part) =>
      deps.redis.zrange(part.catalogue, 0, String(STOCK_SERIES_LIMIT - 1)),
    ),
  )
    .then(async (lists) => {
      const ids = lists
        .flat()
        .map(Number)
        .sort((a, b) => a - b)
        .slice(0, STOCK_SERIES_LIMIT)
      const stock = await readStock(deps, ids)
      metrics.stock.reset()
      ids.forEach((id, i) => {
        const s = stock[i]
        if (!s) return
        for (const state of ['available', 'reserved', 'sold'] as const) {
          metrics.stock.set({ product_id: String(id), state }, s[state])
        }
      })
    })
    .catch(() => {})
}

export function metricsRoutes(deps: Deps) {
  const app = new OpenAPIHono<AppEnv>()
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics',
      responses: {
        200: {
          description: 'Prometheus text format',
          content: { 'text/plain': { schema: z.string() } },
        },
      },
    }),
    async (c) => {
      // A scrape never waits on a store: gauges a slow source could not fill keep their last values.
      await Promise.race([
        refreshGauges(deps),
        new Promise((resolve) => setTimeout(resolve, REFRESH_TIMEOUT_MS).unref()),
      ])
      return c.text(await deps.metrics.registry.metrics(), 200, {
        'content-type': deps.metrics.registry.contentType,
      })
    },
  )
  return app
}
