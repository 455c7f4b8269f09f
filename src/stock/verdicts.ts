import type { Deps } from '../deps.js'
import type { Counters } from './scripts.js'

export type CheckStatus = 'in_sync' | 'pending' | 'drift'

/**
 * The last verdict on each product (`stock_verdicts`, migration 00007): kept by
 * every check, so a page of the stock check and the dashboard sort and filter
 * a catalogue of any size without checking it all again.
 */
export interface Verdict {
  product_id: number
  status: CheckStatus
  redis: Counters
  restock_quantity: number
  reason?: string
}

/** The sort key of what needs attention: drift, pending, low stock, the rest. */
export function attention(v: Pick<Verdict, 'status' | 'restock_quantity'>): number {
  if (v.status === 'drift') return 0
  if (v.status === 'pending') return 1
  return v.restock_quantity > 0 ? 2 : 3
}

export async function saveVerdicts({ sql }: Pick<Deps, 'sql'>, verdicts: readonly Verdict[]) {
  if (verdicts.length === 0) return
  const now = new Date().toISOString()
  const rows = verdicts.map((v) => ({
    product_id: v.product_id,
    status: v.status,
    attention: attention(v),
    available: v.redis.available,
    reserved: v.redis.reserved,
    sold: v.redis.sold,
    restock_quantity: v.restock_quantity,
    reason: v.reason ?? null,
    checked_at: now,
  }))
  await sql`
    insert into stock_verdicts (product_id, status, attention, available, reserved, sold,
                                restock_quantity, reason, checked_at)
    select * from jsonb_to_recordset(${sql.json(rows)}) as v(
      product_id bigint, status text, attention smallint, available bigint, reserved bigint,
      sold bigint, restock_quantity bigint, reason text, checked_at timestamptz)
    on conflict (product_id) do update set
      status = excluded.status, attention = excluded.attention, available = excluded.available,
      reserved = excluded.reserved, sold = excluded.sold,
      restock_quantity = excluded.restock_quantity, reason = excluded.reason,
      checked_at = excluded.checked_at
  `
}

export interface StockTotals {
  products: number
  in_sync: number
  pending: number
  drift: number
  low_stock: number
  units: Counters
  /** Sold as a share of every unit the shop has had: sold / (available + reserved + sold). */
  sell_through_pct: number
  /** When the oldest verdict behind these totals was taken (null before the first check). */
  as_of: string | null
}

/**
 * Shop-wide totals from the last verdicts: counts per status, units and
 * sell-through. A product not checked yet counts as pending.
 */
export async function stockTotals({ sql }: Pick<Deps, 'sql'>): Promise<StockTotals> {
  const [row] = await sql<
    {
      products: number
      in_sync: number
      pending: number
      drift: number
      low_stock: number
      available: string
      reserved: string
      sold: string
      as_of: Date | null
    }[]
  >`
    select count(*)::int as products,
           count(*) filter (where v.status = 'in_sync')::int as in_sync,
           count(*) filter (where v.status is null or v.status = 'pending')::int as pending,
           count(*) filter (where v.status = 'drift')::int as drift,
           count(*) filter (where v.restock_quantity > 0)::int as low_stock,
           coalesce(sum(v.available), 0) as available,
           coalesce(sum(v.reserved), 0) as reserved,
           coalesce(sum(v.sold), 0) as sold,
           min(v.checked_at) as as_of
    from products p left join stock_verdicts v on v.product_id = p.id
  `
  const units = {
    available: Number(row?.available ?? 0),
    reserved: Number(row?.reserved ?? 0),
    sold: Number(row?.sold ?? 0),
  }
  const all = units.available + units.reserved + units.sold
  return {
    products: row?.products ?? 0,
    in_sync: row?.in_sync ?? 0,
    pending: row?.pending ?? 0,
    drift: row?.drift ?? 0,
    low_stock: row?.low_stock ?? 0,
    units,
    sell_through_pct: all > 0 ? Math.round((units.sold / all) * 1000) / 10 : 0,
    as_of: row?.as_of ? row.as_of.toISOString() : null,
  }
}
