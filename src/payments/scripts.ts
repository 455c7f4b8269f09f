import type { Deps } from '../deps.js'
import type { LineRecord, OrderRecord } from '../orders/records.js'
import { lineKeys } from '../orders/scripts.js'
import { type Failure, failureFrom, jsonValue } from '../redis/replies.js'
import { type RawReply, runScript } from '../redis/scripts.js'
import type { PaymentRecord } from './records.js'

type Ctx = Pick<Deps, 'redis' | 'keys'>

export type PaymentReply = { code: 'OK'; order: OrderRecord; payment: PaymentRecord } | Failure

function paymentReply(
  name: 'payOrder' | 'confirmPayment' | 'rejectPayment',
  raw: RawReply,
): PaymentReply {
  if (raw[0] !== 'OK') return failureFrom(name, raw)
  return {
    code: 'OK',
    order: jsonValue<OrderRecord>(raw[1]),
    payment: jsonValue<PaymentRecord>(raw[2]),
  }
}

/** lua/payOrder.lua */
export async function payOrderScript(
  ctx: Ctx,
  orderId: string,
  lines: readonly LineRecord[],
  paymentId: string,
): Promise<PaymentReply> {
  const { keys } = ctx
  const line = lineKeys(ctx, lines)
  const home = keys.partition(keys.orderPartition(orderId))
  const raw = await runScript(
    ctx.redis,
    'payOrder',
    [
      home.hydrated,
      keys.order(orderId),
      home.reservations,
      home.events,
      keys.payment(paymentId),
      home.openOrders,
      ...line.keys,
    ],
    [line.productIds, paymentId],
  )
  return paymentReply('payOrder', raw)
}

/** lua/confirmPayment.lua and lua/rejectPayment.lua */
export async function settlePaymentScript(
  ctx: Ctx,
  script: 'confirmPayment' | 'rejectPayment',
  payment: Pick<PaymentRecord, 'id' | 'order_id'>,
  lines: readonly LineRecord[],
  requestId: string,
): Promise<PaymentReply> {
  const { keys } = ctx
  const line = lineKeys(ctx, lines)
  const home = keys.partition(keys.orderPartition(payment.order_id))
  const raw = await runScript(
    ctx.redis,
    script,
    [
      home.hydrated,
      keys.order(payment.order_id),
      home.events,
      keys.payment(payment.id),
      ...line.keys,
    ],
    [line.productIds, requestId],
  )
  return paymentReply(script, raw)
}
