import { describe, expect, it } from 'vitest'
import { CommittedTxids, TXID_GENERATION_SIZE, type TxidIndex } from '../../../src/core/ledger/committed-txids.js'

/** A txid index in a Map: writes complete when the test says (`complete`), or never (`fail`); lookups are recorded. */
function fakeIndex(): TxidIndex & { stored: Map<string, number>; lookups: string[]; generations: [number, number][]; complete: () => void; fail: () => void } {
  const stored = new Map<string, number>()
  const lookups: string[] = []
  const generations: [number, number][] = []
  let waiting: (() => void)[] = []
  return {
    stored,
    lookups,
    generations,
    lookup: (txid) => (lookups.push(txid), stored.get(txid)),
    write: (ids, first, last, written) => {
      generations.push([first, last])
      waiting.push(() => {
        ids.forEach((txid, block) => stored.set(txid, block))
        written()
      })
    },
    complete: () => {
      for (const w of waiting) w()
      waiting = []
    },
    fail: () => {
      waiting = []
    },
  }
}

describe('committed txids', () => {
  it('holds every ID in memory without an index', () => {
    const ids = new CommittedTxids({ generationSize: 10 })
    for (let i = 0; i < 100; i++) ids.add(`tx-${i}`, 1 + Math.floor(i / 5))
    expect(ids.size).toBe(100)
    expect(ids.released).toBe(0)
    expect(ids.get('tx-0')).toBe(1)
    expect(ids.get('tx-99')).toBe(20)
    expect(ids.has('tx-100')).toBe(false)
  })

  it('hands full generations of whole blocks to the index, and asks it only about IDs it may have seen', () => {
    const index = fakeIndex()
    const ids = new CommittedTxids({ generationSize: 10, filterBytes: 4096 })
    ids.useIndex(index, 1)
    // 4 IDs a block: a generation closes at the first block that starts past 10 IDs.
    for (let i = 0; i < 100; i++) ids.add(`tx-${i}`, 1 + Math.floor(i / 4))
    expect(index.generations).toEqual([[1, 3], [4, 6], [7, 9], [10, 12], [13, 15], [16, 18], [19, 21], [22, 24]])
    // Not written yet: all still answered from memory.
    expect(ids.released).toBe(0)
    for (let i = 0; i < 100; i++) expect(ids.get(`tx-${i}`)).toBe(1 + Math.floor(i / 4))
    expect(index.lookups).toEqual([])
    index.complete()
    expect(ids.released).toBe(96)
    expect(ids.size).toBe(100)
    // The current generation from memory, older ones through the index.
    expect(ids.get('tx-99')).toBe(25)
    expect(index.lookups).toEqual([])
    expect(ids.get('tx-0')).toBe(1)
    expect(ids.has('tx-42')).toBe(true)
    expect(index.lookups).toEqual(['tx-0', 'tx-42'])
    // New IDs: the filter answers almost all without a lookup, and a lookup still says no.
    index.lookups.length = 0
    for (let i = 0; i < 1000; i++) expect(ids.has(`new-${i}`)).toBe(false)
    expect(index.lookups.length).toBeLessThan(20)
  })

  it('keeps a generation whose write failed, so answers stay exact', () => {
    const index = fakeIndex()
    const ids = new CommittedTxids({ generationSize: 2, filterBytes: 4096 })
    ids.useIndex(index, 1)
    for (let i = 1; i <= 6; i++) ids.add(`tx-${i}`, i)
    index.fail()
    expect(ids.released).toBe(0)
    for (let i = 1; i <= 6; i++) expect(ids.get(`tx-${i}`)).toBe(i)
    expect(index.lookups).toEqual([])
  })

  it('puts IDs of blocks the index holds already into the filter only', () => {
    const index = fakeIndex()
    for (let i = 1; i <= 20; i++) index.stored.set(`tx-${i}`, i)
    const ids = new CommittedTxids({ generationSize: 100, filterBytes: 4096 })
    // A store loading blocks 1..30 back, its index holding blocks below 21.
    ids.useIndex(index, 21)
    for (let i = 1; i <= 30; i++) ids.add(`tx-${i}`, i)
    expect(ids.released).toBe(20)
    expect(ids.size).toBe(30)
    for (let i = 1; i <= 30; i++) expect(ids.get(`tx-${i}`)).toBe(i)
    // Only the indexed ones were looked up.
    expect(index.lookups.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `tx-${i + 1}`).sort())
  })

  it('takes an index once, before the first ID, and refuses bad sizes', () => {
    const ids = new CommittedTxids()
    ids.add('tx-1', 1)
    expect(() => ids.useIndex(fakeIndex(), 1)).toThrow(RangeError)
    expect(TXID_GENERATION_SIZE).toBe(131_072)
    for (const bad of [0, -1, 1.5]) expect(() => new CommittedTxids({ generationSize: bad })).toThrow(RangeError)
    expect(() => new CommittedTxids({ filterBytes: 1000 })).toThrow(RangeError)
  })
})
