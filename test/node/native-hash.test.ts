/**
 * Node's native SHA-256, one-shot and incremental, must give the same hashes as the portable one
 * the core ships with, and plain Uint8Arrays that do not share memory with anything else.
 */
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { sha256 } from '@noble/hashes/sha2.js'
import { HASH_WRITER_BUFFER_BYTES, HashWriter, hashBlock, useSha256 } from '../../src/core/ledger/block-hash.js'
import { installNativeSha256 } from '../../src/node/native-hash.js'
import { seededRandom } from '../support/seeded-random.js'
import { testSeed } from '../support/test-seed.js'

afterEach(() => useSha256(() => sha256.create()))

describe('installNativeSha256', () => {
  it('hashes short and long inputs as the portable SHA-256 does', () => {
    const seed = testSeed('native-hash')
    const rand = seededRandom(seed)
    const inputs = [0, 1, 55, 64, 300, HASH_WRITER_BUFFER_BYTES - 1, HASH_WRITER_BUFFER_BYTES * 3 + 7].map((n) =>
      new Uint8Array(n).map(() => Math.floor(rand() * 256)),
    )
    const portable = inputs.map((bytes) => new HashWriter().raw(bytes).digest())
    const block = { number: 3, previousBlockHash: new Uint8Array(32).fill(1), stateHash: new Uint8Array(32).fill(2), timestamp: 9, proposer: 'vp0', transactions: [{ txid: 'a', payload: 'k=v', origin: 'c', timestamp: 1 }] }
    const portableBlock = hashBlock(block)
    installNativeSha256()
    inputs.forEach((bytes, i) => {
      const native = new HashWriter().raw(bytes).digest()
      expect(Buffer.from(native).equals(Buffer.from(portable[i]!))).toBe(true)
      expect(Buffer.from(native).equals(createHash('sha256').update(bytes).digest())).toBe(true)
    })
    expect(Buffer.from(hashBlock(block)).equals(Buffer.from(portableBlock))).toBe(true)
  })

  it('hands out plain 32-byte Uint8Arrays that own their memory', () => {
    installNativeSha256()
    for (const size of [10, HASH_WRITER_BUFFER_BYTES * 2]) {
      const out = new HashWriter().raw(new Uint8Array(size)).digest()
      expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype)
      expect(out.byteLength).toBe(32)
      expect(out.buffer.byteLength).toBe(32)
    }
  })
})
