/**
 * Which block last wrote each state key, for a ledger whose blocks live in a durable store: what
 * answers `getState` (GET /state/:key) there without a map of the whole state in memory. The value
 * itself is read back from that block, whose transactions hold it.
 *
 * Why not the whole state as a map: with opaque payloads or fresh keys every transaction adds a
 * key, so such a map grows with the chain (hundreds of bytes a transaction) and costs an insert
 * per transaction; a peer that was asked for one key once would carry it for good. Here the keys of
 * the current generation (at most `generationSize` distinct keys) stay in memory, each full
 * generation goes to the store's index (key-block-index.ts), and a key found in none of those is
 * looked up there, newest generation first. Only keys `key=value` payloads set come here: an opaque
 * payload's key is tx/<txid>, and the committed txids (committed-txids.ts) already know its block,
 * so a workload of opaque payloads costs this nothing per transaction.
 *
 *   const keys = new StateKeys(index, indexedBelow)
 *   keys.add('color', 7)
 *   keys.get('color')  // 7
 */
import type { KeyBlockIndex } from './key-block-index.js'

/**
 * Distinct state keys in one in-memory generation (default 65,536: about 6-10 MiB with keys of
 * 20-40 characters). A workload that keeps rewriting fewer keys never fills one, and needs no index.
 */
export const STATE_GENERATION_SIZE = 65_536

interface Generation {
  /** Key -> newest block that wrote it. */
  keys: Map<string, number>
  /** Lowest and highest block number with a key in the generation (-1: none yet). */
  first: number
  last: number
}

const emptyGeneration = (): Generation => ({ keys: new Map(), first: -1, last: -1 })

export class StateKeys {
  readonly #index: KeyBlockIndex
  readonly #indexedBelow: number
  readonly #generationSize: number
  #current = emptyGeneration()
  /** Generations handed to the index and not written yet, oldest first. */
  readonly #writing: Generation[] = []

  /** `index` already holds the keys of every block below `indexedBelow`: those are not added again. */
  constructor(index: KeyBlockIndex, indexedBelow: number, generationSize = STATE_GENERATION_SIZE) {
    if (!(Number.isSafeInteger(generationSize) && generationSize > 0)) throw new RangeError(`generationSize must be a positive integer, got ${String(generationSize)}`)
    this.#index = index
    this.#indexedBelow = indexedBelow
    this.#generationSize = generationSize
  }

  /** Records that block `block` wrote `key` (blocks come in order). */
  add(key: string, block: number): void {
    if (block < this.#indexedBelow) return
    let current = this.#current
    // Cut at a block boundary, so a generation covers whole blocks.
    if (current.keys.size >= this.#generationSize && block !== current.last && !current.keys.has(key)) {
      this.#retire(current)
      current = this.#current = emptyGeneration()
    }
    current.keys.set(key, block)
    if (current.first < 0) current.first = block
    current.last = block
  }

  /** The newest block that wrote `key`, or undefined when no block did. */
  get(key: string): number | undefined {
    const block = this.#current.keys.get(key)
    if (block !== undefined) return block
    for (let i = this.#writing.length - 1; i >= 0; i--) {
      const found = this.#writing[i]!.keys.get(key)
      if (found !== undefined) return found
    }
    return this.#index.lookup(key)
  }

  #retire(generation: Generation): void {
    this.#writing.push(generation)
    const entries = { forEach: (visit: (key: string, block: number) => void) => generation.keys.forEach((block, key) => visit(key, block)) }
    // A failed write never calls back: the generation stays, and the answers stay exact.
    this.#index.write(entries, generation.first, generation.last, () => {
      const at = this.#writing.indexOf(generation)
      if (at >= 0) this.#writing.splice(at, 1)
    })
  }
}
