import type { Deps } from '../deps.js'

/** Events waiting in the stream, and the age of the oldest one. */
export async function writeBehindStatus({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const [backlog, oldest] = await Promise.all([
    redis.xlen(keys.events),
    redis.xrange(keys.events, '-', '+', 'COUNT', 1),
  ])
  const oldestId = oldest[0]?.[0]
  const lagMs = oldestId ? Math.max(0, Date.now() - Number(oldestId.split('-')[0])) : 0
  return { backlog, lag_ms: lagMs }
}
