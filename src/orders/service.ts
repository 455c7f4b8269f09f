import { randomUUID } from 'node:crypto'
import type { Deps } from '../deps.js'
import { customerKey, type Viewer } from '../http/customers.js'
import { ApiError, type ErrorCode } from '../http/errors.js'
import { failureToApiError } from '../http/refusals.js'
import { newId, withPartition } from '../ids.js'
import type { CheckoutOutcome } from '../metrics/metrics.js'
import { countOutcome } from '../metrics/outcomes.js'
import { productNames, productsLive, rememberNames } from '../products/catalogue.js'
import { hintedSoldOut, hintSoldOut, releasedLines } from '../products/soldOut.js'
import { isPartitionRebuilding } from '../recovery/hydrate.js'
import { readArchived, readArchivedOrder } from './archive.js'
import { endHolds, holdLinesScript, inspectLinesScript, linesByPartition } from './holds.js'
import { cachedHead, rememberHead, rememberNewHead } from './linesCache.js'
import {
  availability,
  type LineRecord,
  type OrderRecord,
  parseLines,
  presentOrder,
} from './records.js'
import type { CreateOrderInput, Order } from './schemas.js'
import {
  cancelOrderScript,
  checkoutOrderScript,
  createOrderScript,
  type OrderReply,
} from './scripts.js'

const subject = (orderId: string) => `Order ${orderId}`

/** A customer sees only their own orders; any other is answered as if it did not exist. */
export function ensureVisible(viewer: Viewer, customerId: string, orderId: string) {
  if (viewer.kind === 'customer' && viewer.id !== customerId) {
    throw failureToApiError({ code: 'NOT_FOUND' }, subject(orderId))
  }
}

/**
 * The lines of an order still held in Redis, once the viewer may act on it.
 * Lines and owner never change after creation, so reading them to name the
 * script's keys is safe: every state check happens inside the script. An order
 * that left Redis is final, so no change applies.
 */
export async function loadLines(
  deps: Deps,
  orderId: string,
  viewer: Viewer,
): Promise<LineRecord[]> {
  return (await loadHead(deps, orderId, viewer)).lines
}

/** The lines and owner of an order still held in Redis, once the viewer may act on it. */
export async function loadHead(
  deps: Deps,
  orderId: string,
  viewer: Viewer,
): Promise<{ lines: LineRecord[]; customerId: string }> {
  const { redis, keys } = deps
  const cached = cachedHead(redis, orderId)
  if (cached) {
    ensureVisible(viewer, cached.customerId, orderId)
    return cached
  }
  const [raw, customerId] = await redis.hmget(keys.order(orderId), 'lines', 'customer_id')
  if (typeof raw === 'string') {
    const head = { lines: parseLines(raw), customerId: customerId ?? '' }
    rememberHead(redis, orderId, head)
    ensureVisible(viewer, head.customerId, orderId)
    return head
  }
  return orderGone(deps, orderId, viewer)
}

/**
 * Redis does not hold the order (any more): it is being rebuilt, or the order
 * is final and lives in Postgres (no change applies), or it never existed.
 */
export async function orderGone(deps: Deps, orderId: string, viewer: Viewer): Promise<never> {
  if (await isPartitionRebuilding(deps, deps.keys.orderPartition(orderId))) {
    throw failureToApiError({ code: 'REBUILDING' }, subject(orderId))
  }
  const archived = await readArchived(deps, 'order', orderId, () =>
    readArchivedOrder(deps, orderId),
  )
  if (!archived) throw failureToApiError({ code: 'NOT_FOUND' }, subject(orderId))
  ensureVisible(viewer, archived.customer_id ?? '', orderId)
  throw failureToApiError({ code: 'INVALID_STATE', status: archived.status }, subject(orderId))
}

/** Shows an order Redis holds, with its products' names (and availability, when a script gave it). */
export async function showOrder(
  deps: Deps,
  order: OrderRecord,
  available?: ReadonlyMap<number, number>,
): Promise<Order> {
  const ids = parseLines(order.lines).map((l) => l.product_id)
  return presentOrder(order, await productNames(deps, ids), available)
}

/** Shows an order for a read: its lines with their products' names and availability now. */
async function showOrderLive(deps: Deps, order: OrderRecord): Promise<Order> {
  const live = await productsLive(
    deps,
    parseLines(order.lines).map((l) => l.product_id),
  )
  return presentOrder(order, live.names, live.available)
}

async function orderFrom(
  deps: Deps,
  reply: OrderReply,
  orderId: string,
  viewer: Viewer,
): Promise<Order> {
  // Lines known in process, but the order left Redis: say what became of it.
  if (reply.code === 'NOT_FOUND' && reply.productId === undefined) {
    return orderGone(deps, orderId, viewer)
  }
  if (reply.code !== 'OK') throw failureToApiError(noteSoldOut(deps, reply), subject(orderId))
  return showOrder(deps, reply.order, reply.available)
}

/** A script that found a product with nothing left makes this process refuse it for a moment. */
function noteSoldOut<F extends { code: string; productId?: number; available?: number }>(
  deps: Deps,
  failure: F,
): F {
  if (failure.code === 'OUT_OF_STOCK' && failure.available === 0 && failure.productId) {
    hintSoldOut(deps.redis, failure.productId, deps.config.SOLD_OUT_HINT_MS)
  }
  return failure
}

/** Refuses at once, without Redis, a line whose product a script just found sold out. */
function refuseHintedSoldOut(deps: Deps, productIds: Iterable<number>, what: string) {
  const productId = hintedSoldOut(deps.redis, productIds)
  if (productId !== undefined) {
    throw failureToApiError({ code: 'OUT_OF_STOCK', productId, available: 0 }, what)
  }
}

/** Merges repeated product ids into one line, keeping first-seen order. */
function mergeLines(products: CreateOrderInput['products']) {
  const merged = new Map<number, number>()
  for (const { product_id, quantity } of products) {
    merged.set(product_id, (merged.get(product_id) ?? 0) + quantity)
  }
  return [...merged].map(([product_id, quantity]) => ({ product_id, quantity }))
}

/**
 * With customer tokens the order is the token's customer's, spelled exactly as
 * the token's subject; a body naming anyone else is refused. Anonymous (and
 * admin) orders count under the normalised customer_id.
 */
function customerFor(viewer: Viewer, asked: string | undefined): string {
  if (viewer.kind !== 'customer') return asked === undefined ? '' : customerKey(asked)
  if (asked !== undefined && asked !== viewer.id) {
    throw new ApiError(
      'FORBIDDEN',
      "customer_id must be the customer token's own subject (or left out).",
      { customer_id: asked },
    )
  }
  return viewer.id
}

/** `orderId`: the request's operation id, so a retry after a crash makes the same order. */
export async function createOrder(
  deps: Deps,
  input: CreateOrderInput,
  viewer: Viewer,
  orderId?: string,
): Promise<Order> {
  try {
    return await placeDraft(deps, input, viewer, orderId)
  } catch (err) {
    countRefusal(deps, err)
    throw err
  }
}

async function placeDraft(
  deps: Deps,
  input: CreateOrderInput,
  viewer: Viewer,
  givenId: string | undefined,
): Promise<Order> {
  const { config } = deps
  const customerId = customerFor(viewer, input.customer_id)
  const lines = mergeLines(input.products)
  // Before the id: a stampede on a sold-out product is refused without one.
  refuseHintedSoldOut(
    deps,
    lines.map((l) => l.product_id),
    'The order',
  )
  // The order's home: its first line's partition, written into its id (src/ids.ts).
  const home = deps.keys.productPartition(lines[0]?.product_id ?? 0)
  const orderId = withPartition(givenId ?? newId(), home)
  // Lines in other partitions are checked and priced there first (src/orders/holds.ts).
  const { remote } = linesByPartition(deps, home, lines as LineRecord[])
  const inspected = await Promise.all(
    remote.map(([partition, theirs]) => inspectLinesScript(deps, partition, customerId, theirs)),
  )
  const priced = new Map<number, [number, string, number]>()
  for (const reply of inspected) {
    if (reply.code !== 'OK') throw failureToApiError(noteSoldOut(deps, reply), subject(orderId))
    for (const [id, line] of reply.lines) priced.set(id, line)
  }
  const reply = await createOrderScript(deps, {
    orderId,
    customerId,
    lines,
    draftTtlMs: config.DRAFT_TTL_SECONDS * 1000,
    maxBacklog: config.MAX_BACKLOG,
    maxDrafts: config.MAX_DRAFTS,
    maxOpenOrders: config.MAX_OPEN_ORDERS,
    remote: priced,
  })
  if (reply.code !== 'OK') throw failureToApiError(noteSoldOut(deps, reply), subject(orderId))
  rememberNames(deps, reply.names)
  rememberNewHead(deps.redis, orderId, { lines: parseLines(reply.order.lines), customerId })
  return presentOrder(reply.order, reply.names, reply.available)
}

export async function getOrder(deps: Deps, orderId: string, viewer: Viewer): Promise<Order> {
  const hot = await deps.redis.hgetall(deps.keys.order(orderId))
  if (hot.status) {
    ensureVisible(viewer, hot.customer_id ?? '', orderId)
    return showOrderLive(deps, hot as unknown as OrderRecord)
  }
  const archived = await readArchived(deps, 'order', orderId, () =>
    readArchivedOrder(deps, orderId),
  )
  if (archived) {
    ensureVisible(viewer, archived.customer_id ?? '', orderId)
    // Shown as the order Redis held was: its lines with their products' availability now.
    const { available } = await productsLive(
      deps,
      archived.order_details.map((l) => l.product_id),
    )
    return {
      ...archived,
      order_details: archived.order_details.map((line) => {
        const left = available.get(line.product_id)
        return left === undefined
          ? line
          : { ...line, available: left, product_availability: availability(left) }
      }),
    }
  }
  if (await isPartitionRebuilding(deps, deps.keys.orderPartition(orderId))) {
    throw failureToApiError({ code: 'REBUILDING' }, subject(orderId))
  }
  throw failureToApiError({ code: 'NOT_FOUND' }, subject(orderId))
}

/** Refusals by the name /metrics and the dashboard give them. */
const CHECKOUT_OUTCOMES: Partial<
  Record<ErrorCode, Exclude<CheckoutOutcome, 'reserved' | 'refused'>>
> = {
  OUT_OF_STOCK: 'out_of_stock',
  LIMIT_EXCEEDED: 'limit_exceeded',
  RESERVATION_EXPIRED: 'expired',
  SALE_NOT_STARTED: 'sale_closed',
  SALE_ENDED: 'sale_closed',
  PRODUCT_INACTIVE: 'sale_closed',
}

/** Reserves the order's lines; every outcome is counted for /metrics. */
export async function checkoutOrder(deps: Deps, orderId: string, viewer: Viewer): Promise<Order> {
  try {
    const order = await reserve(deps, orderId, viewer)
    deps.metrics.checkouts.inc({ outcome: 'reserved' })
    for (const line of order.order_details) countOutcome(deps.redis, line.product_id, 'reserved')
    return { ...order, message: 'order has been checked out' }
  } catch (err) {
    const outcome = (err instanceof ApiError && CHECKOUT_OUTCOMES[err.code]) || 'refused'
    deps.metrics.checkouts.inc({ outcome })
    countRefusal(deps, err)
    throw err
  }
}

/** A buyer turned away from a product, for the dashboard's share of refused buyers. */
function countRefusal(deps: Deps, err: unknown) {
  if (!(err instanceof ApiError)) return
  const outcome = CHECKOUT_OUTCOMES[err.code]
  const productId = (err.details as { product_id?: number } | undefined)?.product_id
  if (outcome && outcome !== 'expired' && productId) countOutcome(deps.redis, productId, outcome)
}

async function reserve(deps: Deps, orderId: string, viewer: Viewer): Promise<Order> {
  const { config } = deps
  // No sold-out hint here: a repeated checkout of a held reservation must still answer OK.
  const head = await loadHead(deps, orderId, viewer)
  const home = deps.keys.orderPartition(orderId)
  const { local, remote } = linesByPartition(deps, home, head.lines)
  const ttlMs = config.RESERVATION_TTL_SECONDS * 1000
  // Across partitions: a hold in each other partition first, ascending (src/orders/holds.ts).
  let until: string | undefined
  // The common case, one partition, takes no holds: no attempt id, nothing to give back.
  const attempt = remote.length > 0 ? randomUUID() : ''
  const taken: [number, LineRecord[]][] = []
  const releaseTaken = async () => {
    if (taken.length === 0) return
    await endHolds(deps, orderId, 'release', [...taken].reverse(), attempt)
    // Units back on sale: this process's sold-out hints on them end now.
    releasedLines(
      deps.redis,
      taken.flatMap(([, lines]) => lines),
    )
  }
  for (const [partition, lines] of remote) {
    const hold = await holdLinesScript(deps, {
      partition,
      orderId,
      home,
      customerId: head.customerId,
      lines,
      reservationTtlMs: ttlMs,
      until,
      maxBacklog: config.MAX_BACKLOG,
      attempt,
    })
    if (hold.code === 'OK') {
      until ??= hold.until
      // A hold that existed (a resent checkout) is not this call's to release.
      if (hold.created) taken.push([partition, lines])
      continue
    }
    await releaseTaken()
    if (hold.code !== 'RELEASED' && hold.code !== 'SOLD') {
      throw failureToApiError(noteSoldOut(deps, hold), subject(orderId))
    }
    // This order's hold ended before: a draft's earlier attempt ran out (check out again);
    // any other order answers as its status says, from the home partition, below.
    const status = await deps.redis.hget(deps.keys.order(orderId), 'status')
    if (status === 'draft') throw failureToApiError({ code: 'HOLDS_EXPIRED' }, subject(orderId))
    until = undefined
    taken.length = 0
    break
  }
  const reply = await checkoutOrderScript(deps, orderId, local, ttlMs, config.MAX_BACKLOG, until)
  if (reply.code !== 'OK') await releaseTaken()
  if (reply.code === 'EXPIRED') {
    releasedLines(deps.redis, head.lines)
    await endHolds(deps, orderId, 'release', remote)
  }
  return orderFrom(deps, reply, orderId, viewer)
}

export async function cancelOrder(deps: Deps, orderId: string, viewer: Viewer): Promise<Order> {
  const lines = await loadLines(deps, orderId, viewer)
  const { local, remote } = linesByPartition(deps, deps.keys.orderPartition(orderId), lines)
  const order = await orderFrom(
    deps,
    await cancelOrderScript(deps, orderId, local, randomUUID()),
    orderId,
    viewer,
  )
  await endHolds(deps, orderId, 'release', remote)
  releasedLines(deps.redis, lines)
  return order
}
