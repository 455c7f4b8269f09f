/**
 * The benchmark's reference points, in a process of their own beside the store
 * (`npm run bench` starts it; it is no part of the service):
 * - POST /echo: a bare Hono route that parses and returns JSON, the ceiling.
 * - POST /pg-checkout: a Postgres-only checkout (one conditional UPDATE … WHERE
 *   quantity >= n, plus an insert), the design without Redis.
 *
 *   DATABASE_URL=… PORT=… node --import tsx scripts/bench/reference.ts
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createSql } from '../../src/db/client.js'

const sql = createSql(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
const app = new Hono()
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

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 5001), hostname: '127.0.0.1' }, (info) =>
  console.log(`bench reference routes listening on ${info.port}`),
)
process.on('SIGTERM', () => void sql.end({ timeout: 1 }).finally(() => process.exit(0)))
