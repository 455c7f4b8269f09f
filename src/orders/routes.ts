import { createRoute, OpenAPIHono } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import { viewerOf } from '../http/customers.js'
import type { AppEnv } from '../http/env.js'
import { envelope, enveloped } from '../http/envelope.js'
import { errorResponses } from '../http/errors.js'
import { idempotent } from '../http/idempotency.js'
import { jsonBody, jsonContent } from '../http/openapi.js'
import { storefront } from '../http/storefront.js'
import { CreateOrderBody, OrderIdBody, OrderIdParam, OrderSchema } from './schemas.js'
import { cancelOrder, checkoutOrder, createOrder, getOrder } from './service.js'

const OrderResponse = enveloped(OrderSchema)

export function orderRoutes(deps: Deps) {
  const shop = storefront(deps)
  const idem = idempotent(deps, (id, c) => getOrder(deps, id, viewerOf(c)))
  const app = new OpenAPIHono<AppEnv>()

  app.openapi(
    createRoute({
      method: 'post',
      path: '/create-order',
      tags: ['orders'],
      summary: 'Create a draft order (nothing is reserved yet)',
      security: shop.security,
      middleware: [...shop.middleware, idem] as const,
      request: { body: jsonBody(CreateOrderBody) },
      responses: {
        200: jsonContent(OrderResponse, 'The draft order, with current availability per line'),
        ...errorResponses(400, 403, 404, 409, 413, 415, 422, 503, ...shop.statuses),
      },
    }),
    async (c) =>
      c.json(
        envelope(await createOrder(deps, c.req.valid('json'), viewerOf(c), c.get('operationId'))),
        200,
      ),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/order/{order_id}',
      tags: ['orders'],
      summary: 'Get an order (a customer sees only their own)',
      security: shop.security,
      middleware: [...shop.middleware] as const,
      request: { params: OrderIdParam },
      responses: {
        200: jsonContent(OrderResponse, 'The order'),
        ...errorResponses(404, 422, 503, ...shop.statuses),
      },
    }),
    async (c) =>
      c.json(envelope(await getOrder(deps, c.req.valid('param').order_id, viewerOf(c))), 200),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/checkout-order',
      tags: ['orders'],
      summary: 'Reserve every line of a draft order, all or nothing, within each sale window',
      security: shop.security,
      middleware: [...shop.middleware, idem] as const,
      request: { body: jsonBody(OrderIdBody) },
      responses: {
        200: jsonContent(OrderResponse, 'The order in checkout, with reserved_until'),
        ...errorResponses(400, 404, 409, 413, 415, 422, 503, ...shop.statuses),
      },
    }),
    async (c) =>
      c.json(envelope(await checkoutOrder(deps, c.req.valid('json').order_id, viewerOf(c))), 200),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/cancel-order',
      tags: ['orders'],
      summary: 'Cancel a draft or checked-out order, releasing its reservation',
      security: shop.security,
      middleware: [...shop.middleware, idem] as const,
      request: { body: jsonBody(OrderIdBody) },
      responses: {
        200: jsonContent(OrderResponse, 'The cancelled order'),
        ...errorResponses(400, 404, 409, 413, 415, 422, 503, ...shop.statuses),
      },
    }),
    async (c) =>
      c.json(envelope(await cancelOrder(deps, c.req.valid('json').order_id, viewerOf(c))), 200),
  )

  return app
}
