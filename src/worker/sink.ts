import type { Sql } from '../db/client.js'
import { toDecimalString } from '../money.js'
import { parseLines } from '../orders/records.js'
import type {
  HoldSnapshot,
  OrderSnapshot,
  PaymentSnapshot,
  ProductSnapshot,
  StockSnapshot,
  StoreEvent,
} from './events.js'

const at = (ms: string | number) => new Date(Number(ms))

/** Keeps, per id, the snapshot with the highest version. */
function latest<T extends { v: string }>(items: Iterable<T>, idOf: (item: T) => string): T[] {
  const byId = new Map<string, T>()
  for (const item of items) {
    const seen = byId.get(idOf(item))
    if (!seen || Number(item.v) > Number(seen.v)) byId.set(idOf(item), item)
  }
  return [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, item]) => item)
}

/**
 * A batch read from a Redis that has been rebuilt since (its epoch is not the
 * fence's): it must not commit. Not permanent: the worker reads the stream again.
 */
export class FencedError extends Error {
  constructor(
    readonly batchEpoch: number,
    readonly fenceEpoch: number,
  ) {
    super(
      `write-behind batch read from Redis epoch ${batchEpoch}, but Postgres is at epoch ` +
        `${fenceEpoch} (Redis was rebuilt since): not written, reading the stream again`,
    )
  }
}

/**
 * The stream went backwards: Redis has added fewer entries than Postgres has
 * already seen in this epoch, so it forgot some (a failover that lost writes).
 * Writing on could let Postgres keep older changes over newer ones: the
 * worker stops this stream and says so.
 */
export class StreamBehindError extends Error {
  constructor(
    readonly redisEntries: number,
    readonly postgresEntries: number,
  ) {
    super(
      `the event stream went backwards: Redis has added ${redisEntries} entries, Postgres has ` +
        `seen ${postgresEntries} (Redis forgot changes Postgres holds, as a failover with ` +
        'REDIS_REPLICA_ACKS=0 can): the write-behind has stopped; see docs/operations.md, "Replicas and failover"',
    )
  }
}

/** The entries-added count Postgres has seen for a partition's epoch (0: none yet). */
export async function streamPosition(sql: Sql, epoch: number, partition = 0): Promise<number> {
  return (await streamState(sql, epoch, partition)).seen
}

/**
 * What Postgres knows of a partition's stream in an epoch: the count it has
 * seen, and whether it stopped it.
 */
export async function streamState(sql: Sql, epoch: number, partition = 0) {
  const [row] = await sql<{ entries_added: number; stopped_at: number | null }[]>`
    select entries_added, stopped_at from stream_positions
    where partition = ${partition} and epoch = ${epoch}
  `
  return { seen: row?.entries_added ?? 0, stoppedAt: row?.stopped_at ?? null }
}

/**
 * Stops an epoch's stream for good (the worker calls it on StreamBehindError):
 * later entries carry Redis's count past what Postgres saw, but their versions
 * may repeat ones Postgres holds, so the stream stays stopped until a rebuild.
 */
export async function stopStream(sql: Sql, epoch: number, redisEntries: number, partition = 0) {
  await sql`
    update stream_positions set stopped_at = coalesce(stopped_at, ${redisEntries})
    where partition = ${partition} and epoch = ${epoch}
  `
}

/**
 * Writes a batch of events to Postgres in one transaction. Every write is
 * idempotent and safe against reordering: rows carry the Redis version, and an
 * upsert only moves a row forward; lines and ledger rows insert once. `epoch`
 * is the readiness marker of the Redis the events came from: the transaction
 * first locks the fence (FOR SHARE) and commits only if it still holds that
 * epoch, so a rebuild (which moves it) waits for this batch, and a batch read
 * before a rebuild never lands after it. `entriesAdded` is the stream's
 * entries-added count when the batch was read: below what Postgres has seen,
 * the stream went backwards (StreamBehindError) and nothing is written; else
 * the position moves on with the batch.
 */
export async function applyEvents(
  sql: Sql,
  events: readonly StoreEvent[],
  epoch: number,
  entriesAdded?: number,
  partition = 0,
): Promise<void> {
  const orders = latest(
    events.flatMap((e) => (e.order ? [e.order] : [])),
    (o) => o.id,
  )
  const payments = latest(
    events.flatMap((e) => (e.payment ? [e.payment] : [])),
    (p) => p.id,
  )
  const stock = latest(
    events.flatMap((e) => e.stock ?? []),
    (s) => s.id,
  )
  const ledger = events.flatMap((e) => (e.ledger ? [e.ledger] : []))
  const products = latest(
    events.flatMap((e) => (e.product ? [{ ...e.product, v: e.product.cv }] : [])),
    (p) => p.id,
  )
  const holds = latest(
    events.flatMap((e) => (e.hold ? [e.hold] : [])),
    (h) => h.order_id,
  )

  await sql.begin(async (tx) => {
    const [fence] = await tx<{ epoch: number }[]>`
      select epoch from partition_fences where partition = ${partition} for share
    `
    if (fence?.epoch !== epoch) throw new FencedError(epoch, fence?.epoch ?? 0)
    if (entriesAdded !== undefined) {
      const { seen, stoppedAt } = await streamState(tx as unknown as Sql, epoch, partition)
      if (stoppedAt !== null) throw new StreamBehindError(stoppedAt, seen)
      if (entriesAdded < seen) throw new StreamBehindError(entriesAdded, seen)
    }
    if (orders.length > 0) await upsertOrders(tx as unknown as Sql, orders, partition)
    if (payments.length > 0) await upsertPayments(tx as unknown as Sql, payments)
    if (ledger.length > 0) {
      await tx`
        insert into stock_ledger ${tx(
          ledger.map((l) => ({
            id: l.id,
            product_id: l.product_id,
            kind: l.kind,
            quantity: Number(l.quantity),
          })),
          'id',
          'product_id',
          'kind',
          'quantity',
        )}
        on conflict (id) do nothing
      `
    }
    if (stock.length > 0) await mirrorStock(tx as unknown as Sql, stock)
    if (products.length > 0) await updateCatalogue(tx as unknown as Sql, products)
    if (holds.length > 0) await upsertHolds(tx as unknown as Sql, holds, partition)
    if (entriesAdded !== undefined) {
      // Last, so concurrent workers hold the row only for the moment before they commit.
      await tx`
        insert into stream_positions (partition, epoch, entries_added)
        values (${partition}, ${epoch}, ${entriesAdded})
        on conflict (partition, epoch) do update
          set entries_added = greatest(stream_positions.entries_added, excluded.entries_added)
      `
    }
  })
}

/**
 * Orders new to Postgres are inserted with their lines; known ones move forward
 * by version. Both go as one JSON parameter each, which costs the worker far
 * less than binding thousands of parameters (docs/performance.md). An order's
 * lines never change, and go in with its first row in the same transaction, so
 * later events of the order skip them.
 */
async function upsertOrders(sql: Sql, orders: OrderSnapshot[], partition: number) {
  const rows = orders.map((o) => ({
    id: o.id,
    customer_id: o.customer_id || null,
    status: o.status,
    order_date: Number(o.order_date),
    total_amount: toDecimalString(o.total),
    reserved_until: o.reserved_until ? Number(o.reserved_until) : null,
    version: Number(o.v),
    updated_at: Number(o.updated_at),
    spans: o.parts !== undefined,
  }))
  // ON CONFLICT DO UPDATE, not a separate update: under concurrent workers it moves
  // a row another transaction has just committed. `xmax = 0` marks a row this
  // statement inserted (an updated one carries this transaction's id).
  const inserted = await sql<{ id: string }[]>`
    with written as (
      insert into orders (id, customer_id, status, order_date, total_amount, reserved_until,
                          version, updated_date, partition, spans)
      select id, customer_id, status, to_timestamp(order_date / 1000.0), total_amount,
             to_timestamp(reserved_until / 1000.0), version, to_timestamp(updated_at / 1000.0),
             ${partition}, spans
      from jsonb_to_recordset(${sql.json(rows)}) as o(
        id uuid, customer_id text, status text, order_date bigint, total_amount numeric,
        reserved_until bigint, version integer, updated_at bigint, spans boolean)
      on conflict (id) do update set
        status = excluded.status,
        reserved_until = excluded.reserved_until,
        version = excluded.version,
        updated_date = excluded.updated_date
      where orders.version < excluded.version
      returning id, (xmax = 0) as inserted
    )
    select id from written where inserted
  `
  if (inserted.length === 0) return
  const isNew = new Set(inserted.map((r) => r.id))
  const lines = orders
    .filter((o) => isNew.has(o.id))
    .flatMap((o) =>
      parseLines(o.lines).map((l) => ({
        order_id: o.id,
        product_id: l.product_id,
        quantity: l.quantity,
        price: toDecimalString(l.price),
        amount: toDecimalString(l.price * l.quantity),
      })),
    )
  await sql`
    insert into order_details (order_id, product_id, quantity, price, amount)
    select * from jsonb_to_recordset(${sql.json(lines)}) as l(
      order_id uuid, product_id bigint, quantity integer, price numeric, amount numeric)
    on conflict (order_id, product_id) do nothing
  `
}

async function upsertPayments(sql: Sql, payments: PaymentSnapshot[]) {
  await sql`
    insert into payments ${sql(
      payments.map((p) => ({
        id: p.id,
        order_id: p.order_id,
        status: p.status,
        amount: toDecimalString(p.amount),
        payment_date: at(p.payment_date),
        order_date: at(p.order_date),
        version: Number(p.v),
      })),
      'id',
      'order_id',
      'status',
      'amount',
      'payment_date',
      'order_date',
      'version',
    )}
    on conflict (id) do update set
      status = excluded.status,
      version = excluded.version,
      updated_date = now()
    where payments.version < excluded.version
  `
}

/** products.quantity mirrors Redis's available units for outside reports. */
async function mirrorStock(sql: Sql, stock: StockSnapshot[]) {
  const rows = stock.map((s) => ({
    id: Number(s.id),
    available: Number(s.available),
    v: Number(s.v),
  }))
  await sql`
    update products p
    set quantity = s.available, stock_version = s.v, updated_date = now()
    from jsonb_to_recordset(${sql.json(rows)}) as s(id bigint, available bigint, v bigint)
    where p.id = s.id and p.stock_version < s.v
  `
}

/**
 * stock_held, stock_released, stock_sold: a row per line of each hold, moved
 * forward only by the hold's version (a draft held again after a refusal
 * starts past the version its last hold ended at).
 */
async function upsertHolds(sql: Sql, holds: HoldSnapshot[], partition: number) {
  const rows = holds.flatMap((h) =>
    [...h.lines.matchAll(/(\d+):(\d+)/g)].map(([, productId, quantity]) => ({
      order_id: h.order_id,
      product_id: Number(productId),
      customer_id: h.customer_id || null,
      quantity: Number(quantity),
      status: h.status,
      held_until: Number(h.until),
      version: Number(h.v),
    })),
  )
  await sql`
    insert into order_holds (order_id, partition, product_id, customer_id, quantity, status,
                             held_until, version)
    select order_id, ${partition}, product_id, customer_id, quantity, status,
           to_timestamp(held_until / 1000.0), version
    from jsonb_to_recordset(${sql.json(rows)}) as h(
      order_id uuid, product_id bigint, customer_id text, quantity integer, status text,
      held_until bigint, version integer)
    on conflict (order_id, product_id) do update set
      status = excluded.status, held_until = excluded.held_until, version = excluded.version
    where order_holds.version < excluded.version
  `
}

/** product_updated: the catalogue fields, moved forward only (catalogue_version). */
async function updateCatalogue(sql: Sql, products: ProductSnapshot[]) {
  const rows = products.map((p) => ({
    id: Number(p.id),
    name: p.name,
    price: toDecimalString(p.price),
    status: p.status,
    max_per_customer: p.max_per_customer === '' ? null : Number(p.max_per_customer),
    lead_time: Number(p.lead_time),
    most_lead_time: Number(p.most_lead_time),
    sale_starts_at: p.sale_starts === '' ? null : at(p.sale_starts).toISOString(),
    sale_ends_at: p.sale_ends === '' ? null : at(p.sale_ends).toISOString(),
    cv: Number(p.cv),
  }))
  await sql`
    update products p
    set name = s.name, price = s.price, status = s.status, max_per_customer = s.max_per_customer,
        lead_time = s.lead_time, most_lead_time = s.most_lead_time,
        sale_starts_at = s.sale_starts_at, sale_ends_at = s.sale_ends_at,
        catalogue_version = s.cv, updated_date = now()
    from jsonb_to_recordset(${sql.json(rows)}) as s(
      id bigint, name text, price numeric, status text, max_per_customer integer,
      lead_time integer, most_lead_time integer, sale_starts_at timestamptz,
      sale_ends_at timestamptz, cv bigint)
    where p.id = s.id and p.catalogue_version < s.cv
  `
}
