import { connect, createServer, type Server, type Socket } from 'node:net'
import { freePort } from './ports.js'

/**
 * A TCP proxy the test controls, between the service and PostgreSQL. `cut()`
 * drops every connection and refuses new ones, as if Postgres were gone;
 * `restore()` brings it back on the same port. The shared Postgres keeps running.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const port = await freePort()
  const sockets = new Set<Socket>()
  let server: Server | undefined

  function listen() {
    return new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => {
            client.destroy()
            upstream.destroy()
          })
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => resolve())
    })
  }

  await listen()
  return {
    port,
    async cut() {
      await new Promise<void>((resolve) => {
        server?.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
    },
    restore: listen,
    async close() {
      await this.cut()
    },
  }
}
