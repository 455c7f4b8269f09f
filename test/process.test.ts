import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../scripts/lib/topology/ports.js'
import { ADMIN_TOKEN, createTestDatabase, deletePrefixKeys, REDIS_URL } from './helpers/context.js'
import { serviceEnv as envOf, startService as start } from './helpers/processes.js'

describe('npm start (the main process)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  const prefix = `t-${randomBytes(6).toString('hex')}`
  let service: ReturnType<typeof start> | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  /** The environment of a service on this file's database and key prefix, on a free port. */
  const serviceEnv = () => envOf(db.url, prefix)
  afterAll(async () => {
    service?.child.kill('SIGKILL')
    await deletePrefixKeys(prefix)
    await db.drop()
  })

  it('migrates, serves the products, and shuts down gracefully on SIGTERM', async () => {
    service = start(serviceEnv())
    const url = await service.listening
    const created = await fetch(`${url}/api/v1/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ name: 'Sepatu Boots', quantity: 20, price: 100.0 }),
    })
    expect(created.status).toBe(200)

    const inFlight = fetch(`${url}/api/v1/products`)
    await new Promise((resolve) => setTimeout(resolve, 5))
    service.child.kill('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1)
    expect(await service.exited).toBe(0)
  })

  it('exits at once with a sentence naming an invalid variable', async () => {
    const bad = start({ PORT: 'eighty', REDIS_URL, DATABASE_URL: db.url })
    expect(await bad.exited).toBe(1)
    expect(bad.output().stderr).toMatch(/Environment variable PORT is invalid/)
  })

  it('names the missing half of a Sentinel setting', async () => {
    const bad = start({ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_URL, DATABASE_URL: db.url })
    expect(await bad.exited).toBe(1)
    expect(bad.output().stderr).toMatch(/REDIS_SENTINEL_MASTER is invalid: it is required/)
  })

  it('explains how to start Redis when it cannot be reached', async () => {
    const bad = start({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: db.url, ADMIN_TOKEN })
    expect(await bad.exited).toBe(1)
    expect(bad.output().stderr).toMatch(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:1/)
    expect(bad.output().stderr).toContain('docker compose up -d redis postgres')
  })

  it('explains how to start Postgres when it cannot be reached', async () => {
    const bad = start({
      REDIS_URL,
      DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/postgres',
      ADMIN_TOKEN,
    })
    expect(await bad.exited).toBe(1)
    expect(bad.output().stderr).toMatch(
      /Cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1/,
    )
    expect(bad.output().stderr).not.toContain('secret')
  })

  it('without ADMIN_TOKEN keeps one token in a 0600 file, never in the logs, and every process accepts it', async () => {
    const { ADMIN_TOKEN: _, ...env } = serviceEnv()
    const file = join(mkdtempSync(join(tmpdir(), 'store-token-')), '.admin-token')
    service = start({ ...env, ADMIN_TOKEN_FILE: file, LOG_LEVEL: 'info', WEB_CONCURRENCY: '2' })
    const url = await service.listening
    await service.printed('online-store started')
    const token = readFileSync(file, 'utf8').trim()
    expect(token).toMatch(/^[\w-]{32}$/)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const { stdout, stderr } = service.output()
    expect(stdout + stderr).not.toContain(token)
    expect(stdout).toContain(file) // the log says where it is
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` }
    // New connections each time, so the calls spread over both API processes.
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await fetch(`${url}/api/v1/products`, {
          method: 'POST',
          headers: { ...headers, connection: 'close' },
          body: JSON.stringify({ name: `First run ${i}`, quantity: 1, price: 1 }),
        })
        return res.status
      }),
    )
    expect(statuses).toEqual(Array(20).fill(200))
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)

    // The next start takes the same token from the file.
    service = start({ ...env, ADMIN_TOKEN_FILE: file, WEB_CONCURRENCY: '1' })
    const again = await fetch(
      `${await service.listening}/api/v1/check-product-quantity?per_page=1`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    )
    expect(again.status).toBe(200)
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)
  })

  it('a port in use is one sentence and exit 1, not a restart loop', async () => {
    const port = await freePort()
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve))
    try {
      for (const role of ['all', 'api']) {
        const bad = start({ ...serviceEnv(), PORT: String(port), ROLE: role })
        expect(await bad.exited, role).toBe(1)
        expect(bad.output().stderr, role).toMatch(
          new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use`),
        )
        expect(bad.output().stderr.trim().split('\n'), role).toHaveLength(1)
      }
    } finally {
      squatter.close()
    }
  })

  it('names a missing database and how to create it', async () => {
    const url = new URL(db.url)
    url.pathname = '/no_such_store_db'
    const bad = start({ ...serviceEnv(), DATABASE_URL: url.toString() })
    expect(await bad.exited).toBe(1)
    expect(bad.output().stderr).toMatch(/has no database "no_such_store_db"/)
    expect(bad.output().stderr).toContain(
      'createdb -h 127.0.0.1 -p 5432 -U postgres no_such_store_db',
    )
    expect(bad.output().stderr).not.toContain('docker compose')
  })
})
