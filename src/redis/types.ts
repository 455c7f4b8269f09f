import type { Cluster, Redis as SingleRedis } from 'ioredis'

/** The store's client: one Redis (maybe behind Sentinel), or a Redis Cluster. */
export type Redis = SingleRedis | Cluster
