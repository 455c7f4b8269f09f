import { randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { decimalToMinor, fromMinorUnits } from '../money.js'
import { scriptFailure } from '../orders/outcomes.js'
import { iso, type OrderRecord } from '../orders/records.js'
import type { OrderStatus } from '../orders/schemas.js'
import { getOrder, lineKeys, loadLines } from '../orders/service.js'
import { runScript, type ScriptName } from '../redis/scripts.js'
import type { PaymentRecord } from './records.js'
import type { Payment, PaymentWithOrder } from './schemas.js'

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

/** Pays a checked-out order: one script records the payment and stops the expiry clock. */
export async function payOrder(deps: Deps, orderId: string): Promise<Payment> {
  const { redis, keys } = deps
  const paymentId = uuidv7()
  const { keys: lineKeyList, productIds } = lineKeys(keys, await loadLines(deps, orderId))
  const reply = await runScript(
    redis,
    'payOrder',
    [keys.order(orderId), keys.reservations, keys.events, keys.payment(paymentId), ...lineKeyList],
    [productIds, paymentId],
  )
  if (reply[0] !== 'OK') throw scriptFailure(reply, `Order ${orderId}`)
  const order = JSON.parse(String(reply[1])) as OrderRecord
  return presentPayment(JSON.parse(String(reply[2])) as PaymentRecord, order.status)
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
  const archived = await readArchivedPayment(deps, paymentId)
  if (archived) return { payment: archived, hot: false }
  throw scriptFailure(['NOT_FOUND'], subject(paymentId))
}

async function settlePayment(deps: Deps, paymentId: string, script: ScriptName): Promise<Payment> {
  const { redis, keys } = deps
  const { payment, hot } = await readPayment(deps, paymentId)
  if (!hot) throw scriptFailure(['INVALID_STATE', payment.status], subject(paymentId))
  const { keys: lineKeyList, productIds } = lineKeys(keys, await loadLines(deps, payment.order_id))
  const reply = await runScript(
    redis,
    script,
    [
      keys.order(payment.order_id),
      keys.reservations,
      keys.events,
      keys.payment(paymentId),
      ...lineKeyList,
    ],
    [productIds, randomUUID()],
  )
  if (reply[0] !== 'OK') throw scriptFailure(reply, subject(paymentId))
  const order = JSON.parse(String(reply[1])) as OrderRecord
  return presentPayment(JSON.parse(String(reply[2])) as PaymentRecord, order.status)
}

export const confirmPayment = (deps: Deps, paymentId: string) =>
  settlePayment(deps, paymentId, 'confirmPayment')

export const rejectPayment = (deps: Deps, paymentId: string) =>
  settlePayment(deps, paymentId, 'rejectPayment')

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
