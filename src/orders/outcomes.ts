import { ApiError } from '../http/errors.js'
import type { ScriptReply } from '../redis/scripts.js'

/** Maps a Lua script's failure reply to the one API error type. */
export function scriptFailure(reply: ScriptReply, subject: string): ApiError {
  const [code, a, b, c] = reply
  switch (code) {
    case 'NOT_FOUND':
      return a === undefined
        ? new ApiError('NOT_FOUND', `${subject} does not exist.`)
        : new ApiError('NOT_FOUND', `Product ${a} does not exist.`, { product_id: Number(a) })
    case 'OUT_OF_STOCK':
      return new ApiError('OUT_OF_STOCK', `Product ${a} is out of stock: ${b} units left.`, {
        product_id: Number(a),
        available: Number(b),
      })
    case 'CUSTOMER_REQUIRED':
      return new ApiError(
        'CUSTOMER_ID_REQUIRED',
        `Product ${a} limits units per customer, so the order needs a customer_id.`,
        { product_id: Number(a) },
      )
    case 'LIMIT_EXCEEDED':
      return new ApiError(
        'LIMIT_EXCEEDED',
        `Product ${a} allows ${b} units per customer; this customer already holds ${c}.`,
        { product_id: Number(a), max_per_customer: Number(b), held: Number(c) },
      )
    case 'INVALID_STATE':
      return new ApiError('INVALID_STATE', `${subject} is ${a}; that change is not allowed.`, {
        status: a,
      })
    case 'EXPIRED':
      return new ApiError(
        'RESERVATION_EXPIRED',
        `${subject}'s reservation has expired; its stock was released.`,
        {
          status: 'expired',
        },
      )
    case 'BACKLOG_FULL':
      return new ApiError(
        'SERVICE_UNAVAILABLE',
        'Checkouts are paused while the store catches up on saving orders; try again shortly.',
        { backlog: Number(a) },
      )
    default:
      return new ApiError(
        'INTERNAL_ERROR',
        'Something went wrong on our side. Please try again.',
        undefined,
      )
  }
}
