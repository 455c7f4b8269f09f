import { existsSync } from 'node:fs'
import { ConfigError, loadConfig } from '../config.js'
import { createSql } from './client.js'
import { migrate } from './migrate.js'

if (existsSync('.env')) process.loadEnvFile('.env')
try {
  const config = loadConfig()
  const sql = createSql(config.DATABASE_URL)
  await migrate(sql, (name) => console.log(`applying ${name}`))
  await sql.end({ timeout: 5 })
  console.log('migrations are up to date')
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${String(err)}`)
  process.exit(1)
}
