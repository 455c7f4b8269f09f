import type { Deps } from '../deps.js'
import { runScript, UnknownReplyError } from '../redis/scripts.js'

export type LeaseReply = { code: 'OK' } | { code: 'TAKEN'; holder: string; pttlMs: number }

/** lua/laneLease.lua: takes (or renews) or gives up this worker's lease on a partition's lane. */
export async function laneLeaseScript(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  partition: number,
  consumer: string,
  action: 'take' | 'release',
  leaseMs: number,
): Promise<LeaseReply> {
  const raw = await runScript(
    redis,
    'laneLease',
    [keys.partition(partition).laneLease],
    [consumer, action, leaseMs],
  )
  if (raw[0] === 'OK') return { code: 'OK' }
  if (raw[0] === 'TAKEN') return { code: 'TAKEN', holder: String(raw[1]), pttlMs: Number(raw[2]) }
  throw new UnknownReplyError('laneLease', raw)
}

/**
 * Announces a worker for `leaseMs` more and returns how many are live now,
 * itself included: each takes its share of the lanes, ⌈partitions / live⌉.
 */
export async function liveWorkers(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  consumer: string,
  leaseMs: number,
): Promise<number> {
  const now = Date.now()
  const replies = await redis
    .multi()
    .zadd(keys.workers, now + leaseMs, consumer)
    .zremrangebyscore(keys.workers, '-inf', now)
    .zcard(keys.workers)
    .exec()
  return Math.max(1, Number(replies?.[2]?.[1] ?? 1))
}

/** A worker that stops leaves the others its share at once. */
export async function leaveWorkers(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  consumer: string,
) {
  await redis.zrem(keys.workers, consumer)
}
