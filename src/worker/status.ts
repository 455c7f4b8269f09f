import type { Deps } from '../deps.js'
import { entriesAddedOf } from './lane.js'
import { streamState } from './sink.js'

/**
 * Events waiting in the stream, the age of the oldest one, and the incidents:
 * events in the dead-letter stream, and events dropped because it was full.
 */
export async function writeBehindStatus({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const [backlog, oldest, deadLetters, dropped] = await Promise.all([
    redis.xlen(keys.events),
    redis.xrange(keys.events, '-', '+', 'COUNT', 1),
    redis.xlen(keys.deadLetters),
    redis.get(keys.deadLettersDropped),
  ])
  const oldestId = oldest[0]?.[0]
  const lagMs = oldestId ? Math.max(0, Date.now() - Number(oldestId.split('-')[0])) : 0
  return {
    backlog,
    lag_ms: lagMs,
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
 * Whether the event stream went backwards (see StreamBehindError): the
 * entries Redis has added in this epoch, and the count Postgres has already
 * seen, when Redis's is lower; else null.
 */
export async function streamBehind({ redis, keys, sql }: Pick<Deps, 'redis' | 'keys' | 'sql'>) {
  const marker = await redis.get(keys.hydrated)
  if (marker === null) return null
  const { seen, stoppedAt } = await streamState(sql, Number(marker))
  if (stoppedAt !== null) return { redis_entries: stoppedAt, postgres_entries: seen }
  const info = await redis.call('XINFO', 'STREAM', keys.events).catch(() => null)
  const redisEntries = info === null ? 0 : (entriesAddedOf(info) ?? Number.POSITIVE_INFINITY)
  return redisEntries < seen ? { redis_entries: redisEntries, postgres_entries: seen } : null
}
