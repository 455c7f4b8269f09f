import type { Failure } from '../redis/replies.js'
import { ApiError } from './errors.js'

/**
 * Where a script's refusal meets HTTP: each refusal's API error, its status
 * and its words. A `REBUILDING` refusal's error carries `reason: rebuilding`,
 * which is how the app knows to start the rebuild (src/app.ts, onError).
 */
/** Seconds a client should wait before retrying while Redis is rebuilt or Postgres catches up. */
export const RETRY_AFTER_SECONDS = 1

/** Turns a script's refusal into the API error; exhaustive, so a new code cannot fall through. */
export function failureToApiError(failure: Failure, subject: string): Error {
  switch (failure.code) {
    case 'REBUILDING':
      return new ApiError(
        'SERVICE_UNAVAILABLE',
        'The store is restoring its live stock after a restart; try again in a moment.',
        { reason: 'rebuilding' },
        RETRY_AFTER_SECONDS,
      )
    case 'BACKLOG_FULL':
      return new ApiError(
        'SERVICE_UNAVAILABLE',
        'Orders are paused while the store catches up on saving orders; try again shortly.',
        { reason: 'backlog', backlog: failure.backlog },
        RETRY_AFTER_SECONDS,
      )
    case 'DRAFTS_FULL':
      return new ApiError(
        'SERVICE_UNAVAILABLE',
        'The store holds as many open draft orders as it can; try again shortly.',
        { reason: 'drafts', drafts: failure.drafts },
        RETRY_AFTER_SECONDS,
      )
    case 'NOT_FOUND':
      return failure.productId === undefined
        ? new ApiError('NOT_FOUND', `${subject} does not exist.`)
        : new ApiError('NOT_FOUND', `Product ${failure.productId} does not exist.`, {
            product_id: failure.productId,
          })
    case 'KEYS_MISMATCH':
      // The keys named from the order's lines did not match them: a bug, logged as one.
      return new Error(`${subject}: the script's line keys did not match the order's lines`)
    case 'INVALID_STATE':
      return new ApiError(
        'INVALID_STATE',
        `${subject} is ${failure.status}; that change is not allowed.`,
        {
          status: failure.status,
        },
      )
    case 'EXPIRED':
      return new ApiError(
        'RESERVATION_EXPIRED',
        `${subject}'s reservation has expired; its stock was released.`,
        { status: 'expired' },
      )
    case 'HOLDS_EXPIRED':
      return new ApiError(
        'RESERVATION_EXPIRED',
        `${subject}'s lines in other partitions were held too long without a checkout; nothing is reserved. Check out again.`,
        { status: 'draft' },
      )
    case 'OUT_OF_STOCK':
      return new ApiError(
        'OUT_OF_STOCK',
        `Product ${failure.productId} is out of stock: ${failure.available} units left.`,
        { product_id: failure.productId, available: failure.available },
      )
    case 'CUSTOMER_REQUIRED':
      return new ApiError(
        'CUSTOMER_ID_REQUIRED',
        `Product ${failure.productId} limits units per customer, so the order needs a customer_id.`,
        { product_id: failure.productId },
      )
    case 'LIMIT_EXCEEDED':
      return new ApiError(
        'LIMIT_EXCEEDED',
        `Product ${failure.productId} allows ${failure.limit} units per customer; this customer already holds ${failure.held}.`,
        { product_id: failure.productId, max_per_customer: failure.limit, held: failure.held },
      )
    case 'STOCK_LIMIT':
      return new ApiError(
        'STOCK_LIMIT',
        `${subject} would hold more than ${failure.max} units in total (it has ${failure.total}).`,
        { total: failure.total, max_total_stock: failure.max },
      )
    case 'TOO_MANY_OPEN_ORDERS':
      return new ApiError(
        'TOO_MANY_OPEN_ORDERS',
        `This customer already has ${failure.open} open orders (drafts and checkouts), the most allowed; pay or cancel one first.`,
        { open_orders: failure.open, max_open_orders: failure.max },
      )
    case 'PRODUCT_INACTIVE':
      return new ApiError(
        'PRODUCT_INACTIVE',
        `Product ${failure.productId} is no longer on sale (inactive); remove it from the order.`,
        { product_id: failure.productId },
      )
    case 'SALE_NOT_STARTED':
      return new ApiError(
        'SALE_NOT_STARTED',
        `The sale of product ${failure.productId} starts at ${new Date(failure.at).toISOString()}.`,
        { product_id: failure.productId, sale_starts_at: new Date(failure.at).toISOString() },
      )
    case 'SALE_ENDED':
      return new ApiError(
        'SALE_ENDED',
        `The sale of product ${failure.productId} ended at ${new Date(failure.at).toISOString()}.`,
        { product_id: failure.productId, sale_ends_at: new Date(failure.at).toISOString() },
      )
    case 'INVALID':
      return new ApiError('VALIDATION_FAILED', `The request is invalid: check ${failure.field}.`, [
        { field: failure.field, message: failure.reason },
      ])
    default: {
      const unreachable: never = failure
      return new Error(`unhandled script failure ${JSON.stringify(unreachable)}`)
    }
  }
}

/** The error of a `REBUILDING` refusal (Redis lost its data and is being rebuilt). */
export function isRebuildingRefusal(err: ApiError): boolean {
  return (
    err.code === 'SERVICE_UNAVAILABLE' &&
    (err.details as { reason?: unknown } | undefined)?.reason === 'rebuilding'
  )
}
