import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import type { Deps } from '../deps.js'
import { type LaneOptions, streamLane } from './lane.js'
import { laneLeaseScript, leaveWorkers, liveWorkers } from './leases.js'

export { CONSUMER_GROUP, entriesAddedOf } from './lane.js'

export interface WriteBehindOptions {
  consumer?: string
  batchSize?: number
  blockMs?: number
  claimIdleMs?: number
  lingerMs?: number
  leaseMs?: number
  /**
   * With `false`, every lane runs here whatever other workers do: several
   * writers per partition at once, which is what a worker that lost its lease
   * mid-batch amounts to (tests hold the sink to it). Default `true`.
   */
  exclusive?: boolean
}

/**
 * The write-behind worker: a runner that owns one lane per event stream
 * (src/worker/lane.ts), one per partition, and runs each in a loop of its own.
 *
 * Workers share the lanes: each announces itself (`keys.workers`) and runs
 * the lanes whose lease it holds (lua/laneLease.lua), up to its share,
 * ⌈partitions / live workers⌉, renewing them every third of WORKER_LEASE_MS.
 * A worker over its share gives lanes up, one under it takes free ones, and
 * a stopped or crashed worker's lanes are free once its leases run out. So
 * each partition has one writer at a time, and every partition has one as
 * long as any worker runs. A lane that finds another worker's events left
 * pending takes them over once they are a lease old.
 */
export function writeBehindWorker(deps: Deps, options: WriteBehindOptions = {}) {
  const { keys, config, logger } = deps
  const consumer = options.consumer ?? `${hostname()}-${process.pid}`
  const leaseMs = options.leaseMs ?? config.WORKER_LEASE_MS
  const exclusive = options.exclusive ?? true
  const claimIdleMs = options.claimIdleMs ?? config.WORKER_CLAIM_IDLE_MS
  const settings: LaneOptions = {
    consumer,
    batchSize: options.batchSize ?? config.WORKER_BATCH_SIZE,
    blockMs: options.blockMs ?? config.WORKER_BLOCK_MS,
    claimIdleMs: exclusive ? Math.min(claimIdleMs, leaseMs) : claimIdleMs,
    lingerMs: options.lingerMs ?? config.WORKER_LINGER_MS,
  }
  const lanes = keys.allPartitions.map((part) =>
    streamLane(
      deps,
      { partition: part.index, events: part.events, marker: part.hydrated },
      settings,
    ),
  )
  const log = logger.child({ job: 'write-behind', consumer })
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0)
  /** The partitions whose lanes run here. */
  const running = new Set<number>()
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let round: Promise<void> = Promise.resolve()

  async function startLane(partition: number) {
    running.add(partition)
    await lanes[partition]?.start()
  }
  async function stopLane(partition: number) {
    running.delete(partition)
    await lanes[partition]?.stop()
  }

  /**
   * One round of sharing: renew the leases held (giving up any over the
   * share), then take free lanes up to the share, starting at a place of
   * this worker's own so that workers starting together rarely collide.
   */
  async function shareLanes() {
    const share = Math.ceil(keys.partitions / (await liveWorkers(deps, consumer, leaseMs)))
    const held = [...running].sort((a, b) => a - b)
    const renewed = await Promise.allSettled(
      held.map(async (partition, i) => {
        const action = i < share ? 'take' : 'release'
        const reply = await laneLeaseScript(deps, partition, consumer, action, leaseMs)
        if (action === 'release' || reply.code !== 'OK') {
          log.info({ partition, action, reply: reply.code }, 'write-behind lane handed on')
          await stopLane(partition)
        }
      }),
    )
    // A lease that could not be renewed (its Redis is away) keeps its lane: it writes nothing
    // until its Redis is back, and another writer meanwhile is harmless (writes are idempotent).
    const failed = renewed.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
    const start = offsetOf(consumer, keys.partitions)
    for (let i = 0; i < keys.partitions && running.size < share && !stopped; i++) {
      const partition = (start + i) % keys.partitions
      if (running.has(partition)) continue
      try {
        const reply = await laneLeaseScript(deps, partition, consumer, 'take', leaseMs)
        if (reply.code === 'OK' && !stopped) await startLane(partition)
      } catch (err) {
        failed.push(err)
      }
    }
    if (failed.length > 0) {
      const err = failed[0]
      log.warn(
        { failed: failed.length, err: err instanceof Error ? err.message : String(err) },
        'some write-behind lanes could not be leased; retrying next round',
      )
    }
  }

  function scheduleRound(delayMs: number) {
    timer = setTimeout(() => {
      round = shareLanes()
        .catch((err) =>
          log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'write-behind lanes could not be shared; retrying next round',
          ),
        )
        .finally(() => {
          if (!stopped) scheduleRound(Math.max(50, Math.floor(leaseMs / 3)))
        })
    }, delayMs)
  }

  return {
    consumer,
    /** The partitions whose lanes run in this worker now. */
    lanes: () => [...running].sort((a, b) => a - b),
    /** One pass of every lane; how many events were written. */
    drainOnce: async () => sum(await Promise.all(lanes.map((lane) => lane.drainOnce()))),
    /** Every lane until its stream is empty (tests and the drain benchmark). */
    drain: async () => sum(await Promise.all(lanes.map((lane) => lane.drain()))),
    async start() {
      stopped = false
      if (exclusive) {
        scheduleRound(0)
      } else {
        for (const part of keys.allPartitions) await startLane(part.index)
      }
      log.info({ lanes: lanes.length, exclusive }, 'write-behind worker started')
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await round
      const held = [...running]
      await Promise.all(held.map((partition) => stopLane(partition)))
      if (exclusive) {
        // Hand the lanes on at once rather than after the leases run out.
        await Promise.allSettled([
          ...held.map((p) => laneLeaseScript(deps, p, consumer, 'release', leaseMs)),
          leaveWorkers(deps, consumer),
        ])
      }
      log.info('write-behind worker stopped')
    },
  }
}

/** Where a worker starts looking for free lanes: a spot of its own, from its name. */
function offsetOf(consumer: string, partitions: number) {
  return createHash('sha1').update(consumer).digest().readUInt32BE(0) % partitions
}
