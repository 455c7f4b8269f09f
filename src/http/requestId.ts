import { randomUUID } from 'node:crypto'
import type { HttpBindings } from '@hono/node-server'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './env.js'

const HEADER = 'X-Request-Id'
/** What Hono's requestId middleware accepts from a caller: a plain token, at most 255 long. */
const CALLERS_ID = /^[\w\-=]{1,255}$/

/**
 * Gives every request an id (`c.var.requestId`): the caller's `X-Request-Id` when it
 * is a plain token, else a new UUID. Logs and error bodies carry it, and the
 * response sends it back.
 *
 * Behind @hono/node-server the header goes straight onto Node's response, which
 * merges it with the headers Hono answers with. Set through Hono instead, every
 * response would carry a `Headers` object and miss the adapter's fast path: about
 * 5 µs of CPU a request (docs/performance.md). Where there is no Node response
 * (`app.request()`), it is set through Hono.
 */
export function requestId() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const sent = c.req.header(HEADER)
    const id = sent !== undefined && CALLERS_ID.test(sent) ? sent : randomUUID()
    c.set('requestId', id)
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing
    if (outgoing) outgoing.setHeader(HEADER, id)
    else c.header(HEADER, id)
    await next()
  })
}
