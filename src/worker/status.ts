import type { Deps } from '../deps.js'

/** Events waiting in the stream, the age of the oldest one, and events dead-lettered so far. */
export async function writeBehindStatus({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const [backlog, oldest, deadLetters] = await Promise.all([
    redis.xlen(keys.events),
    redis.xrange(keys.events, '-', '+', 'COUNT', 1),
    redis.xlen(keys.deadLetters),
  ])
  const oldestId = oldest[0]?.[0]
  const lagMs = oldestId ? Math.max(0, Date.now() - Number(oldestId.split('-')[0])) : 0
  return { backlog, lag_ms: lagMs, dead_letters: deadLetters }
}

/** Logs the backlog while there is one; a lag over 30 s is a warning. */
export async function logBacklog(deps: Pick<Deps, 'redis' | 'keys' | 'logger'>) {
  const status = await writeBehindStatus(deps)
  if (status.backlog === 0) return
  const level = status.lag_ms > 30_000 ? 'warn' : 'info'
  deps.logger[level](status, 'write-behind backlog')
}
