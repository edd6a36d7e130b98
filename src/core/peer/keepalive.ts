/**
 * Keepalive: a sweep over a peer's links, every half keepalive interval or half handshake timeout
 * (whichever is shorter; 10 ms to 1 s). A link idle for keepaliveIntervalMs gets a KEEPALIVE_PING
 * (the remote answers PONG, and any frame counts as a sign of life); a link that received nothing
 * for keepaliveTimeoutMs is closed with 4003. A link still in its handshake is left alone: the
 * handshake times it out itself (1008). After each sweep `afterSweep` runs (the peer dials what
 * became due for a redial there, so redials need no timer of their own).
 *
 * In: the links (read each sweep: state, last frame received and sent). Out: PINGs through `send`,
 * closes of silent links. It owns only its timer and the PING nonce.
 *
 *   const keepalive = new Keepalive({ limits, clock, log, links: () => allLinks, send, running, afterSweep })
 *   keepalive.start()
 *   keepalive.stop()
 */
import { CloseToken, closeReason } from '../chat/close-reason.js'
import { CloseCode } from '../errors.js'
import type { LinkState } from '../handlers/link.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType } from '../wire/message-type.js'
import { makeEnvelope } from '../wire/payloads.js'
import type { PeerLimits } from './limits.js'

/** What the sweep reads of a link, and how it closes one (handlers/link.ts's Link has all of it). */
export interface KeepaliveLink {
  readonly stream: { readonly closed: boolean }
  readonly state: LinkState
  /** Clock ms of the last frame received. */
  readonly lastReceivedAt: number
  /** Clock ms of the last envelope sent. */
  readonly lastSentAt: number
  /** For logs. */
  readonly label: string
  close(code: number, reason: string): void
}

export type KeepaliveLimits = Pick<PeerLimits, 'keepaliveIntervalMs' | 'keepaliveTimeoutMs' | 'handshakeTimeoutMs'>

export interface KeepaliveOptions<L extends KeepaliveLink> {
  limits: KeepaliveLimits
  clock: Clock
  log: Logger
  /** Every link, in its handshake or established. */
  links(): Iterable<L>
  /** Sends on a link; false when it could not (closed). */
  send(link: L, envelope: Envelope): boolean
  /** Whether the peer runs: the sweeps stop with it. */
  running(): boolean
  afterSweep(): void
}

/** Time between sweeps: half the shorter of the keepalive interval and the handshake timeout, within 10 ms..1 s. */
export function sweepPeriod(limits: KeepaliveLimits): number {
  return Math.max(10, Math.min(1000, Math.floor(limits.keepaliveIntervalMs / 2), Math.floor(limits.handshakeTimeoutMs / 2)))
}

export class Keepalive<L extends KeepaliveLink> {
  readonly #o: KeepaliveOptions<L>
  #timer: TimerHandle | undefined
  #nonce = 0

  constructor(options: KeepaliveOptions<L>) {
    this.#o = options
  }

  start(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      if (!this.#o.running()) return
      this.#sweep()
      this.start()
    }, sweepPeriod(this.#o.limits))
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer)
  }

  #sweep(): void {
    const { clock, limits, log } = this.#o
    const now = clock.now()
    for (const link of this.#o.links()) {
      if (link.stream.closed) continue
      // A link still in its handshake is timed out by the handshake itself (1008).
      if (link.state === 'created') continue
      if (now - link.lastReceivedAt >= limits.keepaliveTimeoutMs) {
        log.info('closing silent link', { remotePeer: link.label, silentMs: now - link.lastReceivedAt })
        link.close(CloseCode.KEEPALIVE_TIMEOUT, closeReason(CloseToken.KEEPALIVE_TIMEOUT, `nothing received for ${now - link.lastReceivedAt} ms`))
      } else if (now - link.lastSentAt >= limits.keepaliveIntervalMs) {
        this.#o.send(link, makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: ++this.#nonce }))
      }
    }
    this.#o.afterSweep()
  }
}
