/**
 * The layers of src/, written as rules (`npm run lint` checks them, with
 * type-only imports counted). Bottom to top:
 *
 *   plumbing   config, logger, ids, money, perClient, jobs, deps, db/, redis/, metrics/
 *   http       http/: errors, auth, the envelope, middleware
 *   domains    products/, orders/, payments/, stock/, recovery/, worker/
 *   pages      dashboard/, health/, docs/
 *   app        app.ts, main.ts, runtime.ts
 *
 * A layer imports only from its own and the ones below it; domains may use
 * one another, never a page or the app. Tools in scripts/ never import tests.
 */
const PLUMBING = '^src/((config|logger|ids|money|perClient|jobs|deps)[.]ts$|(db|redis|metrics)/)'
const HTTP = '^src/http/'
const DOMAINS = '^src/(products|orders|payments|stock|recovery|worker)/'
const PAGES = '^src/(dashboard|health|docs)/'
const APP = '^src/(app|main|runtime)[.]ts$'

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle, type-only ones included: untangle it.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'plumbing-stays-below',
      comment: 'Plumbing imports no domain, no HTTP, no page and no app code.',
      severity: 'error',
      from: { path: PLUMBING },
      to: { path: '^src/', pathNot: PLUMBING },
    },
    {
      name: 'http-stays-below-domains',
      comment: 'HTTP plumbing (errors, auth, middleware) imports only plumbing and itself.',
      severity: 'error',
      from: { path: HTTP },
      to: { path: '^src/', pathNot: `${PLUMBING}|${HTTP}` },
    },
    {
      name: 'domains-import-no-page-or-app',
      comment: 'A domain never imports a page (dashboard, health, docs) or the app.',
      severity: 'error',
      from: { path: DOMAINS },
      to: { path: `${PAGES}|${APP}` },
    },
    {
      name: 'pages-import-no-app',
      comment: 'A page never imports the app that mounts it.',
      severity: 'error',
      from: { path: PAGES },
      to: { path: APP },
    },
    {
      name: 'src-imports-no-tools',
      comment: 'The service never imports the tools or the tests.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(scripts|test)/' },
    },
    {
      name: 'tools-import-no-tests',
      comment: 'Tools in scripts/ never import test code; what both need lives in scripts/lib.',
      severity: 'error',
      from: { path: '^scripts/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^test/fixtures/' },
  },
}
