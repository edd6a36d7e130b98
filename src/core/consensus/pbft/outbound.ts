/**
 * How a replica's messages leave: what one input (a message or a bundle of them, a client request,
 * a timer) makes it broadcast is held until the input is done, then sent as one envelope when it
 * is a single message and as bundles (messages.ts encodeBundle) of at most
 * PBFT_MAX_BUNDLE_MESSAGES messages and about PBFT_MAX_BUNDLE_BYTES bytes when there are several.
 * Every envelope costs a write and a read event on each link and a trip through the receiver's
 * engine, which at small batch sizes cost more than the messages themselves. A unicast first
 * sends what waits, so each link keeps the order the replica sent in.
 *
 * With a consensus log (../consensus-log.ts), what an input promises (promises.ts: its
 * pre-prepares, prepares, commits, view changes and new views, and what `record` adds) is
 * appended as one group, and the input's messages leave only once that group is durable: a
 * replica never sends a promise a crash could make it forget. Later sends, unicasts included,
 * queue behind, so each link still keeps the order. One append per input, not per message, is
 * what keeps the log's cost near the cost of writing the bytes.
 *
 *   const out = new PbftOutbound(stack, config.validators, log, consensusLog)
 *   out.input(() => { out.broadcast(prepare); out.broadcast(commit) })  // one bundle, logged first
 */
import { describeError } from '../../errors.js'
import type { Logger } from '../../util/logger.js'
import type { Envelope } from '../../wire/envelope.js'
import type { ConsensusLog } from '../consensus-log.js'
import { MessageType } from '../../wire/message-type.js'
import type { Stack } from '../consenter.js'
import { PBFT_MAX_BUNDLE_BYTES, PBFT_MAX_BUNDLE_MESSAGES, encodeBundle, encodePbftMessage, type PbftMessage } from './messages.js'
import { isPromise } from './promises.js'

/**
 * Inputs whose sends may wait for the consensus log at most (default 4,096). A log that confirms
 * nothing (a failed disk: consensus-log.ts never calls back after a failed write) would otherwise
 * hold every later message in memory for good; past this the replica goes mute, as it would with
 * a dead disk, and says so once.
 */
export const PBFT_MAX_HELD_INPUTS = 4096

/** Sends of one input waiting for its records to be durable (and for every group before it). */
interface HeldGroup {
  waiting: boolean
  sends: (() => void)[]
}

export class PbftOutbound {
  readonly #stack: Stack
  readonly #validators: readonly string[]
  readonly #log: Logger
  readonly #promises: ConsensusLog | undefined
  /** Inputs being handled, nested; broadcasts wait in #out until none is. */
  #depth = 0
  /** This input's messages, in order: what it sends (`send`) and what it logs (`log`). */
  #out: { msg: PbftMessage; send: boolean; log: boolean }[] = []
  /** Groups whose sends wait for the log, oldest first. */
  #held: HeldGroup[] = []
  #stopped = false

  constructor(stack: Stack, validators: readonly string[], log: Logger, promises?: ConsensusLog) {
    this.#stack = stack
    this.#validators = validators
    this.#log = log
    this.#promises = promises
  }

  /** Runs `fn` as one input: what it broadcasts leaves when the outermost input is done. */
  input(fn: () => void): void {
    this.enter()
    try {
      fn()
    } finally {
      this.leave()
    }
  }

  /** Starts an input (what `input` does, without a closure, for the per-message paths); pair with leave() in a finally. */
  enter(): void {
    this.#depth++
  }

  leave(): void {
    if (--this.#depth === 0) this.flush()
  }

  /** To every validator: now, or when the input being handled is done (and its promises are durable). */
  broadcast(msg: PbftMessage): void {
    this.#out.push({ msg, send: true, log: this.#promises !== undefined && isPromise(msg) })
    if (this.#depth === 0) this.flush()
  }

  /**
   * To every validator again, not logged again: a message this replica already logged when it
   * first sent it and that the log still holds (its view change, resent until a new view; the new
   * view it sent as primary). Each rotation's snapshot carries them, so a resend adds no record.
   */
  resend(msg: PbftMessage): void {
    this.#out.push({ msg, send: true, log: false })
    if (this.#depth === 0) this.flush()
  }

  /** Whether a consensus log keeps this replica's promises. */
  get logging(): boolean {
    return this.#promises !== undefined
  }

  /** Logs `msg` with this input's promises without sending it (a pre-prepare accepted, a stable checkpoint). */
  record(msg: PbftMessage): void {
    if (this.#promises === undefined) return
    this.#out.push({ msg, send: false, log: true })
    if (this.#depth === 0) this.flush()
  }

  /**
   * Opens a new log segment labelled `label` with `snapshot` and lets segments below `dropBelow`
   * go (consensus-log.ts). Called at a stable checkpoint.
   */
  rotate(label: number, snapshot: readonly PbftMessage[], dropBelow: number): void {
    if (this.#promises === undefined || this.#stopped) return
    this.#promises.rotate(label, snapshot.map(encodePbftMessage), dropBelow)
  }

  /**
   * To replica `to`, after what waits. False when it could not be sent (no link to it); when it
   * waits behind promises being logged, whether a link to it is up now. Never logged: a replica
   * unicasts only what it logged when it first broadcast it (its view change) or what binds it
   * to nothing (view status, checkpoints, batches asked for, requests).
   */
  unicast(msg: PbftMessage, to: number): boolean {
    this.flush()
    const id = this.#validators[to] as string
    const envelope = this.#envelope(encodePbftMessage(msg))
    if (this.#held.length > 0) {
      this.#held.push({ waiting: false, sends: [() => this.#unicastNow(envelope, id, to)] })
      return this.#stack.getNetworkHandles().some((e) => e.id === id)
    }
    return this.#unicastNow(envelope, id, to)
  }

  /** Sends what waits (once what it promises is logged). */
  flush(): void {
    const out = this.#out
    if (out.length === 0) return
    this.#out = []
    if (this.#stopped) return
    const promises = this.#promises
    if (promises === undefined) {
      this.#sendParts(out.map((o) => encodePbftMessage(o.msg)))
      return
    }
    const records: Uint8Array[] = []
    const parts: Uint8Array[] = []
    for (const { msg, send, log } of out) {
      const part = encodePbftMessage(msg)
      if (log) records.push(part)
      if (send) parts.push(part)
    }
    if (records.length === 0 && this.#held.length === 0) {
      this.#sendParts(parts)
      return
    }
    const group: HeldGroup = { waiting: records.length > 0, sends: parts.length === 0 ? [] : [() => this.#sendParts(parts)] }
    this.#held.push(group)
    if (this.#held.length > PBFT_MAX_HELD_INPUTS) {
      this.#log.error('pbft consensus log confirms no write; this replica sends nothing more', { waiting: this.#held.length })
      this.stop()
      return
    }
    if (records.length > 0) {
      promises.append(records, () => {
        group.waiting = false
        this.#drain()
      })
    }
    this.#drain()
  }

  /** Nothing is sent from now on. */
  stop(): void {
    this.#stopped = true
    this.#out = []
    this.#held = []
  }

  #drain(): void {
    while (this.#held.length > 0 && !this.#held[0]!.waiting) {
      const group = this.#held.shift()!
      if (this.#stopped) return
      for (const send of group.sends) send()
    }
  }

  #unicastNow(envelope: Envelope, id: string, to: number): boolean {
    if (this.#stopped) return false
    try {
      this.#stack.unicast(envelope, id)
      return true
    } catch (err) {
      this.#log.debug('pbft unicast failed', { to, error: describeError(err) })
      return false
    }
  }

  /** Sends encoded messages: one as itself, several as bundles. */
  #sendParts(parts: readonly Uint8Array[]): void {
    if (parts.length === 0) return
    if (parts.length === 1) {
      this.#broadcastPayload(parts[0]!)
      return
    }
    let bundle: Uint8Array[] = []
    let bytes = 0
    for (const part of parts) {
      if (bundle.length > 0 && (bundle.length >= PBFT_MAX_BUNDLE_MESSAGES || bytes + part.byteLength > PBFT_MAX_BUNDLE_BYTES)) {
        this.#broadcastPayload(bundle.length === 1 ? bundle[0]! : encodeBundle(bundle))
        bundle = []
        bytes = 0
      }
      bundle.push(part)
      bytes += part.byteLength
    }
    this.#broadcastPayload(bundle.length === 1 ? bundle[0]! : encodeBundle(bundle))
  }

  #broadcastPayload(payload: Uint8Array): void {
    this.#stack.broadcast(this.#envelope(payload), 'validator')
  }

  #envelope(payload: Uint8Array): Envelope {
    return { type: MessageType.CONSENSUS, timestamp: this.#stack.clock.now(), payload }
  }
}
