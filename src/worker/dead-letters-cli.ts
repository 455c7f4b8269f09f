import { existsSync } from 'node:fs'
import { ConfigError, loadConfig } from '../config.js'
import { createRedis, redisTarget } from '../redis/client.js'
import { storeKeys } from '../redis/keys.js'
import { deadLetterCounts, listDeadLetters, replayDeadLetters } from './deadLetters.js'

/**
 * `npm run dead-letters -- list`           every dead letter: id, event type, products, error
 * `npm run dead-letters -- replay [ID…]`   puts them (or the given ones) back on the event stream
 *
 * Replay once the cause is fixed (a deploy, a migration): the running worker
 * then writes them to Postgres, exactly once in effect.
 */
const USAGE = 'usage: npm run dead-letters -- list | replay [DEAD_LETTER_ID ...]'

if (existsSync('.env')) process.loadEnvFile('.env')
const [command, ...ids] = process.argv.slice(2)
try {
  const config = loadConfig()
  const redis = createRedis(redisTarget(config), (err) => console.error(`redis: ${err.message}`))
  await redis.connect()
  const keys = storeKeys(config.KEY_PREFIX, config.PARTITIONS)
  try {
    if (command === 'list') {
      const letters = await listDeadLetters({ redis, keys })
      const { dropped } = await deadLetterCounts({ redis, keys })
      for (const d of letters) {
        console.log(
          `${d.id}  ${d.type || '(unreadable)'}  event ${d.event_id}  products [${d.product_ids.join(', ')}]` +
            `${d.order_id ? `  order ${d.order_id}` : ''}\n    ${d.failed_at}  ${d.error}`,
        )
      }
      console.log(`${letters.length} dead letters; ${dropped} dropped because the stream was full`)
    } else if (command === 'replay') {
      const replayed = await replayDeadLetters({ redis, keys }, ids.length > 0 ? ids : undefined)
      console.log(`replayed ${replayed.length} dead letters onto the event stream`)
    } else {
      console.error(USAGE)
      process.exitCode = 2
    }
  } finally {
    redis.disconnect()
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `dead-letters failed: ${String(err)}`)
  process.exit(1)
}
