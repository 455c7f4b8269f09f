import { fromMinorUnits } from '../money.js'
import type { ProductNames } from '../products/schemas.js'
import type { Order, OrderLine, OrderStatus } from './schemas.js'

/** An order line as Redis keeps it: ids and quantities, the unit price in minor units. */
export interface LineRecord {
  product_id: number
  quantity: number
  price: number
}

/** An order as the Lua scripts keep it (every value a string, times in ms). */
export interface OrderRecord {
  id: string
  status: OrderStatus
  customer_id: string
  order_date: string
  updated_at: string
  total: string
  /** Compact lines, see `encodeLines`. */
  lines: string
  reserved_until?: string
  payment_id?: string
  /** An order whose lines span partitions: how many partitions the store has, and its home. */
  parts?: string
  home?: string
  v: string
}

const LINE = /(\d+):(\d+):(\d+)/g

/**
 * Lines as `productId:quantity:unitPrice` joined by `,` (the format of
 * `lua/includes/orderLines.lua`): about 15 bytes a line instead of a JSON object
 * with the product's name, so a 100-line draft stays small.
 */
export function parseLines(encoded: string): LineRecord[] {
  return [...encoded.matchAll(LINE)].map(([, productId, quantity, price]) => ({
    product_id: Number(productId),
    quantity: Number(quantity),
    price: Number(price),
  }))
}

export function encodeLines(lines: readonly LineRecord[]): string {
  return lines.map((l) => `${l.product_id}:${l.quantity}:${l.price}`).join(',')
}

export const iso = (ms: string | number) => new Date(Number(ms)).toISOString()

/** A line's id: its order's id and its place in the order (the original numbered lines). */
export const lineId = (orderId: string, index: number) => `${orderId}:${index + 1}`

/** The original's `product_availability` of a line, from the product's available units. */
export function availability(available: number) {
  return {
    status: available > 0 ? ('available' as const) : ('not_available' as const),
    available_quantity: available,
  }
}

export function presentLines(
  orderId: string,
  lines: readonly LineRecord[],
  names: ProductNames,
  available?: ReadonlyMap<number, number>,
): OrderLine[] {
  return lines.map((line, i) => {
    const left = available?.get(line.product_id)
    return {
      id: lineId(orderId, i),
      product_id: line.product_id,
      product_name: names.get(line.product_id) ?? '',
      quantity: line.quantity,
      price: fromMinorUnits(line.price),
      amount: fromMinorUnits(line.price * line.quantity),
      ...(left !== undefined ? { available: left, product_availability: availability(left) } : {}),
    }
  })
}

export function presentOrder(
  order: OrderRecord,
  names: ProductNames,
  available?: ReadonlyMap<number, number>,
): Order {
  return {
    id: order.id,
    status: order.status,
    customer_id: order.customer_id || null,
    order_date: iso(order.order_date),
    total_amount: fromMinorUnits(order.total),
    ...(order.reserved_until ? { reserved_until: iso(order.reserved_until) } : {}),
    ...(order.payment_id ? { payment_id: order.payment_id } : {}),
    order_details: presentLines(order.id, parseLines(order.lines), names, available),
  }
}
