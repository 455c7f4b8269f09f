/**
 * The stock check and the dashboard at catalogue scale (`npm run bench:catalogue`):
 * a scratch store of 50,000 products (CATALOGUE=N for another size), the
 * service as `npm start` runs it (one API process and the jobs process), and
 * the figures the catalogue issue set targets for:
 *
 * - a stock-check page of 50: median and p90 time, and bytes, at page 1 and
 *   deep in the catalogue, and with each filter (target ≤ 300 ms, ≤ 100 KB);
 * - the full check of every product, and the API's checkout latency while it
 *   runs (target ≤ 10 s, no stall);
 * - the dashboard snapshot's bytes (≤ 200 KB) and the page's DOM nodes (≤ 5,000);
 * - the API process's CPU with ten dashboard viewers against one (≤ 2×).
 *
 *   npm run bench:catalogue -- --out load-tests/catalogue-scale.json
 *
 * Bounded: every loop has a count and a deadline; it cleans up its database and keys.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { loadConfig } from '../src/config.js'
import { createSql } from '../src/db/client.js'
import { createLogger } from '../src/logger.js'
import { createMetrics } from '../src/metrics/metrics.js'
import { createRedis } from '../src/redis/client.js'
import { storeKeys } from '../src/redis/keys.js'
import { runFullCheck } from '../src/stock/fullCheck.js'
import { seedCatalogue } from './lib/catalogue.js'
import { deletePrefix, REDIS_URL, scratchDatabase } from './lib/scratch.js'

const args = process.argv.slice(2)
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined
const CATALOGUE = Number(process.env.CATALOGUE ?? 50_000)
const ADMIN_TOKEN = randomBytes(24).toString('base64url')
const VIEWER_TOKEN = randomBytes(24).toString('base64url')
const PORT = 20_000 + Math.floor(Math.random() * 5_000)
const BASE = `http://127.0.0.1:${PORT}`
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
const ms = (n: number) => Math.round(n * 10) / 10

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks
}

async function timed(url: string, headers: Record<string, string> = admin) {
  const started = performance.now()
  const res = await fetch(url, { headers })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`)
  return { ms: performance.now() - started, bytes: Buffer.byteLength(body) }
}

/** A stock-check page, asked `times` times in a row: median, p90 and bytes. */
async function page(query: string, times = 15) {
  const runs = []
  for (let i = 0; i < times; i++)
    runs.push(await timed(`${BASE}/api/v1/check-product-quantity?${query}`))
  const took = runs.map((r) => r.ms)
  return {
    query,
    median_ms: ms(quantile(took, 0.5)),
    p90_ms: ms(quantile(took, 0.9)),
    bytes: runs[0]?.bytes ?? 0,
  }
}

/** Buyers checking out in `loops` concurrent loops until `until()`: each request's latency. */
async function buyers(productId: number, loops: number, until: () => boolean) {
  const latencies: number[] = []
  const json = { 'content-type': 'application/json' }
  const send = async (path: string, body: unknown) => {
    const started = performance.now()
    const res = await fetch(`${BASE}${path}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    })
    const answer = (await res.json()) as { data?: { id?: string } }
    latencies.push(performance.now() - started)
    return answer.data?.id
  }
  const deadline = Date.now() + 60_000
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (!until() && Date.now() < deadline) {
        const id = await send('/api/v1/create-order', {
          products: [{ product_id: productId, quantity: 1 }],
        })
        if (id) await send('/api/v1/checkout-order', { order_id: id })
      }
    }),
  )
  return {
    requests: latencies.length,
    p50_ms: ms(quantile(latencies, 0.5)),
    p99_ms: ms(quantile(latencies, 0.99)),
  }
}

/** Viewers on the live stream for `seconds`: the API process's CPU over that time, % of a core. */
async function viewersCpu(pid: number, cookie: string, viewers: number, seconds: number) {
  const aborts = Array.from({ length: viewers }, () => new AbortController())
  let received = 0
  const streams = aborts.map(async (abort) => {
    const res = await fetch(`${BASE}/dashboard/events`, {
      headers: { cookie },
      signal: abort.signal,
    })
    const reader = res.body?.getReader()
    try {
      for (;;) {
        const chunk = await reader?.read()
        if (!chunk || chunk.done) break
        received += chunk.value.length
      }
    } catch {}
  })
  await sleep(2_500) // every stream has had its first snapshot
  const before = cpuSeconds(pid)
  const start = Date.now()
  await sleep(seconds * 1000)
  const used = cpuSeconds(pid) - before
  const elapsed = (Date.now() - start) / 1000
  for (const abort of aborts) abort.abort()
  await Promise.allSettled(streams)
  return { viewers, cpu_pct: Math.round((used / elapsed) * 1000) / 10, bytes_received: received }
}

/** The dashboard's DOM nodes (elements and text) in headless chromium, when it is installed. */
async function domNodes(cookieValue: string): Promise<number | null> {
  let executablePath: string
  try {
    executablePath = execSync('command -v chromium').toString().trim()
  } catch {
    return null
  }
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  try {
    const context = await browser.newContext()
    const [name, value] = cookieValue.split('=') as [string, string]
    await context.addCookies([{ name, value, url: `${BASE}/dashboard` }])
    const tab = await context.newPage()
    await tab.goto(`${BASE}/dashboard`)
    await tab.waitForSelector('#products .card', { timeout: 20_000 })
    return await tab.evaluate<number>(
      '(() => { const w = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_ALL); let n = 1; while (w.nextNode()) n++; return n })()',
    )
  } finally {
    await browser.close()
  }
}

const db = await scratchDatabase('catalogue')
const prefix = `catalogue-${randomBytes(4).toString('hex')}`
const redis = createRedis(REDIS_URL, () => {})
await redis.connect()
let service: ChildProcess | undefined

try {
  console.log('building…')
  execSync('npm run build --silent', { stdio: 'inherit' })
  const sql = createSql(db.url, { max: 4 })
  let started = Date.now()
  await seedCatalogue(sql, CATALOGUE)
  const seedMs = Date.now() - started
  console.log(`seeded ${CATALOGUE} products in ${seedMs} ms`)

  started = Date.now()
  service = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL,
      KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      VIEWER_TOKEN,
      HOST: '127.0.0.1',
      PORT: String(PORT),
      WEB_CONCURRENCY: '1',
      LOG_LEVEL: 'warn',
      // The first full check runs a second after start; the next ones are this script's.
      STOCK_REPORT_INTERVAL_SECONDS: '3600',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let listening = false
  service.stdout?.on('data', (chunk: Buffer) => {
    if (chunk.includes('listening on')) listening = true
  })
  for (let i = 0; i < 1200 && !listening; i++) await sleep(50)
  if (!listening) throw new Error('the service did not start within 60 s')
  const startMs = Date.now() - started
  console.log(`the service started over ${CATALOGUE} products in ${startMs} ms`)

  // Wait for the first full check: every product has a verdict.
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${BASE}/api/v1/check-product-quantity?per_page=1`, { headers: admin })
    const totals = ((await res.json()) as { data: { totals: { pending: number } } }).data.totals
    if (totals.pending === 0) break
    await sleep(100)
  }

  const pages = [
    await page('per_page=50'),
    await page(`per_page=50&page=${Math.floor(CATALOGUE / 100)}`),
    await page(`per_page=50&page=${Math.floor(CATALOGUE / 50)}`),
    await page('per_page=50&status=in_sync&page=100'),
    await page('per_page=50&low_stock=false&page=100'),
    await page('per_page=50&on_sale=true'),
    await page('per_page=50&q=item%204242'),
  ]
  console.table(pages)

  // The full check, in this process as the reporter runs it, while buyers check out.
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
  })
  const deps = {
    config: { ...config, ADMIN_TOKEN },
    redis,
    sql,
    keys: storeKeys(prefix),
    logger: createLogger('silent'),
    metrics: createMetrics(),
  }
  const product = (await (
    await fetch(`${BASE}/api/v1/products`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'Flash sale', quantity: 1_000_000, price: 10 }),
    })
  ).json()) as { data: { id: number } }
  let quietUntil = Date.now() + 5_000
  const quiet = await buyers(product.data.id, 8, () => Date.now() > quietUntil)
  let checking = true
  const [full, during] = await Promise.all([
    runFullCheck(deps, {
      windowDays: config.STOCK_WINDOW_DAYS,
      waitMs: config.STOCK_CHECK_WAIT_MS,
    }).finally(() => {
      checking = false
    }),
    buyers(product.data.id, 8, () => !checking),
  ])
  quietUntil = 0
  const fullCheck = {
    products: full.checked,
    ms: full.ms,
    in_sync: full.in_sync,
    pending: full.pending,
    drift: full.drift,
    buyers_before: quiet,
    buyers_during: during,
  }
  console.log('full check:', fullCheck)

  // The dashboard: a viewer's session, the snapshot, the page, and what viewers cost.
  const signIn = await fetch(`${BASE}/dashboard/sign-in`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'same-origin',
    },
    body: new URLSearchParams({ token: VIEWER_TOKEN }),
    redirect: 'manual',
  })
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const snapshotText = await (
    await fetch(`${BASE}/dashboard/snapshot`, { headers: { cookie } })
  ).text()
  const snapshot = JSON.parse(snapshotText) as {
    products: unknown[]
    shop: { instance: { pid: number } }
  }
  const apiPid = snapshot.shop.instance.pid
  const nodes = await domNodes(cookie)
  const none = await viewersCpu(apiPid, cookie, 0, 15)
  const one = await viewersCpu(apiPid, cookie, 1, 15)
  const ten = await viewersCpu(apiPid, cookie, 10, 15)
  const dashboard = {
    snapshot_bytes: Buffer.byteLength(snapshotText),
    products_shown: snapshot.products.length,
    dom_nodes: nodes,
    no_viewer: none,
    one_viewer: one,
    ten_viewers: ten,
    ten_vs_one_cpu: one.cpu_pct > 0 ? Math.round((ten.cpu_pct / one.cpu_pct) * 100) / 100 : null,
  }
  console.log('dashboard:', dashboard)

  const results = {
    at: new Date().toISOString(),
    machine: `${execSync('nproc').toString().trim()} cores, node ${process.version}`,
    catalogue: CATALOGUE,
    seed_ms: seedMs,
    start_ms: startMs,
    pages,
    full_check: fullCheck,
    dashboard,
    targets: {
      page_of_50_ms: 300,
      page_of_50_bytes: 100_000,
      full_check_ms: 10_000,
      snapshot_bytes: 200_000,
      dom_nodes: 5_000,
      ten_vs_one_cpu: 2,
    },
  }
  if (OUT) writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`)
  await sql.end()
} finally {
  service?.kill('SIGTERM')
  if (service) await new Promise((resolve) => service?.once('exit', resolve))
  await deletePrefix(redis, prefix)
  redis.disconnect()
  await db.drop()
}
