import { readdirSync, readFileSync } from 'node:fs'
import type { CommandStat } from './topology/redisCluster.js'

/** Every Redis command a Lua script of the store calls (lowercase, as INFO names them). */
export function scriptCommands(): Set<string> {
  const files = [
    ...readdirSync('lua'),
    ...readdirSync('lua/includes').map((f) => `includes/${f}`),
  ].filter((f) => f.endsWith('.lua'))
  return new Set(
    files
      .flatMap((f) => [...readFileSync(`lua/${f}`, 'utf8').matchAll(/redis\.call\('(\w+)'/g)])
      .map((m) => (m[1] ?? '').toLowerCase()),
  )
}

/**
 * A node's Redis time from its command stats, each moment counted once. Redis
 * counts a command a script runs twice (in the script's EVAL/EVALSHA and under
 * its own name), and EXEC likewise includes the commands it ran: so this is the
 * scripts' time, plus the commands no script uses (the worker's, the reads).
 */
export function redisTimeUs(commands: readonly CommandStat[], inScripts = scriptCommands()) {
  return commands
    .filter((c) => c.command !== 'exec')
    .filter((c) => c.command.startsWith('eval') || !inScripts.has(c.command))
    .reduce((sum, c) => sum + c.usec, 0)
}
