import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from './config.js'
import { createSql } from './db/client.js'
import type { Deps } from './deps.js'
import type { Logger } from './logger.js'
import { createMetrics } from './metrics/metrics.js'
import { createRedis, redisTarget } from './redis/client.js'
import { storeKeys } from './redis/keys.js'

export class StartupError extends Error {}

const HOW_TO_START =
  'Start the local services (Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432), ' +
  'or run `docker compose up -d redis postgres`, or point REDIS_URL / DATABASE_URL elsewhere.'

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')

/**
 * The admin token: ADMIN_TOKEN, or, on a machine where it is not set, the one
 * kept in ADMIN_TOKEN_FILE (made there, mode 0600, on the first start). The
 * token itself is never logged: the log names the file. The supervisor calls
 * this before it starts any process and hands the token to each of them in
 * their environment, so every process accepts the same one.
 */
export function adminTokenFor(config: Config, logger: Logger): string {
  if (config.ADMIN_TOKEN) return config.ADMIN_TOKEN
  const file = resolve(config.ADMIN_TOKEN_FILE)
  let token = kept(file)
  if (token === undefined) {
    token = randomBytes(24).toString('base64url')
    try {
      writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      throw new StartupError(
        `ADMIN_TOKEN is not set, and no token could be kept in ${file} (${message(err)}). ` +
          'Set ADMIN_TOKEN (16 or more characters), or ADMIN_TOKEN_FILE to a file this process may write.',
      )
    }
  }
  logger.warn(
    { admin_token_file: file },
    `ADMIN_TOKEN is not set: admin routes take the token in ${file} (set ADMIN_TOKEN in production)`,
  )
  return token
}

/** A token kept by an earlier start, if the file holds one. */
function kept(file: string): string | undefined {
  try {
    const token = readFileSync(file, 'utf8').trim()
    return token.length >= 16 ? token : undefined
  } catch {
    return undefined
  }
}

/** Connects to Redis and Postgres, or fails with a sentence saying how to start them. */
export async function connect(config: Config, logger: Logger): Promise<Deps> {
  const adminToken = adminTokenFor(config, logger)
  // API processes answer 503 at once while Redis is away; background jobs wait for it.
  const redis = createRedis(redisTarget(config), logger, {
    ...(config.ROLE === 'api' ? { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS } : {}),
    replicaAcks: {
      replicas: config.REDIS_REPLICA_ACKS,
      timeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS,
    },
  })
  const sql = createSql(config.DATABASE_URL)
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    await sql.end({ timeout: 1 })
    throw new StartupError(
      `Cannot reach Redis at ${config.REDIS_SENTINELS ? `sentinels ${config.REDIS_SENTINELS} (master ${config.REDIS_SENTINEL_MASTER})` : redact(config.REDIS_URL)} (${message(err)}). ${HOW_TO_START}`,
    )
  }
  try {
    await sql`select 1`
  } catch (err) {
    redis.disconnect()
    await sql.end({ timeout: 1 })
    throw new StartupError(
      (err as { code?: string }).code === '3D000'
        ? missingDatabase(config.DATABASE_URL)
        : `Cannot reach PostgreSQL at ${redact(config.DATABASE_URL)} (${message(err)}). ${HOW_TO_START}`,
    )
  }
  return {
    config: { ...config, ADMIN_TOKEN: adminToken },
    redis,
    sql,
    keys: storeKeys(config.KEY_PREFIX, config.PARTITIONS),
    logger,
    metrics: createMetrics({ processMetrics: true }),
  }
}

/** PostgreSQL answers, but the database is not there: say how to create it. */
function missingDatabase(databaseUrl: string): string {
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.slice(1))
  const user = decodeURIComponent(url.username || 'postgres')
  return (
    `PostgreSQL at ${url.host} has no database "${name}". Create it ` +
    `(\`createdb -h ${url.hostname} -p ${url.port || '5432'} -U ${user} ${name}\`), ` +
    'or point DATABASE_URL at one that exists; migrations then run on start.'
  )
}

/** Listening on `port` fails: one sentence for the person who started the service. */
export function portInUse(host: string, port: number): string {
  return (
    `Port ${port} on ${host} is already in use by another program. Stop it, or set PORT ` +
    'to a free port (on macOS, AirPlay Receiver takes port 5000).'
  )
}

/** Exit code of an API process that cannot listen: the supervisor stops rather than retry. */
export const EXIT_CANNOT_LISTEN = 78

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
