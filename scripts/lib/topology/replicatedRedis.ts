import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './ports.js'

const MASTER = 'store'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A connection to one server of the topology that gives up at once (no retries). */
function probe(port: number) {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  redis.on('error', () => {})
  return redis
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/**
 * A replicated Redis of the test's own, on spare ports in a temporary folder:
 * a primary, a replica and three sentinels watching them (master name
 * `store`, down after 1 s). Nothing is kept on disk. `failover()` kills the
 * primary with -9 (optionally while the replica is stalled with DEBUG SLEEP),
 * waits for the sentinels to promote the replica, and brings the old primary
 * back, empty, as the new one's replica. `stop()` kills every process by pid.
 */
export async function startReplicatedRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'store-sentinel-'))
  const nodes = new Map<number, ChildProcess>()
  const sentinels: { port: number; child: ChildProcess }[] = []

  async function startNode(port: number, replicaOf?: number) {
    const nodeDir = join(dir, String(port))
    mkdirSync(nodeDir, { recursive: true })
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        nodeDir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--enable-debug-command',
        'yes',
        '--repl-diskless-sync-delay',
        '0',
        ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
      ],
      { stdio: 'ignore' },
    )
    nodes.set(port, child)
    await until(`redis-server on ${port}`, async () => {
      const redis = probe(port)
      try {
        await redis.connect()
        return (await redis.ping()) === 'PONG' ? true : undefined
      } finally {
        redis.disconnect()
      }
    })
  }

  async function replicaLinked(primary: number, replica: number) {
    await until(
      `replica ${replica} in sync with ${primary}: ${await roleOf(replica)}`,
      async () => {
        const redis = probe(replica)
        try {
          await redis.connect()
          const info = await redis.info('replication')
          return info.includes(`master_port:${primary}`) && info.includes('master_link_status:up')
            ? true
            : undefined
        } finally {
          redis.disconnect()
        }
      },
    )
  }

  /** One line of a server's replication role, for a failing test's message. */
  async function roleOf(port: number) {
    const redis = probe(port)
    try {
      await redis.connect()
      const info = await redis.info('replication')
      return info
        .split('\r\n')
        .filter((l) => /^(role|master_port|master_link_status|master_sync_in_progress)/.test(l))
        .join(' ')
    } catch (err) {
      return (err as Error).message
    } finally {
      redis.disconnect()
    }
  }

  /** The primary the sentinels name, once a majority of them agree and it says it is one. */
  async function primaryPort(): Promise<number> {
    return until('the sentinels to agree on a primary', async () => {
      const named: number[] = []
      for (const { port } of sentinels) {
        const redis = probe(port)
        try {
          await redis.connect()
          const [, p] = (await redis.call(
            'SENTINEL',
            'get-master-addr-by-name',
            MASTER,
          )) as string[]
          named.push(Number(p))
        } catch {
          // a sentinel that does not answer has no vote here
        } finally {
          redis.disconnect()
        }
      }
      const port = named[0]
      if (port === undefined || named.filter((p) => p === port).length < 2) return undefined
      const redis = probe(port)
      try {
        await redis.connect()
        return (await redis.info('replication')).includes('role:master') ? port : undefined
      } finally {
        redis.disconnect()
      }
    })
  }

  async function kill(port: number) {
    const child = nodes.get(port)
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  /** Kills every process of the topology by pid, and removes its folder. */
  async function stopAll() {
    for (const child of [...nodes.values(), ...sentinels.map((s) => s.child)]) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGKILL')
        await exited
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }

  /** Starts the primary, the replica and the sentinels, and waits until they all agree. */
  async function setUp() {
    await startNode(first)
    await startNode(second, first)
    await replicaLinked(first, second)
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const conf = join(dir, `sentinel-${port}.conf`)
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER} 127.0.0.1 ${first} 2`,
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 4000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      )
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
      sentinels.push({ port, child })
    }

    // The sentinels know both servers before the test starts.
    await until('the sentinels to see the replica', async () => {
      for (const { port } of sentinels) {
        const redis = probe(port)
        try {
          await redis.connect()
          const replicas = (await redis.call('SENTINEL', 'replicas', MASTER)) as unknown[]
          if (replicas.length === 0) return undefined
        } finally {
          redis.disconnect()
        }
      }
      return true
    })
    await replicaLinked(first, second)
  }

  // A topology that fails to come up is torn down here: the test never gets its stop().
  const [first, second] = [await freePort(), await freePort()]
  try {
    await setUp()
  } catch (err) {
    await stopAll()
    throw err
  }

  return {
    master: MASTER,
    /** REDIS_SENTINELS for the service. */
    sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    primaryPort,
    /**
     * kill -9 the primary (after stalling the replica for `stallReplicaMs`, if
     * given), wait for the sentinels to promote the replica, and bring the old
     * primary back empty as the new primary's replica. Returns the new primary.
     *
     * A stalled replica still gets what the primary sent before the kill: it
     * waits in the kernel's socket buffers. So while the replica sleeps, 16 MB
     * of filler (keys `filler:*`, outside the store) go to the primary first, as
     * a heavy sale would: the writes after them are still in the primary's own
     * buffer when it dies, and only acknowledged writes the replica confirmed
     * survive.
     */
    async failover(options: { stallReplicaMs?: number } = {}) {
      const old = await primaryPort()
      const replica = [...nodes.keys()].find((p) => p !== old) as number
      if (options.stallReplicaMs) {
        const stall = probe(replica)
        await stall.connect()
        // Not awaited: the replica sleeps while the primary goes on taking writes.
        void stall
          .call('DEBUG', 'SLEEP', String(options.stallReplicaMs / 1000))
          .finally(() => stall.disconnect())
        const filler = probe(old)
        await filler.connect()
        const chunk = 'x'.repeat(64 * 1024)
        const pipeline = filler.pipeline()
        for (let i = 0; i < 256; i++) pipeline.set(`filler:${i}`, chunk)
        await pipeline.exec()
        filler.disconnect()
        await sleep(Math.min(500, options.stallReplicaMs / 2))
      }
      await kill(old)
      const promoted = await until(
        'the replica to be promoted',
        async () => {
          const port = await primaryPort()
          return port !== old ? port : undefined
        },
        30_000,
      )
      await startNode(old, promoted)
      await replicaLinked(promoted, old)
      return promoted
    },
    stop: stopAll,
  }
}
