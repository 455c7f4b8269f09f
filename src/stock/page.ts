import type { Sql } from '../db/client.js'
import type { Deps } from '../deps.js'
import {
  type CheckOptions,
  type CheckStatus,
  checkContext,
  checkProducts,
  type ProductCheck,
  type WriteBehindView,
} from './check.js'
import { checkHolds, type HoldsView } from './holds.js'
import { type StockTotals, stockTotals } from './verdicts.js'

/** A sale window "soon": it opens within this long. */
export const SALE_SOON_HOURS = 24

/** Products whose sale window is open now or opens within SALE_SOON_HOURS (the alias `p`). */
export const onSaleNow = (sql: Sql) => sql`
  p.status = 'active'
  and (p.sale_starts_at is not null or p.sale_ends_at is not null)
  and (p.sale_ends_at is null or p.sale_ends_at > now())
  and (p.sale_starts_at is null or p.sale_starts_at <= now() + make_interval(hours => ${SALE_SOON_HOURS}))
`

export interface PageQuery extends CheckOptions {
  page: number
  perPage: number
  status?: CheckStatus | undefined
  lowStock?: boolean | undefined
  onSale?: boolean | undefined
  q?: string | undefined
  productId?: number | undefined
}

export interface StockReport {
  generated_at: string
  window_days: number
  write_behind: WriteBehindView
  totals: StockTotals
  holds: HoldsView
  pagination: { page: number; per_page: number; total: number; total_pages: number }
  products: ProductCheck[]
}

const LIKE_SPECIALS = /[\\%_]/g

/** Products (the alias `p`) whose name holds `q`, or whose id it is. */
export function nameOrId(sql: Sql, q: string) {
  const pattern = `%${q.replace(LIKE_SPECIALS, (c) => `\\${c}`)}%`
  return /^\d{1,15}$/.test(q)
    ? sql`(p.id = ${Number(q)} or p.name ilike ${pattern})`
    : sql`p.name ilike ${pattern}`
}

/** A search for an id puts that product first. */
const exactId = (sql: Sql, q: string | undefined) =>
  q && /^\d{1,15}$/.test(q) ? sql`(p.id = ${Number(q)}) desc,` : sql``

/** The filters of a page, over `products p left join stock_verdicts v`. */
function filters(sql: Sql, query: PageQuery) {
  const parts = [sql`true`]
  if (query.productId !== undefined) parts.push(sql`p.id = ${query.productId}`)
  if (query.status === 'pending') parts.push(sql`(v.status is null or v.status = 'pending')`)
  else if (query.status) parts.push(sql`v.status = ${query.status}`)
  if (query.lowStock === true) parts.push(sql`v.restock_quantity > 0`)
  if (query.lowStock === false) parts.push(sql`coalesce(v.restock_quantity, 0) = 0`)
  if (query.onSale === true) parts.push(onSaleNow(sql))
  if (query.onSale === false) parts.push(sql`not (${onSaleNow(sql)})`)
  if (query.q) parts.push(nameOrId(sql, query.q))
  return parts.reduce((all, part) => sql`${all} and ${part}`)
}

/**
 * One page of the stock check: shop-wide totals, then the products that match
 * the filters, what needs attention first (drift, pending, low stock, then by
 * id), each checked live. The sort reads only the saved verdicts and sorts
 * only ids, so a page costs the same at page 1 and page 1,000, in a catalogue
 * of any size; only the page's own products are compared.
 */
export async function stockCheckPage(deps: Deps, query: PageQuery): Promise<StockReport> {
  const { sql } = deps
  const where = filters(sql, query)
  const [[counted], ids, totals, context, holds] = await Promise.all([
    sql<{ total: number }[]>`
      select count(*)::int as total
      from products p left join stock_verdicts v on v.product_id = p.id
      where ${where}
    `,
    sql<{ id: string }[]>`
      select p.id
      from products p left join stock_verdicts v on v.product_id = p.id
      where ${where}
      order by ${exactId(sql, query.q)} coalesce(v.attention, 1), p.id
      limit ${query.perPage} offset ${(query.page - 1) * query.perPage}
    `,
    stockTotals(deps),
    checkContext(deps),
    checkHolds(deps),
  ])
  const { checks } = await checkProducts(
    deps,
    ids.map((r) => Number(r.id)),
    query,
    context,
  )
  const total = counted?.total ?? 0
  return {
    generated_at: new Date().toISOString(),
    window_days: query.windowDays,
    write_behind: context.writeBehind,
    totals,
    holds,
    pagination: {
      page: query.page,
      per_page: query.perPage,
      total,
      total_pages: Math.ceil(total / query.perPage),
    },
    products: checks,
  }
}
