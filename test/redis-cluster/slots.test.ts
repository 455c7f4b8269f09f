import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { expireDueReservations, expireStaleDrafts } from '../../src/orders/expirySweeper.js'
import { ensureHydrated } from '../../src/recovery/hydrate.js'
import { keyBatches } from '../../src/redis/scan.js'
import { readScript, SCRIPT_NAMES, type ScriptName } from '../../src/redis/scripts.js'
import { slotOf } from '../../src/redis/slots.js'
import { writeBehindWorker } from '../../src/worker/writeBehind.js'
import { adminHeaders } from '../helpers/context.js'
import { stockCheck } from '../helpers/stockCheck.js'
import { useStore } from '../helpers/store.js'

// The suite's cluster (test/redis-cluster/globalSetup.ts), the store over 16 partitions.
const { ctx, store, newProduct, checkedOut } = useStore()

/** Every script call the store's client sends, by script name, with its keys. */
function recordScripts() {
  const byHash = new Map(
    SCRIPT_NAMES.map((name) => [createHash('sha1').update(readScript(name)).digest('hex'), name]),
  )
  const bySource = new Map(SCRIPT_NAMES.map((name) => [readScript(name), name]))
  const calls: { script: ScriptName; keys: string[] }[] = []
  const redis = ctx.deps.redis as unknown as Record<
    'evalsha' | 'eval',
    (...a: unknown[]) => unknown
  >
  const record = (lookup: Map<string, ScriptName>, args: unknown[]) => {
    const script = lookup.get(String(args[0]))
    if (script) calls.push({ script, keys: args.slice(2, 2 + Number(args[1])).map(String) })
  }
  const originals = { evalsha: redis.evalsha, eval: redis.eval }
  redis.evalsha = (...args) => {
    record(byHash, args)
    return originals.evalsha?.apply(ctx.deps.redis, args)
  }
  redis.eval = (...args) => {
    record(bySource, args)
    return originals.eval?.apply(ctx.deps.redis, args)
  }
  return {
    calls,
    stop: () => Object.assign(redis, originals),
  }
}

/** Two products in different partitions, as many orders of a flash sale are. */
async function twoPartitions() {
  const a = await newProduct(50)
  const b = await newProduct(50)
  expect(ctx.deps.keys.productPartition(a)).not.toBe(ctx.deps.keys.productPartition(b))
  return [a, b] as const
}

describe('slot hygiene on a cluster', () => {
  it("every script's keys lie in one slot, for every script of the store", async () => {
    const { keys, redis } = ctx.deps
    const recorded = recordScripts()
    try {
      const [a, b] = await twoPartitions()
      const both = [
        { product_id: a, quantity: 1 },
        { product_id: b, quantity: 2 },
      ]
      // The whole life of orders across partitions, and of plain ones; a customer's rate limit.
      for (const decide of ['confirm', 'reject'] as const) {
        const created = await store.createOrder({ products: both, customer_id: 'slots' })
        expect((await store.checkout(created.body.data.id)).status).toBe(200)
        const paid = await store.pay(created.body.data.id)
        expect((await store[decide](paid.body.data.payment_id)).status).toBe(200)
      }
      const cancelled = await store.createOrder({ products: both })
      expect((await store.checkout(cancelled.body.data.id)).status).toBe(200)
      expect((await store.cancel(cancelled.body.data.id)).status).toBe(200)
      // A reservation and a draft run out, and the sweeper ends them.
      const expiring = await checkedOut(a)
      await redis.hset(keys.order(expiring), 'reserved_until', '1')
      await redis.zadd(keys.partition(keys.orderPartition(expiring)).reservations, 1, expiring)
      expect(await expireDueReservations(ctx.deps)).toBe(1)
      const draft = await store.createOrder({ products: [{ product_id: b, quantity: 1 }] })
      await redis.zadd(
        keys.partition(keys.orderPartition(draft.body.data.id)).drafts,
        1,
        draft.body.data.id,
      )
      expect(await expireStaleDrafts(ctx.deps)).toBe(1)
      // The catalogue: a restock and an update.
      expect((await store.restock(a, 5)).status).toBe(200)
      const patched = await store.call(
        'PATCH',
        `/api/v1/products/${b}`,
        { price: 9.5 },
        adminHeaders,
      )
      expect(patched.status).toBe(200)
      // Drift, found by the stock check and repaired.
      await ctx.drain()
      await redis.hincrby(keys.product(a), 'available', 3)
      expect((await stockCheck(ctx, `?product_id=${a}`)).body.data.products[0].status).toBe('drift')
      const repaired = await store.call(
        'POST',
        '/api/v1/reconcile',
        { dry_run: false },
        adminHeaders,
      )
      expect(repaired.body.data.repairs).toMatchObject([{ product_id: a, applied: true }])
      // b's partition loses its data (an open order homed there, and a hold of one that is
      // not), and is rebuilt from Postgres.
      const open = await checkedOut(b)
      const spanning = await store.createOrder({ products: both })
      expect((await store.checkout(spanning.body.data.id)).status).toBe(200)
      await ctx.drain()
      const lost = keys.partition(keys.productPartition(b))
      for await (const batch of keyBatches(redis, `${lost.tag}:*`)) {
        await Promise.all(batch.map((key) => redis.del(key)))
      }
      expect(await ensureHydrated(ctx.deps)).toEqual([lost.index])
      expect((await store.cancel(open)).status).toBe(200)
      expect((await store.cancel(spanning.body.data.id)).status).toBe(200)
      // A worker takes its lanes' leases, and gives them up.
      const worker = writeBehindWorker(ctx.deps, { consumer: 'slots', leaseMs: 300 })
      await worker.start()
      await expect.poll(() => worker.lanes().length, { timeout: 5_000 }).toBe(keys.partitions)
      await worker.stop()
    } finally {
      recorded.stop()
    }

    expect(new Set(recorded.calls.map((c) => c.script))).toEqual(new Set(SCRIPT_NAMES))
    const crossSlot = recorded.calls.filter(
      ({ keys }) => new Set(keys.map((key) => slotOf(key))).size !== 1,
    )
    expect(crossSlot).toEqual([])
  })
})
