import type { Deps } from '../deps.js'
import { type Failure, failureFrom, jsonValue } from '../redis/replies.js'
import { runScript } from '../redis/scripts.js'
import type { LineRecord } from './records.js'

/**
 * Orders across partitions. One script cannot span slots, so an order whose
 * lines live in several partitions is checked out as a hold per partition
 * (lua/holdLines.lua), its home's included, taken in ascending partition
 * order, then a commit of its status in its home partition
 * (lua/checkoutOrder.lua). A
 * refusal anywhere releases the holds this call took, newest first; a hold
 * that ended records it, so a late resend of it is refused. Each hold lasts
 * as long as the reservation; the sweeper then audits it against its order
 * (`auditHolds`): sold once the payment is confirmed, kept while the order is
 * paid (payment pins the holds), released otherwise. So a crash at any point
 * leaks nothing for longer than the reservation and HOLD_AUDIT_GRACE_MS.
 */
type Ctx = Pick<Deps, 'redis' | 'keys'>

/** How long after a hold's end the sweeper audits it: the home partition's expiry goes first. */
export const HOLD_AUDIT_GRACE_MS = 30_000
/** How long what became of an ended hold is kept, so a resent hold is refused. */
export const HOLD_DONE_TTL_MS = 10 * 60_000

/**
 * An order's lines as its scripts take them: all in its home partition
 * (`local`), or, for an order whose lines span partitions, every line held in
 * its own partition, the home's too (`remote`, by partition, ascending): so
 * every checkout takes its partitions in one order, and some always succeed
 * however many race for the same products.
 */
export function linesByPartition(
  { keys }: Pick<Deps, 'keys'>,
  home: number,
  lines: readonly LineRecord[],
) {
  const none = [] as [number, LineRecord[]][]
  if (keys.partitions === 1) return { local: lines, remote: none }
  const byPartition = new Map<number, LineRecord[]>()
  for (const line of lines) {
    const p = keys.productPartition(line.product_id)
    byPartition.set(p, [...(byPartition.get(p) ?? []), line])
  }
  if (byPartition.size === 1 && byPartition.has(home)) return { local: lines, remote: none }
  // Each hold's lines by product id: the one order the hold, its keys and its rebuild share.
  for (const theirs of byPartition.values()) theirs.sort((a, b) => a.product_id - b.product_id)
  return { local: [] as LineRecord[], remote: [...byPartition].sort(([a], [b]) => a - b) }
}

const encode = (lines: readonly Pick<LineRecord, 'product_id' | 'quantity'>[]) =>
  lines.map((l) => `${l.product_id}:${l.quantity}`).join(',')

function holdKeys({ keys }: Pick<Ctx, 'keys'>, partition: number, orderId: string) {
  const part = keys.partition(partition)
  return [
    part.hydrated,
    keys.hold(partition, orderId),
    keys.holdDone(partition, orderId),
    part.holds,
    part.events,
  ]
}

const lineKeysOf = (
  { keys }: Pick<Ctx, 'keys'>,
  lines: readonly Pick<LineRecord, 'product_id'>[],
) => lines.flatMap((l) => [keys.product(l.product_id), keys.customerUnits(l.product_id)])

/** lua/inspectLines.lua: a new order's lines in one other partition, checked and priced there. */
export async function inspectLinesScript(
  ctx: Ctx,
  partition: number,
  customerId: string,
  lines: readonly Pick<LineRecord, 'product_id' | 'quantity'>[],
) {
  const { keys } = ctx
  const raw = await runScript(
    ctx.redis,
    'inspectLines',
    [keys.partition(partition).hydrated, ...lines.map((l) => keys.product(l.product_id))],
    [customerId, ...lines.flatMap((l) => [l.product_id, l.quantity])],
  )
  if (raw[0] !== 'OK') return failureFrom('inspectLines', raw)
  const found = jsonValue<Record<string, [number, string, number]>>(raw[1])
  return {
    code: 'OK' as const,
    lines: new Map(Object.entries(found).map(([id, line]) => [Number(id), line])),
  }
}

export type HoldReply =
  | { code: 'OK'; until: string; created: boolean }
  | { code: 'RELEASED' }
  | { code: 'SOLD' }
  | Failure

/** lua/holdLines.lua */
export async function holdLinesScript(
  ctx: Ctx,
  hold: {
    partition: number
    orderId: string
    home: number
    customerId: string
    lines: readonly LineRecord[]
    reservationTtlMs: number
    until?: string | undefined
    maxBacklog: number
    /** This checkout attempt's id: a hold given back for it stays refused to its resends. */
    attempt: string
  },
): Promise<HoldReply> {
  const raw = await runScript(
    ctx.redis,
    'holdLines',
    [...holdKeys(ctx, hold.partition, hold.orderId), ...lineKeysOf(ctx, hold.lines)],
    [
      hold.orderId,
      hold.home,
      hold.customerId,
      encode(hold.lines),
      hold.reservationTtlMs,
      hold.until ?? '',
      HOLD_AUDIT_GRACE_MS,
      hold.maxBacklog,
      hold.attempt,
    ],
  )
  switch (raw[0]) {
    case 'OK':
      return { code: 'OK', until: String(raw[1]), created: raw[2] === 'NEW' }
    case 'RELEASED':
    case 'SOLD':
      return { code: raw[0] }
    default:
      return failureFrom('holdLines', raw)
  }
}

export type EndHoldReply =
  | { code: 'OK'; outcome: 'released' | 'sold' | 'none' }
  | { code: 'NOT_FOUND' }
  | { code: 'INVALID_STATE'; status: string }
  | Failure

/**
 * Whose hold a release gives back: one checkout attempt's (a refusal: the draft
 * may be checked out again), or every attempt's (`ORDER_ENDED`: the order was
 * cancelled, expired or rejected, or never was).
 */
export type ReleaseScope = string
export const ORDER_ENDED: ReleaseScope = '*'

/** lua/endHold.lua: releases or sells an order's hold in one partition. */
export async function endHoldScript(
  ctx: Ctx,
  partition: number,
  orderId: string,
  action: 'release' | 'sell',
  lines: readonly LineRecord[],
  scope: ReleaseScope = ORDER_ENDED,
): Promise<EndHoldReply> {
  const raw = await runScript(
    ctx.redis,
    'endHold',
    [...holdKeys(ctx, partition, orderId), ...lineKeysOf(ctx, lines)],
    [orderId, action, encode(lines), HOLD_DONE_TTL_MS, scope],
  )
  if (raw[0] === 'OK') return { code: 'OK', outcome: String(raw[1]) as 'released' | 'sold' }
  return failureFrom('endHold', raw)
}

/**
 * Ends the holds of an order in these partitions (release or sell), each
 * safe to send again. A hold that cannot end as asked is logged: the audit
 * settles it against the order.
 */
export async function endHolds(
  deps: Pick<Deps, 'redis' | 'keys' | 'logger'>,
  orderId: string,
  action: 'release' | 'sell',
  holds: readonly (readonly [number, LineRecord[]])[],
  scope: ReleaseScope = ORDER_ENDED,
) {
  for (const [partition, lines] of holds) {
    const reply = await endHoldScript(deps, partition, orderId, action, lines, scope)
    if (reply.code !== 'OK') {
      deps.logger.error(
        { order_id: orderId, partition, action, reply },
        'an order hold did not end as asked; the hold audit will settle it',
      )
    }
  }
}

/** What the audit needs of a hold's order: its status, and when its reservation ends. */
export async function holdOrderState(deps: Pick<Deps, 'redis' | 'keys' | 'sql'>, orderId: string) {
  const [status, reservedUntil] = await deps.redis.hmget(
    deps.keys.order(orderId),
    'status',
    'reserved_until',
  )
  if (status) return { status, reservedUntil: Number(reservedUntil ?? 0) }
  const home = deps.keys.partition(deps.keys.orderPartition(orderId))
  // The home partition is being rebuilt: its orders come back, so nothing is decided yet.
  if ((await deps.redis.exists(home.hydrated)) === 0) return { status: 'unknown', reservedUntil: 0 }
  const [row] = await deps.sql<{ status: string; reserved_until: Date | null }[]>`
    select status, reserved_until from orders where id = ${orderId}
  `
  return row
    ? { status: row.status, reservedUntil: row.reserved_until?.getTime() ?? 0 }
    : { status: 'none', reservedUntil: 0 }
}

/**
 * What becomes of a hold whose end has passed, by its order: kept while the
 * order is paid (payment pins the holds), still holds its reservation, or is
 * not known yet (its home partition is being rebuilt); sold once the payment
 * is confirmed; released otherwise.
 */
export function holdSettlement(status: string, reservedUntil: number, now: number) {
  if (status === 'unknown' || status === 'paid' || (status === 'checkout' && reservedUntil > now))
    return 'keep' as const
  return status === 'payment_confirmed' ? ('sell' as const) : ('release' as const)
}

/** A hold's lines, from its record ('productId:quantity' joined by ','). */
export function holdLinesOf(encoded: string) {
  return [...encoded.matchAll(/(\d+):(\d+)/g)].map(([, id, quantity]) => ({
    product_id: Number(id),
    quantity: Number(quantity),
    price: 0,
  }))
}

/**
 * The hold audit, run by the sweeper: each hold whose end (plus
 * HOLD_AUDIT_GRACE_MS) has passed is settled against its order in the home
 * partition. Sold once the payment is confirmed; kept while the order is paid
 * (payment pins the holds) or still holds its reservation; released otherwise
 * (an order that never committed, or expired, was cancelled or rejected: a
 * crash between its steps). Returns how many holds it ended.
 */
export async function auditHolds(
  deps: Pick<Deps, 'redis' | 'keys' | 'sql' | 'logger'>,
  batch: number,
): Promise<number> {
  let ended = 0
  for (const part of deps.keys.allPartitions) {
    const due = await deps.redis.zrangebyscore(part.holds, '-inf', Date.now(), 'LIMIT', 0, batch)
    for (const orderId of due) {
      const hold = await deps.redis.hgetall(deps.keys.hold(part.index, orderId))
      if (!hold.lines) {
        await deps.redis.zrem(part.holds, orderId)
        continue
      }
      const lines = holdLinesOf(hold.lines)
      const { status, reservedUntil } = await holdOrderState(deps, orderId)
      const now = Date.now()
      const action = holdSettlement(status, reservedUntil, now)
      if (action === 'keep') {
        const recheck = Math.max(now, reservedUntil) + HOLD_AUDIT_GRACE_MS
        await deps.redis.zadd(part.holds, recheck, orderId)
        continue
      }
      deps.logger.warn(
        { order_id: orderId, partition: part.index, order_status: status, action },
        'hold audit: an order hold outlived its reservation; settling it against its order',
      )
      // A draft may still be checked out: only this hold's attempt is refused from now on.
      const scope = status === 'draft' ? (hold.attempt ?? '') : ORDER_ENDED
      await endHolds(deps, orderId, action, [[part.index, lines]], scope)
      ended += 1
    }
  }
  return ended
}
