import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../deps.js'
import { ApiError } from '../http/errors.js'
import { decimalToMinor, fromMinorUnits, toDecimalString, toMinorUnits } from '../money.js'
import { runScript } from '../redis/scripts.js'
import { type LiveStock, loadProduct, readStock } from '../stock/redisStock.js'
import type { CreateProductInput, Product } from './schemas.js'

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

const EMPTY_STOCK: LiveStock = { available: 0, reserved: 0, sold: 0 }

function present(row: ProductRow, stock: LiveStock | null): Product {
  const live = stock ?? EMPTY_STOCK
  return {
    id: Number(row.id),
    name: row.name,
    price: fromMinorUnits(decimalToMinor(row.price)),
    quantity: live.available,
    status: row.status,
    lead_time: row.lead_time,
    most_lead_time: row.most_lead_time,
    max_per_customer: row.max_per_customer,
    stock: live,
    created_date: row.created_date.toISOString(),
  }
}

/** Writes the product and its initial ledger row in one transaction, then loads its stock into Redis. */
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
  await loadProduct(
    deps,
    { id, name: row.name, priceMinor, status: row.status, maxPerCustomer: row.max_per_customer },
    { available: input.quantity, reserved: 0, sold: 0 },
  )
  return present(row, { available: input.quantity, reserved: 0, sold: 0 })
}

export async function listProducts(deps: Deps, page: number, perPage: number) {
  const { sql } = deps
  const [rows, [count]] = await Promise.all([
    sql<ProductRow[]>`
      select * from products where status = 'active'
      order by id limit ${perPage} offset ${(page - 1) * perPage}
    `,
    sql<{ total: string }[]>`select count(*) as total from products where status = 'active'`,
  ])
  const stock = await readStock(
    deps,
    rows.map((r) => Number(r.id)),
  )
  const total = Number(count?.total ?? 0)
  return {
    products: rows.map((row, i) => present(row, stock[i] ?? null)),
    pagination: { page, per_page: perPage, total, total_pages: Math.ceil(total / perPage) },
  }
}

export async function getProduct(deps: Deps, id: number): Promise<Product> {
  const [row] = await deps.sql<ProductRow[]>`select * from products where id = ${id}`
  if (!row) throw new ApiError('NOT_FOUND', `Product ${id} does not exist.`, { product_id: id })
  const [stock] = await readStock(deps, [id])
  return present(row, stock ?? null)
}

/** Adds units atomically in Redis; the restock event carries the ledger row to Postgres. */
export async function restockProduct(deps: Deps, id: number, quantity: number) {
  const ledgerId = uuidv7()
  const [outcome] = await runScript(
    deps.redis,
    'restockProduct',
    [deps.keys.product(id), deps.keys.events],
    [id, quantity, ledgerId, 'restock'],
  )
  if (outcome === 'NOT_FOUND') {
    throw new ApiError('NOT_FOUND', `Product ${id} does not exist.`, { product_id: id })
  }
  return { ledger_id: ledgerId, product: await getProduct(deps, id) }
}
