import type { Deps } from '../deps.js'
import { releasedLines } from '../products/soldOut.js'
import type { PartitionKeys } from '../redis/keys.js'
import { endHolds, linesByPartition } from './holds.js'
import { parseLines } from './records.js'
import { expireDraftScript, expireOrderScript } from './scripts.js'

/**
 * Expires the reservations that are due, a batch at a time. Each order is
 * expired by its own script call, which checks the state again, so several
 * sweepers can run at once. Returns how many orders it expired.
 */
export async function expireDueReservations(deps: Deps, batch = deps.config.EXPIRY_SWEEP_BATCH) {
  return eachPartition(deps, (part) => expireDueIn(deps, part.reservations, batch))
}

/**
 * Runs `sweep` on every partition at once and adds up what they did. A
 * partition whose Redis is away does not hold up the others: its error is
 * thrown once they have all finished.
 */
async function eachPartition(deps: Deps, sweep: (part: PartitionKeys) => Promise<number>) {
  const results = await Promise.allSettled(deps.keys.allPartitions.map(sweep))
  let done = 0
  for (const result of results) {
    if (result.status === 'fulfilled') done += result.value
  }
  const failed = results.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
  return done
}

/** One partition's due reservations. */
async function expireDueIn(deps: Deps, reservations: string, batch: number) {
  const { redis, keys } = deps
  const due = await redis.zrangebyscore(reservations, '-inf', Date.now(), 'LIMIT', 0, batch)
  const replies = await Promise.all(
    due.map(async (orderId) => {
      const raw = await redis.hget(keys.order(orderId), 'lines')
      const lines = raw === null ? [] : parseLines(raw)
      const { local, remote } = linesByPartition(deps, keys.orderPartition(orderId), lines)
      const reply = await expireOrderScript(deps, orderId, local)
      if (reply.code === 'OK') {
        await endHolds(deps, orderId, 'release', remote)
        // Released units: a sold-out hint in this process ends now (in others within a moment).
        releasedLines(redis, lines)
      }
      return reply
    }),
  )
  const expired = replies.filter((reply) => reply.code === 'OK').length
  if (expired > 0) deps.metrics.checkouts.inc({ outcome: 'expired' }, expired)
  return expired
}

/**
 * Expires drafts nobody checked out within DRAFT_TTL_SECONDS, a batch at a time,
 * so abandoned drafts do not pile up in Redis. Returns how many it expired.
 */
export async function expireStaleDrafts(deps: Deps, batch = deps.config.EXPIRY_SWEEP_BATCH) {
  return eachPartition(deps, async (part) => {
    const due = await deps.redis.zrangebyscore(part.drafts, '-inf', Date.now(), 'LIMIT', 0, batch)
    const replies = await Promise.all(due.map((orderId) => expireDraftScript(deps, orderId)))
    return replies.filter((reply) => reply.code === 'OK').length
  })
}
