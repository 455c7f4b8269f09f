/**
 * Prints the functions with the most self time in a V8 CPU profile
 * (node --cpu-prof), grouped by function and file: what to optimise first.
 *
 *   npx tsx scripts/profile-top.ts /tmp/prof/CPU.*.cpuprofile [count]
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
const [file, count = '25'] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile [count]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
const byPackage = new Map<string, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  const frame = byId.get(id)?.callFrame
  if (!frame) return
  total += dt
  const where = frame.url
    .replace(/^.*node_modules\//, '')
    .replace(/^file:\/\/.*\/(src|dist)\//, '$1/')
  const key = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber}`
  self.set(key, (self.get(key) ?? 0) + dt)
  const pkg =
    /^(@[^/]+\/[^/]+|[^/]+)/.exec(where)?.[1] ?? (frame.url ? 'other' : frame.functionName)
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt)
})
const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`
console.log(`total ${(total / 1e6).toFixed(2)} s sampled`)
console.log('\nby package or area:')
for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(pct(v).padStart(7), k)
console.log('\nby function (self time):')
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(count)))
  console.log(pct(v).padStart(7), k)
