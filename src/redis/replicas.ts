import { Cluster, type Redis as SingleRedis } from 'ioredis'
import { perClient } from '../perClient.js'
import { slotOf } from './slots.js'
import type { Redis } from './types.js'

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
export async function replicated(redis: Redis, key?: string): Promise<void> {
  const acks = stateOf(redis).acks
  if (!acks) return
  // One WAIT at a time per connection: in a cluster, the connection to the key's node.
  const node = nodeOf(redis, key)
  const state = stateOf(node)
  if (!state.inFlight) {
    const sent = node.wait(acks.replicas, acks.timeoutMs)
    state.inFlight = sent
    const settle = () => {
      if (state.inFlight === sent) state.inFlight = undefined
    }
    void sent.then(settle, settle)
  }
  const confirmed = await state.inFlight
  if (confirmed < acks.replicas) throw new ReplicaAckError(confirmed, acks.replicas)
}

/**
 * The connection that carried the writes to `key`: the client itself, or in
 * a cluster the connection to the master that holds the key's slot. WAIT
 * counts only the writes of its own connection, and a keyless command would
 * go to whichever node the client picks.
 */
export function nodeOf(redis: Redis, key?: string): SingleRedis {
  if (!(redis instanceof Cluster)) return redis
  if (key === undefined) throw new Error('a WAIT in a cluster needs the key it confirms')
  // ioredis keeps its slot map and its connections per node; neither is in its typings.
  const internal = redis as unknown as {
    slots: string[][]
    connectionPool: { getInstanceByKey(node: string): SingleRedis | undefined }
  }
  const master = internal.slots[slotOf(key)]?.[0]
  const node = master === undefined ? undefined : internal.connectionPool.getInstanceByKey(master)
  if (!node) throw new ReplicaAckError(0, stateOf(redis).acks?.replicas ?? 1)
  return node
}

/** WAIT on the connection that wrote `key`: how many replicas hold its writes. */
export function waitForReplicas(redis: Redis, key: string, replicas: number, timeoutMs: number) {
  return nodeOf(redis, key).wait(replicas, timeoutMs)
}
