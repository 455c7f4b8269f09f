import type { ScriptName } from '../redis/scripts.js'
import type { EventType } from '../worker/events.js'
import type { OrderStatus } from './schemas.js'

/**
 * The life of an order and its payment, declared once. The Lua scripts are
 * the state machine (each checks the state, moves the stock and appends the
 * event in one atomic step); this table says which transitions exist, and
 * test/stateMachine.test.ts holds every script to it: its guards, the
 * statuses it sets and the events it appends. The property test's model
 * (test/property.test.ts) is built from it too.
 *
 *   draft ──checkout──▶ checkout ──pay──▶ paid ──confirm──▶ payment_confirmed
 *     │                   │                  └───reject───▶ payment_rejected
 *     ├──cancel──▶ cancelled ◀──cancel──┤
 *     └──expire──▶ expired   ◀──expire──┘   (a hold that ran out)
 */
export type PaymentStatus = 'paid' | 'confirmed' | 'rejected'

/** What a transition does to each line's units (Vendure's named stock movements). */
export type StockMovement =
  /** available → reserved */
  | 'reserve'
  /** reserved → available */
  | 'release'
  /** reserved → sold */
  | 'sell'

export interface Transition {
  script: ScriptName
  /** The order's status before (null: the order is new). */
  from: OrderStatus | null
  to: OrderStatus
  payment?: { from: PaymentStatus | null; to: PaymentStatus }
  stock: StockMovement | null
  event: EventType
  /** Taken only when the order's hold has run out: the script releases it instead. */
  onExpiredHold?: true
  /** An order already in `to` answers OK and stays as it is (a repeated checkout). */
  repeatOk?: true
}

export const ORDER_STATUSES: readonly OrderStatus[] = [
  'draft',
  'checkout',
  'paid',
  'payment_confirmed',
  'payment_rejected',
  'expired',
  'cancelled',
]

export const PAYMENT_STATUSES: readonly PaymentStatus[] = ['paid', 'confirmed', 'rejected']

export const TRANSITIONS: readonly Transition[] = [
  { script: 'createOrder', from: null, to: 'draft', stock: null, event: 'order_created' },
  {
    script: 'checkoutOrder',
    from: 'draft',
    to: 'checkout',
    stock: 'reserve',
    event: 'order_checkout',
    repeatOk: true,
  },
  {
    script: 'checkoutOrder',
    from: 'checkout',
    to: 'expired',
    stock: 'release',
    event: 'order_expired',
    onExpiredHold: true,
  },
  {
    script: 'payOrder',
    from: 'checkout',
    to: 'paid',
    payment: { from: null, to: 'paid' },
    stock: null,
    event: 'order_paid',
  },
  {
    script: 'payOrder',
    from: 'checkout',
    to: 'expired',
    stock: 'release',
    event: 'order_expired',
    onExpiredHold: true,
  },
  {
    script: 'confirmPayment',
    from: 'paid',
    to: 'payment_confirmed',
    payment: { from: 'paid', to: 'confirmed' },
    stock: 'sell',
    event: 'payment_confirmed',
  },
  {
    script: 'rejectPayment',
    from: 'paid',
    to: 'payment_rejected',
    payment: { from: 'paid', to: 'rejected' },
    stock: 'release',
    event: 'payment_rejected',
  },
  { script: 'cancelOrder', from: 'draft', to: 'cancelled', stock: null, event: 'order_cancelled' },
  {
    script: 'cancelOrder',
    from: 'checkout',
    to: 'cancelled',
    stock: 'release',
    event: 'order_cancelled',
  },
  {
    script: 'expireOrder',
    from: 'checkout',
    to: 'expired',
    stock: 'release',
    event: 'order_expired',
    onExpiredHold: true,
  },
  { script: 'expireDraft', from: 'draft', to: 'expired', stock: null, event: 'order_expired' },
]

/** The transition a script takes from `status` (a hold still running), if it has one. */
export function transitionOf(script: ScriptName, status: OrderStatus | null) {
  return TRANSITIONS.find((t) => t.script === script && t.from === status && !t.onExpiredHold)
}

/** Statuses no transition leaves: the order is over, and Postgres keeps it. */
export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(
  ORDER_STATUSES.filter((s) => !TRANSITIONS.some((t) => t.from === s)),
)

/**
 * The life of a hold: an order's lines reserved in one partition while the
 * order spans several (src/orders/holds.ts). Taken by a checkout, it ends sold
 * when the payment is confirmed, or released otherwise (a refusal elsewhere,
 * cancel, expiry, reject, or the audit after a crash).
 */
export type HoldStatus = 'held' | 'released' | 'sold'

export interface HoldTransition {
  script: ScriptName
  from: HoldStatus | null
  to: HoldStatus
  stock: StockMovement
  event: EventType
}

export const HOLD_TRANSITIONS: readonly HoldTransition[] = [
  { script: 'holdLines', from: null, to: 'held', stock: 'reserve', event: 'stock_held' },
  { script: 'endHold', from: 'held', to: 'released', stock: 'release', event: 'stock_released' },
  { script: 'endHold', from: 'held', to: 'sold', stock: 'sell', event: 'stock_sold' },
]
