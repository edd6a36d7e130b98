import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LedgerStoreError } from '../../../src/core/errors.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { openLedgerStore, type LevelDatabase, type LevelOperation } from '../../../src/core/ledger/ledger-store.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { encodePayload } from '../../../src/core/wire/payloads.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

const NETWORK = 'pbft:vp0,vp1,vp2,vp3'
let seq = 0
const tx = (payload = `v${seq}`, txid = `t${++seq}`): Transaction => ({ txid, payload, timestamp: 1000 + seq, origin: 'vp0' })

function commit(ledger: Ledger, txs: Transaction[]): Block {
  const id = `batch-${ledger.height()}`
  ledger.beginTxBatch(id)
  ledger.execTxs(id, txs)
  return ledger.commitTxBatch(id, { timestamp: 42, proposer: 'vp0' })
}

/**
 * One memory-level database that outlives the stores opened over it (their close does not clear
 * it), so a test can "restart" a peer. `failAfter` makes every write from the n-th on fail without
 * reaching the database, as if the process died with it in flight; the store then stops, so every
 * promise it gave settles and a test needs no timing to know what was acknowledged.
 */
function persistentDb(): {
  db: MemoryLevel<string, Uint8Array>
  view: (opts?: { failAfter?: number; gate?: Promise<void>; readsSync?: boolean }) => LevelDatabase & { batches: LevelOperation[][] }
} {
  const db = new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' })
  return {
    db,
    view: (opts = {}) => {
      const batches: LevelOperation[][] = []
      return {
        batches,
        // Only when asked: the other tests keep every block in memory, as a tab's store does.
        ...(opts.readsSync === true ? { supports: db.supports, getSync: (key: string) => db.getSync(key) } : {}),
        open: () => db.open(),
        close: async () => undefined,
        get: (key) => db.get(key),
        iterator: (range) => db.iterator(range),
        batch: async (ops) => {
          if (opts.failAfter !== undefined && batches.length >= opts.failAfter) throw new Error('crashed')
          batches.push(ops)
          await opts.gate
          return db.batch(ops)
        },
      }
    },
  }
}

describe('ledger store', () => {
  it('loads back every committed block, the state and the txids after a restart', async () => {
    const { view } = persistentDb()
    const first = createMemoryLedger()
    const store = await openLedgerStore(first, { db: view(), network: NETWORK })
    const txs = [tx('a'), tx('b'), tx('c')]
    commit(first, [txs[0]!])
    commit(first, [txs[1]!, txs[2]!])
    await store.flushed()
    expect(store.stats()).toMatchObject({ storedHeight: 3, unwrittenBlocks: 0 })
    await store.close()

    const second = createMemoryLedger()
    const again = await openLedgerStore(second, { db: view(), network: NETWORK })
    expect(again.stats().loadedBlocks).toBe(2)
    expect(second.height()).toBe(3)
    expect(toHex(second.headHash())).toBe(toHex(first.headHash()))
    expect(second.snapshot()).toEqual(first.snapshot())
    expect(second.locateTransaction(txs[2]!.txid)).toEqual({ block: 2, index: 1 })
    // And it goes on storing from there.
    commit(second, [tx('d')])
    await again.flushed()
    expect(again.stats().storedHeight).toBe(4)
  })

  it('lets the ledger drop the blocks it stored and read them back, also after a restart', async () => {
    const { view } = persistentDb()
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db: view({ readsSync: true }), network: NETWORK })
    // 2 KB transactions: the ledger's first 64 KiB chunk of blocks fills after about 30 blocks.
    const committed = Array.from({ length: 80 }, (_, i) => commit(ledger, [tx(`k${i}=${'x'.repeat(2048)}`)]))
    const state = ledger.snapshot(Number.MAX_SAFE_INTEGER)
    expect(state).toHaveLength(80)
    await store.flushed()
    const released = store.stats().releasedBlocks
    expect(released).toBeGreaterThan(20)
    expect(released).toBeLessThan(81)
    // Every block, released or not, reads back equal to what was committed.
    expect(ledger.getBlocks(1, 80)).toEqual(committed)
    expect(ledger.locateTransaction(committed[0]!.transactions[0]!.txid)).toEqual({ block: 1, index: 0 })
    await store.close()
    // Closed, the store cannot give a released block back, and says why.
    expect(() => ledger.getBlock(1)).toThrow(expect.objectContaining({ code: 'ERR_LEDGER_CLOSED' }) as Error)

    // A restart releases as it loads, and rebuilds the same state from the blocks it reads back.
    const again = createMemoryLedger()
    const reopened = await openLedgerStore(again, { db: view({ readsSync: true }), network: NETWORK })
    expect(reopened.stats().loadedBlocks).toBe(80)
    expect(reopened.stats().releasedBlocks).toBeGreaterThan(20)
    expect(again.getBlocks(1, 80)).toEqual(committed)
    expect(again.snapshot(Number.MAX_SAFE_INTEGER)).toEqual(state)
    await reopened.close()

    // Asked not to, or over a database without synchronous reads, it keeps every block.
    const kept = await openLedgerStore(createMemoryLedger(), { db: view({ readsSync: true }), network: NETWORK, releaseStoredBlocks: false })
    const noSync = await openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK })
    expect([kept.stats().releasedBlocks, noSync.stats().releasedBlocks]).toEqual([0, 0])
    await Promise.all([kept.close(), noSync.close()])
  })

  it('hands old txids to its index, so the ledger keeps only recent ones in memory, also after a restart', async () => {
    const { view } = persistentDb()
    const small = { txids: { generationSize: 8, filterBytes: 4096 } }
    const ledger = createMemoryLedger(small)
    const store = await openLedgerStore(ledger, { db: view({ readsSync: true }), network: NETWORK })
    const committed = Array.from({ length: 40 }, () => commit(ledger, [tx(), tx()]))
    await store.flushed()
    // Generations of 8 IDs (4 blocks): all but the current one are written and leave memory.
    expect(store.stats()).toMatchObject({ releasedTxids: 72, txidGenerations: 9 })
    const first = committed[0]!.transactions[0]!
    expect(ledger.hasTransaction(first.txid)).toBe(true)
    expect(ledger.locateTransaction(first.txid)).toEqual({ block: 1, index: 0 })
    expect(ledger.hasTransaction('never-committed')).toBe(false)
    // Exactly once still holds for an indexed txid: a batch skips it.
    const id = `batch-${ledger.height()}`
    ledger.beginTxBatch(id)
    ledger.execTxs(id, [first, tx('fresh')])
    expect(ledger.commitTxBatch(id, { timestamp: 43, proposer: 'vp0' }).transactions.map((t) => t.payload)).toEqual(['fresh'])
    await store.close()
    expect(() => ledger.hasTransaction(first.txid)).toThrow(expect.objectContaining({ code: 'ERR_LEDGER_CLOSED' }) as Error)

    // A restart reads the index's extent and keeps in memory only the IDs of blocks past it.
    const again = createMemoryLedger(small)
    const reopened = await openLedgerStore(again, { db: view({ readsSync: true }), network: NETWORK })
    // (Block 41, 'fresh', closed the tenth generation: blocks 37..40.)
    expect(reopened.stats()).toMatchObject({ releasedTxids: 80, txidGenerations: 10 })
    for (const block of committed) for (const t of block.transactions) expect(again.hasTransaction(t.txid)).toBe(true)
    expect(again.locateTransaction(committed[20]!.transactions[1]!.txid)).toEqual({ block: 21, index: 1 })
    expect(again.transactionCount()).toBe(81)
    await reopened.close()
  })

  it('answers state reads from its state key index, never building the whole state, also after a restart', async () => {
    const random = seededRandom(testSeed('ledger store state keys'))
    const { view } = persistentDb()
    const small = { stateGenerationSize: 4, txids: { generationSize: 8, filterBytes: 4096 } }
    const ledger = createMemoryLedger(small)
    const store = await openLedgerStore(ledger, { db: view({ readsSync: true }), network: NETWORK })
    // The same blocks on a ledger with no store hold the state in a map: the expected answers.
    const reference = createMemoryLedger()
    const keys = new Set<string>()
    const opaque: string[] = []
    // A key=value write of tx/<id> before the opaque transaction of that ID overwrites it.
    reference.applyBlock(commit(ledger, [tx('tx/planned=early')]))
    keys.add('tx/planned')
    for (let b = 0; b < 60; b++) {
      const txs = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
        // Rewrites of a few keys, fresh keys, opaque payloads (stored under tx/<txid>), and
        // key=value rewrites of an opaque payload's key.
        const pick = random()
        if (pick > 0.9 && opaque.length > 0) return tx(`tx/${opaque[Math.floor(random() * opaque.length)]!}=over ${b}`)
        const made = tx(pick < 0.5 ? `k${Math.floor(random() * 6)}=${b}` : pick < 0.75 ? `fresh${b}-${seq}=${b}` : `opaque ${b}`)
        if (!made.payload.includes('=')) opaque.push(made.txid)
        return made
      })
      if (b === 30) txs.push(tx('opaque planned', 'planned'))
      reference.applyBlock(commit(ledger, txs))
      for (const t of txs) keys.add(t.payload.includes('=') ? t.payload.slice(0, t.payload.indexOf('=')) : `tx/${t.txid}`)
    }
    await store.flushed()
    const expectReads = (target: Ledger) => {
      for (const key of [...keys, 'never-written', 'k6']) expect([key, target.getState(key)]).toEqual([key, reference.getState(key)])
    }
    expect(store.stats().stateGenerations).toBeGreaterThan(5)
    expectReads(ledger)
    // A snapshot is built only when the chain's records bound it under the limit.
    expect(ledger.snapshot(1024)).toBeUndefined()
    expect(ledger.snapshot()).toBeUndefined()
    expect(ledger.snapshot(Number.MAX_SAFE_INTEGER)).toEqual(reference.snapshot())
    await store.close()

    const again = createMemoryLedger(small)
    const reopened = await openLedgerStore(again, { db: view({ readsSync: true }), network: NETWORK })
    expectReads(again)
    // And the keys of blocks past the index go on into new generations.
    const last = commit(again, [tx('k0=after restart')])
    reference.applyBlock(last)
    expect(again.getState('k0')).toBe('after restart')
    await reopened.flushed()
    expectReads(again)
    await reopened.close()
  })

  it('loads back a chain its index covers even when the filter passes every ID (each block finds only itself there)', async () => {
    const { view } = persistentDb()
    // A 64-byte filter holding hundreds of IDs says "maybe" to everything: every check asks the index.
    const saturated = { txids: { generationSize: 4, filterBytes: 64 } }
    const ledger = createMemoryLedger(saturated)
    const store = await openLedgerStore(ledger, { db: view({ readsSync: true }), network: NETWORK })
    for (let i = 0; i < 60; i++) commit(ledger, [tx(), tx(), tx()])
    await store.close()
    const again = createMemoryLedger(saturated)
    const reopened = await openLedgerStore(again, { db: view({ readsSync: true }), network: NETWORK })
    expect(again.height()).toBe(61)
    expect(toHex(again.headHash())).toBe(toHex(ledger.headHash()))
    expect(reopened.stats().releasedTxids).toBeGreaterThan(150)
    expect(again.hasTransaction('never-committed')).toBe(false)
    await reopened.close()
  })

  it('indexes the txids of a store from before the index as it loads it, and refuses a broken index record', async () => {
    const { db, view } = persistentDb()
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db: view(), network: NETWORK })
    const committed = Array.from({ length: 6 }, () => commit(ledger, [tx()]))
    await store.close()
    // Without getSync the store keeps no index: what a store from before it holds.
    expect(await db.keys({ gte: 't/', lt: 't0' }).all()).toEqual([])
    expect(await db.get('m/txids')).toBeUndefined()

    const again = createMemoryLedger({ txids: { generationSize: 2, filterBytes: 4096 } })
    const reopened = await openLedgerStore(again, { db: view({ readsSync: true }), network: NETWORK })
    await reopened.flushed()
    expect(reopened.stats().txidGenerations).toBeGreaterThan(0)
    expect(JSON.parse(new TextDecoder().decode(await db.get('m/txids')))).toMatchObject({ buckets: 4096, below: 5 })
    for (const block of committed) expect(again.locateTransaction(block.transactions[0]!.txid)).toEqual({ block: block.number, index: 0 })
    await reopened.close()

    await db.put('m/txids', new TextEncoder().encode('{"buckets": 4096, "below": 99, "generations": []}'))
    await expect(openLedgerStore(createMemoryLedger(), { db: view({ readsSync: true }), network: NETWORK })).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringContaining('txid index of blocks below 99') })
    await db.put('m/txids', new TextEncoder().encode('{"buckets": 3}'))
    await expect(openLedgerStore(createMemoryLedger(), { db: view({ readsSync: true }), network: NETWORK })).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringContaining('unreadable txid index record') })
  })

  it('keeps an acknowledged transaction until a block commits it', async () => {
    const { view } = persistentDb()
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db: view(), network: NETWORK })
    const accepted = tx('pending-one')
    await store.add(accepted)
    await store.close()

    const restarted = createMemoryLedger()
    const reopened = await openLedgerStore(restarted, { db: view(), network: NETWORK })
    expect(reopened.pending()).toEqual([accepted])
    commit(restarted, [accepted])
    expect(reopened.pending()).toEqual([])
    await reopened.close()

    const third = await openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK })
    expect(third.pending()).toEqual([])
  })

  it('resolves add only once the transaction is written', async () => {
    const { view } = persistentDb()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    // Opened once ungated first: the first open writes the store's format and network.
    await (await openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK })).close()
    const db = view({ gate })
    const store = await openLedgerStore(createMemoryLedger(), { db, network: NETWORK })
    let added = false
    const adding = store.add(tx('slow')).then(() => (added = true))
    await Promise.resolve()
    expect(db.batches.length).toBe(1)
    expect(added).toBe(false)
    release()
    await adding
    expect(added).toBe(true)
  })

  it('groups the blocks committed during one write into the next write', async () => {
    const { view } = persistentDb()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    await (await openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK })).close()
    const db = view({ gate })
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db, network: NETWORK })
    for (let i = 0; i < 5; i++) commit(ledger, [tx()])
    expect(store.stats().unwrittenBlocks).toBe(5)
    release()
    await store.flushed()
    // The first block's write was in flight while the other four committed: two writes in all,
    // the second with four blocks and one head record, the newest's.
    expect(store.stats()).toMatchObject({ writes: 2, syncedWrites: 2, storedHeight: 6, unwrittenBlocks: 0 })
    const second = db.batches[db.batches.length - 1]!
    expect(second.filter((op) => op.key.startsWith('b/'))).toHaveLength(4)
    expect(second.filter((op) => op.key === 'm/head').map((op) => (op.type === 'put' ? JSON.parse(new TextDecoder().decode(op.value)).height : undefined))).toEqual([6])
  })

  it('forces to disk per block, per checkpoint or never, as asked', async () => {
    const syncs = async (fsync: 'block' | 'checkpoint' | 'never'): Promise<boolean[]> => {
      const { db } = persistentDb()
      const flags: boolean[] = []
      const wrapped: LevelDatabase = {
        open: () => db.open(),
        close: () => db.close(),
        get: (key) => db.get(key),
        iterator: (range) => db.iterator(range),
        batch: (ops, options) => {
          flags.push(options?.sync === true)
          return db.batch(ops)
        },
      }
      const ledger = createMemoryLedger()
      const store = await openLedgerStore(ledger, { db: wrapped, network: NETWORK, fsync, checkpointBlocks: 2 })
      flags.length = 0
      for (let i = 0; i < 4; i++) {
        commit(ledger, [tx()])
        await store.flushed()
      }
      return flags
    }
    expect(await syncs('block')).toEqual([true, true, true, true])
    expect(await syncs('checkpoint')).toEqual([false, true, false, true])
    expect(await syncs('never')).toEqual([false, false, false, false])
  })

  it('finds a consistent prefix of the chain after a crash at any write', async () => {
    const random = seededRandom(testSeed('ledger store crash'))
    for (let trial = 0; trial < 20; trial++) {
      const { view } = persistentDb()
      const ledger = createMemoryLedger()
      const failAfter = 1 + Math.floor(random() * 12)
      const store = await openLedgerStore(ledger, { db: view({ failAfter }), network: NETWORK })
      const adds: { tx: Transaction; added: Promise<boolean> }[] = []
      for (let i = 0; i < 15; i++) {
        if (random() < 0.4) {
          const accepted = tx()
          adds.push({ tx: accepted, added: store.add(accepted).then(() => true, () => false) })
        }
        commit(ledger, [tx(), tx()])
        await Promise.resolve()
      }
      await store.flushed().catch(() => undefined)
      // A client hears 202 only for an add that resolved; one whose write "crashed" never is.
      const added = await Promise.all(adds.map((a) => a.added))
      const acknowledged = adds.filter((_, i) => added[i]).map((a) => a.tx)
      const restarted = createMemoryLedger()
      const reopened = await openLedgerStore(restarted, { db: view(), network: NETWORK })
      const height = restarted.height()
      expect(height).toBeLessThanOrEqual(ledger.height())
      for (let n = 0; n < height; n++) expect(toHex(restarted.blockHash(n)!)).toBe(toHex(ledger.blockHash(n)!))
      const held = new Set(reopened.pending().map((t) => t.txid))
      for (const accepted of acknowledged) expect(held.has(accepted.txid) || restarted.hasTransaction(accepted.txid)).toBe(true)
    }
  })

  it('refuses a store whose block was altered, naming it and how to discard it', async () => {
    const { db, view } = persistentDb()
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db: view(), network: NETWORK, location: '/data/vp0/ledger' })
    commit(ledger, [tx('honest')])
    commit(ledger, [tx('next')])
    await store.flushed()
    const altered = { ...ledger.getBlock(1)!, transactions: [{ ...ledger.getBlock(1)!.transactions[0]!, payload: 'forged' }] }
    await db.put('b/0000000000000001', encodePayload(MessageType.SYNC_BLOCK_ADDED, { block: altered }))
    const opening = openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK, location: '/data/vp0/ledger' })
    await expect(opening).rejects.toBeInstanceOf(LedgerStoreError)
    await expect(opening).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringMatching(/"\/data\/vp0\/ledger".*block 1.*delete "\/data\/vp0\/ledger"/) })
  })

  it('refuses unreadable bytes and a missing block as corrupt', async () => {
    const { db, view } = persistentDb()
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db: view(), network: NETWORK })
    for (let i = 0; i < 3; i++) commit(ledger, [tx()])
    await store.flushed()
    await db.put('b/0000000000000002', new Uint8Array([0xc1, 0xff, 0x00]))
    await expect(openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK })).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringContaining('unreadable block 2') })
    await db.del('b/0000000000000002')
    await expect(openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK })).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringContaining('missing block 2') })
  })

  it('refuses a store made by another network, with the command that discards it', async () => {
    const { view } = persistentDb()
    await (await openLedgerStore(createMemoryLedger(), { db: view(), network: 'noops' })).close()
    const opening = openLedgerStore(createMemoryLedger(), { db: view(), network: NETWORK, discardHint: 'run `rm -rf /x/ledger`' })
    await expect(opening).rejects.toMatchObject({ code: 'ERR_LEDGER_OTHER_NETWORK', message: expect.stringMatching(/"noops".*rm -rf \/x\/ledger/) })
  })

  it('reports a failed write and stores nothing after it', async () => {
    const { db } = persistentDb()
    let fail = false
    const failing: LevelDatabase = {
      open: () => db.open(),
      close: () => db.close(),
      get: (key) => db.get(key),
      iterator: (range) => db.iterator(range),
      batch: (ops) => (fail ? Promise.reject(new Error("disk full")) : db.batch(ops)),
    }
    const ledger = createMemoryLedger()
    const store = await openLedgerStore(ledger, { db: failing, network: NETWORK })
    fail = true
    commit(ledger, [tx()])
    await expect(store.flushed()).rejects.toMatchObject({ code: 'ERR_LEDGER_WRITE', message: expect.stringContaining('disk full') })
    await expect(store.add(tx())).rejects.toMatchObject({ code: 'ERR_LEDGER_WRITE' })
  })
})
