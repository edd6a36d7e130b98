/**
 * A tab on a PBFT network (the issue "Browser tabs join as non-validating peers and see
 * commits"): four `wspeer start --consensus pbft --validators vp0,vp1,vp2,vp3` processes of this
 * spec's own, on free ports; a tab from vp0's dashboard joins as a non-validator (no replica),
 * submits a transaction, and it commits on all four validators (same height and head hash, one
 * transaction each) and in the tab; a second tab, served by vp2, sees the same block.
 */
import { expect, test } from '@playwright/test'
import { SpecNetwork, fetchMetricAt, fetchStatusAt } from './network.js'
import { committedIn, headsAt, openTab, recordCommits, tabStatus, type Tab } from './helpers.js'

const validators = ['vp0', 'vp1', 'vp2', 'vp3']
const net = new SpecNetwork({
  ids: validators,
  args: () => ['--consensus', 'pbft', '--validators', validators.join(',')],
})

test.beforeAll(async () => {
  await net.start()
})

// Runs after a failed beforeAll or test too: the processes never outlive the spec.
test.afterAll(async () => {
  await net.stop()
})

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

test('a tab joins a PBFT network as a non-validator, and its transaction commits on every validator and in both tabs', async ({ browser }) => {
  const bases = validators.map((id) => net.httpUrl(id))
  // The validators: PBFT replicas 0..3 in view 0, nothing committed yet.
  for (const [i, id] of validators.entries()) {
    const s = await fetchStatusAt(net.httpUrl(id))
    expect(s?.consensus).toMatchObject({ plugin: 'pbft', replica: i, view: 0, primaryId: 'vp0', n: 4, f: 1 })
    expect(s?.chain.height).toBe(1)
  }

  const a = await openTab(browser, `${net.httpUrl('vp0')}/`, { linked: validators })
  const b = await openTab(browser, `${net.httpUrl('vp2')}/`, { linked: validators })
  tabs.push(a, b)
  for (const tab of [a, b]) {
    // The tab reads the plugin from the serving peer's /status: PBFT, but no replica of its own.
    expect(await tabStatus(tab.page)).toMatchObject({ id: tab.id, address: '', role: 'non-validator', consensus: { plugin: 'pbft', replica: null } })
    await recordCommits(tab.page)
  }
  // Every validator lists both tabs as connected non-validators.
  await expect
    .poll(async () => (await Promise.all(bases.map(fetchStatusAt))).map((s) => s?.peers.filter((p) => p.id === a.id || p.id === b.id).map((p) => `${p.id}/${p.role}`).sort().join()))
    .toEqual(Array(4).fill([`${a.id}/non-validator`, `${b.id}/non-validator`].sort().join()))

  const { txid } = await a.page.evaluate(() => window.peer!.submit('pbft=from-a-tab'))
  expect(txid).toMatch(/^[0-9a-f]+$/)
  // Batch timeout 1 s, then three PBFT phases: well within the default 15 s. Until then the poll
  // shows what the validators refused of this tab, if anything (a failure then says why).
  await expect
    .poll(async () => (await committedIn(a.page, txid)) ?? { refusals: await a.page.evaluate(() => window.peer!.refusalCounts()) }, {
      message: `${txid} committed in ${a.id}`,
    })
    .toMatchObject({ txids: [txid] })
  const block = (await committedIn(a.page, txid))!
  expect(block.hash).toMatch(/^[0-9a-f]{64}$/)
  expect(block.number).toBeGreaterThanOrEqual(1)

  // The tab hashed that block itself; every validator's head is that hash at that height, and
  // each committed exactly this one transaction.
  await expect.poll(() => headsAt(bases)).toEqual(Array(4).fill(`${block.number + 1}:${block.hash}`))
  expect(await Promise.all(bases.map((base) => fetchMetricAt(base, 'wspeer_transactions_committed_total')))).toEqual([1, 1, 1, 1])
  for (const [i, id] of validators.entries()) {
    const s = await fetchStatusAt(net.httpUrl(id))
    expect(s?.consensus, `${id} executed the batch`).toMatchObject({ plugin: 'pbft', replica: i, view: 0, lastExec: block.number })
  }

  // Both tabs: the same head, and the second one saw the same block with the transaction in it.
  for (const tab of [a, b]) {
    await expect.poll(async () => (await tabStatus(tab.page)).chain, { message: `${tab.id}'s chain` }).toEqual({ height: block.number + 1, headHash: block.hash })
  }
  await expect.poll(() => committedIn(b.page, txid), { message: `${txid} committed in ${b.id}` }).toEqual(block)
  await expect(b.page.locator(`#blocks li[data-number="${block.number}"]`)).toHaveAttribute('data-hash', block.hash)
})
