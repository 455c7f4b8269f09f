import type { Sql } from '../db/client.js'

/** Stock counters derived in Postgres alone: ledger totals minus persisted order lines. */
export interface DerivedStock {
  productId: number
  total: number
  available: number
  reserved: number
  sold: number
  /** products.stock_version: the Redis stock version these rows reflect (see the stock check). */
  version: number
}

/**
 * Derives every product's counters from the stock ledger and the persisted
 * orders, never from the Redis mirror (products.quantity). An order's lines
 * count by the order's status, or, for an order across partitions, by their
 * holds' (order_holds), as each partition's own stream wrote them: so each
 * partition's counters agree with its own events. Used to load Redis
 * and hydrate it, and by the stock check.
 */
export async function derivedStock(
  sql: Sql,
  productIds?: readonly number[],
  partitions?: readonly number[],
): Promise<DerivedStock[]> {
  if (productIds?.length === 0 || partitions?.length === 0) return []
  // With ids, each aggregate reads only their rows (the planner does not push an id
  // list through GROUP BY): a page of 50 costs the same in any size of catalogue.
  const only = (column: string) =>
    productIds ? sql`where ${sql(column)} in ${sql(productIds)}` : sql``
  const rows = await sql<
    { id: string; total: string; reserved: string; sold: string; version: string }[]
  >`
    select p.id, p.stock_version as version,
           coalesce(l.total, 0)    as total,
           coalesce(o.reserved, 0) + coalesce(h.reserved, 0) as reserved,
           coalesce(o.sold, 0) + coalesce(h.sold, 0)         as sold
    from products p
    left join (
      select product_id, sum(quantity) as total from stock_ledger ${only('product_id')}
      group by product_id
    ) l on l.product_id = p.id
    left join (
      select d.product_id,
             sum(d.quantity) filter (where o.status in ('checkout', 'paid')) as reserved,
             sum(d.quantity) filter (where o.status = 'payment_confirmed')   as sold
      from order_details d
      join orders o on o.id = d.order_id and not o.spans
      ${only('d.product_id')}
      group by d.product_id
    ) o on o.product_id = p.id
    left join (
      select product_id,
             sum(quantity) filter (where status = 'held') as reserved,
             sum(quantity) filter (where status = 'sold') as sold
      from order_holds ${only('product_id')}
      group by product_id
    ) h on h.product_id = p.id
    ${only('p.id')}
    ${partitions ? sql`${productIds ? sql`and` : sql`where`} p.partition in ${sql(partitions)}` : sql``}
    order by p.id
  `
  return rows.map((r) => {
    const total = Number(r.total)
    const reserved = Number(r.reserved)
    const sold = Number(r.sold)
    return {
      productId: Number(r.id),
      total,
      reserved,
      sold,
      available: total - reserved - sold,
      version: Number(r.version),
    }
  })
}
