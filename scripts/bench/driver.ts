/**
 * The benchmark's load driver: one round is a fixed number of seconds of
 * requests with the same generator and settings, wrk (-t1) when installed,
 * else autocannon. A round's requests are one body, or one per line of a
 * list (each optionally with its own Authorization header), taken in turn.
 */
import { execSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'

export interface Round {
  round: string
  rps: number
  p50_ms: number
  p99_ms: number
  non2xx: number
  errors: number
  generator_cpu_pct: number
}

export interface RoundOptions {
  method?: 'GET' | 'POST'
  /** One body for every request. */
  body?: string
  /** A body per request, taken in turn. */
  bodies?: readonly string[]
  /** With `bodies`: the Authorization header of each (a customer's token). */
  authorizations?: readonly string[]
  seconds: number
}

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64)
const work = mkdtempSync(join(tmpdir(), 'store-bench-'))
export const useWrk = (() => {
  try {
    execSync('wrk --version', { stdio: 'ignore' })
    return true
  } catch (err) {
    return (err as { status?: number }).status === 1 // wrk --version exits 1 after printing
  }
})()
export const generator = `${useWrk ? 'wrk -t1' : 'autocannon'} -c${CONNECTIONS}`

/** A wrk script: the request (one body, or one per line of a file) and a JSON summary line. */
function wrkScript(name: string, method: string, options: RoundOptions) {
  let request: string
  if (options.bodies) {
    const file = join(work, `${name}.requests`)
    const lines = options.bodies.map((body, i) => `${options.authorizations?.[i] ?? ''}\t${body}`)
    writeFileSync(file, `${lines.join('\n')}\n`)
    request = `local auths, bodies = {}, {}
for line in io.lines("${file}") do
  local tab = line:find("\\t", 1, true)
  auths[#auths + 1] = line:sub(1, tab - 1)
  bodies[#bodies + 1] = line:sub(tab + 1)
end
local i = 0
request = function()
  i = i + 1
  local n = ((i - 1) % #bodies) + 1
  local headers = { ["Content-Type"] = "application/json" }
  if auths[n] ~= "" then headers["Authorization"] = auths[n] end
  return wrk.format("${method}", nil, headers, bodies[n])
end`
  } else {
    request = `wrk.method = "${method}"
${options.body === undefined ? '' : `wrk.body = '${options.body}'\nwrk.headers["Content-Type"] = "application/json"`}`
  }
  const file = join(work, `${name}.lua`)
  writeFileSync(
    file,
    `${request}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
`,
  )
  return file
}

/** One round with wrk (its own CPU time read from the shell's `times`). */
async function runWrk(title: string, url: string, script: string, seconds: number): Promise<Round> {
  const child = spawn('sh', [
    '-c',
    `wrk -t1 -c${CONNECTIONS} -d${seconds}s --latency -s ${script} ${url}; times`,
  ])
  let out = ''
  child.stdout.on('data', (chunk) => {
    out += chunk
  })
  await once(child, 'exit')
  const result = JSON.parse(/RESULT (\{.*\})/.exec(out)?.[1] ?? '{}') as Record<string, number>
  const times = out.trim().split('\n').at(-1)?.split(/\s+/) ?? []
  const secondsOf = (t: string | undefined) => {
    const m = /(\d+)m([\d.]+)s/.exec(t ?? '')
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0
  }
  const cpu = secondsOf(times[0]) + secondsOf(times[1])
  const duration = (result.duration_us ?? 1) / 1e6
  return {
    round: title,
    rps: Math.round((result.requests ?? 0) / duration),
    p50_ms: (result.p50_us ?? 0) / 1000,
    p99_ms: (result.p99_us ?? 0) / 1000,
    non2xx: result.non2xx ?? 0,
    errors: result.errors ?? 0,
    generator_cpu_pct: Math.round((cpu / duration) * 100),
  }
}

/** The same round with autocannon, for machines without wrk. */
async function runAutocannon(title: string, url: string, options: RoundOptions): Promise<Round> {
  const before = process.cpuUsage()
  let i = 0
  const { bodies, authorizations } = options
  const result = await autocannon({
    url,
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    duration: options.seconds,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(bodies
      ? {
          requests: [
            {
              setupRequest: (req) => {
                const n = i++ % bodies.length
                const auth = authorizations?.[n]
                return {
                  ...req,
                  body: bodies[n],
                  headers: { ...req.headers, ...(auth ? { authorization: auth } : {}) },
                }
              },
            },
          ],
        }
      : {}),
  })
  const cpu = process.cpuUsage(before)
  return {
    round: title,
    rps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    generator_cpu_pct: Math.round(((cpu.user + cpu.system) / 1e6 / options.seconds) * 100),
  }
}

/** One round against `url`. */
export function round(title: string, url: string, options: RoundOptions): Promise<Round> {
  if (useWrk) {
    const name = title.replace(/\W+/g, '-')
    return runWrk(title, url, wrkScript(name, options.method ?? 'POST', options), options.seconds)
  }
  return runAutocannon(title, url, options)
}
