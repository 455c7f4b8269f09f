import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import { ADMIN_SECURITY, requireAdmin } from '../http/auth.js'
import type { AppEnv } from '../http/env.js'
import { envelope, enveloped, PaginationMetaSchema } from '../http/envelope.js'
import { errorResponses } from '../http/errors.js'
import { idempotent } from '../http/idempotency.js'
import { jsonBody, jsonContent } from '../http/openapi.js'
import { listProductsJson } from './catalogue.js'
import {
  CreateProductBody,
  ListProductsQuery,
  PaginationSchema,
  ProductIdParam,
  ProductSchema,
  RestockBody,
  UpdateProductBody,
} from './schemas.js'
import { createProduct, restockProduct, updateProduct } from './service.js'

export function productRoutes(deps: Deps) {
  const admin = requireAdmin(deps.config.ADMIN_TOKEN)
  const idem = idempotent(deps)
  const app = new OpenAPIHono<AppEnv>()

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['products'],
      summary: 'List active products with live stock',
      request: { query: ListProductsQuery },
      responses: {
        200: jsonContent(
          enveloped(
            z.array(ProductSchema),
            z.object({ pagination: PaginationMetaSchema }).strict(),
          ).extend({ pagination: PaginationSchema }),
          'A page of active products',
        ),
        ...errorResponses(422),
      },
    }),
    async (c) => {
      const { page, per_page } = c.req.valid('query')
      const json = await listProductsJson(deps, page, per_page)
      // Already the response's JSON (see listProductsJson): sent as it is.
      return c.body(json, 200, { 'content-type': 'application/json' }) as never
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['products'],
      summary: 'Add a product (admin)',
      security: ADMIN_SECURITY,
      middleware: [admin, idem] as const,
      request: { body: jsonBody(CreateProductBody) },
      responses: {
        200: jsonContent(enveloped(ProductSchema), 'The product, with its stock loaded'),
        ...errorResponses(400, 401, 403, 413, 415, 422),
      },
    }),
    async (c) => c.json(envelope(await createProduct(deps, c.req.valid('json'))), 200),
  )

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['products'],
      summary: 'Change a product (admin): name, price, status, lead times, limit, sale window',
      security: ADMIN_SECURITY,
      middleware: [admin] as const,
      request: { params: ProductIdParam, body: jsonBody(UpdateProductBody) },
      responses: {
        200: jsonContent(enveloped(ProductSchema), 'The product after the change'),
        ...errorResponses(400, 401, 403, 404, 413, 415, 422, 503),
      },
    }),
    async (c) =>
      c.json(
        envelope(await updateProduct(deps, c.req.valid('param').id, c.req.valid('json'))),
        200,
      ),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/restock',
      tags: ['products'],
      summary: 'Add stock to a product (admin)',
      security: ADMIN_SECURITY,
      middleware: [admin, idem] as const,
      request: { params: ProductIdParam, body: jsonBody(RestockBody) },
      responses: {
        200: jsonContent(
          enveloped(ProductSchema.extend({ ledger_id: z.uuid() })),
          'The product with its new stock',
        ),
        ...errorResponses(400, 401, 403, 404, 413, 415, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { quantity } = c.req.valid('json')
      const { ledger_id, product } = await restockProduct(deps, id, quantity, c.get('operationId'))
      return c.json(envelope({ ...product, ledger_id }), 200)
    },
  )

  return app
}
