import { createMiddleware } from 'hono/factory'
import type { Logger } from '../logger.js'
import type { AppEnv } from './env.js'

/** A request slower than this is logged at info even when it succeeded. */
const SLOW_MS = 250

/**
 * One structured line per request, with its request id: failures (5xx) at warn,
 * refused credentials (401, 403) and slow requests at info, and everything else
 * (successes, and the refusals a sale makes by the thousand: sold out, limits)
 * at debug, so LOG_LEVEL=debug logs every request. Every request is counted in
 * /metrics by route and status; a line for each would cost the hot path more
 * than the checkout itself (measured in docs/performance.md).
 */
export function requestLog(logger: Logger) {
  const debug = logger.isLevelEnabled('debug')
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now()
    await next()
    const ms = performance.now() - started
    const status = c.res.status
    const notable = status >= 500 || status === 401 || status === 403 || ms >= SLOW_MS
    if (!notable && !debug) return
    const line = {
      request_id: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round(ms * 10) / 10,
    }
    if (status >= 500) logger.warn(line, 'request')
    else if (notable) logger.info(line, 'request')
    else logger.debug(line, 'request')
  })
}
