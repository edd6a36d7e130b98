/**
 * A validator's side of follower proofs: it signs "block n has hash h" (identity/commit-statement.ts)
 * for some of the blocks it commits and sends the signature to its followers (SYNC_COMMIT_PROOF).
 *
 * Which blocks: every `everyBlocks`-th (block numbers, so every honest validator signs the same
 * ones and their signatures meet in a quorum at a follower), and the head once no block followed
 * for `idleMs` (so the last blocks before a pause are proven too; validators at rest share a head).
 * A proof of block n covers every block below it through the hash chain, so under load the cost is
 * one signature per `everyBlocks` blocks, whatever the rate, and followers lag by at most that many
 * blocks or `idleMs`.
 *
 *   const attester = new CommitAttester({ keyPair, signer: 'vp0', ledger, clock, everyBlocks: 16, idleMs: 50, send, log })
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

export interface CommitAttesterOptions {
  keyPair: KeyPair
  /** This validator's peer ID, as the membership lists it. */
  signer: string
  ledger: Ledger
  clock: Clock
  log: Logger
  everyBlocks: number
  idleMs: number
  /** Sends a signed statement to this validator's followers. */
  send(envelope: Envelope): void
}

export class CommitAttester {
  readonly #o: CommitAttesterOptions
  #unsubscribe: (() => void) | undefined
  #idle: TimerHandle | undefined
  /** Highest block number signed or being signed. */
  #signed = 0
  #latest: { number: number; envelope: Envelope } | undefined
  #stopped = false

  constructor(options: CommitAttesterOptions) {
    this.#o = options
  }

  /** The newest signed statement, if any. */
  get latest(): Envelope | undefined {
    return this.#latest?.envelope
  }

  start(): void {
    this.#unsubscribe = this.#o.ledger.onBlock((block, hash) => {
      this.#clearIdle()
      if (block.number % this.#o.everyBlocks === 0) this.#sign(block.number, hash)
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
        const envelope = makeEnvelope(MessageType.SYNC_COMMIT_PROOF, { number, blockHash: hash, signatures: [signature] }, this.#o.clock.now())
        this.#latest = { number, envelope }
        this.#o.send(envelope)
      },
      (err: unknown) => this.#o.log.error('could not sign a commit statement', { number, error: describeError(err) }),
    )
  }
}
