import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { streamSSE } from 'hono/streaming'
import type { Deps } from '../deps.js'
import { validationError } from '../http/errors.js'
import { text } from '../http/text.js'
import { endSession, requireSession, roleOf, sessionRole, startSession } from './sessions.js'
import {
  nextSnapshot,
  SEARCH_LIMIT,
  SNAPSHOT_EVERY_MS,
  searchCards,
  snapshotJson,
} from './snapshot.js'

const SearchQuery = text(200)

// Beside this module: src/dashboard/client, or dist/dashboard/client (copied by the build).
const CLIENT = fileURLToPath(new URL('./client/', import.meta.url))
const APP_JS = readFileSync(`${CLIENT}app.js`, 'utf8')
const APP_CSS = readFileSync(`${CLIENT}app.css`, 'utf8')

function Shell(props: { title: string; children: unknown }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <link rel="stylesheet" href="/dashboard/app.css" />
      </head>
      <body>{props.children}</body>
    </html>
  )
}

function SignIn(props: { error?: string }) {
  return (
    <Shell title="Sign in · online-store">
      <main class="sign-in">
        <h1>Live stock</h1>
        <form method="post" action="/dashboard/sign-in">
          <label for="token">Admin or viewer token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required />
          <button type="submit">Sign in</button>
          {props.error ? (
            <p class="error" role="alert">
              {props.error}
            </p>
          ) : null}
        </form>
      </main>
    </Shell>
  )
}

function Page(props: { role: string }) {
  return (
    <Shell title="Live stock · online-store">
      <header>
        <h1>Live stock</h1>
        <span id="connection" class="pill">
          connecting…
        </span>
        <span class="pill">{props.role === 'admin' ? 'admin' : 'viewer (read only)'}</span>
        <form method="post" action="/dashboard/sign-out">
          <button type="submit">Sign out</button>
        </form>
      </header>
      <p id="stale" class="stale" hidden>
        The numbers below are stale: no update since <span id="stale-since" />.
      </p>
      <section id="shop" class="shop" aria-label="Shop" />
      <div class="search">
        <input
          id="search"
          type="search"
          autocomplete="off"
          placeholder="Any product: part of its name, or its id"
          aria-label="Search products"
        />
      </div>
      <section id="results" class="products" aria-label="Search results" />
      <section id="products" class="products" aria-label="Products that matter now" />
      <script src="/dashboard/app.js" defer />
    </Shell>
  )
}

/**
 * A browser's post from this origin. Current browsers send `Sec-Fetch-Site`,
 * which must say `same-origin` (the page's `Referrer-Policy: no-referrer`
 * makes them send `Origin: null` on its own forms, so it cannot be the test
 * there). Without it, `Origin`, when sent, must name this host. A client that
 * sends neither (curl) is no browser a forged form could drive.
 */
function sameOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site')
  if (site !== null) return site === 'same-origin' || site === 'none'
  const origin = request.headers.get('origin')
  if (origin === null) return true
  const host = request.headers.get('host') ?? new URL(request.url).host
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}

/**
 * The live stock dashboard at /dashboard, for the order-processing team: a
 * sign-in form (admin token or read-only VIEWER_TOKEN, exchanged for a session
 * cookie), the page, and its data: one snapshot (`/dashboard/snapshot`) and a
 * Server-Sent Events stream of them (`/dashboard/events`).
 */
export function dashboardRoutes(deps: Deps) {
  const app = new Hono()
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    }),
  )
  app.get('/', async (c) => {
    c.header('Cache-Control', 'no-store')
    const role = await sessionRole(c, deps)
    return c.html(role ? <Page role={role} /> : <SignIn />)
  })
  app.post('/sign-in', async (c) => {
    // Same-origin posts only: a cross-site form must not sign a browser in (login CSRF).
    if (!sameOrigin(c.req.raw)) {
      return c.html(<SignIn error="Sign in from this page." />, 403)
    }
    const form = await c.req.parseBody().catch(() => null)
    if (!form) return c.html(<SignIn error="That form could not be read." />, 400)
    const role = typeof form.token === 'string' ? roleOf(deps.config, form.token) : null
    if (!role) return c.html(<SignIn error="That token is not valid." />, 401)
    await startSession(c, deps, role)
    return c.redirect('/dashboard', 303)
  })
  app.post('/sign-out', async (c) => {
    await endSession(c, deps)
    return c.redirect('/dashboard', 303)
  })
  app.get('/snapshot', requireSession(deps), async (c) =>
    c.body(await snapshotJson(deps), 200, { 'content-type': 'application/json' }),
  )
  // Any product, beyond the ones the snapshot shows: ?q= part of a name, or an id.
  app.get('/search', requireSession(deps), async (c) => {
    const q = SearchQuery.safeParse(c.req.query('q') ?? '')
    if (!q.success) throw validationError(q.error.issues.map((i) => ({ ...i, path: ['q'] })))
    return c.json({ limit: SEARCH_LIMIT, products: await searchCards(deps, q.data) })
  })
  app.get('/events', requireSession(deps), (c) =>
    streamSSE(c, async (stream) => {
      // The stream lives only as long as its session: it ends within one interval of
      // sign-out or expiry (the browser's reconnect then meets a 401).
      let seenAt = 0
      while (!stream.aborted && !stream.closed && (await sessionRole(c, deps).catch(() => null))) {
        try {
          // Every viewer gets the same text: built and serialised once per interval.
          const next = await nextSnapshot(deps, seenAt)
          seenAt = next.at
          await stream.writeSSE({ event: 'snapshot', data: next.json })
        } catch (err) {
          deps.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'dashboard snapshot failed',
          )
          await stream.sleep(SNAPSHOT_EVERY_MS)
        }
      }
    }),
  )
  app.get('/app.js', (c) =>
    c.body(APP_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  )
  app.get('/app.css', (c) => c.body(APP_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }))
  return app
}
