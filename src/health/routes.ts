import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import type { AppEnv } from '../http/env.js'
import { jsonContent } from '../http/openapi.js'
import { rebuildingPartitions } from '../recovery/hydrate.js'
import { streamBehind, writeBehindStatus } from '../worker/status.js'

const Check = z.object({ ok: z.boolean() })
const REASONS = ['redis', 'rebuilding', 'postgres', 'dead_letters', 'stream_behind'] as const
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable']).openapi({
      description:
        '`ready`; `degraded` (200: sales go on, but Postgres does not answer, so changes wait in ' +
        'Redis, or dead letters hold acknowledged changes that are not in Postgres); ' +
        '`unavailable` (503: Redis does not answer, or is being rebuilt).',
    }),
    reasons: z.array(z.enum(REASONS)).openapi({
      description:
        'Why it is not `ready`: `redis`, `rebuilding`, `postgres`, `dead_letters`, ' +
        '`stream_behind` (Redis forgot changes Postgres holds; the write-behind stopped).',
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

/** How long a readiness probe waits for a store: a probe never hangs with it. */
const PROBE_TIMEOUT_MS = 1_000

/** Runs a probe within PROBE_TIMEOUT_MS; the cause goes to the log, never into the public answer. */
async function check(deps: Deps, name: string, probe: () => Promise<unknown>) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    )
  })
  try {
    await Promise.race([probe(), timeout])
    return { ok: true }
  } catch (err) {
    deps.logger.warn(
      { check: name, err: err instanceof Error ? err.message : String(err) },
      'readiness check failed',
    )
    return { ok: false }
  } finally {
    clearTimeout(timer)
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
      summary: 'Can this instance sell? Redis, Postgres, the rebuild and the write-behind',
      responses: {
        200: jsonContent(ReadySchema, 'Selling (`ready` or `degraded`)'),
        503: jsonContent(ReadySchema, 'Cannot sell: Redis does not answer or is being rebuilt'),
      },
    }),
    async (c) => {
      // The Redis probe reads the write-behind's status: one round trip for both.
      const read: {
        status?: Awaited<ReturnType<typeof writeBehindStatus>>
        rebuilding?: number[]
      } = {}
      const [redis, postgres, store] = await Promise.all([
        check(deps, 'redis', async () => {
          read.status = await writeBehindStatus(deps)
        }),
        check(deps, 'postgres', () => deps.sql`select 1`),
        check(deps, 'store', async () => {
          read.rebuilding = await rebuildingPartitions(deps)
          if (read.rebuilding.length > 0) throw new Error('rebuilding Redis from Postgres')
        }),
      ])
      // Partitions being rebuilt stop only their own sales: the others sell on.
      const somePartitions = (read.rebuilding?.length ?? 0) < deps.keys.partitions
      const status = read.status ?? null
      let behind = false
      if (redis.ok && postgres.ok) {
        await check(deps, 'stream', async () => {
          behind = (await streamBehind(deps)) !== null
        })
      }
      const incidents = (status?.dead_letters ?? 0) + (status?.dead_letters_dropped ?? 0)
      const reasons: (typeof REASONS)[number][] = []
      if (!redis.ok) reasons.push('redis')
      else if (!store.ok) reasons.push('rebuilding')
      if (!postgres.ok) reasons.push('postgres')
      if (incidents > 0) reasons.push('dead_letters')
      if (behind) reasons.push('stream_behind')
      // Sales need Redis; without Postgres they go on, and the write-behind catches up later.
      const selling = redis.ok && (store.ok || somePartitions)
      const body = {
        status: !selling
          ? ('unavailable' as const)
          : reasons.length > 0
            ? ('degraded' as const)
            : ('ready' as const),
        reasons,
        checks: { redis, postgres, store },
        write_behind: status,
      }
      return selling ? c.json(body, 200) : c.json(body, 503)
    },
  )

  return app
}
