import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

/**
 * The layer rules (.dependency-cruiser.cjs) hold on the tree, and fail where
 * they should: a fixture with a type-only circle, plumbing that imports a
 * domain, and a domain that imports a page.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEPCRUISE = `${ROOT}node_modules/.bin/depcruise`

async function cruise(cwd: string, paths: string[]) {
  try {
    const { stdout } = await promisify(execFile)(
      DEPCRUISE,
      [...paths, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
    )
    return JSON.parse(stdout)
  } catch (err) {
    // depcruise exits non-zero when it finds violations; its JSON is still on stdout.
    const { stdout } = err as { stdout?: string }
    if (!stdout) throw err
    return JSON.parse(stdout)
  }
}

type Violation = { rule: { name: string }; from: string; to: string; cycle?: unknown[] }

describe('the layer rules', () => {
  it('hold on src, scripts and test', async () => {
    const result = await cruise(ROOT, ['src', 'scripts', 'test'])
    expect(result.summary.violations).toEqual([])
    expect(result.summary.totalCruised).toBeGreaterThan(100)
  }, 60_000)

  it('catch a type-only circle, plumbing importing a domain, and a domain importing a page', async () => {
    const result = await cruise(`${ROOT}test/fixtures/layers`, ['src'])
    const found = (result.summary.violations as Violation[]).map(
      (v) => `${v.rule.name}: ${v.from} → ${v.to}`,
    )
    expect(found).toEqual(
      expect.arrayContaining([
        'no-circular: src/orders/line.ts → src/orders/order.ts',
        'plumbing-stays-below: src/redis/keys.ts → src/orders/order.ts',
        'domains-import-no-page-or-app: src/orders/service.ts → src/dashboard/page.ts',
      ]),
    )
  }, 60_000)
})
