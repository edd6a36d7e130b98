import { describe, expect, it } from 'vitest'
import { keyedTxidHash, MAX_TXID_SET_SHARDS, MAX_TXID_SET_VALUE, TXID_SET_SHARDS, TxidSet } from '../../../src/core/ledger/txid-set.js'
import { testSeed } from '../../support/test-seed.js'

describe('txid set', () => {
  it('answers like a Set for sequential, random, short, long and non-ASCII IDs', () => {
    const seed = testSeed('txid-set')
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

  it('visits every ID with its value', () => {
    const ids = new TxidSet({ shards: 4 })
    const reference = new Map<string, number>([['', 0], ['é', 7], ['🎉'.repeat(3), 2 ** 32 - 1], ['x'.repeat(10_000), 3]])
    for (let i = 0; i < 500; i++) reference.set(`tx-${i}`, i)
    for (const [id, value] of reference) ids.add(id, value)
    const seen = new Map<string, number>()
    ids.forEach((id, value) => seen.set(id, value))
    expect(seen).toEqual(reference)
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

  it('answers the same whatever order the IDs arrived in', () => {
    const a = new TxidSet()
    const b = new TxidSet()
    for (let i = 0; i < 3000; i++) {
      a.add(`id-${i}`)
      b.add(`id-${2999 - i}`)
    }
    for (let i = 0; i < 3500; i++) expect(a.has(`id-${i}`)).toBe(b.has(`id-${i}`))
  })

  describe('against IDs chosen to collide', () => {
    const OLD_SEED = 0x1234_5678
    const ids = collidingUnderOldHash(OLD_SEED, 3000)
    const target = oldHash(OLD_SEED)(ids[0]!)

    it('the IDs really collide under the old seeded hash (which is why it is gone)', () => {
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of ids) expect(oldHash(OLD_SEED)(id)).toBe(target)
      // Fed to a set using that hash, they pile into one probe run: n^2/2 probes in all.
      const flooded = new TxidSet({ hash: oldHash(OLD_SEED) })
      for (const id of ids) flooded.add(id)
      expect(flooded.largestShard).toBe(ids.length)
      expect(Math.max(...ids.map((id) => flooded.probesFor(id)))).toBe(ids.length)
    })

    it('stay correct and cheap under the keyed hash: probes bounded, shards even', () => {
      const keyed = new TxidSet()
      const reference = new Set<string>()
      for (const id of ids) {
        expect(keyed.has(id)).toBe(false)
        keyed.add(id)
        reference.add(id)
      }
      expect(keyed.size).toBe(ids.length)
      for (const id of ids) expect(keyed.has(id)).toBe(true)
      const probes = ids.map((id) => keyed.probesFor(id))
      const total = probes.reduce((a, b) => a + b, 0)
      // Linear probing at most half full averages under 2.5 probes a hit; flooded it was ~n/2.
      expect(total / ids.length).toBeLessThan(3)
      expect(Math.max(...probes)).toBeLessThan(40)
      // 3000 IDs over 256 shards: about 12 each, not all in one.
      expect(keyed.largestShard).toBeLessThan(40)
      // Misses stay short too: IDs of the same form that were never added.
      for (const miss of collidingUnderOldHash(OLD_SEED ^ 1, 200)) {
        expect(keyed.has(miss)).toBe(reference.has(miss))
        expect(keyed.probesFor(miss)).toBeLessThan(40)
      }
    })

    it('hashes under a key: another key, other hashes', () => {
      const a = ids.slice(0, 100).map((id) => keyedTxidHash(id, 1, 2))
      const b = ids.slice(0, 100).map((id) => keyedTxidHash(id, 1, 3))
      expect(new Set(a).size).toBe(100)
      expect(a.filter((h, i) => h === b[i])).toEqual([])
      // Every ID a distinct word sequence: a length or a trailing unit apart changes the hash.
      expect(keyedTxidHash('ab', 1, 2)).not.toBe(keyedTxidHash('ab\u0000', 1, 2))
      expect(keyedTxidHash('', 1, 2)).not.toBe(keyedTxidHash('\u0000', 1, 2))
    })
  })

  it('refuses a shard count that is not a power of two', () => {
    expect(() => new TxidSet({ shards: 3 })).toThrow(RangeError)
    expect(() => new TxidSet({ shards: 0 })).toThrow(RangeError)
    expect(() => new TxidSet({ shards: 2 * MAX_TXID_SET_SHARDS })).toThrow(RangeError)
  })
})

/** The hash this set used before: a 32-bit multiply-xorshift over code units, seeded. */
function oldHash(seed: number): (txid: string) => number {
  return (txid) => {
    let h = seed ^ txid.length
    for (let i = 0; i < txid.length; i++) {
      h = Math.imul(h ^ txid.charCodeAt(i), 0x5bd1e995)
      h ^= h >>> 15
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return h ^ (h >>> 16)
  }
}

/**
 * `count` distinct IDs with one and the same old hash for `seed`, each found in O(1): every step
 * of the old hash is invertible, so from a fixed final state we walk back two code units. The last
 * unit only fixes the low 16 bits of the state before it; a table over those 2^16 states, keyed by
 * the top 16 bits the state two units back must have, then takes any prefix whose state matches
 * (about 63% of prefixes do) and gives the unit between.
 */
function collidingUnderOldHash(seed: number, count: number): string[] {
  const M = 0x5bd1e995
  let inv = M
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(M, inv))
  const unXorShift15 = (y: number): number => (y ^ (y >>> 15) ^ (y >>> 30)) | 0
  const step = (h: number, c: number): number => {
    const x = Math.imul(h ^ c, M)
    return x ^ (x >>> 15)
  }
  // Before `state`, the input to the multiply was Z: the previous state is Z ^ c for any unit c.
  const beforeStep = (state: number): number => Math.imul(unXorShift15(state), inv)
  const prefixLength = 12
  const final = 0x0bad_f00d
  const z = beforeStep(final)
  const byTop = new Map<number, number>()
  for (let low = 0; low < 0x10000; low++) {
    const previous = ((z & 0xffff0000) | low) | 0
    byTop.set(beforeStep(previous) >>> 16, low)
  }
  const ids: string[] = []
  for (let n = 0; ids.length < count; n++) {
    const prefix = `tx-${n.toString(16).padStart(prefixLength - 3, '0')}`
    let h = seed ^ (prefixLength + 2)
    for (let i = 0; i < prefix.length; i++) h = step(h, prefix.charCodeAt(i))
    const low = byTop.get(h >>> 16)
    if (low === undefined) continue
    const previous = ((z & 0xffff0000) | low) | 0
    const c1 = (h ^ beforeStep(previous)) & 0xffff
    const c2 = (previous ^ z) & 0xffff
    ids.push(prefix + String.fromCharCode(c1, c2))
  }
  return ids
}
