import { createHash } from 'node:crypto'

/**
 * Every Redis key of the store, in one place. All share one hash tag
 * (`{prefix}`), so every script's keys live in one slot and the scripts run
 * unchanged on Redis Cluster.
 */
export function storeKeys(prefix: string) {
  const tag = `{${prefix}}`
  return {
    prefix,
    product: (productId: number | string) => `${tag}:product:${productId}`,
    /** Active product ids, scored by id: the catalogue GET /products pages through. */
    catalogue: `${tag}:catalogue`,
    customerUnits: (productId: number | string) => `${tag}:customer-units:${productId}`,
    order: (orderId: string) => `${tag}:order:${orderId}`,
    payment: (paymentId: string) => `${tag}:payment:${paymentId}`,
    /** Order and payment ids Postgres does not know either, for a short while. */
    missing: (kind: 'order' | 'payment', id: string) => `${tag}:missing:${kind}:${id}`,
    /** Open orders (drafts and checkouts) per customer, for MAX_OPEN_ORDERS. */
    openOrders: `${tag}:open-orders`,
    /**
     * A caller's rate-limit bucket: `customer` (verified or named), `ip`, or
     * `idempotency` (new Idempotency-Keys an anonymous IP may store).
     */
    rateLimit: (scope: 'customer' | 'ip' | 'idempotency', id: string) =>
      `${tag}:rate:${scope}:${id}`,
    reservations: `${tag}:reservations`,
    drafts: `${tag}:drafts`,
    events: `${tag}:events`,
    deadLetters: `${tag}:events:dead`,
    /**
     * The first reply of an admin change (a restock, a repair, a product update), by its id, so the
     * same call sent again answers it and changes nothing (lua/includes/receipts.lua).
     */
    receipt: (id: string) => `${tag}:receipt:${id}`,
    /** Dead letters dropped because the dead-letter stream was full. */
    deadLettersDropped: `${tag}:events:dead:dropped`,
    /** One idempotency entry per caller, route, parameters and key; hashed to a fixed length. */
    idempotency: (scope: string, key: string) =>
      `${tag}:idempotency:${createHash('sha256').update(scope).update('\0').update(key).digest('base64url')}`,
    /** Checkouts reserved and refusals by reason, per product, for the dashboard. */
    outcomes: `${tag}:outcomes`,
    /** Products that sold in the last minute, scored by when (the dashboard's "selling now"). */
    selling: `${tag}:selling`,
    /** A dashboard session, by the hash of its cookie. */
    session: (hash: string) => `${tag}:session:${hash}`,
    hydrationLock: `${tag}:hydration-lock`,
    /**
     * The readiness marker: set once Redis holds the store, by the rebuild from
     * Postgres and by nothing else. Its absence means Redis lost its data.
     */
    hydrated: `${tag}:hydrated`,
    /** Pub/sub channel of the periodic stock report, and the latest report. */
    stockReport: `${tag}:stock-report`,
    stockReportLatest: `${tag}:stock-report:latest`,
  }
}

export type StoreKeys = ReturnType<typeof storeKeys>
