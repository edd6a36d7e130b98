/**
 * Shared steps of the e2e specs: open a dashboard tab in its own browser context and wait until
 * its peer has linked to every Node peer; read a tab's status through `window.peer`; keep the
 * blocks a tab commits (recordCommits) to find the one holding a transaction.
 */
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { TAB_MAX_LINKS, type PeerStatus } from '../src/browser/index.js'
import { fetchStatus, fetchStatusAt, peerIds, type NodeStatus } from './network.js'

export interface Tab {
  context: BrowserContext
  page: Page
  id: string
  /** Uncaught page errors; a test expects none. */
  errors: Error[]
}

/** Opens `url` (the dashboard served by vp0 by default) in a fresh context. */
export async function openTab(browser: Browser, url = '/', options: { linked?: readonly string[]; before?: (page: Page) => Promise<void> } = {}): Promise<Tab> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: Error[] = []
  page.on('pageerror', (err) => errors.push(err))
  await options.before?.(page)
  const want = options.linked ?? peerIds
  // A tab keeps TAB_MAX_LINKS (3) links; specs that watch its link to every Node peer ask for room.
  await page.goto(want.length > TAB_MAX_LINKS ? `${url}${url.includes('?') ? '&' : '?'}maxLinks=${want.length}` : url)
  await page.waitForFunction(() => window.peer !== undefined || window.peerError !== undefined, undefined, { timeout: 10_000 })
  const id = await page.evaluate(() => {
    if (window.peer === undefined) throw new Error(`tab peer did not start: ${window.peerError}`)
    return window.peer.id
  })
  await expect.poll(async () => linkedIds(await tabStatus(page)), { message: `${id} links to ${want.join(', ')}`, timeout: 20_000 }).toEqual(expect.arrayContaining([...want]))
  return { context, page, id, errors }
}

export function tabStatus(page: Page): Promise<PeerStatus> {
  return page.evaluate(() => window.peer!.status())
}

export function linkedIds(status: PeerStatus): string[] {
  return status.peers.filter((p) => p.address !== '').map((p) => p.id).sort()
}

export async function nodeStatuses(ids: readonly string[] = peerIds): Promise<NodeStatus[]> {
  const all = await Promise.all(ids.map(fetchStatus))
  return all.filter((s): s is NodeStatus => s !== undefined)
}

/** Every Node peer's chain, as `height:hash`, or 'down' for a peer that does not answer. */
export async function nodeHeads(ids: readonly string[] = peerIds): Promise<string[]> {
  return Promise.all(ids.map(async (id) => {
    const s = await fetchStatus(id)
    return s === undefined ? 'down' : `${s.chain.height}:${s.chain.headHash}`
  }))
}

/** A block a tab committed, as recordCommits keeps it. */
export interface CommitRecord {
  number: number
  hash: string
  txids: string[]
}

declare global {
  interface Window {
    /** Blocks this tab committed since recordCommits ran (test instrumentation). */
    wspeerCommits?: CommitRecord[]
  }
}

/** Starts keeping every block the tab commits from now on (window.wspeerCommits), txids included. */
export async function recordCommits(page: Page): Promise<void> {
  await page.evaluate(() => {
    if (window.wspeerCommits !== undefined) return
    const commits: CommitRecord[] = []
    window.wspeerCommits = commits
    window.peer!.core.on('block-committed', ({ block, hash }) => {
      commits.push({ number: block.number, hash, txids: block.transactions.map((t) => t.txid) })
    })
  })
}

/** The block that committed `txid` in this tab (recordCommits must have run first), or undefined so far. */
export function committedIn(page: Page, txid: string): Promise<CommitRecord | undefined> {
  return page.evaluate((id) => window.wspeerCommits?.find((c) => c.txids.includes(id)), txid)
}

/** Each listed peer's chain at `httpBase`, as `height:hash`, or 'down'. */
export async function headsAt(httpBases: readonly string[]): Promise<string[]> {
  return Promise.all(httpBases.map(async (base) => {
    const s = await fetchStatusAt(base)
    return s === undefined ? 'down' : `${s.chain.height}:${s.chain.headHash}`
  }))
}
