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
import type { Block, Transaction } from '../wire/payload-types.js'

/** Domain prefix of the block hash, hashed as its 15 ASCII bytes with no length prefix. */
export const BLOCK_HASH_DOMAIN = 'wspeer-block-v1'
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
  return typeof value === 'string' && !LONE_SURROGATE.test(value)
}

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
  for (let i = 0; i < block.transactions.length; i++) {
    const problem = transactionProblem(block.transactions[i] as Transaction)
    if (problem !== undefined) return `transaction ${i}: ${problem}`
  }
  return undefined
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_BYTES
}

/** Incremental SHA-256 over the primitives PROTOCOL.md names: u32be, u64be, length-prefixed bytes. */
export class HashWriter {
  readonly #hash = sha256.create()
  readonly #scratch = new Uint8Array(8)
  readonly #view = new DataView(this.#scratch.buffer)

  /** Bytes as they are, with no length prefix. */
  raw(bytes: Uint8Array): this {
    this.#hash.update(bytes)
    return this
  }

  u32(value: number): this {
    this.#view.setUint32(0, value)
    this.#hash.update(this.#scratch.subarray(0, 4))
    return this
  }

  u64(value: number): this {
    this.#view.setUint32(0, Math.floor(value / TWO_32))
    this.#view.setUint32(4, value % TWO_32)
    this.#hash.update(this.#scratch)
    return this
  }

  /** u32be(byte length) || bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes)
  }

  /** A string as length-prefixed UTF-8. */
  string(text: string): this {
    return this.bytes(utf8.encode(text))
  }

  digest(): Uint8Array {
    return this.#hash.digest()
  }
}

/** SHA-256 over each transaction's lp(txid) || lp(payload) || lp(origin) || u64be(timestamp), in block order. */
export function transactionsRoot(txs: readonly Transaction[]): Uint8Array {
  const writer = new HashWriter()
  for (const tx of txs) writer.string(tx.txid).string(tx.payload).string(tx.origin).u64(tx.timestamp)
  return writer.digest()
}

/** The block hash PROTOCOL.md defines. Throws LedgerError when a field cannot be encoded. */
export function hashBlock(block: Block): Uint8Array {
  const problem = blockProblem(block)
  if (problem !== undefined) throw new LedgerError(`block cannot be hashed: ${problem}`)
  return new HashWriter()
    .raw(utf8.encode(BLOCK_HASH_DOMAIN))
    .u64(block.number)
    .bytes(block.previousBlockHash)
    .bytes(block.stateHash)
    .u64(block.timestamp)
    .string(block.proposer)
    .raw(transactionsRoot(block.transactions))
    .digest()
}
