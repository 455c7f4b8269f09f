import type { OrderRecord } from '../orders/records.js'
import type { PaymentRecord } from '../payments/records.js'

/**
 * Every event type, with the script that appends it and what the sink writes
 * for it (`src/worker/sink.ts`): grep a type to go from a script to its sink.
 */
export const EVENT_TYPES = {
  order_created: 'createOrder → orders, order_details',
  order_checkout: 'checkoutOrder → orders, stock mirror',
  order_paid: 'payOrder → orders, payments',
  order_cancelled: 'cancelOrder → orders, stock mirror',
  order_expired: 'expireOrder, expireDraft, checkoutOrder, payOrder → orders, stock mirror',
  payment_confirmed: 'confirmPayment → payments, orders, stock mirror',
  payment_rejected: 'rejectPayment → payments, orders, stock mirror',
  stock_restock: 'restockProduct → stock_ledger, stock mirror',
  stock_adjustment: 'restockProduct → stock_ledger, stock mirror',
  stock_reconciled: 'repairStock → stock mirror',
  product_updated: 'updateProduct → products (catalogue fields)',
  stock_held: 'holdLines → order_holds, stock mirror',
  stock_released: 'endHold → order_holds, stock mirror',
  stock_sold: 'endHold → order_holds, stock mirror',
} as const

export type EventType = keyof typeof EVENT_TYPES

/** One entry of the write-behind stream, as the Lua scripts append it. */
export interface StoreEvent {
  id: string
  type: EventType
  at: number
  order?: OrderSnapshot
  payment?: PaymentSnapshot
  stock?: StockSnapshot[]
  ledger?: LedgerSnapshot
  product?: ProductSnapshot
  hold?: HoldSnapshot
}

/** An order's hold of its lines in a partition other than its home (holdLines.lua). */
export interface HoldSnapshot {
  order_id: string
  home: string
  customer_id: string
  /** 'productId:quantity' joined by ','. */
  lines: string
  until: string
  status: 'held' | 'released' | 'sold'
  v: string
  /** The checkout attempt that took it (none on a hold the rebuild restored). */
  attempt?: string
}

/** A product's catalogue fields after updateProduct (strings; '' is none). */
export interface ProductSnapshot {
  id: string
  name: string
  price: string
  status: 'active' | 'inactive'
  max_per_customer: string
  lead_time: string
  most_lead_time: string
  sale_starts: string
  sale_ends: string
  cv: string
}

/** Events carry the whole order and payment hashes, as the scripts keep them. */
export type OrderSnapshot = OrderRecord
export type PaymentSnapshot = PaymentRecord

export interface StockSnapshot {
  id: string
  available: string
  reserved: string
  sold: string
  v: string
}

export interface LedgerSnapshot {
  id: string
  product_id: string
  kind: string
  quantity: string
}

export class PoisonEventError extends Error {}

/** Parses a raw stream entry; a malformed one is poison and goes to the dead-letter stream. */
export function parseEvent(id: string, flat: string[]): StoreEvent {
  const fields = new Map<string, string>()
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string)
  const type = fields.get('type')
  if (!type) throw new PoisonEventError(`event ${id} has no type`)
  if (!(type in EVENT_TYPES)) throw new PoisonEventError(`event ${id} has unknown type ${type}`)
  const json = <T>(name: string): T | undefined => {
    const raw = fields.get(name)
    if (raw === undefined) return undefined
    try {
      return JSON.parse(raw) as T
    } catch {
      throw new PoisonEventError(`event ${id} has malformed ${name}`)
    }
  }
  const stock = json<StockSnapshot[] | Record<string, never>>('stock')
  return {
    id,
    type: type as EventType,
    at: Number(fields.get('at') ?? 0),
    order: json<OrderSnapshot>('order'),
    payment: json<PaymentSnapshot>('payment'),
    stock: Array.isArray(stock) ? stock : [],
    ledger: json<LedgerSnapshot>('ledger'),
    product: json<ProductSnapshot>('product'),
    hold: json<HoldSnapshot>('hold'),
  }
}
