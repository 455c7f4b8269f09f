import { fileURLToPath } from 'node:url'
import shift from 'postgres-shift'
import type { Sql } from './client.js'

// Beside this module: src/db/migrations, or dist/db/migrations (copied by the build).
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
const MIGRATION_LOCK = 7_210_001 // any constant: one advisory lock for all instances

/**
 * Applies the numbered SQL migrations (postgres-shift). A session advisory lock
 * makes instances that start together run them one after the other. It holds
 * one pooled connection while postgres-shift uses another, so the pool needs two.
 */
export async function migrate(sql: Sql, log: (name: string) => void = () => {}): Promise<void> {
  const lock = await sql.reserve()
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`
    await shift({ sql, path: MIGRATIONS_DIR, before: ({ name }) => log(name) })
  } finally {
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {})
    lock.release()
  }
}
