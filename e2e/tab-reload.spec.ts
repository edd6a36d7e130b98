/**
 * A tab keeps its chain across a reload (issue #15): it starts again at the height it had stored
 * in IndexedDB and fetches only what it lacks; a second tab of the same browser keeps its chain in
 * memory, since one tab at a time holds the stored chain.
 */
import { expect, test } from '@playwright/test'
import { SpecNetwork, fetchStatusAt, httpUrl, peerIds } from './network.js'
import { openTab, tabStatus, type Tab } from './helpers.js'

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

async function post(base: string, payload: string): Promise<void> {
  const res = await fetch(`${base}/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload }) })
  expect(res.status).toBe(202)
}

async function nodeHeight(): Promise<number> {
  return (await fetchStatusAt(httpUrl(peerIds[0]!)))?.chain.height ?? 0
}

test('a reloaded tab starts at its stored height and catches up from there', async ({ browser }) => {
  const tab = await openTab(browser)
  tabs.push(tab)
  const before = await nodeHeight()
  for (let i = 0; i < 5; i++) await post(httpUrl(peerIds[i % peerIds.length]!), `reload${i}=${i}`)
  await expect.poll(nodeHeight, { timeout: 20_000 }).toBeGreaterThan(before)
  const target = await nodeHeight()
  await expect.poll(async () => (await tabStatus(tab.page)).chain.height, { timeout: 20_000 }).toBeGreaterThanOrEqual(target)
  expect(await tab.page.evaluate(() => window.peer!.storage().kind)).toBe('indexeddb')
  const stored = (await tabStatus(tab.page)).chain
  expect(stored.height).toBeGreaterThan(1)

  await tab.page.reload()
  await tab.page.waitForFunction(() => window.peer !== undefined || window.peerError !== undefined, undefined, { timeout: 10_000 })
  const storage = await tab.page.evaluate(() => window.peer!.storage())
  expect(storage).toMatchObject({ kind: 'indexeddb' })
  expect(storage.discarded).toBeUndefined()
  // Loaded, not fetched: the chain it reported before the reload came back from IndexedDB.
  expect(storage.loadedBlocks).toBeGreaterThanOrEqual(stored.height - 1)
  await expect(tab.page.locator('#events [data-code="CHAIN_LOADED"]')).toHaveCount(1)

  // And it goes on from there with the network.
  const reloaded = await nodeHeight()
  await post(httpUrl(peerIds[1]!), 'after-reload=1')
  await expect.poll(nodeHeight, { timeout: 20_000 }).toBeGreaterThan(reloaded)
  const after = await nodeHeight()
  await expect.poll(async () => (await tabStatus(tab.page)).chain.height, { timeout: 20_000 }).toBeGreaterThanOrEqual(after)
})

test('a second tab of the same browser keeps its chain in memory and says why', async ({ browser }) => {
  const first = await openTab(browser)
  tabs.push(first)
  const second = await first.context.newPage()
  await second.goto('/')
  await second.waitForFunction(() => window.peer !== undefined || window.peerError !== undefined, undefined, { timeout: 10_000 })
  const storage = await second.evaluate(() => window.peer!.storage())
  expect(storage).toMatchObject({ kind: 'memory', loadedBlocks: 0 })
  expect(storage.reason).toContain('another tab')
  await expect(second.locator('#events [data-code="CHAIN_IN_MEMORY"]')).toHaveCount(1)
  expect(await first.page.evaluate(() => window.peer!.storage().kind)).toBe('indexeddb')
})

test('a tab whose stored chain is not the network\'s (started afresh on the same address) discards it and catches up', async ({ browser }) => {
  const first = new SpecNetwork({ ids: ['vp0'], scope: 'afresh-a' })
  let second: SpecNetwork | undefined
  const context = await browser.newContext()
  try {
    await first.start()
    const base = first.httpUrl('vp0')
    const page = await context.newPage()
    const errors: Error[] = []
    page.on('pageerror', (err) => errors.push(err))
    await page.goto(`${base}/`)
    await page.waitForFunction(() => window.peer !== undefined, undefined, { timeout: 10_000 })
    for (let i = 0; i < 3; i++) await post(base, `first${i}=a`)
    await expect.poll(async () => (await page.evaluate(() => window.peer!.status().chain.height)), { timeout: 20_000 }).toBeGreaterThan(1)

    // The same address, a new chain: another history from the same genesis.
    await first.stop()
    second = new SpecNetwork({ ids: ['vp0'], ports: first.ports(), scope: 'afresh-b' })
    await second.start()
    await post(base, 'second=b')
    await expect.poll(async () => (await fetchStatusAt(base))?.chain.height, { timeout: 20_000 }).toBeGreaterThan(1)

    await page.reload()
    await page.waitForFunction(() => window.peer !== undefined, undefined, { timeout: 10_000 })
    const storage = await page.evaluate(() => window.peer!.storage())
    expect(storage).toMatchObject({ kind: 'indexeddb', loadedBlocks: 0 })
    expect(storage.discarded).toContain("not the network's")
    await expect(page.locator('#events [data-code="CHAIN_DISCARDED"]')).toHaveCount(1)
    // It follows the new chain from genesis.
    const head = (await fetchStatusAt(base))!.chain
    await expect.poll(async () => (await page.evaluate(() => window.peer!.status().chain)), { timeout: 20_000 }).toEqual(head)
    expect(errors).toEqual([])
  } finally {
    await context.close()
    await second?.stop()
    await first.stop()
  }
})
