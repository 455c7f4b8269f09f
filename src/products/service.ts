import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { decimalToMinor, toDecimalString, toMinorUnits } from '../money.js'
import { failureToApiError } from '../redis/replies.js'
import { loadProductScript, restockProductScript } from '../stock/scripts.js'
import { getProduct } from './catalogue.js'
import { type CreateProductInput, MAX_TOTAL_STOCK, type Product } from './schemas.js'

export { getProduct, listProducts } from './catalogue.js'

interface ProductRow {
  id: string
  name: string
  price: string
  status: 'active' | 'inactive'
  lead_time: number
  most_lead_time: number
  max_per_customer: number | null
  created_date: Date
}

/** Writes the product and its initial ledger row in one transaction, then loads it into Redis. */
export async function createProduct(deps: Deps, input: CreateProductInput): Promise<Product> {
  const { sql } = deps
  const priceMinor = toMinorUnits(input.price) ?? 0
  const row = await sql.begin(async (tx) => {
    const [product] = await tx<ProductRow[]>`
      insert into products ${tx({
        name: input.name,
        price: toDecimalString(priceMinor),
        quantity: input.quantity,
        status: input.status,
        lead_time: input.lead_time,
        most_lead_time: input.most_lead_time ?? input.lead_time,
        max_per_customer: input.max_per_customer,
      })}
      returning *
    `
    if (!product) throw new Error('insert into products returned no row')
    await tx`
      insert into stock_ledger ${tx({ id: uuidv7(), product_id: product.id, kind: 'initial', quantity: input.quantity })}
    `
    return product
  })
  const id = Number(row.id)
  await loadProductScript(deps, catalogueOf(row), {
    available: input.quantity,
    reserved: 0,
    sold: 0,
  })
  return getProduct(deps, id)
}

/** A Postgres product row as the catalogue fields Redis keeps. */
export function catalogueOf(row: ProductRow) {
  return {
    id: Number(row.id),
    name: row.name,
    priceMinor: decimalToMinor(row.price),
    status: row.status,
    maxPerCustomer: row.max_per_customer,
    leadTime: row.lead_time,
    mostLeadTime: row.most_lead_time,
    createdMs: row.created_date.getTime(),
  }
}

export type { ProductRow }

/** Adds units atomically in Redis; the restock event carries the ledger row to Postgres. */
export async function restockProduct(deps: Deps, id: number, quantity: number) {
  const ledgerId = uuidv7()
  const reply = await restockProductScript(deps, id, quantity, ledgerId, MAX_TOTAL_STOCK)
  if (reply.code !== 'OK') throw failureToApiError(reply, `Product ${id}`)
  return { ledger_id: ledgerId, product: await getProduct(deps, id) }
}
