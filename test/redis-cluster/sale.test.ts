import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisTimeUs } from '../../scripts/lib/redisTime.js'
import { type RedisCluster, startRedisCluster } from '../../scripts/lib/topology/redisCluster.js'
import { slotOf } from '../../src/redis/slots.js'
import { type Api, api } from '../helpers/api.js'
import { createTestContext, type TestContext } from '../helpers/context.js'
import { stockOf } from '../helpers/snapshot.js'
import { expectAllInSync } from '../helpers/stockCheck.js'

/**
 * A flash sale on a Redis Cluster of its own (3 masters, 3 replicas), the
 * store over 16 partitions: its Redis time is measured per master, so no
 * other file may share the cluster.
 */
let cluster: RedisCluster
let ctx: TestContext
let store: Api

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 })
  ctx = await createTestContext({ REDIS_CLUSTER_NODES: cluster.nodes, PARTITIONS: '16' })
  store = api(ctx)
})
afterAll(async () => {
  await ctx?.close()
  await cluster?.stop()
})

const PRODUCTS = 60
const STOCK = 20

/** Runs `task` over `items`, `lanes` at a time. */
async function inLanes<T>(items: readonly T[], lanes: number, task: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < items.length) await task(items[next++] as T)
    }),
  )
}

describe('a flash sale on a 3-master cluster, 16 partitions', () => {
  it('sells exactly the stock with orders across masters, in sync, each master near an even share', async () => {
    const { keys } = ctx.deps
    const ids: number[] = []
    for (let i = 0; i < PRODUCTS; i++) {
      const res = await store.addProduct({ name: `Deal ${i}`, quantity: STOCK, price: 7.5 })
      expect(res.status).toBe(200)
      ids.push(res.body.data.id)
    }
    const masterOf = new Map<number, number>()
    for (const part of keys.allPartitions) {
      masterOf.set(part.index, (await cluster.masterOf(slotOf(part.tag))) as number)
    }
    const productMaster = (id: number) => masterOf.get(keys.productPartition(id))
    await ctx.drain()
    await cluster.resetStats()

    // Buyers: 1 to 3 distinct products each, 1 or 2 units a line; half of those who get
    // their order pay, and half of those are confirmed.
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed % n
    }
    const baskets = Array.from({ length: 500 }, () => {
      const lines = new Map<number, number>()
      const size = 1 + random(3)
      while (lines.size < size) lines.set(ids[random(PRODUCTS)] as number, 1 + random(2))
      return [...lines].map(([product_id, quantity]) => ({ product_id, quantity }))
    })
    const bought = new Map<number, number>(ids.map((id) => [id, 0]))
    let acrossMasters = 0
    const buy = async (lines: { product_id: number; quantity: number }[], i: number) => {
      const created = await store.createOrder({ products: lines })
      if (created.status !== 200) return expect(created.status).toBe(409)
      const orderId = created.body.data.id as string
      const checkout = await store.checkout(orderId)
      if (checkout.status !== 200) {
        expect(checkout.body.error.code).toMatch(/^(OUT_OF_STOCK|HOLDS_EXPIRED)$/)
        return
      }
      for (const l of lines) bought.set(l.product_id, (bought.get(l.product_id) ?? 0) + l.quantity)
      if (new Set(lines.map((l) => productMaster(l.product_id))).size > 1) acrossMasters += 1
      if (i % 2 === 0) return
      const paid = await store.pay(orderId)
      expect(paid.status).toBe(200)
      if (i % 4 === 1) expect((await store.confirm(paid.body.data.payment_id)).status).toBe(200)
    }
    await inLanes(
      baskets.map((lines, i) => [lines, i] as const),
      24,
      ([lines, i]) => buy(lines, i),
    )
    // The last units go one at a time, until every product is sold out. A buyer refused
    // while units are left (a sold-out hint of a moment ago) comes back, as buyers do.
    await inLanes(ids, 12, async (id) => {
      const deadline = Date.now() + 10_000
      while ((await stockOf(ctx.deps, id)).available > 0 && Date.now() < deadline) {
        const created = await store.createOrder({ products: [{ product_id: id, quantity: 1 }] })
        const checkout =
          created.status === 200 ? await store.checkout(created.body.data.id) : created
        if (checkout.status === 200) bought.set(id, (bought.get(id) ?? 0) + 1)
        else {
          expect(checkout.body.error.code).toBe('OUT_OF_STOCK')
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    })

    expect(acrossMasters).toBeGreaterThan(50)
    for (const id of ids) {
      expect(bought.get(id), `product ${id}`).toBe(STOCK)
      const live = await stockOf(ctx.deps, id)
      expect(live.available).toBe(0)
      expect(live.reserved + live.sold).toBe(STOCK)
    }
    await expectAllInSync(ctx)

    // Each master's share of the store's keys and of its Redis time, against an even third.
    const keyCounts = await cluster.keyCounts(`{${ctx.prefix}:*`)
    const time = (await cluster.commandStats()).map((m) => ({
      port: m.port,
      usec: redisTimeUs(m.commands),
    }))
    const shares = (values: number[]) => {
      const total = values.reduce((a, b) => a + b, 0)
      return values.map((v) => (v / total) * values.length)
    }
    const keyShares = shares(keyCounts.map((m) => m.keys))
    const timeShares = shares(time.map((m) => m.usec))
    console.log('per master', { keyCounts, time, keyShares, timeShares })
    expect(keyShares).toHaveLength(3)
    for (const share of [...keyShares, ...timeShares]) {
      expect(share).toBeGreaterThanOrEqual(0.5)
      expect(share).toBeLessThanOrEqual(2)
    }
  })
})
