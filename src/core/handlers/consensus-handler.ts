import { HandlerStateError, NotAMemberError, QueueFullError } from '../errors.js'
import type { ChatHandler } from '../chat/handle-chat.js'
import type { ChatStreamEnd } from '../chat/chat-stream.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType, messageTypeName } from '../wire/message-type.js'
import { decodePayload } from '../wire/payloads.js'
import type { PeerHandler } from './peer-handler.js'
import { envelopeBytes } from '../engine/bounded-queue.js'

/**
 * The consensus handler of one link (Fabric's ConsensusHandler), in front of the peer handler.
 * CONSENSUS messages, and transactions relayed by peers, are pushed into the link's bounded queue
 * without ever blocking; when it is full, push throws QueueFullError ("Message channel for <id>
 * full, rejecting"), handleChat answers the sender with it and the link stays up, but is not read
 * again (where the transport can pause) until its queue has drained to half. Every other
 * type goes on to the peer handler.
 *
 * Fabric let a CONSENSUS message through before HELLO with no sender, which crashed PBFT; here it
 * is refused like any other message before the handshake, and CONSENSUS from a peer that is not
 * a validator of the network (membership, or the announced role in open mode) is refused too.
 */
export class ConsensusHandler implements ChatHandler {
  readonly #peer: PeerHandler

  constructor(peer: PeerHandler) {
    this.#peer = peer
  }

  start(): void {
    this.#peer.start()
  }

  reply(envelope: Envelope): void {
    this.#peer.reply(envelope)
  }

  flush(): void {
    this.#peer.flush()
  }

  stop(end: ChatStreamEnd | undefined): void {
    this.#peer.stop(end)
  }

  handleMessage(envelope: Envelope): void | Promise<void> {
    if (envelope.type !== MessageType.CONSENSUS && envelope.type !== MessageType.CHAIN_TRANSACTION) {
      return this.#peer.handleMessage(envelope)
    }
    const link = this.#peer.link
    if (link.state !== 'established' || link.queue === undefined) {
      throw new HandlerStateError(messageTypeName(envelope.type), link.state)
    }
    // Only validators take part in consensus; anyone else may still submit transactions.
    if (envelope.type === MessageType.CONSENSUS && !this.#peer.mayConsent()) throw new NotAMemberError(link.remoteId)
    // Transactions are checked here so a malformed one is refused to its sender, not found later by the consenter.
    if (envelope.type === MessageType.CHAIN_TRANSACTION) decodePayload(MessageType.CHAIN_TRANSACTION, envelope.payload)
    try {
      link.queue.push({ envelope, sender: link.remoteId, bytes: envelopeBytes(envelope) })
    } catch (err) {
      // Full: refuse this one (the sender is told) and stop reading the link until the queue has
      // drained to half, so a flooding sender meets TCP back-pressure instead of costing us a
      // decode and a refusal per message. Transports that cannot pause (browsers) keep refusing.
      if (err instanceof QueueFullError) link.stream.pauseReading?.()
      throw err
    }
  }
}
