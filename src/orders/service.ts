import { randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { ApiError, type ErrorCode } from '../http/errors.js'
import type { CheckoutOutcome } from '../metrics/metrics.js'
import { productNames, rememberNames } from '../products/catalogue.js'
import { refuse } from '../recovery/refuse.js'
import { readArchived, readArchivedOrder } from './archive.js'
import { type LineRecord, type OrderRecord, parseLines, presentOrder } from './records.js'
import type { CreateOrderInput, Order } from './schemas.js'
import {
  cancelOrderScript,
  checkoutOrderScript,
  createOrderScript,
  type OrderReply,
} from './scripts.js'

const subject = (orderId: string) => `Order ${orderId}`

/**
 * The lines of an order still held in Redis. Lines never change after creation,
 * so reading them to name the script's keys is safe: every state check happens
 * inside the script. An order that left Redis is final, so no change applies.
 */
export async function loadLines(deps: Deps, orderId: string): Promise<LineRecord[]> {
  const { redis, keys } = deps
  const [[, raw], [, ready]] = ((await redis
    .pipeline()
    .hget(keys.order(orderId), 'lines')
    .exists(keys.hydrated)
    .exec()) ?? []) as [[unknown, string | null], [unknown, number]]
  if (typeof raw === 'string') return parseLines(raw)
  if (ready === 0) return refuse(deps, { code: 'REBUILDING' }, subject(orderId))
  const archived = await readArchived(deps, 'order', orderId, () =>
    readArchivedOrder(deps, orderId),
  )
  if (archived)
    return refuse(deps, { code: 'INVALID_STATE', status: archived.status }, subject(orderId))
  return refuse(deps, { code: 'NOT_FOUND' }, subject(orderId))
}

/** Shows an order Redis holds, with its products' names. */
export async function showOrder(
  deps: Deps,
  order: OrderRecord,
  available?: ReadonlyMap<number, number>,
): Promise<Order> {
  const lines = parseLines(order.lines)
  const names = await productNames(
    deps,
    lines.map((l) => l.product_id),
  )
  return presentOrder(order, names, available)
}

async function orderFrom(deps: Deps, reply: OrderReply, orderId: string): Promise<Order> {
  if (reply.code !== 'OK') return refuse(deps, reply, subject(orderId))
  return showOrder(deps, reply.order)
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
  const { config } = deps
  const orderId = uuidv7()
  const reply = await createOrderScript(deps, {
    orderId,
    customerId: input.customer_id ?? '',
    lines: mergeLines(input.products),
    draftTtlMs: config.DRAFT_TTL_SECONDS * 1000,
    maxBacklog: config.MAX_BACKLOG,
    maxDrafts: config.MAX_DRAFTS,
  })
  if (reply.code !== 'OK') return refuse(deps, reply, subject(orderId))
  rememberNames(deps, reply.names)
  return presentOrder(reply.order, reply.names, reply.available)
}

export async function getOrder(deps: Deps, orderId: string): Promise<Order> {
  const hot = await deps.redis.hgetall(deps.keys.order(orderId))
  if (hot.status) return showOrder(deps, hot as unknown as OrderRecord)
  const archived = await readArchived(deps, 'order', orderId, () =>
    readArchivedOrder(deps, orderId),
  )
  if (archived) return archived
  if ((await deps.redis.exists(deps.keys.hydrated)) === 0) {
    return refuse(deps, { code: 'REBUILDING' }, subject(orderId))
  }
  return refuse(deps, { code: 'NOT_FOUND' }, subject(orderId))
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
  const { config } = deps
  const lines = await loadLines(deps, orderId)
  const reply = await checkoutOrderScript(
    deps,
    orderId,
    lines,
    config.RESERVATION_TTL_SECONDS * 1000,
    config.MAX_BACKLOG,
  )
  return orderFrom(deps, reply, orderId)
}

export async function cancelOrder(deps: Deps, orderId: string): Promise<Order> {
  const lines = await loadLines(deps, orderId)
  return orderFrom(deps, await cancelOrderScript(deps, orderId, lines, randomUUID()), orderId)
}
