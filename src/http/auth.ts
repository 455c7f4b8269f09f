import { createHash, timingSafeEqual } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../deps.js'
import { ApiError } from './errors.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(adminToken: string) {
  const expected = digest(adminToken)
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!match?.[1]) {
      throw new ApiError(
        'UNAUTHORIZED',
        'This route needs the admin token: send Authorization: Bearer <token>.',
      )
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      throw new ApiError('FORBIDDEN', 'The admin token is not valid.')
    }
    c.set('caller', 'admin')
    await next()
  })
}

export const ADMIN_SECURITY = [{ adminToken: [] }]
