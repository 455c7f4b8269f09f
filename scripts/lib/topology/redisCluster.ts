import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort } from './ports.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A connection to one node that gives up at once (no retries). */
function probe(port: number) {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  redis.on('error', () => {})
  return redis
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Runs `use` on a connection to one node, closed after. */
async function onNode<T>(port: number, use: (node: Redis) => Promise<T>): Promise<T> {
  const node = probe(port)
  try {
    await node.connect()
    return await use(node)
  } finally {
    node.disconnect()
  }
}

/** A node's Redis time by command since its stats were last reset (INFO commandstats). */
export interface CommandStat {
  command: string
  calls: number
  usec: number
}

/** One node's view: `cluster_state` and which nodes are masters with slots. */
async function clusterView(port: number) {
  const node = probe(port)
  try {
    await node.connect()
    const info = String(await node.call('CLUSTER', 'INFO'))
    const nodes = String(await node.call('CLUSTER', 'NODES'))
    const masters = nodes
      .split('\n')
      .filter((line) => /\bmaster\b/.test(line) && !/\bfail\b/.test(line))
      .filter((line) => line.split(' ').length > 8) // it serves slots
      .map((line) => Number(line.split(' ')[1]?.split('@')[0]?.split(':')[1]))
    return { ok: info.includes('cluster_state:ok'), masters }
  } finally {
    node.disconnect()
  }
}

/**
 * A Redis Cluster of the caller's own: `masters` masters, each with one
 * replica, on spare ports in a temporary folder (Debian's redis-server and
 * `redis-cli --cluster create`), with AOF. Nodes fail over fast (cluster-node-timeout
 * 1 s), and a cluster with a master down still serves the other slots
 * (cluster-require-full-coverage no). `kill` is kill -9 of a node by its pid;
 * `stop` ends every node this started and removes the folder.
 */
export async function startRedisCluster(
  options: {
    masters?: number
    /**
     * AOF fsync policy: `always` (the default: a node killed with -9 keeps every write it
     * answered), or `everysec`, what production clusters commonly run (the benchmark).
     */
    appendfsync?: 'always' | 'everysec'
  } = {},
) {
  const masters = options.masters ?? 3
  const dir = mkdtempSync(join(tmpdir(), 'store-cluster-'))
  const ports: number[] = []
  // Each node's cluster bus gets a free port of its own: the default (port + 10000)
  // lies past 65535 for much of the range the system hands out.
  const busPorts = new Map<number, number>()
  const taken = new Set<number>()
  // A port freePort() found free may be found again: each is taken once.
  const nextPort = async () => {
    for (;;) {
      const port = await freePort()
      if (!taken.has(port)) {
        taken.add(port)
        return port
      }
    }
  }
  for (let i = 0; i < masters * 2; i++) {
    const port = await nextPort()
    ports.push(port)
    busPorts.set(port, await nextPort())
  }
  const children = new Map<number, ChildProcess>()

  function start(port: number) {
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
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPorts.get(port)),
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '1000',
        '--cluster-require-full-coverage',
        'no',
        '--cluster-replica-validity-factor',
        '0',
        '--appendonly',
        'yes',
        '--appendfsync',
        options.appendfsync ?? 'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    )
    children.set(port, child)
  }

  const stop = async () => {
    await Promise.all([...children.keys()].map((port) => kill(port)))
    rmSync(dir, { recursive: true, force: true })
  }
  async function kill(port: number) {
    const child = children.get(port)
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  try {
    for (const port of ports) start(port)
    for (const port of ports) {
      await until(`node ${port}`, async () => {
        const node = probe(port)
        try {
          await node.connect()
          return (await node.ping()) === 'PONG' ? true : undefined
        } finally {
          node.disconnect()
        }
      })
    }
    await promisify(execFile)('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ])
    await untilSettled(ports, masters)
  } catch (err) {
    await stop()
    throw err
  }

  return {
    /** REDIS_CLUSTER_NODES for the store. */
    nodes: ports.map((port) => `127.0.0.1:${port}`).join(','),
    ports,
    /** The masters serving slots now, by port, as every live node sees them. */
    masters: async () =>
      (
        await clusterView(
          ports.find((p) => children.get(p)?.exitCode === null) ?? (ports[0] as number),
        )
      ).masters,
    /** The port of the master serving a slot now. */
    async masterOf(slot: number) {
      const live = ports.find(
        (p) => children.get(p)?.exitCode === null && children.get(p)?.signalCode === null,
      )
      const node = probe(live as number)
      try {
        await node.connect()
        const ranges = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
        const range = ranges.find(([from, to]) => slot >= from && slot <= to)
        return range?.[2]?.[1]
      } finally {
        node.disconnect()
      }
    },
    /** kill -9 of one node. */
    kill,
    /** A master's port and its replicas', as the cluster sees them now. */
    async shardOf(masterPort: number): Promise<number[]> {
      const live = ports.find((p) => children.get(p)?.exitCode === null) as number
      const nodes = String(await onNode(live, (node) => node.call('CLUSTER', 'NODES')))
      const rows = nodes
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .map(([id, address, , masterId]) => ({
          id,
          masterId,
          port: Number(address?.split('@')[0]?.split(':')[1]),
        }))
      const master = rows.find((r) => r.port === masterPort)
      return [masterPort, ...rows.filter((r) => r.masterId === master?.id).map((r) => r.port)]
    },
    /**
     * Starts a node killed before, on its port, with its cluster config; with
     * `empty`, without its data (a machine replaced, a disk lost).
     */
    restart: async (port: number, options: { empty?: boolean } = {}) => {
      if (options.empty) {
        for (const data of ['appendonlydir', 'dump.rdb']) {
          rmSync(join(dir, String(port), data), { recursive: true, force: true })
        }
      }
      start(port)
      await until(`node ${port}`, () =>
        onNode(port, async (node) => ((await node.ping()) === 'PONG' ? true : undefined)),
      )
    },
    /** Zeroes every master's command stats (CONFIG RESETSTAT). */
    async resetStats() {
      const masters = await this.masters()
      await Promise.all(masters.map((port) => onNode(port, (node) => node.config('RESETSTAT'))))
    },
    /** Each master's Redis time by command since the last reset. */
    async commandStats(): Promise<{ port: number; commands: CommandStat[] }[]> {
      const masters = await this.masters()
      return Promise.all(
        masters.map(async (port) => {
          const info = String(await onNode(port, (node) => node.info('commandstats')))
          const commands = [...info.matchAll(/cmdstat_(\S+):calls=(\d+),usec=(\d+)/g)].map(
            ([, command, calls, usec]) => ({
              command: command ?? '',
              calls: Number(calls),
              usec: Number(usec),
            }),
          )
          return { port, commands }
        }),
      )
    },
    /** How many keys matching `pattern` each master holds. */
    async keyCounts(pattern: string): Promise<{ port: number; keys: number }[]> {
      const masters = await this.masters()
      return Promise.all(
        masters.map(async (port) => {
          let keys = 0
          await onNode(port, async (node) => {
            for await (const batch of node.scanStream({ match: pattern, count: 1000 })) {
              keys += (batch as string[]).length
            }
          })
          return { port, keys }
        }),
      )
    },
    /** Waits until every live node sees the cluster ok, with `masters` masters serving slots. */
    settled: (count = masters) =>
      untilSettled(
        ports.filter(
          (p) => children.get(p)?.exitCode === null && children.get(p)?.signalCode === null,
        ),
        count,
      ),
    stop,
  }
}

async function untilSettled(ports: number[], masters: number) {
  for (const port of ports) {
    await until(`node ${port} to see the cluster settled`, async () => {
      const view = await clusterView(port)
      return view.ok && view.masters.length === masters ? true : undefined
    })
  }
}

export type RedisCluster = Awaited<ReturnType<typeof startRedisCluster>>
