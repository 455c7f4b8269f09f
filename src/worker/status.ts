import type { Deps } from '../deps.js'
import { entriesAddedOf } from './lane.js'
import { streamState } from './sink.js'

/** One partition's backlog and the age of its oldest unwritten event. */
async function partitionBacklog({ redis }: Pick<Deps, 'redis'>, events: string) {
  const [backlog, oldest] = await Promise.all([
    redis.xlen(events),
    redis.xrange(events, '-', '+', 'COUNT', 1),
  ])
  const oldestId = oldest[0]?.[0]
  return {
    backlog,
    lagMs: oldestId ? Math.max(0, Date.now() - Number(oldestId.split('-')[0])) : 0,
  }
}

/**
 * Events waiting in the streams (summed over the partitions), the age of the
 * oldest one, and the incidents: events in the dead-letter stream, and events
 * dropped because it was full.
 */
export async function writeBehindStatus(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  /** Only these partitions (readiness leaves out those whose Redis does not answer). */
  only?: readonly number[],
) {
  const parts = only ? keys.allPartitions.filter((p) => only.includes(p.index)) : keys.allPartitions
  const [partitions, deadLetters, dropped] = await Promise.all([
    Promise.all(parts.map((part) => partitionBacklog({ redis }, part.events))),
    redis.xlen(keys.deadLetters),
    redis.get(keys.deadLettersDropped),
  ])
  return {
    backlog: partitions.reduce((sum, p) => sum + p.backlog, 0),
    lag_ms: partitions.reduce((max, p) => Math.max(max, p.lagMs), 0),
    dead_letters: deadLetters,
    dead_letters_dropped: Number(dropped ?? 0),
  }
}

/** Logs the backlog while there is one (a lag over 30 s is a warning), and every incident as an error. */
export async function logBacklog(deps: Pick<Deps, 'redis' | 'keys' | 'logger'>) {
  const status = await writeBehindStatus(deps)
  if (status.dead_letters > 0 || status.dead_letters_dropped > 0) {
    deps.logger.error(
      status,
      'dead letters: acknowledged changes are not in Postgres; see `npm run dead-letters -- list`',
    )
  }
  if (status.backlog === 0) return
  const level = status.lag_ms > 30_000 ? 'warn' : 'info'
  deps.logger[level](status, 'write-behind backlog')
}

/**
 * Whether an event stream went backwards (see StreamBehindError): for the
 * first partition found behind, the entries Redis has added in this epoch and
 * the count Postgres has already seen; else null.
 */
export async function streamBehind({ redis, keys, sql }: Pick<Deps, 'redis' | 'keys' | 'sql'>) {
  for (const part of keys.allPartitions) {
    const marker = await redis.get(part.hydrated)
    if (marker === null) continue
    const { seen, stoppedAt } = await streamState(sql, Number(marker), part.index)
    if (stoppedAt !== null) {
      return { partition: part.index, redis_entries: stoppedAt, postgres_entries: seen }
    }
    const info = await redis.call('XINFO', 'STREAM', part.events).catch(() => null)
    const redisEntries = info === null ? 0 : (entriesAddedOf(info) ?? Number.POSITIVE_INFINITY)
    if (redisEntries < seen) {
      return { partition: part.index, redis_entries: redisEntries, postgres_entries: seen }
    }
  }
  return null
}
