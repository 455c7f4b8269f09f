/**
 * Every Redis key of the store. All share one hash tag (`{prefix}`), so every
 * script's keys live in one slot and the scripts run unchanged on Redis Cluster.
 */
export function storeKeys(prefix: string) {
  const tag = `{${prefix}}`
  return {
    prefix,
    product: (productId: number | string) => `${tag}:product:${productId}`,
    customerUnits: (productId: number | string) => `${tag}:customer-units:${productId}`,
    order: (orderId: string) => `${tag}:order:${orderId}`,
    payment: (paymentId: string) => `${tag}:payment:${paymentId}`,
    reservations: `${tag}:reservations`,
    drafts: `${tag}:drafts`,
    events: `${tag}:events`,
    deadLetters: `${tag}:events:dead`,
    idempotency: (scope: string, key: string) => `${tag}:idempotency:${scope}:${key}`,
    hydrationLock: `${tag}:hydration-lock`,
    hydrated: `${tag}:hydrated`,
    /** Pub/sub channel of the periodic stock report, and the latest report. */
    stockReport: `${tag}:stock-report`,
    stockReportLatest: `${tag}:stock-report:latest`,
  }
}

export type StoreKeys = ReturnType<typeof storeKeys>
