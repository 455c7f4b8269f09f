import { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import { registerScripts } from './scripts.js'

export interface RedisClientOptions {
  /**
   * For connections that answer requests: nothing waits in an offline queue
   * while Redis is unreachable (a command fails at once), a reply that does not
   * come within this many ms fails the command, and reconnects are tried at
   * least once a second. Without it (background jobs) commands wait for Redis.
   */
  commandTimeoutMs?: number
}

/**
 * A client with the store's scripts registered. ioredis reconnects by itself and
 * sends again the commands whose replies were lost; every script answers the
 * same call (same order, payment, restock or request id) a second time with the
 * first answer, so a resend never applies twice. Every connection logs its
 * errors (`log`: a logger, or a function for command-line tools); while Redis
 * is down, the same error is logged once a second at most.
 */
export function createRedis(
  url: string,
  log: Logger | ((err: Error) => void),
  options: RedisClientOptions = {},
) {
  const failFast =
    options.commandTimeoutMs === undefined
      ? { maxRetriesPerRequest: 3 }
      : {
          enableOfflineQueue: false,
          commandTimeout: options.commandTimeoutMs,
          maxRetriesPerRequest: 1,
          retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
        }
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    ...failFast,
  })
  redis.on('error', errorLogger(log, 'redis'))
  registerScripts(redis)
  return redis
}

/** An `error` listener that logs each distinct error at most once a second. */
export function errorLogger(log: Logger | ((err: Error) => void), connection: string) {
  let last = ''
  let lastAt = 0
  return (err: Error) => {
    const now = Date.now()
    if (err.message === last && now - lastAt < 1000) return
    last = err.message
    lastAt = now
    if (typeof log === 'function') log(err)
    else log.warn({ err: err.message, connection }, 'redis connection error')
  }
}

/**
 * A connection of its own for blocking reads and subscriptions: it waits for
 * Redis (an offline queue, no command timeout), whatever `redis` does.
 */
export function patientDuplicate(redis: Redis): Redis {
  return redis.duplicate({
    enableOfflineQueue: true,
    commandTimeout: undefined,
    maxRetriesPerRequest: null,
  })
}

export type { Redis }
