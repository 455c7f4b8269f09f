import { z } from '@hono/zod-openapi'

/**
 * The original shop's response envelope, which its clients read: every answer
 * on /api/v1 carries `data`, `meta` and `status` (`code` is the HTTP status,
 * `message_server` and `message_client` its phrase). Errors carry `status`
 * beside our `error` object (src/http/errors.ts).
 */
const PHRASES: Record<number, string> = {
  200: 'Success',
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export interface ResponseStatus {
  code: number
  message_server: string
  message_client: string
}

const statuses = new Map<number, ResponseStatus>()

/** The `status` object for an HTTP status (one frozen object per code). */
export function responseStatus(code: number): ResponseStatus {
  let status = statuses.get(code)
  if (!status) {
    const phrase = PHRASES[code] ?? 'Error'
    status = Object.freeze({ code, message_server: phrase, message_client: phrase })
    statuses.set(code, status)
  }
  return status
}

/** The original's pagination, under `meta.pagination`. */
export interface Pagination {
  current_page: number
  per_page: number
  total: number
  total_page: number
}

export type Meta = { pagination?: Pagination }

const NO_META: Meta = Object.freeze({})
const OK = responseStatus(200)

/** A 200 answer's body: the data, in the original's envelope. */
export function envelope<T, M extends Meta = Meta>(data: T, meta: M = NO_META as M) {
  return { data, meta, status: OK }
}

export const StatusSchema = z
  .object({
    code: z.int().openapi({ description: 'The HTTP status.' }),
    message_server: z.string(),
    message_client: z.string(),
  })
  .openapi('Status', { description: "The original shop's status object." })

export const PaginationMetaSchema = z
  .object({
    current_page: z.int(),
    per_page: z.int(),
    total: z.int(),
    total_page: z.int(),
  })
  .openapi('MetaPagination', { description: "The original shop's pagination." })

const EmptyMeta = z.strictObject({})

/** The OpenAPI schema of an answer: `data` in the envelope, with `meta` as given (else empty). */
export function enveloped<T extends z.ZodType>(
  data: T,
): ReturnType<typeof envelopeOf<T, typeof EmptyMeta>>
export function enveloped<T extends z.ZodType, M extends z.ZodType>(
  data: T,
  meta: M,
): ReturnType<typeof envelopeOf<T, M>>
export function enveloped(data: z.ZodType, meta: z.ZodType = EmptyMeta) {
  return envelopeOf(data, meta)
}

const envelopeOf = <T extends z.ZodType, M extends z.ZodType>(data: T, meta: M) =>
  z.object({ data, meta, status: StatusSchema })
