import { describe, expect, it } from 'vitest'
import { jsonHeaders } from '../helpers/context.js'
import { useStore } from '../helpers/store.js'

/**
 * Every admin route, as /openapi.json lists them (security: adminToken only),
 * refuses a caller without the admin token (401) and with a wrong one (403),
 * and changes nothing. A route added to the document is in this table at once.
 */
const { ctx, store, newProduct, checkedOut, expectRefused } = useStore()

type Operation = { security?: Record<string, string[]>[] }
type Doc = { paths: Record<string, Record<string, Operation>> }

/** A body each admin route would take from the admin: only auth stands in the way. */
const BODIES: Record<string, unknown> = {
  'POST /api/v1/products': { name: 'Boots', quantity: 1, price: 1 },
  'PATCH /api/v1/products/{id}': { name: 'Renamed' },
  'POST /api/v1/products/{id}/restock': { quantity: 5 },
  'POST /api/v1/reconcile': { dry_run: false },
}

async function adminRoutes() {
  const doc = (await (await ctx.app.request('/openapi.json')).json()) as Doc
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, op]) => JSON.stringify(op.security) === JSON.stringify([{ adminToken: [] }]))
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  )
}

describe('admin routes, from the OpenAPI document', () => {
  it('refuse no token with 401 and a wrong token with 403, changing nothing', async () => {
    const routes = await adminRoutes()
    expect(routes.sort()).toEqual(
      [
        'GET /api/v1/check-product-quantity',
        'PATCH /api/v1/products/{id}',
        'POST /api/v1/products',
        'POST /api/v1/products/{id}/restock',
        'POST /api/v1/reconcile',
        'PUT /api/v1/confirm-payment-order/{payment_id}',
        'PUT /api/v1/reject-payment-order/{payment_id}',
      ].sort(),
    )
    const productId = await newProduct(5)
    const paymentId = (await store.pay(await checkedOut(productId))).body.data.payment_id as string
    for (const route of routes) {
      const [method, pattern] = route.split(' ') as [string, string]
      const path = pattern.replace('{id}', String(productId)).replace('{payment_id}', paymentId)
      const body = BODIES[route]
      const callers: [Record<string, string>, 'UNAUTHORIZED' | 'FORBIDDEN'][] = [
        [jsonHeaders, 'UNAUTHORIZED'],
        [{ ...jsonHeaders, authorization: 'Bearer not-the-admin-token-at-all' }, 'FORBIDDEN'],
        [{ ...jsonHeaders, authorization: 'Basic YWRtaW46YWRtaW4=' }, 'UNAUTHORIZED'],
      ]
      for (const [headers, code] of callers) {
        await expectRefused(() => store.call(method, path, body, headers), code)
      }
    }
  })
})
