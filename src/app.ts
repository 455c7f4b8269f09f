import { OpenAPIHono } from '@hono/zod-openapi'
import { dashboardRoutes } from './dashboard/routes.js'
import type { Deps } from './deps.js'
import { docsRoutes } from './docs/routes.js'
import { metricsRoutes } from './health/metrics.js'
import { healthRoutes } from './health/routes.js'
import { bodyLimit } from './http/bodyLimit.js'
import { identifyCaller } from './http/caller.js'
import type { AppEnv } from './http/env.js'
import { ApiError, errorResponse, toApiError, validationError } from './http/errors.js'
import { isRebuildingRefusal } from './http/refusals.js'
import { requestId } from './http/requestId.js'
import { requestLog } from './http/requestLog.js'
import { httpMetrics } from './metrics/metrics.js'
import { orderRoutes } from './orders/routes.js'
import { paymentRoutes } from './payments/routes.js'
import { productRoutes } from './products/routes.js'
import { requestRebuild } from './recovery/hydrate.js'
import { stockRoutes } from './stock/routes.js'

/** Builds the whole HTTP app. Production and tests both call this. */
export function createApp(deps: Deps) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues)
    },
  })

  app.use(requestId())
  app.use(requestLog(deps.logger))
  app.use(httpMetrics(deps.metrics))
  app.use(bodyLimit(deps.config.BODY_LIMIT_BYTES))
  app.use('/api/*', identifyCaller(deps.config.ADMIN_TOKEN))

  app.route('/', healthRoutes(deps))
  app.route('/api/v1/products', productRoutes(deps))
  app.route('/api/v1', orderRoutes(deps))
  app.route('/api/v1', paymentRoutes(deps))
  app.route('/api/v1', stockRoutes(deps))
  app.route('/', metricsRoutes(deps))
  app.route('/dashboard', dashboardRoutes(deps))

  app.openAPIRegistry.registerComponent('securitySchemes', 'customerToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A customer token (JWT with `sub` and `exp`), when CUSTOMER_JWT_SECRET or CUSTOMER_JWT_PUBLIC_KEY is set.',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The ADMIN_TOKEN, as `Authorization: Bearer <token>`.',
  })
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'online-store',
      version: '0.1.0',
      description: 'Flash-sale store API that cannot oversell.',
    },
  })
  app.route('/docs', docsRoutes())

  app.notFound((c) =>
    errorResponse(c, new ApiError('NOT_FOUND', `No route for ${c.req.method} ${c.req.path}.`)),
  )
  app.onError((err, c) => {
    const answer = toApiError(err, deps.logger, c.get('requestId'))
    // Redis lost its data: the first request to meet it starts the rebuild (once per process).
    if (isRebuildingRefusal(answer)) requestRebuild(deps)
    return errorResponse(c, answer)
  })
  return app
}
