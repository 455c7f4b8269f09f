import { createHash } from 'node:crypto'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { routePath } from 'hono/route'
import type { AppEnv, Deps } from '../deps.js'
import { ApiError } from './errors.js'

const PENDING_TTL_MS = 60_000
const RESULT_TTL_MS = 24 * 60 * 60 * 1000
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/
const FINGERPRINT_LENGTH = 43 // base64url of a sha256

/**
 * `Idempotency-Key` on POST, as route middleware that runs after auth: the
 * first request runs and its 2xx response is kept for 24 hours; a retry with
 * the same key and body gets that response back and has no second effect. The
 * same key with another body is refused (422), and a retry while the first is
 * still running gets 409. Other outcomes are not kept, since they changed
 * nothing and can simply be retried.
 *
 * An entry belongs to one scope: the caller (`c.var.caller`, set by auth), the
 * route pattern and its parameters as parsed, so a key never replays another
 * caller's response, and `/products/6/restock` has one scope however it is
 * spelled. Entries are `P<fingerprint>` while running and, once done, either
 * `D<fingerprint><status>B<deflated body>`, or, for a route that can show its
 * resource again (`show`), `D<fingerprint><status>R<id>`: about 200 bytes
 * however large the answer (see the README's memory bounds). A replay of such a
 * route shows the resource as it is now, with the original status.
 */
export function idempotent(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  show?: (id: string, c: Context<AppEnv>) => Promise<unknown>,
) {
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
    const params = Object.entries(c.req.param() as Record<string, string>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => `${name}=${value.toLowerCase()}`)
    const scope = [c.get('caller') ?? 'anonymous', c.req.method, routePath(c), ...params].join('\n')
    const redisKey = keys.idempotency(scope, key)

    const claimed = await redis.set(redisKey, `P${fingerprint}`, 'PX', PENDING_TTL_MS, 'NX')
    if (claimed !== 'OK') {
      const entry = await redis.getBuffer(redisKey)
      if (entry === null) {
        throw new ApiError(
          'IDEMPOTENCY_IN_PROGRESS',
          'A request with this Idempotency-Key just finished; retry it.',
        )
      }
      if (entry.subarray(1, 1 + FINGERPRINT_LENGTH).toString('latin1') !== fingerprint) {
        throw new ApiError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was already used with a different request body.',
        )
      }
      if (entry[0] !== 0x44 /* D */) {
        throw new ApiError(
          'IDEMPOTENCY_IN_PROGRESS',
          'A request with this Idempotency-Key is still running.',
        )
      }
      const status = Number(
        entry.subarray(1 + FINGERPRINT_LENGTH, 4 + FINGERPRINT_LENGTH).toString(),
      )
      const kind = entry[4 + FINGERPRINT_LENGTH]
      const payload = entry.subarray(5 + FINGERPRINT_LENGTH)
      const saved =
        kind === 0x52 /* R */ && show
          ? JSON.stringify({ data: await show(payload.toString('utf8'), c) })
          : inflateRawSync(payload).toString('utf8')
      return c.body(saved, status as 200, {
        'content-type': 'application/json',
        'idempotent-replayed': 'true',
      })
    }

    try {
      await next()
    } catch (err) {
      await redis.del(redisKey)
      throw err
    }
    if (c.res.status >= 200 && c.res.status < 300) {
      const text = await c.res.clone().text()
      const id = show ? resourceId(text) : undefined
      const saved = id
        ? Buffer.from(`R${id}`, 'utf8')
        : Buffer.concat([Buffer.from('B'), deflateRawSync(Buffer.from(text, 'utf8'))])
      const header = Buffer.from(`D${fingerprint}${c.res.status}`, 'latin1')
      await redis.set(redisKey, Buffer.concat([header, saved]), 'PX', RESULT_TTL_MS)
    } else {
      await redis.del(redisKey)
    }
  })
}

/** `data.id` of a JSON answer, if it has one. */
function resourceId(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { data?: { id?: unknown } }).data?.id
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined
  } catch {
    return undefined
  }
}
