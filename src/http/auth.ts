import { createMiddleware } from 'hono/factory'
import { adminMatcher, bearerToken } from './caller.js'
import type { AppEnv } from './env.js'
import { ApiError } from './errors.js'

/** Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(adminToken: string) {
  const isAdmin = adminMatcher(adminToken)
  return createMiddleware<AppEnv>(async (c, next) => {
    // identifyCaller already matched the token on /api routes: no second hash.
    if (c.get('caller') === 'admin') return next()
    const token = bearerToken(c.req.header('authorization'))
    if (!token) {
      throw new ApiError(
        'UNAUTHORIZED',
        'This route needs the admin token: send Authorization: Bearer <token>.',
      )
    }
    if (!isAdmin(token)) throw new ApiError('FORBIDDEN', 'The admin token is not valid.')
    c.set('caller', 'admin')
    await next()
  })
}

export const ADMIN_SECURITY = [{ adminToken: [] }]
