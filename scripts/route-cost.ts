/**
 * What the store's HTTP path costs on top of its checkout service, in CPU µs per
 * request (`npm run bench:route`). One process serves three routes side by side:
 *
 *   echo       a bare Hono JSON echo (the ceiling)
 *   bare       a bare Hono route that calls the same checkout service
 *   store      POST /api/v1/checkout-order through the whole app
 *
 * wrk (-t1 -c64, 1 s) drives them in turn, ROUNDS times, each checkout being the
 * repeat of one held reservation (the script runs, nothing changes), and this
 * process's own CPU time is divided by the requests. On a shared machine single
 * rounds vary a lot; alternating short rounds and reading the lower quartile is
 * what made differences of a few µs visible (docs/performance.md). Needs wrk
 * (`apt-get install wrk`).
 */
import { exec } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createApp } from '../src/app.js'
import { ANONYMOUS } from '../src/http/customers.js'
import { checkoutOrder } from '../src/orders/service.js'
import { scratchStore } from './lib/scratch.js'

const ROUNDS = Number(process.env.ROUNDS ?? 10)
const run = promisify(exec)
try {
  await run('command -v wrk')
} catch {
  console.error('npm run bench:route needs wrk: apt-get install wrk')
  process.exit(1)
}
const work = mkdtempSync(join(tmpdir(), 'store-route-cost-'))

const store = await scratchStore('route-cost', { LOG_LEVEL: 'info' })
try {
  const { deps } = store
  const app = createApp(deps)
  const jsonHeaders = { 'content-type': 'application/json' }
  const adminHeaders = { ...jsonHeaders, authorization: `Bearer ${deps.config.ADMIN_TOKEN}` }
  const post = async (path: string, body: unknown, headers = jsonHeaders) =>
    (await (
      await app.request(path, { method: 'POST', headers, body: JSON.stringify(body) })
    ).json()) as { data: { id: string | number } }
  const product = await post(
    '/api/v1/products',
    { name: 'Cost', quantity: 10, price: 1 },
    adminHeaders,
  )
  const order = await post('/api/v1/create-order', {
    products: [{ product_id: product.data.id, quantity: 1 }],
  })
  const orderId = String(order.data.id)
  await post('/api/v1/checkout-order', { order_id: orderId })

  const bare = new Hono()
    .post('/echo', async (c) => c.json({ data: await c.req.json() }))
    .post('/bare', async (c) => {
      const { order_id } = await c.req.json<{ order_id: string }>()
      return c.json({ data: await checkoutOrder(deps, order_id, ANONYMOUS) })
    })
  const reference = serve({ fetch: bare.fetch, port: 0, hostname: '127.0.0.1' })
  const served = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise((resolve) => setTimeout(resolve, 200))
  const base = (server: typeof served) =>
    `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const script = join(work, 'post.lua')
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = '{"order_id":"${orderId}"}'\nwrk.headers["Content-Type"] = "application/json"\n`,
  )
  const routes: [string, string][] = [
    ['echo', `${base(reference)}/echo`],
    ['bare', `${base(reference)}/bare`],
    ['store', `${base(served)}/api/v1/checkout-order`],
  ]
  const samples = new Map<string, number[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, url] of routes) {
      const before = process.cpuUsage()
      const { stdout } = await run(`wrk -t1 -c64 -d1s -s ${script} ${url}`)
      const cpu = process.cpuUsage(before)
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0)
      if (requests > 0)
        samples.set(name, [...(samples.get(name) ?? []), (cpu.user + cpu.system) / requests])
    }
  }
  const quartile = (xs: number[], q: number) =>
    Math.round([...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)] ?? 0)
  console.table(
    [...samples].map(([route, xs]) => ({
      route,
      cpu_us_min: quartile(xs, 0),
      cpu_us_q1: quartile(xs, 0.25),
      cpu_us_median: quartile(xs, 0.5),
    })),
  )
  reference.close()
  served.close()
} finally {
  await store.close()
}
