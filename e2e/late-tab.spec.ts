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

/** Posts the big transactions round-robin; returns their txids. */
async function postBig(bases: readonly string[], tag: string): Promise<string[]> {
  const txids: string[] = []
  for (let i = 0; i < BIG_TRANSACTIONS; i++) {
    const payload = `${tag}${i}=${'x'.repeat(BIG_PAYLOAD_BYTES)}`
    const res = await fetch(`${bases[i % bases.length]}/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload }) })
    expect(res.status).toBe(202)
    txids.push(((await res.json()) as { txid: string }).txid)
  }
  return txids
}

/** Waits until every Node peer answers "committed" for every txid (GET /transactions/<txid>). */
async function committedEverywhere(bases: readonly string[], txids: readonly string[]): Promise<void> {
  await expect
    .poll(
      async () => {
        let pending = 0
        for (const base of bases) {
          for (const txid of txids) {
            const res = await fetch(`${base}/transactions/${encodeURIComponent(txid)}`)
            const body = res.ok ? ((await res.json()) as { status?: string }) : undefined
            if (body?.status !== 'committed') pending++
          }
        }
        return pending
      },
      { timeout: 60_000 },
    )
    .toBe(0)
}

/** The head every Node peer agrees on, or undefined while they differ. */
async function agreedHead(bases: readonly string[]): Promise<{ height: number; headHash: string } | undefined> {
  const chains = await Promise.all(bases.map(async (b) => (await fetchStatusAt(b))?.chain))
  const first = chains[0]
  if (first === undefined || !chains.every((c) => c?.headHash === first.headHash)) return undefined
  return { height: first.height, headHash: first.headHash }
}

async function lateTabCatchesUp(browser: import('@playwright/test').Browser, url: string, bases: readonly string[], tag: string): Promise<void> {
  const before = (await fetchStatusAt(bases[0]!))?.chain.height ?? 1
  const txids = await postBig(bases, tag)
  await committedEverywhere(bases, txids)
  const tab = await openTab(browser, url)
  tabs.push(tab)
  // Nothing else submits meanwhile (one worker), so the head the Node peers agree on is the tab's goal;
  // it is re-read on every poll so a block still being cut when the tab opened does not race the check.
  await expect
    .poll(
      async () => {
        const [tabChain, head] = await Promise.all([tabStatus(tab.page).then((s) => s.chain), agreedHead(bases)])
        return head !== undefined && tabChain.height === head.height && tabChain.headHash === head.headHash
      },
      { timeout: 60_000 },
    )
    .toBe(true)
  const final = (await tabStatus(tab.page)).chain
  // Fifteen 200 KB transactions need at least seven blocks (the ~512 KiB cut holds two).
  expect(final.height).toBeGreaterThanOrEqual(before + 7)
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
