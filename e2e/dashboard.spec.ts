/**
 * The dashboard under load and attack: a tab's flood overflows a Node peer's consensus queue and
 * the rejects show while blocks keep committing; hostile frames pushed into a tab peer (through
 * page.routeWebSocket) give clear errors and no crash; a screenshot is kept as an artifact (and
 * copied to docs/dashboard.png for the README with UPDATE_DOCS_SCREENSHOT=1). Also: the page bundle pulls in no Node shims.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test, type WebSocketRoute } from '@playwright/test'
import { chatUrl, httpUrl } from './network.js'
import { nodeHeads, openTab, tabStatus, type Tab } from './helpers.js'
import { FLOOD_BOUND_MULTIPLE } from '../web/flood.js'

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

const maxHeight = async (): Promise<number> => Math.max(...(await nodeHeads()).map((h) => (h === 'down' ? 0 : Number(h.split(':')[0]))))

test('a flood from a tab shows queue-full rejects while commits go on', async ({ browser }) => {
  // Served by vp3 (the small-queue peer), so its own /status feeds the queue panel.
  const tab = await openTab(browser, `${httpUrl('vp3')}/`)
  tabs.push(tab)
  const { page } = tab
  const before = await maxHeight()
  await expect(page.locator('#flood-form select')).toHaveValue('vp3')
  // The burst is sized from vp3's queue bound (16, from its /status): FLOOD_BOUND_MULTIPLE times it.
  await expect(page.locator('#flood-bound')).toContainText('vp3 queues at most 16 messages per link')
  await expect(page.locator('#flood-form input[name=count]')).toHaveValue(String(16 * FLOOD_BOUND_MULTIPLE))
  await page.click('#flood-form button')
  await expect(page.locator('#flood-result')).toHaveAttribute('data-state', 'sent')
  // The outcome line counts what vp3 refused and what of the burst committed.
  await expect.poll(async () => Number(await page.locator('#flood-outcome').getAttribute('data-refused'))).toBeGreaterThan(0)
  await expect.poll(async () => Number(await page.locator('#flood-outcome').getAttribute('data-committed'))).toBeGreaterThan(0)
  await expect(page.locator('#flood-outcome')).toContainText('vp3 (queue bound 16 per link):')
  // The tab hears the refusals: RESPONSE(FAILURE, "Message channel for <tab> full, rejecting").
  await expect.poll(async () => Number(await page.locator('#refusal-total').textContent())).toBeGreaterThan(0)
  await expect(page.locator('#refusal-detail')).toContainText('vp3 ERR_QUEUE_FULL')
  await expect(page.locator('#events li[data-code="ERR_QUEUE_FULL"]').first()).toContainText(`Message channel for ${tab.id} full, rejecting`)
  // vp3 counts them on the tab's link, and the dashboard shows it.
  const row = page.locator(`#queues tr[data-at="vp3"][data-from="${tab.id}"] td.rejects`)
  await expect.poll(async () => Number(await row.textContent())).toBeGreaterThan(0)
  // Consensus goes on: what vp3 accepted commits, and a later transaction commits too, everywhere.
  await page.fill('#tx-form input[name=payload]', 'after=flood')
  await page.click('#tx-form button')
  await expect(page.locator('#tx-result')).toHaveAttribute('data-state', 'committed')
  await expect.poll(maxHeight).toBeGreaterThan(before)
  await expect.poll(async () => new Set(await nodeHeads()).size, { timeout: 20_000 }).toBe(1)
  const head = (await nodeHeads())[0]!
  await expect.poll(async () => { const s = await tabStatus(page); return `${s.chain.height}:${s.chain.headHash}` }).toBe(head)
})

test('hostile frames pushed into a tab peer give clear errors and no crash', async ({ browser }) => {
  const routes: WebSocketRoute[] = []
  const tab = await openTab(browser, '/', {
    before: (page) =>
      page.routeWebSocket(chatUrl('vp0'), (ws) => {
        // Forwarded both ways untouched; the test injects frames towards the page.
        ws.connectToServer()
        routes.push(ws)
      }),
  })
  tabs.push(tab)
  const { page } = tab
  expect(routes.length).toBeGreaterThan(0)
  const route = routes.at(-1)!
  route.send(Buffer.from([0xc1])) // the never-used msgpack byte
  route.send(Buffer.from([0x91, 0xd4, 0x01, 0x02])) // an array holding an extension type
  await expect(page.locator('#events li[data-code="ERR_DECODE"][data-peer="vp0"]')).toHaveCount(2)
  // Two bad frames are tolerated: the link to vp0 stays up.
  expect((await tabStatus(page)).peers.map((p) => p.id)).toContain('vp0')
  // A text frame is not protocol: the tab closes that link (1003) and redials on its own.
  route.send('{"type":1}')
  await expect(page.locator('#events li[data-code="LINK_DOWN"][data-peer="vp0"]')).toHaveCount(1)
  await expect(page.locator('#events li[data-code="LINK_END"][data-peer="vp0"]')).toContainText('closed 1003 by this tab: text frames are not accepted')
  await expect(page.locator('#events li[data-code="LINK_UP"][data-peer="vp0"]')).toHaveCount(2, { timeout: 20_000 })
  // A frame over the 1 MiB limit is refused before decoding (1009), again without harm.
  routes.at(-1)!.send(Buffer.alloc(1024 * 1024 + 1, 0x90))
  await expect(page.locator('#events li[data-code="LINK_DOWN"][data-peer="vp0"]')).toHaveCount(2)
  await expect(page.locator('#events li[data-code="LINK_END"][data-peer="vp0"]').first()).toContainText(`closed 1009 by this tab: frame of ${1024 * 1024 + 1} bytes exceeds`)
  await expect(page.locator('#events li[data-code="LINK_UP"][data-peer="vp0"]')).toHaveCount(3, { timeout: 20_000 })
  // The peer still works: a transaction from it commits.
  const { txid } = await page.evaluate(() => window.peer!.submit('hostile=survived'))
  expect(txid).toMatch(/^[0-9a-f]+$/)
  await expect.poll(async () => (await tabStatus(page)).peers.length).toBeGreaterThanOrEqual(4)
})

test('dashboard screenshot', async ({ browser }, testInfo) => {
  const tab = await openTab(browser)
  tabs.push(tab)
  const { page } = tab
  for (let i = 0; i < 5; i++) await page.evaluate((n) => window.peer!.submit(`shot=${n}`), i)
  await page.fill('#tx-form input[name=payload]', 'color=green')
  await page.click('#tx-form button')
  await expect(page.locator('#tx-result')).toHaveAttribute('data-state', 'committed')
  const head = (await tabStatus(page)).chain.headHash
  await expect(page.locator('#chain tr[data-peer="vp0"] td.hash')).toHaveAttribute('data-hash', head)
  await expect(page.locator(`#chain tr[data-peer="${tab.id}"] td.hash`)).toHaveAttribute('data-hash', head)
  await expect(page.locator('#chain tr[data-peer="vp0"]')).toHaveAttribute('data-state', 'agrees')
  await expect(page.locator(`#chain tr[data-peer="${tab.id}"]`)).toHaveAttribute('data-state', 'agrees')
  const file = testInfo.outputPath('dashboard.png')
  await page.screenshot({ path: file, fullPage: true })
  await testInfo.attach('dashboard', { path: file, contentType: 'image/png' })
  // The README's picture is refreshed on request only, so a test run never changes tracked files.
  if (process.env['UPDATE_DOCS_SCREENSHOT'] === '1') {
    const docs = fileURLToPath(new URL('../docs/', import.meta.url))
    mkdirSync(docs, { recursive: true })
    copyFileSync(file, `${docs}dashboard.png`)
  }
  // A narrow window: one column, nothing wider than the viewport.
  await page.setViewportSize({ width: 390, height: 844 })
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
  const narrow = testInfo.outputPath('dashboard-narrow.png')
  await page.screenshot({ path: narrow, fullPage: true })
  await testInfo.attach('dashboard-narrow', { path: narrow, contentType: 'image/png' })
})

test('the page bundle pulls in no Node shims', () => {
  const dir = fileURLToPath(new URL('../dist/web/assets/', import.meta.url))
  const code = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => readFileSync(dir + f, 'utf8')).join('\n')
  expect(code.length).toBeGreaterThan(0)
  expect(code).not.toMatch(/__vite-browser-external|from ?["']node:|require\(["'](?:node:)?(?:buffer|events|stream|crypto|util|fs|path)["']\)/)
  // msgpackr feature-detects Buffer (`typeof Buffer < "u"`); no polyfill may define it.
  expect(code).not.toMatch(/\bclass Buffer\b|function Buffer\(/)
})

test('the page loads without a failed request (favicon included), and the tab does not log open mode for itself', async ({ browser }) => {
  const failed: string[] = []
  const consoleLines: string[] = []
  const tab = await openTab(browser, '/', {
    before: async (page) => {
      page.on('response', (res) => {
        if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`)
      })
      page.on('requestfailed', (req) => failed.push(`failed ${req.url()}`))
      page.on('console', (msg) => consoleLines.push(msg.text()))
    },
  })
  tabs.push(tab)
  // The header speaks for the network's Node peers (this e2e network runs open); the tab, a
  // non-validator that orders nothing, does not shout OPEN DEVELOPMENT MODE about itself.
  await expect(tab.page.locator('#net-mode')).not.toHaveText('membership ?')
  // Headless Chromium asks for no favicon; a browser with a window asks for /favicon.ico (a 404)
  // unless the page names its icon, which this one does inline.
  await expect(tab.page.locator('link[rel=icon][href^="data:image/svg+xml"]')).toHaveCount(1)
  expect(failed).toEqual([])
  expect(consoleLines.filter((l) => l.includes('OPEN DEVELOPMENT MODE'))).toEqual([])
})
