import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Deps } from '../deps.js'
import type { AppEnv } from '../http/env.js'
import { jsonContent } from '../http/openapi.js'
import { streamBehind, writeBehindStatus } from '../worker/status.js'

const Check = z.object({ ok: z.boolean() })
const REASONS = [
  'redis',
  'rebuilding',
  'partitions_down',
  'postgres',
  'dead_letters',
  'stream_behind',
] as const
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable']).openapi({
      description:
        '`ready`; `degraded` (200: sales go on, but Postgres does not answer, so changes wait in ' +
        'Redis; or some partitions cannot sell: their Redis is away or being rebuilt; or dead ' +
        'letters hold acknowledged changes that are not in Postgres); `unavailable` (503: no ' +
        'partition can sell: Redis does not answer, or is being rebuilt).',
    }),
    reasons: z.array(z.enum(REASONS)).openapi({
      description:
        'Why it is not `ready`: `redis` (no partition answers), `rebuilding`, `partitions_down` ' +
        "(some partitions' Redis does not answer: in a cluster, a master away), `postgres`, " +
        '`dead_letters`, `stream_behind` (Redis forgot changes Postgres holds; the write-behind stopped).',
    }),
    checks: z.object({ redis: Check, postgres: Check, store: Check }),
    partitions: z
      .object({
        total: z.int(),
        down: z.array(z.int()).openapi({ description: 'Partitions whose Redis does not answer.' }),
        rebuilding: z.array(z.int()).openapi({ description: 'Partitions being rebuilt.' }),
      })
      .openapi({
        description: 'Each partition sells on its own (PARTITIONS; 1 on a single Redis).',
      }),
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

/** Waits for `promise` up to PROBE_TIMEOUT_MS: a probe never hangs on a store. */
async function withinProbe<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** Runs a probe within PROBE_TIMEOUT_MS; the cause goes to the log, never into the public answer. */
async function check(deps: Deps, name: string, probe: () => Promise<unknown>) {
  try {
    await withinProbe(probe())
    return { ok: true }
  } catch (err) {
    deps.logger.warn({ check: name, err: messageOf(err) }, 'readiness check failed')
    return { ok: false }
  }
}

/** Each partition's state: its Redis holds it (`ready`), is rebuilding it, or does not answer. */
async function partitionStates(deps: Deps) {
  const failures: string[] = []
  const states = await Promise.all(
    deps.keys.allPartitions.map(async (part) => {
      try {
        const held = await withinProbe(deps.redis.exists(part.hydrated))
        return held === 1 ? ('ready' as const) : ('rebuilding' as const)
      } catch (err) {
        failures.push(`partition ${part.index}: ${messageOf(err)}`)
        return 'down' as const
      }
    }),
  )
  if (failures.length > 0) {
    deps.logger.warn({ check: 'redis', failures }, 'readiness check failed')
  }
  return states
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
      const [states, postgres] = await Promise.all([
        partitionStates(deps),
        check(deps, 'postgres', () => deps.sql`select 1`),
      ])
      const of = (state: string) =>
        deps.keys.allPartitions.filter((_, i) => states[i] === state).map((p) => p.index)
      const [down, rebuilding] = [of('down'), of('rebuilding')]
      const answering = down.length < deps.keys.partitions
      // Over the partitions that answer; null if the store's own keys do not.
      const status = answering
        ? await withinProbe(writeBehindStatus(deps, [...of('ready'), ...rebuilding])).catch(
            (err) => {
              deps.logger.warn(
                { check: 'write-behind', err: messageOf(err) },
                'readiness check failed',
              )
              return null
            },
          )
        : null
      // Partitions stop only their own sales: the others sell on.
      const selling = rebuilding.length + down.length < deps.keys.partitions
      let behind = false
      if (answering && postgres.ok) {
        await check(deps, 'stream', async () => {
          behind = (await streamBehind(deps)) !== null
        })
      }
      const incidents = (status?.dead_letters ?? 0) + (status?.dead_letters_dropped ?? 0)
      const reasons: (typeof REASONS)[number][] = []
      if (!answering) reasons.push('redis')
      if (rebuilding.length > 0) reasons.push('rebuilding')
      if (answering && (down.length > 0 || status === null)) reasons.push('partitions_down')
      if (!postgres.ok) reasons.push('postgres')
      if (incidents > 0) reasons.push('dead_letters')
      if (behind) reasons.push('stream_behind')
      const body = {
        status: !selling
          ? ('unavailable' as const)
          : reasons.length > 0
            ? ('degraded' as const)
            : ('ready' as const),
        reasons,
        checks: {
          redis: { ok: answering },
          postgres: { ok: postgres.ok },
          store: { ok: rebuilding.length === 0 && down.length === 0 },
        },
        partitions: { total: deps.keys.partitions, down, rebuilding },
        write_behind: status,
      }
      return selling ? c.json(body, 200) : c.json(body, 503)
    },
  )

  return app
}
