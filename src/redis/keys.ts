import { createHash } from 'node:crypto'
import { partitionOfId } from '../ids.js'
import { slotOf } from './slots.js'

/** Redis Cluster's slots: hash tags spread over them, a partition's keys share one. */
const SLOTS = 16_384

/**
 * The hash tag of each partition. One partition keeps the store's tag as it
 * always was (`{prefix}`). With more, partition p's tag is the first
 * `{prefix:p:k}` whose slot falls in p's share of the slots (p × 16384 / N
 * onwards), so the partitions spread evenly over the slot ranges a cluster
 * hands its masters.
 */
export function partitionTags(prefix: string, partitions: number): string[] {
  if (partitions === 1) return [`{${prefix}}`]
  return Array.from({ length: partitions }, (_, p) => {
    const from = Math.floor((p * SLOTS) / partitions)
    const to = Math.floor(((p + 1) * SLOTS) / partitions)
    for (let k = 0; ; k++) {
      const tag = `${prefix}:${p}:${k}`
      const slot = slotOf(tag)
      if (slot >= from && slot < to) return `{${tag}}`
    }
  })
}

/**
 * Every Redis key of the store, in one place. The store is spread over
 * PARTITIONS partitions (1 on a single Redis), each with a hash tag of its
 * own, so every key one script touches lives in one slot. A product's
 * partition is fixed when it is created (its id modulo PARTITIONS, kept in
 * Postgres: `products.partition`), an order lives in its home partition
 * (written into its id, see src/ids.ts), and each partition has its own
 * events stream, indexes, readiness marker and sequence. Keys no script
 * shares (sessions, idempotency entries, rate-limit buckets, the dashboard's
 * counters) are the store's own, outside any partition.
 */
export function storeKeys(prefix: string, partitions = 1) {
  const store = `{${prefix}}`
  const tags = partitionTags(prefix, partitions)
  const productPartition = (productId: number | string) => Number(productId) % partitions
  const orderPartition = (orderId: string) =>
    partitions === 1 ? 0 : partitionOfId(orderId) % partitions
  /** Keys many callers share would all sit in one slot; in a cluster each gets a tag of its own. */
  const spread = (name: string) => (partitions === 1 ? `${store}:${name}` : `{${prefix}:${name}}`)

  const parts = tags.map((tag, index) => ({
    index,
    tag,
    /**
     * The readiness marker: set once Redis holds this partition, by its
     * rebuild from Postgres and by nothing else. Its absence means the
     * partition's Redis lost its data.
     */
    hydrated: `${tag}:hydrated`,
    /** One rebuild of this partition at a time. */
    hydrationLock: `${tag}:hydration-lock`,
    /** The write-behind stream: every change of this partition, in order. */
    events: `${tag}:events`,
    /** Order ids holding stock, scored by when the hold ends (ms). */
    reservations: `${tag}:reservations`,
    /** Draft order ids, scored by when the draft expires (ms). */
    drafts: `${tag}:drafts`,
    /** Open orders (drafts and checkouts) per customer, for MAX_OPEN_ORDERS. */
    openOrders: `${tag}:open-orders`,
    /** Active product ids of this partition, scored by id (GET /products pages through them). */
    catalogue: `${tag}:catalogue`,
    /** This partition's event sequence, stamped into each event. */
    seq: `${tag}:seq`,
    /** Holds of orders whose home is another partition, scored by when to audit them (ms). */
    holds: `${tag}:holds`,
    /** The worker that writes this partition's stream now (lua/laneLease.lua). */
    laneLease: `${tag}:lane-lease`,
  }))

  return {
    prefix,
    partitions,
    partition: (p: number) => parts[p] as (typeof parts)[number],
    /** Every partition, in order. */
    allPartitions: parts,
    productPartition,
    orderPartition,
    product: (productId: number | string) =>
      `${tags[productPartition(productId)]}:product:${productId}`,
    customerUnits: (productId: number | string) =>
      `${tags[productPartition(productId)]}:customer-units:${productId}`,
    order: (orderId: string) => `${tags[orderPartition(orderId)]}:order:${orderId}`,
    payment: (paymentId: string) => `${tags[orderPartition(paymentId)]}:payment:${paymentId}`,
    /** An order's hold of its lines in partition `p` (not its home). */
    hold: (p: number, orderId: string) => `${tags[p]}:hold:${orderId}`,
    /** What became of a hold once it ended ('released' or 'sold'), so a late resend is refused. */
    holdDone: (p: number, orderId: string) => `${tags[p]}:hold-done:${orderId}`,
    /**
     * The first reply of an admin change of a product (a restock, a repair, an
     * update), by its id, beside the product: the same call sent again answers
     * it and changes nothing (lua/includes/receipts.lua).
     */
    receipt: (productId: number | string, id: string) =>
      `${tags[productPartition(productId)]}:receipt:${id}`,
    /** Order and payment ids Postgres does not know either, for a short while. */
    missing: (kind: 'order' | 'payment', id: string) => `${store}:missing:${kind}:${id}`,
    /**
     * A caller's rate-limit bucket: `customer` (verified or named), `ip`, or
     * `idempotency` (new Idempotency-Keys an anonymous IP may store).
     */
    rateLimit: (scope: 'customer' | 'ip' | 'idempotency', id: string) =>
      spread(`rate:${scope}:${id}`),
    /** One idempotency entry per caller, route, parameters and key; hashed to a fixed length. */
    idempotency: (scope: string, key: string) =>
      spread(
        `idempotency:${createHash('sha256').update(scope).update('\0').update(key).digest('base64url')}`,
      ),
    /** Live write-behind workers, scored by when their heartbeat runs out (ms): they share the lanes. */
    workers: `${store}:workers`,
    deadLetters: `${store}:events:dead`,
    /** Dead letters dropped because the dead-letter stream was full. */
    deadLettersDropped: `${store}:events:dead:dropped`,
    /** Checkouts reserved and refusals by reason, per product, for the dashboard. */
    outcomes: `${store}:outcomes`,
    /** Products that sold in the last minute, scored by when (the dashboard's "selling now"). */
    selling: `${store}:selling`,
    /** A dashboard session, by the hash of its cookie. */
    session: (hash: string) => `${store}:session:${hash}`,
    /** Pub/sub channel of the periodic stock report, and the latest report. */
    stockReport: `${store}:stock-report`,
    stockReportLatest: `${store}:stock-report:latest`,
    // The first partition's keys by their plain names: with PARTITIONS=1 they are the store's.
    hydrated: parts[0]?.hydrated as string,
    hydrationLock: parts[0]?.hydrationLock as string,
    events: parts[0]?.events as string,
    reservations: parts[0]?.reservations as string,
    drafts: parts[0]?.drafts as string,
    openOrders: parts[0]?.openOrders as string,
    catalogue: parts[0]?.catalogue as string,
  }
}

export type StoreKeys = ReturnType<typeof storeKeys>
export type PartitionKeys = StoreKeys['allPartitions'][number]

/** The slot share of one partition, for the slot-hygiene test and the benchmark. */
export { SLOTS }
