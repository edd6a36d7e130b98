/**
 * The PBFT consenter plugin: the adapter between the engine (`recvMsg`) and one Replica.
 *
 * In: CHAIN_TRANSACTION from this peer's clients (sender = our own ID) or from non-validators
 * (their clients' transactions; peers take CONSENSUS from validators only), and CONSENSUS
 * envelopes from validators. Each CONSENSUS payload is decoded (messages.ts); its sender must be
 * a configured validator (peer ID -> replica index through the `validators` option), and the
 * replica id inside it must be that index. Forwarded requests (`req`) are the one exception:
 * anyone may forward a transaction. Everything refused is counted (`status().refused`,
 * `status().invalid`), never thrown.
 * Out: through the Replica, messages on the Stack and blocks on the ledger.
 *
 * A peer that is not in `validators` runs no replica: it sends its clients' transactions to
 * every validator as CHAIN_TRANSACTION and follows blocks as a non-validator.
 *
 *   const consenter = createPbftConsenter(stack, { validators: ['vp0', 'vp1', 'vp2', 'vp3'] })
 */
import type { Logger } from '../../util/logger.js'
import type { Envelope } from '../../wire/envelope.js'
import { MessageType } from '../../wire/message-type.js'
import type { Transaction } from '../../wire/payload-types.js'
import { makeEnvelope } from '../../wire/payloads.js'
import { transactionProblem } from '../../ledger/block-hash.js'
import type { Consenter, ConsenterOptions, Stack } from '../consenter.js'
import { decodeReceived, decodeTransaction } from '../decode-received.js'
import { PBFT_PLUGIN_NAME, resolvePbftConfig, type PbftConfig } from './config.js'
import { decodePbftMessage, type PbftMessage } from './messages.js'
import { Replica, type ReplicaStatus } from './replica.js'

export type PbftStatus = Partial<Omit<ReplicaStatus, 'replica'>> & {
  /** This peer's replica index, or null when it is not a validator. */
  replica: number | null
  /** Peer ID of the primary of the current view. */
  primaryId: string | null
  n: number
  f: number
  /** CONSENSUS messages that failed to decode or carried an invalid transaction. */
  invalid: number
  /** Messages from non-validators, or whose replica id is not the sender's. */
  refused: number
}

export interface PbftConsenter extends Consenter {
  // PBFT does all its work synchronously (state transfer runs in the background): callers such
  // as the simulator drive it without awaiting, and the types say they may.
  start(): void
  stop(): void
  recvMsg(msg: Envelope, sender: string): void
  status(): PbftStatus
  /** Whether this validator's replica holds the request unexecuted (a non-validator holds nothing: it passes requests on at once). */
  isPending(txid: string): boolean
  /** Whether background work (a state transfer) is under way. */
  busy(): boolean
}

/** Builds a PBFT consenter. Throws ConfigError for bad options (validators missing, N < 3f+1, ...). */
export function createPbftConsenter(stack: Stack, options: ConsenterOptions = {}): PbftConsenter {
  return new PbftConsenterImpl(stack, options)
}

class PbftConsenterImpl implements PbftConsenter {
  readonly name = PBFT_PLUGIN_NAME
  readonly #stack: Stack
  readonly #cfg: PbftConfig
  readonly #log: Logger
  readonly #index = new Map<string, number>()
  #replica: Replica | undefined
  #state: 'created' | 'running' | 'stopped' = 'created'
  #invalid = 0
  #refused = 0

  constructor(stack: Stack, options: ConsenterOptions) {
    const { config, unknown } = resolvePbftConfig(options)
    this.#stack = stack
    this.#cfg = config
    this.#log = stack.log.child({ consenter: PBFT_PLUGIN_NAME })
    if (unknown.length > 0) this.#log.warn('unknown pbft options ignored', { options: unknown })
    config.validators.forEach((id, i) => this.#index.set(id, i))
  }

  start(): void {
    if (this.#state !== 'created') return
    this.#state = 'running'
    const self = this.#index.get(this.#stack.getNetworkInfo().self.id)
    if (self !== undefined) {
      this.#replica = new Replica(this.#stack, this.#cfg, self)
      this.#replica.start()
    }
  }

  stop(): void {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    this.#replica?.stop()
  }

  recvMsg(msg: Envelope, sender: string): void {
    if (this.#state !== 'running') return
    if (msg.type === MessageType.CHAIN_TRANSACTION) {
      const tx = decodeReceived(decodeTransaction, msg.payload, this.#log, 'transaction', sender)
      if (tx === undefined || transactionProblem(tx) !== undefined) {
        this.#invalid++
        return
      }
      // A replica passes a client transaction on to the primary, whoever handed it over (its own
      // client, or a peer relaying one to this validator only); the primary executes it once.
      if (this.#replica === undefined) this.#forward(tx)
      else this.#replica.submit(tx)
      return
    }
    if (msg.type !== MessageType.CONSENSUS || this.#replica === undefined) return
    const message = decodeReceived(decodePbftMessage, msg.payload, this.#log, 'pbft message', sender, 'debug')
    if (message === undefined) {
      this.#invalid++
      return
    }
    if (message.t === 'req') {
      this.#replica.receive(message, -1)
      return
    }
    const from = this.#index.get(sender)
    if (message.t !== 'm') {
      if (!this.#acceptable(message, from, sender)) return
      this.#replica.receive(message, from as number)
      return
    }
    // A bundle: each message in it is checked as if it had come alone, and the rest handled together.
    const accepted: PbftMessage[] = []
    for (const inner of message.m) {
      if (inner.t === 'req' || (inner.t !== 'm' && this.#acceptable(inner, from, sender))) accepted.push(inner)
    }
    if (accepted.length > 0) this.#replica.receiveAll(accepted, from ?? -1)
  }

  /** Whether a message (not a request) comes from the validator it names, and not from ourselves. */
  #acceptable(message: Exclude<PbftMessage, { t: 'req' | 'm' }>, from: number | undefined, sender: string): boolean {
    if (from !== undefined && message.r === from && from !== this.#replica?.self) return true
    this.#refused++
    this.#log.debug('pbft message refused: replica id is not the sender\'s', { sender, claimed: message.r })
    return false
  }

  isPending(txid: string): boolean {
    return this.#replica?.holds(txid) ?? false
  }

  busy(): boolean {
    return this.#replica?.transferring ?? false
  }

  status(): PbftStatus {
    const replica = this.#replica?.status()
    return {
      ...replica,
      replica: replica?.replica ?? null,
      primaryId: replica === undefined ? null : (this.#cfg.validators[replica.primary] ?? null),
      n: this.#cfg.n,
      f: this.#cfg.f,
      invalid: this.#invalid,
      refused: this.#refused + (replica?.refused ?? 0),
    }
  }

  /** A non-validator's client transaction, to every validator as CHAIN_TRANSACTION: peers take CONSENSUS from validators only. */
  #forward(tx: Transaction): void {
    this.#stack.broadcast(makeEnvelope(MessageType.CHAIN_TRANSACTION, tx, this.#stack.clock.now()), 'validator')
  }
}
