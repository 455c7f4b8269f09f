import { randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { decimalToMinor, fromMinorUnits } from '../money.js'
import { readArchived } from '../orders/archive.js'
import { iso } from '../orders/records.js'
import type { OrderStatus } from '../orders/schemas.js'
import { getOrder, loadLines } from '../orders/service.js'
import { refuse } from '../recovery/refuse.js'
import type { PaymentRecord } from './records.js'
import type { Payment, PaymentWithOrder } from './schemas.js'
import { type PaymentReply, payOrderScript, settlePaymentScript } from './scripts.js'

const subject = (paymentId: string) => `Payment ${paymentId}`

function presentPayment(payment: PaymentRecord, orderStatus: OrderStatus): Payment {
  return {
    id: payment.id,
    order_id: payment.order_id,
    status: payment.status,
    amount: fromMinorUnits(payment.amount),
    payment_date: iso(payment.payment_date),
    order_date: iso(payment.order_date),
    order_status: orderStatus,
  }
}

function paymentFrom(deps: Deps, reply: PaymentReply, subjectText: string): Payment {
  if (reply.code !== 'OK') return refuse(deps, reply, subjectText)
  return presentPayment(reply.payment, reply.order.status)
}

/** Pays a checked-out order: one script records the payment and stops the expiry clock. */
export async function payOrder(deps: Deps, orderId: string): Promise<Payment> {
  const lines = await loadLines(deps, orderId)
  const reply = await payOrderScript(deps, orderId, lines, uuidv7())
  return paymentFrom(deps, reply, `Order ${orderId}`)
}

interface ArchivedPaymentRow {
  id: string
  order_id: string
  status: Payment['status']
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
  if ((await deps.redis.exists(deps.keys.hydrated)) === 0) {
    return refuse(deps, { code: 'REBUILDING' }, subject(paymentId))
  }
  return refuse(deps, { code: 'NOT_FOUND' }, subject(paymentId))
}

async function settlePayment(
  deps: Deps,
  paymentId: string,
  script: 'confirmPayment' | 'rejectPayment',
): Promise<Payment> {
  const { payment, hot } = await readPayment(deps, paymentId)
  if (!hot) {
    if ((await deps.redis.exists(deps.keys.hydrated)) === 0) {
      return refuse(deps, { code: 'REBUILDING' }, subject(paymentId))
    }
    return refuse(deps, { code: 'INVALID_STATE', status: payment.status }, subject(paymentId))
  }
  const lines = await loadLines(deps, payment.order_id)
  const reply = await settlePaymentScript(deps, script, payment, lines, randomUUID())
  return paymentFrom(deps, reply, subject(paymentId))
}

export const confirmPayment = (deps: Deps, paymentId: string) =>
  settlePayment(deps, paymentId, 'confirmPayment')

export const rejectPayment = (deps: Deps, paymentId: string) =>
  settlePayment(deps, paymentId, 'rejectPayment')

/** A payment as payment-order answers it. */
export async function showPayment(deps: Deps, paymentId: string): Promise<Payment> {
  const { payment } = await readPayment(deps, paymentId)
  const order = await getOrder(deps, payment.order_id)
  return presentPayment(payment, order.status)
}

export async function getPayment(deps: Deps, paymentId: string): Promise<PaymentWithOrder> {
  const { payment } = await readPayment(deps, paymentId)
  const order = await getOrder(deps, payment.order_id)
  return {
    ...presentPayment(payment, order.status),
    order: {
      id: order.id,
      status: order.status,
      total_amount: order.total_amount,
      lines: order.lines,
    },
  }
}
