import { randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { ApiError, type ErrorCode } from '../http/errors.js'
import type { CheckoutOutcome } from '../metrics/metrics.js'
import type { StoreKeys } from '../redis/keys.js'
import { runScript, type ScriptReply } from '../redis/scripts.js'
import { readArchivedOrder } from './archive.js'
import { scriptFailure } from './outcomes.js'
import { type LineRecord, type OrderRecord, parseLines, presentOrder } from './records.js'
import type { CreateOrderInput, Order } from './schemas.js'

const subject = (orderId: string) => `Order ${orderId}`

/** Product and customer-units keys for each line, in line order, plus the ids for the script to check. */
export function lineKeys(keys: StoreKeys, lines: readonly Pick<LineRecord, 'product_id'>[]) {
  return {
    keys: lines.flatMap((l) => [keys.product(l.product_id), keys.customerUnits(l.product_id)]),
    productIds: lines.map((l) => l.product_id).join(','),
  }
}

/**
 * The lines of an order still held in Redis. Lines never change after creation,
 * so reading them to name the script's keys is safe: every state check happens
 * inside the script. An order that left Redis is final, so no change applies.
 */
export async function loadLines(deps: Deps, orderId: string): Promise<LineRecord[]> {
  const raw = await deps.redis.hget(deps.keys.order(orderId), 'lines')
  if (raw !== null) return parseLines({ lines: raw })
  const archived = await readArchivedOrder(deps, orderId)
  if (archived) throw scriptFailure(['INVALID_STATE', archived.status], subject(orderId))
  throw scriptFailure(['NOT_FOUND'], subject(orderId))
}

function orderFrom(reply: ScriptReply, orderId: string): OrderRecord {
  if (reply[0] !== 'OK') throw scriptFailure(reply, subject(orderId))
  return JSON.parse(String(reply[1])) as OrderRecord
}

/** Merges repeated product ids into one line, keeping first-seen order. */
function mergeLines(products: CreateOrderInput['products']) {
  const merged = new Map<number, number>()
  for (const { product_id, quantity } of products) {
    merged.set(product_id, (merged.get(product_id) ?? 0) + quantity)
  }
  return [...merged].map(([product_id, quantity]) => ({ product_id, quantity }))
}

export async function createOrder(deps: Deps, input: CreateOrderInput): Promise<Order> {
  const { redis, keys } = deps
  const lines = mergeLines(input.products)
  const orderId = uuidv7()
  const reply = await runScript(
    redis,
    'createOrder',
    [
      keys.order(orderId),
      keys.events,
      keys.drafts,
      ...lines.map((l) => keys.product(l.product_id)),
    ],
    [
      orderId,
      input.customer_id ?? '',
      deps.config.DRAFT_TTL_SECONDS * 1000,
      ...lines.flatMap((l) => [l.product_id, l.quantity]),
    ],
  )
  const order = orderFrom(reply, orderId)
  return presentOrder(order, JSON.parse(String(reply[2])) as Record<string, number>)
}

export async function getOrder(deps: Deps, orderId: string): Promise<Order> {
  const hot = await deps.redis.hgetall(deps.keys.order(orderId))
  if (hot.status) return presentOrder(hot as unknown as OrderRecord)
  const archived = await readArchivedOrder(deps, orderId)
  if (archived) return archived
  throw scriptFailure(['NOT_FOUND'], subject(orderId))
}

const CHECKOUT_OUTCOMES: Partial<Record<ErrorCode, CheckoutOutcome>> = {
  OUT_OF_STOCK: 'out_of_stock',
  LIMIT_EXCEEDED: 'limit_exceeded',
  RESERVATION_EXPIRED: 'expired',
}

/** Reserves the order's lines; every outcome is counted for /metrics. */
export async function checkoutOrder(deps: Deps, orderId: string): Promise<Order> {
  try {
    const order = await reserve(deps, orderId)
    deps.metrics.checkouts.inc({ outcome: 'reserved' })
    return order
  } catch (err) {
    const outcome = (err instanceof ApiError && CHECKOUT_OUTCOMES[err.code]) || 'refused'
    deps.metrics.checkouts.inc({ outcome })
    throw err
  }
}

async function reserve(deps: Deps, orderId: string): Promise<Order> {
  const { redis, keys, config } = deps
  const { keys: lineKeyList, productIds } = lineKeys(keys, await loadLines(deps, orderId))
  const reply = await runScript(
    redis,
    'checkoutOrder',
    [keys.order(orderId), keys.reservations, keys.events, ...lineKeyList],
    [productIds, config.RESERVATION_TTL_SECONDS * 1000, config.MAX_BACKLOG],
  )
  return presentOrder(orderFrom(reply, orderId))
}

export async function cancelOrder(deps: Deps, orderId: string): Promise<Order> {
  const { redis, keys } = deps
  const { keys: lineKeyList, productIds } = lineKeys(keys, await loadLines(deps, orderId))
  const reply = await runScript(
    redis,
    'cancelOrder',
    [keys.order(orderId), keys.reservations, keys.events, ...lineKeyList],
    [productIds, randomUUID()],
  )
  return presentOrder(orderFrom(reply, orderId))
}
