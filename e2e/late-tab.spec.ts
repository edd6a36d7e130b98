/**
 * A tab that joins after big blocks catches up (issue #14). Before sync answers were cut by bytes,
 * the first answer to a tab joining after fifteen 200 KB transactions outgrew the 1 MiB frame and
 * the tab stayed at height 1 for good. On the shared noops network and on a PBFT network of this
 * spec's own.
 */
import { expect, test } from '@playwright/test'
import { SpecNetwork, fetchStatusAt, httpUrl, peerIds } from './network.js'
import { openTab, tabStatus, type Tab } from './helpers.js'

/** Fifteen payloads of 200 KB: at least seven blocks (two fit in one), far more than one frame. */
const BIG_TRANSACTIONS = 15
const BIG_PAYLOAD_BYTES = 200 * 1024

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

async function postBig(bases: readonly string[], tag: string): Promise<void> {
  for (let i = 0; i < BIG_TRANSACTIONS; i++) {
    const payload = `${tag}${i}=${'x'.repeat(BIG_PAYLOAD_BYTES)}`
    const res = await fetch(`${bases[i % bases.length]}/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload }) })
    expect(res.status).toBe(202)
  }
}

/** Waits until every Node peer is on one head holding at least `minHeight` blocks; returns it. */
async function settledHead(bases: readonly string[], minHeight: number): Promise<{ height: number; headHash: string }> {
  let head = { height: 0, headHash: '' }
  await expect
    .poll(
      async () => {
        const chains = await Promise.all(bases.map(async (b) => (await fetchStatusAt(b))?.chain))
        const first = chains[0]
        if (first === undefined || first.height < minHeight || !chains.every((c) => c?.headHash === first.headHash)) return false
        head = first
        return true
      },
      { timeout: 60_000 },
    )
    .toBe(true)
  return head
}

async function lateTabCatchesUp(browser: import('@playwright/test').Browser, url: string, bases: readonly string[], tag: string): Promise<void> {
  const before = (await fetchStatusAt(bases[0]!))?.chain.height ?? 1
  await postBig(bases, tag)
  const head = await settledHead(bases, before + 7)
  const tab = await openTab(browser, url)
  tabs.push(tab)
  // Nothing else submits meanwhile (one worker), so the head the Node peers agree on is the tab's goal.
  await expect.poll(async () => (await tabStatus(tab.page)).chain, { timeout: 60_000 }).toEqual(head)
}

test('a tab joining the noops network after fifteen 200 KB transactions catches up to the head', async ({ browser }) => {
  await lateTabCatchesUp(browser, '/', peerIds.map(httpUrl), 'noops-big')
})

test.describe('on PBFT', () => {
  const validators = ['vp0', 'vp1', 'vp2', 'vp3']
  const net = new SpecNetwork({ ids: validators, args: () => ['--consensus', 'pbft', '--validators', validators.join(',')] })
  test.beforeAll(async () => {
    await net.start()
  })
  test.afterAll(async () => {
    await net.stop()
  })

  test('a tab joining a PBFT network after fifteen 200 KB transactions catches up to the head', async ({ browser }) => {
    const bases = validators.map((id) => net.httpUrl(id))
    await lateTabCatchesUp(browser, `${net.httpUrl('vp0')}/`, bases, 'pbft-big')
  })
})
