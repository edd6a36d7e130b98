/**
 * Transactions submitted at this peer, from submit() until its consenter takes them. They wait in
 * the engine's local queue (bounded: a full queue refuses with QueueFullError); until the consenter
 * takes one, the consenter cannot say it is pending, so this unit remembers their txids for
 * transactionStatus. At start it submits again what a previous run acknowledged (the pending store
 * kept it) and no block has committed yet.
 *
 * In: payloads (submit), the engine's word that the consenter took an envelope, the pending store at
 * start. Out: CHAIN_TRANSACTION envelopes on the local queue, and whether a txid still waits there.
 *
 *   const local = new LocalTransactions({ origin: 'vp0', clock, log, pending })
 *   local.open(engine.openQueue({ name: 'vp0', ... }))   // at start; then local.resubmitPending()
 *   const tx = local.accept('payload')                    // queued; the peer then stores it
 *   local.taken(envelope)                                 // engine: the consenter has it now
 *   local.has(tx.txid)                                    // still waiting for the consenter?
 */
import { envelopeBytes, type BoundedQueue } from '../engine/bounded-queue.js'
import { WspeerError, describeError } from '../errors.js'
import type { PendingStore } from '../ledger/pending-store.js'
import { randomHex } from '../util/bytes.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType } from '../wire/message-type.js'
import { makeEnvelope } from '../wire/payloads.js'
import type { Transaction } from '../wire/payload-types.js'

/** Largest transaction payload a client may submit, in UTF-8 bytes. */
export const MAX_TRANSACTION_PAYLOAD_BYTES = 256 * 1024

export interface LocalTransactionsOptions {
  /** This peer's ID: the transactions' origin and the local queue's sender. */
  origin: string
  clock: Clock
  log: Logger
  /** Where acknowledged transactions are kept until committed; undefined in memory. */
  pending: PendingStore | undefined
}

export class LocalTransactions {
  readonly #o: LocalTransactionsOptions
  #queue: BoundedQueue | undefined
  /**
   * Transactions submitted here that the consenter has not taken yet (still in the local queue),
   * by envelope and by txid: the consenter cannot say "pending" for them, yet they are. Bounded
   * by the local queue's bound.
   */
  readonly #queuedTxids = new Map<Envelope, string>()
  readonly #queuedIds = new Set<string>()

  constructor(options: LocalTransactionsOptions) {
    this.#o = options
  }

  /** The engine's local queue, opened at start; nothing is accepted before. */
  open(queue: BoundedQueue): void {
    this.#queue = queue
  }

  /**
   * Checks a payload (a string of at most MAX_TRANSACTION_PAYLOAD_BYTES), makes it a transaction
   * and queues it (throws QueueFullError when the local queue is full).
   */
  accept(payload: string): Transaction {
    if (typeof payload !== 'string') throw new TypeError('transaction payload must be a string')
    const size = new TextEncoder().encode(payload).byteLength
    if (size > MAX_TRANSACTION_PAYLOAD_BYTES) {
      throw new WspeerError('ERR_PAYLOAD_TOO_LARGE', `transaction payload of ${size} bytes exceeds ${MAX_TRANSACTION_PAYLOAD_BYTES}`)
    }
    const tx: Transaction = { txid: randomHex(16), payload, timestamp: this.#o.clock.now(), origin: this.#o.origin }
    this.#enqueue(tx)
    return tx
  }

  /** The consenter took `envelope` from a queue: a transaction of ours is the consenter's to report now. */
  taken(envelope: Envelope): void {
    if (this.#queuedTxids.size === 0) return
    const txid = this.#queuedTxids.get(envelope)
    if (txid === undefined) return
    this.#queuedTxids.delete(envelope)
    this.#queuedIds.delete(txid)
  }

  /** Whether a transaction submitted here waits in the local queue. */
  has(txid: string): boolean {
    return this.#queuedIds.has(txid)
  }

  /** Submits again what a previous run acknowledged and no block has committed yet. */
  resubmitPending(): void {
    let resubmitted = 0
    for (const tx of this.#o.pending?.pending() ?? []) {
      try {
        this.#enqueue(tx)
        resubmitted++
      } catch (err) {
        this.#o.log.warn('pending transaction not resubmitted; the local queue is full', { txid: tx.txid, error: describeError(err) })
      }
    }
    if (resubmitted > 0) this.#o.log.info('resubmitted transactions acknowledged before the last stop', { count: resubmitted })
  }

  /** Hands a transaction of this peer's to the consenter through the local queue (throws QueueFullError when full). */
  #enqueue(tx: Transaction): void {
    const envelope = makeEnvelope(MessageType.CHAIN_TRANSACTION, tx, tx.timestamp)
    this.#queue!.push({ envelope, sender: this.#o.origin, bytes: envelopeBytes(envelope) })
    this.#queuedTxids.set(envelope, tx.txid)
    this.#queuedIds.add(tx.txid)
  }
}
