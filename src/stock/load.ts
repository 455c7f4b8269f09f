import type { Deps } from '../deps.js'
import { decimalToMinor } from '../money.js'
import { derivedStock } from './derived.js'
import { loadProduct } from './redisStock.js'

interface CatalogueRow {
  id: string
  name: string
  price: string
  status: 'active' | 'inactive'
  max_per_customer: number | null
  stock_version: string
}

/**
 * Loads every product into Redis on start. Catalogue fields are refreshed;
 * counters are set from Postgres only for products Redis does not hold, so a
 * restart never overwrites live stock. Returns how many products got counters.
 */
export async function loadStockIntoRedis(deps: Deps): Promise<number> {
  const [catalogue, stock] = await Promise.all([
    deps.sql<
      CatalogueRow[]
    >`select id, name, price::text, status, max_per_customer, stock_version from products`,
    derivedStock(deps.sql),
  ])
  const stockById = new Map(stock.map((s) => [s.productId, s]))
  const loaded = await Promise.all(
    catalogue.map((row) => {
      const id = Number(row.id)
      const counters = stockById.get(id) ?? { available: 0, reserved: 0, sold: 0 }
      return loadProduct(
        deps,
        {
          id,
          name: row.name,
          priceMinor: decimalToMinor(row.price),
          status: row.status,
          maxPerCustomer: row.max_per_customer,
        },
        counters,
        Number(row.stock_version),
      )
    }),
  )
  return loaded.filter(Boolean).length
}
