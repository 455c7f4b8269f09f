import { execSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisServer } from '../scripts/lib/topology/redisServer.js'
import { createSql } from '../src/db/client.js'
import type { Deps } from '../src/deps.js'
import { createRedis } from '../src/redis/client.js'
import { storeKeys } from '../src/redis/keys.js'
import { ADMIN_TOKEN, createTestDatabase, type TestContext } from './helpers/context.js'
import { startService } from './helpers/processes.js'
import { expectInvariants } from './helpers/stockCheck.js'

/** One request on a connection of its own, so the cluster deals it to its next API process. */
function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: { data: { id: string; status: string } } }>(
    (resolve, reject) => {
      const req = httpRequest(
        `${url}${path}`,
        {
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', connection: 'close', ...headers },
        },
        (res) => {
          let text = ''
          res.on('data', (chunk) => {
            text += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify(body))
    },
  )
}

describe('ROLE=all with two API processes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let redisServer: Awaited<ReturnType<typeof startRedisServer>>
  let service: ReturnType<typeof startService>
  let redis: Redis
  let monitor: Redis | undefined
  let url: string
  const keys = storeKeys(`t-${randomBytes(6).toString('hex')}`)

  beforeAll(async () => {
    db = await createTestDatabase()
    // A Redis of its own, so MONITOR sees only this service.
    redisServer = await startRedisServer({ persistence: 'none' })
    redis = createRedis(redisServer.url, () => {}) as Redis
    await redis.connect()
    service = startService({
      DATABASE_URL: db.url,
      REDIS_URL: redisServer.url,
      KEY_PREFIX: keys.prefix,
      ADMIN_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      WEB_CONCURRENCY: '2',
    })
    url = await service.listening
    // Both API processes print their line once they listen.
    for (let i = 0; i < 200 && service.output().stdout.split('listening on').length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })
  afterAll(async () => {
    monitor?.disconnect()
    service?.child.kill('SIGTERM')
    await service?.exited
    redis?.disconnect()
    await redisServer?.stop()
    await db?.drop()
  })

  it('runs the jobs process at JOBS_NICE and the API processes at normal priority', async () => {
    const niceness = () =>
      execSync(`pgrep -P ${service.child.pid}`)
        .toString()
        .trim()
        .split('\n')
        // The supervisor's own processes (tsx may also run an esbuild helper).
        .filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.ts'))
        .map((pid) => {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
        })
        .sort()
    // The jobs process lowers its priority once it has connected.
    for (let i = 0; i < 100 && !niceness().includes(10); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(niceness()).toEqual([0, 0, 10])
  })

  it('checks out an order made on the other API process in one Redis round trip', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const product = await post(
      url,
      '/api/v1/products',
      { name: 'Kaos', quantity: 50, price: 5 },
      admin,
    )
    expect(product.status).toBe(200)
    const productId = Number(product.body.data.id)

    // Each request has a connection of its own, and the cluster deals
    // connections to its API processes in turn.
    const orders: string[] = []
    for (let i = 0; i < 12; i++) {
      const made = await post(url, '/api/v1/create-order', {
        products: [{ product_id: productId, quantity: 1 }],
      })
      expect(made.status).toBe(200)
      orders.push(made.body.data.id)
    }
    await new Promise((resolve) => setTimeout(resolve, 200)) // heads travel between processes

    monitor = await redis.monitor()
    const orderReads: string[] = []
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'hmget' && args[1]?.startsWith(keys.order(''))) {
        orderReads.push(args[1])
      }
    })
    // Each order twice in a row (a repeated checkout answers the held reservation):
    // one of the two lands on the process that did not create it.
    for (const orderId of orders) {
      for (let i = 0; i < 2; i++) {
        const done = await post(url, '/api/v1/checkout-order', { order_id: orderId })
        expect(done.status).toBe(200)
        expect(done.body.data.status).toBe('checkout')
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100)) // MONITOR lines arrive after replies
    expect(orderReads).toEqual([])

    // The invariants hold on the service's own database and Redis.
    const sql = createSql(db.url, { max: 1 })
    try {
      const ctx = {
        app: {
          request: (path: string, init?: RequestInit) =>
            fetch(`${url}${path}`, { ...init, headers: { ...admin, ...init?.headers } }),
        } as unknown as TestContext['app'],
        drain: async () => {
          for (let i = 0; i < 100 && (await redis.xlen(keys.events)) > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 50))
          }
          return 0
        },
        deps: { redis, keys, sql } as unknown as Deps,
      }
      await expectInvariants(ctx)
    } finally {
      await sql.end()
    }
  })
})
