import { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import { registerScripts } from './scripts.js'

/**
 * A client with the store's scripts registered. ioredis reconnects by itself and
 * sends again the commands whose replies were lost; every script answers the
 * same call (same order, payment, restock or request id) a second time with the
 * first answer, so a resend never applies twice. Every connection logs its
 * errors (`log`: a logger, or a function for command-line tools); while Redis
 * is down, the same error is logged once a second at most.
 */
export function createRedis(url: string, log: Logger | ((err: Error) => void)) {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
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

export type { Redis }
