import { describe, expect, it } from 'vitest'
import { blocksAnswer, deltasAnswer, snapshotAnswer } from '../../../src/core/handlers/sync-answers.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_SYNC_ANSWER_BYTES, SYNC_ANSWER_HEADROOM_BYTES } from '../../../src/core/peer/limits.js'
import { DEFAULT_MAX_BLOCK_BYTES, blockWireBytesMost } from '../../../src/core/wire/block-size.js'
import { MAX_TX_PAYLOAD_BYTES } from '../../../src/core/wire/codec-limits.js'
import { encodeFrame } from '../../../src/core/wire/codec.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import type { Transaction } from '../../../src/core/wire/payload-types.js'
import { makeEnvelope } from '../../../src/core/wire/payloads.js'
import { seededRandom } from '../../support/seeded-random.js'

const SEED = Number(process.env['WSPEER_TEST_SEED'] ?? 14)
const budget = { maxItems: 50, maxBytes: Math.min(DEFAULT_MAX_SYNC_ANSWER_BYTES, DEFAULT_MAX_FRAME_BYTES - SYNC_ANSWER_HEADROOM_BYTES) }

/** A ledger of `blocks` blocks, each of transactions drawn by `payload`. */
function ledgerOf(blocks: number, perBlock: number, payload: (i: number) => string): Ledger {
  const ledger = createMemoryLedger()
  let i = 0
  for (let b = 0; b < blocks; b++) {
    const txs: Transaction[] = []
    for (let t = 0; t < perBlock; t++, i++) txs.push({ txid: `tx${i}`, payload: payload(i), timestamp: 1_700_000_000_000 + i, origin: 'vp0' })
    ledger.beginTxBatch(`b${b}`)
    ledger.execTxs(`b${b}`, txs)
    ledger.commitTxBatch(`b${b}`, { timestamp: 1_700_000_000_000 + b, proposer: 'vp0' })
  }
  return ledger
}

const answerFrameBytes = (ledger: Ledger, start: number): number =>
  encodeFrame([makeEnvelope(MessageType.SYNC_BLOCKS, { requestId: 2 ** 31, blocks: blocksAnswer(ledger, start, 1_000_000, budget) }, 1_700_000_000_000)]).byteLength

describe('sync answers fit in one frame, whatever the blocks hold', () => {
  it('cuts 50 blocks of 100 transactions of 250 bytes (about 1.3 MB) to what fits, and the asker pages through all of them', () => {
    const ledger = ledgerOf(50, 100, (i) => `k${i}=${'v'.repeat(240)}`)
    let start = 0
    let pages = 0
    while (start < ledger.height()) {
      const blocks = blocksAnswer(ledger, start, ledger.height() - 1, budget)
      expect(blocks.length).toBeGreaterThan(0)
      expect(blocks[0]?.number).toBe(start)
      expect(answerFrameBytes(ledger, start)).toBeLessThanOrEqual(DEFAULT_MAX_FRAME_BYTES)
      start += blocks.length
      pages++
    }
    expect(pages).toBeGreaterThan(1)
  })

  it('sends one block of the largest size proposers cut, and largest transactions, alone if need be', () => {
    const big = ledgerOf(3, 2, () => `k=${'é'.repeat(MAX_TX_PAYLOAD_BYTES / 2 - 4)}`)
    for (let n = 0; n < 3; n++) {
      expect(blocksAnswer(big, n, 3, budget).length).toBeGreaterThanOrEqual(1)
      expect(answerFrameBytes(big, n)).toBeLessThanOrEqual(DEFAULT_MAX_FRAME_BYTES)
    }
    expect(2 * MAX_TX_PAYLOAD_BYTES).toBeLessThanOrEqual(DEFAULT_MAX_BLOCK_BYTES)
    expect(DEFAULT_MAX_BLOCK_BYTES + 2 * 2 * 64 + 320).toBeLessThan(budget.maxBytes)
  })

  it('bounds each block\'s encoded size from above (seeded random blocks; WSPEER_TEST_SEED replays)', () => {
    console.log(`sync-answers seed ${SEED}`)
    const random = seededRandom(SEED)
    const alphabet = ['a', 'é', '€', '😀', '\u0000', '"']
    const text = (len: number) => Array.from({ length: len }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
    const ledger = ledgerOf(20, 30, () => `${text(3)}=${text(Math.floor(random() * 300))}`)
    for (const block of ledger.getBlocks(0, ledger.height())) {
      const encoded = encodeFrame([makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block }, 0)]).byteLength
      expect(blockWireBytesMost(block)).toBeGreaterThanOrEqual(encoded - 64)
    }
  })

  it('answers an empty or out-of-range request with nothing, and pages deltas the same way', () => {
    const ledger = ledgerOf(5, 10, (i) => `k${i}=${'v'.repeat(100_000)}`)
    expect(blocksAnswer(ledger, 3, 2, budget)).toEqual([])
    expect(blocksAnswer(ledger, 6, 10, budget)).toEqual([])
    const deltas = deltasAnswer(ledger, 1, 5, budget)
    expect(deltas.length).toBeGreaterThanOrEqual(1)
    expect(deltas.length).toBeLessThan(5)
    expect(() => snapshotAnswer(ledger, budget)).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_TOO_LARGE' }))
    expect(snapshotAnswer(ledgerOf(1, 3, (i) => `k${i}=v`), budget)).toHaveLength(3)
  })

  it('refuses a snapshot a store-backed ledger cannot bound, and answers one it can', () => {
    // A ledger whose state keys live in an index (as over LevelDB): its state is not kept whole.
    const indexed = (blocks: number, payload: (i: number) => string): Ledger => {
      const ledger = createMemoryLedger()
      ledger.indexState({ lookup: () => undefined, write: () => undefined }, 1)
      let i = 0
      for (let b = 0; b < blocks; b++, i++) {
        ledger.beginTxBatch(`b${b}`)
        ledger.execTxs(`b${b}`, [{ txid: `tx${i}`, payload: payload(i), timestamp: 1, origin: 'vp0' }])
        ledger.commitTxBatch(`b${b}`, { timestamp: 1, proposer: 'vp0' })
      }
      return ledger
    }
    // 200 rewrites of one key: a tiny state behind a chain the budget does not bound.
    const small = { ...budget, maxBytes: 4096 }
    expect(() => snapshotAnswer(indexed(200, () => 'k=value'), small)).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_TOO_LARGE', message: expect.stringContaining('may be over') as string }))
    expect(snapshotAnswer(indexed(5, (i) => `k${i % 2}=v${i}`), small)).toEqual([['k0', 'v4'], ['k1', 'v3']])
  })
})
