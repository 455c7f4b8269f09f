/**
 * k6 flash sale: many buyers race for a small stock. Every buyer creates an
 * order and checks it out; the store must sell exactly the stock, never more.
 *
 *   docker compose --profile load run --rm k6
 *   k6 run -e BASE_URL=http://127.0.0.1:5000 -e ADMIN_TOKEN=... load-tests/flash-sale.ts
 *   k6 run -e MODE=rate -e RATE=500 ... load-tests/flash-sale.ts   (constant arrival rate)
 *
 * Without k6: `npm run load -- flash-sale` runs the same scenario and checks.
 */
import { check } from 'k6'
import http from 'k6/http'
import { Counter } from 'k6/metrics'
import type { Options } from 'k6/options'
import { addProduct, BASE_URL, expectInSync, json, route, stockOf, summaryFiles } from './lib.ts'

const STOCK = Number(__ENV.STOCK ?? 100)
const BUYERS = Number(__ENV.BUYERS ?? 2000)
const RATE = Number(__ENV.RATE ?? 500)

const reserved = new Counter('checkouts_reserved')
const soldOut = new Counter('checkouts_out_of_stock')

const shared = {
  executor: 'shared-iterations' as const,
  vus: Math.min(BUYERS, 200),
  iterations: BUYERS,
  maxDuration: '2m',
}
const arrival = {
  executor: 'constant-arrival-rate' as const,
  rate: RATE,
  timeUnit: '1s',
  duration: `${Math.ceil(BUYERS / RATE)}s`,
  preAllocatedVUs: 100,
  maxVUs: 1000,
}

export const options: Options = {
  scenarios: { flash_sale: __ENV.MODE === 'rate' ? arrival : shared },
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: false }],
    http_req_duration: ['p(99)<500'],
    checks: ['rate>0.99'],
    checkouts_reserved: [`count<=${STOCK}`],
  },
}

export function setup() {
  return { productId: addProduct(`k6 flash sale ${Date.now()}`, STOCK) }
}

export default function (data: { productId: number }) {
  const created = http.post(
    `${BASE_URL}/api/v1/create-order`,
    JSON.stringify({ products: [{ product_id: data.productId, quantity: 1 }] }),
    {
      headers: json,
      responseCallback: http.expectedStatuses(200, 409),
      tags: route('POST /api/v1/create-order'),
    },
  )
  if (created.status !== 200) {
    soldOut.add(1)
    return
  }
  const checkout = http.post(
    `${BASE_URL}/api/v1/checkout-order`,
    JSON.stringify({ order_id: created.json('data.id') }),
    {
      headers: json,
      responseCallback: http.expectedStatuses(200, 409),
      tags: route('POST /api/v1/checkout-order'),
    },
  )
  check(checkout, {
    'checkout reserved or out of stock': (r) =>
      r.status === 200 || (r.status === 409 && r.json('error.code') === 'OUT_OF_STOCK'),
  })
  if (checkout.status === 200) reserved.add(1)
  else soldOut.add(1)
}

export function teardown(data: { productId: number }) {
  const stock = stockOf(data.productId)
  check(stock, {
    'never oversold: available >= 0': (s) => s !== undefined && s.available >= 0,
    'exactly the stock sold (reserved) once buyers outnumber it': (s) =>
      s !== undefined && (BUYERS < STOCK || s.reserved + s.sold === STOCK),
  })
  expectInSync(data.productId)
}

export function handleSummary(data: Record<string, unknown>) {
  return summaryFiles('flash-sale', data)
}
