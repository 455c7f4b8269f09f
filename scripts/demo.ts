/**
 * The 12.12 flash sale, replayed against a running service (`npm run demo`):
 * one product with 100 units, 2,000 buyers at once. It tells the story and
 * checks it: exactly 100 sold, none oversold, 1,900 buyers told "sold out" (and
 * how fast), and Redis and Postgres agreeing once the write-behind catches up.
 * Exits non-zero if any of that fails.
 *
 *   npm start                                        (in another terminal)
 *   npm run demo                                     (the token: ADMIN_TOKEN, or .admin-token)
 *   BASE_URL=http://127.0.0.1:5000 ADMIN_TOKEN=... CUSTOMER_JWT_SECRET=... npm run demo
 *
 * Loopback targets only, unless ALLOW_REMOTE=1. Bounded: 2,000 buyers, 60 s.
 */

import { SignJWT } from 'jose'
import { adminToken } from './lib/adminToken.js'

const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:5000'
const ADMIN_TOKEN = adminToken()
const SECRET = process.env.CUSTOMER_JWT_SECRET
const STOCK = 100
const BUYERS = 2_000
const DEADLINE = Date.now() + 60_000

const host = new URL(BASE_URL).hostname
if (
  !['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host) &&
  process.env.ALLOW_REMOTE !== '1'
) {
  console.error(`Refusing to load ${host}: the demo only targets loopback unless ALLOW_REMOTE=1.`)
  process.exit(2)
}
if (!ADMIN_TOKEN) {
  console.error(
    "Set ADMIN_TOKEN to the service's admin token (npm start keeps one in .admin-token when it is unset).",
  )
  process.exit(2)
}

const json = { 'content-type': 'application/json' }
const admin = { ...json, authorization: `Bearer ${ADMIN_TOKEN}` }
const secret = SECRET ? new TextEncoder().encode(SECRET) : null
async function buyerHeaders(i: number) {
  if (!secret) return json
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`demo-buyer-${i}`)
    .setExpirationTime('10m')
    .sign(secret)
  return { ...json, authorization: `Bearer ${token}` }
}
async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : {} }
}
const ms = (n: number) => `${n.toFixed(1)} ms`
const fail = (message: string) => {
  console.log(`\n✗ ${message}`)
  process.exitCode = 1
}

console.log(
  `12.12 flash sale against ${BASE_URL}${secret ? ' (customer tokens)' : ' (anonymous mode)'}`,
)
const product = await call('POST', '/api/v1/products', admin, {
  name: `12.12 Sepatu Boots ${new Date().toISOString()}`,
  quantity: STOCK,
  price: 100,
})
if (product.status !== 200) {
  console.error(`Could not add the product (${product.status}): ${JSON.stringify(product.body)}`)
  process.exit(1)
}
const productId = product.body.data.id as number
console.log(`• product ${productId}: ${STOCK} units. ${BUYERS} buyers open the app at once…`)

const headers = await Promise.all(Array.from({ length: BUYERS }, (_, i) => buyerHeaders(i)))
const latencies: number[] = []
const outcomes = new Map<string, number>()
const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1)
let soldOutAt = 0
const started = performance.now()

// 2,000 buyers, at most LANES requests on the wire at once (as many phones behind a few gateways).
const LANES = 256
let next = 0
async function buyer(h: Record<string, string>) {
  if (Date.now() > DEADLINE) return count('gave up (deadline)')
  const t = performance.now()
  const created = await call('POST', '/api/v1/create-order', h, {
    products: [{ product_id: productId, quantity: 1 }],
  })
  let outcome = created.body.error?.code ?? 'created'
  if (created.status === 200) {
    const checkout = await call('POST', '/api/v1/checkout-order', h, {
      order_id: created.body.data.id,
    })
    outcome = checkout.status === 200 ? 'reserved' : checkout.body.error?.code
    if (checkout.status === 200) {
      const paid = await call('POST', '/api/v1/payment-order', h, {
        order_id: created.body.data.id,
      })
      const confirmed =
        paid.status === 200 &&
        (await call('PUT', `/api/v1/confirm-payment-order/${paid.body.data.payment_id}`, admin))
          .status === 200
      outcome = confirmed ? 'bought' : 'payment failed'
    }
  }
  latencies.push(performance.now() - t)
  if (outcome === 'OUT_OF_STOCK' && soldOutAt === 0) soldOutAt = performance.now() - started
  count(outcome)
}
await Promise.all(
  Array.from({ length: LANES }, async () => {
    while (next < headers.length) await buyer(headers[next++] as Record<string, string>)
  }),
)
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0

const bought = outcomes.get('bought') ?? 0
const soldOut = outcomes.get('OUT_OF_STOCK') ?? 0
console.log(
  `• ${BUYERS} buyers served in ${seconds.toFixed(2)} s: ${Math.round(BUYERS / seconds)} buyers/s`,
)
console.log(`  each buyer's whole visit: p50 ${ms(pct(0.5))}, p99 ${ms(pct(0.99))}`)
console.log(
  `• ${bought} bought (paid and confirmed); ${soldOut} told "sold out" (409 OUT_OF_STOCK), ` +
    `the first ${ms(soldOutAt)} after the doors opened`,
)
for (const [k, n] of outcomes)
  if (!['bought', 'OUT_OF_STOCK'].includes(k)) console.log(`  ${n} × ${k}`)

const live = await call('GET', '/api/v1/products?per_page=200', json)
const stock = (
  live.body.data as { id: number; stock: { available: number; reserved: number; sold: number } }[]
).find((p) => p.id === productId)?.stock
const oversold = stock ? Math.max(0, stock.sold + stock.reserved - STOCK) : Number.NaN
console.log(`• Redis, live: ${JSON.stringify(stock)} → ${oversold} oversold`)

let check: { status: string; database: unknown } | undefined
for (let i = 0; i < 20 && check?.status !== 'in_sync'; i++) {
  const res = await call(
    'GET',
    `/api/v1/check-product-quantity?product_id=${productId}&wait_ms=2000`,
    admin,
  )
  check = res.body.data?.products?.[0]
}
console.log(
  `• Postgres, derived on its own once the worker caught up: ${JSON.stringify(check?.database)} → ${check?.status}`,
)

if (bought !== STOCK) fail(`expected exactly ${STOCK} sold, got ${bought}`)
if (oversold !== 0) fail(`oversold by ${oversold}`)
if (soldOut !== BUYERS - STOCK)
  fail(`expected ${BUYERS - STOCK} buyers told sold out, got ${soldOut}`)
if (check?.status !== 'in_sync') fail(`Redis and Postgres do not agree: ${check?.status}`)
if (!process.exitCode) {
  console.log(
    `\n✓ ${STOCK} of ${STOCK} sold, 0 oversold, ${soldOut} turned away cleanly, Redis and Postgres agree.`,
  )
}
