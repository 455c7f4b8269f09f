import { randomFillSync } from 'node:crypto'
import { v7 } from 'uuid'

/**
 * A new UUIDv7 (time-ordered) for orders, payments and the other records.
 *
 * The uuid package asks the system for 16 random bytes per id; under load that
 * call cost more than the rest of a create-order (docs/performance.md). So
 * random bytes come from a pool refilled 4 KiB at a time, as Node's own
 * `crypto.randomUUID()` does. Ids made in the same millisecond are then ordered
 * by their random bits rather than by a counter; nothing relies on that order.
 */
const POOL = new Uint8Array(16 * 256)
let next = POOL.length

export function newId(): string {
  if (next === POOL.length) {
    randomFillSync(POOL)
    next = 0
  }
  const random = POOL.subarray(next, next + 16)
  next += 16
  return v7({ random })
}

/**
 * The partition an order (or its payment) lives in, written into its id: the
 * last three hex digits (12 of the UUID's random bits), so a key can be named
 * from the id alone. Up to 4,096 partitions.
 */
export function withPartition(id: string, partition: number): string {
  return `${id.slice(0, -3)}${partition.toString(16).padStart(3, '0')}`
}

/** The partition written into an id by `withPartition`. */
export function partitionOfId(id: string): number {
  return Number.parseInt(id.slice(-3), 16) || 0
}
