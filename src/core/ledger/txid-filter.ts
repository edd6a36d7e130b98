/**
 * A Bloom filter of transaction IDs in a fixed number of bytes: "certainly not seen" or "maybe
 * seen". It stands in front of a durable store's txid index, so a peer can answer "was this ID
 * ever committed?" for IDs it no longer holds in memory without a disk read for each new ID
 * (almost every ID a peer is asked about is new).
 *
 * Why a fixed size. The point is memory that does not grow with the chain: the filter never grows,
 * and its false-positive rate rises with the IDs it holds instead. A false positive costs one read
 * of the store's index, never a wrong answer (the index decides). With the defaults (8 MiB, 6
 * bits per ID) about 1% of new IDs are false positives at 6 million IDs in the filter, about 10% at
 * 20 million (TXID_FILTER_BYTES says how to size it).
 *
 * Layout: a blocked Bloom filter. An ID's bits all sit in one 64-byte block (one cache line), so a
 * lookup in a filter far larger than the CPU's caches costs one trip to memory, not one per bit.
 * The block and the bits come from a keyed hash (txid-set.ts keyedTxidHash, under a key of the
 * filter's own), so senders cannot choose IDs that all land in one block.
 *
 *   const seen = new TxidFilter()
 *   seen.add('tx-1'); seen.mayHave('tx-1')  // true; mayHave('tx-2') is almost always false
 */
import { keyedTxidHash } from './txid-set.js'

/**
 * Default size of a filter in bytes (8 MiB; a power of two, at least 64). The false-positive rate
 * after n IDs is about (1 - e^(-6n/bits))^6: 1% at 0.75 IDs per byte, 10% at 2.4.
 */
export const TXID_FILTER_BYTES = 8 * 1024 * 1024
/** Bits set per ID. */
const BITS_PER_ID = 6
/** 32-bit words per block: 16 (64 bytes, 512 bits). */
const BLOCK_WORDS = 16

/** This process's filter key, apart from the txid set's: 64 random bits. */
const KEY = globalThis.crypto.getRandomValues(new Uint32Array(2))

/** Returns `bytes` if it is a valid filter size (a power of two, 64 bytes to 1 GiB); throws a RangeError if not. */
export function checkTxidFilterBytes(bytes: number): number {
  if (!(Number.isSafeInteger(bytes) && bytes >= 64 && bytes <= 2 ** 30 && (bytes & (bytes - 1)) === 0)) {
    throw new RangeError(`a txid filter's size must be a power of two from 64 bytes to 1 GiB, got ${String(bytes)}`)
  }
  return bytes
}

export class TxidFilter {
  readonly #words: Int32Array
  /** Blocks - 1; blocks is a power of two. */
  readonly #mask: number
  #count = 0

  constructor(bytes: number = TXID_FILTER_BYTES) {
    checkTxidFilterBytes(bytes)
    this.#words = new Int32Array(bytes / 4)
    this.#mask = bytes / 64 - 1
  }

  /** IDs added (repeats counted again). */
  get count(): number {
    return this.#count
  }

  /** Bytes of the filter. */
  get bytes(): number {
    return this.#words.length * 4
  }

  add(txid: string): void {
    this.#probe(txid, true)
    this.#count++
  }

  /** False only when the ID was never added. */
  mayHave(txid: string): boolean {
    return this.#probe(txid, false)
  }

  /** Sets the ID's bits (`set`), or says whether all of them are set. */
  #probe(txid: string, set: boolean): boolean {
    const h = keyedTxidHash(txid, KEY[0], KEY[1])
    const base = (h & this.#mask) * BLOCK_WORDS
    // The bits within the block by double hashing on two mixes of the hash.
    let a = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
    const b = Math.imul(a ^ (a >>> 12), 0x297a2d39) | 1
    const words = this.#words
    for (let i = 0; i < BITS_PER_ID; i++) {
      const bit = (a >>> 23) & 511
      const w = base + (bit >>> 5)
      const mask = 1 << (bit & 31)
      if (set) words[w] = words[w]! | mask
      else if ((words[w]! & mask) === 0) return false
      a = (a + b) | 0
    }
    return true
  }
}
