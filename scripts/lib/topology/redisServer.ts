import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './ports.js'

/**
 * A redis-server of the test's own, on a spare port with a temporary data
 * directory. With `persistence: 'aof'` (the default) it runs AOF `appendfsync
 * always`, so a test can kill -9 it and start it again on the same data; with
 * `'none'` it keeps nothing, like the shared Redis on 6379, and comes back empty.
 */
export async function startRedisServer(options: { persistence?: 'aof' | 'none' } = {}) {
  const persistence = options.persistence ?? 'aof'
  const dir = mkdtempSync(join(tmpdir(), 'store-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start() {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        ...(persistence === 'aof'
          ? ['--appendonly', 'yes', '--appendfsync', 'always']
          : ['--appendonly', 'no']),
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    )
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    })
    probe.on('error', () => {})
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error(`redis-server did not start on port ${port}`)
  }

  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    /** kill -9: no shutdown, no final fsync. */
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
    restart: start,
    async stop() {
      await this.kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
