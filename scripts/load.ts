/**
 * The k6 scenarios of load-tests/ in Node, for machines without k6, with the same
 * invariants, against a running service:
 *
 *   ADMIN_TOKEN=... npm run load -- flash-sale   buyers race for a small stock; exactly the stock sells
 *   ADMIN_TOKEN=... npm run load -- smoke        every endpoint once, in order
 *   ADMIN_TOKEN=... npm run load -- soak         a long, low-rate mix of pay, confirm, reject, cancel and expiry
 *
 * Settings: BASE_URL, ADMIN_TOKEN, CUSTOMER_JWT_SECRET (when customer tokens are on),
 * STOCK, BUYERS, CONCURRENCY (flash-sale), RATE (soak lifecycles a second), MAX_SECONDS.
 * Bounded in requests and time, and aimed at loopback unless ALLOW_REMOTE=1.
 * Shows a progress line, prints a summary table, exits non-zero if an invariant fails.
 */

import { SignJWT } from 'jose'
import { adminToken } from './lib/adminToken.js'

const scenario = process.argv[2] ?? 'flash-sale'
const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:5000'
const ADMIN_TOKEN = adminToken()
const SECRET = process.env.CUSTOMER_JWT_SECRET
const STOCK = Number(process.env.STOCK ?? 100)
const BUYERS = Math.min(Number(process.env.BUYERS ?? 2000), 100_000)
const CONCURRENCY = Math.min(Number(process.env.CONCURRENCY ?? 200), 2000)
const RATE = Math.min(Number(process.env.RATE ?? 20), 1000)
const MAX_SECONDS = Math.min(
  Number(process.env.MAX_SECONDS ?? (scenario === 'soak' ? 60 : 60)),
  3600,
)
const DEADLINE = Date.now() + MAX_SECONDS * 1000

const host = new URL(BASE_URL).hostname
if (
  !['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host) &&
  process.env.ALLOW_REMOTE !== '1'
) {
  console.error(`Refusing to load ${host}: only loopback targets unless ALLOW_REMOTE=1.`)
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
const tokens = new Map<string, Promise<Record<string, string>>>()
/** Headers for a shopper: a customer token for `who` when tokens are on. */
function shopper(who: string) {
  if (!secret) return Promise.resolve(json)
  let headers = tokens.get(who)
  if (!headers) {
    headers = new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(who)
      .setExpirationTime('1h')
      .sign(secret)
      .then((token) => ({ ...json, authorization: `Bearer ${token}` }))
    tokens.set(who, headers)
  }
  return headers
}

const outcomes = new Map<string, number>()
const latencies: number[] = []
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
let requests = 0
const started = performance.now()

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const t = performance.now()
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  latencies.push(performance.now() - t)
  requests += 1
  if (res.status >= 500) count(`${method} ${path.split('/').slice(0, 4).join('/')} ${res.status}`)
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read freely here
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as any }
}

const progress = setInterval(() => {
  const s = (performance.now() - started) / 1000
  process.stdout.write(
    `\r${scenario}: ${requests} requests in ${s.toFixed(0)} s (${Math.round(requests / s)}/s)   `,
  )
}, 1000)

async function addProduct(name: string, quantity: number) {
  const res = await call('POST', '/api/v1/products', admin, { name, quantity, price: 99.99 })
  if (res.status !== 200)
    throw new Error(`could not add the product: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.data.id as number
}

/** Waits for the worker, then every product the scenario touched must be in sync. */
async function expectInSync(productIds: number[], failures: string[]) {
  for (const id of productIds) {
    let status = ''
    for (let i = 0; i < 15 && status !== 'in_sync'; i++) {
      const res = await call(
        'GET',
        `/api/v1/check-product-quantity?product_id=${id}&wait_ms=2000`,
        admin,
      )
      status = res.body.data?.products?.[0]?.status ?? `HTTP ${res.status}`
    }
    if (status !== 'in_sync') failures.push(`product ${id} is ${status}, not in_sync`)
  }
  const ready = await call('GET', '/readyz', json)
  const dead = ready.body.write_behind?.dead_letters ?? 0
  if (dead > 0) failures.push(`${dead} dead letters`)
}

async function flashSale(failures: string[]) {
  const productId = await addProduct(`load flash sale ${new Date().toISOString()}`, STOCK)
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < BUYERS && Date.now() < DEADLINE) {
        const i = next++
        const h = await shopper(`load-buyer-${i}`)
        const order = await call('POST', '/api/v1/create-order', h, {
          products: [{ product_id: productId, quantity: 1 }],
        })
        if (order.status !== 200) {
          count(`create ${order.status} ${order.body.error?.code}`)
          continue
        }
        const checkout = await call('POST', '/api/v1/checkout-order', h, {
          order_id: order.body.data.id,
        })
        count(
          checkout.status === 200
            ? 'reserved'
            : `checkout ${checkout.status} ${checkout.body.error?.code}`,
        )
      }
    }),
  )
  const list = await call('GET', '/api/v1/products?per_page=200', json)
  const stock = (
    list.body.data as { id: number; stock: { available: number; reserved: number; sold: number } }[]
  ).find((p) => p.id === productId)?.stock
  const reserved = outcomes.get('reserved') ?? 0
  if (!stock || stock.available < 0) failures.push(`stock went negative: ${JSON.stringify(stock)}`)
  if (reserved > STOCK) failures.push(`oversold: ${reserved} reserved of ${STOCK}`)
  if (BUYERS >= STOCK && reserved !== STOCK)
    failures.push(`expected exactly ${STOCK} reserved, got ${reserved}`)
  await expectInSync([productId], failures)
}

/** One order's whole life, ending as chosen. */
async function lifecycle(
  productId: number,
  who: string,
  end: 'confirm' | 'reject' | 'cancel' | 'hold',
) {
  const h = await shopper(who)
  const order = await call('POST', '/api/v1/create-order', h, {
    products: [{ product_id: productId, quantity: 1 }],
  })
  if (order.status !== 200) return count(`create ${order.status} ${order.body.error?.code}`)
  const id = order.body.data.id as string
  if ((await call('GET', `/api/v1/order/${id}`, h)).status !== 200) return count('get order failed')
  const checkout = await call('POST', '/api/v1/checkout-order', h, { order_id: id })
  if (checkout.status !== 200)
    return count(`checkout ${checkout.status} ${checkout.body.error?.code}`)
  if (end === 'hold') return count('held (left to expire)')
  if (end === 'cancel') {
    const cancelled = await call('POST', '/api/v1/cancel-order', h, { order_id: id })
    return count(cancelled.status === 200 ? 'cancelled' : `cancel ${cancelled.status}`)
  }
  const paid = await call('POST', '/api/v1/payment-order', h, { order_id: id })
  if (paid.status !== 200) return count(`pay ${paid.status} ${paid.body.error?.code}`)
  const paymentId = paid.body.data.payment_id as string
  const decided = await call('PUT', `/api/v1/${end}-payment-order/${paymentId}`, admin)
  const read = await call('GET', `/api/v1/payment-order/${paymentId}`, h)
  count(decided.status === 200 && read.status === 200 ? `${end}ed` : `${end} ${decided.status}`)
}

async function smoke(failures: string[]) {
  if ((await call('GET', '/healthz', json)).status !== 200) failures.push('healthz')
  if ((await call('GET', '/api/v1/products', json)).status !== 200) failures.push('list products')
  const productId = await addProduct(`load smoke ${new Date().toISOString()}`, 10)
  const restock = await call('POST', `/api/v1/products/${productId}/restock`, admin, {
    quantity: 5,
  })
  if (restock.status !== 200) failures.push(`restock ${restock.status}`)
  for (const end of ['confirm', 'reject', 'cancel', 'hold'] as const)
    await lifecycle(productId, `smoke-${end}`, end)
  for (const outcome of ['confirmed', 'rejected', 'cancelled', 'held (left to expire)']) {
    if (!outcomes.has(outcome)) failures.push(`no ${outcome} order`)
  }
  await expectInSync([productId], failures)
}

async function soak(failures: string[]) {
  const productId = await addProduct(`load soak ${new Date().toISOString()}`, 1_000_000)
  const ends = ['confirm', 'reject', 'cancel', 'hold', 'confirm'] as const
  let i = 0
  const inFlight = new Set<Promise<unknown>>()
  while (Date.now() < DEADLINE) {
    const run = lifecycle(
      productId,
      `soak-${i % 50}`,
      ends[i % ends.length] as (typeof ends)[number],
    )
    inFlight.add(run)
    void run.finally(() => inFlight.delete(run))
    i += 1
    await new Promise((resolve) => setTimeout(resolve, 1000 / RATE))
  }
  await Promise.all(inFlight)
  await expectInSync([productId], failures)
}

const failures: string[] = []
try {
  if (scenario === 'flash-sale') await flashSale(failures)
  else if (scenario === 'smoke') await smoke(failures)
  else if (scenario === 'soak') await soak(failures)
  else {
    console.error(`Unknown scenario ${scenario}: flash-sale, smoke or soak.`)
    process.exit(2)
  }
} catch (err) {
  failures.push(String(err))
}
clearInterval(progress)
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number) =>
  (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(1)
console.log('\n')
console.table(Object.fromEntries([...outcomes].sort()))
console.table({
  requests: { value: requests },
  'requests/s': { value: Math.round(requests / seconds) },
  'p50 ms': { value: pct(0.5) },
  'p99 ms': { value: pct(0.99) },
  seconds: { value: seconds.toFixed(1) },
})
const serverErrors = [...outcomes.keys()].filter((k) => / 5\d\d$/.test(k))
if (serverErrors.length > 0) failures.push(`server errors: ${serverErrors.join(', ')}`)
if (failures.length > 0) {
  console.log(`FAILED (${scenario}):\n- ${failures.join('\n- ')}`)
  process.exit(1)
}
console.log(`OK (${scenario}): every invariant held.`)
