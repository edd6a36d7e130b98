/**
 * A peer over a ledger store (issue #15): submit answers only once the transaction is stored, a
 * restarted peer resubmits what it acknowledged, and the head and commits it reports never run
 * ahead of what is written.
 */
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openLedgerStore, type LevelDatabase } from '../../../src/core/ledger/ledger-store.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import type { Peer } from '../../../src/core/peer/peer-types.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { MemoryNetwork } from '../../support/memory-network.js'

let net: MemoryNetwork
afterEach(async () => {
  await net?.stopAll()
})

/** A memory-level database that outlives stores opened over it, whose writes a test can hold back. */
function heldDb(): { db: LevelDatabase; hold: () => void; release: () => void } {
  const level = new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' })
  let gate: Promise<void> | undefined
  let open: (() => void) | undefined
  return {
    db: {
      open: () => level.open(),
      close: async () => undefined,
      get: (key) => level.get(key),
      iterator: (range) => level.iterator(range),
      batch: async (ops) => {
        await gate
        return level.batch(ops)
      },
    },
    hold: () => {
      gate = new Promise((resolve) => (open = resolve))
    },
    release: () => {
      open?.()
      gate = undefined
    },
  }
}

async function durablePeer(db: LevelDatabase, consensusOptions: Record<string, unknown>): Promise<Peer> {
  const ledger = createMemoryLedger()
  const store = await openLedgerStore(ledger, { db, network: 'noops' })
  return net.add({ id: 'vp0', role: 'validator', consensus: 'noops', consensusOptions, ledger, pending: store })
}

describe('a peer over a ledger store', () => {
  it('answers submit only once the transaction is stored', async () => {
    net = new MemoryNetwork()
    const { db, hold, release } = heldDb()
    const peer = await durablePeer(db, { blockWaitMs: 60_000, blockSize: 100 })
    await peer.start()
    hold()
    let answered = false
    const submitting = peer.submit('a=1').then((r) => {
      answered = true
      return r
    })
    // The consenter has it (it is pending) while the client has no answer yet.
    await vi.waitFor(() => expect(peer.status().consensus['pending']).toBe(1), { timeout: 5000, interval: 5 })
    expect(answered).toBe(false)
    release()
    const { txid } = await submitting
    expect(peer.transactionStatus(txid)).toEqual({ status: 'pending' })
  })

  it('resubmits after a restart what it acknowledged and no block committed', async () => {
    net = new MemoryNetwork()
    const { db } = heldDb()
    // A leader that never cuts a block in this run: the acknowledged transaction is only stored.
    const first = await durablePeer(db, { blockWaitMs: 60_000, blockSize: 100 })
    await first.start()
    const { txid } = await first.submit('kept=1')
    await net.stopAll()

    net = new MemoryNetwork()
    const again = await durablePeer(db, { blockWaitMs: 10, blockSize: 100 })
    await again.start()
    await vi.waitFor(() => expect(again.transactionStatus(txid)).toMatchObject({ status: 'committed', block: 1 }), { timeout: 5000, interval: 5 })
    expect(again.state('kept')).toBe('1')
  })

  it('reports a head and a commit only once the block is written', async () => {
    net = new MemoryNetwork()
    const { db, hold, release } = heldDb()
    const peer = await durablePeer(db, { blockWaitMs: 10, blockSize: 100 })
    await peer.start()
    const committed = new Promise<void>((resolve) => {
      const off = peer.on('block-committed', () => {
        off()
        resolve()
      })
    })
    // The transaction's own write completes; the block's is held.
    const { txid } = await peer.submit('late=1')
    hold()
    await committed
    expect(peer.status().chain.height).toBe(1)
    expect(peer.chainInfo().height).toBe(1)
    expect(peer.block(1)).toBeUndefined()
    expect(peer.transactionStatus(txid)).toEqual({ status: 'pending' })
    release()
    await vi.waitFor(() => expect(peer.transactionStatus(txid)).toEqual({ status: 'committed', block: 1, index: 0 }), { timeout: 5000, interval: 5 })
    expect(peer.status().chain.height).toBe(2)
    const block = peer.block(1)!
    expect(block.block.transactions.map((t) => t.txid)).toEqual([txid])
    expect(block.hash).toBe(peer.status().chain.headHash)
    expect(peer.chainInfo()).toEqual({ height: 2, headHash: block.hash, stateHash: toHex(block.block.stateHash) })
  })
})
