import type { Deps } from '../deps.js'
import { parseLines } from '../orders/records.js'
import { parseEvent } from './events.js'

type Ctx = Pick<Deps, 'redis' | 'keys' | 'config'>

/** Adds an event that cannot apply to the capped dead-letter stream; false when full (then counted). */
export async function storeDeadLetter(
  ctx: Ctx,
  eventId: string,
  raw: string[],
  error: string,
  partition = 0,
) {
  const { redis, keys, config } = ctx
  if ((await redis.xlen(keys.deadLetters)) >= config.DEAD_LETTER_MAX) {
    await redis.incr(keys.deadLettersDropped)
    return false
  }
  await redis.xadd(
    keys.deadLetters,
    '*',
    'event_id',
    eventId,
    'error',
    error,
    'failed_at',
    new Date().toISOString(),
    'partition',
    String(partition),
    ...raw,
  )
  return true
}

const META_FIELDS = new Set(['event_id', 'error', 'failed_at', 'partition'])

export interface DeadLetter {
  id: string
  event_id: string
  error: string
  failed_at: string
  /** The partition whose stream the event came from (and goes back to on replay). */
  partition: number
  type: string
  /** Products the event changes: the stock check names them, reconcile leaves them alone. */
  product_ids: number[]
  order_id?: string
  /** The original event's fields, as they were appended. */
  event: string[]
}

function toDeadLetter(id: string, flat: string[]): DeadLetter {
  const meta = new Map<string, string>()
  const event: string[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [field, value] = [flat[i] as string, flat[i + 1] as string]
    if (META_FIELDS.has(field) && !meta.has(field)) meta.set(field, value)
    else event.push(field, value)
  }
  const products = new Set<number>()
  let type = ''
  let orderId: string | undefined
  try {
    const parsed = parseEvent(meta.get('event_id') ?? id, event)
    type = parsed.type
    orderId = parsed.order?.id
    for (const s of parsed.stock ?? []) products.add(Number(s.id))
    if (parsed.ledger) products.add(Number(parsed.ledger.product_id))
    if (parsed.product) products.add(Number(parsed.product.id))
    if (parsed.order)
      for (const l of parseLines(parsed.order.lines ?? '')) products.add(l.product_id)
  } catch {
    // A malformed event names no product; it is still listed.
  }
  return {
    id,
    event_id: meta.get('event_id') ?? '',
    error: meta.get('error') ?? '',
    failed_at: meta.get('failed_at') ?? '',
    partition: Number(meta.get('partition') ?? 0),
    type,
    product_ids: [...products].sort((a, b) => a - b),
    ...(orderId ? { order_id: orderId } : {}),
    event,
  }
}

/** Every dead letter, oldest first (the stream is capped, so this is bounded). */
export async function listDeadLetters({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const entries = (await redis.xrange(keys.deadLetters, '-', '+')) as [string, string[]][]
  return entries.map(([id, flat]) => toDeadLetter(id, flat))
}

/**
 * Puts dead letters back on the event stream, once their cause is fixed, and
 * removes them from the dead-letter stream. Events carry versioned snapshots,
 * so a replay applies exactly once in effect, whatever happened meanwhile.
 * Replays the given entries, or all of them.
 */
export async function replayDeadLetters(
  { redis, keys }: Pick<Deps, 'redis' | 'keys'>,
  ids?: readonly string[],
) {
  const all = await listDeadLetters({ redis, keys })
  const chosen = ids ? all.filter((d) => ids.includes(d.id) || ids.includes(d.event_id)) : all
  for (const letter of chosen) {
    // Back on its partition's stream first: a crash before the delete replays it twice,
    // which the versioned events make harmless.
    const partition = keys.partition(Math.min(letter.partition, keys.partitions - 1))
    await redis.xadd(partition.events, '*', ...letter.event)
    await redis.xdel(keys.deadLetters, letter.id)
  }
  return chosen.map((d) => d.id)
}

/** Dead letters held and dropped: both must be 0 in a healthy store. */
export async function deadLetterCounts({ redis, keys }: Pick<Deps, 'redis' | 'keys'>) {
  const [held, dropped] = await Promise.all([
    redis.xlen(keys.deadLetters),
    redis.get(keys.deadLettersDropped),
  ])
  return { held, dropped: Number(dropped ?? 0) }
}
