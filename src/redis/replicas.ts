import type { Redis } from 'ioredis'
import { perClient } from '../perClient.js'

/**
 * Acknowledging only what replicas hold. Redis replicates asynchronously, so a
 * failover can forget writes the primary already answered. With N replicas
 * required, a change is answered only once `WAIT N timeout` confirms them.
 *
 * One WAIT per connection at a time covers every reply received before it:
 * commands on one connection run in order, so a WAIT still in flight when a
 * script's reply arrives was sent after that script and covers it. A caller
 * joins the WAIT in flight, or sends the next one.
 */
export interface ReplicaAcks {
  replicas: number
  timeoutMs: number
}

/** Fewer replicas than required confirmed a write in time: it may be lost on a failover. */
export class ReplicaAckError extends Error {
  constructor(
    readonly confirmed: number,
    readonly required: number,
  ) {
    super(`${confirmed} of ${required} replicas confirmed the write in time`)
  }
}

const stateOf = perClient(() => ({
  acks: undefined as ReplicaAcks | undefined,
  inFlight: undefined as Promise<number> | undefined,
}))

/** Sets how many replicas must confirm this client's writes (createRedis does). */
export function requireReplicaAcks(redis: Redis, acks: ReplicaAcks) {
  stateOf(redis).acks = acks.replicas > 0 ? acks : undefined
}

/** True if this client's changes need replicas' confirmation (a cheap check for the hot path). */
export function acksRequired(redis: Redis): boolean {
  return stateOf(redis).acks !== undefined
}

/**
 * Resolves once the required replicas hold every write this connection has
 * had answered so far; throws ReplicaAckError if they do not within the
 * timeout. `key`: a key the writes touched (in a cluster, the WAIT goes to
 * the node and connection that holds it).
 */
export async function replicated(redis: Redis, _key?: string): Promise<void> {
  const state = stateOf(redis)
  const acks = state.acks
  if (!acks) return
  if (!state.inFlight) {
    const sent = redis.wait(acks.replicas, acks.timeoutMs)
    state.inFlight = sent
    const settle = () => {
      if (state.inFlight === sent) state.inFlight = undefined
    }
    void sent.then(settle, settle)
  }
  const confirmed = await state.inFlight
  if (confirmed < acks.replicas) throw new ReplicaAckError(confirmed, acks.replicas)
}
