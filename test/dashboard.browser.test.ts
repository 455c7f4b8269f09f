import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedCatalogue } from '../scripts/lib/catalogue.js'
import { createSql } from '../src/db/client.js'
import { httpApi } from './helpers/api.js'
import { launchBrowser } from './helpers/browser.js'
import { ADMIN_TOKEN, createTestDatabase, deletePrefixKeys, REDIS_URL } from './helpers/context.js'
import { startService } from './helpers/processes.js'

const VIEWER_TOKEN = 'viewer-token-for-the-browser-test'
/** A real shop's catalogue: the page must stay small and fast whatever its size. */
const CATALOGUE = 50_000

describe('the dashboard in a real browser, over a catalogue of 50,000 products', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let service: ReturnType<typeof startService>
  let browser: Browser
  const prefix = `t-${randomBytes(6).toString('hex')}`

  beforeAll(async () => {
    db = await createTestDatabase()
    const sql = createSql(db.url, { max: 1 })
    await seedCatalogue(sql, CATALOGUE)
    await sql.end()
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
  }, 120_000)
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
    // A product nobody buys yet is not on the sale's page: search reaches it.
    await expect
      .poll(() => page.locator('#connection').textContent(), { timeout: 15_000 })
      .toBe('live')
    expect(await page.locator(`#products [data-product="${productId}"]`).count()).toBe(0)
    await page.fill('#search', 'Sepatu')
    const card = page.locator(`#results [data-product="${productId}"]`)
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
    // Now it sells, so the sale's page shows it too, live.
    const selling = page.locator(`#products [data-product="${productId}"]`)
    await expect
      .poll(() => selling.locator('[data-field=available]').textContent(), { timeout: 15_000 })
      .toBe('70')
    expect(navigations).toEqual([]) // updated in place
    await expect.poll(() => page.locator('#connection').textContent()).toBe('live')

    // Small at 50,000 products: the page's nodes (elements and text) and the snapshot's bytes.
    const nodes = await page.evaluate<number>(
      'document.createTreeWalker(document.documentElement, NodeFilter.SHOW_ALL).nextNode() && (() => { const w = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_ALL); let n = 1; while (w.nextNode()) n++; return n })()',
    )
    expect(nodes).toBeGreaterThan(200)
    expect(nodes).toBeLessThanOrEqual(5_000)
    const snapshot = await page.evaluate<string>(
      "fetch('/dashboard/snapshot').then((r) => r.text())",
    )
    expect(snapshot.length).toBeLessThanOrEqual(200_000)
    const shown = JSON.parse(snapshot) as {
      products: unknown[]
      shop: { totals: { products: number } }
    }
    expect(shown.shop.totals.products).toBe(CATALOGUE + 1)
    expect(shown.products.length).toBe(60) // the open sales fill it, and no more

    // The stock check pages the same catalogue: a page of 50, in bytes a phone could load.
    const check = await fetch(`${url}/api/v1/check-product-quantity?per_page=50&page=500`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(check.status).toBe(200)
    const checked = await check.text()
    expect(checked.length).toBeLessThanOrEqual(100_000)
    expect(JSON.parse(checked).data.products).toHaveLength(50)
    // And /metrics still names stock per product, for the first of the catalogue.
    const metrics = await (await fetch(`${url}/metrics`)).text()
    const stockSeries = metrics.split('\n').filter((l) => l.startsWith('store_stock_units{'))
    expect(stockSeries.length).toBe(3 * 1_000)

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
  }, 120_000)
})
