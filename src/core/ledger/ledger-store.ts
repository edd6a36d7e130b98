/**
 * Durability for a Ledger: every committed block, and every transaction a client was told was
 * accepted, kept in an `abstract-level` database (classic-level/LevelDB in Node, browser-level/
 * IndexedDB in tabs, memory-level in tests), and loaded back at the next start.
 *
 * Why beside the ledger rather than inside it: the Ledger interface is synchronous because
 * consenters drive it inside one message's handling, and no consenter may wait on a disk. So the
 * ledger commits in memory as before, and this store writes behind it: each committed block
 * becomes one atomic write batch (the block and the head record, with the deletes of the pending
 * transactions it commits), and blocks that commit while a write is in flight are grouped into
 * the next batch, which carries the head record of the newest of them only (a group commit: one
 * write per round trip of the disk, never one per message).
 * A batch is atomic, so after a kill -9 at any moment the store holds a prefix of the chain; the
 * blocks past it are fetched again from the peers like any missed block.
 *
 * Transactions answered 202 are the other promise: `addPending` resolves only once the
 * transaction is written (in the same group-commit queue), and a restarted peer submits again
 * whatever it still holds that no block has committed.
 *
 * What is written, and what is derived: blocks (with their transactions), the head record and the
 * key indexes are stored; a state value lives only in the block that wrote it, and every hash is
 * computed again at open by applying the stored blocks to the ledger, which re-executes each and
 * checks its hashes. That check is also how a corrupt store
 * is found: it is refused with ERR_LEDGER_CORRUPT, never skipped.
 *
 * Memory: once blocks are written, the store lets the ledger drop their bytes (Ledger.releaseBlocks)
 * and gives them back on demand with the database's synchronous `getSync`, so a Node peer's chain
 * no longer lives in memory twice. Committed txids likewise: the ledger hands each full generation
 * of txids (committed-txids.ts) to this store's txid index, which writes it as one record per hash
 * bucket in the write queue, behind the blocks it covers, and answers lookups with `getSync`, one
 * read per indexed generation, only for IDs the ledger's Bloom filter says it may have seen. State
 * keys the same way, in a second index of the same layout: `getState` reads the newest block that
 * wrote a key, so no map of the whole state is ever built. A
 * database without `getSync` (IndexedDB) keeps every block, txid and state key in memory.
 *
 * Key layout (one keyspace, utf8 keys, binary values):
 *   m/format   "1"            m/network  the network label given at first open
 *   m/head     JSON {"height": n, "hash": "<hex>"}   (in the batch of the newest block it names)
 *   b/<number, 16 decimal digits>   msgpack of the SYNC_BLOCK_ADDED payload {block}
 *   p/<txid>                        msgpack of the CHAIN_TRANSACTION payload
 *   m/txids    JSON {"buckets": 4096, "below": n, "generations": [first block of each]}: the
 *              txid index holds every txid of blocks below n
 *   t/<bucket, 4 hex digits>/<first block, 16 digits>   JSON [[txid, block], ...]: the txids of
 *              one generation whose stable hash (FNV-1a) falls in the bucket
 *   m/state    as m/txids, for the state key index (state-keys.ts): each key with the newest block
 *              that wrote it, whose transactions hold the value
 *   s/<bucket>/<first block>   JSON [[key, block], ...]: as t/, one generation of state keys
 *
 *   const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
 *   const ledger = createMemoryLedger()
 *   const store = await openLedgerStore(ledger, { db, network: 'pbft:vp0,vp1,vp2,vp3', location: dir })
 *   // ... run a peer with { ledger, pending: store } ...
 *   await store.close()
 */
import { LedgerError, LedgerStoreError, describeError } from '../errors.js'
import { toHex } from '../util/bytes.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { MessageType } from '../wire/message-type.js'
import { decodePayload, encodePayload } from '../wire/payloads.js'
import type { Block, Transaction } from '../wire/payload-types.js'
import type { KeyBlockEntries, KeyBlockIndex } from './key-block-index.js'
import type { Ledger } from './ledger.js'
import type { PendingStore } from './pending-store.js'

/** When writes are forced to disk (README "Durability" says what each risks). */
export type FsyncPolicy = 'block' | 'checkpoint' | 'never'
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['block', 'checkpoint', 'never']
/** Default: every write batch is forced to disk before the next one starts. */
export const DEFAULT_FSYNC_POLICY: FsyncPolicy = 'block'
/** Under 'checkpoint', a batch is forced to disk when it holds a block whose number is a multiple of this (PBFT's default K). */
export const DEFAULT_FSYNC_CHECKPOINT_BLOCKS = 10
/** Format of the stored records; a store of another format is refused. */
export const LEDGER_STORE_FORMAT = '1'

/** One write of a batch: the operations abstract-level's `batch` takes. */
export type LevelOperation = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

/**
 * What this store needs of an abstract-level database opened with utf8 keys and binary
 * ('view') values; classic-level, browser-level and memory-level all fit. Declared here rather
 * than imported so the core carries no dependency on abstract-level's Node-flavoured types.
 */
export interface LevelDatabase {
  open(): Promise<void>
  close(): Promise<void>
  get(key: string): Promise<Uint8Array | undefined>
  batch(operations: LevelOperation[], options?: { sync?: boolean }): Promise<void>
  /** `highWaterMarkBytes`: classic-level's read-ahead (documented there); other databases ignore it. */
  iterator(options: { gte: string; lt: string; highWaterMarkBytes?: number }): AsyncIterable<[string, Uint8Array]>
  /** A synchronous read (classic-level and memory-level have it, browser-level does not): lets the ledger read old blocks back. */
  getSync?(key: string): Uint8Array | undefined
  /** abstract-level's manifest; `getSync: true` says getSync works. */
  readonly supports?: object
}

export interface LedgerStoreOptions {
  db: LevelDatabase
  /**
   * Names the network the chain belongs to (a consensus plugin and validator set, say). A store
   * first opened under another label is refused with ERR_LEDGER_OTHER_NETWORK: every wspeer network
   * starts from the same genesis, so without it a peer would carry one network's chain into another.
   */
  network: string
  /** Where the store is (a directory, an IndexedDB name), for error messages. */
  location?: string
  /** How to discard the store, said in the errors that refuse it (default: delete `location`). */
  discardHint?: string
  /** Default DEFAULT_FSYNC_POLICY. */
  fsync?: FsyncPolicy
  /** Default DEFAULT_FSYNC_CHECKPOINT_BLOCKS. */
  checkpointBlocks?: number
  /**
   * Whether the ledger drops the bytes of blocks this store holds and reads them back from it when
   * asked (default true; only with a database that reads synchronously, `supports.getSync`).
   */
  releaseStoredBlocks?: boolean
  log?: Logger
}

export interface LedgerStoreStats {
  /** Height the store holds once every started write completes. */
  storedHeight: number
  /** Blocks committed in memory whose write has not completed yet. */
  unwrittenBlocks: number
  /** Write batches completed, and how many of them were forced to disk. */
  writes: number
  syncedWrites: number
  /** Blocks loaded back at open. */
  loadedBlocks: number
  /** Blocks the ledger no longer holds in memory and reads back from this store. */
  releasedBlocks: number
  /** Committed txids the ledger no longer holds in memory and looks up in this store's txid index. */
  releasedTxids: number
  /** Generations of txids the index holds. */
  txidGenerations: number
  /** Generations of state keys the state index holds (keys -> the newest block that wrote each). */
  stateGenerations: number
}

export interface LedgerStore extends PendingStore {
  readonly fsync: FsyncPolicy
  /** Resolves when everything committed or added so far is written (and synced, per policy). */
  flushed(): Promise<void>
  stats(): LedgerStoreStats
  /** Stops following the ledger, writes what is queued, and closes the database. */
  close(): Promise<void>
}

const META_FORMAT = 'm/format'
const META_NETWORK = 'm/network'
const META_HEAD = 'm/head'
const BLOCK_PREFIX = 'b/'
const PENDING_PREFIX = 'p/'
const META_TXIDS = 'm/txids'
const TXID_PREFIX = 't/'
const META_STATE = 'm/state'
const STATE_PREFIX = 's/'
/** Hash buckets of a key index: a lookup reads one bucket's record per generation. */
const KEY_INDEX_BUCKETS = 4096
/** After '/' in code-unit order: the exclusive end of a prefix's range. */
const prefixEnd = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
const blockKey = (n: number): string => BLOCK_PREFIX + String(n).padStart(16, '0')
/** While loading, the blocks read so far are released every this many (a chunk holds hundreds at most). */
const LOAD_RELEASE_EVERY = 1024
/**
 * Bytes the load's iterator reads ahead per trip to LevelDB's thread (1 MiB). classic-level's
 * default, 16 KiB, is less than one block of 100 transactions, so a load paid a thread-pool round
 * trip per block and the event loop sat idle a quarter of the time. Measured with
 * bench/ledger-load-micro.ts (20,000 blocks of 100): 10.2-10.3 s with the default, 6.6-7.2 s with
 * 1 MiB, 7.1-7.2 s with 4 MiB.
 */
export const LEDGER_LOAD_READ_AHEAD_BYTES = 1024 * 1024
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Told when a queued write completes or fails. */
interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Loads the stored chain into `ledger` (which must hold only genesis), checks the store belongs to
 * `network`, and from then on writes every block the ledger commits. Refuses a corrupt store or
 * one of another network with a LedgerStoreError.
 */
export async function openLedgerStore(ledger: Ledger, options: LedgerStoreOptions): Promise<LedgerStore> {
  const store = new LevelLedgerStore(ledger, options)
  await store.load()
  return store
}

class LevelLedgerStore implements LedgerStore {
  readonly fsync: FsyncPolicy
  readonly #ledger: Ledger
  readonly #db: LevelDatabase
  readonly #opts: LedgerStoreOptions
  readonly #log: Logger
  readonly #checkpointBlocks: number
  /** Operations waiting for the next write, and whether that write must be synced. */
  #queued: LevelOperation[] = []
  #queuedBlocks = 0
  #queuedSync = false
  #queuedWaiters: Waiter[] = []
  /** The head record of the newest queued block: one per batch, however many blocks it holds. */
  #queuedHead: LevelOperation | undefined
  #writing: Promise<void> | undefined
  #failure: LedgerStoreError | undefined
  #storedHeight = 0
  #writes = 0
  #syncedWrites = 0
  #loadedBlocks = 0
  #releasedBlocks = 0
  /** Whether the ledger may drop stored blocks and read them back (releaseStoredBlocks, and a database with getSync). */
  readonly #releases: boolean
  /** Committed txids -> their block, and state keys -> the newest block that wrote each (StoredKeyIndex below). */
  readonly #txidIndex: StoredKeyIndex
  readonly #stateIndex: StoredKeyIndex
  /** Txids held as pending in the store, so a committing block deletes exactly those. */
  readonly #pendingIds = new Set<string>()
  #pending: Transaction[] = []
  #unsubscribe: (() => void) | undefined
  #closed = false

  constructor(ledger: Ledger, options: LedgerStoreOptions) {
    const fsync = options.fsync ?? DEFAULT_FSYNC_POLICY
    if (!FSYNC_POLICIES.includes(fsync)) throw new LedgerError(`fsync must be one of ${FSYNC_POLICIES.join(', ')}, got ${JSON.stringify(fsync)}`)
    const checkpointBlocks = options.checkpointBlocks ?? DEFAULT_FSYNC_CHECKPOINT_BLOCKS
    if (!Number.isSafeInteger(checkpointBlocks) || checkpointBlocks < 1) throw new LedgerError(`checkpointBlocks must be a positive integer, got ${String(checkpointBlocks)}`)
    this.fsync = fsync
    this.#checkpointBlocks = checkpointBlocks
    this.#ledger = ledger
    this.#db = options.db
    this.#opts = options
    this.#log = options.log ?? silentLogger
    this.#releases = (options.releaseStoredBlocks ?? true) && (options.db.supports as { getSync?: unknown } | undefined)?.getSync === true && typeof options.db.getSync === 'function'
    const host: IndexHost = {
      db: this.#db,
      readText: (key) => this.#readText(key),
      closed: () => this.#closed,
      failed: () => this.#failure !== undefined,
      enqueue: (ops, waiter) => this.#enqueueWith(ops, 0, false, waiter),
      corrupt: (problem, cause) => this.#corrupt(problem, cause),
      where: () => this.#where(),
    }
    this.#txidIndex = new StoredKeyIndex(host, { what: 'txid', metaKey: META_TXIDS, prefix: TXID_PREFIX })
    this.#stateIndex = new StoredKeyIndex(host, { what: 'state key', metaKey: META_STATE, prefix: STATE_PREFIX })
  }

  async load(): Promise<void> {
    if (this.#ledger.height() !== 1) throw new LedgerError(`a ledger store loads into a ledger holding only genesis; this one has height ${this.#ledger.height()}`)
    try {
      await this.#db.open()
    } catch (err) {
      // abstract-level's documented code for a store another process holds open.
      if ((err as { cause?: { code?: unknown } }).cause?.code === 'LEVEL_LOCKED') {
        throw new LedgerStoreError('ERR_LEDGER_LOCKED', `the ledger store ${this.#where()} is in use by another process (is this peer already running?)`, { cause: err })
      }
      throw this.#corrupt(`cannot be opened (${describeError(err)})`, err)
    }
    const format = await this.#readText(META_FORMAT)
    const network = await this.#readText(META_NETWORK)
    if (format === undefined && network === undefined) {
      await this.#db.batch([
        { type: 'put', key: META_FORMAT, value: encoder.encode(LEDGER_STORE_FORMAT) },
        { type: 'put', key: META_NETWORK, value: encoder.encode(this.#opts.network) },
      ], { sync: this.fsync !== 'never' })
    } else if (format !== LEDGER_STORE_FORMAT) {
      throw this.#corrupt(`has format ${JSON.stringify(format)}, not ${LEDGER_STORE_FORMAT}`)
    } else if (network !== this.#opts.network) {
      throw new LedgerStoreError(
        'ERR_LEDGER_OTHER_NETWORK',
        `the ledger store ${this.#where()} belongs to network ${JSON.stringify(network)}, not ${JSON.stringify(this.#opts.network)}; ${this.#discard()}`,
      )
    }
    const txidsBelow = await this.#txidIndex.load()
    const stateBelow = await this.#stateIndex.load()
    if (this.#releases) {
      this.#ledger.indexTxids(this.#txidIndex, txidsBelow)
      this.#ledger.indexState(this.#stateIndex, stateBelow)
    }
    await this.#loadBlocks()
    for (const [what, below] of [['txid', txidsBelow], ['state key', stateBelow]] as const) {
      if (below > this.#ledger.height()) throw this.#corrupt(`has a ${what} index of blocks below ${below}, past its chain (height ${this.#ledger.height()})`)
    }
    await this.#loadPending()
    this.#storedHeight = this.#ledger.height()
    this.#unsubscribe = this.#ledger.onBlock((block, hash) => this.#onBlock(block, hash))
  }

  async #loadBlocks(): Promise<void> {
    const headText = await this.#readText(META_HEAD)
    let head: { height: number; hash: string } | undefined
    if (headText !== undefined) {
      try {
        head = JSON.parse(headText) as { height: number; hash: string }
      } catch (err) {
        throw this.#corrupt('has an unreadable head record', err)
      }
      if (!Number.isSafeInteger(head.height) || head.height < 1 || typeof head.hash !== 'string') throw this.#corrupt('has an unreadable head record')
    }
    for await (const [key, value] of this.#db.iterator({ gte: blockKey(1), lt: prefixEnd(BLOCK_PREFIX), highWaterMarkBytes: LEDGER_LOAD_READ_AHEAD_BYTES })) {
      const expected = this.#ledger.height()
      // Blocks past the head record cannot be there: a block and its head record share one batch.
      if (head === undefined || expected >= head.height) throw this.#corrupt(`holds block key ${key} past its head record`)
      if (key !== blockKey(expected)) throw this.#corrupt(`is missing block ${expected} (next key is ${key})`)
      const block = this.#decodeBlock(value, expected)
      try {
        this.#ledger.applyBlock(block)
      } catch (err) {
        throw this.#corrupt(`holds a block ${expected} that does not extend the chain it stores (${describeError(err)})`, err)
      }
      this.#loadedBlocks++
      // Released as the load goes, so a long chain is never all in memory at once.
      if (this.#loadedBlocks % LOAD_RELEASE_EVERY === 0) this.#release(this.#ledger.height())
    }
    this.#release(this.#ledger.height())
    const height = this.#ledger.height()
    if (head !== undefined && (head.height !== height || head.hash !== toHex(this.#ledger.headHash()))) {
      throw this.#corrupt(`has head record ${head.height}/${head.hash} but its blocks end at ${height}/${toHex(this.#ledger.headHash())}`)
    }
    if (this.#loadedBlocks > 0) this.#log.info('ledger loaded from store', { height, location: this.#opts.location })
  }

  async #loadPending(): Promise<void> {
    const stale: LevelOperation[] = []
    for await (const [key, value] of this.#db.iterator({ gte: PENDING_PREFIX, lt: prefixEnd(PENDING_PREFIX) })) {
      let tx: Transaction
      try {
        tx = decodePayload(MessageType.CHAIN_TRANSACTION, value)
      } catch (err) {
        throw this.#corrupt(`holds an unreadable pending transaction ${key} (${describeError(err)})`, err)
      }
      // Committed in a block the store holds, or in one lost with an unwritten tail: the block
      // is what counts; a lost one comes back from the peers, whose chain already holds it.
      if (this.#ledger.hasTransaction(tx.txid)) stale.push({ type: 'del', key })
      else {
        this.#pendingIds.add(tx.txid)
        this.#pending.push(tx)
      }
    }
    if (stale.length > 0) await this.#db.batch(stale)
  }

  pending(): readonly Transaction[] {
    return this.#pending.filter((tx) => this.#pendingIds.has(tx.txid) && !this.#ledger.hasTransaction(tx.txid))
  }

  add(tx: Transaction): Promise<void> {
    if (this.#closed) return Promise.reject(new LedgerStoreError('ERR_LEDGER_WRITE', `the ledger store ${this.#where()} is closed`))
    if (this.#ledger.hasTransaction(tx.txid)) return Promise.resolve()
    this.#pendingIds.add(tx.txid)
    return this.#enqueue([{ type: 'put', key: PENDING_PREFIX + tx.txid, value: encodePayload(MessageType.CHAIN_TRANSACTION, tx) }], 0, this.fsync !== 'never', true)
  }

  flushed(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (this.#queued.length === 0 && this.#writing === undefined) return Promise.resolve()
    if (this.#queued.length === 0) return this.#writing!.then(() => this.flushed())
    return new Promise((resolve, reject) => this.#queuedWaiters.push({ resolve, reject }))
  }

  storedHeight(): number {
    return this.#storedHeight
  }

  stats(): LedgerStoreStats {
    return {
      storedHeight: this.#storedHeight,
      unwrittenBlocks: this.#ledger.height() - this.#storedHeight,
      writes: this.#writes,
      syncedWrites: this.#syncedWrites,
      loadedBlocks: this.#loadedBlocks,
      releasedBlocks: this.#releasedBlocks,
      releasedTxids: this.#ledger.releasedTxids(),
      txidGenerations: this.#txidIndex.generations,
      stateGenerations: this.#stateIndex.generations,
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribe?.()
    try {
      await this.flushed()
    } finally {
      await this.#db.close()
    }
  }

  #onBlock(block: Block, hash: Uint8Array): void {
    if (this.#failure !== undefined) return
    const ops: LevelOperation[] = [{ type: 'put', key: blockKey(block.number), value: encodePayload(MessageType.SYNC_BLOCK_ADDED, { block }) }]
    this.#queuedHead = { type: 'put', key: META_HEAD, value: encoder.encode(JSON.stringify({ height: block.number + 1, hash: toHex(hash) })) }
    if (this.#pendingIds.size > 0) {
      const txs = block.transactions
      for (let i = 0; i < txs.length; i++) {
        const txid = txs[i]!.txid
        if (this.#pendingIds.delete(txid)) ops.push({ type: 'del', key: PENDING_PREFIX + txid })
      }
      if (this.#pendingIds.size === 0) this.#pending = []
    }
    const sync = this.fsync === 'block' || (this.fsync === 'checkpoint' && block.number % this.#checkpointBlocks === 0)
    // Nobody waits on a block's write: the ledger moved on already. A failure is kept and reported.
    this.#enqueue(ops, 1, sync, false).catch(() => undefined)
  }

  #enqueue(ops: LevelOperation[], blocks: number, sync: boolean, wait: boolean): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (!wait) {
      this.#enqueueWith(ops, blocks, sync, undefined)
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => this.#enqueueWith(ops, blocks, sync, { resolve, reject }))
  }

  /** Queues operations for the next write; `waiter` is called synchronously when it completes or fails. */
  #enqueueWith(ops: LevelOperation[], blocks: number, sync: boolean, waiter: Waiter | undefined): void {
    for (let i = 0; i < ops.length; i++) this.#queued.push(ops[i]!)
    this.#queuedBlocks += blocks
    this.#queuedSync ||= sync
    if (waiter !== undefined) this.#queuedWaiters.push(waiter)
    if (this.#writing === undefined) this.#writing = this.#drain()
  }

  /** Writes queued operations one batch at a time until none are left (the group commit). */
  async #drain(): Promise<void> {
    while (this.#queued.length > 0) {
      const ops = this.#queued
      if (this.#queuedHead !== undefined) ops.push(this.#queuedHead)
      this.#queuedHead = undefined
      const blocks = this.#queuedBlocks
      const sync = this.#queuedSync
      const waiters = this.#queuedWaiters
      this.#queued = []
      this.#queuedBlocks = 0
      this.#queuedSync = false
      this.#queuedWaiters = []
      try {
        await this.#db.batch(ops, { sync })
      } catch (err) {
        this.#failure = new LedgerStoreError('ERR_LEDGER_WRITE', `writing the ledger store ${this.#where()} failed (${describeError(err)}); blocks from height ${this.#storedHeight} on are not stored`, { cause: err })
        this.#log.error('ledger store write failed; nothing more is stored', { location: this.#opts.location, error: describeError(err) })
        for (const w of [...waiters, ...this.#queuedWaiters]) w.reject(this.#failure)
        this.#queued = []
        this.#queuedHead = undefined
        this.#queuedWaiters = []
        this.#writing = undefined
        return
      }
      this.#writes++
      if (sync) this.#syncedWrites++
      this.#storedHeight += blocks
      this.#release(this.#storedHeight)
      for (const w of waiters) w.resolve()
    }
    this.#writing = undefined
  }

  /** Lets the ledger drop the blocks below `height`, which this store holds (see releaseStoredBlocks). */
  #release(height: number): void {
    if (!this.#releases) return
    this.#releasedBlocks = this.#ledger.releaseBlocks(height, this.#readBlock)
  }

  /** A stored block, read synchronously; a block that cannot be read back is a corrupt store. */
  readonly #readBlock = (number: number): Block | undefined => {
    if (this.#closed) throw new LedgerStoreError('ERR_LEDGER_CLOSED', `block ${number} lives in the ledger store ${this.#where()}, which is closed`)
    const value = this.#db.getSync!(blockKey(number))
    if (value === undefined) throw this.#corrupt(`lost block ${number}, which it held`)
    const block = this.#decodeBlock(value, number)
    // As the ledger's own blocks are: frozen, so no reader can change what others read.
    for (const tx of block.transactions) Object.freeze(tx)
    Object.freeze(block.transactions)
    return Object.freeze(block)
  }

  /** A stored block record; unreadable bytes are a corrupt store. */
  #decodeBlock(value: Uint8Array, number: number): Block {
    try {
      return decodePayload(MessageType.SYNC_BLOCK_ADDED, value).block
    } catch (err) {
      throw this.#corrupt(`holds an unreadable block ${number} (${describeError(err)})`, err)
    }
  }

  async #readText(key: string): Promise<string | undefined> {
    const value = await this.#db.get(key)
    if (value === undefined) return undefined
    try {
      return decoder.decode(value)
    } catch (err) {
      throw this.#corrupt(`has an unreadable ${key} record`, err)
    }
  }

  #where(): string {
    return this.#opts.location === undefined ? '(unnamed)' : JSON.stringify(this.#opts.location)
  }

  #discard(): string {
    return this.#opts.discardHint ?? `to discard it and catch up from the peers, delete ${this.#where()}`
  }

  #corrupt(problem: string, cause?: unknown): LedgerStoreError {
    return new LedgerStoreError('ERR_LEDGER_CORRUPT', `the ledger store ${this.#where()} ${problem}; ${this.#discard()}`, cause === undefined ? undefined : { cause })
  }
}

/**
 * A key index's bucket of a key: FNV-1a over its UTF-16 code units. Stable across processes
 * (the index outlives them), unlike the keyed hashes in memory; chosen keys can crowd one bucket,
 * which makes lookups of that bucket read more, but only txids the keyed Bloom filter passes are
 * looked up at all, and state keys only when a user reads one.
 */
function keyBucket(key: string, buckets: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h >>> 0) & (buckets - 1)
}

/** What a StoredKeyIndex needs of the store it lives in. */
interface IndexHost {
  db: LevelDatabase
  /** A record as text; unreadable bytes are a corrupt store. */
  readText: (key: string) => Promise<string | undefined>
  closed: () => boolean
  failed: () => boolean
  /** Queues operations for the next write; `waiter` is called synchronously when it completes or fails. */
  enqueue: (ops: LevelOperation[], waiter: Waiter) => void
  corrupt: (problem: string, cause?: unknown) => LedgerStoreError
  where: () => string
}

interface StoredKeyIndexLayout {
  /** Named in errors: 'txid', 'state key'. */
  what: string
  /** Record of the index: JSON {"buckets": n, "below": n, "generations": [first block of each]}. */
  metaKey: string
  /** Prefix of its bucket records, `<prefix><bucket, 4 hex digits>/<first block, 16 digits>`. */
  prefix: string
}

/**
 * The store's side of a KeyBlockIndex: each generation written as one record per hash bucket
 * (JSON [[key, block], ...]) plus the index record naming every generation, in one batch queued
 * behind the blocks it covers (the ledger hands a generation over only after they committed), so
 * an index never names a block the store lacks. Not forced to disk on its own: a lost index write
 * is written again after the next load. The ledger is told synchronously as the write completes,
 * so by the time flushed() resolves it has let the generation go.
 */
class StoredKeyIndex implements KeyBlockIndex {
  readonly #host: IndexHost
  readonly #layout: StoredKeyIndexLayout
  /** First block of each generation the index holds (written), oldest first. */
  #generations: number[] = []
  /** Likewise, with those whose write is queued: what the next index record names. */
  #queued: number[] = []
  #buckets = KEY_INDEX_BUCKETS

  constructor(host: IndexHost, layout: StoredKeyIndexLayout) {
    this.#host = host
    this.#layout = layout
  }

  get generations(): number {
    return this.#generations.length
  }

  /** Reads the index record; returns the height below which the index holds every key (1: none). */
  async load(): Promise<number> {
    const { readText, corrupt } = this.#host
    const { what, metaKey } = this.#layout
    const text = await readText(metaKey)
    if (text === undefined) return 1
    let meta: { buckets?: unknown; below?: unknown; generations?: unknown }
    try {
      meta = JSON.parse(text) as typeof meta
    } catch (err) {
      throw corrupt(`has an unreadable ${what} index record`, err)
    }
    const { buckets, below, generations } = meta
    const isBlock = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1
    if (!(isBlock(buckets) && (buckets & (buckets - 1)) === 0 && isBlock(below) && Array.isArray(generations) && generations.every(isBlock))) {
      throw corrupt(`has an unreadable ${what} index record`)
    }
    this.#buckets = buckets
    this.#generations = [...generations]
    this.#queued = [...generations]
    return below
  }

  lookup(key: string): number | undefined {
    const { db, corrupt, where } = this.#host
    const { what } = this.#layout
    if (this.#host.closed()) throw new LedgerStoreError('ERR_LEDGER_CLOSED', `the ${what} index lives in the ledger store ${where()}, which is closed`)
    const bucket = keyBucket(key, this.#buckets)
    const generations = this.#generations
    // Newest first: recent keys are asked about most, and a state key's newest write is the answer.
    for (let g = generations.length - 1; g >= 0; g--) {
      const recordKey = this.#recordKey(bucket, generations[g]!)
      const value = db.getSync!(recordKey)
      if (value === undefined) continue
      let entries: unknown
      try {
        entries = JSON.parse(decoder.decode(value))
      } catch (err) {
        throw corrupt(`holds an unreadable ${what} index record ${recordKey}`, err)
      }
      if (!Array.isArray(entries)) throw corrupt(`holds an unreadable ${what} index record ${recordKey}`)
      for (const entry of entries as unknown[]) {
        if (Array.isArray(entry) && entry[0] === key) {
          if (!Number.isSafeInteger(entry[1]) || (entry[1] as number) < 1) throw corrupt(`holds a ${what} index record ${recordKey} that names no block for ${JSON.stringify(key)}`)
          return entry[1] as number
        }
      }
    }
    return undefined
  }

  write(entries: KeyBlockEntries, first: number, last: number, written: () => void): void {
    if (this.#host.failed()) return
    const buckets = new Map<number, [string, number][]>()
    entries.forEach((key, block) => {
      const bucket = keyBucket(key, this.#buckets)
      let list = buckets.get(bucket)
      if (list === undefined) buckets.set(bucket, (list = []))
      list.push([key, block])
    })
    const ops: LevelOperation[] = []
    for (const [bucket, list] of buckets) ops.push({ type: 'put', key: this.#recordKey(bucket, first), value: encoder.encode(JSON.stringify(list)) })
    this.#queued.push(first)
    ops.push({ type: 'put', key: this.#layout.metaKey, value: encoder.encode(JSON.stringify({ buckets: this.#buckets, below: last + 1, generations: this.#queued })) })
    this.#host.enqueue(ops, {
      resolve: () => {
        this.#generations.push(first)
        written()
      },
      reject: () => undefined,
    })
  }

  #recordKey(bucket: number, first: number): string {
    return this.#layout.prefix + bucket.toString(16).padStart(4, '0') + '/' + String(first).padStart(16, '0')
  }
}
