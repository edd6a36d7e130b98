/**
 * The hashing shortcuts taken for throughput (buffered HashWriter, sealed transaction lists whose
 * body hash is computed once, a ledger that builds a block from a sealed list) must give the very bytes
 * the plain definition gives. Checked against Node's own SHA-256 over the PROTOCOL.md encoding.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { HASH_WRITER_BUFFER_BYTES, HashWriter, bodyHash, hashBlock, isSealed, isWellFormedString, sealTransactions } from '../../../src/core/ledger/block-hash.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import type { Transaction } from '../../../src/core/wire/payload-types.js'
import { lpStr, specBodyHash, u32, u64 } from '../../support/block-hash-reference.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

/** Body hashes here are taken with this timestamp and proposer. */
const TS = 1_700_000_000_000
const BY = 'vp0-é'
const specBody = (txs: readonly Transaction[]) => specBodyHash(TS, BY, txs)
const body = (txs: readonly Transaction[]) => bodyHash(TS, BY, txs)

const prng = seededRandom

const ALPHABET = ['a', 'Z', '=', '0', 'é', '☃', '😀', ' ']

function randomTxs(rand: () => number, count: number, maxLen: number): Transaction[] {
  const str = (len: number) => Array.from({ length: len }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join('')
  return Array.from({ length: count }, (_, i) => ({
    txid: `t${i}-${str(1 + Math.floor(rand() * 8))}`,
    payload: str(Math.floor(rand() * maxLen)),
    origin: str(Math.floor(rand() * 4)),
    timestamp: Math.floor(rand() * 2 ** 53),
  }))
}

describe('hashing fast paths', () => {
  it('the buffered writer gives the spec bytes for short, long and buffer-straddling fields', () => {
    const seed = testSeed('hash-fast-paths')
    const rand = prng(seed)
    for (const [count, maxLen] of [[0, 0], [1, 10], [300, 300], [3, HASH_WRITER_BUFFER_BYTES], [40, HASH_WRITER_BUFFER_BYTES / 5]] as const) {
      const txs = randomTxs(rand, count, maxLen)
      expect(Buffer.from(body(txs)).toString('hex')).toBe(specBody(txs).toString('hex'))
    }
  })

  it('raw, bytes and numbers through the writer equal one SHA-256 over their concatenation', () => {
    const big = new Uint8Array(HASH_WRITER_BUFFER_BYTES + 3).map((_, i) => i * 7)
    const ours = new HashWriter().u32(7).raw(new Uint8Array([1, 2])).bytes(big).u64(2 ** 53 - 1).string('x').digest()
    const spec = createHash('sha256')
      .update(Buffer.concat([u32(7), Buffer.from([1, 2]), u32(big.length), Buffer.from(big), u64(2 ** 53 - 1), lpStr('x')]))
      .digest()
    expect(Buffer.from(ours).equals(spec)).toBe(true)
  })

  it('nested writers (a block hash writes a body hash inside it) do not share a buffer', () => {
    const txs = randomTxs(prng(11), 50, 200)
    const first = hashBlock({ number: 1, previousBlockHash: new Uint8Array(32), stateHash: new Uint8Array(32), timestamp: 3, proposer: 'vp0', transactions: txs })
    const again = hashBlock({ number: 1, previousBlockHash: new Uint8Array(32), stateHash: new Uint8Array(32), timestamp: 3, proposer: 'vp0', transactions: txs.map((t) => ({ ...t })) })
    expect(Buffer.from(first).equals(Buffer.from(again))).toBe(true)
  })

  it('short strings with a non-ASCII character at any position hash as UTF-8, like all-ASCII ones', () => {
    const texts = ['', 'a', 'é', 'abcé', 'é'.padEnd(64, 'x'), 'x'.repeat(63) + '€', 'x'.repeat(64), 'x'.repeat(65) + '🎉', '\u007f\u0080']
    const txs = texts.map((t, i) => ({ txid: t, payload: texts[texts.length - 1 - i]!, origin: t, timestamp: i }))
    expect(Buffer.from(body(txs)).equals(specBody(txs))).toBe(true)
  })

  it('a sealed list is frozen, keeps its body hash, and hands out copies of it', () => {
    const txs = randomTxs(prng(5), 20, 50)
    expect(isSealed(txs)).toBe(false)
    sealTransactions(txs)
    expect(isSealed(txs)).toBe(true)
    expect(Object.isFrozen(txs) && txs.every((t) => Object.isFrozen(t))).toBe(true)
    const first = body(txs)
    expect(Buffer.from(first).equals(specBody(txs))).toBe(true)
    first.fill(0)
    expect(Buffer.from(body(txs)).equals(specBody(txs))).toBe(true)
  })

  it('a sealed list asked with another timestamp or proposer hashes those, not the remembered ones', () => {
    const txs = sealTransactions(randomTxs(prng(8), 4, 30))
    expect(Buffer.from(bodyHash(1, 'vp0', txs)).equals(specBodyHash(1, 'vp0', txs))).toBe(true)
    expect(Buffer.from(bodyHash(2, 'vp0', txs)).equals(specBodyHash(2, 'vp0', txs))).toBe(true)
    expect(Buffer.from(bodyHash(2, 'vp1', txs)).equals(specBodyHash(2, 'vp1', txs))).toBe(true)
    expect(Buffer.from(bodyHash(1, 'vp0', txs)).equals(specBodyHash(1, 'vp0', txs))).toBe(true)
    const block = { number: 4, previousBlockHash: new Uint8Array(32), stateHash: new Uint8Array(32), timestamp: 3, proposer: 'vp2', transactions: txs }
    expect(Buffer.from(hashBlock(block)).equals(Buffer.from(hashBlock({ ...block, transactions: txs.map((t) => ({ ...t })) })))).toBe(true)
  })

  it('a list frozen elsewhere cannot be sealed: it stays unsealed, is hashed on every use, and encodes as before', () => {
    const txs = Object.freeze(randomTxs(prng(6), 5, 40))
    expect(sealTransactions(txs)).toBe(txs)
    expect(isSealed(txs)).toBe(false)
    expect(Buffer.from(body(txs)).equals(specBody(txs))).toBe(true)
    // The body hash rides on the array as a hidden property: keys, JSON and spreads do not show it.
    const sealed = sealTransactions(randomTxs(prng(6), 5, 40))
    expect(Object.keys(sealed)).toEqual(Object.keys(txs))
    expect(JSON.stringify(sealed)).toBe(JSON.stringify(txs))
    expect(isSealed([...sealed])).toBe(false)
  })

  it('a list with an ill-formed transaction is not sealed (nor frozen), so execution and hashing still refuse it', () => {
    const txs = randomTxs(prng(4), 6, 30)
    const bad = { ...txs[3]!, payload: 'lone \uD800 surrogate' }
    const list = [...txs.slice(0, 3), bad, ...txs.slice(4)]
    expect(sealTransactions(list)).toBe(list)
    expect(isSealed(list)).toBe(false)
    expect(Object.isFrozen(list) || list.some((t) => Object.isFrozen(t))).toBe(false)
    const ledger = createMemoryLedger()
    ledger.beginTxBatch('b')
    expect(() => ledger.execTxs('b', list)).toThrow(/transaction 3 refused: payload must be a well-formed string/)
    const block = { number: 1, previousBlockHash: new Uint8Array(32), stateHash: new Uint8Array(32), timestamp: 1, proposer: 'vp0', transactions: list }
    expect(() => hashBlock(block)).toThrow(/transaction 3: payload must be a well-formed string/)
    // Mended, the same array seals.
    list[3] = txs[3]!
    expect(isSealed(sealTransactions(list))).toBe(true)
  })

  it('a ledger commits a sealed batch with the same block hash and state as an unsealed one', () => {
    const txs = randomTxs(prng(9), 30, 80)
    const plain = createMemoryLedger()
    const sealed = createMemoryLedger()
    for (const [ledger, list] of [[plain, txs.map((t) => ({ ...t }))], [sealed, sealTransactions(txs.map((t) => ({ ...t })))]] as const) {
      ledger.beginTxBatch('b')
      ledger.execTxs('b', list)
      ledger.commitTxBatch('b', { timestamp: 9, proposer: 'vp1' })
    }
    expect(Buffer.from(sealed.headHash()).equals(Buffer.from(plain.headHash()))).toBe(true)
    expect(Buffer.from(sealed.stateHash()).equals(Buffer.from(plain.stateHash()))).toBe(true)
    expect(sealed.getBlock(1)?.transactions).toEqual(plain.getBlock(1)?.transactions)
  })

  it('a sealed batch with a duplicate of a committed transaction leaves it out of the block', () => {
    const txs = randomTxs(prng(3), 5, 20)
    const ledger = createMemoryLedger()
    ledger.beginTxBatch('a')
    ledger.execTxs('a', [txs[0]!])
    ledger.commitTxBatch('a', { timestamp: 1, proposer: 'vp0' })
    ledger.beginTxBatch('b')
    ledger.execTxs('b', sealTransactions(txs.map((t) => ({ ...t }))))
    const block = ledger.commitTxBatch('b', { timestamp: 2, proposer: 'vp0' })
    expect(block.transactions.map((t) => t.txid)).toEqual(txs.slice(1).map((t) => t.txid))
    expect(Buffer.from(ledger.headHash()).equals(Buffer.from(hashBlock({ ...block, transactions: txs.slice(1) })))).toBe(true)
  })

  it('refuses lone surrogates and accepts paired ones, natively or not', () => {
    expect(isWellFormedString('ok 😀')).toBe(true)
    expect(isWellFormedString('bad \uD800 x')).toBe(false)
    expect(isWellFormedString('bad \uDC00')).toBe(false)
    expect(isWellFormedString(5)).toBe(false)
  })
})

describe('useSha256', () => {
  it('swaps the hash implementation without changing any hash', async () => {
    const { useSha256 } = await import('../../../src/core/ledger/block-hash.js')
    const { sha256 } = await import('@noble/hashes/sha2.js')
    const txs = randomTxs(prng(21), 10, 100)
    const before = Buffer.from(body(txs))
    let calls = 0
    useSha256(() => {
      calls++
      const h = createHash('sha256')
      return { update: (b: Uint8Array) => h.update(b), digest: () => new Uint8Array(h.digest()) }
    })
    try {
      expect(Buffer.from(body(txs)).equals(before)).toBe(true)
      expect(calls).toBe(1)
    } finally {
      useSha256(() => sha256.create())
    }
  })
})

describe('one-shot hashing', () => {
  it('uses the one-shot function for what fits the buffer and the incremental hasher past it, with the same bytes', async () => {
    const { useSha256 } = await import('../../../src/core/ledger/block-hash.js')
    const { sha256 } = await import('@noble/hashes/sha2.js')
    const small = new Uint8Array(300).map((_, i) => i * 3)
    const big = new Uint8Array(HASH_WRITER_BUFFER_BYTES * 2 + 5).map((_, i) => i * 11)
    const spec = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest()
    let made = 0
    let once = 0
    useSha256(
      () => {
        made++
        return sha256.create()
      },
      (bytes) => {
        once++
        return sha256(bytes)
      },
    )
    try {
      expect(Buffer.from(new HashWriter().raw(small).digest()).equals(spec(small))).toBe(true)
      expect([made, once]).toEqual([0, 1])
      // Over half a buffer goes straight to the incremental hasher; many small writes fill the buffer.
      expect(Buffer.from(new HashWriter().raw(big).digest()).equals(spec(big))).toBe(true)
      const pieces = new HashWriter()
      for (let i = 0; i < big.length; i += 100) pieces.raw(big.subarray(i, i + 100))
      expect(Buffer.from(pieces.digest()).equals(spec(big))).toBe(true)
      expect([made, once]).toEqual([2, 1])
    } finally {
      useSha256(() => sha256.create())
    }
  })

  it('a one-shot result does not change when the writer buffer is reused', () => {
    const first = new HashWriter().string('first').digest()
    const copy = first.slice()
    new HashWriter().string('second, written into the same buffer').digest()
    expect(first).toEqual(copy)
  })

  it('refuses a second digest, which would give its buffer back twice', () => {
    const writer = new HashWriter().u32(1)
    writer.digest()
    expect(() => writer.digest()).toThrow(/digested twice/)
  })
})
