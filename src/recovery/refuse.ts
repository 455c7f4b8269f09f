import type { Deps } from '../deps.js'
import { type Failure, failureToApiError } from '../redis/replies.js'
import { requestRebuild } from './hydrate.js'

/**
 * Throws the API error for a script's refusal. A `REBUILDING` refusal also
 * starts the rebuild from Postgres in the background (once per process), so an
 * API-only process notices a Redis that lost its data at its first request.
 */
export function refuse(deps: Deps, failure: Failure, subject: string): never {
  if (failure.code === 'REBUILDING') requestRebuild(deps)
  throw failureToApiError(failure, subject)
}
