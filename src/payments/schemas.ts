import { z } from '@hono/zod-openapi'
import { uuid } from '../http/text.js'
import { OrderLineSchema, OrderStatus } from '../orders/schemas.js'

export const PaymentStatus = z.enum(['paid', 'confirmed', 'rejected'])

export const PaymentIdParam = z.object({
  payment_id: uuid().openapi({ param: { name: 'payment_id', in: 'path' } }),
})

export const PaymentSchema = z
  .object({
    id: z.string(),
    order_id: z.string(),
    status: PaymentStatus,
    amount: z.number(),
    payment_date: z.string(),
    order_date: z.string(),
    order_status: OrderStatus,
  })
  .openapi('Payment')

export const PaymentWithOrderSchema = PaymentSchema.extend({
  order: z.object({
    id: z.string(),
    status: OrderStatus,
    total_amount: z.number(),
    lines: z.array(OrderLineSchema),
  }),
}).openapi('PaymentWithOrder')

export type Payment = z.infer<typeof PaymentSchema>
export type PaymentWithOrder = z.infer<typeof PaymentWithOrderSchema>
