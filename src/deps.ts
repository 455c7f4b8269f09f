import type { Config } from './config.js'
import type { Sql } from './db/client.js'
import type { Viewer } from './http/customers.js'
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

export type AppEnv = {
  Variables: {
    requestId: string
    /** Who is calling, once auth has run: `admin`, or (with customer tokens) `customer:<sub>`. */
    caller?: string
    /** Who a storefront request acts for, once storefront auth has run. */
    viewer?: Viewer
    /**
     * With an Idempotency-Key: the id of what this request creates (an order, a
     * payment, a ledger row), the same for every retry with that key.
     */
    operationId?: string
  }
}
