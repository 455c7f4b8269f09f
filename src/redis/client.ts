import { Redis } from 'ioredis'
import { registerScripts } from './scripts.js'

export function createRedis(url: string) {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
  })
  registerScripts(redis)
  return redis
}

export type { Redis }
