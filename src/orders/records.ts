import { fromMinorUnits } from '../money.js'
import type { Order, OrderStatus } from './schemas.js'

/** An order line as stored in Redis; money in minor units. */
export interface LineRecord {
  product_id: number
  product_name: string
  quantity: number
  price: string
  amount: string
}

/** An order as the Lua scripts keep it (every value a string, times in ms). */
export interface OrderRecord {
  id: string
  status: OrderStatus
  customer_id: string
  order_date: string
  updated_at: string
  total: string
  lines: string
  reserved_until?: string
  payment_id?: string
  v: string
}

export function parseLines(order: Pick<OrderRecord, 'lines'>): LineRecord[] {
  return JSON.parse(order.lines) as LineRecord[]
}

const iso = (ms: string | number) => new Date(Number(ms)).toISOString()

export function presentOrder(order: OrderRecord, available?: Record<string, number>): Order {
  return {
    id: order.id,
    status: order.status,
    customer_id: order.customer_id || null,
    order_date: iso(order.order_date),
    total_amount: fromMinorUnits(order.total),
    ...(order.reserved_until ? { reserved_until: iso(order.reserved_until) } : {}),
    ...(order.payment_id ? { payment_id: order.payment_id } : {}),
    lines: parseLines(order).map((line) => ({
      product_id: line.product_id,
      product_name: line.product_name,
      quantity: line.quantity,
      price: fromMinorUnits(line.price),
      amount: fromMinorUnits(line.amount),
      ...(available?.[line.product_id] !== undefined
        ? { available: available[line.product_id] }
        : {}),
    })),
  }
}

export { iso }
