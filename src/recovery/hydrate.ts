import { ConfigError } from '../config.js'
import type { Deps } from '../deps.js'
import { decimalToMinor } from '../money.js'
import { orderLinesJson, type PersistedLine } from '../orders/archive.js'
import { HOLD_AUDIT_GRACE_MS } from '../orders/holds.js'
import { encodeLines } from '../orders/records.js'
import type { PartitionKeys } from '../redis/keys.js'
import { ReplicaAckError, replicated } from '../redis/replicas.js'
import { runScript } from '../redis/scripts.js'
import { loadStockIntoRedis } from './load.js'

const LOCK_TTL_MS = 120_000
const CHUNK = 1_000

interface OpenOrderRow {
  id: string
  status: 'draft' | 'checkout' | 'paid'
  customer_id: string | null
  order_date: Date
  updated_date: Date
  total_amount: string
  reserved_until: Date | null
  version: number
  spans: boolean
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
 * Makes sure Redis holds the store, partition by partition. A partition's
 * readiness marker (`keys.partition(p).hydrated`, holding its rebuild's fence
 * epoch) is set only here, after a rebuild, and nothing else creates it: when
 * it is missing, that partition's Redis is new or lost its data, and every
 * changing script of the partition answers REBUILDING until it is back. Then
 * this rebuilds everything Postgres knows of the partition: its products'
 * catalogue and stock counters, drafts, reservations with their expiry,
 * payments awaiting a decision, per-customer units, and the sweeper's
 * indexes. The other partitions keep selling meanwhile. The rebuild never
 * overwrites what Redis still holds, so running it over kept data is
 * harmless. A lock makes one instance rebuild a partition while the others
 * wait. Returns the partitions this call rebuilt (their products are loaded).
 */
export async function ensureHydrated(deps: Deps, waitMs = LOCK_TTL_MS): Promise<number[]> {
  const rebuilt = await Promise.all(
    deps.keys.allPartitions.map((part) => ensurePartitionHydrated(deps, part.index, waitMs)),
  )
  return deps.keys.allPartitions.filter((_, i) => rebuilt[i]).map((part) => part.index)
}

async function ensurePartitionHydrated(deps: Deps, partition: number, waitMs: number) {
  const { redis, keys, logger } = deps
  const part = keys.partition(partition)
  const deadline = Date.now() + waitMs
  while ((await redis.exists(part.hydrated)) === 0) {
    const token = `${process.pid}-${Date.now()}-${Math.random()}`
    if ((await redis.set(part.hydrationLock, token, 'PX', LOCK_TTL_MS, 'NX')) === 'OK') {
      try {
        logger.warn(
          { partition },
          'redis holds no store here (new, or it lost its data): rebuilding it from postgres',
        )
        const started = Date.now()
        const epoch = await moveFence(deps, partition)
        const restored = await hydrate(deps, partition)
        // Ready only once the replicas hold the rebuilt store (REDIS_REPLICA_ACKS), and the marker too.
        await confirmedBy(deadline, () => replicated(redis, part.hydrated))
        await redis.set(part.hydrated, String(epoch))
        await confirmedBy(deadline, () => replicated(redis, part.hydrated))
        logger.info(
          { partition, ...restored, ms: Date.now() - started },
          'redis rebuilt from postgres',
        )
        return true
      } finally {
        if ((await redis.get(part.hydrationLock)) === token) await redis.del(part.hydrationLock)
      }
    }
    if (Date.now() > deadline)
      throw new Error('timed out waiting for another instance to rebuild Redis')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

/** Retries a replica confirmation until `deadline`: a slow replica delays a rebuild, never undoes it. */
async function confirmedBy(deadline: number, confirm: () => Promise<void>) {
  for (;;) {
    try {
      return await confirm()
    } catch (err) {
      if (!(err instanceof ReplicaAckError) || Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/**
 * Moves the fence between rebuilds and the write-behind (see
 * `src/db/migrations/00005_rebuild_fence`, per partition since 00008) and returns the new epoch, which
 * marks the Redis this rebuild fills. The update waits for every write-behind
 * batch in flight (they hold the fence row FOR SHARE) and, once committed, no
 * batch read from an earlier Redis can commit: from here Postgres moves only
 * with events of the new Redis, which has none until it is ready. So the
 * rebuild reads a Postgres that no older batch will change behind its back.
 */
async function moveFence({ sql }: Pick<Deps, 'sql'>, partition: number): Promise<number> {
  const [row] = await sql<{ epoch: number }[]>`
    insert into partition_fences (partition, epoch) values (${partition}, 1)
    on conflict (partition) do update set epoch = partition_fences.epoch + 1
    returning epoch
  `
  if (!row) throw new Error('partition_fences gave no row: run the migrations')
  return row.epoch
}

/**
 * A marker from before the fence (a date, not an epoch) is given the current
 * epoch. Once, on start (main.ts), before the worker reads it.
 */
export async function upgradeMarker({ redis, keys, sql }: Pick<Deps, 'redis' | 'keys' | 'sql'>) {
  const first = keys.partition(0)
  const marker = await redis.get(first.hydrated)
  if (marker === null || /^\d+$/.test(marker)) return
  const [row] = await sql<{ epoch: number }[]>`
    select epoch from partition_fences where partition = 0
  `
  if (row) await redis.set(first.hydrated, String(row.epoch), 'XX')
}

/**
 * PARTITIONS is fixed for the life of a store: every product's partition,
 * kept in Postgres, must be its id modulo PARTITIONS. Checked on start, so a
 * changed setting stops the service with a sentence instead of losing stock.
 */
export async function checkPartitions({ sql, keys }: Pick<Deps, 'sql' | 'keys'>) {
  const [row] = await sql<{ misplaced: number; example: string | null }[]>`
    select count(*)::int as misplaced, min(id)::text as example from products
    where partition <> id % ${keys.partitions}
  `
  if (row && row.misplaced > 0) {
    throw new ConfigError(
      `PARTITIONS=${keys.partitions} does not match this store: ${row.misplaced} products ` +
        `(product ${row.example}, say) were created with another number of partitions. ` +
        'Set PARTITIONS back to what the store was created with.',
    )
  }
}

const rebuilds = new WeakMap<object, Promise<unknown>>()

/** Starts `ensureHydrated` in the background, once per process at a time. */
export function requestRebuild(deps: Deps): void {
  if (rebuilds.has(deps.redis)) return
  const run = ensureHydrated(deps)
    .catch((err) => deps.logger.error({ err }, 'rebuilding redis failed; the next request retries'))
    .finally(() => rebuilds.delete(deps.redis))
  rebuilds.set(deps.redis, run)
}

/** The partitions Redis holds no store for (their rebuild has not finished). */
export async function rebuildingPartitions({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const held = await Promise.all(keys.allPartitions.map((part) => redis.exists(part.hydrated)))
  return keys.allPartitions.filter((_, i) => held[i] === 0).map((part) => part.index)
}

/** True while any partition is being rebuilt. */
export async function isRebuilding(deps: Pick<Deps, 'redis' | 'keys'>) {
  return (await rebuildingPartitions(deps)).length > 0
}

/** True while this partition's Redis holds no store. */
export async function isPartitionRebuilding(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  partition: number,
) {
  return (await redis.exists(keys.partition(partition).hydrated)) === 0
}

async function hydrate(deps: Deps, partition: number) {
  const { redis, sql, keys } = deps
  const part = keys.partition(partition)
  const products = await loadStockIntoRedis(deps, [partition])

  const orders = await sql<OpenOrderRow[]>`
    select o.id, o.status, o.customer_id, o.order_date, o.updated_date, o.total_amount::text,
           o.reserved_until, o.version, o.spans,
           ${orderLinesJson(sql)} as lines,
           (select json_build_object('id', pay.id, 'status', pay.status, 'amount', pay.amount::text,
              'payment_date', pay.payment_date, 'order_date', pay.order_date, 'version', pay.version)
            from payments pay where pay.order_id = o.id) as payment
    from orders o
    where o.status in ('draft', 'checkout', 'paid') and o.partition = ${partition}
  `
  let restored = 0
  for (let i = 0; i < orders.length; i += CHUNK) {
    const replies = await Promise.all(
      orders.slice(i, i + CHUNK).map((o) => restoreOrder(deps, part, o)),
    )
    restored += replies.filter(([code]) => code === 'RESTORED').length
  }

  // Units each customer holds (reserved or bought) of every product: a limit may be set later.
  const held = await sql<{ product_id: string; customer_id: string; units: string }[]>`
    select product_id, customer_id, sum(units) as units from (
      select d.product_id, o.customer_id, d.quantity as units
      from order_details d
      join orders o on o.id = d.order_id and not o.spans
      join products p on p.id = d.product_id
      where o.customer_id is not null and p.partition = ${partition}
        and o.status in ('checkout', 'paid', 'payment_confirmed')
      union all
      select product_id, customer_id, quantity
      from order_holds
      where partition = ${partition} and customer_id is not null and status in ('held', 'sold')
    ) units
    group by product_id, customer_id
  `
  // Open orders (drafts and checkouts) per customer, for MAX_OPEN_ORDERS.
  const open = await sql<{ customer_id: string; orders: number }[]>`
    select customer_id, count(*)::int as orders from orders
    where status in ('draft', 'checkout') and customer_id is not null
      and partition = ${partition}
    group by customer_id
  `
  // Holds of orders whose home is another partition, with their audit time.
  const holds = await sql<
    {
      order_id: string
      customer_id: string | null
      lines: string
      held_until: Date
      version: number
    }[]
  >`
    select order_id, min(customer_id) as customer_id, max(version) as version,
           string_agg(product_id || ':' || quantity, ',' order by product_id) as lines,
           min(held_until) as held_until
    from order_holds where partition = ${partition} and status = 'held'
    group by order_id
  `
  for (let i = 0; i < holds.length; i += CHUNK) {
    await Promise.all(holds.slice(i, i + CHUNK).map((h) => restoreHold(deps, partition, h)))
  }
  const pipeline = redis.pipeline()
  for (const row of held) {
    pipeline.hsetnx(keys.customerUnits(row.product_id), row.customer_id, row.units)
  }
  for (const row of open) pipeline.hsetnx(part.openOrders, row.customer_id, row.orders)
  await pipeline.exec()
  return {
    products,
    open_orders: orders.length,
    restored_orders: restored,
    customer_limits: held.length,
    customers_with_open_orders: open.length,
    holds: holds.length,
  }
}

/** lua/restoreHold.lua: one hold of an order homed elsewhere, unless Redis still holds it. */
function restoreHold(
  { redis, keys }: Deps,
  partition: number,
  h: {
    order_id: string
    customer_id: string | null
    lines: string
    held_until: Date
    version: number
  },
) {
  const until = h.held_until.getTime()
  const fields = {
    order_id: h.order_id,
    home: String(keys.orderPartition(h.order_id)),
    customer_id: h.customer_id ?? '',
    lines: h.lines,
    until: String(until),
    status: 'held',
    v: String(h.version),
  }
  return runScript(
    redis,
    'restoreHold',
    [keys.hold(partition, h.order_id), keys.partition(partition).holds],
    [JSON.stringify(fields), until + HOLD_AUDIT_GRACE_MS],
  )
}

/** lua/restoreOrder.lua: one open order (and its payment), unless Redis still holds it. */
function restoreOrder({ redis, keys, config }: Deps, part: PartitionKeys, order: OpenOrderRow) {
  const lines = order.lines.map((l) => ({
    product_id: Number(l.product_id),
    quantity: l.quantity,
    price: decimalToMinor(l.price),
  }))
  const fields = {
    id: order.id,
    status: order.status,
    customer_id: order.customer_id ?? '',
    order_date: ms(order.order_date),
    updated_at: ms(order.updated_date),
    total: String(decimalToMinor(order.total_amount)),
    lines: encodeLines(lines),
    v: String(order.version),
    ...(order.status === 'checkout' && order.reserved_until
      ? { reserved_until: ms(order.reserved_until) }
      : {}),
    ...(order.payment ? { payment_id: order.payment.id } : {}),
    // An order across partitions: its lines are held in their partitions (restored there).
    ...(order.spans
      ? { parts: String(keys.partitions), home: String(keys.orderPartition(order.id)) }
      : {}),
  }
  const payment = order.payment && {
    id: order.payment.id,
    order_id: order.id,
    status: order.payment.status,
    amount: String(decimalToMinor(order.payment.amount)),
    payment_date: ms(order.payment.payment_date),
    order_date: ms(order.payment.order_date),
    v: String(order.payment.version),
  }
  const reservedUntil =
    order.status === 'checkout' && order.reserved_until ? ms(order.reserved_until) : ''
  const draftDue =
    order.status === 'draft'
      ? String(order.order_date.getTime() + config.DRAFT_TTL_SECONDS * 1000)
      : ''
  return runScript(
    redis,
    'restoreOrder',
    [
      keys.order(order.id),
      part.reservations,
      part.drafts,
      ...(payment ? [keys.payment(payment.id)] : []),
    ],
    [JSON.stringify(fields), payment ? JSON.stringify(payment) : '', reservedUntil, draftDue],
  )
}
