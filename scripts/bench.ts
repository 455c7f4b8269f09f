/**
 * One command, one run, everything side by side (`npm run bench`):
 *
 *   npm run bench                        10 s rounds
 *   npm run bench -- --quick --out r.json   3 s rounds, under a minute, JSON results
 *   npm run bench -- --quick --cluster      on a local Redis Cluster (scripts/bench/cluster.ts)
 *
 * It builds and starts the service as `npm start` runs it (ROLE=all, LOG_LEVEL=info:
 * one jobs process with the write-behind worker and the sweeper, and one API process,
 * the deployment the targets are set for; BENCH_WEB_CONCURRENCY=N runs N) on a
 * scratch database and key prefix, beside a process of its own serving the two
 * reference routes (a bare Hono echo, and a Postgres-only checkout:
 * scripts/bench/reference.ts). Every round uses the same load generator and settings:
 * wrk (-t1 -c64) when installed, else autocannon. Then it checks that nothing was
 * oversold, and compares the rates as ratios, which mean something even where
 * absolute numbers are noisy. BENCH_REDIS_URL runs it against another Redis (the
 * replicas bench, scripts/bench-replicas.ts, points it at a primary with a replica).
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createSql } from '../src/db/client.js'
import { createRedis } from '../src/redis/client.js'
import { storeKeys } from '../src/redis/keys.js'
import { generator, type Round, round } from './bench/driver.js'
import { cpuBetween, cpuShare, processCpu, rssMb } from './bench/proc.js'
import { measureDrain } from './drain.js'
import { redisTimeUs } from './lib/redisTime.js'
import { deletePrefix, REDIS_URL, scratchDatabase } from './lib/scratch.js'

// `--cluster`: the cluster benchmark (scripts/bench/cluster.ts) instead.
if (process.argv.includes('--cluster')) {
  await import('./bench/cluster.js')
  process.exit(0)
}

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 3 : 10))
// The targets are for one API process beside the jobs process (issue 10); BENCH_WEB_CONCURRENCY
// measures the cluster `npm start` runs on a bigger machine.
const API_PROCESSES = process.env.BENCH_WEB_CONCURRENCY ?? '1'
const ADMIN_TOKEN = randomBytes(24).toString('base64url')
const PORT = 15_000 + Math.floor(Math.random() * 5_000)
const BENCH_PORT = PORT + 1
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const json = { 'content-type': 'application/json' }
const db = await scratchDatabase('bench')
const prefix = `bench-${randomBytes(4).toString('hex')}`
const keys = storeKeys(prefix)
const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? REDIS_URL
const redis = createRedis(BENCH_REDIS_URL, () => {})
await redis.connect()
const sql = createSql(db.url, { max: 4 })
let service: ChildProcess | undefined
let reference: ChildProcess | undefined

try {
  console.log('building…')
  execSync('npm run build --silent', { stdio: 'inherit' })
  await sql`create table bench_stock (id int primary key, quantity int not null check (quantity >= 0))`
  await sql`create table bench_orders (id bigserial primary key, product_id int not null, quantity int not null, created_at timestamptz not null default now())`
  await sql`insert into bench_stock values (1, 1000000000)`

  // BENCH_PROF=DIR writes a CPU profile of every service process to DIR (node --cpu-prof).
  const profile = process.env.BENCH_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`]
    : []
  service = spawn(process.execPath, [...profile, 'dist/main.js'], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: BENCH_REDIS_URL,
      KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      HOST: '127.0.0.1',
      PORT: String(PORT),
      WEB_CONCURRENCY: API_PROCESSES,
      EXPIRY_SWEEP_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  reference = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/reference.ts'], {
    env: { ...process.env, DATABASE_URL: db.url, PORT: String(BENCH_PORT) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let listening = 0
  reference.stdout?.on('data', (chunk: Buffer) => {
    if (chunk.includes('listening on')) listening += 1
  })
  service.stdout?.on('data', (chunk: Buffer) => {
    // Logs are read and dropped, as a log shipper would: their cost stays in the measurement.
    if (chunk.includes('listening on')) listening += 1
  })
  const base = `http://127.0.0.1:${PORT}`
  const benchBase = `http://127.0.0.1:${BENCH_PORT}`
  for (let i = 0; i < 200 && listening < 2; i++) await sleep(50)
  await sleep(500)

  const admin = { ...json, authorization: `Bearer ${ADMIN_TOKEN}` }
  const addProduct = async (name: string, quantity: number) =>
    (
      (await (
        await fetch(`${base}/api/v1/products`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({ name, quantity, price: 10 }),
        })
      ).json()) as { data: { id: number } }
    ).data.id
  const big = await addProduct('Bench', 1_000_000)
  for (let i = 0; i < 99; i++) {
    await fetch(`${base}/api/v1/products/${big}/restock`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ quantity: 1_000_000 }),
    })
  }
  const soldOut = await addProduct('Sold out', 1)
  const last = (await (
    await fetch(`${base}/api/v1/create-order`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ products: [{ product_id: soldOut, quantity: 1 }] }),
    })
  ).json()) as { data: { id: string } }
  await fetch(`${base}/api/v1/checkout-order`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ order_id: last.data.id }),
  })
  for (let i = 0; i < 30; i++) await addProduct(`Catalogue ${i}`, 100)

  const waitForBacklog = async () => {
    for (let i = 0; i < 600 && (await redis.xlen(keys.events)) > 0; i++) await sleep(100)
  }
  await waitForBacklog()

  const rounds: Record<string, Round> = {}
  // BENCH_ONLY=checkout (a comma list of round keys) runs only those rounds: for profiling one path.
  const only = process.env.BENCH_ONLY?.split(',')
  const run = async (
    key: string,
    title: string,
    url: string,
    options: Omit<Parameters<typeof round>[2], 'seconds'> & { seconds?: number },
    neededBy: string[] = [],
  ) => {
    if (only && ![key, ...neededBy].some((k) => only.includes(k))) return
    await waitForBacklog()
    rounds[key] = await round(title, url, { seconds: SECONDS, ...options })
    console.log(`${title}: ${rounds[key].rps} req/s, p99 ${rounds[key].p99_ms} ms`)
  }

  await run('echo', 'bare Hono JSON echo', `${benchBase}/echo`, {
    body: '{"order_id":"01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10"}',
  })
  // The create-order round also makes the checkout round's drafts, the way buyers make
  // them: every API process knows their lines (shared across processes, see
  // src/orders/linesCache.ts), so each checkout is one Redis round trip. It runs twice as
  // long as the others, so the checkout round does not run out of drafts.
  await run(
    'create',
    'create-order',
    `${base}/api/v1/create-order`,
    { body: `{"products":[{"product_id":${big},"quantity":1}]}`, seconds: SECONDS * 2 },
    ['checkout'],
  )
  const drafts = await redis.zrange(keys.drafts, '0', '-1')
  await waitForBacklog()
  await redis.config('RESETSTAT')
  const cpuBeforeMatch = /used_cpu_sys:([\d.]+)[\s\S]*used_cpu_user:([\d.]+)/.exec(
    (await redis.info('cpu')) as string,
  )
  const redisCpuBefore = Number(cpuBeforeMatch?.[1] ?? 0) + Number(cpuBeforeMatch?.[2] ?? 0)
  const cpuBefore = processCpu()
  await run('checkout', 'checkout (fresh drafts)', `${base}/api/v1/checkout-order`, {
    bodies: drafts.map((id) => JSON.stringify({ order_id: id })),
  })
  console.log('CPU used during the checkout round, by process (% of one core):')
  console.table(cpuShare(cpuBetween(cpuBefore, processCpu()), SECONDS))
  const checkouts = (rounds.checkout?.rps ?? 0) * SECONDS
  if (checkouts > drafts.length) {
    console.warn(
      `the checkout round ran out of drafts: ${checkouts - drafts.length} of its checkouts repeated a held order`,
    )
  }
  await waitForBacklog()
  const stats = (await redis.info('commandstats')) as string
  const commandStats = [...stats.matchAll(/cmdstat_(\S+):calls=(\d+),usec=(\d+)/g)].map(
    ([, command, calls, usec]) => ({
      command: command ?? '',
      calls: Number(calls),
      usec: Number(usec),
    }),
  )
  const redisUs = redisTimeUs(commandStats)
  const cpuAfter = /used_cpu_sys:([\d.]+)[\s\S]*used_cpu_user:([\d.]+)/.exec(
    (await redis.info('cpu')) as string,
  )
  const redisCpuUs =
    ((Number(cpuAfter?.[1] ?? 0) + Number(cpuAfter?.[2] ?? 0) - redisCpuBefore) * 1e6) /
    Math.max(1, checkouts)
  console.log('Redis time during the checkout round, by command (INFO commandstats):')
  console.table(
    commandStats
      .sort((a, b) => b.usec - a.usec)
      .slice(0, 8)
      .map((c) => ({
        ...c,
        us_per_checkout: Math.round((c.usec / Math.max(1, checkouts)) * 10) / 10,
      })),
  )
  await run('soldOut', 'create-order on a sold-out product (409)', `${base}/api/v1/create-order`, {
    body: `{"products":[{"product_id":${soldOut},"quantity":1}]}`,
  })
  await run('products', 'GET /api/v1/products', `${base}/api/v1/products`, { method: 'GET' })
  await run(
    'pg',
    'Postgres-only checkout (UPDATE … WHERE quantity >= n + INSERT)',
    `${benchBase}/pg-checkout`,
    {
      body: '{"product_id":1,"quantity":1}',
    },
  )
  const rss = rssMb(service)

  console.log('drain round: appending checkout traffic, then timing the worker…')
  const drain =
    only && !only.includes('drain')
      ? { drainPerSecond: 0 }
      : await measureDrain(QUICK ? 20_000 : 50_000)

  // Nothing oversold: every product's counters add up to its ledger, none negative.
  await waitForBacklog()
  let oversold = 0
  const ledger = await sql<{ product_id: number; total: number }[]>`
    select product_id, sum(quantity)::bigint as total from stock_ledger group by product_id
  `
  for (const { product_id, total } of ledger) {
    const [a, r, s] = (
      await redis.hmget(keys.product(product_id), 'available', 'reserved', 'sold')
    ).map(Number)
    if ((a ?? 0) < 0 || (a ?? 0) + (r ?? 0) + (s ?? 0) !== Number(total)) oversold += 1
    oversold += Math.max(0, (r ?? 0) + (s ?? 0) - Number(total))
  }

  const echoRps = rounds.echo?.rps ?? 1
  const result = {
    machine: `${execSync('nproc').toString().trim()} cores, ${process.version}, ${API_PROCESSES} API process(es) + jobs, ${generator}, ${SECONDS} s rounds`,
    echo_rps: echoRps,
    create_rps: rounds.create?.rps ?? 0,
    checkout_rps: rounds.checkout?.rps ?? 0,
    checkout_p99_ms: rounds.checkout?.p99_ms ?? 0,
    sold_out_rps: rounds.soldOut?.rps ?? 0,
    products_rps: rounds.products?.rps ?? 0,
    pg_baseline_rps: rounds.pg?.rps ?? 0,
    drain_events_per_s: drain.drainPerSecond,
    redis_us_per_checkout: checkouts > 0 ? Math.round((redisUs / checkouts) * 10) / 10 : 0,
    redis_cpu_us_per_checkout: Math.round(redisCpuUs * 10) / 10,
    rss_mb: rss,
    oversold,
    checkout_vs_echo: round2((rounds.checkout?.rps ?? 0) / echoRps),
    sold_out_vs_echo: round2((rounds.soldOut?.rps ?? 0) / echoRps),
    products_vs_echo: round2((rounds.products?.rps ?? 0) / echoRps),
    checkout_vs_pg: round2((rounds.checkout?.rps ?? 0) / (rounds.pg?.rps || 1)),
    drain_vs_checkout: round2(drain.drainPerSecond / (rounds.checkout?.rps || 1)),
    rounds: Object.values(rounds),
  }
  console.table(result.rounds)
  const targets: [string, boolean][] = [
    ['checkout ≥ 0.6× echo', result.checkout_vs_echo >= 0.6],
    ['checkout p99 ≤ 25 ms', result.checkout_p99_ms <= 25],
    ['sold-out ≥ 0.8× echo', result.sold_out_vs_echo >= 0.8],
    ['product list ≥ 0.6× echo', result.products_vs_echo >= 0.6],
    ['Redis ≤ 15 µs per checkout', result.redis_us_per_checkout <= 15],
    ['checkout ≥ 10× Postgres-only', result.checkout_vs_pg >= 10],
    ['drain ≥ 1.5× checkout', result.drain_vs_checkout >= 1.5],
    ['nothing oversold', result.oversold === 0],
  ]
  for (const [target, met] of targets) console.log(`${met ? 'met ' : 'MISS'}  ${target}`)
  console.log(JSON.stringify({ ...result, rounds: undefined }, null, 2))
  if (OUT) writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  if (service && service.exitCode === null) {
    service.kill('SIGTERM')
    await Promise.race([once(service, 'exit'), sleep(15_000)])
  }
  reference?.kill('SIGTERM')
  await deletePrefix(redis, prefix)
  redis.disconnect()
  await sql.end()
  await db.drop()
}

function round2(n: number) {
  return Math.round(n * 100) / 100
}
