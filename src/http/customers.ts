import { createPublicKey, type KeyObject, type webcrypto } from 'node:crypto'
import { z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { errors as joseErrors, jwtVerify } from 'jose'
import type { Config } from '../config.js'
import { bearerToken } from './caller.js'
import type { AppEnv } from './env.js'
import { ApiError } from './errors.js'
import { ANONYMOUS, type Viewer } from './viewer.js'

export { ANONYMOUS, type Viewer } from './viewer.js'

const CONTROLS = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu
export const MAX_CUSTOMER_ID = 128

/**
 * The one spelling of an anonymous customer (a body `customer_id`): Unicode
 * NFKC (so `ａｌｉｃｅ` is `alice`), without default-ignorable characters
 * (zero-width spaces and joiners), trimmed, and case-folded. Limits count per
 * normalised customer. A verified token's `sub` is never normalised: identity
 * providers' subjects are case-sensitive opaque strings.
 */
export function customerKey(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(IGNORABLE, '')
    .trim()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
}

const MAX_ID = `must be at most ${MAX_CUSTOMER_ID} characters`
/** Characters as Postgres counts them (code points, not UTF-16 units). */
const chars = (s: string) => [...s].length

/**
 * A body `customer_id`, as sent: no control characters, and a normalised form
 * (see customerKey) of 1 to MAX_CUSTOMER_ID characters. Anonymous orders count
 * under the normalised form; with customer tokens it must equal the subject exactly.
 */
export const CustomerIdSchema = z
  .string()
  .refine((s) => chars(s) <= MAX_CUSTOMER_ID, MAX_ID)
  .refine((s) => !CONTROLS.test(s), 'must not contain control characters')
  .refine((s) => customerKey(s).length > 0, 'must not be empty')
  .refine((s) => chars(customerKey(s)) <= MAX_CUSTOMER_ID, MAX_ID)

/** A verified token's `sub`, used exactly as issued: 1 to MAX_CUSTOMER_ID characters, no controls. */
const SubjectSchema = z
  .string()
  .min(1)
  .refine((s) => chars(s) <= MAX_CUSTOMER_ID && !CONTROLS.test(s))

interface VerificationKey {
  key: Promise<webcrypto.CryptoKey> | KeyObject
  algorithms: string[]
}

/**
 * Verifies customer tokens when CUSTOMER_JWT_SECRET (HS256) or
 * CUSTOMER_JWT_PUBLIC_KEY (RS256 or ES256) is set; null in anonymous mode.
 * A token needs `sub` and `exp`, and the configured issuer and audience.
 */
export function customerVerifier(config: Config) {
  const keys: VerificationKey[] = []
  if (config.CUSTOMER_JWT_SECRET) {
    // Imported once: jose imports a raw secret again on every verify, a third of its cost
    // (72 -> 46 us of CPU per token, measured; docs/performance.md).
    const key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(config.CUSTOMER_JWT_SECRET),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    )
    keys.push({ key, algorithms: ['HS256'] })
  }
  if (config.CUSTOMER_JWT_PUBLIC_KEY) {
    const key = createPublicKey(config.CUSTOMER_JWT_PUBLIC_KEY)
    keys.push({ key, algorithms: key.asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'] })
  }
  if (keys.length === 0) return null
  const options = {
    requiredClaims: ['sub', 'exp'],
    ...(config.CUSTOMER_JWT_ISSUER ? { issuer: config.CUSTOMER_JWT_ISSUER } : {}),
    ...(config.CUSTOMER_JWT_AUDIENCE ? { audience: config.CUSTOMER_JWT_AUDIENCE } : {}),
  }
  /** The customer a token names, or null if it is not valid. */
  return async (token: string): Promise<string | null> => {
    for (const { key, algorithms } of keys) {
      try {
        const { payload } = await jwtVerify(token, await key, { ...options, algorithms })
        const parsed = SubjectSchema.safeParse(payload.sub)
        return parsed.success ? parsed.data : null
      } catch (err) {
        if (!(err instanceof joseErrors.JOSEError)) throw err
      }
    }
    return null
  }
}

export type CustomerVerifier = NonNullable<ReturnType<typeof customerVerifier>>

/**
 * Storefront routes: with customer tokens on, the caller must send the admin
 * token or a valid customer token (else 401), and acts for the token's `sub`.
 * In anonymous mode anyone may call, and the body's customer_id is trusted.
 */
export function storefrontAuth(verify: CustomerVerifier | null) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (c.get('caller') === 'admin') {
      c.set('viewer', { kind: 'admin' })
      return next()
    }
    if (!verify) {
      c.set('viewer', ANONYMOUS)
      return next()
    }
    const token = bearerToken(c.req.header('authorization'))
    const customer = token ? await verify(token) : null
    if (!customer) {
      throw new ApiError(
        'UNAUTHORIZED',
        token
          ? 'The customer token is not valid (signature, expiry, issuer or audience).'
          : 'This route needs a customer token: send Authorization: Bearer <token>.',
      )
    }
    c.set('viewer', { kind: 'customer', id: customer })
    c.set('caller', `customer:${customer}`)
    await next()
  })
}

export const CUSTOMER_SECURITY: Record<string, string[]>[] = [
  { customerToken: [] },
  { adminToken: [] },
]

/** The viewer storefront auth set (anonymous when no auth ran). */
export function viewerOf(c: { get: (key: 'viewer') => Viewer | undefined }): Viewer {
  return c.get('viewer') ?? ANONYMOUS
}
