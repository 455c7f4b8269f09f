import { afterEach, describe, expect, it } from 'vitest'
import { startReplicatedRedis } from '../scripts/lib/topology/replicatedRedis.js'
import { streamBehind } from '../src/worker/status.js'
import { writeBehindWorker } from '../src/worker/writeBehind.js'
import { api } from './helpers/api.js'
import { cleanupList } from './helpers/cleanups.js'
import { createTestContext, type TestContext, untilRedisAnswers } from './helpers/context.js'
import { stockOf } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'
import { type Acknowledged, runTraffic } from './helpers/traffic.js'

// A private primary, replica and three sentinels. Sales run while the primary
// is killed with -9 three times, each time just after the replica stalled, so
// the primary has acknowledged writes the replica does not hold.
const cleanups = cleanupList()
afterEach(() => cleanups.run())
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How far along its life an order is: a later state never forgets an earlier one. */
const RANK: Record<string, number> = {
  draft: 0,
  checkout: 1,
  paid: 2,
  cancelled: 2,
  expired: 2,
  payment_confirmed: 3,
  payment_rejected: 3,
}

/** A sale across three failovers; returns what was acknowledged and the store. */
async function saleAcrossFailovers(replicaAcks: number) {
  const topology = await startReplicatedRedis()
  cleanups.push(() => topology.stop())
  const ctx = await createTestContext({
    REDIS_SENTINELS: topology.sentinels,
    REDIS_SENTINEL_MASTER: topology.master,
    REDIS_REPLICA_ACKS: String(replicaAcks),
    // Generous: a replica on a machine busy with other tests acknowledges late.
    REDIS_REPLICA_ACK_TIMEOUT_MS: '1000',
  })
  const store = api(ctx)
  const product = await store.addProduct({ name: 'Failover', quantity: 1_000_000, price: 1 })
  expect(product.status).toBe(200)
  const productId = product.body.data.id as number
  const worker = writeBehindWorker(ctx.deps, { blockMs: 100 })
  await worker.start()

  let selling = true
  const traffic = runTraffic(store, productId, {
    lanes: 4,
    paceMs: 5,
    maxOrders: 20_000,
    keepGoing: () => selling,
  })
  for (let i = 0; i < 3; i++) {
    await sleep(700)
    await topology.failover({ stallReplicaMs: 1_500 })
  }
  await sleep(700)
  selling = false
  const acknowledged = await traffic
  await worker.stop()
  await untilRedisAnswers(ctx.deps.redis)
  return { ctx, productId, acknowledged }
}

/**
 * Runs `check` once the store's connection answers, again (for up to about 10
 * s) if a late reconnect cuts it or the replica cannot confirm for a moment (a
 * sentinel reconfiguring a server, and the resync after it): the checks read,
 * and the drain is safe to repeat.
 */
async function settled<T>(ctx: TestContext, check: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await untilRedisAnswers(ctx.deps.redis)
    try {
      return await check()
    } catch (err) {
      // A reconnect, or a replica resyncing after a sentinel reconfigured it.
      const cut =
        /Stream isn't writeable|Connection is closed|Command timed out|replicas confirmed/.test(
          (err as Error).message,
        )
      if (!cut || attempt >= 20) throw err
      await sleep(500)
    }
  }
}

/** Acknowledged orders Redis no longer holds at (at least) their acknowledged state. */
async function forgotten(ctx: TestContext, acknowledged: Acknowledged) {
  const lost: string[] = []
  for (const [orderId, status] of acknowledged) {
    const live = await ctx.deps.redis.hget(ctx.deps.keys.order(orderId), 'status')
    const rank = live === null ? -1 : (RANK[live] ?? -1)
    const terminal = (RANK[status] ?? 0) >= 2 && status !== 'paid'
    if (rank < (RANK[status] ?? 0) || (terminal && live !== status)) lost.push(orderId)
  }
  return lost
}

describe('replicas and failover', () => {
  it('with REDIS_REPLICA_ACKS=1, no acknowledged order is lost across 3 failovers with a stalled replica', async () => {
    const { ctx, productId, acknowledged } = await saleAcrossFailovers(1)
    cleanups.push(() => ctx.close())
    expect(acknowledged.size).toBeGreaterThan(50)
    expect(await settled(ctx, () => forgotten(ctx, acknowledged))).toEqual([])

    // Postgres holds every acknowledged order, as Redis does, and nothing is oversold.
    await settled(ctx, () => ctx.drain())
    const rows = await ctx.deps.sql<{ id: string; status: string }[]>`select id, status from orders`
    const persisted = new Map(rows.map((r) => [r.id, r.status]))
    for (const [orderId, status] of acknowledged) {
      const row = persisted.get(orderId)
      expect(row, `order ${orderId} (${status}) is in Postgres`).toBeDefined()
      expect(RANK[row as string] ?? -1, `${orderId}: ${status} → ${row}`).toBeGreaterThanOrEqual(
        RANK[status] ?? 0,
      )
    }
    const stock = await settled(ctx, () => stockOf(ctx.deps, productId))
    expect(stock.available).toBeGreaterThanOrEqual(0)
    expect(stock.available + stock.reserved + stock.sold).toBe(1_000_000)
    await settled(ctx, () => expectAllInSync(ctx))
    // Checked above, through a settled connection: closed here rather than checked again after.
    await settled(ctx, () => ctx.close())
    cleanups.pop()
  }, 120_000)

  it('with REDIS_REPLICA_ACKS=0 the window exists: it reports the acknowledged orders a failover forgot', async () => {
    const { ctx, acknowledged } = await saleAcrossFailovers(0)
    const lost = await settled(ctx, () => forgotten(ctx, acknowledged))
    const behind = await settled(ctx, () => streamBehind(ctx.deps))
    console.log(
      `REDIS_REPLICA_ACKS=0: ${lost.length} of ${acknowledged.size} acknowledged orders forgotten by 3 failovers; ` +
        `the event stream ${behind ? `went backwards (${JSON.stringify(behind)}): write-behind stopped` : 'did not go backwards'}`,
    )
    expect(acknowledged.size).toBeGreaterThan(50)
    // Not a failure: this is the risk REDIS_REPLICA_ACKS removes. Its store may disagree
    // with Postgres now, so it is closed here rather than checked after the test.
    await settled(ctx, () => ctx.close())
  }, 120_000)
})
