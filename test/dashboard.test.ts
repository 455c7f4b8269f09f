import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { api } from './helpers/api.js'
import { ADMIN_TOKEN, createTestContext, type TestContext } from './helpers/context.js'

const VIEWER_TOKEN = 'viewer-token-0123456789-abcdef'
let ctx: TestContext
let store: ReturnType<typeof api>
const logLines: string[] = []

beforeAll(async () => {
  ctx = await createTestContext({ VIEWER_TOKEN, DASHBOARD_SESSION_SECONDS: '2' })
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk))
        done()
      },
    }),
  )
  ctx = { ...ctx, app: createApp({ ...ctx.deps, logger }) }
  store = api(ctx)
})
afterAll(() => ctx.close())

const form = (token: string, headers: Record<string, string> = {}) =>
  ctx.app.request('/dashboard/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
  })
const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
const get = (path: string, cookie = '') =>
  ctx.app.request(path, { headers: cookie ? { cookie } : {} })

describe('signing in to /dashboard', () => {
  it('without a session shows only the sign-in form, and the data routes are 401', async () => {
    const page = await get('/dashboard')
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('name="token"')
    expect(html).not.toContain('app.js')
    expect((await get('/dashboard/snapshot')).status).toBe(401)
    expect((await get('/dashboard/events')).status).toBe(401)
  })

  it('refuses a wrong token with the form again, and sets no cookie', async () => {
    const res = await form('not-the-token-at-all-0000')
    expect(res.status).toBe(401)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await res.text()).toContain('That token is not valid.')
  })

  it('exchanges a token for an HttpOnly, SameSite=Strict session cookie that expires', async () => {
    const res = await form(VIEWER_TOKEN)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/dashboard')
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^store_session=[\w-]{40,};/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Strict')
    expect(cookie).toContain('Path=/dashboard')
    expect(cookie).toContain('Max-Age=2')
    expect(cookie).not.toContain('Secure') // plain HTTP here
    expect(cookie).not.toContain(VIEWER_TOKEN)
    const page = await get('/dashboard', cookieOf(res))
    expect(await page.text()).toContain('/dashboard/app.js')
  })

  it('marks the cookie Secure over HTTPS', async () => {
    const res = await ctx.app.request('https://shop.example/dashboard/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: VIEWER_TOKEN }).toString(),
    })
    expect(res.headers.get('set-cookie')).toContain('Secure')
  })

  it('an expired session is no session', async () => {
    const cookie = cookieOf(await form(ADMIN_TOKEN))
    expect((await get('/dashboard/snapshot', cookie)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 2_200))
    expect((await get('/dashboard/snapshot', cookie)).status).toBe(401)
  })

  it('sign-out ends the session', async () => {
    const cookie = cookieOf(await form(VIEWER_TOKEN))
    const out = await ctx.app.request('/dashboard/sign-out', {
      method: 'POST',
      headers: { cookie },
    })
    expect(out.status).toBe(303)
    expect((await get('/dashboard/snapshot', cookie)).status).toBe(401)
  })
})

describe('the dashboard session is a session', () => {
  it('accepts a sign-in posted from this origin, and refuses a cross-site one', async () => {
    const ok = await form(VIEWER_TOKEN, {
      origin: 'http://localhost',
      'sec-fetch-site': 'same-origin',
    })
    expect(ok.status).toBe(303)
    // What this page's own form sends (its Referrer-Policy makes Origin null).
    const own = await form(VIEWER_TOKEN, { origin: 'null', 'sec-fetch-site': 'same-origin' })
    expect(own.status).toBe(303)
    const crossSite: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'http://localhost', 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    ]
    for (const headers of crossSite) {
      const res = await form(VIEWER_TOKEN, headers)
      expect(res.status, JSON.stringify(headers)).toBe(403)
      expect(res.headers.get('set-cookie'), JSON.stringify(headers)).toBeNull()
    }
  })

  it('answers a malformed form with 400, not a 500', async () => {
    const res = await ctx.app.request('/dashboard/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=----x' },
      body: '------x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc',
    })
    expect(res.status).toBe(400)
    expect(logLines.some((line) => /"level":50/.test(line))).toBe(false)
  })

  /** Reads an event stream until it ends; true if it ended within `withinMs`. */
  async function endsWithin(res: Response, withinMs: number, afterFirst: () => Promise<unknown>) {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read() // the first snapshot
    await afterFirst()
    const deadline = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), withinMs))
    for (;;) {
      const next = await Promise.race([reader.read(), deadline])
      if (next === 'open') {
        await reader.cancel()
        return false
      }
      if (next.done) return true
    }
  }

  it('a live stream ends within one interval of sign-out', async () => {
    const cookie = cookieOf(await form(VIEWER_TOKEN))
    const stream = await get('/dashboard/events', cookie)
    expect(stream.status).toBe(200)
    const ended = await endsWithin(stream, 3_500, async () =>
      ctx.app.request('/dashboard/sign-out', { method: 'POST', headers: { cookie } }),
    )
    expect(ended).toBe(true)
  })

  it('a live stream ends within one interval of the session expiring', async () => {
    const cookie = cookieOf(await form(VIEWER_TOKEN))
    const stream = await get('/dashboard/events', cookie)
    // DASHBOARD_SESSION_SECONDS is 2 here: it expires, then the next interval ends it.
    const ended = await endsWithin(stream, 5_500, async () => {})
    expect(ended).toBe(true)
  })
})

describe('the viewer token', () => {
  it('can see, and never change anything', async () => {
    const cookie = cookieOf(await form(VIEWER_TOKEN))
    const asBearer = { authorization: `Bearer ${VIEWER_TOKEN}`, 'content-type': 'application/json' }
    const asCookie = { cookie, 'content-type': 'application/json' }
    const id = (await store.addProduct({ name: 'Guarded', quantity: 5, price: 1 })).body.data.id
    const adminActions: [string, string, unknown][] = [
      ['POST', '/api/v1/products', { name: 'x', quantity: 1, price: 1 }],
      ['PATCH', `/api/v1/products/${id}`, { name: 'y' }],
      ['POST', `/api/v1/products/${id}/restock`, { quantity: 1 }],
      ['POST', '/api/v1/reconcile', { dry_run: false }],
      ['GET', '/api/v1/check-product-quantity', undefined],
      ['PUT', '/api/v1/confirm-payment-order/01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10', undefined],
      ['PUT', '/api/v1/reject-payment-order/01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10', undefined],
    ]
    for (const [method, path, body] of adminActions) {
      expect((await store.call(method, path, body, asBearer)).status, `${method} ${path}`).toBe(403)
      expect((await store.call(method, path, body, asCookie)).status, `${method} ${path}`).toBe(401)
    }
  })
})

describe('the snapshot', () => {
  it('shows each product from the stock check, with what buyers met, and the shop', async () => {
    const id = (
      await store.addProduct({
        name: 'Watched',
        quantity: 2,
        price: 5,
        sale_ends_at: '2099-01-01T00:00:00Z',
      })
    ).body.data.id
    for (let i = 0; i < 4; i++) {
      const order = await store.createOrder({ products: [{ product_id: id, quantity: 1 }] })
      if (order.status === 200) await store.checkout(order.body.data.id)
    }
    await ctx.drain()
    const cookie = cookieOf(await form(VIEWER_TOKEN))
    // One snapshot per interval: the next one after the sale shows it.
    type Snap = { products: Record<string, unknown>[]; shop: Record<string, unknown> }
    let snap: Snap = { products: [], shop: {} }
    for (let i = 0; i < 50 && !snap.products.some((p) => p.product_id === id); i++) {
      const res = await get('/dashboard/snapshot', cookie)
      expect(res.status).toBe(200)
      snap = (await res.json()) as Snap
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(snap.products.find((p) => p.product_id === id)).toMatchObject({
      name: 'Watched',
      status: 'in_sync',
      available: 0,
      reserved: 2,
      sold: 0,
      total: 2,
      sell_through_pct: 0,
      refused: { reserved: 2, out_of_stock: 2, share_pct: 50 },
      sale_ends_at: '2099-01-01T00:00:00.000Z',
      low_stock: false,
      why: ['selling', 'on_sale', 'sold_out'],
    })
    expect(snap.shop).toMatchObject({
      write_behind: { backlog: 0, dead_letters: 0 },
      rebuilding: false,
      instance: { redis: true, postgres: true },
    })
  })

  it('searches any product by name or id, with a session only, and refuses bad input', async () => {
    const id = (await store.addProduct({ name: 'Quiet corner item', quantity: 3, price: 5 })).body
      .data.id as number
    expect((await get('/dashboard/search?q=Quiet')).status).toBe(401)
    const cookie = cookieOf(await form(VIEWER_TOKEN))
    for (const q of ['quiet corner', String(id)]) {
      const res = await get(`/dashboard/search?q=${encodeURIComponent(q)}`, cookie)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { products: { product_id: number; available: number }[] }
      expect(body.products.find((p) => p.product_id === id)).toMatchObject({ available: 3 })
    }
    for (const q of ['', '%00', 'x'.repeat(201)]) {
      const res = await get(`/dashboard/search?q=${q}`, cookie)
      expect(res.status, q).toBe(422)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'VALIDATION_FAILED',
      )
    }
  })

  it('no token appears in a page or a log line', async () => {
    await form(VIEWER_TOKEN)
    await form(ADMIN_TOKEN)
    await form(`${VIEWER_TOKEN}-wrong`)
    const page = await (await get('/dashboard', cookieOf(await form(VIEWER_TOKEN)))).text()
    expect(page).not.toContain(VIEWER_TOKEN)
    expect(logLines.length).toBeGreaterThan(0)
    for (const line of logLines) {
      expect(line).not.toContain(VIEWER_TOKEN)
      expect(line).not.toContain(ADMIN_TOKEN)
    }
  })
})
