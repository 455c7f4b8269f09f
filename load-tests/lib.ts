/** Shared by the k6 scenarios: settings, headers, and the invariant checks. */

import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js'
import { check } from 'k6'
import http from 'k6/http'

export const BASE_URL = __ENV.BASE_URL ?? 'http://127.0.0.1:5000'
export const ADMIN_TOKEN = __ENV.ADMIN_TOKEN ?? ''
export const json = { 'content-type': 'application/json' }
export const admin = { ...json, authorization: `Bearer ${ADMIN_TOKEN}` }

/**
 * Tags a request with its route's pattern, so k6 keeps one time series per
 * route (`GET /api/v1/order/{id}`), not one per order id.
 */
export const route = (name: string) => ({ name })

export function addProduct(name: string, quantity: number): number {
  const res = http.post(
    `${BASE_URL}/api/v1/products`,
    JSON.stringify({ name, quantity, price: 99.99 }),
    { headers: admin, tags: route('POST /api/v1/products') },
  )
  if (res.status !== 200) throw new Error(`could not add the product: ${res.status} ${res.body}`)
  return res.json('data.id') as number
}

/** Waits for the write-behind, then checks the product is in sync and no dead letter waits. */
export function expectInSync(productId: number): boolean {
  let status = ''
  for (let i = 0; i < 15 && status !== 'in_sync'; i++) {
    const res = http.get(
      `${BASE_URL}/api/v1/check-product-quantity?product_id=${productId}&wait_ms=2000`,
      { headers: admin, tags: route('GET /api/v1/check-product-quantity') },
    )
    status = (res.json('data.products.0.status') as string) ?? `HTTP ${res.status}`
  }
  const ready = http.get(`${BASE_URL}/readyz`, { tags: route('GET /readyz') })
  return check(null, {
    'Redis and Postgres agree (in_sync)': () => status === 'in_sync',
    'no dead letters': () => (ready.json('write_behind.dead_letters') as number) === 0,
  })
}

/** The product's live counters, from the public list. */
export function stockOf(productId: number) {
  const products = http
    .get(`${BASE_URL}/api/v1/products?per_page=200`, { tags: route('GET /api/v1/products') })
    .json('data') as {
    id: number
    stock: { available: number; reserved: number; sold: number }
  }[]
  return products.find((p) => p.id === productId)?.stock
}

/**
 * handleSummary: k6's standard end-of-test summary on stdout, as without it,
 * and the whole summary as JSON in K6_RESULTS_DIR (compose mounts
 * load-tests/results there, so it outlives the container).
 */
export function summaryFiles(name: string, data: Record<string, unknown>) {
  const dir = __ENV.K6_RESULTS_DIR ?? '.'
  return {
    stdout: textSummary(data, { indent: ' ', enableColors: true }),
    [`${dir}/${name}-summary.json`]: JSON.stringify(data, null, 2),
  }
}

/** A JSON POST to the store (its paths carry no ids: the path is the route). */
export function post(path: string, body: unknown, headers: Record<string, string> = json) {
  return http.post(`${BASE_URL}${path}`, JSON.stringify(body), {
    headers,
    tags: route(`POST ${path}`),
  })
}

/**
 * Ends a checked-out order as chosen: cancelled, or paid and then confirmed or
 * rejected by the admin. Returns the payment id when there is one.
 */
export function endOrder(orderId: string, end: string): string | undefined {
  if (end === 'cancel') {
    check(post('/api/v1/cancel-order', { order_id: orderId }), {
      'cancel 200': (r) => r.status === 200,
    })
    return undefined
  }
  const paid = post('/api/v1/payment-order', { order_id: orderId })
  if (!check(paid, { 'pay 200': (r) => r.status === 200 })) return undefined
  const paymentId = paid.json('data.payment_id') as string
  const decided = http.put(`${BASE_URL}/api/v1/${end}-payment-order/${paymentId}`, null, {
    headers: admin,
    tags: route(`PUT /api/v1/${end}-payment-order/{payment_id}`),
  })
  check(decided, { [`${end} 200`]: (r) => r.status === 200 })
  return paymentId
}
