/**
 * A validator's side of follower proofs: it signs "block n has hash h" (identity/commit-statement.ts)
 * for some of the blocks it commits and sends the signature (SYNC_COMMIT_PROOF) to its followers and
 * to the other validators, which gather f+1 of them into whole proofs for their own followers.
 *
 * Which blocks: every `everyBlocks`-th, and the first block whose proposer timestamp falls in a
 * new period of `periodMs` (both read from the block itself, so every honest validator signs the
 * same blocks and their signatures meet in a quorum at a follower), and the head once no block
 * followed for `idleMs` (so the last blocks before a pause are proven too; validators at rest
 * share a head). A proof of block n covers every block below it through the hash chain, so the
 * cost is at most one signature per `everyBlocks` blocks plus one per `periodMs`, whatever the
 * rate, and a follower waits for a proof about `periodMs` at most.
 *
 *   const attester = new CommitAttester({ keyPair, signer: 'vp0', ledger, clock, everyBlocks: 16, periodMs: 100, idleMs: 50, send, log })
 *   attester.start()          // signs from now on; the stored head after idleMs
 *   attester.latest           // the newest signed statement, for a follower that links later
 *   attester.stop()
 */
import { describeError } from '../errors.js'
import { signCommit } from '../identity/commit-statement.js'
import type { KeyPair } from '../identity/key-pair.js'
import type { Ledger } from '../ledger/ledger.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType } from '../wire/message-type.js'
import { makeEnvelope } from '../wire/payloads.js'
import type { CommitProofPayload } from '../wire/payload-types.js'

export interface CommitAttesterOptions {
  keyPair: KeyPair
  /** This validator's peer ID, as the membership lists it. */
  signer: string
  ledger: Ledger
  clock: Clock
  log: Logger
  everyBlocks: number
  periodMs: number
  idleMs: number
  /** Sends a signed statement (as an envelope, and as its payload for this peer's own use). */
  send(envelope: Envelope, payload: CommitProofPayload): void
}

export class CommitAttester {
  readonly #o: CommitAttesterOptions
  #unsubscribe: (() => void) | undefined
  #idle: TimerHandle | undefined
  /** Highest block number signed or being signed. */
  #signed = 0
  #latest: { number: number; envelope: Envelope } | undefined
  #stopped = false
  /** The period of the previous block's timestamp. */
  #lastPeriod = -1

  constructor(options: CommitAttesterOptions) {
    this.#o = options
  }

  /** The newest signed statement, if any. */
  get latest(): Envelope | undefined {
    return this.#latest?.envelope
  }

  start(): void {
    this.#lastPeriod = this.#periodOf(this.#o.ledger.getBlock(this.#o.ledger.height() - 1)?.timestamp ?? 0)
    this.#unsubscribe = this.#o.ledger.onBlock((block, hash) => {
      this.#clearIdle()
      const period = this.#periodOf(block.timestamp)
      const newPeriod = period > this.#lastPeriod
      this.#lastPeriod = period
      if (block.number % this.#o.everyBlocks === 0 || newPeriod) this.#sign(block.number, hash)
      else this.#armIdle()
    })
    // A chain loaded from a store: its head is proven once the validator is at rest.
    if (this.#o.ledger.height() > 1) this.#armIdle()
  }

  stop(): void {
    this.#stopped = true
    this.#unsubscribe?.()
    this.#clearIdle()
  }

  #periodOf(timestamp: number): number {
    return Math.floor(timestamp / this.#o.periodMs)
  }

  #armIdle(): void {
    this.#idle = this.#o.clock.setTimeout(() => {
      this.#idle = undefined
      const number = this.#o.ledger.height() - 1
      const hash = this.#o.ledger.blockHash(number)
      if (hash !== undefined) this.#sign(number, hash)
    }, this.#o.idleMs)
  }

  #clearIdle(): void {
    if (this.#idle === undefined) return
    this.#o.clock.clearTimeout(this.#idle)
    this.#idle = undefined
  }

  #sign(number: number, hash: Uint8Array): void {
    if (number <= this.#signed) return
    this.#signed = number
    signCommit(this.#o.keyPair, this.#o.signer, number, hash).then(
      (signature) => {
        if (this.#stopped || (this.#latest !== undefined && this.#latest.number > number)) return
        const payload: CommitProofPayload = { number, blockHash: hash, signatures: [signature] }
        const envelope = makeEnvelope(MessageType.SYNC_COMMIT_PROOF, payload, this.#o.clock.now())
        this.#latest = { number, envelope }
        this.#o.send(envelope, payload)
      },
      (err: unknown) => this.#o.log.error('could not sign a commit statement', { number, error: describeError(err) }),
    )
  }
}
