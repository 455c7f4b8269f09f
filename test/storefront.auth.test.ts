import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Api, api } from './helpers/api.js'
import {
  adminHeaders,
  createTestContext,
  jsonHeaders,
  type TestContext,
} from './helpers/context.js'
import { storeSnapshot } from './helpers/snapshot.js'
import { bearer, CUSTOMER_SECRET, customerToken } from './helpers/tokens.js'

let ctx: TestContext
let store: ReturnType<typeof api>
let productId: number
let ownerHeaders: Record<string, string>

beforeAll(async () => {
  ctx = await createTestContext({ CUSTOMER_JWT_SECRET: CUSTOMER_SECRET })
  store = api(ctx)
  productId = (await store.addProduct({ name: 'Owned', quantity: 1_000, price: 3 })).body.data
    .id as number
  ownerHeaders = bearer(await customerToken('Owner-1'))
})
afterAll(() => ctx.close())

const line = () => ({ products: [{ product_id: productId, quantity: 1 }] })

/** An order of the owner's in the given state, and its payment once paid. */
async function ownersOrder(state: 'draft' | 'checkout' | 'paid') {
  const created = await store.createOrder(line(), ownerHeaders)
  expect(created.status).toBe(200)
  const orderId = created.body.data.id as string
  if (state === 'draft') return { orderId, paymentId: '' }
  expect((await store.checkout(orderId, ownerHeaders)).status).toBe(200)
  if (state === 'checkout') return { orderId, paymentId: '' }
  const paid = await store.pay(orderId, ownerHeaders)
  expect(paid.status).toBe(200)
  return { orderId, paymentId: paid.body.data.payment_id as string }
}

type Fixture = { orderId: string; paymentId: string }
const ROUTES: Record<
  string,
  {
    prepare: () => Promise<Fixture>
    call: (f: Fixture, h: Record<string, string>) => ReturnType<Api['call']>
    ok: number
  }
> = {
  'create an order': {
    prepare: async () => ({ orderId: '', paymentId: '' }),
    call: (_f, h) => store.createOrder(line(), h),
    ok: 200,
  },
  'get an order': {
    prepare: () => ownersOrder('draft'),
    call: (f, h) => store.call('GET', `/api/v1/order/${f.orderId}`, undefined, h),
    ok: 200,
  },
  'check out an order': {
    prepare: () => ownersOrder('draft'),
    call: (f, h) => store.checkout(f.orderId, h),
    ok: 200,
  },
  'cancel an order': {
    prepare: () => ownersOrder('draft'),
    call: (f, h) => store.call('POST', '/api/v1/cancel-order', { order_id: f.orderId }, h),
    ok: 200,
  },
  'pay an order': {
    prepare: () => ownersOrder('checkout'),
    call: (f, h) => store.pay(f.orderId, h),
    ok: 200,
  },
  'get a payment': {
    prepare: () => ownersOrder('paid'),
    call: (f, h) => store.call('GET', `/api/v1/payment-order/${f.paymentId}`, undefined, h),
    ok: 200,
  },
}

const CALLERS: Record<
  string,
  { headers: () => Promise<Record<string, string>>; expect: (route: string, ok: number) => number }
> = {
  'no token': { headers: async () => jsonHeaders, expect: () => 401 },
  'a token signed with another key': {
    headers: async () => bearer(await customerToken('Owner-1', { secret: 'x'.repeat(40) })),
    expect: () => 401,
  },
  'an expired token': {
    headers: async () =>
      bearer(await customerToken('Owner-1', { expiresIn: Math.floor(Date.now() / 1000) - 5 })),
    expect: () => 401,
  },
  'another customer': {
    headers: async () => bearer(await customerToken('mallory')),
    // Creating is theirs to do; every other route hides the owner's order.
    expect: (route, ok) => (route === 'create an order' ? ok : 404),
  },
  'the owner': { headers: async () => ownerHeaders, expect: (_route, ok) => ok },
  'the admin': { headers: async () => adminHeaders, expect: (_route, ok) => ok },
}

describe('every storefront route × every caller', () => {
  for (const [route, { prepare, call, ok }] of Object.entries(ROUTES)) {
    for (const [caller, { headers, expect: expected }] of Object.entries(CALLERS)) {
      const status = expected(route, ok)
      it(`${route} as ${caller} → ${status}`, async () => {
        const fixture = await prepare()
        const before = await storeSnapshot(ctx.deps)
        const res = await call(fixture, await headers())
        expect(res.status).toBe(status)
        if (status >= 400) {
          expect(res.body.error.code).toBe(status === 401 ? 'UNAUTHORIZED' : 'NOT_FOUND')
          // A refusal never says whether the order exists, and changes nothing.
          expect(JSON.stringify(res.body)).not.toContain('owner-1')
          expect(await storeSnapshot(ctx.deps)).toEqual(before)
        }
      })
    }
  }
})

describe('customer tokens', () => {
  it('an order belongs to the token subject as issued, and the admin reads any order', async () => {
    const created = await store.createOrder(line(), ownerHeaders)
    expect(created.body.data.customer_id).toBe('Owner-1')
    const read = await store.call(
      'GET',
      `/api/v1/order/${created.body.data.id}`,
      undefined,
      adminHeaders,
    )
    expect(read.status).toBe(200)
    expect(read.body.data.customer_id).toBe('Owner-1')
  })

  it("refuses a body customer_id that is not the token's own, even in another case", async () => {
    const before = await storeSnapshot(ctx.deps)
    for (const customer_id of ['someone-else', 'OWNER-1', 'owner-1']) {
      const other = await store.createOrder({ ...line(), customer_id }, ownerHeaders)
      expect(other.status).toBe(403)
      expect(other.body.error.code).toBe('FORBIDDEN')
    }
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
    const own = await store.createOrder({ ...line(), customer_id: 'Owner-1' }, ownerHeaders)
    expect(own.status).toBe(200)
  })

  it.each([
    ['Ab3xYz-user', 'aB3XyZ-USER'],
    ['strasse', 'STRAßE'],
    ['\uFB01nance', 'finance'],
    ['bob', 'b\u00ADob'],
  ])("subjects %j and %j are two customers: neither reaches the other's order", async (a, b) => {
    const owner = bearer(await customerToken(a))
    const stranger = bearer(await customerToken(b))
    const created = await store.createOrder(line(), owner)
    expect(created.status).toBe(200)
    expect(created.body.data.customer_id).toBe(a)
    const orderId = created.body.data.id as string
    const read = await store.call('GET', `/api/v1/order/${orderId}`, undefined, stranger)
    expect(read.status).toBe(404)
    const before = await storeSnapshot(ctx.deps)
    expect((await store.checkout(orderId, stranger)).status).toBe(404)
    expect((await store.cancel(orderId, stranger)).status).toBe(404)
    expect(await storeSnapshot(ctx.deps)).toEqual(before)
    expect((await store.cancel(orderId, owner)).status).toBe(200)
  })

  it('needs sub and exp, and a known algorithm', async () => {
    const secret = new TextEncoder().encode(CUSTOMER_SECRET)
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .sign(secret)
    const noSub = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(secret)
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'a', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url')}.`
    for (const token of [noExp, noSub, none, 'not-a-jwt']) {
      expect((await store.createOrder(line(), bearer(token))).status).toBe(401)
    }
  })

  it('GET /products stays public', async () => {
    expect((await store.listProducts()).status).toBe(200)
  })

  it('checks issuer and audience, and takes ES256 tokens from a public key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const pem = await exportSPKI(publicKey)
    const shop = await createTestContext({
      CUSTOMER_JWT_PUBLIC_KEY: pem,
      CUSTOMER_JWT_ISSUER: 'https://id.example.test',
      CUSTOMER_JWT_AUDIENCE: 'online-store',
    })
    try {
      const sign = (claims: { iss: string; aud: string }) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256' })
          .setSubject('pat')
          .setIssuer(claims.iss)
          .setAudience(claims.aud)
          .setExpirationTime('5m')
          .sign(privateKey)
      const shopStore = api(shop)
      const id = (await shopStore.addProduct({ name: 'Keyed', quantity: 5, price: 1 })).body.data.id
      const body = { products: [{ product_id: id, quantity: 1 }] }
      const good = await sign({ iss: 'https://id.example.test', aud: 'online-store' })
      expect((await shopStore.createOrder(body, bearer(good))).status).toBe(200)
      const wrongIssuer = await sign({ iss: 'https://evil.example.test', aud: 'online-store' })
      expect((await shopStore.createOrder(body, bearer(wrongIssuer))).status).toBe(401)
      const wrongAudience = await sign({ iss: 'https://id.example.test', aud: 'another-app' })
      expect((await shopStore.createOrder(body, bearer(wrongAudience))).status).toBe(401)
      // An HS256 token made with the public key as its secret (the classic confusion) is refused.
      const confused = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('pat')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(pem))
      expect((await shopStore.createOrder(body, bearer(confused))).status).toBe(401)
    } finally {
      await shop.close()
    }
  })
})
