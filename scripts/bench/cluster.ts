/**
 * The cluster benchmark (`npm run bench -- --cluster`, with `--quick` for 3 s
 * rounds, `--masters N` (3), `--out file.json`): what more Redis nodes buy.
 *
 * It starts a private Redis Cluster of N masters with a replica each, and the
 * service as `npm start` runs it (one API process beside the jobs process) with
 * the store over 16 partitions, on a scratch database. Then, each round with
 * the same load generator as `npm run bench`:
 * - single-partition checkouts over 48 products (3 per partition);
 * - orders of 3 lines on 3 masters (holds, then a commit at home);
 * - one hot product: the ceiling of one partition;
 * - customer tokens on (the service started again with them): every storefront
 *   call meets the per-customer rate limit, as in production.
 * For each, Redis time per checkout on each master (INFO commandstats, each
 * moment counted once) and each master's share of the keys and the time; the
 * worker's Redis time per event; the CPU of every process per checkout. From
 * those measured costs it prints a capacity model: the API cores, masters,
 * worker processes and Postgres cores a target rate of checkouts needs.
 *
 * On 2 cores the throughput cannot grow with the masters (they share the cores
 * with everything else): the shares and the per-checkout costs are what count.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { createSql } from '../../src/db/client.js'
import { createRedis } from '../../src/redis/client.js'
import { storeKeys } from '../../src/redis/keys.js'
import { slotOf } from '../../src/redis/slots.js'
import { redisTimeUs, scriptCommands } from '../lib/redisTime.js'
import { deletePrefix, scratchDatabase } from '../lib/scratch.js'
import { type CommandStat, startRedisCluster } from '../lib/topology/redisCluster.js'
import { generator, type Round, round } from './driver.js'
import { cpuBetween, processCpu } from './proc.js'

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined
const MASTERS = args.includes('--masters') ? Number(args[args.indexOf('--masters') + 1]) : 3
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 3 : 10))
const PARTITIONS = 16
const PRODUCTS_PER_PARTITION = 3
/** The rate the capacity model is worked out for, checkouts a second. */
const TARGET = Number(process.env.BENCH_TARGET ?? 100_000)
/** How busy the model lets each part run: headroom for bursts and failovers. */
const UTILISATION = 0.7
const ADMIN_TOKEN = randomBytes(24).toString('base64url')
const JWT_SECRET = randomBytes(32).toString('base64url')
const PORT = 15_000 + Math.floor(Math.random() * 5_000)
const TOKENS_PORT = PORT + 1
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const json = { 'content-type': 'application/json' }
const admin = { ...json, authorization: `Bearer ${ADMIN_TOKEN}` }
const round1 = (n: number) => Math.round(n * 10) / 10
const round2 = (n: number) => Math.round(n * 100) / 100

const cluster = await startRedisCluster({ masters: MASTERS, appendfsync: 'everysec' })
const db = await scratchDatabase('bench_cluster')
const prefix = `bench-${randomBytes(4).toString('hex')}`
const keys = storeKeys(prefix, PARTITIONS)
const redis = createRedis({ url: 'redis://127.0.0.1', cluster: hostPorts(cluster.nodes) }, () => {})
await redis.connect()
const sql = createSql(db.url, { max: 4 })
const services: ChildProcess[] = []
const inScripts = scriptCommands()

function hostPorts(nodes: string) {
  return nodes.split(',').map((pair) => {
    const [host = '', port] = pair.split(':')
    return { host, port: Number(port) }
  })
}

/** Starts the service as `npm start` runs it, on `port`; resolves once it listens. */
async function startService(port: number, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_CLUSTER_NODES: cluster.nodes,
      PARTITIONS: String(PARTITIONS),
      KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      WEB_CONCURRENCY: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  services.push(child)
  let listening = false
  // Logs are read and dropped, as a log shipper would: their cost stays in the measurement.
  child.stdout?.on('data', (chunk: Buffer) => {
    if (chunk.includes('listening on')) listening = true
  })
  for (let i = 0; i < 600 && !listening; i++) await sleep(50)
  if (!listening) throw new Error(`the service did not start on port ${port}`)
  return `http://127.0.0.1:${port}`
}

async function stopServices() {
  for (const service of services.splice(0)) {
    if (service.exitCode !== null) continue
    service.kill('SIGTERM')
    await Promise.race([once(service, 'exit'), sleep(15_000)])
  }
}

const backlog = async () =>
  (await Promise.all(keys.allPartitions.map((p) => redis.xlen(p.events)))).reduce((a, b) => a + b)
async function waitForBacklog() {
  for (let i = 0; i < 1_200 && (await backlog()) > 0; i++) await sleep(100)
}
/**
 * Every draft the store holds now, with its customer, taken from the partitions
 * in turn: a round that gets through only some of them still spreads its
 * checkouts over every partition.
 */
async function drafts() {
  const byPartition = await Promise.all(
    keys.allPartitions.map((p) => redis.zrange(p.drafts, '0', '-1')),
  )
  const ids: string[] = []
  const all = byPartition.flat().length
  for (let i = 0; ids.length < all; i++) {
    for (const partition of byPartition) {
      const id = partition[i]
      if (id !== undefined) ids.push(id)
    }
  }
  const customers = await Promise.all(ids.map((id) => redis.hget(keys.order(id), 'customer_id')))
  return ids.map((id, i) => ({ id, customer: customers[i] ?? '' }))
}
async function cancelDrafts() {
  // Drafts left from one round must not be checked out by the next.
  for (const { id } of await drafts())
    await redis.zrem(keys.partition(keys.orderPartition(id)).drafts, id)
}
const checkedOut = async () =>
  Number(
    (await sql<{ n: string }[]>`select count(*) as n from orders where status = 'checkout'`)[0]?.n,
  )

interface Measured {
  round: Round
  checkouts: number
  /** Per master: Redis time, split into the scripts' and the rest (the worker's, reads). */
  masters: {
    port: number
    us: number
    script_us: number
    other_us: number
    evals: number
    script_us_per_checkout: number
    other_us_per_event: number
    cpu_us_per_checkout: number
    share_of_time: number
  }[]
  cpu: { label: string; seconds: number }[]
}

/** A checkout round over these drafts, and what it cost each master and each process. */
async function measureCheckouts(
  title: string,
  url: string,
  orders: { id: string; customer: string }[],
  tokens?: Map<string, string>,
): Promise<Measured> {
  await waitForBacklog()
  const before = await checkedOut()
  await cluster.resetStats()
  const cpuBefore = processCpu()
  const result = await round(title, `${url}/api/v1/checkout-order`, {
    bodies: orders.map((o) => JSON.stringify({ order_id: o.id })),
    ...(tokens ? { authorizations: orders.map((o) => `Bearer ${tokens.get(o.customer)}`) } : {}),
    seconds: SECONDS,
  })
  await waitForBacklog()
  const cpu = cpuBetween(cpuBefore, processCpu())
  const checkouts = (await checkedOut()) - before
  const stats = await cluster.commandStats()
  const time = stats.map((m) => timeOf(m.port, m.commands))
  const total = time.reduce((sum, m) => sum + m.us, 0)
  console.log(`${title}: ${result.rps} req/s, p99 ${result.p99_ms} ms, ${checkouts} checkouts`)
  const per = (us: number) => round1(us / Math.max(1, checkouts))
  return {
    round: result,
    checkouts,
    masters: time.map((m) => ({
      ...m,
      // One event per checkout: the scripts' time per checkout, the worker's per event.
      script_us_per_checkout: per(m.script_us),
      other_us_per_event: per(m.other_us),
      cpu_us_per_checkout: per(
        cpu
          .filter((p) => p.label === `redis-server :${m.port}`)
          .reduce((sum, p) => sum + p.seconds * 1e6, 0),
      ),
      share_of_time: round2((m.us / total) * time.length),
    })),
    cpu,
  }
}

function timeOf(port: number, commands: readonly CommandStat[]) {
  const us = redisTimeUs(commands, inScripts)
  const scripts = commands.filter((c) => c.command.startsWith('eval'))
  const scriptUs = scripts.reduce((sum, c) => sum + c.usec, 0)
  return {
    port,
    us,
    script_us: scriptUs,
    other_us: us - scriptUs,
    evals: scripts.reduce((sum, c) => sum + c.calls, 0),
  }
}

/** Per checkout: Redis time over all masters and on the busiest, CPU per kind of process. */
function perCheckout(m: Measured) {
  const n = Math.max(1, m.checkouts)
  const cpuOf = (test: (label: string) => boolean) =>
    (m.cpu.filter((p) => test(p.label)).reduce((sum, p) => sum + p.seconds, 0) * 1e6) / n
  const masterPorts = new Set(m.masters.map((x) => x.port))
  return {
    checkouts: m.checkouts,
    rps: m.round.rps,
    p99_ms: m.round.p99_ms,
    redis_us: round1(m.masters.reduce((sum, x) => sum + x.us, 0) / n),
    redis_script_us: round1(m.masters.reduce((sum, x) => sum + x.script_us, 0) / n),
    redis_worker_us: round1(m.masters.reduce((sum, x) => sum + x.other_us, 0) / n),
    redis_us_busiest_master: round1(Math.max(...m.masters.map((x) => x.us)) / n),
    script_calls: round2(m.masters.reduce((sum, x) => sum + x.evals, 0) / n),
    api_cpu_us: round1(cpuOf((l) => l === 'node api')),
    jobs_cpu_us: round1(cpuOf((l) => l === 'node jobs')),
    postgres_cpu_us: round1(cpuOf((l) => l === 'postgres')),
    masters_cpu_us: round1(
      cpuOf((l) => [...masterPorts].some((port) => l === `redis-server :${port}`)),
    ),
    replicas_cpu_us: round1(
      cpuOf(
        (l) => l.startsWith('redis-server') && ![...masterPorts].some((p) => l.endsWith(`:${p}`)),
      ),
    ),
    per_master: m.masters,
  }
}

try {
  console.log(`building…; a cluster of ${MASTERS} masters, ${PARTITIONS} partitions`)
  execSync('npm run build --silent', { stdio: 'inherit' })
  const base = await startService(PORT)
  const post = async (path: string, body: unknown, headers = admin) =>
    (await (
      await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    ).json()) as { data: { id: number | string } }

  // 3 products per partition, a partition's products on the master its slot is on.
  const products: number[] = []
  for (let i = 0; i < PARTITIONS * PRODUCTS_PER_PARTITION + 1; i++) {
    const { data } = await post('/api/v1/products', {
      name: `P${i}`,
      quantity: 1_000_000,
      price: 10,
    })
    products.push(Number(data.id))
  }
  const hot = products.pop() as number
  const masterOfPartition = new Map<number, number>()
  for (const part of keys.allPartitions) {
    masterOfPartition.set(part.index, (await cluster.masterOf(slotOf(part.tag))) as number)
  }
  const masterOf = (id: number) => masterOfPartition.get(keys.productPartition(id)) as number
  const masterPorts = [...new Set(masterOfPartition.values())].sort()
  const createRound = async (
    title: string,
    bodies: string[],
    options: { url?: string; authorizations?: string[] } = {},
  ) => {
    await cancelDrafts()
    const { authorizations } = options
    const created = await round(title, `${options.url ?? base}/api/v1/create-order`, {
      bodies,
      ...(authorizations ? { authorizations } : {}),
      seconds: SECONDS * 2,
    })
    console.log(`${title}: ${created.rps} req/s`)
    return created
  }
  const line = (id: number) => ({ product_id: id, quantity: 1 })

  // 1. Single-partition checkouts, spread over every partition.
  const singleBodies = products.map((id) => JSON.stringify({ products: [line(id)] }))
  const singleCreate = await createRound('create-order, 1 line', singleBodies)
  const single = await measureCheckouts('checkout, 1 partition', base, await drafts())
  const keyCounts = await cluster.keyCounts(`{${prefix}:*`)

  // 2. Orders of 3 lines on 3 masters: holds in each partition, a commit at home.
  const byMaster = masterPorts.map((port) => products.filter((id) => masterOf(id) === port))
  const acrossBodies = Array.from({ length: 60 }, (_, i) =>
    JSON.stringify({
      // The first line's master is the order's home: it turns, so the commits spread too.
      products: [0, 1, 2].map((k) => {
        const ids = byMaster[(i + k) % 3] as number[]
        return line(ids[i % ids.length] as number)
      }),
    }),
  )
  await createRound('create-order, 3 lines on 3 masters', acrossBodies)
  const across = await measureCheckouts('checkout, 3 partitions', base, await drafts())

  // 3. One hot product: every checkout on one partition, one master.
  await createRound('create-order, the hot product', [JSON.stringify({ products: [line(hot)] })])
  const hotRound = await measureCheckouts('checkout, one hot product', base, await drafts())
  const hotMaster = hotRound.masters.find((m) => m.port === masterOf(hot))

  // 4. Customer tokens on (the service started again with them): every storefront call meets
  // the customer's rate limit.
  await stopServices()
  const tokensBase = await startService(TOKENS_PORT, { CUSTOMER_JWT_SECRET: JWT_SECRET })
  const secret = new TextEncoder().encode(JWT_SECRET)
  const tokens = new Map<string, string>()
  const customers = Array.from({ length: 4_000 }, (_, i) => `bench-customer-${i}`)
  for (const customer of customers) {
    tokens.set(
      customer,
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(customer)
        .setExpirationTime('1h')
        .sign(secret),
    )
  }
  await createRound(
    'create-order with customer tokens',
    customers.map((_, i) => singleBodies[i % singleBodies.length] as string),
    { url: tokensBase, authorizations: customers.map((c) => `Bearer ${tokens.get(c)}`) },
  )
  const withTokens = await measureCheckouts(
    'checkout with customer tokens',
    tokensBase,
    (await drafts()).filter((d) => tokens.has(d.customer)),
    tokens,
  )

  const s = perCheckout(single)
  const eventUs = s.redis_worker_us // one event per checkout
  const keyTotal = keyCounts.reduce((sum, m) => sum + m.keys, 0)
  const shares = single.masters.map((m) => ({
    port: m.port,
    share_of_keys: round2(
      ((keyCounts.find((k) => k.port === m.port)?.keys ?? 0) / keyTotal) * masterPorts.length,
    ),
    share_of_time: m.share_of_time,
  }))
  // The model: each part sized for TARGET at UTILISATION, from this run's costs. Redis is
  // sized by its processes' CPU (commands, replication and network), which INFO's command
  // time leaves out; replicas are counted apart (they run on cores of their own).
  const need = (usPerCheckout: number) => Math.ceil((TARGET * usPerCheckout) / 1e6 / UTILISATION)
  const sized = (c: ReturnType<typeof perCheckout>) => ({
    api_cores: need(c.api_cpu_us),
    redis_masters: need(c.masters_cpu_us),
    redis_replica_cores: need(c.replicas_cpu_us),
    worker_processes: need(c.jobs_cpu_us),
    postgres_cores: need(c.postgres_cpu_us),
    from_us_per_checkout: {
      api_cpu: c.api_cpu_us,
      redis_masters_cpu: c.masters_cpu_us,
      redis_command_time: c.redis_us,
      redis_replicas_cpu: c.replicas_cpu_us,
      worker_cpu: c.jobs_cpu_us,
      postgres_cpu: c.postgres_cpu_us,
    },
  })
  const model = {
    target_checkouts_per_s: TARGET,
    utilisation: UTILISATION,
    with_customer_tokens: sized(perCheckout(withTokens)),
    anonymous: sized(s),
    // One hot product lives on one partition, so on one Redis thread however many masters.
    hot_product_ceiling_per_s: hotMaster
      ? Math.floor((1e6 / Math.max(hotMaster.cpu_us_per_checkout, 1)) * UTILISATION)
      : 0,
  }
  const result = {
    machine: `${execSync('nproc').toString().trim()} cores, ${process.version}, a cluster of ${MASTERS} masters with a replica each, ${PARTITIONS} partitions, 1 API process + jobs, ${generator}, ${SECONDS} s rounds`,
    shares,
    single_partition: s,
    redis_us_per_event: eventUs,
    three_partitions: perCheckout(across),
    hot_product: { ...perCheckout(hotRound), master: masterOf(hot) },
    hot_master: hotMaster,
    with_customer_tokens: perCheckout(withTokens),
    create_rps: singleCreate.rps,
    capacity_model: model,
  }
  console.log('each master: its share of the keys and of the Redis time (1 = an even share)')
  console.table(shares)
  console.table(
    [
      ['1 partition', result.single_partition],
      ['3 partitions', result.three_partitions],
      ['hot product', result.hot_product],
      ['customer tokens', result.with_customer_tokens],
    ].map(([name, r]) => {
      const { per_master: _, ...row } = r as ReturnType<typeof perCheckout>
      return { round: name, ...row }
    }),
  )
  console.log(`capacity model for ${TARGET} checkouts/s at ${UTILISATION * 100} % utilisation:`)
  console.table(
    (['with_customer_tokens', 'anonymous'] as const).map((k) => {
      const { from_us_per_checkout: _, ...row } = model[k]
      return { configuration: k, ...row }
    }),
  )
  console.log(`one hot product's ceiling: ${model.hot_product_ceiling_per_s} checkouts/s`)
  console.log(JSON.stringify(result, null, 2))
  if (OUT) writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await stopServices()
  await deletePrefix(redis, prefix).catch(() => {})
  redis.disconnect()
  await sql.end()
  await db.drop()
  await cluster.stop()
}
