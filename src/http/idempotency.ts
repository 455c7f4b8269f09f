import { createHash } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import type { AppEnv, Deps } from '../deps.js'
import { ApiError } from './errors.js'

const PENDING_TTL_MS = 60_000
const RESULT_TTL_MS = 24 * 60 * 60 * 1000
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/

type Entry =
  | { state: 'pending'; fingerprint: string }
  | { state: 'done'; fingerprint: string; status: number; body: string }

/**
 * `Idempotency-Key` on POST: the first request runs and its 2xx response is kept
 * for 24 hours; a retry with the same key and body gets that response back and
 * has no second effect. The same key with another body is refused (422), and a
 * retry while the first is still running gets 409. Other outcomes are not kept,
 * since they changed nothing and can simply be retried.
 */
export function idempotency({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const key = c.req.header('idempotency-key')
    if (c.req.method !== 'POST' || key === undefined) return next()
    if (!KEY_FORMAT.test(key)) {
      throw new ApiError(
        'VALIDATION_FAILED',
        'Idempotency-Key must be 1 to 255 printable ASCII characters.',
        [{ field: 'Idempotency-Key', message: 'invalid format' }],
      )
    }
    const body = await c.req.text()
    const fingerprint = createHash('sha256').update(body).digest('base64url')
    const redisKey = keys.idempotency(c.req.path, key)

    const pending: Entry = { state: 'pending', fingerprint }
    const claimed = await redis.set(redisKey, JSON.stringify(pending), 'PX', PENDING_TTL_MS, 'NX')
    if (claimed !== 'OK') {
      const raw = await redis.get(redisKey)
      if (raw === null) {
        throw new ApiError(
          'IDEMPOTENCY_IN_PROGRESS',
          'A request with this Idempotency-Key just finished; retry it.',
        )
      }
      const entry = JSON.parse(raw) as Entry
      if (entry.fingerprint !== fingerprint) {
        throw new ApiError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was already used with a different request body.',
        )
      }
      if (entry.state === 'pending') {
        throw new ApiError(
          'IDEMPOTENCY_IN_PROGRESS',
          'A request with this Idempotency-Key is still running.',
        )
      }
      return c.body(entry.body, entry.status as 200, {
        'content-type': 'application/json',
        'idempotent-replayed': 'true',
      })
    }

    await next()
    if (c.res.status >= 200 && c.res.status < 300) {
      const done: Entry = {
        state: 'done',
        fingerprint,
        status: c.res.status,
        body: await c.res.clone().text(),
      }
      await redis.set(redisKey, JSON.stringify(done), 'PX', RESULT_TTL_MS)
    } else {
      await redis.del(redisKey)
    }
  })
}
