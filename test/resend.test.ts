import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANONYMOUS } from '../src/http/customers.js'
import { createOrder } from '../src/orders/service.js'
import { readScript, SCRIPT_NAMES, type ScriptName } from '../src/redis/scripts.js'
import { api } from './helpers/api.js'
import {
  adminHeaders,
  createTestContext,
  jsonHeaders,
  REDIS_URL,
  type TestContext,
  untilRedisAnswers,
} from './helpers/context.js'
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
  expect(res.status).toBe(200)
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
    200,
  ],
  ['checkoutOrder', 'draft', (f) => store.checkout(f.orderId), 200],
  ['payOrder', 'checkout', (f) => store.pay(f.orderId), 200],
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

describe('a request interrupted after its script ran, retried with its Idempotency-Key', () => {
  const orderBody = (productId: number) => ({ products: [{ product_id: productId, quantity: 1 }] })
  const withKey = (key: string) => ({ ...jsonHeaders, 'idempotency-key': key })
  const drafts = () => direct.zcard(ctx.deps.keys.drafts)

  it('after a 503 (the reply never came), makes the same order, not a second one', async () => {
    const productId = await newProduct(10)
    const before = await drafts()
    proxy.dropReplies(...sent('createOrder'))
    let first: Awaited<ReturnType<typeof store.call>>
    try {
      first = await store.call(
        'POST',
        '/api/v1/create-order',
        orderBody(productId),
        withKey('cut-1'),
      )
    } finally {
      proxy.deliverReplies()
      proxy.reset()
    }
    expect(first.status).toBe(503)
    expect(first.body.error.details.reason).toBe('redis')
    await untilRedisAnswers(ctx.deps.redis)
    const retry = await store.call(
      'POST',
      '/api/v1/create-order',
      orderBody(productId),
      withKey('cut-1'),
    )
    expect(retry.status).toBe(200)
    expect(await drafts()).toBe(before + 1)
    expect(await direct.exists(ctx.deps.keys.order(retry.body.data.id))).toBe(1)
    expect((await store.cancel(retry.body.data.id)).status).toBe(200)
  })

  it('after the process died holding the key, takes it over once the lease ran out', async () => {
    const productId = await newProduct(10)
    const body = JSON.stringify(orderBody(productId))
    const scope = ['anonymous', 'POST', '/api/v1/create-order'].join('\n')
    const entry = ctx.deps.keys.idempotency(scope, 'crashed-1')
    const fingerprint = createHash('sha256').update(body).digest('base64url')
    const claim = (at: number, id: string) => `P${fingerprint}${String(at).padStart(15, '0')}${id}`
    // What a crashed process leaves: its order made, its claim never finished.
    const made = await createOrder(ctx.deps, orderBody(productId), ANONYMOUS)
    const before = await drafts()
    await direct.set(entry, claim(Date.now(), made.id), 'PX', 60_000)
    const early = await store.call('POST', '/api/v1/create-order', body, withKey('crashed-1'))
    expect(early.status).toBe(409)
    expect(early.body.error.code).toBe('IDEMPOTENCY_IN_PROGRESS')
    await direct.set(entry, claim(Date.now() - 20_000, made.id), 'PX', 60_000)
    const retry = await store.call('POST', '/api/v1/create-order', body, withKey('crashed-1'))
    expect(retry.status).toBe(200)
    expect(retry.body.data.id).toBe(made.id)
    expect(await drafts()).toBe(before)
    const again = await store.call('POST', '/api/v1/create-order', body, withKey('crashed-1'))
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body.data.id).toBe(made.id)
    expect((await store.cancel(made.id)).status).toBe(200)
  })

  it('a replayed payment shows the payment as it is now', async () => {
    const productId = await newProduct(10)
    const order = await store.createOrder(orderBody(productId))
    expect((await store.checkout(order.body.data.id)).status).toBe(200)
    const pay = () =>
      store.call(
        'POST',
        '/api/v1/payment-order',
        { order_id: order.body.data.id },
        withKey('pay-1'),
      )
    const paid = await pay()
    expect(paid.status).toBe(200)
    expect((await store.confirm(paid.body.data.payment_id)).status).toBe(200)
    const replayed = await pay()
    expect(replayed.status).toBe(200)
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    expect(replayed.body.data).toMatchObject({
      payment_id: paid.body.data.payment_id,
      payment_status: 'confirmed',
      order_status: 'payment_confirmed',
    })
  })
})

describe('creating a product while Redis is unreachable', () => {
  it('is all or nothing: a 503 leaves no product in Postgres, and the retry makes one', async () => {
    const count = async () =>
      (await ctx.deps.sql<{ n: number }[]>`select count(*)::int as n from products`)[0]?.n
    const before = await count()
    await proxy.cut()
    let refused: Awaited<ReturnType<typeof store.addProduct>>
    try {
      refused = await store.addProduct({ name: 'Half made', quantity: 5, price: 1 })
    } finally {
      await proxy.restore()
    }
    expect(refused.status).toBe(503)
    expect(refused.body.error.details.reason).toBe('redis')
    expect(await count()).toBe(before)
    await untilRedisAnswers(ctx.deps.redis)
    const made = await store.addProduct({ name: 'Half made', quantity: 5, price: 1 })
    expect(made.status).toBe(200)
    expect(await count()).toBe((before ?? 0) + 1)
  })
})
