/**
 * A tab's chain in IndexedDB (browser-level under the core's ledger store), so a reloaded tab
 * starts at the height it had and fetches only what it lacks.
 *
 * One tab at a time per store: two tabs appending to one store would interleave their head
 * records, so a tab takes the store's Web Lock (navigator.locks, `ifAvailable`) and holds it for
 * its life; a second tab of the same browser and network runs in memory and says why. The tab
 * asks for persistent storage (navigator.storage.persist) so the browser does not evict the
 * chain under storage pressure; the answer is reported, not required.
 *
 * A stored chain that cannot be used is never skipped in silence: a corrupt store or one of another
 * network (LedgerStoreError), or one whose blocks are not the network's (`sameHistory` says no: the
 * Node network was started afresh), is logged as an error, reported in `storage.discarded`, cleared,
 * and the tab starts at genesis as before and catches up from the peers.
 */
import { BrowserLevel } from 'browser-level'
import { describeError } from '../core/errors.js'
import { openLedgerStore, type LedgerStore } from '../core/ledger/ledger-store.js'
import type { Ledger } from '../core/ledger/ledger.js'
import { createMemoryLedger } from '../core/ledger/memory-ledger.js'
import type { Logger } from '../core/util/logger.js'

/** Prefix of the IndexedDB store names: `wspeer-ledger <network> <chat URL>`. */
export const TAB_LEDGER_DB_PREFIX = 'wspeer-ledger'

export interface TabLedgerStorage {
  /** Where this tab's chain lives. */
  kind: 'indexeddb' | 'memory'
  /** The store's name (IndexedDB) when kind is 'indexeddb'. */
  name?: string
  /** Why the chain is in memory, when it is. */
  reason?: string
  /** Blocks loaded from the store at start (genesis not counted). */
  loadedBlocks: number
  /** Why a stored chain was discarded at start, if one was. */
  discarded?: string
  /** Whether the browser granted persistent storage (undefined: not asked or not supported). */
  persisted?: boolean
}

export interface TabLedger {
  ledger: Ledger
  store: LedgerStore | undefined
  storage: TabLedgerStorage
  /** Writes what is queued, closes the store and releases its lock. */
  close(): Promise<void>
}

export interface TabLedgerOptions {
  /** 'indexeddb' (default) or 'memory'. */
  kind?: 'indexeddb' | 'memory'
  /** The network label (the core's networkLabel) the store is bound to. */
  network: string
  /** The chat URL the tab follows, part of the store's name. */
  scope: string
  /**
   * Whether a loaded chain is the network's: false discards it, undefined (could not tell) keeps it.
   * Called only when a chain was loaded.
   */
  sameHistory?: (ledger: Ledger) => Promise<boolean | undefined>
  log: Logger
}

export async function openTabLedger(options: TabLedgerOptions): Promise<TabLedger> {
  const memory = (reason: string): TabLedger => ({
    ledger: createMemoryLedger({ log: options.log }),
    store: undefined,
    storage: { kind: 'memory', reason, loadedBlocks: 0 },
    close: async () => undefined,
  })
  if (options.kind === 'memory') return memory('asked for')
  if (typeof indexedDB === 'undefined') return memory('this browser context has no IndexedDB')
  const name = `${TAB_LEDGER_DB_PREFIX} ${options.network} ${options.scope}`
  const locks = (globalThis.navigator as Navigator | undefined)?.locks
  // Without Web Locks two tabs could share one store and interleave their head records.
  if (locks === undefined) return memory('this browser has no Web Locks to keep one tab per stored chain')
  const release = await takeLock(locks, name)
  if (release === undefined) return memory('another tab of this browser holds the stored chain of this network')
  const persisted = await askPersistence()
  const db = new BrowserLevel<string, Uint8Array>(name, { valueEncoding: 'view' })
  let discarded: string | undefined
  const open = async (): Promise<{ ledger: Ledger; store: LedgerStore }> => {
    const ledger = createMemoryLedger({ log: options.log })
    const store = await openLedgerStore(ledger, { db, network: options.network, location: `IndexedDB "${name}"`, discardHint: 'the tab discards it', log: options.log })
    return { ledger, store }
  }
  const discard = async (why: string): Promise<void> => {
    discarded = why
    options.log.error('stored chain discarded; starting at genesis and catching up from the peers', { store: name, reason: why })
    if (db.status !== 'open') await db.open()
    await db.clear()
  }
  try {
    let opened: { ledger: Ledger; store: LedgerStore }
    try {
      opened = await open()
    } catch (err) {
      if (db.status !== 'open') throw err
      await discard(describeError(err))
      opened = await open()
    }
    if (opened.ledger.height() > 1 && options.sameHistory !== undefined && (await options.sameHistory(opened.ledger)) === false) {
      // Closing the store closes the db; the discard opens it again.
      await opened.store.close()
      await discard(`its blocks are not the network's (at height ${opened.ledger.height()}): the network was started afresh`)
      opened = await open()
    }
    const { ledger, store } = opened
    const loadedBlocks = store.stats().loadedBlocks
    return {
      ledger,
      store,
      storage: { kind: 'indexeddb', name, loadedBlocks, ...(discarded === undefined ? {} : { discarded }), ...(persisted === undefined ? {} : { persisted }) },
      close: async () => {
        try {
          await store.close()
        } finally {
          release()
        }
      },
    }
  } catch (err) {
    options.log.error('the stored chain cannot be used; this tab keeps its chain in memory', { store: name, error: describeError(err) })
    await db.close().catch(() => undefined)
    release()
    return memory(`the store could not be opened: ${describeError(err)}`)
  }
}

/** Takes the Web Lock `name` if no other tab holds it; resolves to its release, or undefined. */
function takeLock(locks: LockManager, name: string): Promise<(() => void) | undefined> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          resolve(undefined)
          return undefined
        }
        // Held until released: the callback's promise settles when the tab closes its store.
        return new Promise<void>((release) => resolve(release))
      })
      .catch(reject)
  })
}

async function askPersistence(): Promise<boolean | undefined> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage
  if (storage?.persist === undefined) return undefined
  try {
    return await storage.persist()
  } catch {
    return undefined
  }
}
