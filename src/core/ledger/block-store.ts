/**
 * Where the in-memory ledger keeps committed blocks: packed as bytes into large chunks, with each
 * block's hash in a packed hash table, instead of as a tree of JavaScript objects.
 *
 * Why: a block kept as objects is about twenty small heap objects (block, transaction, arrays,
 * strings, three Uint8Arrays of three objects each, boxed timestamps). Each one lives through a
 * young-generation GC or two and is copied by each, then weighs on every old-generation mark. A
 * validator committing thousands of blocks a second spent more CPU on that than on consensus:
 * with the blocks packed, the same PBFT run at batch 1 needs about a quarter less CPU per
 * transaction. The bytes sit in ArrayBuffer backing stores, which the GC does not walk.
 *
 * In: blocks in chain order with their hashes. Out: a block decoded again on demand (frozen, equal
 * to the one stored, a new object each call) and each block's hash.
 *
 * Released blocks: once a durable store holds blocks, `release(below, read)` frees every chunk
 * that holds only blocks below `below`, and those blocks are read back through `read` (the Node
 * ledger store's synchronous LevelDB read) from then on. Hashes and the index stay (40 bytes a
 * block): the chain's memory then no longer grows with what its blocks carry.
 *
 * Record layout, all numbers big-endian; strings are u32 byte length + UTF-8:
 *   stateHash (32) | timestamp f64 | proposer | tx count u32 | the transactions' records
 * The transaction records are those the body hash covers (transaction-records.ts): a block made
 * from a sealed list whose body was hashed gets its records copied from that list, not encoded again.
 * A block's number is its index and its previousBlockHash is the hash stored before it (the ledger
 * appends only blocks that extend its head), so neither is written.
 *
 *   const store = createBlockStore()
 *   store.append(block, hashBlock(block))
 *   store.block(1)  // equal to block, frozen
 */
import { LedgerError } from '../errors.js'
import type { Block, Transaction } from '../wire/payload-types.js'
import { utf8Read, utf8Write } from '../util/utf8.js'
import { HASH_BYTES, takeSealedRecords, zeroHash } from './block-hash.js'
import { readTransactionRecord, recordsMostBytes, writeTransactionRecords } from './transaction-records.js'

/**
 * Largest chunk blocks are packed into (default 1 MiB). The first chunk is 64 KiB (or this, if
 * smaller) and each next one twice the last, so a short chain (a tab, a test) stays small; a block
 * larger than a chunk gets a chunk of its own size.
 */
export const BLOCK_STORE_CHUNK_BYTES = 1024 * 1024
/** Hashes per chunk of the hash table (default 1024, i.e. 32 KiB). */
export const BLOCK_STORE_HASHES_PER_CHUNK = 1024
/** Size of the first chunk, when BLOCK_STORE_CHUNK_BYTES is not smaller. */
const FIRST_CHUNK_BYTES = 64 * 1024

export interface BlockStore {
  /** Blocks stored. */
  readonly length: number
  /** Bytes of every block record appended (released ones included): each transaction's fields in full, UTF-8. */
  readonly bytes: number
  /** Appends block number `length`, whose previousBlockHash must be the last hash stored. */
  append(block: Block, hash: Uint8Array): void
  /** Block `number` decoded again, frozen; undefined when not stored. */
  block(number: number): Block | undefined
  /** A copy of block `number`'s hash; undefined when not stored. */
  hash(number: number): Uint8Array | undefined
  /**
   * Frees the bytes of every chunk holding only blocks below `below` (never the chunk being
   * written); `block(n)` of a freed block returns `read(n)`, which must give the block stored as n.
   * Returns how many blocks are held by `read` now.
   */
  release(below: number, read: (number: number) => Block | undefined): number
}

export interface BlockStoreOptions {
  chunkBytes?: number
  hashesPerChunk?: number
}

export function createBlockStore(options: BlockStoreOptions = {}): BlockStore {
  return new PackedBlockStore(options.chunkBytes ?? BLOCK_STORE_CHUNK_BYTES, options.hashesPerChunk ?? BLOCK_STORE_HASHES_PER_CHUNK)
}

const RELEASED = new Uint8Array(0)
const RELEASED_VIEW = new DataView(RELEASED.buffer)

/** Index slots per block: chunk number, byte offset. */
const INDEX_SLOTS = 2
const INITIAL_INDEX_BLOCKS = 1024
/** stateHash, timestamp, proposer length, transaction count. */
const BLOCK_FIXED_BYTES = HASH_BYTES + 8 + 4 + 4
/** UTF-8 needs at most 3 bytes per UTF-16 code unit. */
const UTF8_BYTES_PER_UNIT = 3

class PackedBlockStore implements BlockStore {
  readonly #chunkBytes: number
  readonly #hashesPerChunk: number
  readonly #chunks: Uint8Array[] = []
  readonly #views: DataView[] = []
  /** Write position in the last chunk. */
  #pos = 0
  #index = new Uint32Array(INITIAL_INDEX_BLOCKS * INDEX_SLOTS)
  readonly #hashChunks: Uint8Array[] = []
  #length = 0
  #bytes = 0
  /** The first block of each chunk. */
  readonly #chunkFirst: number[] = []
  /** Leading chunks whose bytes were released: their blocks come from #read. */
  #released = 0
  #read: ((number: number) => Block | undefined) | undefined

  constructor(chunkBytes: number, hashesPerChunk: number) {
    if (!(Number.isSafeInteger(chunkBytes) && chunkBytes > 0)) throw new RangeError('chunkBytes must be a positive integer')
    if (!(Number.isSafeInteger(hashesPerChunk) && hashesPerChunk > 0)) throw new RangeError('hashesPerChunk must be a positive integer')
    this.#chunkBytes = chunkBytes
    this.#hashesPerChunk = hashesPerChunk
  }

  get length(): number {
    return this.#length
  }

  get bytes(): number {
    return this.#bytes
  }

  append(block: Block, hash: Uint8Array): void {
    if (block.number !== this.#length) throw new LedgerError(`block store: block ${block.number} appended at ${this.#length}`)
    if (hash.length !== HASH_BYTES || block.stateHash.length !== HASH_BYTES) throw new LedgerError('block store: hashes must be 32 bytes')
    // Records a sealed list kept from its body hash are copied, and their size is known: the
    // transactions themselves are not read at all then.
    const records = takeSealedRecords(block.transactions)
    this.#reserve(mostBytes(block, records))
    const chunk = this.#chunks.length - 1
    const start = this.#pos
    this.#writeBlock(block, records)
    this.#bytes += this.#pos - start
    this.#growIndex()
    this.#index[this.#length * INDEX_SLOTS] = chunk
    this.#index[this.#length * INDEX_SLOTS + 1] = start
    this.#putHash(this.#length, hash)
    this.#length++
  }

  block(number: number): Block | undefined {
    if (!this.#has(number)) return undefined
    const chunk = this.#index[number * INDEX_SLOTS]!
    if (chunk < this.#released) return this.#readReleased(number)
    const reader = new RecordReader(this.#chunks[chunk]!, this.#views[chunk]!)
    reader.pos = this.#index[number * INDEX_SLOTS + 1]!
    const stateHash = reader.bytes(HASH_BYTES)
    const timestamp = reader.f64()
    const proposer = reader.string()
    const count = reader.u32()
    const transactions: Transaction[] = new Array<Transaction>(count)
    for (let i = 0; i < count; i++) {
      const { tx, end } = readTransactionRecord(this.#chunks[chunk]!, this.#views[chunk]!, reader.pos)
      transactions[i] = Object.freeze(tx)
      reader.pos = end
    }
    const previousBlockHash = number === 0 ? zeroHash() : this.hash(number - 1)!
    Object.freeze(transactions)
    return Object.freeze({ number, previousBlockHash, stateHash, timestamp, proposer, transactions })
  }

  hash(number: number): Uint8Array | undefined {
    if (!this.#has(number)) return undefined
    const chunk = this.#hashChunks[Math.floor(number / this.#hashesPerChunk)]!
    const at = (number % this.#hashesPerChunk) * HASH_BYTES
    return chunk.slice(at, at + HASH_BYTES)
  }

  release(below: number, read: (number: number) => Block | undefined): number {
    this.#read = read
    while (this.#released < this.#chunks.length - 1 && this.#chunkFirst[this.#released + 1]! <= below) {
      this.#chunks[this.#released] = RELEASED
      this.#views[this.#released] = RELEASED_VIEW
      this.#released++
    }
    return this.#released === 0 ? 0 : this.#chunkFirst[this.#released]!
  }

  #readReleased(number: number): Block {
    const block = this.#read?.(number)
    if (block === undefined || block.number !== number) throw new LedgerError(`block store: released block ${number} could not be read back`)
    return block
  }

  #has(number: number): boolean {
    return Number.isSafeInteger(number) && number >= 0 && number < this.#length
  }

  /** Makes room for `bytes` at #pos: a new chunk when the last one is short. */
  #reserve(bytes: number): void {
    const last = this.#chunks[this.#chunks.length - 1]
    if (last !== undefined && this.#pos + bytes <= last.length) return
    const next = last === undefined ? FIRST_CHUNK_BYTES : last.length * 2
    const chunk = new Uint8Array(Math.max(Math.min(next, this.#chunkBytes), bytes))
    this.#chunkFirst.push(this.#length)
    this.#chunks.push(chunk)
    this.#views.push(new DataView(chunk.buffer))
    this.#pos = 0
  }

  #writeBlock(block: Block, records: Uint8Array | undefined): void {
    const chunk = this.#chunks[this.#chunks.length - 1]!
    const view = this.#views[this.#views.length - 1]!
    chunk.set(block.stateHash, this.#pos)
    this.#pos += HASH_BYTES
    view.setFloat64(this.#pos, block.timestamp)
    this.#pos += 8
    this.#writeString(chunk, view, block.proposer)
    view.setUint32(this.#pos, block.transactions.length)
    this.#pos += 4
    if (records !== undefined) {
      chunk.set(records, this.#pos)
      this.#pos += records.length
    } else {
      this.#pos = writeTransactionRecords(block.transactions, chunk, view, this.#pos)
    }
  }

  #writeString(chunk: Uint8Array, view: DataView, text: string): void {
    const written = utf8Write(chunk, text, this.#pos + 4)
    view.setUint32(this.#pos, written)
    this.#pos += 4 + written
  }

  #growIndex(): void {
    if ((this.#length + 1) * INDEX_SLOTS <= this.#index.length) return
    const bigger = new Uint32Array(this.#index.length * 2)
    bigger.set(this.#index)
    this.#index = bigger
  }

  #putHash(number: number, hash: Uint8Array): void {
    const c = Math.floor(number / this.#hashesPerChunk)
    if (c === this.#hashChunks.length) this.#hashChunks.push(new Uint8Array(this.#hashesPerChunk * HASH_BYTES))
    this.#hashChunks[c]!.set(hash, (number % this.#hashesPerChunk) * HASH_BYTES)
  }
}

/** An upper bound of a block's record size, given its transactions' records when they are already encoded. */
function mostBytes(block: Block, records: Uint8Array | undefined): number {
  return BLOCK_FIXED_BYTES + block.proposer.length * UTF8_BYTES_PER_UNIT + (records?.length ?? recordsMostBytes(block.transactions))
}

class RecordReader {
  pos = 0
  readonly #bytes: Uint8Array
  readonly #view: DataView

  constructor(bytes: Uint8Array, view: DataView) {
    this.#bytes = bytes
    this.#view = view
  }

  bytes(length: number): Uint8Array {
    const out = this.#bytes.slice(this.pos, this.pos + length)
    this.pos += length
    return out
  }

  f64(): number {
    const value = this.#view.getFloat64(this.pos)
    this.pos += 8
    return value
  }

  u32(): number {
    const value = this.#view.getUint32(this.pos)
    this.pos += 4
    return value
  }

  string(): string {
    const length = this.u32()
    const text = utf8Read(this.#bytes, this.pos, this.pos + length)
    this.pos += length
    return text
  }
}
