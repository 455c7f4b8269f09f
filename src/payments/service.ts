import { randomUUID } from 'node:crypto'
import type { Deps } from '../deps.js'
import type { Viewer } from '../http/customers.js'
import { ApiError } from '../http/errors.js'
import { failureToApiError } from '../http/refusals.js'
import { newId, withPartition } from '../ids.js'
import { decimalToMinor, fromMinorUnits } from '../money.js'
import { readArchived } from '../orders/archive.js'
import { endHolds, linesByPartition } from '../orders/holds.js'
import { iso } from '../orders/records.js'
import type { OrderStatus } from '../orders/schemas.js'
import { getOrder, loadLines, orderGone } from '../orders/service.js'
import { releasedLines } from '../products/soldOut.js'
import { isPartitionRebuilding } from '../recovery/hydrate.js'
import type { PaymentRecord } from './records.js'
import type { Payment, PaymentWithOrder } from './schemas.js'
import { type PaymentReply, payOrderScript, settlePaymentScript } from './scripts.js'

const subject = (paymentId: string) => `Payment ${paymentId}`

function presentPayment(payment: PaymentRecord, orderStatus: OrderStatus): Payment {
  return {
    id: payment.id,
    status: payment.status,
    payment_id: payment.id,
    order_id: payment.order_id,
    payment_status: payment.status,
    order_status: orderStatus,
    amount: fromMinorUnits(payment.amount),
    order_date: iso(payment.order_date),
    payment_date: iso(payment.payment_date),
  }
}

function paymentFrom(reply: PaymentReply, subjectText: string): Payment {
  if (reply.code !== 'OK') throw failureToApiError(reply, subjectText)
  return presentPayment(reply.payment, reply.order.status)
}

/**
 * Pays a checked-out order: one script records the payment and stops the expiry
 * clock. `paymentId`: the request's operation id, so a retry after a crash
 * answers with the same payment.
 */
export async function payOrder(
  deps: Deps,
  orderId: string,
  viewer: Viewer,
  operationId: string = newId(),
): Promise<Payment> {
  const lines = await loadLines(deps, orderId, viewer)
  // The payment lives beside its order, in the order's home partition.
  const home = deps.keys.orderPartition(orderId)
  const paymentId = withPartition(operationId, home)
  // A paid order's holds in other partitions stay: the hold audit keeps them while it is paid.
  const { local, remote } = linesByPartition(deps, home, lines)
  const reply = await payOrderScript(deps, orderId, local, paymentId)
  if (reply.code === 'NOT_FOUND') return orderGone(deps, orderId, viewer)
  if (reply.code === 'EXPIRED') {
    releasedLines(deps.redis, lines)
    await endHolds(deps, orderId, 'release', remote)
  }
  return paymentFrom(reply, `Order ${orderId}`)
}

interface ArchivedPaymentRow {
  id: string
  order_id: string
  status: Payment['payment_status']
  amount: string
  payment_date: Date
  order_date: Date
  version: number
}

async function readArchivedPayment({ sql }: Pick<Deps, 'sql'>, paymentId: string) {
  const [row] = await sql<ArchivedPaymentRow[]>`
    select id, order_id, status, amount::text, payment_date, order_date, version
    from payments where id = ${paymentId}
  `
  if (!row) return null
  return {
    id: row.id,
    order_id: row.order_id,
    status: row.status,
    amount: String(decimalToMinor(row.amount)),
    payment_date: String(row.payment_date.getTime()),
    order_date: String(row.order_date.getTime()),
    v: String(row.version),
  } satisfies PaymentRecord
}

async function readPayment(
  deps: Deps,
  paymentId: string,
): Promise<{ payment: PaymentRecord; hot: boolean }> {
  const hot = await deps.redis.hgetall(deps.keys.payment(paymentId))
  if (hot.status) return { payment: hot as unknown as PaymentRecord, hot: true }
  const archived = await readArchived(deps, 'payment', paymentId, () =>
    readArchivedPayment(deps, paymentId),
  )
  if (archived) return { payment: archived, hot: false }
  if (await isPartitionRebuilding(deps, deps.keys.orderPartition(paymentId))) {
    throw failureToApiError({ code: 'REBUILDING' }, subject(paymentId))
  }
  throw failureToApiError({ code: 'NOT_FOUND' }, subject(paymentId))
}

async function settlePayment(
  deps: Deps,
  paymentId: string,
  script: 'confirmPayment' | 'rejectPayment',
): Promise<Payment> {
  const { payment, hot } = await readPayment(deps, paymentId)
  if (!hot) {
    if (await isPartitionRebuilding(deps, deps.keys.orderPartition(paymentId))) {
      throw failureToApiError({ code: 'REBUILDING' }, subject(paymentId))
    }
    throw failureToApiError({ code: 'INVALID_STATE', status: payment.status }, subject(paymentId))
  }
  const lines = await loadLines(deps, payment.order_id, { kind: 'admin' })
  const home = deps.keys.orderPartition(payment.order_id)
  const { local, remote } = linesByPartition(deps, home, lines)
  const reply = await settlePaymentScript(deps, script, payment, local, randomUUID())
  const settled = paymentFrom(reply, subject(paymentId))
  // Then the order's holds in other partitions: sold, or back on sale (the audit finishes
  // what a crash here leaves).
  await endHolds(deps, payment.order_id, script === 'confirmPayment' ? 'sell' : 'release', remote)
  if (script === 'rejectPayment') {
    releasedLines(deps.redis, lines)
  }
  return settled
}

export const confirmPayment = (deps: Deps, paymentId: string) =>
  settlePayment(deps, paymentId, 'confirmPayment')

export const rejectPayment = (deps: Deps, paymentId: string) =>
  settlePayment(deps, paymentId, 'rejectPayment')

/** The payment and its order, once the viewer may see them (else the payment does not exist). */
async function visiblePayment(deps: Deps, paymentId: string, viewer: Viewer) {
  const { payment } = await readPayment(deps, paymentId)
  try {
    return { payment, order: await getOrder(deps, payment.order_id, viewer) }
  } catch (err) {
    if (err instanceof ApiError && err.code === 'NOT_FOUND') {
      throw failureToApiError({ code: 'NOT_FOUND' }, subject(paymentId))
    }
    throw err
  }
}

/** A payment as payment-order answers it. */
export async function showPayment(deps: Deps, paymentId: string, viewer: Viewer): Promise<Payment> {
  const { payment, order } = await visiblePayment(deps, paymentId, viewer)
  return presentPayment(payment, order.status)
}

export async function getPayment(
  deps: Deps,
  paymentId: string,
  viewer: Viewer,
): Promise<PaymentWithOrder> {
  const { payment, order } = await visiblePayment(deps, paymentId, viewer)
  return {
    ...presentPayment(payment, order.status),
    total_amount: order.total_amount,
    order_details: order.order_details.map((line) => ({ ...line, detail_id: line.id })),
  }
}
