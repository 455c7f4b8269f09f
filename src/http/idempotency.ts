import { createHash } from 'node:crypto'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { routePath } from 'hono/route'
import type { Deps } from '../deps.js'
import { newId } from '../ids.js'
import type { AppEnv } from './env.js'
import { envelope } from './envelope.js'
import { ApiError } from './errors.js'
import { clientIp, takeToken } from './rateLimit.js'

/**
 * A running request keeps its claim this long. A claim older than this is a
 * request that died (a crash between the script and the reply): a retry takes
 * it over and runs again with the same operation id, so it converges on what
 * the first one did instead of doing it twice. Every request finishes well
 * within it (Redis answers or fails within REDIS_COMMAND_TIMEOUT_MS).
 */
const LEASE_MS = 15_000
const RESULT_TTL_MS = 24 * 60 * 60 * 1000
/** New keys an anonymous caller may store, per IP: a burst, then one a second. */
const ANONYMOUS_KEYS_BURST = 60
const ANONYMOUS_KEYS_PER_SECOND = 1
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
 * spelled. Entries are `P<fingerprint><claimed at, ms><operation id>` while
 * running and, once done, either `D<fingerprint><status>B<deflated body>`, or,
 * for a route that can show its resource again (`show`),
 * `D<fingerprint><status>R<id>`: about 200 bytes however large the answer (see
 * the memory bounds in docs/operations.md). A replay of such a route shows the resource as
 * it is now, with the original status.
 *
 * The operation id (`c.var.operationId`) names what the request creates (an
 * order, a payment, a ledger row): a retry after a crash reuses it, and the
 * scripts answer a second run of the same id with the first one's result.
 * Anonymous callers may store ANONYMOUS_KEYS_BURST new keys, then one a
 * second, per IP, so no client can fill Redis with entries.
 */
export function idempotent(
  deps: Pick<Deps, 'redis' | 'keys' | 'config'>,
  show?: (id: string, c: Context<AppEnv>) => Promise<unknown>,
) {
  const { redis, keys } = deps
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

    let operationId = newId()
    const claim = (at = Date.now()) =>
      `P${fingerprint}${String(at).padStart(15, '0')}${operationId}`
    const claimed = await redis.set(redisKey, claim(), 'PX', RESULT_TTL_MS, 'NX')
    if (claimed === 'OK' && c.get('caller') === undefined) {
      await limitAnonymousKeys(deps, c, redisKey)
    }
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
        const at = 1 + FINGERPRINT_LENGTH
        const claimedAt = Number(entry.subarray(at, at + 15).toString('latin1'))
        if (Date.now() - claimedAt < LEASE_MS) {
          throw new ApiError(
            'IDEMPOTENCY_IN_PROGRESS',
            'A request with this Idempotency-Key is still running.',
          )
        }
        // The first request died before it answered: run again as the same operation.
        operationId = entry.subarray(at + 15).toString('latin1')
        await redis.set(redisKey, claim(), 'PX', RESULT_TTL_MS)
        return run(operationId)
      }
      const status = Number(
        entry.subarray(1 + FINGERPRINT_LENGTH, 4 + FINGERPRINT_LENGTH).toString(),
      )
      const kind = entry[4 + FINGERPRINT_LENGTH]
      const payload = entry.subarray(5 + FINGERPRINT_LENGTH)
      const saved =
        kind === 0x52 /* R */ && show
          ? JSON.stringify(envelope(await show(payload.toString('utf8'), c)))
          : inflateRawSync(payload).toString('utf8')
      return c.body(saved, status as 200, {
        'content-type': 'application/json',
        'idempotent-replayed': 'true',
      })
    }

    return run(operationId)

    async function run(id: string) {
      c.set('operationId', id)
      let failed = false
      try {
        await next()
      } catch (err) {
        failed = true
        await release(err instanceof ApiError && err.status < 500)
        throw err
      }
      const status = c.res.status
      if (!failed && status >= 200 && status < 300) {
        const text = await c.res.clone().text()
        const shown = show ? resourceId(text) : undefined
        const saved = shown
          ? Buffer.from(`R${shown}`, 'utf8')
          : Buffer.concat([Buffer.from('B'), deflateRawSync(Buffer.from(text, 'utf8'))])
        const header = Buffer.from(`D${fingerprint}${status}`, 'latin1')
        await redis.set(redisKey, Buffer.concat([header, saved]), 'PX', RESULT_TTL_MS)
      } else if (!failed) {
        await release(status < 500)
      }
    }

    /**
     * A refusal (4xx) changed nothing: the key is free again. A failure (5xx, say
     * a 503 after the script ran) may have: the next retry takes the claim over
     * at once and runs again as the same operation. With Redis away the claim's
     * lease runs out instead.
     */
    async function release(refused: boolean) {
      const done = refused
        ? redis.del(redisKey)
        : redis.set(redisKey, claim(0), 'PX', RESULT_TTL_MS)
      await done.catch(() => {})
    }
  })
}

/**
 * An anonymous caller's new key takes a token from its IP's bucket; without
 * one the entry is dropped again and the request refused (429), changing nothing.
 */
async function limitAnonymousKeys(
  deps: Pick<Deps, 'redis' | 'keys' | 'config'>,
  c: Context<AppEnv>,
  redisKey: string,
) {
  const waitMs = await takeToken(
    deps,
    'idempotency',
    clientIp(c, deps.config.TRUST_PROXY),
    ANONYMOUS_KEYS_PER_SECOND,
    ANONYMOUS_KEYS_BURST,
  )
  if (waitMs === null) return
  await deps.redis.del(redisKey)
  throw new ApiError(
    'RATE_LIMITED',
    `Too many new Idempotency-Keys from this address; try again in ${Math.ceil(waitMs / 1000)} s.`,
    { scope: 'idempotency', retry_after_ms: waitMs },
    Math.max(1, Math.ceil(waitMs / 1000)),
  )
}

/** `data.id` (or a payment's `data.payment_id`) of a JSON answer, if it has one. */
function resourceId(text: string): string | undefined {
  try {
    const data = (JSON.parse(text) as { data?: { id?: unknown; payment_id?: unknown } }).data
    const id = data?.id ?? data?.payment_id
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined
  } catch {
    return undefined
  }
}
