import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

/**
 * The k6 scripts cannot run here (no k6 binary); `npm run typecheck` checks
 * them against @types/k6. This checks what types cannot: every request names
 * its route (one time series per route, not one per order id), and every
 * scenario keeps k6's standard summary beside the JSON one.
 */
const DIR = new URL('../load-tests/', import.meta.url)
const scripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => ({ file: f, source: readFileSync(new URL(f, DIR), 'utf8') }))

/** The argument text of every `http.get|post|put(` call, by matching parentheses. */
function requests(source: string): string[] {
  const calls: string[] = []
  for (const match of source.matchAll(/http\.(get|post|put|del|patch)\(/g)) {
    let depth = 1
    let i = (match.index ?? 0) + match[0].length
    const start = i
    while (depth > 0 && i < source.length) {
      if (source[i] === '(') depth++
      if (source[i] === ')') depth--
      i++
    }
    calls.push(source.slice(start, i - 1))
  }
  return calls
}

describe('the k6 scripts', () => {
  it('tag every request with its route', () => {
    const untagged = scripts.flatMap(({ file, source }) =>
      requests(source)
        .filter(
          (args) =>
            !/tags: route\('(GET|POST|PUT|PATCH|DELETE) \/[^']*'\)|tags: route\(`(GET|POST|PUT) [/$]/.test(
              args,
            ),
        )
        .map((args) => `${file}: ${args.slice(0, 80)}`),
    )
    expect(scripts.length).toBeGreaterThanOrEqual(4)
    expect(untagged).toEqual([])
  })

  it('keep the standard summary and write the JSON one to K6_RESULTS_DIR', () => {
    const lib = scripts.find((s) => s.file === 'lib.ts')?.source ?? ''
    expect(lib).toMatch(/stdout: textSummary\(data/)
    expect(lib).toMatch(/K6_RESULTS_DIR/)
    for (const { file, source } of scripts.filter((s) => s.file !== 'lib.ts')) {
      expect(source, file).toMatch(/export function handleSummary[\s\S]*summaryFiles\(/)
    }
  })
})
