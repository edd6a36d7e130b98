import { describe, expect, it } from 'vitest'
import { checkTxidFilterBytes, TXID_FILTER_BYTES, TxidFilter } from '../../../src/core/ledger/txid-filter.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

describe('txid filter', () => {
  it('never misses an ID it was given, and rarely claims one it was not', () => {
    const next = seededRandom(testSeed('txid-filter'))
    const random = (): string => `r-${Math.floor(next() * 2 ** 32).toString(36)}`
    // 16 KiB for 10,000 IDs: 13 bits an ID, about 0.5% false positives expected.
    const filter = new TxidFilter(16 * 1024)
    const added = [...Array.from({ length: 5000 }, (_, i) => `client-${i}`), ...Array.from({ length: 5000 }, random), '', 'é', '🎉'.repeat(9)]
    for (const id of added) filter.add(id)
    for (const id of added) expect(filter.mayHave(id)).toBe(true)
    expect(filter.count).toBe(added.length)
    const others = Array.from({ length: 10_000 }, (_, i) => `other-${i}`)
    const falsePositives = others.filter((id) => filter.mayHave(id)).length
    // The bound leaves room for any key (the filter draws its own): 2% is four times the expected rate.
    expect(falsePositives).toBeLessThan(200)
  })

  it('degrades as it fills but keeps its size', () => {
    const filter = new TxidFilter(1024)
    expect(filter.bytes).toBe(1024)
    for (let i = 0; i < 20_000; i++) filter.add(`tx-${i}`)
    expect(filter.bytes).toBe(1024)
    // Overfull (2.4 IDs a bit), it says "maybe" to nearly everything, and still never "no" to a member.
    expect(Array.from({ length: 100 }, (_, i) => filter.mayHave(`new-${i}`)).filter(Boolean).length).toBeGreaterThan(90)
    for (let i = 0; i < 20_000; i += 97) expect(filter.mayHave(`tx-${i}`)).toBe(true)
  })

  it('takes a power of two from 64 bytes to 1 GiB, 8 MiB by default', () => {
    expect(new TxidFilter().bytes).toBe(TXID_FILTER_BYTES)
    expect(TXID_FILTER_BYTES).toBe(8 * 1024 * 1024)
    for (const bad of [0, 32, 100, 2 ** 31, 1.5, Number.NaN]) expect(() => checkTxidFilterBytes(bad)).toThrow(RangeError)
    expect(checkTxidFilterBytes(64)).toBe(64)
  })
})
