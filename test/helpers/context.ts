import { randomBytes } from 'node:crypto'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createSql } from '../../src/db/client.js'
import { migrate } from '../../src/db/migrate.js'
import type { Deps } from '../../src/deps.js'
import { createLogger } from '../../src/logger.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { ensureHydrated } from '../../src/recovery/hydrate.js'
import { createRedis, redisTarget } from '../../src/redis/client.js'
import { storeKeys } from '../../src/redis/keys.js'
import { storeKeyBatches } from '../../src/redis/scan.js'
import { writeBehindWorker } from '../../src/worker/writeBehind.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'
export const BASE_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export function databaseUrl(name: string) {
  const url = new URL(BASE_DATABASE_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** A fresh database, migrated. */
export async function createTestDatabase(): Promise<{
  name: string
  url: string
  drop: () => Promise<void>
}> {
  const name = `store_test_${randomBytes(6).toString('hex')}`
  const admin = createSql(BASE_DATABASE_URL, { max: 1 })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = databaseUrl(name)
  const sql = createSql(url, { max: 2 })
  await migrate(sql)
  await sql.end()
  return {
    name,
    url,
    drop: async () => {
      const admin = createSql(BASE_DATABASE_URL, { max: 1 })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

export interface TestContext {
  prefix: string
  databaseUrl: string
  deps: Deps
  app: ReturnType<typeof createApp>
  /** Writes every pending event to Postgres. */
  drain: () => Promise<number>
  close: () => Promise<void>
}

/**
 * Everything a test file needs: its own database, its own Redis key prefix, the
 * app. `viaDatabase` lets a fault test route the service's Postgres traffic (a proxy).
 */
export async function createTestContext(
  env: Record<string, string> = {},
  viaDatabase: (url: string) => string = (url) => url,
): Promise<TestContext> {
  const db = await createTestDatabase()
  const prefix = `t-${randomBytes(6).toString('hex')}`
  const config = loadConfig({
    DATABASE_URL: viaDatabase(db.url),
    REDIS_URL,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    // Fair-use limits are for shoppers; tests that are not about them would trip them.
    // The storefront tests set the real defaults back (see test/storefront.*.test.ts).
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    MAX_OPEN_ORDERS: '1000000',
    // Tests read the catalogue right after changing it from outside the API.
    CATALOGUE_CACHE_MS: '0',
    // TEST_PARTITIONS=N runs a file's store spread over N partitions (on one Redis, or a cluster).
    PARTITIONS: process.env.TEST_PARTITIONS ?? '1',
    // The cluster suite (vitest.cluster.config.ts) runs every store on its Redis Cluster.
    ...(process.env.TEST_REDIS_CLUSTER_NODES
      ? { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES }
      : {}),
    ...env,
  })
  // As an API process connects: nothing queued while Redis is away.
  const redis = createRedis(redisTarget(config), createLogger('silent'), {
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    replicaAcks: {
      replicas: config.REDIS_REPLICA_ACKS,
      timeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS,
    },
  })
  await redis.connect()
  const sql = createSql(config.DATABASE_URL)
  const deps: Deps = {
    config: { ...config, ADMIN_TOKEN },
    redis,
    sql,
    keys: storeKeys(prefix, config.PARTITIONS),
    logger: createLogger('silent'),
    metrics: createMetrics(),
  }
  const worker = writeBehindWorker(deps, { consumer: 'test' })
  // As on start: an empty Redis (this prefix has no keys yet) is made ready from Postgres.
  await ensureHydrated(deps)
  const ctx: TestContext = {
    prefix,
    databaseUrl: db.url,
    deps,
    app: createApp(deps),
    drain: () => worker.drain(),
    close: async () => {
      openContexts.delete(ctx)
      await deleteKeys(deps)
      redis.disconnect()
      await sql.end({ timeout: 5 })
      await db.drop()
    },
  }
  openContexts.add(ctx)
  return ctx
}

/** Contexts not closed yet: `test/setup.ts` checks the store's invariants on each after every test. */
export const openContexts = new Set<TestContext>()

export async function deleteKeys({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  for await (const batch of storeKeyBatches(redis, keys.prefix)) {
    // One DEL per key: in a cluster a DEL of several keys must not span slots.
    await Promise.all(batch.map((key) => redis.del(key)))
  }
}

/** Deletes a key prefix's keys over a connection of its own (for services the test spawned). */
export async function deletePrefixKeys(prefix: string) {
  const redis = createRedis(REDIS_URL, () => {})
  await redis.connect()
  try {
    await deleteKeys({ redis, keys: storeKeys(prefix) })
  } finally {
    redis.disconnect()
  }
}

export const adminHeaders = {
  authorization: `Bearer ${ADMIN_TOKEN}`,
  'content-type': 'application/json',
}
export const jsonHeaders = { 'content-type': 'application/json' }

/** Waits (up to 5 s) until a connection answers again, after a fault cut or restarted its Redis. */
export async function untilRedisAnswers(redis: Pick<Deps['redis'], 'ping'>) {
  const deadline = Date.now() + 5_000
  while ((await redis.ping().catch(() => null)) !== 'PONG' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
