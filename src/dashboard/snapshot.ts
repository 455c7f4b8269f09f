import type { Deps } from '../deps.js'
import { perClient } from '../perClient.js'
import { getProduct } from '../products/catalogue.js'
import { isRebuilding } from '../recovery/hydrate.js'
import { checkStock } from '../stock/check.js'
import { writeBehindStatus } from '../worker/status.js'
import { emptyOutcomes, flushOutcomes, readOutcomes } from './outcomes.js'

/**
 * What the dashboard shows, built from the same code as the stock check
 * (`checkStock`) and /metrics (`writeBehindStatus`, the outcome counters): no
 * second calculation. One snapshot a moment per process, whoever is watching;
 * rates come from the snapshots of the last few minutes.
 */
export const SNAPSHOT_EVERY_MS = 2_000
const HISTORY_MS = 5 * 60_000

interface Sample {
  at: number
  sold: Map<number, number>
  taken: Map<number, number>
  checkouts: number
}

interface State {
  history: Sample[]
  latest?: { at: number; value: Promise<Snapshot> }
}
const stateOf = perClient((): State => ({ history: [] }))

export type Snapshot = Awaited<ReturnType<typeof build>>

export function snapshot(deps: Deps): Promise<Snapshot> {
  const state = stateOf(deps.redis)
  const now = Date.now()
  if (state.latest && now - state.latest.at < SNAPSHOT_EVERY_MS / 2) return state.latest.value
  const value = build(deps, state)
  state.latest = { at: now, value }
  value.catch(() => {
    if (state.latest?.value === value) state.latest = undefined
  })
  return value
}

/** Units per second between the oldest sample within `windowMs` and `now`. */
function rate(
  history: Sample[],
  now: number,
  read: (s: Sample) => number,
  current: number,
  windowMs = 60_000,
) {
  const since = history.find((s) => now - s.at <= windowMs)
  if (!since || now - since.at < 1_000) return 0
  return Math.max(0, (current - read(since)) / ((now - since.at) / 1000))
}

async function build(deps: Deps, state: State) {
  await flushOutcomes(deps)
  const [{ report }, writeBehind, rebuilding, outcomes, redisOk, postgresOk] = await Promise.all([
    // A short wait lets a busy sale show in_sync between bursts; a longer one would hold the stream.
    checkStock(deps, { windowDays: deps.config.STOCK_WINDOW_DAYS, waitMs: 300 }),
    writeBehindStatus(deps),
    isRebuilding(deps),
    readOutcomes(deps),
    deps.redis.ping().then(
      () => true,
      () => false,
    ),
    deps.sql`select 1`.then(
      () => true,
      () => false,
    ),
  ])
  const now = Date.now()
  const catalogue = await Promise.all(
    report.products.map((p) => getProduct(deps, p.product_id).catch(() => null)),
  )
  const history = state.history.filter((s) => now - s.at <= HISTORY_MS)
  const checkouts = [...outcomes.values()].reduce((sum, o) => sum + o.reserved, 0)
  const sample: Sample = { at: now, sold: new Map(), taken: new Map(), checkouts }

  const products = report.products.map((p, i) => {
    const live = p.redis
    const total = live.available + live.reserved + live.sold
    const taken = live.reserved + live.sold
    sample.sold.set(p.product_id, live.sold)
    sample.taken.set(p.product_id, taken)
    // A product missing from an older sample did not exist yet: it had sold nothing.
    const soldPerS = rate(history, now, (s) => s.sold.get(p.product_id) ?? 0, live.sold)
    const takenPerS = rate(history, now, (s) => s.taken.get(p.product_id) ?? 0, taken)
    const counts = outcomes.get(p.product_id) ?? emptyOutcomes()
    const refused = counts.out_of_stock + counts.limit_exceeded + counts.sale_closed
    const product = catalogue[i]
    return {
      product_id: p.product_id,
      name: p.name,
      status: p.status,
      reason: p.reason ?? null,
      available: live.available,
      reserved: live.reserved,
      sold: live.sold,
      total,
      sell_through_pct: total > 0 ? Math.round((live.sold / total) * 1000) / 10 : 0,
      sold_per_s: Math.round(soldPerS * 100) / 100,
      sold_per_s_series: history
        .map((s, j) => {
          const prev = history[j - 1]
          if (!prev) return null
          const d = (s.sold.get(p.product_id) ?? 0) - (prev.sold.get(p.product_id) ?? 0)
          return { at: s.at, per_s: Math.max(0, d / ((s.at - prev.at) / 1000)) }
        })
        .filter((x) => x !== null),
      projected_sellout_s: takenPerS > 0 ? Math.round(live.available / takenPerS) : null,
      refused: {
        ...counts,
        share_pct:
          refused + counts.reserved > 0
            ? Math.round((refused / (refused + counts.reserved)) * 1000) / 10
            : 0,
      },
      sale_starts_at: product?.sale_starts_at ?? null,
      sale_ends_at: product?.sale_ends_at ?? null,
      restock_quantity: p.restock_quantity,
      reorder_point: p.reorder_point,
      low_stock: p.restock_quantity > 0,
    }
  })
  history.push(sample)
  state.history = history
  return {
    generated_at: new Date(now).toISOString(),
    stale_after_ms: SNAPSHOT_EVERY_MS * 3,
    shop: {
      rate_limited: outcomes.get(0)?.rate_limited ?? 0,
      checkouts_per_s:
        Math.round(rate(history.slice(0, -1), now, (s) => s.checkouts, checkouts) * 10) / 10,
      write_behind: writeBehind,
      rebuilding,
      instance: {
        pid: process.pid,
        uptime_s: Math.round(process.uptime()),
        rss_mb: Math.round(process.memoryUsage().rss / 1024 / 1024),
        redis: redisOk,
        postgres: postgresOk,
      },
    },
    products,
  }
}
