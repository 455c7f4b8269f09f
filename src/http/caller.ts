import { createHash, timingSafeEqual } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './env.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** The bearer token of a request, if it sends one. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
}

/** True when `token` is the admin token (compared in constant time). */
export function adminMatcher(adminToken: string) {
  const expected = digest(adminToken)
  return (token: string) => timingSafeEqual(digest(token), expected)
}

/**
 * Notes who is calling (`c.var.caller`) on every API route, before any
 * route-level middleware: the admin when the admin token is sent. Refusing is
 * left to the routes that need a caller (`requireAdmin`).
 */
export function identifyCaller(adminToken: string) {
  const isAdmin = adminMatcher(adminToken)
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c.req.header('authorization'))
    if (token && isAdmin(token)) c.set('caller', 'admin')
    await next()
  })
}
