import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv, Deps } from '../deps.js'
import { jsonContent } from '../http/openapi.js'
import { isRebuilding } from '../recovery/hydrate.js'
import { writeBehindStatus } from '../worker/status.js'

const Check = z.object({ ok: z.boolean(), error: z.string().optional() })
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable']).openapi({
      description:
        '`ready`; `degraded` (serving, but dead letters hold acknowledged changes that are not in ' +
        'Postgres); `unavailable` (a dependency does not answer, or Redis is being rebuilt).',
    }),
    checks: z.object({ redis: Check, postgres: Check, store: Check }),
    write_behind: z
      .object({
        backlog: z.int(),
        lag_ms: z.int(),
        dead_letters: z.int(),
        dead_letters_dropped: z.int(),
      })
      .nullable(),
  })
  .openapi('Readiness')

async function check(probe: () => Promise<unknown>) {
  try {
    await probe()
    return { ok: true }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}

export function healthRoutes(deps: Deps) {
  const app = new OpenAPIHono<AppEnv>()

  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      summary: 'The process is up',
      responses: { 200: jsonContent(z.object({ status: z.literal('ok') }), 'Alive') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'Redis and Postgres answer; write-behind backlog and lag',
      responses: {
        200: jsonContent(ReadySchema, 'Ready to serve'),
        503: jsonContent(ReadySchema, 'A dependency does not answer'),
      },
    }),
    async (c) => {
      const [redis, postgres, store] = await Promise.all([
        check(() => deps.redis.ping()),
        check(() => deps.sql`select 1`),
        check(async () => {
          if (await isRebuilding(deps)) throw new Error('rebuilding Redis from Postgres')
        }),
      ])
      const writeBehind = redis.ok ? await writeBehindStatus(deps).catch(() => null) : null
      const ready = redis.ok && postgres.ok && store.ok
      const incidents = (writeBehind?.dead_letters ?? 0) + (writeBehind?.dead_letters_dropped ?? 0)
      const body = {
        status: !ready
          ? ('unavailable' as const)
          : incidents > 0
            ? ('degraded' as const)
            : ('ready' as const),
        checks: { redis, postgres, store },
        write_behind: writeBehind,
      }
      return ready ? c.json(body, 200) : c.json(body, 503)
    },
  )

  return app
}
