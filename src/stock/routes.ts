import { createRoute, OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv, Deps } from '../deps.js'
import { ADMIN_SECURITY, requireAdmin } from '../http/auth.js'
import { envelope, enveloped } from '../http/envelope.js'
import { errorResponses } from '../http/errors.js'
import { idempotent } from '../http/idempotency.js'
import { jsonContent } from '../http/openapi.js'
import { checkStock } from './check.js'
import { reconcile } from './reconcile.js'
import {
  ReconcileBody,
  ReconcileResultSchema,
  StockCheckQuery,
  StockReportSchema,
} from './schemas.js'

export function stockRoutes(deps: Deps) {
  const admin = requireAdmin(deps.config.ADMIN_TOKEN)
  const idem = idempotent(deps)
  const app = new OpenAPIHono<AppEnv>()

  app.openapi(
    createRoute({
      method: 'get',
      path: '/check-product-quantity',
      tags: ['stock'],
      summary: 'Stock check (admin): Redis against Postgres, drift, and how much to restock',
      security: ADMIN_SECURITY,
      middleware: [admin] as const,
      request: { query: StockCheckQuery },
      responses: {
        200: jsonContent(enveloped(StockReportSchema), 'One entry per product'),
        ...errorResponses(401, 403, 404, 422),
      },
    }),
    async (c) => {
      const query = c.req.valid('query')
      const { report } = await checkStock(deps, {
        windowDays: query.window_days ?? deps.config.STOCK_WINDOW_DAYS,
        waitMs: query.wait_ms ?? deps.config.STOCK_CHECK_WAIT_MS,
        productId: query.product_id,
      })
      return c.json(envelope(report), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/reconcile',
      tags: ['stock'],
      summary: 'Repair drift (admin): dry run by default; sets Redis to what Postgres derives',
      security: ADMIN_SECURITY,
      middleware: [admin, idem] as const,
      request: {
        body: { required: false, content: { 'application/json': { schema: ReconcileBody } } },
      },
      responses: {
        200: jsonContent(enveloped(ReconcileResultSchema), 'What changed, or would change'),
        ...errorResponses(400, 401, 403, 404, 409, 415, 422),
      },
    }),
    async (c) => {
      const body = ReconcileBody.parse(c.req.valid('json') ?? {})
      const result = await reconcile(deps, { dryRun: body.dry_run, productId: body.product_id })
      return c.json(envelope(result), 200)
    },
  )

  return app
}
