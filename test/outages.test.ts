import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startRedisServer } from '../scripts/lib/topology/redisServer.js'
import { cleanupList } from './helpers/cleanups.js'
import { ADMIN_TOKEN, createTestDatabase, deletePrefixKeys, REDIS_URL } from './helpers/context.js'
import { serviceEnv, startService } from './helpers/processes.js'
import { startTcpProxy } from './helpers/tcpProxy.js'

// A real service (one process, ROLE=api) against real stores, with one of them
// taken away: every request is answered promptly, with the right reason.
let db: Awaited<ReturnType<typeof createTestDatabase>>
const cleanups = cleanupList()
beforeAll(async () => {
  db = await createTestDatabase()
})
afterEach(() => cleanups.run())
afterAll(() => db.drop())

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
const json = { 'content-type': 'application/json' }

async function serve(env: Record<string, string>) {
  const prefix = `t-${randomBytes(6).toString('hex')}`
  const service = startService(
    serviceEnv(db.url, prefix, {
      ROLE: 'api',
      RATE_LIMIT_PER_SECOND: '100000',
      RATE_LIMIT_BURST: '100000',
      MAX_OPEN_ORDERS: '100000',
      ...env,
    }),
  )
  cleanups.push(async () => {
    service.child.kill('SIGKILL')
    await service.exited.catch(() => {})
    await deletePrefixKeys(prefix).catch(() => {})
  })
  return { service, url: await service.listening }
}

interface Timed {
  path: string
  status: number
  ms: number
  retryAfter: string | null
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
  body: any
}

/** One request, timed; a request still unanswered after 10 s counts as a hang (status 0). */
async function timed(url: string, path: string, init: RequestInit = {}): Promise<Timed> {
  const started = Date.now()
  try {
    const res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return {
      path,
      status: res.status,
      ms: Date.now() - started,
      retryAfter: res.headers.get('retry-after'),
      body,
    }
  } catch {
    return { path, status: 0, ms: Date.now() - started, retryAfter: null, body: null }
  }
}

/** A new product (through the admin API), and an order body for one unit of it. */
async function oneUnitOf(url: string, name: string, quantity: number) {
  const product = await timed(url, '/api/v1/products', post({ name, quantity, price: 1 }, admin))
  expect(product.status).toBe(200)
  return { products: [{ product_id: product.body.data.id as number, quantity: 1 }] }
}

const post = (body: unknown, headers: Record<string, string> = json) => ({
  method: 'POST',
  headers,
  body: JSON.stringify(body),
})

describe('Redis killed mid-sale', () => {
  it('answers every request within 2 s (503 with Retry-After, reason redis), /metrics and /healthz answer, and shutdown is prompt', async () => {
    const redis = await startRedisServer({ persistence: 'none' })
    cleanups.push(() => redis.stop())
    const { service, url } = await serve({ REDIS_URL: redis.url })
    const lines = await oneUnitOf(url, 'Outage', 100_000)
    const held = await timed(url, '/api/v1/create-order', post(lines))
    expect(held.status).toBe(200)
    const orderId = held.body.data.id as string

    // Buyers keep buying while Redis dies under them (bounded: 8 lanes, 6 s).
    let killedAt = Number.POSITIVE_INFINITY
    const afterKill: Timed[] = []
    const until = Date.now() + 6_000
    const lane = async () => {
      for (let i = 0; i < 500 && Date.now() < until; i++) {
        const sent = Date.now()
        const created = await timed(url, '/api/v1/create-order', post(lines))
        if (sent > killedAt) afterKill.push(created)
        if (created.status !== 200) continue
        const sentCheckout = Date.now()
        const checkout = await timed(
          url,
          '/api/v1/checkout-order',
          post({ order_id: created.body.data.id }),
        )
        if (sentCheckout > killedAt) afterKill.push(checkout)
      }
    }
    const lanes = Promise.all(Array.from({ length: 8 }, lane))
    await new Promise((resolve) => setTimeout(resolve, 500))
    await redis.kill()
    killedAt = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const probes = await Promise.all([
      timed(url, `/api/v1/order/${orderId}`),
      timed(url, '/api/v1/products'),
      timed(url, '/api/v1/checkout-order', post({ order_id: orderId })),
      timed(url, '/api/v1/check-product-quantity', { headers: admin }),
      timed(url, '/metrics'),
      timed(url, '/healthz'),
      timed(url, '/readyz'),
    ])
    await lanes

    expect(afterKill.length).toBeGreaterThan(10)
    const slow = [...afterKill, ...probes].filter((r) => r.status === 0 || r.ms > 2_000)
    expect(slow.map((r) => `${r.path} ${r.status} ${r.ms} ms`)).toEqual([])
    for (const r of afterKill) {
      expect(r.status, JSON.stringify(r.body)).toBe(503)
      expect(r.retryAfter).not.toBeNull()
      expect(r.body.error.details.reason).toBe('redis')
    }
    const byPath = Object.fromEntries(probes.map((r) => [r.path.split('?')[0], r]))
    expect(byPath['/metrics']?.status).toBe(200)
    expect(byPath['/healthz']?.status).toBe(200)
    expect(byPath['/readyz']?.status).toBe(503)
    expect(byPath['/readyz']?.body.checks.redis.ok).toBe(false)
    expect(byPath['/api/v1/checkout-order']?.body.error.details.reason).toBe('redis')

    const stopping = Date.now()
    service.child.kill('SIGTERM')
    await service.exited
    expect(Date.now() - stopping).toBeLessThan(3_000)
  }, 60_000)
})

describe('Redis stalled (no answer, no error)', () => {
  it('answers within 2 s with a 503 reason redis, and carries on once Redis answers again', async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379))
    cleanups.push(() => proxy.close())
    const { url } = await serve({ REDIS_URL: proxy.url('redis') })
    const lines = await oneUnitOf(url, 'Stalled', 10)

    proxy.stall()
    const stalled = await Promise.all([
      timed(url, '/api/v1/create-order', post(lines)),
      timed(url, '/api/v1/products'),
      timed(url, '/metrics'),
      timed(url, '/readyz'),
      timed(url, '/healthz'),
    ])
    proxy.resume()
    for (const r of stalled) expect(r.ms, r.path).toBeLessThan(2_000)
    const [created, products, metrics, ready, health] = stalled
    expect(created?.status).toBe(503)
    expect(created?.retryAfter).not.toBeNull()
    expect(created?.body.error.details.reason).toBe('redis')
    expect(products?.status).toBe(503)
    expect(metrics?.status).toBe(200)
    expect(ready?.status).toBe(503)
    expect(health?.status).toBe(200)

    // Redis answers again: so does the store.
    const deadline = Date.now() + 10_000
    let again = await timed(url, '/api/v1/create-order', post(lines))
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      again = await timed(url, '/api/v1/create-order', post(lines))
    }
    expect(again.status).toBe(200)
  }, 60_000)
})

describe('Postgres down, Redis up', () => {
  it('is ready but degraded, keeps selling, and answers 503 reason postgres only where Postgres is needed', async () => {
    const proxy = await startTcpProxy(5432)
    cleanups.push(() => proxy.close())
    const viaProxy = new URL(db.url)
    viaProxy.port = String(proxy.port)
    const { url } = await serve({ DATABASE_URL: viaProxy.toString() })
    const lines = await oneUnitOf(url, 'No database', 100)

    await proxy.cut()
    const ready = await timed(url, '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.status).toBe('degraded')
    expect(ready.body.checks.postgres.ok).toBe(false)
    expect(ready.body.reasons).toContain('postgres')
    // The public probe names the cause, never the connection error's text.
    expect(JSON.stringify(ready.body)).not.toMatch(/ECONN|127\.0\.0\.1|connect/i)

    const created = await timed(url, '/api/v1/create-order', post(lines))
    expect(created.status).toBe(200)
    expect(
      (await timed(url, '/api/v1/checkout-order', post({ order_id: created.body.data.id }))).status,
    ).toBe(200)

    const check = await timed(url, '/api/v1/check-product-quantity', { headers: admin })
    expect(check.status).toBe(503)
    expect(check.retryAfter).not.toBeNull()
    expect(check.body.error.details.reason).toBe('postgres')
    expect(check.ms).toBeLessThan(2_000)
    expect((await timed(url, '/metrics')).status).toBe(200)
  }, 60_000)
})
