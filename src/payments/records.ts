import type { Payment } from './schemas.js'

/** A payment as the Lua scripts keep it (every value a string, times in ms). */
export interface PaymentRecord {
  id: string
  order_id: string
  status: Payment['payment_status']
  amount: string
  payment_date: string
  order_date: string
  v: string
}
