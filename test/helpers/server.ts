import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { TestContext } from './context.js'

/** Serves the test app on a real loopback port. */
export async function listen(ctx: Pick<TestContext, 'app'>) {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
