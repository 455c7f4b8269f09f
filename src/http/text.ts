import { z } from '@hono/zod-openapi'

/**
 * Control characters (C0, DEL, C1), lone surrogates, and the bidirectional
 * overrides that make text read differently from what it holds. Postgres
 * refuses NUL outright and a lone surrogate is not text at all.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u

/**
 * The one schema for every free-text field: Unicode NFC, trimmed, 1 to `max`
 * characters (code points, as Postgres counts a varchar's length), with no
 * control characters. A value Postgres would refuse is a 422 here.
 */
export function text(max: number) {
  return z
    .string()
    .refine((s) => !FORBIDDEN.test(s), 'must not contain control characters')
    .transform((s) => s.normalize('NFC').trim())
    .pipe(z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`))
}

/** A UUID in any letter case; ids are compared lower-case everywhere. */
export function uuid() {
  return z
    .uuid()
    .transform((s) => s.toLowerCase())
    .openapi({ type: 'string', format: 'uuid', example: '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10' })
}

/** A database id: a positive integer in canonical form (no sign, leading zero or decimals). */
export const ID_PATTERN = /^[1-9][0-9]{0,14}$/

export function idParam(name: string) {
  return z
    .string()
    .regex(ID_PATTERN, 'must be a positive whole number without leading zeros')
    .transform(Number)
    .openapi({ param: { name, in: 'path' }, type: 'integer', example: 1 })
}

/** Ids in bodies: JSON integers up to 15 digits, what Postgres bigint and Lua doubles both hold exactly. */
export const MAX_ID = 999_999_999_999_999
export const bodyId = () => z.int().positive().max(MAX_ID)
