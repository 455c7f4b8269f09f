import cluster, { type Worker } from 'node:cluster'
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import { createServer } from 'node:net'
import { availableParallelism, getPriority, setPriority } from 'node:os'
import { serve } from '@hono/node-server'
import { createApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { migrate } from './db/migrate.js'
import type { Deps } from './deps.js'
import { periodic } from './jobs.js'
import { createLogger, type Logger } from './logger.js'
import { flushOutcomes } from './metrics/outcomes.js'
import { expireDueReservations, expireStaleDrafts } from './orders/expirySweeper.js'
import { auditHolds } from './orders/holds.js'
import { relayHeads, shareHeads } from './orders/linesCache.js'
import { checkPartitions, ensureHydrated, upgradeMarker } from './recovery/hydrate.js'
import { loadStockIntoRedis } from './recovery/load.js'
import {
  adminTokenFor,
  connect,
  disconnect,
  EXIT_CANNOT_LISTEN,
  portInUse,
  StartupError,
} from './runtime.js'
import { publishStockReport } from './stock/report.js'
import { logBacklog } from './worker/status.js'
import { writeBehindWorker } from './worker/writeBehind.js'

/**
 * The service. ROLE (or --role=) picks what a process runs:
 * - `all` (default): this process prepares the store (migrations, Redis loaded
 *   or rebuilt), then supervises WEB_CONCURRENCY API processes (node:cluster,
 *   sharing the port) and one `jobs` process, restarting any that dies. The
 *   write-behind worker and the sweeper so never share an event loop with checkouts.
 * - `api`, `jobs` (worker + sweeper + stock report), or one of `worker`,
 *   `sweeper`, `reporter`: that part alone, in this process.
 */
async function main() {
  if (existsSync('.env')) process.loadEnvFile('.env')
  // A process the supervisor started takes its role from the environment it was given.
  const roleArg = cluster.isWorker
    ? undefined
    : process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length)
  const config = loadConfig(roleArg ? { ...process.env, ROLE: roleArg } : process.env)
  const logger = createLogger(config.LOG_LEVEL)
  if (config.ROLE === 'all' && cluster.isPrimary) return supervise(config, logger)

  const deps = await connect(config, logger)
  if (!cluster.isWorker) await prepare(deps)
  if (cluster.isWorker && config.ROLE === 'jobs') yieldToApi(config, logger)
  const stops = start(deps)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT_MS)
    force.unref()
    for (const stop of stops) await stop()
    await disconnect(deps)
    logger.info('stopped')
    logger.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

/** The supervisor's jobs process runs at JOBS_NICE, so a burst of checkouts is served first. */
function yieldToApi(config: Config, logger: Logger) {
  try {
    setPriority(Math.max(getPriority(), config.JOBS_NICE))
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not lower the jobs process priority')
  }
}

/** Migrations, then Redis made ready: rebuilt from Postgres if empty, else topped up. */
async function prepare(deps: Deps) {
  await migrate(deps.sql, (name) => deps.logger.info({ migration: name }, 'applying migration'))
  await upgradeMarker(deps)
  await checkPartitions(deps)
  const rebuilt = new Set(await ensureHydrated(deps))
  const kept = deps.keys.allPartitions.map((p) => p.index).filter((p) => !rebuilt.has(p))
  if (kept.length > 0) {
    deps.logger.info(
      { products_loaded: await loadStockIntoRedis(deps, kept) },
      'stock loaded into Redis',
    )
  }
}

/** Starts this process's parts; returns their stops, in the order to call them. */
function start(deps: Deps): (() => Promise<void>)[] {
  const { config, logger } = deps
  const role = config.ROLE
  const runs = (part: string) => role === part || (role === 'jobs' && part !== 'api')
  const stops: (() => Promise<void>)[] = []

  if (runs('worker')) {
    const worker = writeBehindWorker(deps)
    void worker.start()
    stops.push(worker.stop)
    const monitor = periodic('write-behind-monitor', 10_000, () => logBacklog(deps), logger)
    monitor.start()
    stops.push(monitor.stop)
  }
  if (runs('sweeper')) {
    // Each sweep also notices a Redis that lost its data while we run, and rebuilds it first.
    const sweep = async () => {
      await ensureHydrated(deps)
      await expireDueReservations(deps)
      await expireStaleDrafts(deps)
      await auditHolds(deps, config.EXPIRY_SWEEP_BATCH)
    }
    const sweeper = periodic('expiry-sweeper', config.EXPIRY_SWEEP_INTERVAL_MS, sweep, logger)
    sweeper.start()
    stops.push(sweeper.stop)
  }
  if (runs('reporter')) {
    const reporter = periodic(
      'stock-report',
      config.STOCK_REPORT_INTERVAL_SECONDS * 1000,
      () => publishStockReport(deps),
      logger,
    )
    // Soon after start: the pages and the dashboard sort on the full check's verdicts.
    reporter.start(1_000)
    stops.push(reporter.stop)
  }
  if (role === 'api') {
    const app = createApp(deps)
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
      const host = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST
      logger.info({ port: info.port }, `online-store listening on http://${host}:${info.port}`)
      console.log(`online-store listening on http://${host}:${info.port}  (docs: /docs)`)
    })
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err
      console.error(
        err.code === 'EADDRINUSE'
          ? portInUse(config.HOST, config.PORT)
          : `Port ${config.PORT} on ${config.HOST} needs privileges this process does not have; set PORT above 1023.`,
      )
      // Under the supervisor, a distinct code: it stops instead of starting another.
      process.exit(cluster.isWorker ? EXIT_CANNOT_LISTEN : 1)
    })
    // Stop accepting first and let in-flight requests finish, before the jobs and connections
    // close. Open streams (the dashboard's) would hold it open: they are cut after a second.
    stops.unshift(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          setTimeout(() => (server as Server).closeAllConnections(), 1_000).unref()
        }),
    )
    const stopSharing = shareHeads(deps.redis)
    stops.push(async () => stopSharing())
    // What buyers met, counted in memory, reaches the dashboard's shared counters.
    const outcomes = periodic('dashboard-outcomes', 2_000, () => flushOutcomes(deps), logger)
    outcomes.start()
    stops.push(async () => {
      await outcomes.stop()
      await flushOutcomes(deps)
    })
  }
  return stops
}

/** Fails with one sentence when HOST:PORT is taken, before anything starts. */
async function ensurePortFree(config: Config) {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' ? new StartupError(portInUse(config.HOST, config.PORT)) : err,
      ),
    )
    probe.listen(config.PORT, config.HOST, () => probe.close(() => resolve()))
  })
}

/**
 * ROLE=all: prepare once, then run the API processes and the jobs process, and
 * keep them running. The admin token is settled here, once, and every process
 * gets it in its environment.
 */
async function supervise(startConfig: Config, logger: Logger) {
  await ensurePortFree(startConfig)
  const config = { ...startConfig, ADMIN_TOKEN: adminTokenFor(startConfig, logger) }
  process.env.ADMIN_TOKEN = config.ADMIN_TOKEN
  const deps = await connect(config, logger)
  await prepare(deps)
  await disconnect(deps)

  const apiProcesses = config.WEB_CONCURRENCY ?? availableParallelism()
  const roles = new Map<Worker, string>()
  let stopping = false
  let exitCode = 0
  const fork = (role: string) => {
    const worker = cluster.fork({ ROLE: role })
    roles.set(worker, role)
  }
  cluster.on('exit', (worker, code, signal) => {
    const role = roles.get(worker) ?? 'api'
    roles.delete(worker)
    if (stopping) {
      if (roles.size === 0) process.exit(exitCode)
      return
    }
    if (code === EXIT_CANNOT_LISTEN) {
      // It said why; starting another would fail the same way, every 500 ms, for ever.
      exitCode = 1
      return shutdown('cannot listen')
    }
    logger.error({ role, code, signal }, 'a service process died; starting another')
    setTimeout(() => fork(role), 500)
  })
  // Order heads one API process creates reach the others (src/orders/linesCache.ts).
  cluster.on('message', (from, message) =>
    relayHeads(
      from,
      message,
      [...roles].filter(([, role]) => role === 'api').map(([worker]) => worker),
    ),
  )
  for (let i = 0; i < apiProcesses; i++) fork('api')
  fork('jobs')
  logger.info(
    { api_processes: apiProcesses },
    'online-store started: API processes and one jobs process',
  )

  function shutdown(signal: string) {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down every process')
    for (const worker of roles.keys()) worker.process.kill('SIGTERM')
    if (roles.size === 0) process.exit(exitCode)
    setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 1_000).unref()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof StartupError) {
    console.error(err.message)
  } else {
    console.error('online-store failed to start:', err)
  }
  process.exit(1)
})
