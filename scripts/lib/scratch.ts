import { randomBytes } from 'node:crypto'
import { loadConfig } from '../../src/config.js'
import { createSql } from '../../src/db/client.js'
import { migrate } from '../../src/db/migrate.js'
import { createLogger } from '../../src/logger.js'
import { ensureHydrated } from '../../src/recovery/hydrate.js'
import type { Redis } from '../../src/redis/client.js'
import { storeKeyBatches } from '../../src/redis/scan.js'
import { connect, disconnect } from '../../src/runtime.js'

/** The Postgres and Redis the tools run against (the local services by default). */
export const BASE_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A database of its own for one run of a tool, migrated; `drop` removes it. */
export async function scratchDatabase(label: string) {
  const name = `store_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`
  const admin = createSql(BASE_DATABASE_URL, { max: 1 })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = new URL(BASE_DATABASE_URL)
  url.pathname = `/${name}`
  const sql = createSql(url.toString(), { max: 2 })
  await migrate(sql)
  await sql.end()
  return {
    url: url.toString(),
    drop: async () => {
      const admin = createSql(BASE_DATABASE_URL, { max: 1 })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

/** Deletes every key of a key prefix (a tool's scratch store). */
export async function deletePrefix(redis: Redis, prefix: string) {
  for await (const batch of storeKeyBatches(redis, prefix)) {
    await Promise.all(batch.map((key) => redis.del(key)))
  }
}

/**
 * A whole store for one run of a tool: a scratch database, a key prefix of its
 * own, and the service's dependencies as an API process has them
 * (`connect`), made ready (`ensureHydrated`). `close` removes it all.
 */
export async function scratchStore(label: string, env: Record<string, string> = {}) {
  const db = await scratchDatabase(label)
  const prefix = `${label}-${randomBytes(4).toString('hex')}`
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    ROLE: 'api',
    LOG_LEVEL: 'silent',
    ...env,
  })
  const deps = await connect(config, createLogger(config.LOG_LEVEL))
  await ensureHydrated(deps)
  return {
    deps,
    close: async () => {
      await deletePrefix(deps.redis, prefix)
      await disconnect(deps)
      await db.drop()
    },
  }
}
