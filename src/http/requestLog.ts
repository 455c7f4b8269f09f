import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../deps.js'
import type { Logger } from '../logger.js'

/** One structured line per request, with its request id. */
export function requestLog(logger: Logger) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now()
    await next()
    logger.info(
      {
        request_id: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    )
  })
}
