import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpApi } from './helpers/api.js'
import { launchBrowser } from './helpers/browser.js'
import { ADMIN_TOKEN, createTestDatabase, deletePrefixKeys, REDIS_URL } from './helpers/context.js'
import { startService } from './helpers/processes.js'

const VIEWER_TOKEN = 'viewer-token-for-the-browser-test'

describe('the dashboard in a real browser', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let service: ReturnType<typeof startService>
  let browser: Browser
  const prefix = `t-${randomBytes(6).toString('hex')}`

  beforeAll(async () => {
    db = await createTestDatabase()
    service = startService({
      DATABASE_URL: db.url,
      REDIS_URL,
      KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      VIEWER_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      WEB_CONCURRENCY: '1',
      LOG_LEVEL: 'debug',
    })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    service?.child.kill('SIGTERM')
    await service?.exited
    await deletePrefixKeys(prefix)
    await db.drop()
  })

  it('signs in, and the numbers move as buyers buy, without a reload', async () => {
    const url = await service.listening
    const admin = httpApi(url, { authorization: `Bearer ${ADMIN_TOKEN}` })
    const store = httpApi(url)
    const productId = (await admin.addProduct({ name: 'Sepatu Boots', quantity: 100, price: 100 }))
      .body.data.id as number

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(`${url}/dashboard`)
    await page.fill('#token', VIEWER_TOKEN)
    await page.click('button[type=submit]')
    const card = page.locator(`[data-product="${productId}"]`)
    await expect
      .poll(() => card.locator('[data-field=available]').textContent(), { timeout: 15_000 })
      .toBe('100')
    const navigations: string[] = []
    page.on('framenavigated', (frame) => navigations.push(frame.url()))

    for (let i = 0; i < 30; i++) {
      const order = await store.createOrder({ products: [{ product_id: productId, quantity: 1 }] })
      await store.checkout(order.body.data.id)
      if (i % 2 === 0) {
        const paid = await store.pay(order.body.data.id)
        await admin.confirm(paid.body.data.payment_id)
      }
    }
    await expect
      .poll(() => card.locator('[data-field=available]').textContent(), { timeout: 15_000 })
      .toBe('70')
    await expect
      .poll(() => card.locator('[data-field=sold]').textContent(), { timeout: 15_000 })
      .toBe('15')
    expect(navigations).toEqual([]) // updated in place
    await expect.poll(() => page.locator('#connection').textContent()).toBe('live')

    mkdirSync('test-artifacts', { recursive: true })
    await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true })
    // And on a phone: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 })
    // A string, evaluated in the page (the test itself has no DOM types).
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - window.innerWidth',
    )
    expect(overflow).toBeLessThanOrEqual(0)
    await page.screenshot({ path: 'test-artifacts/dashboard-phone.png', fullPage: true })

    // The token is nowhere: not in the page, not in the URL, not in the logs.
    expect(await page.content()).not.toContain(VIEWER_TOKEN)
    expect(page.url()).not.toContain(VIEWER_TOKEN)
    const { stdout, stderr } = service.output()
    expect(stdout + stderr).not.toContain(VIEWER_TOKEN)
    expect(stdout + stderr).not.toContain(ADMIN_TOKEN)

    // Signing out ends the session.
    await page.click('text=Sign out')
    await expect.poll(() => page.locator('#token').count()).toBe(1)
    await page.close()
  }, 60_000)
})
