import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, createTestDatabase, deletePrefixKeys, REDIS_URL } from './helpers/context.js'
import { startService as start } from './helpers/processes.js'

describe('npm start (the main process)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  const prefix = `t-${randomBytes(6).toString('hex')}`
  let service: ReturnType<typeof start> | undefined

  beforeAll(async () => {
    db = await createTestDatabase()
  })
  /** The environment of a service on this file's database and key prefix, on a free port. */
  const serviceEnv = () => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    KEY_PREFIX: prefix,
    ADMIN_TOKEN,
    PORT: '0',
    HOST: '127.0.0.1',
  })
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
    expect(created.status).toBe(201)

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
})
