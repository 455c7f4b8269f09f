import { hostname } from 'node:os'
import type { Deps } from '../deps.js'
import { type LaneOptions, streamLane } from './lane.js'

export { CONSUMER_GROUP, entriesAddedOf } from './lane.js'

export interface WriteBehindOptions {
  consumer?: string
  batchSize?: number
  blockMs?: number
  claimIdleMs?: number
  lingerMs?: number
}

/**
 * The write-behind worker: a runner that owns one lane per event stream
 * (src/worker/lane.ts), one per partition, and runs each in a loop of its own.
 */
export function writeBehindWorker(deps: Deps, options: WriteBehindOptions = {}) {
  const { keys, config, logger } = deps
  const settings: LaneOptions = {
    consumer: options.consumer ?? `${hostname()}-${process.pid}`,
    batchSize: options.batchSize ?? config.WORKER_BATCH_SIZE,
    blockMs: options.blockMs ?? config.WORKER_BLOCK_MS,
    claimIdleMs: options.claimIdleMs ?? config.WORKER_CLAIM_IDLE_MS,
    lingerMs: options.lingerMs ?? config.WORKER_LINGER_MS,
  }
  const lanes = keys.allPartitions.map((part) =>
    streamLane(
      deps,
      { partition: part.index, events: part.events, marker: part.hydrated },
      settings,
    ),
  )
  const log = logger.child({ job: 'write-behind', consumer: settings.consumer })
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0)
  return {
    consumer: settings.consumer,
    /** One pass of every lane; how many events were written. */
    drainOnce: async () => sum(await Promise.all(lanes.map((lane) => lane.drainOnce()))),
    /** Every lane until its stream is empty (tests and the drain benchmark). */
    drain: async () => sum(await Promise.all(lanes.map((lane) => lane.drain()))),
    async start() {
      await Promise.all(lanes.map((lane) => lane.start()))
      log.info({ lanes: lanes.length }, 'write-behind worker started')
    },
    async stop() {
      await Promise.all(lanes.map((lane) => lane.stop()))
      log.info('write-behind worker stopped')
    },
  }
}
