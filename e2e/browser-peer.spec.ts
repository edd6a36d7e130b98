/**
 * A tab is a real peer: two tabs join the 4-peer network, a transaction from a tab commits on
 * every Node peer and both tabs reach the same head, and a killed Node peer shows as gone in the
 * dashboard and back after its restart.
 */
import { expect, test } from '@playwright/test'
import { control } from './network.js'
import { TAB_MAX_LINKS } from '../src/browser/index.js'
import { linkedIds, nodeHeads, nodeStatuses, openTab, tabStatus, type Tab } from './helpers.js'

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

test('two tabs in separate contexts join and each sees every Node peer', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  tabs.push(a, b)
  expect(a.id).toMatch(/^tab-[0-9a-f]{6}$/)
  expect(b.id).not.toBe(a.id)
  for (const tab of [a, b]) {
    const self = await tabStatus(tab.page)
    expect(self).toMatchObject({ id: tab.id, address: '', role: 'non-validator', consensus: { plugin: 'noops' } })
    for (const id of ['vp0', 'vp1', 'vp2', 'vp3']) {
      await expect(tab.page.locator(`#graph g[data-peer="${id}"]`)).toHaveAttribute('data-state', 'up')
    }
    await expect(tab.page.locator('#graph g[data-kind="self"]')).toHaveAttribute('data-peer', tab.id)
    await expect(tab.page.locator('#conn-state')).toHaveAttribute('data-state', 'online')
  }
  // And every Node peer lists both tabs as connected non-validators with no address.
  await expect
    .poll(async () => (await nodeStatuses()).map((s) => s.peers.filter((p) => p.id === a.id || p.id === b.id).map((p) => `${p.id}/${p.role}/${p.address}`).sort().join()))
    .toEqual(Array(4).fill([`${a.id}/non-validator/`, `${b.id}/non-validator/`].sort().join()))
  // Tabs never link to each other: a tab cannot listen.
  expect((await tabStatus(a.page)).peers.map((p) => p.id)).not.toContain(b.id)
})

test('a transaction from a tab commits on every Node peer and both tabs show the same head', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  tabs.push(a, b)
  const payload = `color=${a.id}`
  await a.page.fill('#tx-form input[name=payload]', payload)
  await a.page.click('#tx-form button')
  await expect(a.page.locator('#tx-result')).toHaveAttribute('data-state', 'committed')
  const number = Number(/block #(\d+)/.exec((await a.page.locator('#tx-result').textContent()) ?? '')?.[1])
  expect(Number.isSafeInteger(number)).toBe(true)
  const hash = await a.page.locator(`#blocks li[data-number="${number}"]`).getAttribute('data-hash')
  expect(hash).toMatch(/^[0-9a-f]{64}$/)
  // Nothing else is submitting, so that block is the head everywhere.
  await expect.poll(() => nodeHeads()).toEqual(Array(4).fill(`${number + 1}:${hash}`))
  for (const tab of [a, b]) {
    await expect.poll(async () => (await tabStatus(tab.page)).chain).toEqual({ height: number + 1, headHash: hash })
    await expect(tab.page.locator('#chain tr[data-peer="' + tab.id + '"] td.hash')).toHaveAttribute('data-hash', hash!)
  }
})

test('a killed Node peer shows as gone in the dashboard and back after restart', async ({ browser }) => {
  const tab = await openTab(browser)
  tabs.push(tab)
  const node = tab.page.locator('#graph g[data-peer="vp2"]')
  await expect(node).toHaveAttribute('data-state', 'up')
  try {
    await control('kill', 'vp2')
    await expect(node).toHaveAttribute('data-state', 'gone')
    await expect(tab.page.locator('#chain tr[data-peer="vp2"]')).toHaveAttribute('data-state', 'gone')
    await expect(tab.page.locator('#events li[data-code="LINK_DOWN"][data-peer="vp2"]')).toHaveCount(1)
    await expect(tab.page.locator('#conn-state')).toHaveAttribute('data-state', 'online')
  } finally {
    await control('start', 'vp2')
  }
  // The tab's address book redials on its own (backoff with jitter, at most 5 s apart).
  await expect(node).toHaveAttribute('data-state', 'up', { timeout: 20_000 })
  await expect(tab.page.locator('#events li[data-code="LINK_UP"][data-peer="vp2"]')).toHaveCount(2)
  // The restarted peer rejoins the Node mesh too.
  await expect.poll(async () => (await nodeStatuses(['vp2']))[0]?.peers.filter((p) => p.address !== '').map((p) => p.id).sort(), { timeout: 20_000 }).toEqual(['vp0', 'vp1', 'vp3'])
})

test('a tab proves a non-extractable key kept in IndexedDB: Node peers see its key id, and a reload keeps it', async ({ browser }) => {
  const a = await openTab(browser)
  const other = await openTab(browser)
  tabs.push(a, other)
  const keyId = (await tabStatus(a.page)).identity.keyId
  expect(keyId).toMatch(/^[0-9a-f]{40}$/)
  // Every Node peer knows the tab by the key its handshake proved.
  await expect.poll(async () => (await nodeStatuses()).map((s) => (s.peers as { id: string; keyId?: string }[]).find((p) => p.id === a.id)?.keyId)).toEqual(Array(4).fill(keyId))

  // The private key sits in IndexedDB as a CryptoKey no script can read out.
  const stored = await a.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('wspeer')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
    })
    const record = await new Promise<{ privateKey: CryptoKey }>((resolve, reject) => {
      const req = db.transaction('keys').objectStore('keys').get('peer')
      req.onsuccess = () => resolve(req.result as { privateKey: CryptoKey })
      req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
    })
    db.close()
    const exported = await crypto.subtle.exportKey('pkcs8', record.privateKey).then(
      () => 'exported',
      (err: Error) => err.name,
    )
    return { type: record.privateKey.type, algorithm: record.privateKey.algorithm.name, extractable: record.privateKey.extractable, exported }
  })
  expect(stored).toEqual({ type: 'private', algorithm: 'Ed25519', extractable: false, exported: 'InvalidAccessError' })

  // A reload proves the same key; another browser context (its own storage) has another.
  await a.page.reload()
  await a.page.waitForFunction(() => window.peer !== undefined, undefined, { timeout: 10_000 })
  expect((await tabStatus(a.page)).identity.keyId).toBe(keyId)
  expect((await tabStatus(other.page)).identity.keyId).not.toBe(keyId)
})

test('a tab left to its defaults keeps three links, a validator among them, and shows its lag', async ({ browser }) => {
  // Opened with no ?maxLinks: the cap a real visitor gets (TAB_MAX_LINKS).
  const tab = await openTab(browser, '/', { linked: [] })
  tabs.push(tab)
  await expect.poll(async () => linkedIds(await tabStatus(tab.page)).length, { timeout: 20_000 }).toBe(TAB_MAX_LINKS)
  // Discovery keeps dialing each period; the tab never holds more.
  await expect(tab.page.locator('#self-lag')).toHaveAttribute('data-lag', /^\d+$/)
  const status = await tabStatus(tab.page)
  expect(linkedIds(status)).toHaveLength(TAB_MAX_LINKS)
  expect(status.peers.some((p) => p.role === 'validator')).toBe(true)
  expect(status.lag.blocks).toBeGreaterThanOrEqual(0)
  await expect.poll(async () => (await tabStatus(tab.page)).lag.blocks, { timeout: 20_000 }).toBe(0)
  await expect(tab.page.locator('#self-lag')).toContainText('in step at')
})
