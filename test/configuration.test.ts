import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigSchema, loadConfig } from '../src/config.js'

/**
 * The configuration is described in two places besides the schema: the page
 * (docs/configuration.md) and .env.example. Both are held to ConfigSchema:
 * every variable, no other, and the page's defaults are the schema's.
 */
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')
const variables = Object.keys(ConfigSchema.shape).sort()

/** The page's table: each row's variables and its defaults (a cell of `a`, `b` pairs up). */
function documented() {
  return read('docs/configuration.md')
    .split('\n')
    .filter((line) => /^\| `[A-Z_]+`/.test(line))
    .map((line) => {
      const [names = '', defaults = ''] = line.split('|').slice(1, 3)
      return {
        names: [...names.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1] as string),
        defaults: defaults.split(',').map((d) => /^\s*`([^`]*)`\s*(\(|$)/.exec(d)?.[1]),
      }
    })
}

/** What the schema takes when a variable is not set, as text (undefined when it has none). */
function schemaDefault(name: string): string | undefined {
  const field = ConfigSchema.shape[name as keyof typeof ConfigSchema.shape]
  const parsed = field.safeParse(undefined)
  return parsed.success && parsed.data !== undefined ? String(parsed.data) : undefined
}

describe('the configuration page and .env.example', () => {
  it('the page names every variable of the schema, and no other', () => {
    expect(
      documented()
        .flatMap((row) => row.names)
        .sort(),
    ).toEqual(variables)
  })

  it("the page's defaults are the schema's", () => {
    const checked: string[] = []
    for (const { names, defaults } of documented()) {
      names.forEach((name, i) => {
        const stated = defaults.length === names.length ? defaults[i] : defaults[0]
        if (stated === undefined) return
        expect(schemaDefault(name), name).toBe(stated)
        checked.push(name)
      })
    }
    expect(checked.length).toBeGreaterThan(30)
  })

  it('.env.example names every variable of the schema, no other, and its values are valid', () => {
    const lines = read('.env.example').split('\n')
    const named = new Set(
      lines.flatMap((line) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(line)?.slice(1) ?? []),
    )
    expect([...named].sort()).toEqual(variables)
    const set = Object.fromEntries(
      lines.flatMap((line) => {
        const m = /^([A-Z][A-Z0-9_]+)=(.*)$/.exec(line)
        return m ? [[m[1], m[2]]] : []
      }),
    )
    expect(() => loadConfig(set)).not.toThrow()
  })
})
