import type { Deps } from '../deps.js'
import { type Failure, failureFrom, jsonValue } from '../redis/replies.js'
import { runScript } from '../redis/scripts.js'
import type { LineRecord, OrderRecord } from './records.js'

type Ctx = Pick<Deps, 'redis' | 'keys'>

/** Per line the product and customer-units keys, in line order, plus the ids for the script to check. */
export function lineKeys(
  { keys }: Pick<Deps, 'keys'>,
  lines: readonly Pick<LineRecord, 'product_id'>[],
) {
  return {
    keys: lines.flatMap((l) => [keys.product(l.product_id), keys.customerUnits(l.product_id)]),
    productIds: lines.map((l) => l.product_id).join(','),
  }
}

/** `available`: the lines' products' available units, when the script returns them. */
export type OrderReply =
  | { code: 'OK'; order: OrderRecord; available?: ReadonlyMap<number, number> }
  | Failure

function orderReply(
  name: Parameters<typeof failureFrom>[0],
  raw: Awaited<ReturnType<typeof runScript>>,
): OrderReply {
  if (raw[0] !== 'OK') return failureFrom(name, raw)
  const order = jsonValue<OrderRecord>(raw[1])
  if (raw[2] === undefined) return { code: 'OK', order }
  // cjson writes an empty list as {}: an order across partitions moves no stock here.
  const stock = jsonValue<{ id: string; available: string }[] | Record<string, never>>(raw[2])
  if (!Array.isArray(stock)) return { code: 'OK', order }
  return {
    code: 'OK',
    order,
    available: new Map(stock.map((s) => [Number(s.id), Number(s.available)])),
  }
}

export interface NewOrder {
  orderId: string
  customerId: string
  lines: readonly { product_id: number; quantity: number }[]
  draftTtlMs: number
  maxBacklog: number
  maxDrafts: number
  maxOpenOrders: number
  /**
   * The lines in other partitions than the order's home, as inspectLines.lua
   * checked them there: product id -> [unit price, name, available units].
   */
  remote?: ReadonlyMap<number, [price: number, name: string, available: number]>
}

/** lua/createOrder.lua, in the order's home partition (written into its id). */
export async function createOrderScript(ctx: Ctx, o: NewOrder) {
  const { keys } = ctx
  const home = keys.partition(keys.orderPartition(o.orderId))
  const raw = await runScript(
    ctx.redis,
    'createOrder',
    [
      home.hydrated,
      keys.order(o.orderId),
      home.events,
      home.drafts,
      home.openOrders,
      ...o.lines.filter((l) => !o.remote?.has(l.product_id)).map((l) => keys.product(l.product_id)),
    ],
    [
      o.orderId,
      o.customerId,
      o.draftTtlMs,
      o.maxBacklog,
      o.maxDrafts,
      o.maxOpenOrders,
      o.remote?.size ? JSON.stringify(Object.fromEntries(o.remote)) : '',
      o.remote?.size ? keys.partitions : '',
      home.index,
      ...o.lines.flatMap((l) => [l.product_id, l.quantity]),
    ],
  )
  if (raw[0] !== 'OK') return failureFrom('createOrder', raw)
  const products = jsonValue<Record<string, [available: number, name: string]>>(raw[2])
  return {
    code: 'OK' as const,
    order: jsonValue<OrderRecord>(raw[1]),
    available: new Map(Object.entries(products).map(([id, [left]]) => [Number(id), left])),
    names: new Map(Object.entries(products).map(([id, [, name]]) => [Number(id), name])),
  }
}

/** The KEYS layout checkout and cancel share: marker, order, indexes, events, then the lines. */
function heldOrderKeys({ keys }: Pick<Ctx, 'keys'>, orderId: string, lineKeyList: string[]) {
  const home = keys.partition(keys.orderPartition(orderId))
  return [
    home.hydrated,
    keys.order(orderId),
    home.reservations,
    home.events,
    home.drafts,
    home.openOrders,
    ...lineKeyList,
  ]
}

/** lua/checkoutOrder.lua */
export async function checkoutOrderScript(
  ctx: Ctx,
  orderId: string,
  lines: readonly LineRecord[],
  reservationTtlMs: number,
  maxBacklog: number,
  heldUntil = '',
): Promise<OrderReply> {
  const line = lineKeys(ctx, lines)
  const raw = await runScript(ctx.redis, 'checkoutOrder', heldOrderKeys(ctx, orderId, line.keys), [
    line.productIds,
    reservationTtlMs,
    maxBacklog,
    heldUntil,
  ])
  return orderReply('checkoutOrder', raw)
}

/** lua/cancelOrder.lua */
export async function cancelOrderScript(
  ctx: Ctx,
  orderId: string,
  lines: readonly LineRecord[],
  requestId: string,
): Promise<OrderReply> {
  const line = lineKeys(ctx, lines)
  const raw = await runScript(ctx.redis, 'cancelOrder', heldOrderKeys(ctx, orderId, line.keys), [
    line.productIds,
    requestId,
  ])
  return orderReply('cancelOrder', raw)
}

type SweepReply =
  | { code: 'OK' }
  | { code: 'NOT_DUE' }
  | { code: 'SKIPPED'; status: string }
  | Failure

function sweepReply(
  name: 'expireOrder' | 'expireDraft',
  raw: Awaited<ReturnType<typeof runScript>>,
): SweepReply {
  switch (raw[0]) {
    case 'OK':
    case 'NOT_DUE':
      return { code: raw[0] }
    case 'SKIPPED':
      return { code: 'SKIPPED', status: String(raw[1]) }
    default:
      return failureFrom(name, raw)
  }
}

/** lua/expireOrder.lua */
export async function expireOrderScript(ctx: Ctx, orderId: string, lines: readonly LineRecord[]) {
  const { keys } = ctx
  const line = lineKeys(ctx, lines)
  const home = keys.partition(keys.orderPartition(orderId))
  const raw = await runScript(
    ctx.redis,
    'expireOrder',
    [
      home.hydrated,
      keys.order(orderId),
      home.reservations,
      home.events,
      home.openOrders,
      ...line.keys,
    ],
    [orderId, line.productIds],
  )
  return sweepReply('expireOrder', raw)
}

/** lua/expireDraft.lua */
export async function expireDraftScript(ctx: Ctx, orderId: string) {
  const { keys } = ctx
  const home = keys.partition(keys.orderPartition(orderId))
  const raw = await runScript(
    ctx.redis,
    'expireDraft',
    [home.hydrated, keys.order(orderId), home.drafts, home.events, home.openOrders],
    [orderId],
  )
  return sweepReply('expireDraft', raw)
}
