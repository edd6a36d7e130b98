import { describe, expect, it } from 'vitest'
import { LedgerError } from '../../../src/core/errors.js'
import { createBlockStore } from '../../../src/core/ledger/block-store.js'
import { genesisBlock, hashBlock, sealTransactions, takeSealedRecords } from '../../../src/core/ledger/block-hash.js'
import { toHex } from '../../../src/core/util/bytes.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'

const STRANGE_STRINGS = ['', '\uFEFFstarts with a BOM', 'héllo wörld', '日本語のテキスト', 'emoji 🎉🚀', 'x'.repeat(3000), 'a=b=c']

/** A chain of blocks linked by their real hashes; transactions use every string above somewhere. */
function chain(length: number, txsPerBlock: (n: number) => number): { blocks: Block[]; hashes: Uint8Array[] } {
  const blocks: Block[] = [genesisBlock()]
  const hashes: Uint8Array[] = [hashBlock(blocks[0]!)]
  for (let n = 1; n < length; n++) {
    const transactions: Transaction[] = Array.from({ length: txsPerBlock(n) }, (_, i) => ({
      txid: `tx-${n}-${i}-${STRANGE_STRINGS[(n + i) % STRANGE_STRINGS.length]!.slice(0, 20)}`,
      payload: STRANGE_STRINGS[(n * 3 + i) % STRANGE_STRINGS.length]!,
      timestamp: i % 2 === 0 ? Number.MAX_SAFE_INTEGER - i : 1_764_000_000_000 + i,
      origin: STRANGE_STRINGS[(n + 2 * i) % STRANGE_STRINGS.length]!,
    }))
    const stateHash = Uint8Array.from({ length: 32 }, (_, i) => (n * 31 + i) & 255)
    const block: Block = { number: n, previousBlockHash: hashes[n - 1]!, stateHash, timestamp: n * 1000, proposer: n % 2 ? 'vp0' : 'ピア', transactions }
    blocks.push(block)
    hashes.push(hashBlock(block))
  }
  return { blocks, hashes }
}

describe('block store', () => {
  it('gives back every block and hash as stored, across chunk boundaries and oversized blocks', () => {
    // Tiny chunks: most blocks start a new chunk, and the 3000-character payloads exceed one;
    // three hashes per hash chunk.
    const store = createBlockStore({ chunkBytes: 512, hashesPerChunk: 3 })
    const { blocks, hashes } = chain(40, (n) => n % 5)
    for (let n = 0; n < blocks.length; n++) store.append(blocks[n]!, hashes[n]!)
    expect(store.length).toBe(40)
    for (let n = 0; n < blocks.length; n++) {
      const back = store.block(n)!
      expect(back).toEqual(blocks[n])
      expect(toHex(hashBlock(back))).toBe(toHex(hashes[n]!))
      expect(toHex(store.hash(n)!)).toBe(toHex(hashes[n]!))
    }
  })

  it('copies the records a sealed list kept from its body hash, once, and stores what encoding would', () => {
    const { blocks, hashes } = chain(6, () => 4)
    const sealedBlocks = blocks.map((b) => ({ ...b, transactions: sealTransactions(b.transactions.map((t) => ({ ...t }))) }))
    const copying = createBlockStore({ chunkBytes: 4096 })
    const encoding = createBlockStore({ chunkBytes: 4096 })
    for (let n = 0; n < blocks.length; n++) {
      // The block hash needs the body hash, which keeps the list's records.
      expect(toHex(hashBlock(sealedBlocks[n]!))).toBe(toHex(hashes[n]!))
      copying.append(sealedBlocks[n]!, hashes[n]!)
      encoding.append(blocks[n]!, hashes[n]!)
      // Taken by the store: the list holds them no longer.
      expect(takeSealedRecords(sealedBlocks[n]!.transactions)).toBeUndefined()
    }
    for (let n = 0; n < blocks.length; n++) {
      expect(copying.block(n)).toEqual(blocks[n])
      expect(encoding.block(n)).toEqual(blocks[n])
    }
  })

  it('grows its chunks from small to the largest size without losing a block at any boundary', () => {
    // Blocks of a few KB with the default sizes: 64 KiB, then 128 KiB, 256 KiB... chunks.
    const store = createBlockStore()
    const { blocks, hashes } = chain(300, (n) => 1 + (n % 4))
    for (let n = 0; n < blocks.length; n++) store.append(blocks[n]!, hashes[n]!)
    for (let n = 0; n < blocks.length; n++) expect(store.block(n)).toEqual(blocks[n])
  })

  it('hands out frozen blocks, a new object each time, and hashes that are copies', () => {
    const store = createBlockStore()
    const { blocks, hashes } = chain(3, () => 2)
    blocks.forEach((b, n) => store.append(b, hashes[n]!))
    const a = store.block(2)!
    expect(Object.isFrozen(a) && Object.isFrozen(a.transactions) && a.transactions.every((t) => Object.isFrozen(t))).toBe(true)
    expect(store.block(2)).not.toBe(a)
    a.previousBlockHash.fill(0)
    store.hash(1)!.fill(0)
    expect(toHex(store.hash(1)!)).toBe(toHex(hashes[1]!))
    expect(toHex(store.block(2)!.previousBlockHash)).toBe(toHex(hashes[1]!))
  })

  it('answers undefined outside what it holds', () => {
    const store = createBlockStore()
    store.append(genesisBlock(), hashBlock(genesisBlock()))
    for (const n of [-1, 1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(store.block(n)).toBeUndefined()
      expect(store.hash(n)).toBeUndefined()
    }
  })

  it('refuses a block out of order or a hash of the wrong size, and stays as it was', () => {
    const store = createBlockStore()
    const { blocks, hashes } = chain(3, () => 1)
    expect(() => store.append(blocks[1]!, hashes[1]!)).toThrow(LedgerError)
    store.append(blocks[0]!, hashes[0]!)
    expect(() => store.append(blocks[1]!, new Uint8Array(31))).toThrow(LedgerError)
    expect(store.length).toBe(1)
    store.append(blocks[1]!, hashes[1]!)
    expect(store.block(1)).toEqual(blocks[1])
  })

  it('releases whole chunks below a height, keeps hashes and the chunk being written, and reads released blocks back', () => {
    const store = createBlockStore({ chunkBytes: 512, hashesPerChunk: 3 })
    const { blocks, hashes } = chain(40, (n) => n % 5)
    for (let n = 0; n < blocks.length; n++) store.append(blocks[n]!, hashes[n]!)
    const reads: number[] = []
    const read = (n: number): Block | undefined => {
      reads.push(n)
      return blocks[n]
    }
    const released = store.release(25, read)
    // Whole chunks only, so at most 25 blocks, and some (each chunk here holds a few blocks at most).
    expect(released).toBeGreaterThan(0)
    expect(released).toBeLessThanOrEqual(25)
    for (let n = 0; n < blocks.length; n++) {
      expect(store.block(n)).toEqual(blocks[n])
      expect(toHex(store.hash(n)!)).toBe(toHex(hashes[n]!))
    }
    expect(reads).toEqual(Array.from({ length: released }, (_, n) => n))
    // Releasing everything keeps the chunk still written to; appending goes on.
    expect(store.release(1000, read)).toBeLessThan(40)
    const next = chain(41, (n) => n % 5)
    store.append(next.blocks[40]!, next.hashes[40]!)
    expect(store.block(40)).toEqual(next.blocks[40])
    // A read that gives back the wrong block is an error, never a wrong answer.
    store.release(1000, () => blocks[0])
    expect(() => store.block(5)).toThrow(LedgerError)
  })

  it('refuses sizes that are not positive integers', () => {
    expect(() => createBlockStore({ chunkBytes: 0 })).toThrow(RangeError)
    expect(() => createBlockStore({ hashesPerChunk: 1.5 })).toThrow(RangeError)
  })
})
