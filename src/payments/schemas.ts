import { z } from '@hono/zod-openapi'
import { uuid } from '../http/text.js'
import { OrderLineSchema, OrderStatus } from '../orders/schemas.js'

export const PaymentStatus = z.enum(['paid', 'confirmed', 'rejected'])

export const PaymentIdParam = z.object({
  payment_id: uuid().openapi({ param: { name: 'payment_id', in: 'path' } }),
})

export const PaymentSchema = z
  .object({
    id: z.string().openapi({ description: 'The payment id, as the original named it.' }),
    status: PaymentStatus.openapi({ description: 'The payment status, as the original named it.' }),
    payment_id: z.string(),
    order_id: z.string(),
    payment_status: PaymentStatus,
    order_status: OrderStatus,
    amount: z.number(),
    order_date: z.string(),
    payment_date: z.string(),
  })
  .openapi('Payment', { description: "A payment, with the original's field names." })

export const PaymentWithOrderSchema = PaymentSchema.extend({
  total_amount: z.number(),
  order_details: z.array(
    OrderLineSchema.extend({
      detail_id: z
        .string()
        .openapi({ description: "The line's id, as the original named it here." }),
    }),
  ),
}).openapi('PaymentWithOrder')

export type Payment = z.infer<typeof PaymentSchema>
export type PaymentWithOrder = z.infer<typeof PaymentWithOrderSchema>
