import { describe, expect, it } from 'vitest'
import { batchDigest, NULL_DIGEST } from '../../../../src/core/consensus/pbft/batch.js'

const batch = { timestamp: 1000, proposer: 'vp0', txs: [{ txid: 't1', payload: 'k=v', timestamp: 5, origin: 'vp1' }] }

describe('pbft batch digest', () => {
  it('gives different batches different digests and a null request the empty digest', () => {
    const d = batchDigest(batch)
    expect(d).toMatch(/^[0-9a-f]{64}$/)
    expect(batchDigest({ ...batch, timestamp: 1001 })).not.toBe(d)
    expect(batchDigest({ ...batch, proposer: 'vp1' })).not.toBe(d)
    expect(NULL_DIGEST).toBe('')
  })
})
