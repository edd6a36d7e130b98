/**
 * The block hash, defined byte by byte so another language can recompute it from PROTOCOL.md
 * ("Block hash"), plus the genesis block every peer builds identically.
 *
 * In: a Block (ours, or one decoded from the network). Out: 32 bytes of SHA-256, or a LedgerError
 * when a field cannot be encoded (negative or fractional numbers, lone UTF-16 surrogates, hashes
 * that are not 32 bytes). Synchronous and isomorphic on purpose: WebCrypto's digest is async and
 * missing outside secure contexts, and the ledger hashes inside synchronous commits.
 *
 *   hashBlock(genesisBlock())  // the same 32 bytes on every peer
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { LedgerError } from '../errors.js'
import { utf8Write } from '../util/utf8.js'
import type { Block, Transaction } from '../wire/payload-types.js'
import { encodeTransactionRecords } from './transaction-records.js'

/** Domain prefix of the block hash, hashed as its 15 ASCII bytes with no length prefix. */
export const BLOCK_HASH_DOMAIN = 'wspeer-block-v2'
/** Domain prefix of the body hash (timestamp, proposer, transactions), hashed as its 14 ASCII bytes. */
export const BODY_HASH_DOMAIN = 'wspeer-body-v1'
/** Length of every hash in a block (SHA-256). */
export const HASH_BYTES = 32

const utf8 = new TextEncoder()
const TWO_32 = 2 ** 32
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** 32 zero bytes: the genesis block's previous hash and the empty state's hash. A fresh copy each call. */
export function zeroHash(): Uint8Array {
  return new Uint8Array(HASH_BYTES)
}

/** Block 0: identical on every peer, so fresh peers agree on height 1 and the head hash. */
export function genesisBlock(): Block {
  return {
    number: 0,
    previousBlockHash: zeroHash(),
    stateHash: zeroHash(),
    timestamp: 0,
    proposer: '',
    transactions: [],
  }
}

/** Whether a number can be written as a u64 here: an integer in 0..2^53-1. */
export function isUint64(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/**
 * Whether a string is well-formed Unicode. Strings are hashed as UTF-8; a lone surrogate would be
 * replaced by U+FFFD, so two different strings would hash alike. They are refused instead.
 */
export function isWellFormedString(value: unknown): value is string {
  if (typeof value !== 'string') return false
  return NATIVE_WELL_FORMED ? (value as WellFormedCheck).isWellFormed() : !LONE_SURROGATE.test(value)
}

type WellFormedCheck = string & { isWellFormed(): boolean }
// ES2024; native is several times faster than the regex on every transaction string. Older engines use the regex.
const NATIVE_WELL_FORMED = typeof (String.prototype as Partial<WellFormedCheck>).isWellFormed === 'function'

/** What is wrong with a transaction for hashing and execution, or undefined when nothing is. */
export function transactionProblem(tx: Transaction): string | undefined {
  if (typeof tx !== 'object' || tx === null) return 'transaction is not an object'
  if (!isWellFormedString(tx.txid) || tx.txid.length === 0) return 'txid must be a non-empty well-formed string'
  if (!isWellFormedString(tx.payload)) return 'payload must be a well-formed string'
  if (!isWellFormedString(tx.origin)) return 'origin must be a well-formed string'
  if (!isUint64(tx.timestamp)) return 'timestamp must be an integer in 0..2^53-1'
  return undefined
}

/** What is wrong with a block's fields for hashing, or undefined when nothing is. */
export function blockProblem(block: Block): string | undefined {
  if (typeof block !== 'object' || block === null) return 'block is not an object'
  if (!isUint64(block.number)) return 'number must be an integer in 0..2^53-1'
  if (!isHash(block.previousBlockHash)) return `previousBlockHash must be ${HASH_BYTES} bytes`
  if (!isHash(block.stateHash)) return `stateHash must be ${HASH_BYTES} bytes`
  if (!isUint64(block.timestamp)) return 'timestamp must be an integer in 0..2^53-1'
  if (!isWellFormedString(block.proposer)) return 'proposer must be a well-formed string'
  if (!Array.isArray(block.transactions)) return 'transactions must be an array'
  // A sealed list was checked whole when it was sealed, and is frozen since.
  if (isSealed(block.transactions)) return undefined
  for (let i = 0; i < block.transactions.length; i++) {
    const problem = transactionProblem(block.transactions[i] as Transaction)
    if (problem !== undefined) return `transaction ${i}: ${problem}`
  }
  return undefined
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_BYTES
}

/** Bytes a HashWriter gathers before handing them to SHA-256 (default 16 KiB). */
export const HASH_WRITER_BUFFER_BYTES = 16 * 1024

/** An incremental SHA-256, as `@noble/hashes` and Node's `crypto.createHash('sha256')` both offer. */
export interface Sha256Hasher {
  update(bytes: Uint8Array): unknown
  digest(): Uint8Array
}

/** SHA-256 of one byte array at once. The result must not share memory with the input (the caller reuses it). */
export type Sha256OneShot = (bytes: Uint8Array) => Uint8Array

let newSha256: () => Sha256Hasher = () => sha256.create()
let sha256Once: Sha256OneShot = (bytes) => sha256(bytes)

/**
 * Replaces the SHA-256 every hash here uses (default: `@noble/hashes`, pure JavaScript, so the
 * core runs anywhere). A runtime with a faster synchronous one (Node's native crypto hashes about
 * 8x faster here) may install it at startup; the bytes hashed, and so every hash, stay the same.
 * `once` hashes one array in one call: almost every hash here is of a few hundred bytes that fit
 * one writer buffer, and a one-shot call skips making a hasher object for each (Node's
 * `crypto.hash` takes about 0.7 us where `createHash` + update + digest take 1.1). Without it,
 * one-shot hashes go through `factory`.
 */
export function useSha256(factory: () => Sha256Hasher, once?: Sha256OneShot): void {
  newSha256 = factory
  sha256Once =
    once ??
    ((bytes) => {
      const hash = factory()
      hash.update(bytes)
      return hash.digest()
    })
}

/** Writers nest (a block hash writes a body hash inside it), so a few buffers wait here for reuse. */
const MAX_SPARE_BUFFERS = 4
interface WriterBuffer {
  bytes: Uint8Array
  view: DataView
}
const spareBuffers: WriterBuffer[] = []

function takeBuffer(): WriterBuffer {
  const spare = spareBuffers.pop()
  if (spare !== undefined) return spare
  const bytes = new Uint8Array(HASH_WRITER_BUFFER_BYTES)
  return { bytes, view: new DataView(bytes.buffer) }
}

/**
 * Incremental SHA-256 over the primitives PROTOCOL.md names: u32be, u64be, length-prefixed bytes.
 * Writes gather in a buffer (strings are UTF-8 encoded straight into it) and reach the hash in
 * large updates: per-call overhead and a fresh array per string cost more than the hashing itself
 * for short fields. The incremental hasher is made only when the buffer first fills; what fits
 * the buffer whole is hashed in one one-shot call at `digest`.
 */
export class HashWriter {
  #hash: Sha256Hasher | undefined
  // Buffers are reused (a block hash takes several writers; zeroing 16 KiB for each showed in profiles).
  readonly #spare = takeBuffer()
  readonly #buf = this.#spare.bytes
  readonly #view = this.#spare.view
  #pos = 0

  #room(bytes: number): void {
    if (this.#pos + bytes > this.#buf.length) this.#flush()
  }

  #flush(): void {
    if (this.#pos === 0) return
    this.#hash ??= newSha256()
    this.#hash.update(this.#buf.subarray(0, this.#pos))
    this.#pos = 0
  }

  /** Bytes as they are, with no length prefix. */
  raw(bytes: Uint8Array): this {
    if (bytes.length > this.#buf.length >> 1) {
      this.#flush()
      this.#hash ??= newSha256()
      this.#hash.update(bytes)
      return this
    }
    this.#room(bytes.length)
    this.#buf.set(bytes, this.#pos)
    this.#pos += bytes.length
    return this
  }

  u32(value: number): this {
    this.#room(4)
    this.#view.setUint32(this.#pos, value)
    this.#pos += 4
    return this
  }

  u64(value: number): this {
    this.#room(8)
    this.#view.setUint32(this.#pos, Math.floor(value / TWO_32))
    this.#view.setUint32(this.#pos + 4, value % TWO_32)
    this.#pos += 8
    return this
  }

  /** u32be(byte length) || bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes)
  }

  /** A string as length-prefixed UTF-8. */
  string(text: string): this {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = 4 + text.length * 3
    if (most > this.#buf.length >> 1) return this.bytes(utf8.encode(text))
    this.#room(most)
    const written = utf8Write(this.#buf, text, this.#pos + 4)
    this.#view.setUint32(this.#pos, written)
    this.#pos += 4 + written
    return this
  }

  /** The hash of everything written. The writer is spent afterwards: write nothing more to it. */
  digest(): Uint8Array {
    // Once only: a buffer given back twice would be shared by two writers.
    if (this.#pos < 0) throw new LedgerError('a HashWriter was digested twice')
    let out: Uint8Array
    if (this.#hash === undefined) {
      out = sha256Once(this.#buf.subarray(0, this.#pos))
    } else {
      this.#flush()
      out = this.#hash.digest()
    }
    this.#pos = -1
    if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(this.#spare)
    return out
  }
}

/**
 * What a sealed (frozen) transaction list remembers: the body hash last taken of it, with the
 * timestamp and proposer it was taken with (a PBFT batch digest, then the block hash of the block
 * made from that batch, ask for the same ones). Kept in a non-enumerable symbol property set just
 * before the freeze; the holder itself stays writable. Not a WeakMap: the ledger keeps every
 * block's list for good, and a WeakMap with an entry per block made every scavenge walk an
 * ever-growing ephemeron table (a validator at batch 1 spent about a quarter of its CPU in GC
 * before this).
 */
interface SealedBody {
  timestamp: number
  proposer: string
  hash: Uint8Array | undefined
  /** The transaction records the hash covers, until the block store takes them (takeSealedRecords). */
  records: Uint8Array | undefined
}

const SEALED: unique symbol = Symbol('wspeer.sealedBody')

type SealedList = readonly Transaction[] & { readonly [SEALED]?: SealedBody }

const BODY_DOMAIN_BYTES = utf8.encode(BODY_HASH_DOMAIN)
const BLOCK_DOMAIN_BYTES = utf8.encode(BLOCK_HASH_DOMAIN)

function computeBody(timestamp: number, proposer: string, records: Uint8Array): Uint8Array {
  return new HashWriter().raw(BODY_DOMAIN_BYTES).u64(timestamp).string(proposer).raw(records).digest()
}

function sealedBody(txs: readonly Transaction[]): SealedBody | undefined {
  return Object.hasOwn(txs, SEALED) ? (txs as SealedList)[SEALED] : undefined
}

/** The body hash, the sealed list's remembered one when it matches: not to be handed out (callers may write to it). */
function bodyOf(timestamp: number, proposer: string, txs: readonly Transaction[]): Uint8Array {
  const sealed = sealedBody(txs)
  if (sealed === undefined) return computeBody(timestamp, proposer, encodeTransactionRecords(txs))
  if (sealed.hash === undefined || sealed.timestamp !== timestamp || sealed.proposer !== proposer) {
    // Encoded whole rather than streamed, and kept: the block store copies these bytes when the
    // list is committed instead of encoding the transactions a second time.
    const records = sealed.records ?? encodeTransactionRecords(txs)
    sealed.records = records
    sealed.hash = computeBody(timestamp, proposer, records)
    sealed.timestamp = timestamp
    sealed.proposer = proposer
  }
  return sealed.hash
}

/**
 * Freezes a transaction list (the array and every transaction in it) so it can remember its body
 * hash: the next `bodyHash` (or block hash) of the same array with the same timestamp and proposer
 * costs a lookup (a batch digest, then the block hash of the block made from it). Returns the
 * same array. A list frozen by someone else cannot be sealed any more; it is then hashed on every
 * use, as an unsealed list is.
 *
 * Only a list whose every transaction passes `transactionProblem` is sealed (any other is left as
 * it was, unfrozen), so a sealed list is known to be well-formed for good: execution and block
 * checks skip it, where each replica checked every transaction twice more.
 */
export function sealTransactions<T extends readonly Transaction[]>(txs: T): T {
  if (sealedBody(txs) !== undefined || Object.isFrozen(txs)) return txs
  for (let i = 0; i < txs.length; i++) if (transactionProblem(txs[i]!) !== undefined) return txs
  for (let i = 0; i < txs.length; i++) Object.freeze(txs[i])
  const holder: SealedBody = { timestamp: -1, proposer: '', hash: undefined, records: undefined }
  Object.defineProperty(txs, SEALED, { value: holder, enumerable: false, writable: false, configurable: false })
  Object.freeze(txs)
  return txs
}

/**
 * The encoded transaction records (transaction-records.ts) a sealed list's body hash was computed
 * over, handed out once: the block store copies them, and the list stops holding them. Undefined
 * when the list is not sealed, its body was not hashed yet, or they were taken already.
 */
export function takeSealedRecords(txs: readonly Transaction[]): Uint8Array | undefined {
  const sealed = sealedBody(txs)
  if (sealed === undefined) return undefined
  const records = sealed.records
  sealed.records = undefined
  return records
}

/** Whether `txs` was sealed by sealTransactions (so it is well-formed, frozen, and remembers its body hash). */
export function isSealed(txs: readonly Transaction[]): boolean {
  return sealedBody(txs) !== undefined
}

/**
 * The body hash PROTOCOL.md defines: SHA-256 over "wspeer-body-v1", u64be(timestamp),
 * lp(proposer), then each transaction's lp(txid) || lp(payload) || lp(origin) || u64be(timestamp)
 * in block order. A block hash covers its body through it, and a PBFT batch digest is the body
 * hash of the block the batch becomes. The caller checks the fields (blockProblem).
 */
export function bodyHash(timestamp: number, proposer: string, txs: readonly Transaction[]): Uint8Array {
  return bodyOf(timestamp, proposer, txs).slice()
}

/** The block hash PROTOCOL.md defines. Throws LedgerError when a field cannot be encoded. */
export function hashBlock(block: Block): Uint8Array {
  const problem = blockProblem(block)
  if (problem !== undefined) throw new LedgerError(`block cannot be hashed: ${problem}`)
  return new HashWriter()
    .raw(BLOCK_DOMAIN_BYTES)
    .u64(block.number)
    .bytes(block.previousBlockHash)
    .bytes(block.stateHash)
    .raw(bodyOf(block.timestamp, block.proposer, block.transactions))
    .digest()
}
