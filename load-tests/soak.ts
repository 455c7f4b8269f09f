/**
 * k6 soak: a long run at a low, steady rate that mixes every ending of an
 * order: confirm, reject, cancel, and orders left checked out to expire. At the
 * end, Redis and Postgres must agree and no dead letter may wait.
 * (`npm run load -- soak` without k6.)
 *
 *   k6 run -e BASE_URL=... -e ADMIN_TOKEN=... -e RATE=20 -e DURATION=30m load-tests/soak.ts
 */
import { check } from 'k6'
import type { Options } from 'k6/options'
import { addProduct, endOrder, expectInSync, post, summaryFiles } from './lib.ts'

export const options: Options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE ?? 20),
      timeUnit: '1s',
      duration: __ENV.DURATION ?? '10m',
      preAllocatedVUs: 20,
      maxVUs: 200,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    http_req_duration: ['p(99)<250'],
    checks: ['rate>0.999'],
  },
}

const ENDS = ['confirm', 'reject', 'cancel', 'hold', 'confirm']

export function setup() {
  return { productId: addProduct(`k6 soak ${Date.now()}`, 1_000_000) }
}

export default function (data: { productId: number }) {
  const end = ENDS[Math.floor(Math.random() * ENDS.length)]
  const order = post('/api/v1/create-order', {
    products: [{ product_id: data.productId, quantity: 1 }],
  })
  if (!check(order, { 'create 200': (r) => r.status === 200 })) return
  const id = order.json('data.id') as string
  const checkout = post('/api/v1/checkout-order', { order_id: id })
  if (!check(checkout, { 'checkout 200': (r) => r.status === 200 }) || end === 'hold') return
  endOrder(id, end as string)
}

export function teardown(data: { productId: number }) {
  expectInSync(data.productId)
}

export function handleSummary(data: Record<string, unknown>) {
  return summaryFiles('soak', data)
}
