import type { OrderRecord } from '../orders/records.js'
import type { PaymentRecord } from '../payments/records.js'

/** One entry of the write-behind stream, as the Lua scripts append it. */
export interface StoreEvent {
  id: string
  type: string
  at: number
  order?: OrderSnapshot
  payment?: PaymentSnapshot
  stock?: StockSnapshot[]
  ledger?: LedgerSnapshot
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
    type,
    at: Number(fields.get('at') ?? 0),
    order: json<OrderSnapshot>('order'),
    payment: json<PaymentSnapshot>('payment'),
    stock: Array.isArray(stock) ? stock : [],
    ledger: json<LedgerSnapshot>('ledger'),
  }
}
