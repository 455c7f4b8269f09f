import { Ajv } from 'ajv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api } from './helpers/api.js'
import {
  adminHeaders,
  createTestContext,
  jsonHeaders,
  type TestContext,
} from './helpers/context.js'

/**
 * The OpenAPI document describes what is really sent: every answer of a whole
 * session (successes and refusals, on every route) is checked against the
 * schema /openapi.json gives for its route and status, strictly: an answer
 * with a field the document does not name fails, as does a status it does not list.
 */
type Schema = Record<string, unknown>
interface Document {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
  >
  components: { schemas: Record<string, Schema> }
}

/**
 * Every object schema with properties gets `additionalProperties: false`, unless
 * it says otherwise; OpenAPI 3.0's `nullable` becomes JSON Schema's "or null".
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict)
  if (schema === null || typeof schema !== 'object') return schema
  const { nullable, ...rest } = merged(schema as Schema)
  const out: Schema = {}
  for (const [key, value] of Object.entries(rest)) out[key] = strict(value)
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) {
    out.additionalProperties = false
  }
  return nullable === true ? { anyOf: [out, { type: 'null' }] } : out
}

/** An `allOf` of objects (what `.extend()` of a named schema gives) as one object, so it can be strict. */
function merged(schema: Schema): Schema {
  const parts = schema.allOf as Schema[] | undefined
  if (!parts) return schema
  const resolved = parts.map((part) =>
    typeof part.$ref === 'string'
      ? (doc.components.schemas[part.$ref.split('/').at(-1) ?? ''] as Schema)
      : part,
  )
  if (!resolved.every((part) => part?.type === 'object')) return schema
  const { allOf: _, ...rest } = schema
  return {
    ...rest,
    type: 'object',
    properties: Object.assign({}, ...resolved.map((part) => part.properties)),
    required: resolved.flatMap((part) => (part.required as string[] | undefined) ?? []),
  }
}

let ctx: TestContext
let doc: Document
const ajv = new Ajv({ strict: false, allErrors: true })

/** The documented schema for an answer, by the route pattern its path matches. */
function schemaFor(method: string, path: string, status: number): Schema | undefined {
  const bare = path.split('?')[0] ?? path
  const pattern = Object.keys(doc.paths).find((p) =>
    new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(bare),
  )
  // A path no route serves answers the one error shape.
  if (!pattern) return status === 404 ? { $ref: '#/components/schemas/Error' } : undefined
  const response = doc.paths[pattern]?.[method.toLowerCase()]?.responses[String(status)]
  return response?.content?.['application/json']?.schema
}

const checked: string[] = []

/** Sends a request through the app and checks its answer against the document. */
async function call(method: string, path: string, body?: unknown, headers = jsonHeaders) {
  const res = await api(ctx).call(method, path, body, headers)
  const schema = schemaFor(method, path, res.status)
  expect(
    schema,
    `${method} ${path} answered ${res.status}, which the document does not list`,
  ).toBeDefined()
  const validate = ajv.compile({
    ...(strict(schema) as Schema),
    components: strict(doc.components),
  })
  const valid = validate(res.body)
  expect(
    validate.errors ?? [],
    `${method} ${path} ${res.status}: ${JSON.stringify(res.body)}`,
  ).toEqual([])
  expect(valid).toBe(true)
  checked.push(`${method} ${path.replace(/[0-9a-f-]{36}/g, '{id}')} ${res.status}`)
  return res
}

beforeAll(async () => {
  ctx = await createTestContext()
  doc = (await (await ctx.app.request('/openapi.json')).json()) as Document
})
afterAll(() => ctx.close())

describe('the OpenAPI document', () => {
  it('describes every answer of a whole session, strictly', async () => {
    await call('GET', '/healthz')
    await call('GET', '/readyz')
    await call('GET', '/api/v1/products')
    await call('POST', '/api/v1/products', { name: 'Boots' }, adminHeaders)
    await call('POST', '/api/v1/products', { name: 'Boots', quantity: 1, price: 1 }, jsonHeaders)
    const product = await call(
      'POST',
      '/api/v1/products',
      { name: 'Sepatu Boots', quantity: 20, price: 100, sale_ends_at: '2099-01-01T00:00:00Z' },
      adminHeaders,
    )
    const productId = product.body.data.id as number
    await call('GET', '/api/v1/products?page=1&per_page=5')
    await call(
      'PATCH',
      `/api/v1/products/${productId}`,
      { lead_time: 2, most_lead_time: 4 },
      adminHeaders,
    )
    await call('POST', `/api/v1/products/${productId}/restock`, { quantity: 5 }, adminHeaders)
    await call('POST', '/api/v1/products/999999/restock', { quantity: 5 }, adminHeaders)

    await call('POST', '/api/v1/create-order', {
      products: [{ product_id: productId, quantity: 500 }],
    })
    const order = await call('POST', '/api/v1/create-order', {
      products: [{ product_id: productId, quantity: 2 }],
    })
    const orderId = order.body.data.id as string
    await call('GET', `/api/v1/order/${orderId}`)
    await call('GET', '/api/v1/order/00000000-0000-7000-8000-000000000000')
    await call('POST', '/api/v1/checkout-order', { order_id: orderId })
    await call('POST', '/api/v1/checkout-order', { order_id: 'not-an-id' })
    const paid = await call('POST', '/api/v1/payment-order', { order_id: orderId })
    const paymentId = paid.body.data.id as string
    await call('POST', '/api/v1/payment-order', { order_id: orderId })
    await call('GET', `/api/v1/payment-order/${paymentId}`)
    await call('PUT', `/api/v1/confirm-payment-order/${paymentId}`, undefined, adminHeaders)
    await call('PUT', `/api/v1/reject-payment-order/${paymentId}`, undefined, adminHeaders)
    await call('PUT', `/api/v1/confirm-payment-order/${paymentId}`, undefined, jsonHeaders)

    const other = await call('POST', '/api/v1/create-order', {
      products: [{ product_id: productId, quantity: 1 }],
    })
    await call('POST', '/api/v1/cancel-order', { order_id: other.body.data.id })
    await call('GET', `/api/v1/order/${other.body.data.id}`)

    await ctx.drain()
    await call('GET', '/api/v1/check-product-quantity', undefined, adminHeaders)
    await call(
      'GET',
      `/api/v1/check-product-quantity?product_id=${productId}`,
      undefined,
      adminHeaders,
    )
    await call(
      'GET',
      '/api/v1/check-product-quantity?status=drift&q=boots',
      undefined,
      adminHeaders,
    )
    await call('GET', '/api/v1/check-product-quantity?per_page=0', undefined, adminHeaders)
    await call('POST', '/api/v1/reconcile', { dry_run: true }, adminHeaders)
    await call('GET', '/api/v1/nothing-here')

    expect(checked.length).toBeGreaterThanOrEqual(30)
  })
})
