/**
 * k6 smoke test: every endpoint once, in the order a sale uses them, by one
 * user. Run it after every deploy. (`npm run load -- smoke` without k6.)
 */
import { check } from 'k6'
import http from 'k6/http'
import type { Options } from 'k6/options'
import {
  addProduct,
  admin,
  BASE_URL,
  endOrder,
  expectInSync,
  post,
  route,
  summaryFiles,
} from './lib.ts'

export const options: Options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ['rate==1'] },
}

export default function () {
  check(http.get(`${BASE_URL}/healthz`, { tags: route('GET /healthz') }), {
    'healthz 200': (r) => r.status === 200,
  })
  check(http.get(`${BASE_URL}/api/v1/products`, { tags: route('GET /api/v1/products') }), {
    'list 200': (r) => r.status === 200,
  })
  const productId = addProduct(`k6 smoke ${Date.now()}`, 10)
  const restock = http.post(
    `${BASE_URL}/api/v1/products/${productId}/restock`,
    JSON.stringify({ quantity: 5 }),
    { headers: admin, tags: route('POST /api/v1/products/{id}/restock') },
  )
  check(restock, { 'restock 200': (r) => r.status === 200 })
  for (const end of ['confirm', 'reject', 'cancel']) {
    const order = post('/api/v1/create-order', {
      products: [{ product_id: productId, quantity: 1 }],
    })
    const id = order.json('data.id') as string
    check(
      http.get(`${BASE_URL}/api/v1/order/${id}`, { tags: route('GET /api/v1/order/{order_id}') }),
      {
        'get order 200': (r) => r.status === 200,
      },
    )
    const checkout = post('/api/v1/checkout-order', { order_id: id })
    check(checkout, { 'checkout 200': (r) => r.status === 200 })
    const paymentId = endOrder(id, end)
    if (!paymentId) continue
    const payment = http.get(`${BASE_URL}/api/v1/payment-order/${paymentId}`, {
      tags: route('GET /api/v1/payment-order/{payment_id}'),
    })
    check(payment, {
      'get payment 200': (r) => r.status === 200,
    })
  }
  expectInSync(productId)
}

export function handleSummary(data: Record<string, unknown>) {
  return summaryFiles('smoke', data)
}
