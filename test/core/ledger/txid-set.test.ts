import { describe, expect, it } from 'vitest'
import { MAX_TXID_SET_SHARDS, MAX_TXID_SET_VALUE, TXID_SET_SHARDS, TxidSet } from '../../../src/core/ledger/txid-set.js'

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

  it('keeps a value per ID, the first one added, up to 2^32 - 1', () => {
    const ids = new TxidSet()
    for (let i = 0; i < 3000; i++) ids.add(`tx-${i}`, i * 65_537)
    for (let i = 0; i < 3000; i++) expect(ids.get(`tx-${i}`)).toBe(i * 65_537)
    expect(ids.get('tx-3000')).toBeUndefined()
    ids.add('tx-1', 7)
    expect(ids.get('tx-1')).toBe(65_537)
    ids.add('max', MAX_TXID_SET_VALUE)
    expect(ids.get('max')).toBe(MAX_TXID_SET_VALUE)
    ids.add('default')
    expect(ids.get('default')).toBe(0)
    expect(() => ids.add('too-big', MAX_TXID_SET_VALUE + 1)).toThrow(RangeError)
    expect(() => ids.add('negative', -1)).toThrow(RangeError)
    expect(ids.has('too-big')).toBe(false)
    // Colliding hashes: the value comes from the ID that matched, not the first with the hash.
    const colliding = new TxidSet({ shards: 1, hash: () => 5 })
    colliding.add('a', 1)
    colliding.add('b', 2)
    expect([colliding.get('a'), colliding.get('b'), colliding.get('c')]).toEqual([1, 2, undefined])
  })

  it('spreads IDs evenly over its shards, whatever part of them differs', () => {
    const sequential = new TxidSet()
    for (let i = 0; i < 25_600; i++) sequential.add(`client-${i.toString(36)}`)
    const early = new TxidSet()
    for (let i = 0; i < 25_600; i++) early.add(`${i.toString(16).padStart(4, '0')}-same-suffix-0000`)
    const mean = 25_600 / TXID_SET_SHARDS
    expect(sequential.size).toBe(25_600)
    expect(early.size).toBe(25_600)
    expect(sequential.largestShard).toBeLessThan(2 * mean)
    expect(early.largestShard).toBeLessThan(2 * mean)
  })

  it('stays exact when every ID hashes alike (answers never rest on the hash alone)', () => {
    const colliding = new TxidSet({ shards: 4, hash: () => 0x7fff_0003 })
    const reference = new Set<string>()
    for (let i = 0; i < 600; i++) {
      const id = i % 3 === 0 ? `tx-${i}` : `${'y'.repeat(i % 7)}${i}`
      expect(colliding.has(id)).toBe(false)
      colliding.add(id)
      colliding.add(id)
      reference.add(id)
    }
    expect(colliding.size).toBe(reference.size)
    expect(colliding.largestShard).toBe(reference.size)
    for (const id of reference) expect(colliding.has(id)).toBe(true)
    // Same hash, same length, one unit apart.
    expect(colliding.has('tx-1')).toBe(false)
    expect(colliding.has('tx-0')).toBe(true)
  })

  it('keeps IDs longer than 65,535 code units apart from ones that share their start', () => {
    const ids = new TxidSet({ shards: 1, hash: () => 1 })
    const long = 'z'.repeat(70_000)
    ids.add(long)
    expect(ids.has(long)).toBe(true)
    expect(ids.has(long.slice(0, 70_000 - 65_536))).toBe(false)
    expect(ids.has(`${long}z`)).toBe(false)
  })

  it('answers the same in every set, though each seeds its hash differently', () => {
    const a = new TxidSet()
    const b = new TxidSet()
    for (let i = 0; i < 3000; i++) {
      a.add(`id-${i}`)
      b.add(`id-${2999 - i}`)
    }
    for (let i = 0; i < 3500; i++) expect(a.has(`id-${i}`)).toBe(b.has(`id-${i}`))
  })

  it('refuses a shard count that is not a power of two', () => {
    expect(() => new TxidSet({ shards: 3 })).toThrow(RangeError)
    expect(() => new TxidSet({ shards: 0 })).toThrow(RangeError)
    expect(() => new TxidSet({ shards: 2 * MAX_TXID_SET_SHARDS })).toThrow(RangeError)
  })
})
