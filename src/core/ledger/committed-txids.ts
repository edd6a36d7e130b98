/**
 * Every transaction ID a ledger has committed, and the block that holds each: what makes "execute
 * each transaction once" checkable, and GET /transactions/:txid answerable.
 *
 * In memory only (a tab, a test, `--ledger memory`), all IDs stay in one TxidSet for the life of
 * the ledger. With a durable store that keeps a txid index (ledger-store.ts), memory need not grow
 * with the chain: IDs live in generations of about `generationSize` (a TxidSet each, cut at block
 * boundaries); when the current one is full it is handed to the index to write, and it leaves
 * memory once written. Every ID also goes into a fixed-size Bloom filter (txid-filter.ts), so an
 * ID in no generation still in memory is looked up in the index only when the filter says it may
 * have been seen: a new ID, the usual question, is answered from memory.
 *
 * Why whole generations rather than an index entry per transaction: a LevelDB put per transaction
 * in each block's batch cost validators about a third of their durable throughput (bench
 * pbft.batch100_durable, in_memory_ratio 0.82-0.85 -> 0.54-0.55 in one run), while one write of
 * a few thousand records per generation costs next to nothing. Why a bound on IDs rather than on
 * blocks: IDs per block vary from 1 to thousands; a bound on IDs bounds the memory.
 *
 *   const ids = new CommittedTxids()
 *   ids.add('tx-1', 7); ids.get('tx-1')  // 7
 *   ids.useIndex(index, indexedBelow)    // before the first add
 */
import { TxidFilter, TXID_FILTER_BYTES, checkTxidFilterBytes } from './txid-filter.js'
import { TxidSet } from './txid-set.js'
import type { KeyBlockIndex } from './key-block-index.js'

/**
 * IDs in one in-memory generation once a store indexes committed IDs (default 131,072: about 8-12
 * MiB with IDs of 20-40 characters). The current generation and any being written are in memory.
 */
export const TXID_GENERATION_SIZE = 131_072

export interface CommittedTxidsOptions {
  /** Default TXID_GENERATION_SIZE. */
  generationSize?: number
  /** Bytes of the Bloom filter in front of the store's index (default TXID_FILTER_BYTES; a power of two). */
  filterBytes?: number
}

/** A durable index of committed txids, written a generation at a time (ledger-store.ts keeps one). */
export type TxidIndex = KeyBlockIndex

interface Generation {
  ids: TxidSet
  /** Lowest and highest block number with an ID in the generation (-1: none yet). */
  first: number
  last: number
}

const emptyGeneration = (): Generation => ({ ids: new TxidSet(), first: -1, last: -1 })

export class CommittedTxids {
  readonly #generationSize: number
  readonly #filterBytes: number
  #current = emptyGeneration()
  /** Generations handed to the index and not written yet, oldest first. */
  readonly #writing: Generation[] = []
  #index: { index: TxidIndex; below: number; filter: TxidFilter } | undefined
  #size = 0
  #released = 0
  /** Highest block added (-1: none). */
  #top = -1

  constructor(options: CommittedTxidsOptions = {}) {
    const generationSize = options.generationSize ?? TXID_GENERATION_SIZE
    if (!(Number.isSafeInteger(generationSize) && generationSize > 0)) throw new RangeError(`generationSize must be a positive integer, got ${String(generationSize)}`)
    this.#generationSize = generationSize
    this.#filterBytes = checkTxidFilterBytes(options.filterBytes ?? TXID_FILTER_BYTES)
  }

  /** IDs committed. */
  get size(): number {
    return this.#size
  }

  /** IDs no longer held in memory, found through the index. */
  get released(): number {
    return this.#released
  }

  /**
   * From now on IDs go to `index` a generation at a time, and the index holds every ID of blocks
   * below `indexedBelow` already: those are added to the filter only (a store loading its chain
   * back). Only before the first ID is added.
   */
  useIndex(index: TxidIndex, indexedBelow: number): void {
    if (this.#size > 0 || this.#index !== undefined) throw new RangeError('a txid index is set before the first ID is added, once')
    this.#index = { index, below: indexedBelow, filter: new TxidFilter(this.#filterBytes) }
  }

  has(txid: string): boolean {
    if (this.#current.ids.has(txid)) return true
    for (let i = 0; i < this.#writing.length; i++) if (this.#writing[i]!.ids.has(txid)) return true
    return this.#lookup(txid) !== undefined
  }

  /** The block holding the ID, or undefined when it was never committed. */
  get(txid: string): number | undefined {
    const block = this.#current.ids.get(txid)
    if (block !== undefined) return block
    for (let i = 0; i < this.#writing.length; i++) {
      const found = this.#writing[i]!.ids.get(txid)
      if (found !== undefined) return found
    }
    return this.#lookup(txid)
  }

  /**
   * The index's answer, for IDs the filter may have seen. Only blocks added here count: a store
   * loading its chain back applies blocks its index already covers, and each must not find its
   * own IDs there.
   */
  #lookup(txid: string): number | undefined {
    const index = this.#index
    if (index === undefined || !index.filter.mayHave(txid)) return undefined
    const block = index.index.lookup(txid)
    return block !== undefined && block <= this.#top ? block : undefined
  }

  /** Records a newly committed ID (the ledger adds each ID once, in block order). */
  add(txid: string, block: number): void {
    this.#size++
    this.#top = block
    const index = this.#index
    if (index === undefined) {
      this.#current.ids.add(txid, block)
      return
    }
    index.filter.add(txid)
    if (block < index.below) {
      this.#released++
      return
    }
    let current = this.#current
    // Cut at a block boundary, so a generation covers whole blocks.
    if (current.ids.size >= this.#generationSize && block !== current.last) {
      this.#retire(index.index, current)
      current = this.#current = emptyGeneration()
    }
    current.ids.add(txid, block)
    if (current.first < 0) current.first = block
    current.last = block
  }

  #retire(index: TxidIndex, generation: Generation): void {
    this.#writing.push(generation)
    // A failed write never calls back: the generation stays, and the answers stay exact.
    index.write(generation.ids, generation.first, generation.last, () => {
      const at = this.#writing.indexOf(generation)
      if (at >= 0) this.#writing.splice(at, 1)
      this.#released += generation.ids.size
    })
  }
}
