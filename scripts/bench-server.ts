/**
 * The two servers the benchmark compares, in one child process so the load
 * generator does not share their event loop: a bare Hono echo route, and the
 * store (API + write-behind worker + expiry sweeper, as `npm start` runs it).
 * Prints one JSON line with their URLs when both listen.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { migrate } from '../src/db/migrate.js'
import { createLogger } from '../src/logger.js'
import { connect } from '../src/runtime.js'
import { writeBehindWorker } from '../src/worker/writeBehind.js'

const listen = (fetch: (req: Request) => Response | Promise<Response>) =>
  new Promise<string>((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    )
  })

const echo = new Hono().post('/echo', async (c) => c.json({ data: await c.req.json() }))

const config = loadConfig()
const deps = await connect(config, createLogger('silent'))
await migrate(deps.sql)
const worker = writeBehindWorker(deps)
if (process.env.BENCH_WORKER !== '0') await worker.start()

const [echoUrl, storeUrl] = await Promise.all([listen(echo.fetch), listen(createApp(deps).fetch)])
console.log(JSON.stringify({ echoUrl, storeUrl }))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
