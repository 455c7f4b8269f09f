import { connect, createServer, type Server, type Socket } from 'node:net'
import { freePort } from '../../scripts/lib/topology/ports.js'

/**
 * A TCP proxy the test controls, between the service and Redis or PostgreSQL
 * (the shared servers keep running). Faults, each until undone:
 * - `dropReplies(after?)`: requests still reach the server, its replies are
 *   thrown away (a reply lost mid-flight); with `after`, only once a request
 *   holding one of those texts has passed. `deliverReplies()` ends it.
 * - `delay(ms)`: every chunk, both ways, waits `ms` first; `delay(0)` ends it.
 * - `stall()`: nothing moves either way, and nothing is lost: it flows again on
 *   `resume()` (a server that hangs, or a network that stops).
 * - `reset()`: every open connection is cut; new ones are taken.
 * - `cut()`: every connection is cut and new ones are refused, as if the server
 *   were gone; `restore()` takes connections on the same port again.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const port = await freePort()
  const sockets = new Set<Socket>()
  const stalled = new Set<Socket>()
  let server: Server | undefined
  let dropping = false
  let dropAfter: string[] | undefined
  let delayMs = 0
  let stalling = false

  /** Forwards `from` to `to` through the faults. */
  function forward(from: Socket, to: Socket, isReply: boolean) {
    from.on('data', (chunk: Buffer) => {
      if (!isReply && dropAfter?.some((text) => chunk.includes(text))) dropping = true
      if (isReply && dropping) return
      const send = () => {
        if (!to.destroyed) to.write(chunk)
      }
      if (delayMs > 0) setTimeout(send, delayMs)
      else send()
    })
    if (stalling) pause(from)
  }

  function pause(socket: Socket) {
    socket.pause()
    stalled.add(socket)
  }

  function listen() {
    return new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => {
            sockets.delete(s)
            stalled.delete(s)
            client.destroy()
            upstream.destroy()
          })
          s.on('error', () => {
            client.destroy()
            upstream.destroy()
          })
        }
        forward(client, upstream, false)
        forward(upstream, client, true)
      })
      server.listen(port, '127.0.0.1', () => resolve())
    })
  }

  await listen()
  return {
    port,
    url: (scheme: 'redis' | 'postgres', path = '') =>
      `${scheme}://${scheme === 'postgres' ? 'postgres@' : ''}127.0.0.1:${port}${path}`,
    dropReplies(...after: string[]) {
      if (after.length === 0) dropping = true
      else dropAfter = after
    },
    deliverReplies() {
      dropping = false
      dropAfter = undefined
    },
    delay(ms: number) {
      delayMs = ms
    },
    stall() {
      stalling = true
      for (const s of sockets) pause(s)
    },
    resume() {
      stalling = false
      for (const s of stalled) s.resume()
      stalled.clear()
    },
    /** Open connections (each one counts twice: client side and server side). */
    connections: () => sockets.size / 2,
    reset() {
      for (const s of sockets) s.destroy()
    },
    async cut() {
      await new Promise<void>((resolve) => {
        if (!server?.listening) return resolve()
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
    },
    restore: listen,
    async close() {
      this.resume()
      await this.cut()
    },
  }
}

export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>
