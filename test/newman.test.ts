import { readFileSync } from 'node:fs'
import newman, { type NewmanRunSummary } from 'newman'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, createTestContext, type TestContext } from './helpers/context.js'
import { listen } from './helpers/server.js'
import { stockOf } from './helpers/snapshot.js'
import { expectAllInSync } from './helpers/stockCheck.js'

/**
 * The original shop's Postman collection (test/fixtures, the seed's file as it
 * is), run through newman against a real server, with a test script on every
 * request that reads the answer the way the original's client does: HTTP 200,
 * `status.code` 200, and the next request's id taken from `data.id`. Only what
 * the README lists as a difference is adapted: ids are UUIDs (the bodies send
 * the id the client read, not the collection's `26`), admin routes send the
 * admin token, and a confirmed payment cannot be rejected any more (the
 * collection rejects the payment it just confirmed: that request expects our
 * 409, and a second folder rejects a payment that is still waiting).
 */
interface Item {
  name: string
  event?: unknown[]
  request: {
    method: string
    header: { key: string; value: string }[]
    body?: { mode: string; raw: string }
    url: {
      raw: string
      host: string[]
      port?: string
      path: string[]
      variable?: { key: string; value: string }[]
    }
  }
}

const original = JSON.parse(
  readFileSync(new URL('./fixtures/online-store.postman_collection.json', import.meta.url), 'utf8'),
) as { info: unknown; item: Item[] }

const ADMIN = new Set(['add product', 'confirm-payment', 'reject-payment', 'check-products-stock'])
/** What the client takes from `data.id` after each request, for the ones after it. */
const CAPTURES: Record<string, string> = {
  'add product': 'product_id',
  'create-order': 'order_id',
  'payment-order': 'payment_id',
}

/** The client's reading of an answer: HTTP 200, `status.code` 200, and the id it needs next. */
function clientScript(name: string, expected = 200): string[] {
  const capture = CAPTURES[name]
  return [
    `pm.test('${name}: HTTP ${expected}', () => pm.response.to.have.status(${expected}))`,
    'const body = pm.response.json()',
    `pm.test('${name}: status.code ${expected}', () => pm.expect(body.status.code).to.equal(${expected}))`,
    "pm.test('data, meta and status', () => pm.expect(body).to.include.keys('status'))",
    ...(expected === 200
      ? ["pm.test('data and meta', () => pm.expect(body).to.include.keys('data', 'meta'))"]
      : []),
    ...(capture
      ? [
          `pm.test('data.id is there', () => pm.expect(body.data.id).to.be.ok)`,
          `pm.collectionVariables.set('${capture}', body.data.id)`,
        ]
      : []),
  ]
}

/** One request of the collection, pointed at `{{base_url}}` and at the ids read so far. */
function adapted(item: Item, expected = 200): Item {
  const { request } = item
  const path = request.url.path.map((part) =>
    part === ':order_id' ? '{{order_id}}' : part === ':payment_id' ? '{{payment_id}}' : part,
  )
  const header = [...request.header]
  if (ADMIN.has(item.name)) header.push({ key: 'Authorization', value: `Bearer ${ADMIN_TOKEN}` })
  const raw = request.body?.raw
    .replace(/"order_id": 26/, '"order_id": "{{order_id}}"')
    .replace(/"product_id": 1\b/, '"product_id": {{product_id}}')
  return {
    name: item.name,
    event: [
      {
        listen: 'test',
        script: { type: 'text/javascript', exec: clientScript(item.name, expected) },
      },
    ],
    request: {
      method: request.method,
      header,
      ...(raw === undefined ? {} : { body: { mode: 'raw', raw } }),
      url: {
        raw: `{{base_url}}/${path.join('/')}`,
        host: ['{{base_url}}'],
        path,
      },
    },
  }
}

const byName = (name: string) => {
  const item = original.item.find((i) => i.name === name)
  if (!item) throw new Error(`the collection has no request "${name}"`)
  return item
}

function run(collection: unknown, baseUrl: string): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) =>
    newman.run(
      {
        collection: collection as never,
        envVar: [{ key: 'base_url', value: baseUrl }],
        reporters: [],
        timeoutRequest: 10_000,
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    ),
  )
}

let ctx: TestContext
let server: Awaited<ReturnType<typeof listen>>

beforeAll(async () => {
  ctx = await createTestContext()
  server = await listen(ctx)
})
afterAll(async () => {
  await server.close()
  await ctx.close()
})

describe('the original collection through newman', () => {
  it('passes, reading every answer as the original client does', async () => {
    const collection = {
      info: original.info,
      item: [
        {
          name: 'the collection, in its order',
          item: original.item.map((item) =>
            // The fix the README lists: a confirmed payment is not rejected (and its stock not resold).
            item.name === 'reject-payment' ? adapted(item, 409) : adapted(item),
          ),
        },
        {
          name: 'a payment that is rejected while it waits',
          item: ['create-order', 'checkout-order', 'payment-order', 'reject-payment'].map((name) =>
            adapted(byName(name)),
          ),
        },
        { name: 'and read back', item: [adapted(byName('get payment by payment id'))] },
      ],
    }
    const summary = await run(collection, server.url)
    const failures = summary.run.failures.map((f) => `${f.source?.name}: ${f.error.message}`)
    expect(failures).toEqual([])
    expect(summary.run.stats.requests.total).toBe(original.item.length + 5)
    expect(summary.run.stats.assertions.failed).toBe(0)
    expect(summary.run.stats.assertions.total).toBeGreaterThan(50)

    // The last payment read back is the rejected one, with the original's field names.
    const last = summary.run.executions.at(-1)?.response
    const body = JSON.parse(last?.stream?.toString() ?? '{}')
    expect(body).toMatchObject({
      data: {
        id: expect.any(String),
        status: 'rejected',
        payment_id: expect.any(String),
        payment_status: 'rejected',
        order_status: 'payment_rejected',
      },
      meta: {},
      status: { code: 200, message_server: 'Success', message_client: 'Success' },
    })

    // 20 units; one order of 5 confirmed, one of 5 rejected (back on the shelf).
    const productId = Number(
      summary.run.executions
        .filter((e) => e.item.name === 'add product')
        .map((e) => JSON.parse(e.response?.stream?.toString() ?? '{}').data.id)[0],
    )
    expect(await stockOf(ctx.deps, productId)).toEqual({ available: 15, reserved: 0, sold: 5 })
    await expectAllInSync(ctx)
  })
})
