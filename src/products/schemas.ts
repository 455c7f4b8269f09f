import { z } from '@hono/zod-openapi'
import { idParam, text } from '../http/text.js'
import { MAX_PRICE_MINOR, toMinorUnits } from '../money.js'

/** Most units one create or restock may add. */
export const MAX_STOCK_CHANGE = 1_000_000
/**
 * Most units a product may hold in total (available + reserved + sold), enforced
 * atomically by the restock script. Every counter, mirror and ledger total then
 * fits a Postgres `integer` and stays exact in Lua's doubles.
 */
export const MAX_TOTAL_STOCK = 1_000_000_000

const Quantity = z.int().min(0).max(MAX_STOCK_CHANGE)

const LeadTime = z.int().min(0).max(365)

const MaxPerCustomer = z
  .int()
  .min(1)
  .max(MAX_STOCK_CHANGE)
  .nullable()
  .openapi({ description: 'Most units one customer may hold (reserved plus bought).' })

/** An instant with its offset, e.g. 2026-12-12T00:00:00+07:00. */
const SaleInstant = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine(
    // In UTC, whatever the server's time zone: 9999-12-31T23:00-05:00 is already year 10000.
    (d) => d.getUTCFullYear() >= 2000 && d.getUTCFullYear() <= 9999,
    'must be a year 2000–9999 (in UTC)',
  )
  .openapi({ type: 'string', format: 'date-time', example: '2026-12-12T00:00:00+07:00' })

function saleWindowOrdered(p: { sale_starts_at?: Date | null; sale_ends_at?: Date | null }) {
  return !p.sale_starts_at || !p.sale_ends_at || p.sale_ends_at > p.sale_starts_at
}

const Status = z
  .union([z.enum(['active', 'inactive']), z.boolean(), z.literal(0), z.literal(1)])
  .transform((s) => (s === true || s === 1 || s === 'active' ? 'active' : 'inactive'))
  .openapi({ description: "'active' (or true / 1) lists the product." })

const Price = z
  .number()
  .min(0)
  .refine((price) => toMinorUnits(price) !== null, 'must have at most two decimal places')
  .refine((price) => (toMinorUnits(price) ?? 0) <= MAX_PRICE_MINOR, 'must be at most 10000000')
  .openapi({ example: 100.0, description: 'Unit price, at most two decimal places.' })

/** The original body `{name, quantity, price}`, plus the model's optional fields. */
export const CreateProductBody = z
  .object({
    name: text(200).openapi({ example: 'Sepatu Boots' }),
    quantity: Quantity.openapi({ example: 20, description: 'Initial stock, in units.' }),
    price: Price,
    status: Status.default('active'),
    lead_time: LeadTime.default(1).openapi({ description: 'Usual restock lead time, days.' }),
    most_lead_time: LeadTime.optional().openapi({
      description: 'Longest restock lead time, days; defaults to lead_time.',
    }),
    max_per_customer: MaxPerCustomer.default(null),
    sale_starts_at: SaleInstant.optional().openapi({
      description: 'When checkout opens (ISO 8601); before it, 409 SALE_NOT_STARTED.',
    }),
    sale_ends_at: SaleInstant.optional().openapi({
      description: 'When checkout closes (ISO 8601); from it, 409 SALE_ENDED.',
    }),
  })
  .refine((p) => p.most_lead_time === undefined || p.most_lead_time >= p.lead_time, {
    path: ['most_lead_time'],
    message: 'must be at least lead_time',
  })
  .refine(saleWindowOrdered, { path: ['sale_ends_at'], message: 'must be after sale_starts_at' })
  .openapi('CreateProduct')

/** PATCH /products/{id}: any of the catalogue fields; null clears a limit or a window end. */
export const UpdateProductBody = z
  .object({
    name: text(200).optional(),
    price: Price.optional(),
    status: Status.optional(),
    lead_time: LeadTime.optional(),
    most_lead_time: LeadTime.optional(),
    max_per_customer: MaxPerCustomer.optional(),
    sale_starts_at: SaleInstant.nullable().optional(),
    sale_ends_at: SaleInstant.nullable().optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'must change at least one field')
  .refine(saleWindowOrdered, { path: ['sale_ends_at'], message: 'must be after sale_starts_at' })
  .openapi('UpdateProduct')

export type UpdateProductInput = z.output<typeof UpdateProductBody>

export type CreateProductInput = z.output<typeof CreateProductBody>

export const RestockBody = z
  .object({
    quantity: z
      .int()
      .min(1)
      .max(MAX_STOCK_CHANGE)
      .openapi({ example: 50, description: 'Units to add.' }),
  })
  .openapi('Restock')

export const ProductIdParam = z.object({ id: idParam('id') })

export const ListProductsQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ example: 1 }),
  per_page: z.coerce.number().int().min(1).max(200).default(50).openapi({ example: 50 }),
})

export const StockSchema = z
  .object({ available: z.int(), reserved: z.int(), sold: z.int() })
  .openapi('Stock', {
    description: 'Live counters from Redis: available + reserved + sold = total stock.',
  })

export const ProductSchema = z
  .object({
    id: z.int(),
    name: z.string(),
    price: z.number(),
    quantity: z
      .int()
      .openapi({ description: 'Available units (same as stock.available), as the original.' }),
    status: z.enum(['active', 'inactive']),
    lead_time: z.int(),
    most_lead_time: z.int(),
    max_per_customer: z.int().nullable(),
    stock: StockSchema,
    created_date: z.string(),
    sale_starts_at: z.string().nullable().openapi({ description: 'When checkout opens, if set.' }),
    sale_ends_at: z.string().nullable().openapi({ description: 'When checkout closes, if set.' }),
  })
  .openapi('Product')

export type Product = z.infer<typeof ProductSchema>

/** Product names by id, for showing order lines; a product without a name shows ''. */
export type ProductNames = ReadonlyMap<number, string>
export type Stock = z.infer<typeof StockSchema>

export const PaginationSchema = z
  .object({ page: z.int(), per_page: z.int(), total: z.int(), total_pages: z.int() })
  .openapi('Pagination')
