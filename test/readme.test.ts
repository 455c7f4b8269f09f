import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, deletePrefixKeys } from './helpers/context.js'
import { serviceEnv, startService } from './helpers/processes.js'

/**
 * The README's curl session runs as pasted: against a real service started
 * without ADMIN_TOKEN (as a first run is), from the directory that holds the
 * token it kept. Only the address changes, to the test service's port.
 */
const SESSION_HEADING = '### The original requests, end to end'

function readmeSession(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const after = readme.slice(readme.indexOf(SESSION_HEADING))
  const block = /```sh\n([\s\S]*?)```/.exec(after)?.[1]
  if (!block) throw new Error(`no sh block under "${SESSION_HEADING}" in the README`)
  return block
}

describe("the README's curl session", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let service: ReturnType<typeof startService>
  const prefix = `t-${randomBytes(6).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), 'store-readme-'))

  beforeAll(async () => {
    db = await createTestDatabase()
    const { ADMIN_TOKEN: _, ...env } = serviceEnv(db.url, prefix)
    service = startService({
      ...env,
      ADMIN_TOKEN_FILE: join(dir, '.admin-token'),
      WEB_CONCURRENCY: '1',
    })
  })
  afterAll(async () => {
    service?.child.kill('SIGTERM')
    await service?.exited
    await deletePrefixKeys(prefix)
    await db?.drop()
  })

  it('runs as pasted, each id carried to the next request', async () => {
    const url = new URL(await service.listening)
    const block = readmeSession()
    expect(block).toContain('localhost:5000')
    const script = block.replaceAll('localhost:5000', url.host)
    const { stdout } = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      timeout: 30_000,
    })
    expect(stdout).not.toContain('"error"')
    expect(stdout).toContain('"payment_status":"confirmed"')
    expect(stdout).toContain('"order_status":"payment_confirmed"')
    expect(stdout).toContain('"name":"Sepatu Boots"')
  }, 60_000)
})
