import { Redis } from 'ioredis'
import { registerScripts } from './scripts.js'

/**
 * A client with the store's scripts registered. ioredis reconnects by itself and
 * sends again the commands whose replies were lost; every script answers the
 * same call (same order, payment, restock or request id) a second time with the
 * first answer, so a resend never applies twice. Errors go to `onError`.
 */
export function createRedis(url: string, onError: (err: Error) => void = () => {}) {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
  })
  redis.on('error', onError)
  registerScripts(redis)
  return redis
}

export type { Redis }
