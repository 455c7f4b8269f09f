import type { Deps } from '../deps.js'
import { emptyOutcomes, flushOutcomes, readOutcomes, sellingNow } from '../metrics/outcomes.js'
import { perClient } from '../perClient.js'
import { isRebuilding } from '../recovery/hydrate.js'
import {
  type CheckContext,
  checkContext,
  checkProducts,
  type ProductCheck,
} from '../stock/check.js'
import { nameOrId, onSaleNow } from '../stock/page.js'
import { stockTotals } from '../stock/verdicts.js'
import { writeBehindStatus } from '../worker/status.js'

/**
 * What the dashboard shows during a sale: the shop's figures, and the
 * products that matter now, not the catalogue. At most SHOWN products, by
 * why they matter: drifting, selling (sold in the last minute), on sale
 * (ending soonest first), sold out, low. Any other product is one search
 * away (`searchCards`). The products are checked with the stock check's own
 * code (`checkProducts`), the shop's figures come from its verdicts, and the
 * write-behind's from /metrics' (`writeBehindStatus`): no second calculation.
 *
 * One snapshot a moment per process, whoever is watching, built once and
 * serialised once: every viewer gets the same JSON text. Rates come from the
 * snapshots of the last few minutes, kept for the products shown only.
 */
export const SNAPSHOT_EVERY_MS = 2_000
const HISTORY_MS = 5 * 60_000
/** The most products a snapshot holds, and how many each reason may bring. */
export const SHOWN = 60
const TAKE = { drift: 15, selling: 20, on_sale: 15, sold_out: 5, low: 5 } as const
export type Why = keyof typeof TAKE
/** The most products a search answers with. */
export const SEARCH_LIMIT = 20

interface Sample {
  at: number
  sold: Map<number, number>
  taken: Map<number, number>
  checkouts: number
}

interface State {
  history: Sample[]
  latest?: { at: number; value: Promise<Built> }
}
const stateOf = perClient((): State => ({ history: [] }))

interface Built {
  json: string
}

export type Card = Awaited<ReturnType<typeof cards>>[number]

/** The latest snapshot, built anew once it is SNAPSHOT_EVERY_MS old (callers then share the build). */
function latest(deps: Deps): Promise<Built> {
  const state = stateOf(deps.redis)
  const now = Date.now()
  if (state.latest && now - state.latest.at < SNAPSHOT_EVERY_MS) return state.latest.value
  const value = build(deps, state, now)
  state.latest = { at: now, value }
  value.catch(() => {
    if (state.latest?.value === value) state.latest = undefined
  })
  return value
}

/** The current snapshot as JSON text, the same string for every viewer of this process. */
export async function snapshotJson(deps: Deps): Promise<string> {
  return (await latest(deps)).json
}

/**
 * The first snapshot newer than `seenAt` (ms), for a live stream: it waits
 * for the next one when the latest is already seen. However many viewers
 * wait, they share one build per interval.
 */
export async function nextSnapshot(
  deps: Deps,
  seenAt: number,
): Promise<{ at: number; json: string }> {
  const state = stateOf(deps.redis)
  for (;;) {
    const current = state.latest
    if (current && current.at > seenAt) return { at: current.at, json: (await current.value).json }
    const due = (current?.at ?? 0) + SNAPSHOT_EVERY_MS
    if (Date.now() >= due) {
      await latest(deps)
      continue
    }
    await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
  }
}

/** Units per second between the oldest sample within `windowMs` and `now`. */
function rate(
  history: readonly Sample[],
  now: number,
  read: (s: Sample) => number,
  current: number,
  windowMs = 60_000,
) {
  const since = history.find((s) => now - s.at <= windowMs)
  if (!since || now - since.at < 1_000) return 0
  return Math.max(0, (current - read(since)) / ((now - since.at) / 1000))
}

/**
 * The products that matter now, each with why: each reason first brings up to
 * its share (TAKE), in the order of TAKE, then any room left goes to the rest,
 * in the same order. At most SHOWN.
 */
async function matterNow(deps: Deps): Promise<Map<number, Why[]>> {
  const { sql } = deps
  const [rows, selling] = await Promise.all([
    sql<{ id: string; why: Why }[]>`
      (select product_id as id, 'drift' as why from stock_verdicts
        where status = 'drift' order by product_id limit ${SHOWN})
      union all
      (select p.id, 'on_sale' from products p where ${onSaleNow(sql)}
        order by p.sale_ends_at nulls last, p.id limit ${SHOWN})
      union all
      (select p.id, 'sold_out' from products p where p.status = 'active' and p.quantity <= 0
        order by p.updated_date desc limit ${SHOWN})
      union all
      (select product_id, 'low' from stock_verdicts
        where restock_quantity > 0 and status <> 'drift'
        order by restock_quantity desc, product_id limit ${SHOWN})
    `,
    sellingNow(deps, SHOWN),
  ])
  const byWhy = new Map<Why, number[]>([['selling', selling]])
  for (const row of rows) byWhy.set(row.why, [...(byWhy.get(row.why) ?? []), Number(row.id)])
  const order = Object.keys(TAKE) as Why[]
  const shown = new Map<number, Why[]>()
  const add = (id: number, why: Why) => {
    const reasons = shown.get(id)
    if (reasons) {
      if (!reasons.includes(why)) reasons.push(why)
    } else if (shown.size < SHOWN) shown.set(id, [why])
  }
  for (const why of order) for (const id of (byWhy.get(why) ?? []).slice(0, TAKE[why])) add(id, why)
  for (const why of order) for (const id of (byWhy.get(why) ?? []).slice(TAKE[why])) add(id, why)
  return shown
}

/**
 * The cards of these products: the stock check's live verdict and counters,
 * what buyers met, the sale window, and rates from `history`.
 */
async function cards(
  deps: Deps,
  shown: ReadonlyMap<number, readonly Why[]>,
  history: readonly Sample[],
  now: number,
  waitMs: number,
  context: CheckContext,
) {
  const ids = [...shown.keys()]
  const [{ checks }, outcomes, saleWindows] = await Promise.all([
    checkProducts(deps, ids, { windowDays: deps.config.STOCK_WINDOW_DAYS, waitMs }, context),
    readOutcomes(deps, ids),
    Promise.all(
      ids.map((id) => deps.redis.hmget(deps.keys.product(id), 'sale_starts', 'sale_ends')),
    ),
  ])
  const windowOf = new Map(ids.map((id, i) => [id, saleWindows[i] ?? []]))
  const iso = (ms: string | null | undefined) => (ms ? new Date(Number(ms)).toISOString() : null)
  return checks.map((p: ProductCheck) => {
    const live = p.redis
    const total = live.available + live.reserved + live.sold
    const taken = live.reserved + live.sold
    // A product missing from an older sample was not shown then: no rate from it.
    const soldPerS = rate(history, now, (s) => s.sold.get(p.product_id) ?? live.sold, live.sold)
    const takenPerS = rate(history, now, (s) => s.taken.get(p.product_id) ?? taken, taken)
    const counts = outcomes.byProduct.get(p.product_id) ?? emptyOutcomes()
    const refused = counts.out_of_stock + counts.limit_exceeded + counts.sale_closed
    const [saleStarts, saleEnds] = windowOf.get(p.product_id) ?? []
    return {
      product_id: p.product_id,
      name: p.name,
      why: [...(shown.get(p.product_id) ?? [])],
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
          const [a, b] = [prev?.sold.get(p.product_id), s.sold.get(p.product_id)]
          if (!prev || a === undefined || b === undefined) return null
          return { at: s.at, per_s: Math.max(0, (b - a) / ((s.at - prev.at) / 1000)) }
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
      sale_starts_at: iso(saleStarts),
      sale_ends_at: iso(saleEnds),
      restock_quantity: p.restock_quantity,
      reorder_point: p.reorder_point,
      low_stock: p.restock_quantity > 0,
    }
  })
}

async function build(deps: Deps, state: State, now: number): Promise<Built> {
  await flushOutcomes(deps)
  const [shown, context] = await Promise.all([matterNow(deps), checkContext(deps)])
  const history = state.history.filter((s) => now - s.at <= HISTORY_MS)
  const [products, totals, rebuilding, outcomes, redisOk, postgresOk] = await Promise.all([
    // A short wait lets a busy sale show in_sync between bursts; a longer one would hold the stream.
    cards(deps, shown, history, now, 300, context),
    stockTotals(deps),
    isRebuilding(deps),
    readOutcomes(deps, []),
    deps.redis.ping().then(
      () => true,
      () => false,
    ),
    deps.sql`select 1`.then(
      () => true,
      () => false,
    ),
  ])
  const writeBehind = await writeBehindStatus(deps)
  const sample: Sample = {
    at: now,
    sold: new Map(products.map((p) => [p.product_id, p.sold])),
    taken: new Map(products.map((p) => [p.product_id, p.reserved + p.sold])),
    checkouts: outcomes.checkouts,
  }
  history.push(sample)
  state.history = history
  const snapshot = {
    generated_at: new Date(now).toISOString(),
    stale_after_ms: SNAPSHOT_EVERY_MS * 3,
    shop: {
      totals,
      rate_limited: outcomes.rateLimited,
      checkouts_per_s:
        Math.round(rate(history.slice(0, -1), now, (s) => s.checkouts, outcomes.checkouts) * 10) /
        10,
      write_behind: writeBehind,
      stream_behind: context.writeBehind.stream_behind ?? null,
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
  return { json: JSON.stringify(snapshot) }
}

/** Any product, by part of its name or its id: at most SEARCH_LIMIT cards, checked live. */
export async function searchCards(deps: Deps, q: string): Promise<Card[]> {
  const rows = await deps.sql<{ id: string }[]>`
    select p.id from products p where ${nameOrId(deps.sql, q)} order by p.id limit ${SEARCH_LIMIT}
  `
  const found = new Map(rows.map((r): [number, Why[]] => [Number(r.id), []]))
  return cards(deps, found, stateOf(deps.redis).history, Date.now(), 0, await checkContext(deps))
}
