/**
 * The in-memory Ledger: every block, the key-value state and the set of committed txids, all held
 * in memory for the life of the peer, unless a durable store takes old blocks, txids and state
 * keys off it (releaseBlocks, indexTxids, indexState). A block's write set (its delta) is not kept beside it: it
 * follows from the block's transactions and is computed again when asked for. Every object kept
 * per block is copied by each young-generation GC it lives through, so a validator at thousands of
 * blocks a second keeps as few of them as it can.
 *
 * Data enters two ways: a consenter's batch (beginTxBatch -> execTxs -> commitTxBatch, or
 * rollbackTxBatch), or `applyBlock` for a block made elsewhere, which is re-executed and checked
 * (number, previous hash, state hash) before anything changes. It leaves through the getters
 * (blocks for SYNC_BLOCKS, snapshot and deltas for state transfer) and `onBlock` listeners, which
 * run after each commit or apply.
 *
 * Blocks handed out are frozen objects shared with the ledger; their hash fields are Uint8Arrays,
 * which cannot be frozen: treat them as read-only.
 *
 *   const ledger = createMemoryLedger()
 *   ledger.beginTxBatch('b1'); ledger.execTxs('b1', txs)
 *   const block = ledger.commitTxBatch('b1', { timestamp: clock.now(), proposer: 'vp0' })
 */
import { LedgerError, describeError } from '../errors.js'
import { bytesEqual, toHex } from '../util/bytes.js'
import { silentLogger, type Logger } from '../util/logger.js'
import type { Block, BlockchainInfo, StateDelta, Transaction } from '../wire/payload-types.js'
import { blockProblem, genesisBlock, hashBlock, isSealed, isUint64, isWellFormedString, sealTransactions, transactionProblem } from './block-hash.js'
import { createBlockStore, type BlockStore, type BlockStoreOptions } from './block-store.js'
import { CommittedTxids, type CommittedTxidsOptions, type TxidIndex } from './committed-txids.js'
import type { KeyBlockIndex } from './key-block-index.js'
import type { Ledger } from './ledger.js'
import { StateKeys, STATE_GENERATION_SIZE } from './state-keys.js'
import { OPAQUE_KEY_PREFIX, compareCodePoints, nextStateHash, payloadKey, sortWrites, transactionWrite } from './state-machine.js'

export interface MemoryLedgerOptions {
  /** Where errors thrown by onBlock listeners are reported (they never undo a commit). */
  log?: Logger
  /** Chunk sizes of the packed block store (block-store.ts defaults). */
  blockStore?: BlockStoreOptions
  /** How committed txids are held once a store indexes them (committed-txids.ts defaults). */
  txids?: CommittedTxidsOptions
  /** Distinct state keys per in-memory generation once a store indexes them (default STATE_GENERATION_SIZE). */
  stateGenerationSize?: number
}

interface OpenBatch {
  id: string
  writes: Map<string, string>
  txs: Transaction[]
  txids: Set<string>
  /**
   * A sealed list (block-hash.ts sealTransactions) this batch executed whole, as its only
   * execTxs: the block then carries that frozen list itself, and hashing it reuses its root.
   */
  sealed: readonly Transaction[] | undefined
}

type BlockListener = (block: Block, hash: Uint8Array) => void

export function createMemoryLedger(options: MemoryLedgerOptions = {}): Ledger {
  return new MemoryLedger(options.log ?? silentLogger, createBlockStore(options.blockStore), new CommittedTxids(options.txids), options.stateGenerationSize ?? STATE_GENERATION_SIZE)
}

class MemoryLedger implements Ledger {
  readonly #log: Logger
  /** Every block but the head, packed (block-store.ts says why); the head also stays as objects. */
  readonly #store: BlockStore
  #headBlock: Block
  #headHash: Uint8Array
  /**
   * The key-value state, built from every block's writes the first time it is read (getState, snapshot) and
   * kept current from then on. Until then a commit costs no insert into a map that grows with every
   * transaction ever executed: profiles of a validator under load showed that insert as the
   * ledger's largest single cost, for a state nothing on the commit path reads.
   */
  #state: Map<string, string> | undefined
  /** Instead of #state, once a store indexes state keys (indexState): each key's newest block. */
  #stateKeys: StateKeys | undefined
  /** Every committed transaction ID and its block (committed-txids.ts: in memory, or recent ones once a store indexes them). */
  readonly #txids: CommittedTxids
  readonly #listeners = new Set<BlockListener>()
  #batch: OpenBatch | undefined

  readonly #stateGenerationSize: number

  constructor(log: Logger, store: BlockStore, txids: CommittedTxids, stateGenerationSize: number) {
    this.#log = log
    this.#stateGenerationSize = stateGenerationSize
    this.#store = store
    this.#txids = txids
    const genesis = genesisBlock()
    this.#headBlock = genesis
    this.#headHash = hashBlock(genesis)
    this.#append(genesis, this.#headHash, [])
  }

  height(): number {
    return this.#store.length
  }

  headHash(): Uint8Array {
    return this.#head().hash.slice()
  }

  info(): BlockchainInfo {
    const { block, hash } = this.#head()
    return { height: this.height(), currentBlockHash: hash.slice(), previousBlockHash: block.previousBlockHash.slice() }
  }

  getBlock(number: number): Block | undefined {
    return number === this.height() - 1 ? this.#headBlock : this.#store.block(number)
  }

  getBlocks(start: number, end: number, max = Number.POSITIVE_INFINITY): Block[] {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || !(max > 0)) return []
    const from = Math.max(0, start)
    const to = Math.min(end, this.height() - 1, from + Math.floor(Math.min(max, this.height())) - 1)
    const blocks: Block[] = []
    for (let n = from; n <= to; n++) blocks.push(this.getBlock(n)!)
    return blocks
  }

  hashBlock(block: Block): Uint8Array {
    return block === this.#headBlock ? this.#headHash.slice() : hashBlock(block)
  }

  blockHash(number: number): Uint8Array | undefined {
    return this.#store.hash(number)
  }

  stateHash(): Uint8Array {
    return this.#head().block.stateHash.slice()
  }

  getState(key: string): string | undefined {
    if (this.#stateKeys === undefined) return this.#stateMap().get(key)
    let number = this.#stateKeys.get(key)
    // tx/<txid> is also written by the opaque transaction of that ID: the newer write wins.
    if (key.startsWith(OPAQUE_KEY_PREFIX)) {
      const opaque = this.#txids.get(key.slice(OPAQUE_KEY_PREFIX.length))
      if (opaque !== undefined && (number === undefined || opaque > number)) number = opaque
    }
    if (number === undefined) return undefined
    // The block's last write of the key is its value (transactionWrite: one write per transaction).
    const txs = this.getBlock(number)!.transactions
    for (let i = txs.length - 1; i >= 0; i--) {
      const [written, value] = transactionWrite(txs[i]!)
      if (written === key) return value
    }
    throw new LedgerError(`the state key index names block ${number} for ${JSON.stringify(key)}, which does not write it`)
  }

  snapshot(maxBytes?: number): [string, string][] | undefined {
    if (this.#stateKeys === undefined) return [...this.#stateMap()].sort((a, b) => compareCodePoints(a[0], b[0]))
    // No map of the whole state is kept here (see #stateKeys), and building one to measure it is
    // what must not happen. Every write's key and value come from its transaction's fields, which
    // the packed store holds in at least as many bytes: so its size bounds the state's, and a
    // chain that passes is small enough to replay.
    if (maxBytes === undefined || this.#store.bytes > maxBytes) return undefined
    const state = new Map<string, string>()
    for (let n = 1; n < this.height(); n++) for (const [key, value] of blockWrites(this.getBlock(n)!)) state.set(key, value)
    return [...state].sort((a, b) => compareCodePoints(a[0], b[0]))
  }

  getDelta(blockNumber: number): StateDelta | undefined {
    const block = this.getBlock(blockNumber)
    return block === undefined ? undefined : { blockNumber, writes: blockWrites(block) }
  }

  hasTransaction(txid: string): boolean {
    return this.#txids.has(txid)
  }

  releaseBlocks(below: number, read: (number: number) => Block | undefined): number {
    return this.#store.release(Math.min(below, this.height() - 1), read)
  }

  indexTxids(index: TxidIndex, indexedBelow: number): void {
    if (this.height() !== 1) throw new LedgerError(`a txid index is set on a ledger holding only genesis; this one has height ${this.height()}`)
    this.#txids.useIndex(index, indexedBelow)
  }

  releasedTxids(): number {
    return this.#txids.released
  }

  indexState(index: KeyBlockIndex, indexedBelow: number): void {
    if (this.height() !== 1) throw new LedgerError(`a state key index is set on a ledger holding only genesis; this one has height ${this.height()}`)
    if (this.#stateKeys !== undefined) throw new LedgerError('a state key index is set once')
    this.#stateKeys = new StateKeys(index, indexedBelow, this.#stateGenerationSize)
  }

  transactionCount(): number {
    return this.#txids.size
  }

  locateTransaction(txid: string): { block: number; index: number } | undefined {
    const number = this.#txids.get(txid)
    if (number === undefined) return undefined
    const txs = this.getBlock(number)?.transactions
    if (txs === undefined) return undefined
    for (let i = 0; i < txs.length; i++) if (txs[i]!.txid === txid) return { block: number, index: i }
    return undefined
  }

  beginTxBatch(batchId: string): void {
    if (this.#batch !== undefined) {
      throw new LedgerError(`cannot begin batch ${JSON.stringify(batchId)}: batch ${JSON.stringify(this.#batch.id)} is open`)
    }
    this.#batch = { id: batchId, writes: new Map(), txs: [], txids: new Set(), sealed: undefined }
  }

  execTxs(batchId: string, txs: readonly Transaction[]): void {
    const batch = this.#openBatch(batchId, 'execute into')
    // Check every transaction first, so a refused call leaves the batch as it was. A sealed list
    // was checked when it was sealed.
    const isSealedList = isSealed(txs)
    if (!isSealedList) {
      txs.forEach((tx, i) => {
        const problem = transactionProblem(tx)
        if (problem !== undefined) throw new LedgerError(`transaction ${i} refused: ${problem}`)
      })
    }
    // A sealed list is frozen, so a block may carry it as it is: its transactions are copied only
    // if it turns out not to be taken whole (a duplicate, or a second execTxs into this batch).
    const first = batch.txs.length === 0 && batch.sealed === undefined
    const sealed = first && txs.length > 0 && isSealedList
    if (!first && batch.sealed !== undefined) {
      batch.txs = batch.sealed.map(copyTransaction)
      batch.sealed = undefined
    }
    // Indexed loops on this path (per transaction, on every validator): for-of and array
    // destructuring left an iterator result object per step in allocation profiles.
    const taken: Transaction[] = []
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i]!
      const txid = tx.txid
      if (this.#txids.has(txid) || batch.txids.has(txid)) continue
      const write = transactionWrite(tx)
      batch.writes.set(write[0], write[1])
      batch.txids.add(txid)
      taken.push(tx)
    }
    if (sealed && taken.length === txs.length) batch.sealed = txs
    else for (let i = 0; i < taken.length; i++) batch.txs.push(copyTransaction(taken[i]!))
  }

  previewCommit(batchId: string): Uint8Array {
    const batch = this.#openBatch(batchId, 'preview')
    return nextStateHash(this.#head().block.stateHash, sortWrites(batch.writes))
  }

  commitTxBatch(batchId: string, meta: { timestamp: number; proposer: string }): Block {
    const batch = this.#openBatch(batchId, 'commit')
    if (!isUint64(meta.timestamp)) throw new LedgerError('block timestamp must be an integer in 0..2^53-1')
    if (!isWellFormedString(meta.proposer)) throw new LedgerError('block proposer must be a well-formed string')
    const writes = sortWrites(batch.writes)
    const { block: head, hash: headHash } = this.#head()
    const block: Block = {
      number: this.height(),
      // Shared with the head's hash, read-only like every hash field of a ledger block: one array
      // fewer kept per block.
      previousBlockHash: headHash,
      stateHash: nextStateHash(head.stateHash, writes),
      timestamp: meta.timestamp,
      proposer: meta.proposer,
      // The sealed list's root is already known.
      transactions: batch.sealed !== undefined ? (batch.sealed as Transaction[]) : batch.txs,
    }
    this.#batch = undefined
    this.#append(block, hashBlock(block), writes)
    return block
  }

  rollbackTxBatch(batchId: string): void {
    this.#openBatch(batchId, 'roll back')
    this.#batch = undefined
  }

  applyBlock(block: Block): void {
    if (this.#batch !== undefined) {
      throw new LedgerError(`cannot apply block ${String(block?.number)} while batch ${JSON.stringify(this.#batch.id)} is open`)
    }
    const problem = blockProblem(block)
    if (problem !== undefined) throw new LedgerError(`block refused: ${problem}`)
    const { block: head, hash: headHash } = this.#head()
    if (block.number !== this.height()) {
      throw new LedgerError(`block ${block.number} refused: the next block is ${this.height()}`)
    }
    if (!bytesEqual(block.previousBlockHash, headHash)) {
      throw new LedgerError(
        `block ${block.number} refused: previousBlockHash ${toHex(block.previousBlockHash)} is not the head hash ${toHex(headHash)}`,
      )
    }
    const writes = new Map<string, string>()
    const seen = new Set<string>()
    const txs = block.transactions
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i]!
      // An honest proposer leaves duplicates out of its block (execTxs skips them), so one here is forged.
      if (this.#txids.has(tx.txid) || seen.has(tx.txid)) {
        throw new LedgerError(`block ${block.number} refused: transaction ${JSON.stringify(tx.txid)} is a duplicate`)
      }
      seen.add(tx.txid)
      const write = transactionWrite(tx)
      writes.set(write[0], write[1])
    }
    const sorted = sortWrites(writes)
    const stateHash = nextStateHash(head.stateHash, sorted)
    if (!bytesEqual(stateHash, block.stateHash)) {
      throw new LedgerError(
        `block ${block.number} refused: stateHash ${toHex(block.stateHash)} differs from the re-executed ${toHex(stateHash)}`,
      )
    }
    const copy: Block = {
      number: block.number,
      previousBlockHash: headHash,
      stateHash: block.stateHash.slice(),
      timestamp: block.timestamp,
      proposer: block.proposer,
      // Sealed (frozen, checked again) so hashing it keeps the encoded records the store then copies.
      transactions: sealTransactions(block.transactions.map(copyTransaction)),
    }
    this.#append(copy, hashBlock(copy), sorted)
  }

  onBlock(listener: BlockListener): () => void {
    // Wrapped so the same function can subscribe twice and unsubscribe each time separately.
    const entry: BlockListener = (block, hash) => listener(block, hash)
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  #head(): { block: Block; hash: Uint8Array } {
    return { block: this.#headBlock, hash: this.#headHash }
  }

  #openBatch(batchId: string, action: string): OpenBatch {
    if (this.#batch === undefined) throw new LedgerError(`cannot ${action} batch ${JSON.stringify(batchId)}: no batch is open`)
    if (this.#batch.id !== batchId) {
      throw new LedgerError(`cannot ${action} batch ${JSON.stringify(batchId)}: the open batch is ${JSON.stringify(this.#batch.id)}`)
    }
    return this.#batch
  }

  /** The state map, built from every block's writes on first use (see #state); never with #stateKeys. */
  #stateMap(): Map<string, string> {
    if (this.#state !== undefined) return this.#state
    const state = new Map<string, string>()
    for (let n = 1; n < this.height(); n++) for (const [key, value] of blockWrites(this.getBlock(n)!)) state.set(key, value)
    this.#state = state
    return state
  }

  #append(block: Block, hash: Uint8Array, writes: [string, string][]): void {
    // A sealed list is frozen through already.
    const txs = block.transactions
    if (!isSealed(txs)) {
      for (let i = 0; i < txs.length; i++) Object.freeze(txs[i])
      Object.freeze(txs)
    }
    Object.freeze(block)
    this.#store.append(block, hash)
    this.#headBlock = block
    this.#headHash = hash
    const state = this.#state
    if (state !== undefined) for (let i = 0; i < writes.length; i++) state.set(writes[i]![0], writes[i]![1])
    const stateKeys = this.#stateKeys
    if (stateKeys !== undefined) {
      // Only keys a `key=value` payload sets: an opaque payload's key is tx/<txid>, whose block the
      // committed txids know already (getState).
      for (let i = 0; i < txs.length; i++) {
        const key = payloadKey(txs[i]!.payload)
        if (key !== undefined) stateKeys.add(key, block.number)
      }
    }
    // The block number rides in the set, so locateTransaction needs no index of its own.
    for (let i = 0; i < txs.length; i++) this.#txids.add(txs[i]!.txid, block.number)
    if (block.number === 0) return
    for (const listener of [...this.#listeners]) {
      try {
        listener(block, hash.slice())
      } catch (err) {
        this.#log.error('onBlock listener failed', { block: block.number, error: describeError(err) })
      }
    }
  }
}

/**
 * A block's sorted write set, computed again from its transactions: every transaction makes one
 * write, so the block holds its delta already and the ledger keeps no second copy of it.
 */
function blockWrites(block: Block): [string, string][] {
  const writes = new Map<string, string>()
  for (const tx of block.transactions) writes.set(...transactionWrite(tx))
  return sortWrites(writes)
}

function copyTransaction(tx: Transaction): Transaction {
  return { txid: tx.txid, payload: tx.payload, timestamp: tx.timestamp, origin: tx.origin }
}
