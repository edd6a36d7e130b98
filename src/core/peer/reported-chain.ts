/**
 * The chain a peer reports to its callers (status, GET /chain, /blocks, /transactions): its stored
 * head, not its memory head. With a store (ledger-store.ts, through the PendingStore's
 * storedHeight) a block committed in memory but not yet written could be gone after a crash, so
 * reporting it would let a client see a head, a block or a committed transaction that later
 * vanishes; such a transaction is reported pending instead. Without a store every block counts.
 *
 * In: the ledger, the pending store (undefined in memory). Out: the reported height and head, the
 * chain info, the blocks at or below the head, where a transaction stands. It holds no state.
 *
 *   const reported = new ReportedChain(ledger, pendingStore)
 *   reported.head()                                  // { height, headHash }
 *   reported.transactionStatus(txid, (id) => queued.has(id))
 */
import type { Ledger } from '../ledger/ledger.js'
import type { PendingStore } from '../ledger/pending-store.js'
import { toHex } from '../util/bytes.js'
import type { Block } from '../wire/payload-types.js'
import type { ChainInfo, TransactionStatus } from './peer-types.js'

export class ReportedChain {
  readonly #ledger: Ledger
  readonly #store: Pick<PendingStore, 'storedHeight'> | undefined

  constructor(ledger: Ledger, store: Pick<PendingStore, 'storedHeight'> | undefined) {
    this.#ledger = ledger
    this.#store = store
  }

  /** Blocks this peer reports: those written to its store (all of them without one). */
  height(): number {
    return Math.min(this.#ledger.height(), this.#store?.storedHeight() ?? Number.POSITIVE_INFINITY)
  }

  /** The head this peer reports: the newest block written to its store (the newest of all without one). */
  head(): { height: number; headHash: string } {
    const height = this.height()
    const hash = height === this.#ledger.height() ? this.#ledger.headHash() : this.#ledger.blockHash(height - 1)!
    return { height, headHash: toHex(hash) }
  }

  /** The reported head with the state hash its block carries. */
  chainInfo(): ChainInfo {
    const head = this.head()
    return { ...head, stateHash: toHex(this.#ledger.getBlock(head.height - 1)!.stateHash) }
  }

  /** Block `number` with its hash, when it is at or below the reported head. */
  block(number: number): { block: Block; hash: string } | undefined {
    if (!Number.isSafeInteger(number) || number < 0 || number >= this.height()) return undefined
    const block = this.#ledger.getBlock(number)
    return block === undefined ? undefined : { block, hash: toHex(this.#ledger.blockHash(number)!) }
  }

  /**
   * Where a transaction stands: committed at or below the reported head; pending when committed
   * above it, or when `waiting(txid)` says this peer holds it unordered; else unknown.
   */
  transactionStatus(txid: string, waiting: (txid: string) => boolean): TransactionStatus {
    const place = this.#ledger.locateTransaction(txid)
    if (place !== undefined && place.block < this.height()) return { status: 'committed', block: place.block, index: place.index }
    // Committed in memory but not yet written: a crash now would lose the block here (the others
    // or a resubmission bring it back), so it is not yet reported committed.
    if (place !== undefined) return { status: 'pending' }
    if (waiting(txid)) return { status: 'pending' }
    return { status: 'unknown' }
  }
}
