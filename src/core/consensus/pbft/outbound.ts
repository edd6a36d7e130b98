/**
 * How a replica's messages leave: what one input (a message or a bundle of them, a client request,
 * a timer) makes it broadcast is held until the input is done, then sent as one envelope when it
 * is a single message and as bundles (messages.ts encodeBundle) of at most
 * PBFT_MAX_BUNDLE_MESSAGES messages and about PBFT_MAX_BUNDLE_BYTES bytes when there are several.
 * Every envelope costs a write and a read event on each link and a trip through the receiver's
 * engine, which at small batch sizes cost more than the messages themselves. A unicast first
 * sends what waits, so each link keeps the order the replica sent in.
 *
 *   const out = new PbftOutbound(stack, config.validators, log)
 *   out.input(() => { out.broadcast(prepare); out.broadcast(commit) })  // one bundle
 */
import { describeError } from '../../errors.js'
import type { Logger } from '../../util/logger.js'
import type { Envelope } from '../../wire/envelope.js'
import { MessageType } from '../../wire/message-type.js'
import type { Stack } from '../consenter.js'
import { PBFT_MAX_BUNDLE_BYTES, PBFT_MAX_BUNDLE_MESSAGES, encodeBundle, encodePbftMessage, type PbftMessage } from './messages.js'

export class PbftOutbound {
  readonly #stack: Stack
  readonly #validators: readonly string[]
  readonly #log: Logger
  /** Inputs being handled, nested; broadcasts wait in #out until none is. */
  #depth = 0
  #out: PbftMessage[] = []
  #stopped = false

  constructor(stack: Stack, validators: readonly string[], log: Logger) {
    this.#stack = stack
    this.#validators = validators
    this.#log = log
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

  /** To every validator: now, or when the input being handled is done. */
  broadcast(msg: PbftMessage): void {
    this.#out.push(msg)
    if (this.#depth === 0) this.flush()
  }

  /** To replica `to` at once, after what waits. False when it could not be sent (no link to it). */
  unicast(msg: PbftMessage, to: number): boolean {
    this.flush()
    try {
      this.#stack.unicast(this.#envelope(encodePbftMessage(msg)), this.#validators[to] as string)
      return true
    } catch (err) {
      this.#log.debug('pbft unicast failed', { to, error: describeError(err) })
      return false
    }
  }

  /** Sends what waits. */
  flush(): void {
    const out = this.#out
    if (out.length === 0) return
    this.#out = []
    if (this.#stopped) return
    if (out.length === 1) {
      this.#stack.broadcast(this.#envelope(encodePbftMessage(out[0] as PbftMessage)), 'validator')
      return
    }
    let parts: Uint8Array[] = []
    let bytes = 0
    for (const msg of out) {
      const part = encodePbftMessage(msg)
      if (parts.length > 0 && (parts.length >= PBFT_MAX_BUNDLE_MESSAGES || bytes + part.byteLength > PBFT_MAX_BUNDLE_BYTES)) {
        this.#sendParts(parts)
        parts = []
        bytes = 0
      }
      parts.push(part)
      bytes += part.byteLength
    }
    this.#sendParts(parts)
  }

  /** Nothing is sent from now on. */
  stop(): void {
    this.#stopped = true
    this.#out = []
  }

  #sendParts(parts: readonly Uint8Array[]): void {
    this.#stack.broadcast(this.#envelope(parts.length === 1 ? (parts[0] as Uint8Array) : encodeBundle(parts)), 'validator')
  }

  #envelope(payload: Uint8Array): Envelope {
    return { type: MessageType.CONSENSUS, timestamp: this.#stack.clock.now(), payload }
  }
}
