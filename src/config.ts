import { z } from 'zod'

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)

/**
 * Every setting the service reads, validated once at start.
 * The defaults work against the local services on a developer machine.
 */
export const ConfigSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(5000), // the original's port: its clients work unchanged
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/ })
    .default('postgres://postgres:postgres@127.0.0.1:5432/postgres'),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters long')
    .optional()
    .describe('Bearer token for admin routes; a random one is generated and logged when unset'),
  /**
   * Where the token made when ADMIN_TOKEN is unset is kept (mode 0600), and
   * read again on the next start: never logged. Relative to the working directory.
   */
  ADMIN_TOKEN_FILE: z.string().min(1).default('.admin-token'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'may only hold letters, digits and _ . : -')
    .default('store'),
  /**
   * A replicated Redis behind Sentinel: the sentinels (`host:port,...`) and the
   * master's name. REDIS_URL then gives only the password, user and database.
   */
  REDIS_SENTINELS: z
    .string()
    .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port pairs, separated by commas')
    .optional(),
  REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_TLS: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * Replicas that must hold a state change before it is acknowledged (WAIT):
   * 0 acknowledges what the primary holds, which a failover can forget.
   */
  REDIS_REPLICA_ACKS: z.coerce.number().int().min(0).max(16).default(0),
  /** How long a change waits for REDIS_REPLICA_ACKS replicas before it answers 503. */
  REDIS_REPLICA_ACK_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(200),
  /**
   * How long a request waits for a Redis reply before it answers 503 (the
   * command may still have run: every script is safe to send again). With
   * auto-pipelining a command may wait for the batch before it, so a stalled
   * Redis answers within twice this. API processes queue nothing while Redis
   * is unreachable: they answer 503 at once.
   */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  /**
   * A Redis Cluster to connect to (`host:port,...`, any of its nodes): the store
   * is spread over its partitions (PARTITIONS), each on the master its slot is on.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port pairs, separated by commas')
    .optional(),
  /**
   * How many partitions the store is spread over, each with a hash tag of its
   * own: 1 on a single Redis; 16 or 64 on a cluster. Fixed for the life of a
   * store: a product's partition is its id modulo this, kept in Postgres.
   */
  PARTITIONS: z.coerce.number().int().min(1).max(4096).default(1),
  ROLE: z.enum(['all', 'api', 'jobs', 'worker', 'sweeper', 'reporter']).default('all'),
  /** API processes ROLE=all runs (node:cluster); default: one per core. */
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * Niceness of the jobs process ROLE=all runs (0 to 19): during a burst the
   * API processes get the CPU first and the write-behind catches up after
   * (MAX_BACKLOG bounds how far it may fall behind). 0 shares the CPU evenly.
   */
  JOBS_NICE: z.coerce.number().int().min(0).max(19).default(10),
  BODY_LIMIT_BYTES: positiveInt(64 * 1024),
  RESERVATION_TTL_SECONDS: positiveInt(600),
  DRAFT_TTL_SECONDS: positiveInt(24 * 60 * 60),
  EXPIRY_SWEEP_INTERVAL_MS: positiveInt(1000),
  EXPIRY_SWEEP_BATCH: positiveInt(200),
  WORKER_BATCH_SIZE: positiveInt(500),
  WORKER_BLOCK_MS: positiveInt(1000),
  /** After a batch smaller than WORKER_BATCH_SIZE, wait this long so the next one is bigger. */
  WORKER_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(50),
  WORKER_CLAIM_IDLE_MS: positiveInt(30_000),
  /**
   * How long a worker's lease on a partition's lane lasts (renewed every third
   * of it): the write-behind workers share the partitions, one writer each,
   * and a stopped worker's lanes are taken over within about this long.
   */
  WORKER_LEASE_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  MAX_BACKLOG: positiveInt(1_000_000),
  MAX_DRAFTS: positiveInt(500_000),
  DEAD_LETTER_MAX: positiveInt(10_000),
  FINISHED_ORDER_TTL_SECONDS: positiveInt(24 * 60 * 60),
  STOCK_REPORT_INTERVAL_SECONDS: positiveInt(60),
  STOCK_WINDOW_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  STOCK_CHECK_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  /**
   * How long a product may be `pending` in the stock check: once the oldest
   * event not yet in Postgres is older than this, it is `drift`, with the reason.
   */
  STOCK_PENDING_LIMIT_MS: z.coerce.number().int().min(1).max(3_600_000).default(60_000),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  /** Customer tokens: HS256 with this secret switches them on. */
  CUSTOMER_JWT_SECRET: z.string().min(32, 'must be at least 32 characters long').optional(),
  /** Or (also) a PEM public key (SPKI) for RS256 or ES256 tokens. */
  CUSTOMER_JWT_PUBLIC_KEY: z
    .string()
    .regex(/-----BEGIN PUBLIC KEY-----/, 'must be a PEM public key (SPKI)')
    .optional(),
  CUSTOMER_JWT_ISSUER: z.string().min(1).optional(),
  CUSTOMER_JWT_AUDIENCE: z.string().min(1).optional(),
  /** Per-customer token bucket on storefront calls. */
  RATE_LIMIT_PER_SECOND: positiveInt(10),
  RATE_LIMIT_BURST: positiveInt(30),
  /** Per-IP token bucket on storefront calls; 0 (the default) turns it off. */
  IP_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(0),
  IP_RATE_LIMIT_BURST: positiveInt(100),
  /** Honour X-Forwarded-For (only behind a proxy that sets it). */
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  MAX_OPEN_ORDERS: positiveInt(5),
  /** A read-only token for the dashboard; it can see, never change anything. */
  VIEWER_TOKEN: z.string().min(16, 'must be at least 16 characters long').optional(),
  /** How long a dashboard sign-in lasts. */
  DASHBOARD_SESSION_SECONDS: positiveInt(8 * 60 * 60),
  /** How long a process serves GET /products from its copy of the catalogue; 0 reads Redis every time. */
  CATALOGUE_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** How long a process refuses a product a script found sold out, without asking Redis; 0 turns it off. */
  SOLD_OUT_HINT_MS: z.coerce.number().int().min(0).max(10_000).default(1000),
})

export type Config = z.infer<typeof ConfigSchema>

/** Sentinel needs both its addresses and the master's name; a cluster is neither. */
function sentinelComplete(env: Config): string | null {
  if (env.REDIS_CLUSTER_NODES && env.REDIS_SENTINELS) {
    return 'Environment variable REDIS_CLUSTER_NODES is invalid: a cluster fails over by itself, without REDIS_SENTINELS.'
  }
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_MASTER) {
    return 'Environment variable REDIS_SENTINEL_MASTER is invalid: it is required with REDIS_SENTINELS.'
  }
  if (env.REDIS_SENTINEL_MASTER && !env.REDIS_SENTINELS) {
    return 'Environment variable REDIS_SENTINELS is invalid: it is required with REDIS_SENTINEL_MASTER.'
  }
  return null
}

export class ConfigError extends Error {}

/** Parses the environment; the error message names each bad variable in a sentence. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  )
  const result = ConfigSchema.safeParse(present)
  if (result.success) {
    const incomplete = sentinelComplete(result.data)
    if (incomplete) throw new ConfigError(incomplete)
    return result.data
  }
  const sentences = result.error.issues.map(
    (issue) => `Environment variable ${issue.path.join('.')} is invalid: ${issue.message}.`,
  )
  throw new ConfigError(sentences.join(' '))
}
