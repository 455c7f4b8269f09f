import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export type CheckoutOutcome =
  | 'reserved'
  | 'out_of_stock'
  | 'limit_exceeded'
  | 'sale_closed'
  | 'expired'
  | 'refused'

/**
 * The store's Prometheus metrics, one registry per app (tests build many).
 * Stock and write-behind gauges are filled at scrape time by `collectors`.
 */
export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry()
  if (options.processMetrics) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    checkouts: new Counter({
      name: 'store_checkouts_total',
      help: 'Checkouts by outcome: reserved, out_of_stock, limit_exceeded, sale_closed, expired, refused.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'store_rate_limited_total',
      help: 'Storefront calls refused with 429, by scope: customer or ip.',
      labelNames: ['scope'] as const,
      registers,
    }),
    stock: new Gauge({
      name: 'store_stock_units',
      help: 'Live stock counters from Redis, per product and state.',
      labelNames: ['product_id', 'state'] as const,
      registers,
    }),
    drift: new Gauge({
      name: 'store_stock_drift_units',
      help: 'Redis minus Postgres per product and counter, from the last stock check.',
      labelNames: ['product_id', 'counter'] as const,
      registers,
    }),
    backlog: new Gauge({
      name: 'store_write_behind_backlog',
      help: 'Events waiting to be written to Postgres.',
      registers,
    }),
    lag: new Gauge({
      name: 'store_write_behind_lag_seconds',
      help: 'Age of the oldest event not yet written to Postgres.',
      registers,
    }),
    deadLetters: new Gauge({
      name: 'store_dead_letters',
      help: 'Events in the dead-letter stream: acknowledged changes not in Postgres. Alert above 0.',
      registers,
    }),
    deadLettersDropped: new Gauge({
      name: 'store_dead_letters_dropped',
      help: 'Dead letters dropped because the dead-letter stream was full (logged in full). Alert above 0.',
      registers,
    }),
    rebuilding: new Gauge({
      name: 'store_rebuilding',
      help: '1 while Redis holds no store and is being rebuilt from Postgres.',
      registers,
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** Counts and times every request by its route pattern (not its raw path). */
export function httpMetrics(metrics: Metrics) {
  return createMiddleware(async (c, next) => {
    const end = metrics.httpDuration.startTimer()
    await next()
    const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched'
    const labels = { method: c.req.method, route, status: String(c.res.status) }
    metrics.httpRequests.inc(labels)
    end(labels)
  })
}
