import type { Viewer } from './viewer.js'

/** Hono's request variables: what the middleware learns about a request, for the handlers. */
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
