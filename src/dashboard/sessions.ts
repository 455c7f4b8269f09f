import { createHash, randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { Deps } from '../deps.js'
import { adminMatcher } from '../http/caller.js'

export const SESSION_COOKIE = 'store_session'
export type DashboardRole = 'admin' | 'viewer'
type DashboardEnv = { Variables: { dashboardRole: DashboardRole } }

const hash = (id: string) => createHash('sha256').update(id).digest('base64url')

/** The role a sign-in token grants: the admin token, or the read-only VIEWER_TOKEN. */
export function roleOf(config: Deps['config'], token: string): DashboardRole | null {
  if (adminMatcher(config.ADMIN_TOKEN)(token)) return 'admin'
  if (config.VIEWER_TOKEN && adminMatcher(config.VIEWER_TOKEN)(token)) return 'viewer'
  return null
}

/** HTTPS as the client sees it (behind a proxy only with TRUST_PROXY). */
function isHttps(c: Context, trustProxy: boolean) {
  if (trustProxy && c.req.header('x-forwarded-proto') === 'https') return true
  return new URL(c.req.url).protocol === 'https:'
}

/**
 * Signs in: a random session id goes to the browser as an HttpOnly,
 * SameSite=Strict cookie (Secure over HTTPS) with an expiry; Redis keeps only
 * its hash and the role, for DASHBOARD_SESSION_SECONDS. The token itself is
 * never stored, sent back or logged.
 */
export async function startSession(c: Context, deps: Deps, role: DashboardRole) {
  const id = randomBytes(32).toString('base64url')
  const ttl = deps.config.DASHBOARD_SESSION_SECONDS
  await deps.redis.set(deps.keys.session(hash(id)), role, 'EX', ttl)
  setCookie(c, SESSION_COOKIE, id, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: isHttps(c, deps.config.TRUST_PROXY),
    path: '/dashboard',
    maxAge: ttl,
  })
}

export async function endSession(c: Context, deps: Deps) {
  const id = getCookie(c, SESSION_COOKIE)
  if (id) await deps.redis.del(deps.keys.session(hash(id)))
  deleteCookie(c, SESSION_COOKIE, { path: '/dashboard' })
}

/** The signed-in role, or null (no cookie, an unknown one, or an expired one). */
export async function sessionRole(c: Context, deps: Deps): Promise<DashboardRole | null> {
  const id = getCookie(c, SESSION_COOKIE)
  if (!id || id.length > 100) return null
  const role = await deps.redis.get(deps.keys.session(hash(id)))
  return role === 'admin' || role === 'viewer' ? role : null
}

/** Dashboard data routes: a session or 401 (the page itself shows the sign-in form instead). */
export function requireSession(deps: Deps) {
  return createMiddleware<DashboardEnv>(async (c, next) => {
    const role = await sessionRole(c, deps)
    if (!role) {
      return c.json(
        { error: { code: 'UNAUTHORIZED', message: 'Sign in to the dashboard first.' } },
        401,
      )
    }
    c.set('dashboardRole', role)
    await next()
  })
}
