import { bodyLimit as honoBodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { ApiError, errorResponse } from './errors.js'

/**
 * 413 for bodies over `maxBytes`. A declared Content-Length is checked from the
 * header alone; Hono's bodyLimit, which streams the body, runs only for chunked
 * bodies. (Touching the raw body makes @hono/node-server build a full Request,
 * which cost the checkout path most of its throughput.)
 */
export function bodyLimit(maxBytes: number) {
  const tooLarge = new ApiError(
    'PAYLOAD_TOO_LARGE',
    `The request body is larger than ${maxBytes} bytes.`,
  )
  const streaming = honoBodyLimit({ maxSize: maxBytes, onError: (c) => errorResponse(c, tooLarge) })
  return createMiddleware(async (c, next) => {
    const length = c.req.header('content-length')
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(length) > maxBytes ? errorResponse(c, tooLarge) : next()
    }
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    return streaming(c, next)
  })
}
