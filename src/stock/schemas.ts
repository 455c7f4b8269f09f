import { z } from '@hono/zod-openapi'
import { MAX_ID, text } from '../http/text.js'
import { PaginationSchema } from '../products/schemas.js'
import { HOLDS_LISTED } from './holds.js'

const Counters = z.object({ available: z.int(), reserved: z.int(), sold: z.int() })

/** `true` or `false` in a query string. */
const flag = (description: string) =>
  z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .openapi({ type: 'string', enum: ['true', 'false'], description })

export const MAX_STOCK_PAGE = 200

export const StockCheckQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ example: 1 }),
  per_page: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_STOCK_PAGE)
    .default(50)
    .openapi({ example: 50, description: `Products per page, at most ${MAX_STOCK_PAGE}.` }),
  status: z.enum(['drift', 'pending', 'in_sync']).optional().openapi({
    description: 'Only products whose last verdict is this (the page checks them again, live).',
  }),
  low_stock: flag('Only products below their reorder point (true), or only the others (false).'),
  on_sale: flag('Only products whose sale window is open now or opens within 24 hours.'),
  q: text(200)
    .optional()
    .openapi({ description: "Search: part of the product's name, or its id." }),
  window_days: z.coerce.number().int().min(1).max(365).optional().openapi({
    description: 'Days of sales behind the restock advice (default STOCK_WINDOW_DAYS).',
  }),
  product_id: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_ID)
    .optional()
    .openapi({ description: 'Only this product.' }),
  wait_ms: z.coerce.number().int().min(0).max(10_000).optional().openapi({
    description: 'How long to wait for the write-behind worker before reporting pending.',
  }),
})

export const ProductCheckSchema = z
  .object({
    product_id: z.int(),
    name: z.string(),
    status: z.enum(['in_sync', 'pending', 'drift']),
    reason: z.string().optional().openapi({ description: 'Why the product is not in sync.' }),
    available_quantity: z.int().openapi({
      description: 'Units free to sell (redis.available), as the original named them.',
    }),
    redis: Counters.openapi({ description: 'Live counters in Redis, at the cut.' }),
    database: Counters.openapi({
      description:
        'Derived in Postgres from the stock ledger and the persisted orders, independently of Redis.',
    }),
    drift: Counters.openapi({ description: 'redis − database, per counter.' }),
    dead_letters: z
      .array(
        z.object({ id: z.string(), event_id: z.string(), type: z.string(), error: z.string() }),
      )
      .optional()
      .openapi({ description: 'Events of this product that could not be written to Postgres.' }),
    safety_stock: z.int(),
    reorder_point: z.int(),
    restock_quantity: z
      .int()
      .openapi({ description: 'Units to add now: max(0, reorder_point − available).' }),
    sales: z.object({ avg_daily: z.number(), max_daily: z.int() }),
  })
  .openapi('ProductStockCheck')

const HoldProblemSchema = z
  .object({
    order_id: z.string(),
    partition: z.int(),
    order_status: z
      .string()
      .openapi({ description: "The order's status in its home partition; `none`: no such order." }),
    lines: z.array(z.object({ product_id: z.int(), quantity: z.int() })).optional(),
    held_until: z.string().optional(),
    action: z
      .enum(['release', 'sell'])
      .optional()
      .openapi({ description: 'What the hold audit will do with it.' }),
  })
  .openapi('HoldProblem')

export const StockReportSchema = z
  .object({
    generated_at: z.string(),
    window_days: z.int(),
    write_behind: z.object({
      backlog: z.int(),
      lag_ms: z.int(),
      stream_behind: z
        .object({ partition: z.int(), redis_entries: z.int(), postgres_entries: z.int() })
        .optional()
        .openapi({
          description:
            'Set when Redis has added fewer stream entries than Postgres has seen: it forgot ' +
            'changes (a failover with REDIS_REPLICA_ACKS=0), and the write-behind has stopped.',
        }),
    }),
    totals: z
      .object({
        products: z.int(),
        in_sync: z.int(),
        pending: z.int(),
        drift: z.int(),
        low_stock: z.int(),
        units: Counters,
        sell_through_pct: z.number(),
        as_of: z.string().nullable().openapi({
          description:
            'When the oldest verdict behind the totals was taken (the periodic full check).',
        }),
      })
      .openapi({
        description:
          'The whole shop, from the last verdict on each product (a product not checked yet counts as pending).',
      }),
    holds: z
      .object({
        overdue: z.int().openapi({
          description:
            'Holds past their audit time, in every partition: the sweeper settles them within a ' +
            'second, so a count that stays up means no sweeper runs.',
        }),
        orphaned: z.array(HoldProblemSchema).openapi({
          description:
            'Holds past their end that no order needs any more (a checkout that stopped between ' +
            'its holds and its commit): units reserved for nobody until the audit settles them.',
        }),
        missing: z.array(HoldProblemSchema).openapi({
          description:
            'Orders across partitions, checked out or paid, whose hold in a partition is gone.',
        }),
      })
      .openapi({
        description: `The holds of orders across partitions, checked against their orders (at most ${HOLDS_LISTED} listed of each kind).`,
      }),
    pagination: PaginationSchema,
    products: z.array(ProductCheckSchema).openapi({
      description:
        'One page: drift first, then pending, then low stock, then the rest, each by id; checked live.',
    }),
  })
  .openapi('StockReport')

export const ReconcileBody = z
  .object({
    dry_run: z
      .boolean()
      .default(true)
      .openapi({ description: 'Only report what would change (default).' }),
    product_id: z.int().positive().max(MAX_ID).optional(),
  })
  .openapi('Reconcile')

export const ReconcileResultSchema = z
  .object({
    dry_run: z.boolean(),
    checked: z.int(),
    repairs: z.array(
      z.object({
        product_id: z.int(),
        from: Counters,
        to: Counters,
        applied: z.boolean(),
        reason: z.string().optional(),
        orders: z.array(z.string()).optional().openapi({
          description: 'Orders Redis holds that Postgres does not (yet): why it was not repaired.',
        }),
      }),
    ),
  })
  .openapi('ReconcileResult')
