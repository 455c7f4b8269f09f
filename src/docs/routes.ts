import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'

/**
 * The interactive API reference at /docs: Swagger UI from the pinned
 * swagger-ui-dist package, served by the service itself, so it works offline
 * and behind a firewall (no CDN). The assets are read once, on first use.
 */
const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))

const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const
type Asset = keyof typeof ASSETS

const loaded = new Map<Asset, string>()
function asset(name: Asset): string {
  let text = loaded.get(name)
  if (text === undefined) {
    text = readFileSync(join(DIST, name), 'utf8')
    loaded.set(name, text)
  }
  return text
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>online-store API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true })\n`

export function docsRoutes() {
  const app = new Hono()
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Swagger UI sets styles from its script.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    }),
  )
  app.get('/', (c) => c.html(PAGE))
  app.get('/init.js', (c) =>
    c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  )
  for (const name of Object.keys(ASSETS) as Asset[]) {
    app.get(`/${name}`, (c) =>
      c.body(asset(name), 200, {
        'content-type': ASSETS[name],
        'cache-control': 'public, max-age=86400',
      }),
    )
  }
  return app
}
