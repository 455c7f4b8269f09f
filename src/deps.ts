import type { Config } from './config.js'
import type { Sql } from './db/client.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics/metrics.js'
import type { Redis } from './redis/client.js'
import type { StoreKeys } from './redis/keys.js'

/** What the app and the background jobs need; production and tests build it the same way. */
export interface Deps {
  config: Config & { ADMIN_TOKEN: string }
  redis: Redis
  sql: Sql
  keys: StoreKeys
  logger: Logger
  metrics: Metrics
}
