import type { Deps } from '../deps.js'
import { type Failure, failureFrom } from '../redis/replies.js'
import { RECEIPT_TTL_MS, runScript } from '../redis/scripts.js'

type Ctx = Pick<Deps, 'redis' | 'keys'>

/** A type, not an interface: it goes into Postgres as JSON (reconcile's record). */
export type Counters = { available: number; reserved: number; sold: number }

export type RepairReply =
  | { code: 'OK'; version: number }
  | { code: 'CHANGED'; version: number }
  | { code: 'NEGATIVE' }
  | Failure

/** lua/repairStock.lua; `repairId` names the repair (its stock_reconciliations row). */
export async function repairStockScript(
  ctx: Ctx,
  repairId: string,
  productId: number,
  seenVersion: number,
  to: Counters,
): Promise<RepairReply> {
  const { keys } = ctx
  const part = keys.partition(keys.productPartition(productId))
  const raw = await runScript(
    ctx.redis,
    'repairStock',
    [part.hydrated, keys.product(productId), part.events, keys.receipt(productId, repairId)],
    [productId, seenVersion, to.available, to.reserved, to.sold, RECEIPT_TTL_MS],
  )
  switch (raw[0]) {
    case 'OK':
    case 'CHANGED':
      return { code: raw[0], version: Number(raw[1]) }
    case 'NEGATIVE':
      return { code: 'NEGATIVE' }
    default:
      return failureFrom('repairStock', raw)
  }
}

export interface LiveCounters extends Counters {
  version: number
}

/**
 * lua/stockCut.lua: products' counters and their partition's stream position,
 * read together. Every product must be in `partition`.
 */
export async function stockCutScript(ctx: Ctx, partition: number, productIds: readonly number[]) {
  const { keys } = ctx
  const [lastId, ...rows] = await runScript(
    ctx.redis,
    'stockCut',
    [keys.partition(partition).events, ...productIds.map(keys.product)],
    [],
  )
  const live = new Map<number, LiveCounters | null>()
  productIds.forEach((id, i) => {
    const [available, reserved, sold, version] = (rows[i] as (string | null)[] | undefined) ?? []
    live.set(
      id,
      available == null
        ? null
        : {
            available: Number(available),
            reserved: Number(reserved),
            sold: Number(sold),
            version: Number(version),
          },
    )
  })
  return { lastId: String(lastId), live }
}
