import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import { ADMIN_SECURITY, requireAdmin } from '../http/auth.js'
import type { AppEnv } from '../http/env.js'
import { envelope, enveloped, PaginationMetaSchema } from '../http/envelope.js'
import { ApiError, errorResponses } from '../http/errors.js'
import { idempotent } from '../http/idempotency.js'
import { jsonContent } from '../http/openapi.js'
import { stockCheckPage } from './page.js'
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
        200: jsonContent(
          enveloped(StockReportSchema, z.strictObject({ pagination: PaginationMetaSchema })),
          'Shop-wide totals and one page of products',
        ),
        ...errorResponses(401, 403, 404, 422),
      },
    }),
    async (c) => {
      const query = c.req.valid('query')
      const report = await stockCheckPage(deps, {
        page: query.page,
        perPage: query.per_page,
        status: query.status,
        lowStock: query.low_stock,
        onSale: query.on_sale,
        q: query.q,
        productId: query.product_id,
        windowDays: query.window_days ?? deps.config.STOCK_WINDOW_DAYS,
        waitMs: query.wait_ms ?? deps.config.STOCK_CHECK_WAIT_MS,
      })
      if (query.product_id !== undefined && report.products.length === 0) {
        throw new ApiError('NOT_FOUND', `Product ${query.product_id} does not exist.`, {
          product_id: query.product_id,
        })
      }
      const { page, per_page, total, total_pages } = report.pagination
      const pagination = { current_page: page, per_page, total, total_page: total_pages }
      return c.json(envelope(report, { pagination }), 200)
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
