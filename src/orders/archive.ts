import type { Sql } from '../db/client.js'
import type { Deps } from '../deps.js'
import { ApiError } from '../http/errors.js'
import { RETRY_AFTER_SECONDS } from '../http/refusals.js'
import { decimalToMinor, fromMinorUnits } from '../money.js'
import { lineId } from './records.js'
import type { Order, OrderStatus } from './schemas.js'

/** How long an id Postgres does not know is answered from Redis without asking again. */
const MISSING_TTL_MS = 10_000

/**
 * Reads an order or payment that is not (or no longer) in Redis from Postgres.
 * An id Postgres does not know is remembered as missing for MISSING_TTL_MS, so
 * repeated lookups of unknown ids cost no query; while Postgres is unreachable
 * the answer is 503 with Retry-After, never a 500.
 */
export async function readArchived<T>(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  kind: 'order' | 'payment',
  id: string,
  read: () => Promise<T | null>,
): Promise<T | null> {
  const missingKey = keys.missing(kind, id)
  if ((await redis.exists(missingKey)) === 1) return null
  let found: T | null
  try {
    found = await read()
  } catch {
    throw new ApiError(
      'SERVICE_UNAVAILABLE',
      `The ${kind} archive cannot be reached right now; try again shortly.`,
      { reason: 'postgres' },
      RETRY_AFTER_SECONDS,
    )
  }
  if (found === null) await redis.set(missingKey, '1', 'PX', MISSING_TTL_MS)
  return found
}

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
    order_details: row.lines.map((l, i) => ({
      id: lineId(row.id, i),
      product_id: Number(l.product_id),
      product_name: l.product_name,
      quantity: l.quantity,
      price: fromMinorUnits(decimalToMinor(l.price)),
      amount: fromMinorUnits(decimalToMinor(l.amount)),
    })),
  }
}
