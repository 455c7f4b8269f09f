import { describe, expect, it } from 'vitest'
import { api } from './helpers/api.js'
import { adminHeaders, createTestContext } from './helpers/context.js'
import { listen } from './helpers/server.js'
import { useStore } from './helpers/store.js'

const { ctx, store } = useStore()

describe('errors', () => {
  it('an unknown route is a JSON 404 in the error shape', async () => {
    const res = await store.call('GET', '/api/v1/nope')
    expect(res.status).toBe(404)
    expect(res.body).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: expect.stringContaining('/api/v1/nope'),
        request_id: res.headers.get('x-request-id'),
      },
      status: { code: 404, message_server: 'Not Found', message_client: 'Not Found' },
    })
  })

  it('a 500 shows no internals', async () => {
    const broken = await createTestContext()
    // A bug, not an outage: the tables the stock check reads are gone.
    await broken.deps.sql`drop schema public cascade`
    await broken.deps.sql`create schema public`
    const res = await api(broken).call(
      'GET',
      '/api/v1/check-product-quantity',
      undefined,
      adminHeaders,
    )
    expect(res.status).toBe(500)
    expect(res.body).toEqual({
      error: {
        code: 'INTERNAL_ERROR',
        message: 'Something went wrong on our side. Please try again.',
        request_id: res.headers.get('x-request-id'),
      },
      status: {
        code: 500,
        message_server: 'Internal Server Error',
        message_client: 'Internal Server Error',
      },
    })
    await broken.close()
  })
})

describe('operability', () => {
  it('GET /healthz says the process is up', async () => {
    const res = await store.call('GET', '/healthz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ok' })
  })

  it('GET /readyz checks Redis and Postgres and shows the write-behind backlog', async () => {
    const res = await store.call('GET', '/readyz')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      status: 'ready',
      checks: { redis: { ok: true }, postgres: { ok: true } },
      write_behind: { backlog: expect.any(Number), lag_ms: expect.any(Number) },
    })
  })

  it('every response carries a request id', async () => {
    for (const path of ['/healthz', '/api/v1/products', '/nowhere']) {
      const res = await store.call('GET', path)
      expect(res.headers.get('x-request-id'), path).toMatch(/^[\w-]{8,}$/)
    }
  })

  it('a real server sends the request id once, with every other header, on successes and errors', async () => {
    const server = await listen(ctx)
    try {
      const cases: [string, RequestInit, number][] = [
        ['/api/v1/products', {}, 200],
        ['/nowhere', {}, 404],
        ['/api/v1/checkout-order', { method: 'POST', body: '{"order_id":"x"}' }, 415],
        [
          '/api/v1/checkout-order',
          {
            method: 'POST',
            body: '{"order_id":"x"}',
            headers: { 'content-type': 'application/json' },
          },
          422,
        ],
        [
          '/api/v1/create-order',
          { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } },
          400,
        ],
      ]
      for (const [path, init, status] of cases) {
        const res = await fetch(`${server.url}${path}`, init)
        const id = res.headers.get('x-request-id')
        expect(res.status, path).toBe(status)
        expect(id, path).toMatch(/^[0-9a-f-]{36}$/)
        expect(res.headers.get('content-type'), path).toMatch(/^application\/json/)
        if (status >= 400)
          expect(((await res.json()) as { error: { request_id: string } }).error.request_id).toBe(
            id,
          )
      }
      // A caller's own id comes back; one that is not a plain token is replaced.
      const own = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-42' } })
      expect(own.headers.get('x-request-id')).toBe('trace-42')
      const odd = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'a b\tc' } })
      expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    } finally {
      await server.close()
    }
  })
})

describe('OpenAPI', () => {
  it('/openapi.json describes every route the app serves', async () => {
    const res = await store.call('GET', '/openapi.json')
    expect(res.status).toBe(200)
    const documented = Object.entries(
      res.body.paths as Record<string, Record<string, unknown>>,
    ).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    const served = ctx.app.routes
      // The dashboard is pages for people, not API: it is not in the API document.
      .filter(
        (r) =>
          r.method !== 'ALL' &&
          r.path !== '/openapi.json' &&
          !r.path.startsWith('/docs') &&
          !r.path.startsWith('/dashboard'),
      )
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
    expect(new Set(documented)).toEqual(new Set(served))
    expect(documented).toEqual(
      expect.arrayContaining([
        'GET /api/v1/products',
        'POST /api/v1/products',
        'POST /api/v1/products/{id}/restock',
        'POST /api/v1/create-order',
        'GET /api/v1/order/{order_id}',
        'POST /api/v1/checkout-order',
        'POST /api/v1/payment-order',
        'PUT /api/v1/confirm-payment-order/{payment_id}',
        'PUT /api/v1/reject-payment-order/{payment_id}',
        'GET /api/v1/payment-order/{payment_id}',
        'POST /api/v1/cancel-order',
      ]),
    )
    expect(res.body.paths['/api/v1/products'].post.security).toEqual([{ adminToken: [] }])
  })

  it('/docs serves the interactive page and its assets itself, from the pinned package', async () => {
    const page = await (await ctx.app.request('/docs')).text()
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url]) => url as string)
    expect(assets).toEqual(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js'])
    for (const url of assets) expect((await ctx.app.request(url)).status, url).toBe(200)
    expect(await (await ctx.app.request('/docs/init.js')).text()).toContain("'/openapi.json'")
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } })
    expect(pkg.dependencies['swagger-ui-dist']).toMatch(/^\d+\.\d+\.\d+$/) // pinned
  })
})

describe('a real listening server', () => {
  it('serves the original requests over HTTP', async () => {
    const server = await listen(ctx)
    try {
      const created = await fetch(`${server.url}/api/v1/products`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${ctx.deps.config.ADMIN_TOKEN}`,
        },
        body: '{\r\n    "name": "Sepatu Boots",\r\n    "quantity": 20,\r\n    "price": 100.0\r\n}',
      })
      expect(created.status).toBe(200)
      const list = await fetch(`${server.url}/api/v1/products`, {
        headers: { 'content-type': 'application/json' },
      })
      expect(list.status).toBe(200)
      const body = (await list.json()) as { data: { name: string }[] }
      expect(body.data.map((p) => p.name)).toContain('Sepatu Boots')
    } finally {
      await server.close()
    }
  })
})
