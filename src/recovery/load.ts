import type { Deps } from '../deps.js'
import { loadProductScript } from '../products/scripts.js'
import { catalogueOf, type ProductRow } from '../products/service.js'
import { derivedStock } from '../stock/derived.js'

/** Products loaded at a time: a catalogue of 50,000 is 50 rounds, never one flood of scripts. */
const LOAD_CHUNK = 1_000

/**
 * Loads every product of these partitions (all, by default) into Redis.
 * Catalogue fields are refreshed; counters are set from Postgres only for
 * products Redis does not hold, so a restart never overwrites live stock.
 * Returns how many products got counters.
 */
export async function loadStockIntoRedis(
  deps: Deps,
  partitions: readonly number[] = deps.keys.allPartitions.map((p) => p.index),
): Promise<number> {
  const [catalogue, stock] = await Promise.all([
    deps.sql<ProductRow[]>`
      select id, name, price::text, status, lead_time, most_lead_time, max_per_customer,
             created_date, sale_starts_at, sale_ends_at, catalogue_version, stock_version
      from products where partition in ${deps.sql(partitions)}
    `,
    derivedStock(deps.sql, undefined, partitions),
  ])
  const stockById = new Map(stock.map((s) => [s.productId, s]))
  let loaded = 0
  for (let i = 0; i < catalogue.length; i += LOAD_CHUNK) {
    const chunk = await Promise.all(
      catalogue.slice(i, i + LOAD_CHUNK).map((row) => {
        const counters = stockById.get(Number(row.id)) ?? {
          available: 0,
          reserved: 0,
          sold: 0,
          version: 0,
        }
        return loadProductScript(deps, catalogueOf(row), counters, counters.version)
      }),
    )
    loaded += chunk.filter(Boolean).length
  }
  return loaded
}
