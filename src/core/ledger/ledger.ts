import type { Block, BlockchainInfo, StateDelta, Transaction } from '../wire/payload-types.js'
import type { TxidIndex } from './committed-txids.js'
import type { KeyBlockIndex } from './key-block-index.js'

/**
 * The ledger a consenter drives: a hash-chained list of blocks over a small key-value state
 * machine. Block 0 is a genesis block every peer builds identically, so a fresh chain has height 1.
 *
 * Two ways in: a consenter that orders transactions itself runs a batch
 * (begin -> exec -> commit, or rollback), and a peer that catches up applies blocks made elsewhere
 * (`applyBlock`), which re-executes them and checks every hash.
 */
export interface Ledger {
  /** Number of blocks, genesis included. */
  height(): number
  /** Hash of the newest block. */
  headHash(): Uint8Array
  info(): BlockchainInfo
  getBlock(number: number): Block | undefined
  /** Blocks start..end inclusive that exist, in order, at most `max` of them. */
  getBlocks(start: number, end: number, max?: number): Block[]
  /** Hash of a block as PROTOCOL.md defines it. */
  hashBlock(block: Block): Uint8Array
  /** Hash of this ledger's block `number`; undefined past the head. Cheaper than hashBlock(getBlock(n)). */
  blockHash(number: number): Uint8Array | undefined
  stateHash(): Uint8Array
  getState(key: string): string | undefined
  /**
   * The whole state, sorted by key (state transfer snapshot). With `maxBytes`, undefined when the
   * state's keys and values may hold more UTF-8 bytes than that and the ledger will not build the
   * whole state to find out (a ledger whose state keys live in a durable index).
   */
  snapshot(maxBytes?: number): [string, string][] | undefined
  /** Write set of one committed block. */
  getDelta(blockNumber: number): StateDelta | undefined
  /** Whether a transaction with this ID is already in a committed block. */
  hasTransaction(txid: string): boolean
  /** Transactions in committed blocks (a chain loaded from a store counts in full). */
  transactionCount(): number
  /** Where a committed transaction sits: its block's number and its index in that block; undefined when not committed. */
  locateTransaction(txid: string): { block: number; index: number } | undefined

  /** Starts a batch; only one batch is open at a time. */
  beginTxBatch(batchId: string): void
  /** Executes transactions into the open batch (duplicates of committed ones are skipped). */
  execTxs(batchId: string, txs: readonly Transaction[]): void
  /** State hash the batch would commit with, without committing. */
  previewCommit(batchId: string): Uint8Array
  /** Commits the open batch as the next block. */
  commitTxBatch(batchId: string, meta: { timestamp: number; proposer: string }): Block
  /** Drops the open batch's writes. */
  rollbackTxBatch(batchId: string): void

  /** Appends a block made elsewhere after checking it extends the chain and its state hash. */
  applyBlock(block: Block): void

  /** Called after every committed or applied block. Returns an unsubscribe function. */
  onBlock(listener: (block: Block, hash: Uint8Array) => void): () => void

  /**
   * Lets the ledger drop what it holds of blocks below `below` that a durable store keeps, reading
   * them back through `read` when asked (old blocks for sync answers, state transfer, the REST
   * API). Returns how many blocks are now read back that way. A ledger may keep them all (0).
   */
  releaseBlocks(below: number, read: (number: number) => Block | undefined): number

  /**
   * Lets the ledger keep only recent committed txids in memory and hand older ones to a durable
   * `index` a generation at a time (committed-txids.ts), which already holds every txid of blocks
   * below `indexedBelow`. Set on a ledger holding only genesis, before its store loads the chain.
   */
  indexTxids(index: TxidIndex, indexedBelow: number): void
  /** Committed txids no longer in memory, found through the txid index (0 without one). */
  releasedTxids(): number

  /**
   * Lets the ledger answer getState without a map of the whole state: it keeps the keys of recent
   * blocks in memory (state-keys.ts) and hands older ones to a durable `index` a generation at a
   * time, which already holds every key of blocks below `indexedBelow`; a value is read back from
   * the newest block that wrote its key. Set on a ledger holding only genesis, before its store
   * loads the chain, and only with blocks the ledger can read back (releaseBlocks).
   */
  indexState(index: KeyBlockIndex, indexedBelow: number): void
}
