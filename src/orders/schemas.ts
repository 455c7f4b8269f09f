import { z } from '@hono/zod-openapi'
import { CustomerIdSchema } from '../http/customers.js'
import { bodyId, uuid } from '../http/text.js'

export const MAX_LINE_QUANTITY = 10_000
export const MAX_LINES = 100

export const OrderStatus = z.enum([
  'draft',
  'checkout',
  'paid',
  'payment_confirmed',
  'payment_rejected',
  'expired',
  'cancelled',
])
export type OrderStatus = z.infer<typeof OrderStatus>

const OrderId = uuid()

export const CreateOrderBody = z
  .object({
    products: z
      .array(
        z.object({
          product_id: bodyId().openapi({ example: 1 }),
          quantity: z.int().min(1).max(MAX_LINE_QUANTITY).openapi({ example: 5 }),
        }),
      )
      .min(1)
      .max(MAX_LINES)
      .superRefine((lines, ctx) => {
        // Merged, a product's line obeys the same limit as any line.
        const merged = new Map<number, number>()
        lines.forEach(({ product_id, quantity }, i) => {
          const total = (merged.get(product_id) ?? 0) + quantity
          merged.set(product_id, total)
          if (total > MAX_LINE_QUANTITY && total - quantity <= MAX_LINE_QUANTITY) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'quantity'],
              message: `product ${product_id} is listed more than once, for more than ${MAX_LINE_QUANTITY} units in all`,
            })
          }
        })
      })
      .openapi({
        description: `Lines; a product listed twice is merged into one line, of at most ${MAX_LINE_QUANTITY} units.`,
      }),
    customer_id: CustomerIdSchema.optional().openapi({
      description:
        "Who orders. With customer tokens it must be the token's own (or left out). In anonymous " +
        'mode it is trusted as sent, normalised (NFKC, case-folded) before it counts toward limits; ' +
        'needed when a product has max_per_customer.',
      example: 'cust-42',
    }),
  })
  .openapi('CreateOrder')

export type CreateOrderInput = z.infer<typeof CreateOrderBody>

export const OrderIdBody = z.object({ order_id: OrderId }).openapi('OrderRef')

export const OrderIdParam = z.object({
  order_id: OrderId.openapi({ param: { name: 'order_id', in: 'path' } }),
})

export const ProductAvailabilitySchema = z
  .object({
    status: z.enum(['available', 'not_available']),
    available_quantity: z.int(),
  })
  .openapi('ProductAvailability', {
    description: "The original's availability of a line's product.",
  })

export const OrderLineSchema = z
  .object({
    id: z.string().openapi({
      description: "The line's id: the order's id and the line's number, `<order_id>:<n>`.",
    }),
    product_id: z.int(),
    product_name: z.string(),
    quantity: z.int(),
    price: z.number(),
    amount: z.number(),
    available: z.int().optional().openapi({ description: "The product's available units now." }),
    product_availability: ProductAvailabilitySchema.optional().openapi({
      description:
        'Where the answer knows it (create, checkout, get): the same, as the original said it.',
    }),
  })
  .openapi('OrderLine')

export type OrderLine = z.infer<typeof OrderLineSchema>

export const OrderSchema = z
  .object({
    id: z.string(),
    status: OrderStatus,
    customer_id: z.string().nullable(),
    order_date: z.string(),
    total_amount: z.number(),
    reserved_until: z.string().optional().openapi({ description: 'While stock is held.' }),
    payment_id: z.string().optional(),
    message: z.string().optional().openapi({
      description: 'On checkout, as the original said it: "order has been checked out".',
    }),
    order_details: z
      .array(OrderLineSchema)
      .openapi({ description: 'The lines, as the original named them.' }),
  })
  .openapi('Order')

export type Order = z.infer<typeof OrderSchema>
