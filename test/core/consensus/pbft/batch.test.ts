import { describe, expect, it } from 'vitest'
import { batchDigest, NULL_DIGEST } from '../../../../src/core/consensus/pbft/batch.js'
import { hashBlock } from '../../../../src/core/ledger/block-hash.js'
import { createMemoryLedger } from '../../../../src/core/ledger/memory-ledger.js'
import { specBodyHash } from '../../../support/block-hash-reference.js'

const batch = () => ({ timestamp: 1000, proposer: 'vp0', txs: [{ txid: 't1', payload: 'k=v', timestamp: 5, origin: 'vp1' }] })

describe('pbft batch digest', () => {
  it('gives different batches different digests and a null request the empty digest', () => {
    const d = batchDigest(batch())
    expect(d).toMatch(/^[0-9a-f]{64}$/)
    expect(batchDigest({ ...batch(), timestamp: 1001 })).not.toBe(d)
    expect(batchDigest({ ...batch(), proposer: 'vp1' })).not.toBe(d)
    expect(NULL_DIGEST).toBe('')
  })

  it('is the body hash (PROTOCOL.md) of the block the batch becomes', () => {
    const b = batch()
    const expected = specBodyHash(b.timestamp, b.proposer, b.txs).toString('hex')
    expect(batchDigest(b)).toBe(expected)
    // The ledger builds the block from the sealed list; its block hash covers the same body.
    const ledger = createMemoryLedger()
    ledger.beginTxBatch('x')
    ledger.execTxs('x', b.txs)
    const block = ledger.commitTxBatch('x', { timestamp: b.timestamp, proposer: b.proposer })
    expect(block.transactions).toBe(b.txs)
    const copy = { ...block, transactions: b.txs.map((t) => ({ ...t })) }
    expect(Buffer.from(ledger.headHash()).equals(Buffer.from(hashBlock(copy)))).toBe(true)
  })
})
