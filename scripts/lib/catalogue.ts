import type { Sql } from '../../src/db/client.js'

/**
 * A real shop's catalogue, straight into Postgres (the service loads it into
 * Redis when it starts): `count` products of `stock` units each, with their
 * ledger rows. Every 500th product has a sale window open now, ending within
 * a day, as a flash sale features a few hundred of 50,000.
 */
export async function seedCatalogue(sql: Sql, count: number, stock = 100, partitions = 1) {
  await sql`
    with made as (
      insert into products (name, price, quantity, lead_time, most_lead_time,
                            sale_starts_at, sale_ends_at)
      select 'Catalogue item ' || g, 10 + g % 90, ${stock}, 1 + g % 3, 3 + g % 3,
             case when g % 500 = 0 then now() - interval '1 hour' end,
             case when g % 500 = 0 then now() + make_interval(mins => 60 + g % 1000) end
      from generate_series(1, ${count}::int) g
      returning id, quantity
    )
    insert into stock_ledger (id, product_id, kind, quantity)
    select gen_random_uuid(), id, 'initial', quantity from made
  `
  // Each product's partition, as the service assigns it (src/redis/keys.ts).
  await sql`update products set partition = id % ${partitions} where partition <> id % ${partitions}`
}
