import { Cluster, type RedisOptions, Redis as SingleRedis } from 'ioredis'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import { type ReplicaAcks, requireReplicaAcks } from './replicas.js'
import { registerScripts } from './scripts.js'
import type { Redis } from './types.js'

/**
 * Where the store's Redis is: one URL, or a replicated Redis behind Sentinel
 * (then the URL gives only the password, user and database). Every connection
 * made from it, duplicates included, follows a failover.
 */
export interface RedisTarget {
  url: string
  /** A Redis Cluster: any of its nodes (the URL then gives only the password and user). */
  cluster?: { host: string; port: number }[]
  sentinel?: {
    addresses: { host: string; port: number }[]
    master: string
    password?: string | undefined
    tls: boolean
  }
}

const hostPorts = (list: string) =>
  list.split(',').map((pair) => {
    const at = pair.lastIndexOf(':')
    return { host: pair.slice(0, at), port: Number(pair.slice(at + 1)) }
  })

export function redisTarget(config: Config): RedisTarget {
  if (config.REDIS_CLUSTER_NODES) {
    return { url: config.REDIS_URL, cluster: hostPorts(config.REDIS_CLUSTER_NODES) }
  }
  if (!config.REDIS_SENTINELS || !config.REDIS_SENTINEL_MASTER) return { url: config.REDIS_URL }
  return {
    url: config.REDIS_URL,
    sentinel: {
      addresses: hostPorts(config.REDIS_SENTINELS),
      master: config.REDIS_SENTINEL_MASTER,
      password: config.REDIS_SENTINEL_PASSWORD,
      tls: config.REDIS_SENTINEL_TLS,
    },
  }
}

/** ioredis options for a target: the URL's parts, and Sentinel's when there is one. */
function connectionOptions(target: RedisTarget): RedisOptions {
  const url = new URL(target.url)
  const base: RedisOptions = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    db: Number(url.pathname.slice(1) || 0),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  }
  if (!target.sentinel) {
    return { ...base, host: url.hostname, port: Number(url.port || 6379) }
  }
  const { sentinel } = target
  return {
    ...base,
    sentinels: sentinel.addresses,
    name: sentinel.master,
    ...(sentinel.password ? { sentinelPassword: sentinel.password } : {}),
    ...(sentinel.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
  }
}

export interface RedisClientOptions {
  /**
   * For connections that answer requests: nothing waits in an offline queue
   * while Redis is unreachable (a command fails at once), a reply that does not
   * come within this many ms fails the command, and reconnects are tried at
   * least once a second. Without it (background jobs) commands wait for Redis.
   */
  commandTimeoutMs?: number
  /** Replicas that must confirm this client's state changes (see replicas.ts). */
  replicaAcks?: ReplicaAcks
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
  target: string | RedisTarget,
  log: Logger | ((err: Error) => void),
  options: RedisClientOptions = {},
) {
  const failFast =
    options.commandTimeoutMs === undefined
      ? { maxRetriesPerRequest: 3 }
      : {
          enableOfflineQueue: false,
          // A change waits for its reply, then for the replicas (WAIT is a command too).
          commandTimeout: options.commandTimeoutMs + (options.replicaAcks?.timeoutMs ?? 0),
          maxRetriesPerRequest: 1,
          retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
        }
  const where = typeof target === 'string' ? { url: target } : target
  const redis: Redis = where.cluster
    ? clusterClient(where, failFast)
    : new SingleRedis({
        ...connectionOptions(where),
        lazyConnect: true,
        enableAutoPipelining: true,
        ...failFast,
      })
  redis.on('error', errorLogger(log, 'redis'))
  registerScripts(redis)
  if (options.replicaAcks) requireReplicaAcks(redis, options.replicaAcks)
  return redis
}

/**
 * A Redis Cluster client sized for failover: a command follows up to 64
 * redirections (MOVED, ASK, TRYAGAIN) and waits 100 ms between them while a
 * replica takes over, where 16 let a failover's in-flight commands reach the
 * application as errors; the slot map is refreshed on MOVED; reads go to
 * masters (a buyer reloads an order right after checking out). Scripts are
 * sent as EVALSHA (src/redis/scripts.ts), which the client routes by key.
 */
function clusterClient(target: RedisTarget, failFast: RedisOptions) {
  const url = new URL(target.url)
  const { enableOfflineQueue, maxRetriesPerRequest, retryStrategy, ...perNode } = failFast
  return new Cluster(target.cluster ?? [], {
    lazyConnect: true,
    enableAutoPipelining: true,
    scaleReads: 'master',
    maxRedirections: 64,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    redisOptions: {
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      ...perNode,
      ...(maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest }),
    },
  })
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
  const patient = {
    enableOfflineQueue: true,
    commandTimeout: undefined,
    maxRetriesPerRequest: null,
  }
  if (redis instanceof Cluster) {
    return redis.duplicate(undefined, {
      enableOfflineQueue: true,
      redisOptions: { ...redis.options.redisOptions, ...patient },
    })
  }
  return redis.duplicate(patient)
}

export type { Redis }
