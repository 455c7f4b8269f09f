/**
 * The k6 flash sale (load-tests/flash-sale.ts) for machines without k6: many
 * buyers race for a small stock against a running service, then the script
 * checks that exactly the stock was sold. Bounded in requests and time, and
 * aimed at loopback unless ALLOW_REMOTE=1.
 *
 *   ADMIN_TOKEN=... npm run load
 *   BASE_URL=http://127.0.0.1:5000 STOCK=100 BUYERS=2000 CONCURRENCY=200 npm run load
 */
const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:5000'
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? ''
const STOCK = Number(process.env.STOCK ?? 100)
const BUYERS = Math.min(Number(process.env.BUYERS ?? 2000), 100_000)
const CONCURRENCY = Math.min(Number(process.env.CONCURRENCY ?? 200), 2000)
const DEADLINE = Date.now() + Math.min(Number(process.env.MAX_SECONDS ?? 60), 600) * 1000

const host = new URL(BASE_URL).hostname
if (
  !['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host) &&
  process.env.ALLOW_REMOTE !== '1'
) {
  console.error(`Refusing to load ${host}: only loopback targets unless ALLOW_REMOTE=1.`)
  process.exit(2)
}

const json = { 'content-type': 'application/json' }
const post = (path: string, body: unknown, headers: Record<string, string> = json) =>
  fetch(`${BASE_URL}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })

const created = await post(
  '/api/v1/products',
  { name: `load test ${new Date().toISOString()}`, quantity: STOCK, price: 99.99 },
  { ...json, authorization: `Bearer ${ADMIN_TOKEN}` },
)
if (created.status !== 201) {
  console.error(`Could not add the product (${created.status}): ${await created.text()}`)
  process.exit(1)
}
const productId = ((await created.json()) as { data: { id: number } }).data.id

const outcomes = new Map<string, number>()
const latencies: number[] = []
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
let next = 0
const started = performance.now()

await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < BUYERS && Date.now() < DEADLINE) {
      next += 1
      const t = performance.now()
      const order = await post('/api/v1/create-order', {
        products: [{ product_id: productId, quantity: 1 }],
      })
      const orderBody = (await order.json()) as { data?: { id: string }; error?: { code: string } }
      if (!orderBody.data) {
        count(`create ${order.status} ${orderBody.error?.code}`)
        continue
      }
      const checkout = await post('/api/v1/checkout-order', { order_id: orderBody.data.id })
      const checkoutBody = (await checkout.json()) as { error?: { code: string } }
      latencies.push(performance.now() - t)
      count(
        checkout.status === 200
          ? 'reserved'
          : `checkout ${checkout.status} ${checkoutBody.error?.code}`,
      )
    }
  }),
)

const seconds = (performance.now() - started) / 1000
const list = (await (await fetch(`${BASE_URL}/api/v1/products?per_page=200`)).json()) as {
  data: { id: number; stock: { available: number; reserved: number; sold: number } }[]
}
const stock = list.data.find((p) => p.id === productId)?.stock
latencies.sort((a, b) => a - b)
const pct = (p: number) => latencies[Math.floor((latencies.length - 1) * p)]?.toFixed(1)

console.table(Object.fromEntries(outcomes))
console.log(
  `${next} buyers in ${seconds.toFixed(1)}s (${(next / seconds).toFixed(0)} buyers/s), ` +
    `create+checkout p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`,
)
console.log('final stock', stock)
const reserved = outcomes.get('reserved') ?? 0
const ok =
  stock !== undefined && stock.available >= 0 && reserved <= STOCK && stock.reserved === reserved
console.log(
  ok
    ? `OK: ${reserved} of ${STOCK} units reserved, none oversold`
    : 'FAILED: stock does not add up',
)
process.exit(ok ? 0 : 1)
