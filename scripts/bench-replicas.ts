/**
 * What acknowledging only what a replica holds costs (`npm run bench:replicas`):
 * the create-order and checkout rounds of `npm run bench -- --quick`, against a
 * local primary with one replica, with REDIS_REPLICA_ACKS=0 and =1 in turn
 * (alternating, twice each, so drift on a shared machine touches both alike).
 * Writes the runs and the ratio of acknowledged to plain checkouts to
 * `--out FILE` (default bench-replicas.json). Target: at least 0.7.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startReplicatedRedis } from './lib/topology/replicatedRedis.js'

const args = process.argv.slice(2)
const OUT =
  (args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined) ?? 'bench-replicas.json'
const topology = await startReplicatedRedis()

interface BenchResult {
  checkout_rps: number
  checkout_p99_ms: number
  create_rps: number
  /** WAIT commands the primary ran from the checkout round on (the benchmark resets the stats there). */
  wait_calls?: number
}

/** WAIT calls the primary has run so far (INFO commandstats). */
async function waitCalls(): Promise<number> {
  const redis = new Redis({ port: primary, host: '127.0.0.1' })
  try {
    const stats = await redis.info('commandstats')
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0)
  } finally {
    redis.disconnect()
  }
}

async function benchRound(acks: number): Promise<BenchResult> {
  const out = join(tmpdir(), `bench-replicas-${acks}-${Date.now()}.json`)
  execFileSync('npx', ['tsx', 'scripts/bench.ts', '--quick', '--out', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      BENCH_ONLY: 'create,checkout',
      BENCH_REDIS_URL: `redis://127.0.0.1:${primary}`,
      REDIS_REPLICA_ACKS: String(acks),
    },
  })
  const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult
  rmSync(out, { force: true })
  result.wait_calls = await waitCalls()
  console.log(
    `REDIS_REPLICA_ACKS=${acks}: checkout ${result.checkout_rps} req/s, p99 ${result.checkout_p99_ms} ms, ${result.wait_calls} WAITs`,
  )
  return result
}

const primary = await topology.primaryPort()
try {
  const runs: { acks: number; result: BenchResult }[] = []
  for (const acks of [0, 1, 0, 1]) runs.push({ acks, result: await benchRound(acks) })
  const mean = (acks: number) => {
    const of = runs.filter((r) => r.acks === acks).map((r) => r.result.checkout_rps)
    return of.reduce((a, b) => a + b, 0) / of.length
  }
  const ratio = Math.round((mean(1) / mean(0)) * 100) / 100
  const result = {
    machine:
      '2 cores, one API process + jobs, a local primary and one replica, wrk -t1 -c64, 3 s rounds',
    runs: runs.map(({ acks, result }) => ({ replica_acks: acks, ...result })),
    checkout_rps_plain: Math.round(mean(0)),
    checkout_rps_acknowledged: Math.round(mean(1)),
    acknowledged_checkout_vs_plain: ratio,
  }
  console.log(`${ratio >= 0.7 ? 'met ' : 'MISS'}  acknowledged checkout ≥ 0.7× plain: ${ratio}`)
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await topology.stop()
}
