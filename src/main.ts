import { existsSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { createApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { migrate } from './db/migrate.js'
import { periodic } from './jobs.js'
import { createLogger } from './logger.js'
import { expireDueReservations, expireStaleDrafts } from './orders/expirySweeper.js'
import { ensureHydrated } from './recovery/hydrate.js'
import { connect, disconnect, StartupError } from './runtime.js'
import { loadStockIntoRedis } from './stock/load.js'
import { publishStockReport } from './stock/report.js'
import { logBacklog } from './worker/status.js'
import { writeBehindWorker } from './worker/writeBehind.js'

/**
 * The service. ROLE (or --role=) picks what this process runs: `all` (default:
 * API, write-behind worker, expiry sweeper and stock report), or one of `api`,
 * `worker`, `sweeper`, `reporter`.
 */
async function main() {
  if (existsSync('.env')) process.loadEnvFile('.env')
  const roleArg = process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length)
  const config = loadConfig(roleArg ? { ...process.env, ROLE: roleArg } : process.env)
  const logger = createLogger(config.LOG_LEVEL)
  const deps = await connect(config, logger)

  await migrate(deps.sql, (name) => logger.info({ migration: name }, 'applying migration'))
  // Before any checkout: rebuild an empty Redis from Postgres, else top up missing products.
  if (!(await ensureHydrated(deps))) {
    logger.info({ products_loaded: await loadStockIntoRedis(deps) }, 'stock loaded into Redis')
  }

  const runs = (role: string) => config.ROLE === 'all' || config.ROLE === role
  const stops: (() => Promise<void>)[] = []

  if (runs('worker')) {
    const worker = writeBehindWorker(deps)
    await worker.start()
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
    reporter.start()
    stops.push(reporter.stop)
  }
  if (runs('api')) {
    const app = createApp(deps)
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
      const host = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST
      logger.info({ port: info.port }, `online-store listening on http://${host}:${info.port}`)
      console.log(`online-store listening on http://${host}:${info.port}  (docs: /docs)`)
    })
    // Stop accepting first and let in-flight requests finish, before the jobs and connections close.
    stops.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())))
  }

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
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof StartupError) {
    console.error(err.message)
  } else {
    console.error('online-store failed to start:', err)
  }
  process.exit(1)
})
