import { Cluster } from 'ioredis'
import type { Redis } from './types.js'

/** Every key of a store matches this: its own tag and its partitions' (`{prefix}`, `{prefix:…}`). */
export const storeKeyPattern = (prefix: string) => `{${prefix}[:}]*`

/**
 * The keys of a store, a batch at a time, from every master of a cluster or
 * from the one Redis. For tools and tests (a scan walks the whole keyspace).
 */
export function storeKeyBatches(redis: Redis, prefix: string) {
  return keyBatches(redis, storeKeyPattern(prefix))
}

/** The keys matching `pattern`, a batch at a time, from every master of a cluster or the one Redis. */
export async function* keyBatches(redis: Redis, pattern: string, count = 1000) {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
  for (const node of nodes) {
    for await (const batch of node.scanStream({ match: pattern, count })) {
      if ((batch as string[]).length > 0) yield batch as string[]
    }
  }
}
