/**
 * The dashboard under load and attack: a tab's flood overflows a Node peer's consensus queue and
 * the rejects show while blocks keep committing; hostile frames pushed into a tab peer (through
 * page.routeWebSocket) give clear errors and no crash; a screenshot is kept as an artifact (and
 * copied to docs/dashboard.png for the README with UPDATE_DOCS_SCREENSHOT=1). Also: the page bundle pulls in no Node shims.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test, type Page, type WebSocketRoute } from '@playwright/test'
import { chatUrl, httpUrl } from './network.js'
import { nodeHeads, openTab, tabStatus, type Tab } from './helpers.js'
import { FLOOD_BOUND_MULTIPLE } from '../web/flood.js'
import { dashboardSourcesDigest } from '../web/sources-digest.js'

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

/** Pairs of SVG labels in the network graph whose boxes overlap (none may). */
async function overlappingGraphLabels(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const boxes = [...document.querySelectorAll('#graph g.node')].map((g) => ({ id: g.getAttribute('data-peer')!, text: g.querySelector('text')!.getBoundingClientRect(), shape: g.querySelector('rect, circle')!.getBoundingClientRect() }))
    const hit = (a: DOMRect, b: DOMRect): boolean => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5
    const out: string[] = []
    for (const a of boxes) {
      for (const b of boxes) {
        if (a.id === b.id) continue
        if (a.id < b.id && hit(a.text, b.text)) out.push(`${a.id} label / ${b.id} label`)
        if (hit(a.text, b.shape)) out.push(`${a.id} label / ${b.id} node`)
      }
    }
    return out
  })
}

/** What the 400 px layout must not do: scroll the Chains table, wrap the tab ID, cut the y-axis labels. */
async function narrowLayoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = []
    const scroll = document.querySelector('.chain-panel .scroll')!
    if (scroll.scrollWidth > scroll.clientWidth + 1) problems.push(`Chains scrolls sideways (${scroll.scrollWidth} > ${scroll.clientWidth})`)
    const panel = document.querySelector('.chain-panel')!.getBoundingClientRect()
    for (const cell of document.querySelectorAll('#chain td.hash, #chain td.mark')) {
      const r = cell.getBoundingClientRect()
      if (r.right > panel.right + 1) problems.push(`${cell.className} cell outside the Chains panel`)
    }
    const id = document.querySelector('#self-id')!
    if (id.getClientRects().length > 1 || id.getBoundingClientRect().height > 24) problems.push('tab ID wraps')
    for (const chart of document.querySelectorAll('.chart')) {
      const left = chart.getBoundingClientRect().left
      for (const label of chart.querySelectorAll('.u-axis .u-value')) {
        if (label.getBoundingClientRect().left < left - 1) problems.push(`${chart.id}: y label ${label.textContent} cut off`)
      }
    }
    return problems
  })
}

test('dashboard screenshot (README), with other tabs, at desktop width and 400 px', async ({ browser }, testInfo) => {
  test.setTimeout(120_000)
  const tab = await openTab(browser)
  tabs.push(tab)
  // Other tabs, as a user opening the dashboard a few times would have: their labels must not pile up.
  for (let i = 0; i < 4; i++) tabs.push(await openTab(browser))
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
  // More than two other tabs on one Node peer are drawn as one "+N tabs" node.
  await expect(page.locator('#graph g.node[data-members="4"]')).toHaveCount(1)
  expect(await overlappingGraphLabels(page)).toEqual([])
  // The queue table lists only queues holding something or that refused something; the rest are one line per peer.
  await expect(page.locator('#queues tr.quiet')).not.toHaveCount(0)
  expect(await page.locator('#queues tr[data-from]').evaluateAll((rows) => rows.filter((r) => r.querySelector('td.num')?.textContent === '0' && r.querySelector('td.rejects')?.textContent === '0').length)).toBe(0)
  // The commit figures are drawn.
  await expect(page.locator('#chart-commits canvas')).toHaveCount(1)
  await expect(page.locator('#chart-latency canvas')).toHaveCount(1)
  const file = testInfo.outputPath('dashboard.png')
  await page.screenshot({ path: file, fullPage: true })
  await testInfo.attach('dashboard', { path: file, contentType: 'image/png' })
  // The README's picture is refreshed on request only, so a test run never changes tracked files;
  // test/web/screenshot-current.test.ts fails when the page changed since (docs/dashboard.sources).
  if (process.env['UPDATE_DOCS_SCREENSHOT'] === '1') {
    const docs = fileURLToPath(new URL('../docs/', import.meta.url))
    mkdirSync(docs, { recursive: true })
    copyFileSync(file, `${docs}dashboard.png`)
    writeFileSync(`${docs}dashboard.sources`, `${dashboardSourcesDigest()}\n`)
  }
  // A narrow window: one column, nothing wider than the viewport, nothing hidden or cut.
  for (const width of [400, 390]) {
    await page.setViewportSize({ width, height: 844 })
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width)
    await expect.poll(() => narrowLayoutProblems(page)).toEqual([])
    expect(await overlappingGraphLabels(page)).toEqual([])
  }
  const narrow = testInfo.outputPath('dashboard-narrow.png')
  await page.screenshot({ path: narrow, fullPage: true })
  await testInfo.attach('dashboard-narrow', { path: narrow, contentType: 'image/png' })
  if (process.env['DASHBOARD_SHOTS_DIR'] !== undefined) {
    copyFileSync(file, `${process.env['DASHBOARD_SHOTS_DIR']}/desktop.png`)
    copyFileSync(narrow, `${process.env['DASHBOARD_SHOTS_DIR']}/narrow.png`)
    // Panel by panel, to look at the narrow layout in detail.
    await page.locator('.topbar').screenshot({ path: `${process.env['DASHBOARD_SHOTS_DIR']}/narrow-top.png` })
    for (const panel of ['graph', 'chain', 'queue']) {
      await page.locator(`.${panel}-panel`).screenshot({ path: `${process.env['DASHBOARD_SHOTS_DIR']}/narrow-${panel}.png` })
    }
    await page.locator('.chart-panel').first().screenshot({ path: `${process.env['DASHBOARD_SHOTS_DIR']}/narrow-chart.png` })
  }
})

test('two other tabs are drawn one by one, their labels inside the graph and clear of every node', async ({ browser }) => {
  const tab = await openTab(browser)
  tabs.push(tab)
  tabs.push(await openTab(browser), await openTab(browser))
  const { page } = tab
  await expect(page.locator('#graph g.node.tab')).toHaveCount(2)
  for (const width of [1280, 400]) {
    await page.setViewportSize({ width, height: 900 })
    await expect.poll(() => overlappingGraphLabels(page)).toEqual([])
    const outside = await page.evaluate(() => {
      const svg = document.querySelector('#graph')!.getBoundingClientRect()
      return [...document.querySelectorAll('#graph text')].filter((t) => {
        const r = t.getBoundingClientRect()
        return r.left < svg.left - 0.5 || r.right > svg.right + 0.5 || r.top < svg.top - 0.5 || r.bottom > svg.bottom + 0.5
      }).map((t) => t.textContent)
    })
    expect(outside).toEqual([])
  }
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
