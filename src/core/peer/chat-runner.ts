/**
 * Runs the chat of each of a peer's links: wraps a stream in a Link (handlers/link.ts) with this
 * peer's outbox limits, runs handleChat (chat/handle-chat.ts) on it with the peer's handlers
 * (ConsensusHandler in front of PeerHandler) and codec limits, and counts what goes in and out
 * (peer-metrics.ts). It keeps every link whose chat runs, in its handshake or registered, so the
 * keepalive can sweep them and stop() can close them all and wait for their chats to end.
 *
 * In: streams (dialed or accepted). Out: the chats' promises (a lost duplicate-link tie-break, or
 * a chat cut short by stop, ends quietly), 'message-rejected' details through `onRejected`.
 * Registration is not its business: the handlers do that through the HandlerContext.
 *
 *   const chats = new ChatRunner({ limits, clock, log, metrics, handlerContext, running, onRejected })
 *   const link = chats.newLink(stream, false, undefined)
 *   await chats.run(link)                       // resolves when the chat ends
 *   await chats.closeAll(CloseCode.GOING_AWAY, reason)
 */
import type { ChatStream } from '../chat/chat-stream.js'
import { handleChat } from '../chat/handle-chat.js'
import { DuplicateLinkError } from '../errors.js'
import { ConsensusHandler } from '../handlers/consensus-handler.js'
import type { HandlerContext } from '../handlers/handler-context.js'
import { Link } from '../handlers/link.js'
import { PeerHandler } from '../handlers/peer-handler.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import { messageTypeName } from '../wire/message-type.js'
import type { PeerLimits } from './limits.js'
import type { PeerMetrics } from './peer-metrics.js'
import type { PeerEvents } from './peer-types.js'

export type ChatLimits = Pick<PeerLimits, 'maxFrameBytes' | 'maxEnvelopesPerFrame' | 'targetFrameBytes' | 'sendBufferCapBytes' | 'maxDecodeErrors'>

export interface ChatRunnerOptions {
  limits: ChatLimits
  clock: Clock
  log: Logger
  metrics: PeerMetrics
  /** What every link's handlers need from the peer. */
  handlerContext: HandlerContext
  /** Whether the peer runs: a chat that fails after it stopped ends quietly. */
  running(): boolean
  /** A message or frame was refused (the peer's 'message-rejected' event). */
  onRejected(detail: PeerEvents['message-rejected']): void
}

export class ChatRunner {
  readonly #o: ChatRunnerOptions
  readonly #links = new Set<Link>()
  readonly #chats = new Set<Promise<void>>()

  constructor(options: ChatRunnerOptions) {
    this.#o = options
  }

  /** Every link whose chat runs, in its handshake or registered. */
  get links(): ReadonlySet<Link> {
    return this.#links
  }

  /** A link around a stream; `dialedAddress` is the address dialed, undefined on accepted links. */
  newLink(stream: ChatStream, initiated: boolean, dialedAddress: string | undefined): Link {
    const { limits, clock, log, metrics } = this.#o
    return new Link({
      stream,
      initiated,
      ...(dialedAddress === undefined ? {} : { dialedAddress }),
      now: clock.now(),
      outbox: {
        maxFrameBytes: limits.maxFrameBytes,
        maxEnvelopesPerFrame: limits.maxEnvelopesPerFrame,
        targetFrameBytes: limits.targetFrameBytes,
        sendBufferCapBytes: limits.sendBufferCapBytes,
        onFrameSent: (envelopes) => metrics.countSent(envelopes),
        onOverflow: (error) => log.warn('closing link: remote is not reading', { remote: stream.remote, error: error.message }),
      },
    })
  }

  /** Runs the link's chat; resolves when it ends, rejects when it failed while the peer runs. */
  async run(link: Link): Promise<void> {
    const { limits, clock, log, metrics } = this.#o
    this.#links.add(link)
    const chat = handleChat(link.stream, link.initiated, {
      createHandler: () => new ConsensusHandler(new PeerHandler(link, this.#o.handlerContext)),
      codecLimits: { maxFrameBytes: limits.maxFrameBytes, maxEnvelopesPerFrame: limits.maxEnvelopesPerFrame },
      maxDecodeErrors: limits.maxDecodeErrors,
      onFrame: () => {
        metrics.framesReceived++
        link.lastReceivedAt = clock.now()
      },
      onEnvelope: (envelope) => metrics.countReceived(envelope),
      onError: (error, envelope) => {
        if (error.code === 'ERR_DECODE' || error.code === 'ERR_FRAME_TOO_LARGE') metrics.decodeErrors++
        else metrics.handlerErrors++
        if (error.code === 'ERR_QUEUE_FULL') metrics.queueRejectsTotal++
        this.#o.onRejected({
          peer: link.label,
          type: envelope === undefined ? 'FRAME' : messageTypeName(envelope.type),
          code: error.code,
          message: error.message,
        })
        log.debug('message refused', { remotePeer: link.label, code: error.code, error: error.message })
      },
    })
    const tracked = chat.then(
      () => undefined,
      () => undefined,
    )
    this.#chats.add(tracked)
    try {
      await chat
    } catch (err) {
      // Losing the duplicate-link tie-break is the policy working, not a failure of this chat.
      if (err instanceof DuplicateLinkError) {
        log.debug('duplicate link closed', { remotePeer: link.label, serial: link.serial })
        return
      }
      // A link cut short by stop() (say, in the middle of its handshake) ends with the stop, not in failure.
      if (!this.#o.running()) return
      throw err
    } finally {
      this.#chats.delete(tracked)
      this.#links.delete(link)
    }
  }

  /** Closes every link; the result settles once each chat has ended. */
  closeAll(code: number, reason: string): Promise<unknown> {
    for (const link of this.#links) link.close(code, reason)
    return Promise.allSettled([...this.#chats])
  }
}
