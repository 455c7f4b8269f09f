import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Cluster } from 'ioredis'
import { acksRequired, replicated } from './replicas.js'
import { slotOf } from './slots.js'
import type { Redis } from './types.js'

/**
 * Loads the Lua scripts in `lua/` once and registers them with ioredis
 * `defineCommand` (EVALSHA, falling back to EVAL once per connection).
 * A line `--- @include "name"` pulls in `lua/includes/name.lua`, once per script.
 * Each script has one typed wrapper, kept with its domain (`src/<domain>/scripts.ts`),
 * that builds its keys and arguments and parses its reply.
 */
const LUA_DIR = fileURLToPath(new URL('../../lua/', import.meta.url))

export const SCRIPT_NAMES = [
  'loadProduct',
  'restockProduct',
  'createOrder',
  'checkoutOrder',
  'payOrder',
  'confirmPayment',
  'rejectPayment',
  'cancelOrder',
  'expireOrder',
  'expireDraft',
  'stockCut',
  'repairStock',
  'restoreOrder',
  'updateProduct',
  'rateLimit',
  'inspectLines',
  'holdLines',
  'endHold',
  'restoreHold',
  'laneLease',
] as const

export type ScriptName = (typeof SCRIPT_NAMES)[number]

/** How long a receipt (lua/includes/receipts.lua) answers a resent restock or repair. */
export const RECEIPT_TTL_MS = 24 * 60 * 60 * 1000

/** A script's raw reply: an outcome code first, then its values. */
export type RawReply = [code: string, ...values: (string | number | null | (string | null)[])[]]

const INCLUDE = /^--- @include "([\w-]+)"\s*$/gm

export function readScript(file: string, included = new Set<string>()): string {
  const source = readFileSync(`${LUA_DIR}${file}.lua`, 'utf8')
  return source.replace(INCLUDE, (_line, name: string) => {
    if (included.has(name)) return ''
    included.add(name)
    return readScript(`includes/${name}`, included)
  })
}

const sources = new Map(SCRIPT_NAMES.map((name) => [name, readScript(name)]))
const shas = new Map(
  [...sources].map(([name, lua]) => [name, createHash('sha1').update(lua).digest('hex')]),
)

export function registerScripts(redis: Redis): void {
  for (const [name, lua] of sources) redis.defineCommand(name, { lua })
}

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<RawReply>

/**
 * Scripts whose changes need no replica's confirmation: reads, a rate-limit
 * bucket (losing one lets a caller in a little early, never sells anything),
 * and the rebuild's loads (the rebuild confirms them all before Redis is ready).
 */
const UNCONFIRMED = new Set<ScriptName>([
  'stockCut',
  'rateLimit',
  'loadProduct',
  'restoreOrder',
  'inspectLines',
  'restoreHold',
  // A lease lost in a failover lets another worker write too: every write is idempotent.
  'laneLease',
])

/** Refusals: the script changed nothing, so there is nothing for a replica to confirm. */
const REFUSALS = new Set([
  'REBUILDING',
  'BACKLOG_FULL',
  'DRAFTS_FULL',
  'TOO_MANY_OPEN_ORDERS',
  'NOT_FOUND',
  'KEYS_MISMATCH',
  'INVALID_STATE',
  'OUT_OF_STOCK',
  'CUSTOMER_REQUIRED',
  'LIMIT_EXCEEDED',
  'STOCK_LIMIT',
  'SALE_NOT_STARTED',
  'SALE_ENDED',
  'PRODUCT_INACTIVE',
  'INVALID',
  'CHANGED',
  'NEGATIVE',
  'NOT_DUE',
  'RELEASED',
  'SOLD',
  'HOLDS_EXPIRED',
])

/**
 * Runs a registered script. Only the typed wrappers call this. A script that
 * changed the store answers only once the replicas the client requires hold
 * the change (REDIS_REPLICA_ACKS; see replicas.ts): else ReplicaAckError.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<RawReply> {
  const reply =
    redis instanceof Cluster
      ? await inCluster(redis, name, keys, args)
      : await (redis as unknown as Record<ScriptName, ScriptCommand>)[name].call(
          redis,
          keys.length,
          ...keys,
          ...args,
        )
  if (acksRequired(redis) && !UNCONFIRMED.has(name) && !REFUSALS.has(String(reply[0]))) {
    await replicated(redis, keys[0])
  }
  return reply
}

/** Keys a script was given that lie in more than one slot: a bug in the caller, never sent. */
export class CrossSlotError extends Error {
  constructor(
    readonly script: ScriptName,
    readonly keys: readonly string[],
  ) {
    super(`script ${script} was given keys in more than one slot: ${keys.join(' ')}`)
  }
}

/**
 * In a cluster a script goes as EVALSHA, which the client routes (and
 * auto-pipelines) by its first key; a custom command would be grouped by
 * the slot of its key count. A node that does not know the script yet
 * (NOSCRIPT: new, or a replica just promoted) gets it with EVAL. Keys in
 * more than one slot are refused here, before Redis refuses them (CROSSSLOT).
 */
async function inCluster(
  redis: Cluster,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<RawReply> {
  const slot = keys[0] === undefined ? undefined : slotOf(keys[0])
  if (keys.some((key) => slotOf(key) !== slot)) throw new CrossSlotError(name, keys)
  try {
    return (await redis.evalsha(
      shas.get(name) as string,
      keys.length,
      ...keys,
      ...args,
    )) as RawReply
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err
    return (await redis.eval(
      sources.get(name) as string,
      keys.length,
      ...keys,
      ...args,
    )) as RawReply
  }
}

/** A reply code the wrapper does not know: a bug, never a silent 500. */
export class UnknownReplyError extends Error {
  constructor(
    readonly script: ScriptName,
    readonly reply: unknown,
  ) {
    super(`script ${script} gave a reply its wrapper does not know: ${JSON.stringify(reply)}`)
  }
}
