import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv, Deps } from '../deps.js'
import { readStock } from '../stock/redisStock.js'
import { writeBehindStatus } from '../worker/status.js'

/** Fills the gauges that are read at scrape time; a failing source is skipped, never fatal. */
async function refreshGauges(deps: Deps) {
  const { metrics } = deps
  await writeBehindStatus(deps)
    .then((s) => {
      metrics.backlog.set(s.backlog)
      metrics.lag.set(s.lag_ms / 1000)
      metrics.deadLetters.set(s.dead_letters)
    })
    .catch(() => {})
  await deps.sql<{ id: string }[]>`select id from products where status = 'active'`
    .then(async (rows) => {
      const ids = rows.map((r) => Number(r.id))
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
      await refreshGauges(deps)
      return c.text(await deps.metrics.registry.metrics(), 200, {
        'content-type': deps.metrics.registry.contentType,
      })
    },
  )
  return app
}
