import type { LineRecord } from './records.js'

/**
 * An order's lines and owner never change after creation, so each process
 * keeps those it has seen: a checkout, payment or cancel of such an order needs
 * no read before its script (one Redis round trip). Bounded; the oldest go first.
 */
export interface OrderHead {
  lines: LineRecord[]
  customerId: string
}

const MAX_ENTRIES = 200_000
const caches = new WeakMap<object, Map<string, OrderHead>>()

function cacheOf(owner: object) {
  let cache = caches.get(owner)
  if (!cache) {
    cache = new Map()
    caches.set(owner, cache)
  }
  return cache
}

export function cachedHead(owner: object, orderId: string): OrderHead | undefined {
  return cacheOf(owner).get(orderId)
}

export function rememberHead(owner: object, orderId: string, head: OrderHead) {
  const cache = cacheOf(owner)
  if (cache.size >= MAX_ENTRIES) {
    const oldest = cache.keys().next().value
    if (oldest !== undefined) cache.delete(oldest)
  }
  cache.set(orderId, head)
}
