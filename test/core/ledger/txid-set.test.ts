import { describe, expect, it } from 'vitest'
import { TXID_SET_SHARDS, TxidSet } from '../../../src/core/ledger/txid-set.js'

describe('txid set', () => {
  it('answers like a Set for sequential, random, short, long and non-ASCII IDs', () => {
    const seed = Date.now() % 1_000_000
    console.log(`txid-set seed ${seed}`)
    let x = seed
    const random = (): string => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      return x.toString(16)
    }
    const ids = [
      ...Array.from({ length: 5000 }, (_, i) => `client-${i.toString(36)}`),
      ...Array.from({ length: 2000 }, random),
      '',
      'a',
      'é',
      '🎉'.repeat(20),
      'x'.repeat(5000),
    ]
    const ours = new TxidSet()
    const reference = new Set<string>()
    for (const id of ids) {
      expect(ours.has(id)).toBe(reference.has(id))
      ours.add(id)
      reference.add(id)
      expect(ours.has(id)).toBe(true)
    }
    expect(ours.size).toBe(reference.size)
    // Adding again changes nothing.
    for (const id of ids.slice(0, 100)) ours.add(id)
    expect(ours.size).toBe(reference.size)
    expect(ours.has('client-never')).toBe(false)
  })

  it('spreads IDs that share a prefix, or differ only early, evenly over its shards', () => {
    const sequential = new TxidSet()
    for (let i = 0; i < 25_600; i++) sequential.add(`client-${i.toString(36)}`)
    const early = new TxidSet()
    for (let i = 0; i < 25_600; i++) early.add(`${i.toString(16).padStart(4, '0')}-same-suffix-0000`)
    const mean = 25_600 / TXID_SET_SHARDS
    expect(sequential.largestShard).toBeLessThan(2 * mean)
    // Only the last characters pick the shard, so IDs that differ only early share one: slower
    // growth steps for that shard, still right answers.
    expect(early.size).toBe(25_600)
    expect(early.largestShard).toBe(25_600)
  })

  it('refuses a shard count that is not a power of two', () => {
    expect(() => new TxidSet(3)).toThrow(RangeError)
    expect(() => new TxidSet(0)).toThrow(RangeError)
  })
})
