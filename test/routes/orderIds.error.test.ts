import { describe, expect, it } from 'vitest'
import { storeSnapshot } from '../helpers/snapshot.js'
import { useStore } from '../helpers/store.js'

const { ctx, store } = useStore()

/** Order ids on every order endpoint. */
describe('order ids on every order endpoint', () => {
  const endpoints = ['/api/v1/checkout-order', '/api/v1/payment-order', '/api/v1/cancel-order']
  const bodies: [string, unknown, number][] = [
    ['an unknown order', { order_id: '01937c6e-8f3a-7cc2-9a55-3d1f0f6b2a10' }, 404],
    ['a malformed order id', { order_id: 'abc' }, 422],
    ['a huge number', { order_id: 1e300 }, 422],
    ['malformed JSON', '{"order_id": ', 400],
  ]
  const cases = endpoints.flatMap((path) =>
    bodies.map(([name, body, status]) => ({ path, name, body, status })),
  )
  it.each(cases)(
    '$path refuses $name with $status and changes nothing',
    async ({ path, body, status }) => {
      const before = await storeSnapshot(ctx.deps)
      const res = await store.call('POST', path, body)
      expect(res.status).toBe(status)
      expect(Object.keys(res.body)).toEqual(['error', 'status'])
      expect(res.body.status.code).toBe(status)
      expect(await storeSnapshot(ctx.deps)).toEqual(before)
    },
  )
})
