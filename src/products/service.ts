import type { Deps } from '../deps.js'
import { failureToApiError } from '../http/refusals.js'
import { newId } from '../ids.js'
import { decimalToMinor, toDecimalString, toMinorUnits } from '../money.js'
import { forgetCatalogue, getProduct, rememberNames } from './catalogue.js'
import {
  type CreateProductInput,
  MAX_TOTAL_STOCK,
  type Product,
  type UpdateProductInput,
} from './schemas.js'
import { loadProductScript, restockProductScript, updateProductScript } from './scripts.js'
import { clearSoldOut } from './soldOut.js'

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
  sale_starts_at: Date | null
  sale_ends_at: Date | null
  catalogue_version: number
}

/**
 * Creates a product all or nothing across Postgres and Redis: the product and
 * its initial ledger row are written in one transaction, and the product is
 * loaded into Redis before that transaction commits. If Redis fails, nothing
 * commits (a retry makes one product, not two); if the commit fails after
 * Redis took it, the product is taken out of Redis again.
 */
export async function createProduct(deps: Deps, input: CreateProductInput): Promise<Product> {
  const { sql } = deps
  const priceMinor = toMinorUnits(input.price) ?? 0
  let loadedId: number | undefined
  let row: ProductRow
  try {
    row = await sql.begin(async (tx) => {
      const [product] = await tx<ProductRow[]>`
        insert into products ${tx({
          name: input.name,
          price: toDecimalString(priceMinor),
          quantity: input.quantity,
          status: input.status,
          lead_time: input.lead_time,
          most_lead_time: input.most_lead_time ?? input.lead_time,
          max_per_customer: input.max_per_customer,
          sale_starts_at: input.sale_starts_at ?? null,
          sale_ends_at: input.sale_ends_at ?? null,
        })}
        returning *
      `
      if (!product) throw new Error('insert into products returned no row')
      // Its partition, fixed for good: the id modulo PARTITIONS (src/redis/keys.ts).
      await tx`
        update products set partition = ${deps.keys.productPartition(product.id)}
        where id = ${product.id}
      `
      await tx`
        insert into stock_ledger ${tx({ id: newId(), product_id: product.id, kind: 'initial', quantity: input.quantity })}
      `
      loadedId = Number(product.id)
      await loadProductScript(deps, catalogueOf(product), {
        available: input.quantity,
        reserved: 0,
        sold: 0,
      })
      return product
    })
  } catch (err) {
    // A commit that failed may still have committed: ask Postgres before undoing Redis.
    if (loadedId !== undefined && !(await committed(deps, loadedId))) {
      await unloadProduct(deps, loadedId)
    }
    throw err
  }
  forgetCatalogue(deps.redis)
  return getProduct(deps, Number(row.id))
}

/** True if Postgres holds the product (its create committed). */
async function committed({ sql }: Pick<Deps, 'sql'>, id: number): Promise<boolean> {
  const rows = await sql`select 1 from products where id = ${id}`.catch(() => null)
  return rows === null || rows.length > 0 // unknown: leave Redis as it is
}

/** Takes a product whose create did not commit out of Redis again. */
async function unloadProduct(
  { redis, keys, logger }: Pick<Deps, 'redis' | 'keys' | 'logger'>,
  id: number,
) {
  await redis
    .multi()
    .del(keys.product(id))
    .zrem(keys.partition(keys.productPartition(id)).catalogue, String(id))
    .exec()
    .catch((err: Error) =>
      logger.error(
        { product_id: id, err: err.message },
        'could not take an uncommitted product out of Redis',
      ),
    )
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
    saleStartsMs: row.sale_starts_at?.getTime() ?? null,
    saleEndsMs: row.sale_ends_at?.getTime() ?? null,
    catalogueVersion: Number(row.catalogue_version),
  }
}

export type { ProductRow }

/**
 * Changes catalogue fields atomically in Redis (one script for every
 * instance); the event carries the record to Postgres. Orders keep their prices.
 */
export async function updateProduct(deps: Deps, id: number, input: UpdateProductInput) {
  const changes: Record<string, string> = {}
  const ms = (d: Date | null) => (d ? String(d.getTime()) : '')
  if (input.name !== undefined) changes.name = input.name
  if (input.price !== undefined) changes.price = String(toMinorUnits(input.price) ?? 0)
  if (input.status !== undefined) changes.status = input.status
  if (input.lead_time !== undefined) changes.lead_time = String(input.lead_time)
  if (input.most_lead_time !== undefined) changes.most_lead_time = String(input.most_lead_time)
  if (input.max_per_customer !== undefined)
    changes.max_per_customer = String(input.max_per_customer ?? '')
  if (input.sale_starts_at !== undefined) changes.sale_starts = ms(input.sale_starts_at)
  if (input.sale_ends_at !== undefined) changes.sale_ends = ms(input.sale_ends_at)
  const reply = await updateProductScript(deps, newId(), id, changes)
  if (reply.code !== 'OK') throw failureToApiError(reply, `Product ${id}`)
  const product = await getProduct(deps, id)
  // Order lines show names from a short in-process cache: this process shows the new one now.
  rememberNames(deps, new Map([[id, product.name]]))
  forgetCatalogue(deps.redis)
  return product
}

/**
 * Adds units atomically in Redis; the restock event carries the ledger row to
 * Postgres. `ledgerId`: the request's operation id, so a retry after a crash
 * answers with the same restock instead of adding the units twice.
 */
export async function restockProduct(
  deps: Deps,
  id: number,
  quantity: number,
  ledgerId: string = newId(),
) {
  const reply = await restockProductScript(deps, id, quantity, ledgerId, MAX_TOTAL_STOCK)
  if (reply.code !== 'OK') throw failureToApiError(reply, `Product ${id}`)
  clearSoldOut(deps.redis, [id])
  forgetCatalogue(deps.redis)
  return { ledger_id: ledgerId, product: await getProduct(deps, id) }
}
