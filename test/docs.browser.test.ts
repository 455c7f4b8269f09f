import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './helpers/browser.js'
import { createTestContext, type TestContext } from './helpers/context.js'
import { listen } from './helpers/server.js'

/** /docs renders the API reference with the network cut off: every asset is the service's own. */
describe('the API reference at /docs, offline', () => {
  let ctx: TestContext
  let server: Awaited<ReturnType<typeof listen>>
  let browser: Browser

  beforeAll(async () => {
    ctx = await createTestContext()
    server = await listen(ctx)
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await ctx?.close()
  })

  it('renders every route with every non-loopback request blocked', async () => {
    const page = await browser.newPage()
    const blocked: string[] = []
    const served: string[] = []
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url())
      if (url.hostname === '127.0.0.1') {
        served.push(url.pathname)
        return route.continue()
      }
      blocked.push(url.href)
      return route.abort('internetdisconnected')
    })
    await page.goto(`${server.url}/docs`)
    await expect
      .poll(() => page.locator('.swagger-ui .info .title').textContent(), { timeout: 15_000 })
      .toContain('online-store')
    await expect
      .poll(() => page.locator('.opblock-summary-path').count(), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(15)
    expect(
      await page.locator('.opblock-summary-path', { hasText: '/api/v1/checkout-order' }).count(),
    ).toBe(1)
    expect(served).toEqual(
      expect.arrayContaining([
        '/docs',
        '/docs/swagger-ui.css',
        '/docs/swagger-ui-bundle.js',
        '/openapi.json',
      ]),
    )
    expect(blocked).toEqual([])
    await page.close()
  }, 60_000)
})
