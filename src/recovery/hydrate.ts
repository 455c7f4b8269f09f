import type { Deps } from '../deps.js'
import { decimalToMinor } from '../money.js'
import { orderLinesJson, type PersistedLine } from '../orders/archive.js'
import { loadStockIntoRedis } from '../stock/load.js'

const LOCK_TTL_MS = 120_000

interface OpenOrderRow {
  id: string
  status: 'draft' | 'checkout' | 'paid'
  customer_id: string | null
  order_date: Date
  updated_date: Date
  total_amount: string
  reserved_until: Date | null
  version: number
  lines: PersistedLine[]
  payment: {
    id: string
    status: string
    amount: string
    payment_date: string
    order_date: string
    version: number
  } | null
}

const ms = (date: Date | string) => String(new Date(date).getTime())

/**
 * Rebuilds Redis from Postgres when Redis starts empty (a new instance, or lost
 * data): stock counters, open orders with their reservations and expiry,
 * payments awaiting a decision, and per-customer unit counts. A marker key says
 * it is done; a lock makes one instance do it while the others wait.
 * Returns true if this call hydrated (then every product is loaded already).
 */
export async function ensureHydrated(deps: Deps, waitMs = LOCK_TTL_MS): Promise<boolean> {
  const { redis, keys, logger } = deps
  const deadline = Date.now() + waitMs
  while ((await redis.exists(keys.hydrated)) === 0) {
    const token = `${process.pid}-${Date.now()}`
    if ((await redis.set(keys.hydrationLock, token, 'PX', LOCK_TTL_MS, 'NX')) === 'OK') {
      try {
        // The event stream exists as long as this store has ever run on this Redis:
        // if it is there, Redis kept its data and only the marker is new.
        const kept = (await redis.exists(keys.events)) === 1
        const started = Date.now()
        const restored = kept ? undefined : await hydrate(deps)
        await redis.set(keys.hydrated, new Date().toISOString())
        if (restored)
          logger.info({ ...restored, ms: Date.now() - started }, 'redis hydrated from postgres')
        return restored !== undefined
      } finally {
        if ((await redis.get(keys.hydrationLock)) === token) await redis.del(keys.hydrationLock)
      }
    }
    if (Date.now() > deadline)
      throw new Error('timed out waiting for another instance to hydrate Redis')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

async function hydrate(deps: Deps) {
  const { redis, sql, keys } = deps
  const products = await loadStockIntoRedis(deps)

  const orders = await sql<OpenOrderRow[]>`
    select o.id, o.status, o.customer_id, o.order_date, o.updated_date, o.total_amount::text,
           o.reserved_until, o.version,
           ${orderLinesJson(sql)} as lines,
           (select json_build_object('id', pay.id, 'status', pay.status, 'amount', pay.amount::text,
              'payment_date', pay.payment_date, 'order_date', pay.order_date, 'version', pay.version)
            from payments pay where pay.order_id = o.id) as payment
    from orders o
    where o.status in ('draft', 'checkout', 'paid')
  `
  const pipeline = redis.pipeline()
  for (const order of orders) {
    const lines = order.lines.map((l) => ({
      product_id: Number(l.product_id),
      product_name: l.product_name,
      quantity: l.quantity,
      price: String(decimalToMinor(l.price)),
      amount: String(decimalToMinor(l.amount)),
    }))
    pipeline.hset(keys.order(order.id), {
      id: order.id,
      status: order.status,
      customer_id: order.customer_id ?? '',
      order_date: ms(order.order_date),
      updated_at: ms(order.updated_date),
      total: String(decimalToMinor(order.total_amount)),
      lines: JSON.stringify(lines),
      v: String(order.version),
      ...(order.status === 'checkout' && order.reserved_until
        ? { reserved_until: ms(order.reserved_until) }
        : {}),
      ...(order.payment ? { payment_id: order.payment.id } : {}),
    })
    if (order.status === 'checkout' && order.reserved_until) {
      pipeline.zadd(keys.reservations, order.reserved_until.getTime(), order.id)
    }
    if (order.status === 'draft') {
      pipeline.zadd(
        keys.drafts,
        order.order_date.getTime() + deps.config.DRAFT_TTL_SECONDS * 1000,
        order.id,
      )
    }
    if (order.payment) {
      pipeline.hset(keys.payment(order.payment.id), {
        id: order.payment.id,
        order_id: order.id,
        status: order.payment.status,
        amount: String(decimalToMinor(order.payment.amount)),
        payment_date: ms(order.payment.payment_date),
        order_date: ms(order.payment.order_date),
        v: String(order.payment.version),
      })
    }
  }

  // Units each customer holds (reserved or bought) of the products that limit them.
  const held = await sql<{ product_id: string; customer_id: string; units: string }[]>`
    select d.product_id, o.customer_id, sum(d.quantity) as units
    from order_details d
    join orders o on o.id = d.order_id
    join products p on p.id = d.product_id
    where p.max_per_customer is not null and o.customer_id is not null
      and o.status in ('checkout', 'paid', 'payment_confirmed')
    group by d.product_id, o.customer_id
  `
  for (const row of held)
    pipeline.hset(keys.customerUnits(row.product_id), row.customer_id, row.units)
  await pipeline.exec()
  return { products, open_orders: orders.length, customer_limits: held.length }
}
