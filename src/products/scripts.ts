import type { Deps } from '../deps.js'
import { type Failure, failureFrom } from '../redis/replies.js'
import { RECEIPT_TTL_MS, runScript } from '../redis/scripts.js'
import type { Counters } from '../stock/scripts.js'

type Ctx = Pick<Deps, 'redis' | 'keys'>

export interface ProductCatalogue {
  id: number
  name: string
  priceMinor: number
  status: 'active' | 'inactive'
  maxPerCustomer: number | null
  leadTime: number
  mostLeadTime: number
  createdMs: number
  saleStartsMs: number | null
  saleEndsMs: number | null
  catalogueVersion: number
}

/** lua/loadProduct.lua: catalogue fields always; counters only when Redis has none. True if counters were set. */
export async function loadProductScript(
  ctx: Ctx,
  product: ProductCatalogue,
  stock: Counters,
  version = 0,
): Promise<boolean> {
  const { keys } = ctx
  const raw = await runScript(
    ctx.redis,
    'loadProduct',
    [keys.product(product.id), keys.partition(keys.productPartition(product.id)).catalogue],
    [
      product.id,
      product.name,
      product.priceMinor,
      product.status,
      product.maxPerCustomer ?? '',
      product.leadTime,
      product.mostLeadTime,
      product.createdMs,
      product.saleStartsMs ?? '',
      product.saleEndsMs ?? '',
      product.catalogueVersion,
      stock.available,
      stock.reserved,
      stock.sold,
      version,
    ],
  )
  if (raw[0] === 'LOADED') return true
  if (raw[0] === 'PRESENT') return false
  throw failureFrom('loadProduct', raw)
}

/** lua/restockProduct.lua */
export async function restockProductScript(
  ctx: Ctx,
  productId: number,
  quantity: number,
  ledgerId: string,
  maxTotalStock: number,
): Promise<({ code: 'OK' } & Counters) | Failure> {
  const { keys } = ctx
  const part = keys.partition(keys.productPartition(productId))
  const raw = await runScript(
    ctx.redis,
    'restockProduct',
    [part.hydrated, keys.product(productId), part.events, keys.receipt(productId, ledgerId)],
    [productId, quantity, ledgerId, 'restock', maxTotalStock, RECEIPT_TTL_MS],
  )
  if (raw[0] !== 'OK') return failureFrom('restockProduct', raw)
  return { code: 'OK', available: Number(raw[1]), reserved: Number(raw[2]), sold: Number(raw[3]) }
}

/** lua/updateProduct.lua: the changed catalogue fields, as strings ('' clears); `changeId` names the call. */
export async function updateProductScript(
  ctx: Ctx,
  changeId: string,
  productId: number,
  changes: Record<string, string>,
): Promise<{ code: 'OK' } | Failure> {
  const { keys } = ctx
  const part = keys.partition(keys.productPartition(productId))
  const raw = await runScript(
    ctx.redis,
    'updateProduct',
    [
      part.hydrated,
      keys.product(productId),
      part.catalogue,
      part.events,
      keys.receipt(productId, changeId),
    ],
    [productId, JSON.stringify(changes), RECEIPT_TTL_MS],
  )
  return raw[0] === 'OK' ? { code: 'OK' } : failureFrom('updateProduct', raw)
}
