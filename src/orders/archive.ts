import type { Sql } from '../db/client.js'
import type { Deps } from '../deps.js'
import { decimalToMinor, fromMinorUnits } from '../money.js'
import type { Order, OrderStatus } from './schemas.js'

/** An order line as Postgres returns it: money as decimal text. */
export interface PersistedLine {
  product_id: number
  product_name: string
  quantity: number
  price: string
  amount: string
}

/** The lines of the order aliased `o`, as one JSON array of PersistedLine. */
export const orderLinesJson = (sql: Sql) => sql`
  coalesce((
    select json_agg(json_build_object(
      'product_id', d.product_id, 'product_name', p.name, 'quantity', d.quantity,
      'price', d.price::text, 'amount', d.amount::text) order by d.id)
    from order_details d join products p on p.id = d.product_id
    where d.order_id = o.id
  ), '[]')
`

interface OrderRow {
  id: string
  status: OrderStatus
  customer_id: string | null
  order_date: Date
  total_amount: string
  reserved_until: Date | null
  payment_id: string | null
  lines: PersistedLine[]
}

/** Reads an order from Postgres, for orders that are no longer held in Redis. */
export async function readArchivedOrder(
  { sql }: Pick<Deps, 'sql'>,
  orderId: string,
): Promise<Order | null> {
  const [row] = await sql<OrderRow[]>`
    select o.id, o.status, o.customer_id, o.order_date, o.total_amount, o.reserved_until,
           p.id as payment_id, ${orderLinesJson(sql)} as lines
    from orders o
    left join payments p on p.order_id = o.id
    where o.id = ${orderId}
  `
  if (!row) return null
  return {
    id: row.id,
    status: row.status,
    customer_id: row.customer_id,
    order_date: row.order_date.toISOString(),
    total_amount: fromMinorUnits(decimalToMinor(row.total_amount)),
    ...(row.reserved_until ? { reserved_until: row.reserved_until.toISOString() } : {}),
    ...(row.payment_id ? { payment_id: row.payment_id } : {}),
    lines: row.lines.map((l) => ({
      product_id: Number(l.product_id),
      product_name: l.product_name,
      quantity: l.quantity,
      price: fromMinorUnits(decimalToMinor(l.price)),
      amount: fromMinorUnits(decimalToMinor(l.amount)),
    })),
  }
}
