import { createRoute, OpenAPIHono } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import { ADMIN_SECURITY, requireAdmin } from '../http/auth.js'
import { viewerOf } from '../http/customers.js'
import type { AppEnv } from '../http/env.js'
import { envelope, enveloped } from '../http/envelope.js'
import { errorResponses } from '../http/errors.js'
import { idempotent } from '../http/idempotency.js'
import { jsonBody, jsonContent } from '../http/openapi.js'
import { storefront } from '../http/storefront.js'
import { OrderIdBody } from '../orders/schemas.js'
import { PaymentIdParam, PaymentSchema, PaymentWithOrderSchema } from './schemas.js'
import { confirmPayment, getPayment, payOrder, rejectPayment, showPayment } from './service.js'

const PaymentResponse = enveloped(PaymentSchema)

export function paymentRoutes(deps: Deps) {
  const admin = requireAdmin(deps.config.ADMIN_TOKEN)
  const shop = storefront(deps)
  const idem = idempotent(deps, (id, c) => showPayment(deps, id, viewerOf(c)))
  const app = new OpenAPIHono<AppEnv>()

  app.openapi(
    createRoute({
      method: 'post',
      path: '/payment-order',
      tags: ['payments'],
      summary: 'Pay a checked-out order; its reservation stops expiring',
      security: shop.security,
      middleware: [...shop.middleware, idem] as const,
      request: { body: jsonBody(OrderIdBody) },
      responses: {
        200: jsonContent(PaymentResponse, 'The payment, status paid'),
        ...errorResponses(400, 404, 409, 413, 415, 422, 503, ...shop.statuses),
      },
    }),
    async (c) =>
      c.json(
        envelope(
          await payOrder(deps, c.req.valid('json').order_id, viewerOf(c), c.get('operationId')),
        ),
        200,
      ),
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/confirm-payment-order/{payment_id}',
      tags: ['payments'],
      summary: 'Confirm a payment (admin): reserved units become sold',
      security: ADMIN_SECURITY,
      middleware: [admin] as const,
      request: { params: PaymentIdParam },
      responses: {
        200: jsonContent(PaymentResponse, 'The confirmed payment'),
        ...errorResponses(401, 403, 404, 409, 422),
      },
    }),
    async (c) => c.json(envelope(await confirmPayment(deps, c.req.valid('param').payment_id)), 200),
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/reject-payment-order/{payment_id}',
      tags: ['payments'],
      summary: 'Reject a payment (admin): reserved units go back to available',
      security: ADMIN_SECURITY,
      middleware: [admin] as const,
      request: { params: PaymentIdParam },
      responses: {
        200: jsonContent(PaymentResponse, 'The rejected payment'),
        ...errorResponses(401, 403, 404, 409, 422),
      },
    }),
    async (c) => c.json(envelope(await rejectPayment(deps, c.req.valid('param').payment_id)), 200),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/payment-order/{payment_id}',
      tags: ['payments'],
      summary: "Get a payment with its order's status and lines (a customer sees only their own)",
      security: shop.security,
      middleware: [...shop.middleware] as const,
      request: { params: PaymentIdParam },
      responses: {
        200: jsonContent(enveloped(PaymentWithOrderSchema), 'The payment and its order'),
        ...errorResponses(404, 422, 503, ...shop.statuses),
      },
    }),
    async (c) =>
      c.json(envelope(await getPayment(deps, c.req.valid('param').payment_id, viewerOf(c))), 200),
  )

  return app
}
