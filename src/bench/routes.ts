import { Hono } from 'hono'
import type { Deps } from '../deps.js'

/**
 * Benchmark only (served on BENCH_PORT by `npm run bench`, never by default):
 * the two reference points the store is measured against, in the same
 * processes as the store.
 * - POST /echo: a bare Hono route that parses and returns JSON, the ceiling.
 * - POST /pg-checkout: a Postgres-only checkout (one conditional UPDATE … WHERE
 *   quantity >= n, plus an insert), the design without Redis.
 */
export function benchApp({ sql }: Pick<Deps, 'sql'>) {
  return new Hono()
    .post('/echo', async (c) => c.json({ data: await c.req.json() }))
    .post('/pg-checkout', async (c) => {
      const { product_id, quantity } = await c.req.json<{ product_id: number; quantity: number }>()
      const [order] = await sql<{ id: string }[]>`
        with taken as (
          update bench_stock set quantity = quantity - ${quantity}
          where id = ${product_id} and quantity >= ${quantity}
          returning id
        )
        insert into bench_orders (product_id, quantity)
        select id, ${quantity} from taken
        returning id
      `
      return order
        ? c.json({ data: { id: order.id } }, 200)
        : c.json({ error: { code: 'OUT_OF_STOCK', message: 'sold out' } }, 409)
    })
}
