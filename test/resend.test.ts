import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readScript, SCRIPT_NAMES, type ScriptName } from '../src/redis/scripts.js'
import { api } from './helpers/api.js'
import { adminHeaders, createTestContext, REDIS_URL, type TestContext } from './helpers/context.js'
import { stockOf } from './helpers/snapshot.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcpProxy.js'

// The service reaches Redis through a proxy that can lose replies. ioredis
// sends again every command whose reply it lost when it reconnects: every
// script that changes state must answer such a resend with its first answer.
let proxy: TcpProxy
let ctx: TestContext
let store: ReturnType<typeof api>
let direct: Redis

beforeAll(async () => {
  proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379))
  ctx = await createTestContext({ REDIS_URL: proxy.url('redis') })
  store = api(ctx)
  direct = new Redis(REDIS_URL)
})
afterAll(async () => {
  direct.disconnect()
  await ctx.close()
  await proxy.close()
})

/** What EVALSHA or EVAL (the first call on a connection) sends for a script: markers for the proxy. */
function sent(name: ScriptName) {
  const source = readScript(name)
  return [createHash('sha1').update(source).digest('hex'), source.slice(0, 200)]
}
const eventCount = () => direct.xlen(ctx.deps.keys.events)

/**
 * Runs `action` while Redis's replies are lost (from the first request that
 * holds one of `markers`: see `sent`): once Redis has appended
 * `events` more events (so every script ran), the connection is cut; ioredis
 * reconnects and resends what it had in flight. Returns the action's result
 * and how many events Redis appended in all.
 */
async function withLostReplies<T>(markers: string[], events: number, action: () => Promise<T>) {
  const before = await eventCount()
  proxy.dropReplies(...markers)
  const pending = action()
  try {
    const deadline = Date.now() + 10_000
    while ((await eventCount()) < before + events) {
      if (Date.now() > deadline) throw new Error('the scripts never ran')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } finally {
    proxy.deliverReplies()
    proxy.reset()
  }
  const result = await pending
  return { result, appended: (await eventCount()) - before }
}

async function newProduct(quantity: number) {
  const res = await store.addProduct({ name: 'Resent', quantity, price: 5 })
  expect(res.status).toBe(201)
  return res.body.data.id as number
}

describe('a lost reply, resent by ioredis, never applies twice', () => {
  it('20 concurrent restocks of +100 whose replies were lost add 2,000 units, not more', async () => {
    const productId = await newProduct(10)
    const { result, appended } = await withLostReplies(sent('restockProduct'), 20, () =>
      Promise.all(Array.from({ length: 20 }, () => store.restock(productId, 100))),
    )
    expect(result.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(appended).toBe(20)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 2_010, reserved: 0, sold: 0 })
    // Nothing beyond the ledger can be sold.
    const order = await store.createOrder({
      products: [{ product_id: productId, quantity: 2_011 }],
    })
    expect(order.status).toBe(409)
  })

  it('a repair whose reply was lost is reported applied, and recorded once', async () => {
    const productId = await newProduct(50)
    await ctx.drain()
    await direct.hincrby(ctx.deps.keys.product(productId), 'available', 9)
    const { result, appended } = await withLostReplies(sent('repairStock'), 1, () =>
      store.call(
        'POST',
        '/api/v1/reconcile',
        { dry_run: false, product_id: productId },
        adminHeaders,
      ),
    )
    expect(result.status).toBe(200)
    expect(appended).toBe(1)
    expect(result.body.data.repairs).toMatchObject([{ product_id: productId, applied: true }])
    expect(result.body.data.repairs[0].reason).toBeUndefined()
    const rows = await ctx.deps.sql`
      select count(*)::int as n from stock_reconciliations where product_id = ${productId}
    `
    expect(rows[0]?.n).toBe(1)
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 50, reserved: 0, sold: 0 })
  })
})

/** A fresh order of one unit, taken to `state`; its payment id once paid. */
async function orderIn(state: 'none' | 'draft' | 'checkout' | 'paid') {
  const productId = await newProduct(100)
  if (state === 'none') return { productId, orderId: '', paymentId: '' }
  const created = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
  const orderId = created.body.data.id as string
  if (state !== 'draft') expect((await store.checkout(orderId)).status).toBe(200)
  const paymentId =
    state === 'paid' ? ((await store.pay(orderId)).body.data.payment_id as string) : ''
  return { productId, orderId, paymentId }
}

type Fixture = Awaited<ReturnType<typeof orderIn>>
const CALLS: [
  ScriptName,
  Parameters<typeof orderIn>[0],
  (f: Fixture) => ReturnType<typeof store.call>,
  number,
][] = [
  [
    'createOrder',
    'none',
    (f) => store.createOrder({ products: [{ product_id: f.productId, quantity: 1 }] }),
    201,
  ],
  ['checkoutOrder', 'draft', (f) => store.checkout(f.orderId), 200],
  ['payOrder', 'checkout', (f) => store.pay(f.orderId), 201],
  ['confirmPayment', 'paid', (f) => store.confirm(f.paymentId), 200],
  ['rejectPayment', 'paid', (f) => store.reject(f.paymentId), 200],
  ['cancelOrder', 'checkout', (f) => store.cancel(f.orderId), 200],
  [
    'updateProduct',
    'none',
    (f) => store.call('PATCH', `/api/v1/products/${f.productId}`, { price: 7 }, adminHeaders),
    200,
  ],
]

describe('every other call whose reply was lost answers once, with one event', () => {
  it.each(CALLS)('%s', async (script, state, call, ok) => {
    const fixture = await orderIn(state)
    const { result, appended } = await withLostReplies(sent(script), 1, () => call(fixture))
    expect(result.status).toBe(ok)
    expect(appended).toBe(1)
  })

  it.each(SCRIPT_NAMES)('%s states its resend rule in its header', (name) => {
    expect(readScript(name)).toMatch(/Resend rule: \S/)
  })
})
