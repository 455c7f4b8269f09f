import type { Deps } from '../deps.js'
import { decimalToMinor, fromMinorUnits } from '../money.js'
import type { Order, OrderStatus } from './schemas.js'

interface OrderRow {
  id: string
  status: OrderStatus
  customer_id: string | null
  order_date: Date
  total_amount: string
  reserved_until: Date | null
  payment_id: string | null
  lines: {
    product_id: number
    product_name: string
    quantity: number
    price: string
    amount: string
  }[]
}

/** Reads an order from Postgres, for orders that are no longer held in Redis. */
export async function readArchivedOrder(
  { sql }: Pick<Deps, 'sql'>,
  orderId: string,
): Promise<Order | null> {
  const [row] = await sql<OrderRow[]>`
    select o.id, o.status, o.customer_id, o.order_date, o.total_amount, o.reserved_until,
           p.id as payment_id,
           coalesce(json_agg(json_build_object(
             'product_id', d.product_id, 'product_name', pr.name, 'quantity', d.quantity,
             'price', d.price::text, 'amount', d.amount::text) order by d.id)
             filter (where d.id is not null), '[]') as lines
    from orders o
    left join payments p on p.order_id = o.id
    left join order_details d on d.order_id = o.id
    left join products pr on pr.id = d.product_id
    where o.id = ${orderId}
    group by o.id, p.id
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
