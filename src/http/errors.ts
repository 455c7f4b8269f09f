import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from '../logger.js'
import { ReplicaAckError } from '../redis/replicas.js'
import { responseStatus, StatusSchema } from './envelope.js'

/** Every error code the API returns, with its HTTP status. One list, one place. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  OUT_OF_STOCK: 409,
  LIMIT_EXCEEDED: 409,
  INVALID_STATE: 409,
  RESERVATION_EXPIRED: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  BACKLOG_NOT_EMPTY: 409,
  STOCK_LIMIT: 409,
  SALE_NOT_STARTED: 409,
  SALE_ENDED: 409,
  PRODUCT_INACTIVE: 409,
  TOO_MANY_OPEN_ORDERS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  CUSTOMER_ID_REQUIRED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof ERROR_STATUS

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly details: unknown
  /** Seconds, sent as `Retry-After` (503s the client should simply retry). */
  readonly retryAfter: number | undefined

  constructor(code: ErrorCode, message: string, details?: unknown, retryAfter?: number) {
    // An API error is an answer, not a bug: no stack trace to capture (a stampede of
    // refusals, such as a sold-out product, would pay for one per request).
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = limit
    this.code = code
    this.details = details
    this.retryAfter = retryAfter
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code]
  }
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.unknown().optional(),
      request_id: z.string().optional().openapi({
        description: 'The X-Request-Id of the request: quote it when reporting a 5xx.',
      }),
    }),
    status: StatusSchema,
  })
  .openapi('Error')

/** Our error object, and the original shop's `status` beside it (its clients read `status.code`). */
export function errorBody(code: ErrorCode, message: string, details?: unknown, requestId?: string) {
  return {
    error: {
      code,
      message,
      ...(details === undefined ? {} : { details }),
      ...(requestId === undefined ? {} : { request_id: requestId }),
    },
    status: responseStatus(ERROR_STATUS[code]),
  }
}

export function errorResponse(c: Context, err: ApiError) {
  const requestId = c.get('requestId') as string | undefined
  if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter))
  return c.json(errorBody(err.code, err.message, err.details, requestId), err.status)
}

/** OpenAPI response entries for the errors a route can return. */
export function errorResponses(...statuses: ContentfulStatusCode[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: describeStatus(status),
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
  )
}

function describeStatus(status: number): string {
  const codes = Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code)
  return `Error: ${codes.join(', ')}`
}

const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
}

/**
 * Turns anything thrown in a handler into the one error shape; internals never
 * leak. Every 5xx is logged with its request id, which the error body carries too.
 */
export function toApiError(err: unknown, logger: Logger, requestId?: string): ApiError {
  if (err instanceof ApiError) {
    if (err.status >= 500) {
      logger.warn({ request_id: requestId, code: err.code, details: err.details }, err.message)
    }
    return err
  }
  if (err instanceof HTTPException) {
    if (err.status === 400 && /malformed json/i.test(err.message)) {
      return new ApiError('MALFORMED_JSON', 'The request body is not valid JSON.')
    }
    if (err.status === 413) {
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than the limit.')
    }
    if (err.status === 415) {
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.')
    }
    const code = HTTP_EXCEPTION_CODES[err.status]
    if (code) return new ApiError(code, err.message || 'The request was refused.')
  }
  if (err instanceof ReplicaAckError) {
    logger.warn({ err: err.message, request_id: requestId }, 'replicas did not confirm a change')
    return new ApiError(
      'SERVICE_UNAVAILABLE',
      'The store could not confirm the change on its replicas in time. Retry the same request: it is safe, and converges.',
      { reason: 'replication', confirmed: err.confirmed, required: err.required },
      1,
    )
  }
  const unreachable = unreachableStore(err)
  if (unreachable) {
    logger.warn(
      { err: (err as Error).message, request_id: requestId },
      `${unreachable} is unreachable`,
    )
    return new ApiError(
      'SERVICE_UNAVAILABLE',
      unreachable === 'redis'
        ? 'The store cannot reach its live stock right now. Try again shortly (an Idempotency-Key makes the retry safe).'
        : 'The store cannot reach its database right now. Try again shortly.',
      { reason: unreachable },
      1,
    )
  }
  logger.error({ err, request_id: requestId }, 'unhandled error')
  return new ApiError('INTERNAL_ERROR', 'Something went wrong on our side. Please try again.')
}

/** postgres.js's own codes for a connection it lost or could not make. */
const POSTGRES_CONNECTION_CODES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

/**
 * Which store a failure says is out of reach: ioredis gave up on a command
 * (Redis does not answer; the command may or may not have run), or postgres.js
 * could not connect or lost its connection. API processes talk to Redis with
 * no offline queue, so a socket error (`syscall`) reaches a request only from
 * postgres.js.
 */
function unreachableStore(err: unknown): 'redis' | 'postgres' | null {
  if (!(err instanceof Error)) return null
  if (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|Command timed out/.test(err.message)
  ) {
    return 'redis'
  }
  const { code, syscall } = err as { code?: unknown; syscall?: unknown }
  if (typeof code === 'string' && POSTGRES_CONNECTION_CODES.has(code)) return 'postgres'
  if (typeof syscall === 'string') return 'postgres'
  return null
}

/** zod issues as `details`: one entry per field, with its dotted path. */
export function validationError(issues: readonly z.core.$ZodIssue[]): ApiError {
  const details = issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }))
  const fields = [...new Set(details.map((d) => d.field))].join(', ')
  return new ApiError('VALIDATION_FAILED', `The request is invalid: check ${fields}.`, details)
}
