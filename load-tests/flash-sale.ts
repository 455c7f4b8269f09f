/**
 * k6 flash sale: many buyers race for a small stock. Every buyer creates an
 * order and checks it out; the store must sell exactly the stock, never more.
 *
 *   docker compose --profile load run --rm k6
 *   k6 run -e BASE_URL=http://127.0.0.1:5000 -e ADMIN_TOKEN=... load-tests/flash-sale.ts
 */
import { check, fail } from 'k6'
import http from 'k6/http'
import { Counter } from 'k6/metrics'
import type { Options } from 'k6/options'

const BASE_URL = __ENV.BASE_URL ?? 'http://127.0.0.1:5000'
const ADMIN_TOKEN = __ENV.ADMIN_TOKEN ?? ''
const STOCK = Number(__ENV.STOCK ?? 100)
const BUYERS = Number(__ENV.BUYERS ?? 2000)

const reserved = new Counter('checkouts_reserved')
const soldOut = new Counter('checkouts_out_of_stock')

export const options: Options = {
  scenarios: {
    flash_sale: {
      executor: 'shared-iterations',
      vus: Math.min(BUYERS, 200),
      iterations: BUYERS,
      maxDuration: '2m',
    },
  },
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: false }],
    checks: ['rate>0.99'],
    checkouts_reserved: [`count<=${STOCK}`],
  },
}

const json = { 'content-type': 'application/json' }

export function setup() {
  const res = http.post(
    `${BASE_URL}/api/v1/products`,
    JSON.stringify({ name: `k6 flash sale ${Date.now()}`, quantity: STOCK, price: 99.99 }),
    { headers: { ...json, authorization: `Bearer ${ADMIN_TOKEN}` } },
  )
  if (res.status !== 201) fail(`could not add the product: ${res.status} ${res.body}`)
  return { productId: (res.json('data.id') as number) ?? 0 }
}

export default function (data: { productId: number }) {
  const created = http.post(
    `${BASE_URL}/api/v1/create-order`,
    JSON.stringify({ products: [{ product_id: data.productId, quantity: 1 }] }),
    { headers: json, responseCallback: http.expectedStatuses(201, 409) },
  )
  if (created.status !== 201) {
    soldOut.add(1)
    return
  }
  const checkout = http.post(
    `${BASE_URL}/api/v1/checkout-order`,
    JSON.stringify({ order_id: created.json('data.id') }),
    { headers: json, responseCallback: http.expectedStatuses(200, 409) },
  )
  check(checkout, {
    'checkout reserved or out of stock': (r) =>
      r.status === 200 || (r.status === 409 && r.json('error.code') === 'OUT_OF_STOCK'),
  })
  if (checkout.status === 200) reserved.add(1)
  else soldOut.add(1)
}

export function teardown(data: { productId: number }) {
  const res = http.get(`${BASE_URL}/api/v1/products?per_page=200`)
  const products = res.json('data') as {
    id: number
    stock: { available: number; reserved: number }
  }[]
  const product = products.find((p) => p.id === data.productId)
  check(product, {
    'never oversold: available >= 0': (p) => p !== undefined && p.stock.available >= 0,
    'reserved never exceeds the stock': (p) => p !== undefined && p.stock.reserved <= STOCK,
  })
}
