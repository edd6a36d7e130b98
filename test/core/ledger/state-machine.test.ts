import { describe, expect, it } from 'vitest'
import {
  MAX_STATE_KEY_LENGTH,
  compareCodePoints,
  emptyStateHash,
  nextStateHash,
  sortWrites,
  transactionWrite,
} from '../../../src/core/ledger/state-machine.js'
import type { Transaction } from '../../../src/core/wire/payload-types.js'
import { specNextStateHash } from '../../support/block-hash-reference.js'
import { seededRandom } from '../../support/fake-network.js'
import { testSeed } from '../../support/test-seed.js'

const tx = (payload: string, txid = 't1'): Transaction => ({ txid, payload, timestamp: 1, origin: 'vp0' })

describe('state machine', () => {
  it('sets key=value, splitting at the first "="', () => {
    expect(transactionWrite(tx('a=1'))).toEqual(['a', '1'])
    expect(transactionWrite(tx('a=b=c'))).toEqual(['a', 'b=c'])
    expect(transactionWrite(tx('a='))).toEqual(['a', ''])
  })

  it('stores other payloads whole under tx/<txid>', () => {
    expect(transactionWrite(tx('hello', 'abc'))).toEqual(['tx/abc', 'hello'])
    expect(transactionWrite(tx('=v', 'abc'))).toEqual(['tx/abc', '=v'])
    expect(transactionWrite(tx('', 'abc'))).toEqual(['tx/abc', ''])
  })

  it(`limits keys to ${MAX_STATE_KEY_LENGTH} code points, counting astral characters once`, () => {
    const max = 'k'.repeat(MAX_STATE_KEY_LENGTH)
    expect(transactionWrite(tx(`${max}=v`))).toEqual([max, 'v'])
    expect(transactionWrite(tx(`${max}k=v`, 'id'))).toEqual(['tx/id', `${max}k=v`])
    const astral = '😀'.repeat(MAX_STATE_KEY_LENGTH) // 512 UTF-16 units, 256 code points
    expect(transactionWrite(tx(`${astral}=v`))).toEqual([astral, 'v'])
    expect(transactionWrite(tx(`${astral}😀=v`, 'id'))[0]).toBe('tx/id')
  })

  it('orders keys like their UTF-8 bytes (randomized)', () => {
    const seed = testSeed('compareCodePoints')
    const random = seededRandom(seed)
    const alphabet = ['a', 'b', 'z', 'é', '\uE000', '\uFFFF', '😀', '\u{10FFFF}', '\u0000', '~']
    const word = () => Array.from({ length: Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
    for (let i = 0; i < 2000; i++) {
      const a = word()
      const b = word()
      const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
      expect(Math.sign(compareCodePoints(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(expected)
    }
  })

  it('hashes the sorted write set into the chain link, as specified', () => {
    const writes = sortWrites(new Map([['😀', '1'], ['\uFFFF', '2'], ['a', '3']]))
    expect(writes.map(([k]) => k)).toEqual(['a', '\uFFFF', '😀'])
    const prev = emptyStateHash()
    expect([...prev]).toEqual(new Array(32).fill(0))
    const next = specNextStateHash(prev, writes)
    expect(Buffer.from(nextStateHash(prev, writes)).equals(next)).toBe(true)
    // Chained: the same writes on another history give another hash.
    expect(Buffer.from(nextStateHash(next, writes)).equals(next)).toBe(false)
    // Length prefixes keep key and value apart: moving a character across them changes the hash.
    expect(Buffer.from(nextStateHash(prev, [['ab', 'c']])).equals(Buffer.from(nextStateHash(prev, [['a', 'bc']])))).toBe(false)
    // No writes (a block whose transactions were all duplicates) still moves the chain.
    expect(Buffer.from(nextStateHash(prev, [])).equals(specNextStateHash(prev, []))).toBe(true)
  })
})
