import type { Deps } from '../deps.js'
import { CUSTOMER_SECURITY, customerVerifier, storefrontAuth } from './customers.js'
import { rateLimits } from './rateLimit.js'

/**
 * The middleware of every storefront route, in order: who the caller is
 * (customer token, admin token, or anonymous), then the fair-use limits.
 */
export function storefront(deps: Deps) {
  const verify = customerVerifier(deps.config)
  return {
    middleware: [storefrontAuth(verify), rateLimits(deps)],
    security: verify ? CUSTOMER_SECURITY : undefined,
    /** Statuses every storefront route may answer besides its own. */
    statuses: verify ? ([401, 429] as const) : ([429] as const),
  }
}
