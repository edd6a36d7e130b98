import { describe, expect, it } from 'vitest'
import { chainLag } from '../../../src/core/peer/chain-lag.js'

describe('chainLag', () => {
  const never = (): number => {
    throw new Error('the head block is read only when behind')
  }

  it('is zero when no linked peer claimed more, without reading the head block', () => {
    expect(chainLag(5, [], never, 1000)).toEqual({ claimedHeight: 5, blocks: 0, ms: null })
    expect(chainLag(5, [3, 5, 4], never, 1000)).toEqual({ claimedHeight: 5, blocks: 0, ms: null })
  })

  it('counts blocks to the highest claim and the time since the head was proposed', () => {
    expect(chainLag(5, [7, 9, 6], () => 400, 1000)).toEqual({ claimedHeight: 9, blocks: 4, ms: 600 })
    // A proposer clock ahead of ours is not a negative lag.
    expect(chainLag(5, [9], () => 1500, 1000)).toEqual({ claimedHeight: 9, blocks: 4, ms: 0 })
    // At genesis there is no proposer time.
    expect(chainLag(1, [9], never, 1000)).toEqual({ claimedHeight: 9, blocks: 8, ms: null })
  })
})
