import { describe, expect, it } from 'vitest'
import type { KeyBlockEntries, KeyBlockIndex } from '../../../src/core/ledger/key-block-index.js'
import { StateKeys } from '../../../src/core/ledger/state-keys.js'

/** An index that stores a generation only when the test says its write completed. */
function fakeIndex(): KeyBlockIndex & { generations: [number, number][]; complete: () => void; lookups: string[] } {
  const stored: Map<string, number>[] = []
  const queued: { entries: Map<string, number>; written: () => void }[] = []
  const generations: [number, number][] = []
  const lookups: string[] = []
  return {
    generations,
    lookups,
    lookup: (key) => {
      lookups.push(key)
      for (let g = stored.length - 1; g >= 0; g--) if (stored[g]!.has(key)) return stored[g]!.get(key)
      return undefined
    },
    write: (entries: KeyBlockEntries, first, last, written) => {
      const copy = new Map<string, number>()
      entries.forEach((key, block) => copy.set(key, block))
      generations.push([first, last])
      queued.push({ entries: copy, written })
    },
    complete: () => {
      const next = queued.shift()!
      stored.push(next.entries)
      next.written()
    },
  }
}

describe('state keys', () => {
  it('cuts generations at block boundaries and answers the newest block that wrote a key, before and after the index holds it', () => {
    const index = fakeIndex()
    const keys = new StateKeys(index, 1, 2)
    keys.add('a', 1)
    keys.add('b', 1)
    keys.add('c', 1) // same block: stays in the generation past its size
    keys.add('a', 2) // a rewrite adds no key: no cut yet
    keys.add('d', 3)
    expect(index.generations).toEqual([[1, 2]])
    keys.add('a', 4)
    keys.add('e', 5)
    expect(index.generations).toEqual([[1, 2], [3, 4]])
    // Handed over but not written: answered from memory, newest first.
    expect([keys.get('a'), keys.get('b'), keys.get('d'), keys.get('e')]).toEqual([4, 1, 3, 5])
    expect(index.lookups).toEqual([])
    index.complete()
    index.complete()
    expect([keys.get('a'), keys.get('b'), keys.get('c'), keys.get('d'), keys.get('e'), keys.get('z')]).toEqual([4, 1, 1, 3, 5, undefined])
    expect(index.lookups).toEqual(['a', 'b', 'c', 'd', 'z'])
  })

  it('does not add again the keys of blocks the index holds already', () => {
    const index = fakeIndex()
    const keys = new StateKeys(index, 10, 1)
    keys.add('old', 9)
    expect(keys.get('old')).toBeUndefined()
    expect(index.lookups).toEqual(['old'])
    keys.add('new', 10)
    expect(keys.get('new')).toBe(10)
    expect(() => new StateKeys(index, 1, 0)).toThrow(RangeError)
  })
})
