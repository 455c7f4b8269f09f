import { Cluster } from 'ioredis'
import type { Deps } from '../deps.js'
import { FINAL_STATUSES } from '../orders/stateMachine.js'
import { errorLogger, patientDuplicate, type Redis } from '../redis/client.js'
import { ReplicaAckError, waitForReplicas } from '../redis/replicas.js'
import { storeDeadLetter } from './deadLetters.js'
import { PoisonEventError, parseEvent, type StoreEvent } from './events.js'
import { applyEvents, FencedError, StreamBehindError, stopStream } from './sink.js'

export const CONSUMER_GROUP = 'postgres-writers'
/** How long a polling lane waits after finding its stream empty (a cluster's lanes poll). */
const IDLE_POLL_MS = 20

type RawEntry = [id: string, fields: string[]]
/** Entries read together, and the stream's entries-added count when they were read. */
interface Batch {
  entries: RawEntry[]
  entriesAdded?: number
}

/** The partition a lane reads: its events stream, and its readiness marker. */
export interface LaneStream {
  partition: number
  /** The events stream. */
  events: string
  /** The readiness marker: the epoch of the Redis these events come from. */
  marker: string
}

export interface LaneOptions {
  consumer: string
  batchSize: number
  blockMs: number
  claimIdleMs: number
  lingerMs: number
}

/**
 * One lane of the write-behind: it reads one stream of the events the Lua
 * scripts append and applies them to Postgres. Each batch is one transaction;
 * entries are acknowledged (and trimmed from the stream) only after it
 * commits. Entries of crashed consumers are claimed with XAUTOCLAIM. A poison
 * event goes to the dead-letter stream with its error and never blocks the
 * rest. The runner (src/worker/writeBehind.ts) owns the lanes and their loops.
 */
export function streamLane(deps: Deps, stream: LaneStream, options: LaneOptions) {
  const { redis, sql, keys, logger, config } = deps
  const { consumer, batchSize, blockMs, claimIdleMs, lingerMs } = options
  const log = logger.child({ job: 'write-behind', consumer, stream: stream.events })
  let reader: Redis | undefined
  let running = false
  let loop: Promise<void> | undefined

  async function ensureGroup() {
    try {
      await redis.xgroup('CREATE', stream.events, CONSUMER_GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err
    }
  }

  /**
   * Acknowledges committed events, then trims the stream below the oldest event
   * not yet acknowledged. XTRIM MINID frees whole blocks of the stream, where
   * XDEL marked entries one by one (docs/performance.md). Events above another
   * consumer's unacknowledged ones (a batch in flight, or a crashed consumer's
   * until it is claimed) are deleted one by one, so the backlog stays exact.
   */
  async function acknowledge(ids: string[]) {
    if (ids.length === 0) return
    const replies = await redis
      .multi()
      .xack(stream.events, CONSUMER_GROUP, ...ids)
      .xpending(stream.events, CONSUMER_GROUP)
      .xinfo('GROUPS', stream.events)
      .exec()
    const pending = replies?.[1]?.[1] as [count: number, oldest: string | null] | undefined
    const delivered = lastDelivered(replies?.[2]?.[1])
    if (!pending || delivered === undefined) {
      throw new Error(
        `acknowledged, but cannot trim: unexpected replies ${JSON.stringify(replies)}`,
      )
    }
    const oldestPending = pending[0] > 0 ? pending[1] : null
    const threshold = trimThreshold(oldestPending, delivered)
    // With nothing pending, every id is below the threshold (just past the last delivered).
    const above = oldestPending === null ? [] : ids.filter((id) => !olderId(id, threshold))
    const cleanup = redis.multi().xtrim(stream.events, 'MINID', threshold)
    if (above.length > 0) cleanup.xdel(stream.events, ...above)
    await cleanup.exec()
  }

  /**
   * An event that can never apply is an incident: it goes to the dead-letter
   * stream with its reason, and is logged as an error. The stream is capped at
   * DEAD_LETTER_MAX; past that the event is counted as dropped and logged in
   * full, so it is never lost silently.
   */
  async function deadLetter(id: string, raw: string[], error: unknown) {
    const message = error instanceof Error ? error.message : String(error)
    const stored = await storeDeadLetter(deps, id, raw, message, stream.partition)
    if (stored) {
      log.error(
        { event_id: id, err: message },
        'event moved to the dead-letter stream: it is not in Postgres until replayed',
      )
    } else {
      log.fatal(
        { event_id: id, err: message, event: raw },
        'dead-letter stream is full: event dropped (counted in store_dead_letters_dropped)',
      )
    }
    await acknowledge([id])
  }

  /** Orders in a final state are in Postgres now: let Redis forget them after a while. */
  async function expireFinished(events: StoreEvent[]) {
    const ttlMs = config.FINISHED_ORDER_TTL_SECONDS * 1000
    const pipeline = redis.pipeline()
    for (const { order, payment } of events) {
      if (!order || !FINAL_STATUSES.has(order.status)) continue
      pipeline.pexpire(keys.order(order.id), ttlMs)
      if (payment) pipeline.pexpire(keys.payment(payment.id), ttlMs)
    }
    if (pipeline.length > 0) await pipeline.exec()
  }

  /**
   * Applies entries read from the Redis of `epoch`; returns how many were
   * written. Throws on transient failures (a fenced batch is one: nothing is
   * acknowledged, and the next pass reads the stream again).
   */
  async function apply({ entries, entriesAdded }: Batch, epoch: number): Promise<number> {
    const parsed: { event: StoreEvent; raw: RawEntry }[] = []
    for (const raw of entries) {
      try {
        parsed.push({ event: parseEvent(raw[0], raw[1]), raw })
      } catch (err) {
        await deadLetter(raw[0], raw[1], err)
      }
    }
    if (parsed.length === 0) return 0
    try {
      await applyEvents(
        sql,
        parsed.map((p) => p.event),
        epoch,
        entriesAdded,
        stream.partition,
      )
      await acknowledge(parsed.map((p) => p.raw[0]))
      await expireFinished(parsed.map((p) => p.event))
      return parsed.length
    } catch (err) {
      if (!isPermanent(err)) throw err
    }
    // One event in the batch can never apply: find it by applying them one by one.
    let written = 0
    for (const { event, raw } of parsed) {
      try {
        await applyEvents(sql, [event], epoch, entriesAdded, stream.partition)
        await acknowledge([raw[0]])
        await expireFinished([event])
        written += 1
      } catch (err) {
        if (!isPermanent(err)) throw err
        await deadLetter(raw[0], raw[1], err)
      }
    }
    return written
  }

  async function read(from: '>' | '0'): Promise<Batch> {
    const conn = from === '>' ? (reader ?? redis) : redis
    // Blocking only on a connection of the lane's own: in a cluster, reads poll (see start).
    const block = from === '>' && running && reader ? ['BLOCK', blockMs] : []
    const args = [
      'GROUP',
      CONSUMER_GROUP,
      consumer,
      'COUNT',
      batchSize,
      ...block,
      'STREAMS',
      stream.events,
      from,
    ]
    return positioned(conn, streamEntries(await conn.call('XREADGROUP', ...args)))
  }

  /**
   * Where the entries sit in the stream's history: its entries-added count,
   * read after them on the same connection (Postgres keeps the highest it has
   * seen, and a lower one means the stream went backwards). With
   * REDIS_REPLICA_ACKS, entries are written to Postgres only once the replicas
   * hold them: a WAIT after that read covers every write before it. Else a
   * failover could forget events Postgres already holds.
   */
  async function positioned(conn: Redis, entries: RawEntry[]): Promise<Batch> {
    if (entries.length === 0) return { entries }
    const entriesAdded = entriesAddedOf(await conn.call('XINFO', 'STREAM', stream.events))
    const replicas = config.REDIS_REPLICA_ACKS
    if (replicas > 0) {
      const acks = await waitForReplicas(
        conn,
        stream.events,
        replicas,
        config.REDIS_REPLICA_ACK_TIMEOUT_MS,
      )
      if (acks < replicas) throw new ReplicaAckError(acks, replicas)
    }
    return { entries, entriesAdded }
  }

  async function claim(): Promise<Batch> {
    const reply = (await redis.xautoclaim(
      stream.events,
      CONSUMER_GROUP,
      consumer,
      claimIdleMs,
      '0-0',
      'COUNT',
      batchSize,
    )) as [string, RawEntry[], string[]]
    const deleted = reply[2] ?? []
    if (deleted.length > 0) await acknowledge(deleted)
    return positioned(
      redis,
      reply[1].filter((entry) => entry[1] !== null),
    )
  }

  /**
   * One pass: own pending entries, then crashed consumers' entries, then new
   * ones. The readiness marker is read first: the epoch of the Redis these
   * entries come from (none while it is being rebuilt: nothing to write).
   */
  async function drainOnce(): Promise<number> {
    const marker = await redis.get(stream.marker)
    if (marker === null) {
      await sleep(100) // Redis is being rebuilt: nothing there to write yet
      return 0
    }
    const epoch = Number(marker)
    try {
      return await drainEpoch(epoch)
    } catch (err) {
      if (err instanceof StreamBehindError) {
        await stopStream(sql, epoch, err.redisEntries, stream.partition)
      }
      throw err
    }
  }

  async function drainEpoch(epoch: number): Promise<number> {
    const pending = await read('0')
    if (pending.entries.length > 0) return apply(pending, epoch)
    const claimed = await claim()
    if (claimed.entries.length > 0) return apply(claimed, epoch)
    return apply(await read('>'), epoch)
  }

  /** Runs passes until the stream is empty (tests and the drain benchmark). */
  async function drain(): Promise<number> {
    await ensureGroup()
    let total = 0
    for (;;) {
      const written = await drainOnce()
      total += written
      if (written === 0 && (await redis.xlen(stream.events)) === 0) return total
      if (written === 0) await sleep(10)
    }
  }

  async function run() {
    let backoffMs = 100
    while (running) {
      try {
        const written = await drainOnce()
        // A partial batch: let events gather, so Postgres commits fewer, larger batches.
        if (lingerMs > 0 && written > 0 && written < batchSize) await sleep(lingerMs)
        else if (written === 0 && !reader) await sleep(IDLE_POLL_MS)
        backoffMs = 100
      } catch (err) {
        if (!running) break
        if (err instanceof StreamBehindError) {
          // Nothing is guessed: the stream stays stopped until a rebuild (docs/operations.md).
          log.error({ err: err.message }, 'write-behind stopped: the event stream went backwards')
          await sleep(5_000)
          continue
        }
        if (err instanceof FencedError) {
          log.warn({ err: err.message }, 'write-behind batch fenced off by a rebuild')
          await sleep(100)
          continue
        }
        // Redis lost its data (and the group with it): make the group again.
        if (err instanceof Error && err.message.includes('NOGROUP'))
          await ensureGroup().catch(() => {})
        log.warn(
          { err: err instanceof Error ? err.message : String(err), retry_in_ms: backoffMs },
          'write-behind batch failed; will retry',
        )
        await sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, 5_000)
      }
    }
  }

  return {
    consumer,
    drain,
    drainOnce,
    async start() {
      await ensureGroup()
      // One Redis: a blocking reader of the lane's own. A cluster: the lanes poll,
      // pipelined per node, rather than hold a connection per lane to every node.
      if (!(redis instanceof Cluster)) {
        reader = patientDuplicate(redis)
        reader.on('error', errorLogger(log, 'stream reader'))
      }
      running = true
      loop = run()
    },
    async stop() {
      running = false
      reader?.disconnect()
      await loop?.catch(() => {})
      reader = undefined
    },
  }
}

/**
 * Data and constraint errors (SQLSTATE 22, 23) can never succeed for that event.
 * Anything else (connections, deadlocks, a bad deploy) is retried, never dead-lettered.
 */
function isPermanent(err: unknown): boolean {
  if (err instanceof PoisonEventError || err instanceof SyntaxError) return true
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && /^(22|23)/.test(code)
}

/**
 * XREADGROUP's reply for one stream: RESP2 gives [[name, entries]], RESP3 a map
 * that ioredis flattens to [name, entries]. Deleted entries come back with null fields.
 */
function streamEntries(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return []
  const entries = (typeof reply[0] === 'string' ? reply[1] : reply[0]?.[1]) as
    | RawEntry[]
    | undefined
  return (entries ?? []).filter((entry) => entry[1] !== null)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The XTRIM MINID threshold once events are acknowledged: the oldest entry still
 * pending, or just past the last entry delivered when none is. The group
 * delivers in id order, so every entry below it was read and acknowledged;
 * entries delivered later have newer ids, so a trim after this read is safe.
 */
function trimThreshold(oldestPending: string | null, lastDeliveredId: string): string {
  if (oldestPending !== null) return oldestPending
  const dash = lastDeliveredId.indexOf('-')
  // Ids come from XADD '*': both parts fit in a double.
  return `${lastDeliveredId.slice(0, dash)}-${Number(lastDeliveredId.slice(dash + 1)) + 1}`
}

/** True when stream id `a` is older than `b` (ids from XADD '*': both parts fit in a double). */
function olderId(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number]
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number]
  return aMs < bMs || (aMs === bMs && aSeq < bSeq)
}

/** `entries-added` from XINFO STREAM (RESP2 flat pairs or a RESP3 map). */
export function entriesAddedOf(info: unknown): number | undefined {
  if (Array.isArray(info)) {
    const at = info.indexOf('entries-added')
    return at >= 0 ? Number(info[at + 1]) : undefined
  }
  const value = (info as Record<string, unknown> | null)?.['entries-added']
  return value === undefined ? undefined : Number(value)
}

/** The group's last-delivered-id from XINFO GROUPS (RESP2 flat pairs or RESP3 maps). */
function lastDelivered(groups: unknown): string | undefined {
  if (!Array.isArray(groups)) return undefined
  for (const group of groups) {
    const info: Record<string, unknown> = Array.isArray(group)
      ? Object.fromEntries(
          Array.from({ length: group.length / 2 }, (_, i) => [group[2 * i], group[2 * i + 1]]),
        )
      : (group as Record<string, unknown>)
    if (info.name === CONSUMER_GROUP) return String(info['last-delivered-id'])
  }
  return undefined
}
