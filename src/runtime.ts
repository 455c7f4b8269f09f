import { randomBytes } from 'node:crypto'
import type { Config } from './config.js'
import { createSql } from './db/client.js'
import type { Deps } from './deps.js'
import type { Logger } from './logger.js'
import { createMetrics } from './metrics/metrics.js'
import { createRedis } from './redis/client.js'
import { storeKeys } from './redis/keys.js'

export class StartupError extends Error {}

const HOW_TO_START =
  'Start the local services (Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432), ' +
  'or run `docker compose up -d redis postgres`, or point REDIS_URL / DATABASE_URL elsewhere.'

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')

/** Connects to Redis and Postgres, or fails with a sentence saying how to start them. */
export async function connect(config: Config, logger: Logger): Promise<Deps> {
  let adminToken = config.ADMIN_TOKEN
  if (!adminToken) {
    adminToken = randomBytes(24).toString('base64url')
    logger.warn(
      { admin_token: adminToken },
      'ADMIN_TOKEN is not set: generated one for this run only',
    )
  }
  // API processes answer 503 at once while Redis is away; background jobs wait for it.
  const redis = createRedis(
    config.REDIS_URL,
    logger,
    config.ROLE === 'api' ? { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS } : {},
  )
  const sql = createSql(config.DATABASE_URL)
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    await sql.end({ timeout: 1 })
    throw new StartupError(
      `Cannot reach Redis at ${redact(config.REDIS_URL)} (${message(err)}). ${HOW_TO_START}`,
    )
  }
  try {
    await sql`select 1`
  } catch (err) {
    redis.disconnect()
    await sql.end({ timeout: 1 })
    throw new StartupError(
      `Cannot reach PostgreSQL at ${redact(config.DATABASE_URL)} (${message(err)}). ${HOW_TO_START}`,
    )
  }
  return {
    config: { ...config, ADMIN_TOKEN: adminToken },
    redis,
    sql,
    keys: storeKeys(config.KEY_PREFIX),
    logger,
    metrics: createMetrics({ processMetrics: true }),
  }
}

export async function disconnect(deps: Pick<Deps, 'redis' | 'sql'>) {
  await deps.redis.quit().catch(() => deps.redis.disconnect())
  await deps.sql.end({ timeout: 5 })
}

function message(err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map(message).join('; ')
  return err instanceof Error
    ? err.message || (err as { code?: string }).code || err.name
    : String(err)
}
