import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Deps } from '../deps.js'
import { countOutcome } from '../metrics/outcomes.js'
import { runScript } from '../redis/scripts.js'
import { CustomerIdSchema, customerKey } from './customers.js'
import type { AppEnv } from './env.js'
import { ApiError } from './errors.js'

/** lua/rateLimit.lua: takes a token from the caller's bucket; the wait in ms when empty. */
export async function takeToken(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  scope: 'customer' | 'ip' | 'idempotency',
  id: string,
  perSecond: number,
  burst: number,
): Promise<number | null> {
  const raw = await runScript(
    redis,
    'rateLimit',
    [keys.rateLimit(scope, id)],
    [1000 / perSecond, burst],
  )
  return raw[0] === 'LIMITED' ? Number(raw[1]) : null
}

/** The client's address: the socket's, or with TRUST_PROXY the first X-Forwarded-For entry. */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown' // app.request() in tests has no socket
  }
}

/** The customer a storefront call counts against: the verified one, or the body's customer_id. */
async function customerOf(c: Context<AppEnv>): Promise<string | null> {
  const viewer = c.get('viewer')
  if (viewer?.kind === 'customer') return viewer.id
  if (c.req.method !== 'POST') return null
  const body = (await c.req.json().catch(() => null)) as { customer_id?: unknown } | null
  if (typeof body?.customer_id !== 'string') return null
  const parsed = CustomerIdSchema.safeParse(body.customer_id)
  return parsed.success ? customerKey(parsed.data) : null
}

/**
 * Fair use on storefront calls, after auth: a token bucket per customer
 * (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST), and optionally per IP
 * (IP_RATE_LIMIT_PER_SECOND; off by default, since many shoppers share one IP
 * behind carrier NAT). Over it: 429 RATE_LIMITED with Retry-After, counted in
 * store_rate_limited_total. The admin is never limited.
 */
export function rateLimits(deps: Deps) {
  const { config, metrics } = deps
  return createMiddleware<AppEnv>(async (c, next) => {
    if (c.get('viewer')?.kind === 'admin') return next()
    const checks: ['customer' | 'ip', string, number, number][] = []
    const customer = await customerOf(c)
    if (customer)
      checks.push(['customer', customer, config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST])
    if (config.IP_RATE_LIMIT_PER_SECOND > 0) {
      checks.push([
        'ip',
        clientIp(c, config.TRUST_PROXY),
        config.IP_RATE_LIMIT_PER_SECOND,
        config.IP_RATE_LIMIT_BURST,
      ])
    }
    for (const [scope, id, perSecond, burst] of checks) {
      const waitMs = await takeToken(deps, scope, id, perSecond, burst)
      if (waitMs === null) continue
      metrics.rateLimited.inc({ scope })
      countOutcome(deps.redis, 0, 'rate_limited')
      throw new ApiError(
        'RATE_LIMITED',
        `Too many requests for this ${scope}; try again in ${Math.ceil(waitMs / 1000)} s.`,
        { scope, retry_after_ms: waitMs },
        Math.max(1, Math.ceil(waitMs / 1000)),
      )
    }
    await next()
  })
}
