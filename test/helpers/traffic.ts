import type { Api } from './api.js'

/** The status each order last reached with a 2xx answer: what the store acknowledged. */
export type Acknowledged = Map<string, string>

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Drives whole order lifecycles (confirm, reject, cancel, and orders left paid,
 * checked out or draft) until `keepGoing()` says stop or `maxOrders` is reached.
 * A failed step ends that order's lifecycle; only 2xx answers are recorded.
 */
export async function runTraffic(
  store: Api,
  productId: number,
  options: { lanes: number; paceMs: number; maxOrders: number; keepGoing: () => boolean },
): Promise<Acknowledged> {
  const acknowledged: Acknowledged = new Map()
  let started = 0

  async function lifecycle(i: number) {
    const created = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
    if (created.status !== 200) return
    const orderId = created.body.data.id as string
    acknowledged.set(orderId, 'draft')
    if (i % 6 === 5) return
    if ((await store.checkout(orderId)).status !== 200) return
    acknowledged.set(orderId, 'checkout')
    if (i % 6 === 4) return
    if (i % 6 === 2) {
      if ((await store.cancel(orderId)).status === 200) acknowledged.set(orderId, 'cancelled')
      return
    }
    const paid = await store.pay(orderId)
    if (paid.status !== 200) return
    acknowledged.set(orderId, 'paid')
    if (i % 6 === 3) return
    const decided =
      i % 6 === 0
        ? await store.confirm(paid.body.data.payment_id)
        : await store.reject(paid.body.data.payment_id)
    if (decided.status === 200)
      acknowledged.set(orderId, i % 6 === 0 ? 'payment_confirmed' : 'payment_rejected')
  }

  await Promise.all(
    Array.from({ length: options.lanes }, async () => {
      while (started < options.maxOrders && options.keepGoing()) {
        const i = started++
        await lifecycle(i).catch(() => {})
        await sleep(options.paceMs)
      }
    }),
  )
  return acknowledged
}
