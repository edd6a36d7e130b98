import { CloseCode, DuplicateHelloError, HandlerStateError, HandshakeError, HandshakeTimeoutError, UnknownTypeError } from '../errors.js'
import type { ChatHandler } from '../chat/handle-chat.js'
import type { ChatStreamEnd } from '../chat/chat-stream.js'
import { CloseToken, closeReason, closeReasonOf } from '../chat/close-reason.js'
import type { Handshake } from '../identity/handshake.js'
import { helloFieldsOf, messageFromHello, type HandshakeMessage } from '../identity/handshake-messages.js'
import type { Link } from './link.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType, messageTypeName } from '../wire/message-type.js'
import { peekAnnouncedBlockNumber } from '../wire/block-added-peek.js'
import { decodePayload, makeEnvelope, makeResponse } from '../wire/payloads.js'
import { ResponseStatus } from '../wire/payload-types.js'
import type { HandlerContext } from './handler-context.js'
import { blocksAnswer, deltasAnswer, snapshotAnswer } from './sync-answers.js'

/**
 * The peer handler of one link (Fabric's PeerHandler): a two-state machine.
 *
 *   created --authenticated HELLO exchange--> established --(stream ends)--> closed
 *
 * In `created` the link runs the authenticated handshake (PROTOCOL.md 8.1), three DISC_HELLOs:
 * the dialer's step 1, the acceptor's step 2, the dialer's step 3. The dialer registers the link
 * once step 2 verifies (after sending step 3); the acceptor once step 3 verifies. Only DISC_HELLO
 * is accepted before that: anything else is refused with an error naming the type and the state,
 * and not processed. A refused handshake (bad signature, key mismatch, timeout...) closes the
 * link with 1008 and registers nothing. Established links serve discovery, sync and keepalive;
 * CONSENSUS never reaches this handler (the consensus handler in front of it takes those).
 */
export class PeerHandler implements ChatHandler {
  readonly link: Link
  readonly #ctx: HandlerContext
  #handshake: Handshake | undefined

  constructor(link: Link, ctx: HandlerContext) {
    this.link = link
    this.#ctx = ctx
  }

  /** Whether the link's remote may send CONSENSUS (asked by the consensus handler). */
  mayConsent(): boolean {
    return this.#ctx.mayConsent(this.link)
  }

  start(): void {
    const handshake = this.#ctx.createHandshake(this.link)
    this.#handshake = handshake
    // The timeout fires while no frame arrives, so the receive loop cannot see it: tell the remote
    // and close here. Refusals of a received HELLO are thrown into handleChat, which does the same.
    handshake.done.catch((err: unknown) => {
      if (!(err instanceof HandshakeTimeoutError) || this.link.stream.closed || this.link.state !== 'created') return
      this.#ctx.log.info('handshake timed out', { remote: this.link.label, error: err.message })
      this.reply(makeResponse(ResponseStatus.FAILURE, err.message, { code: err.code }))
      this.link.close(err.closeCode ?? CloseCode.POLICY_VIOLATION, closeReasonOf(err))
    })
    const init = handshake.start()
    if (init !== undefined) this.#sendHello(init)
  }

  reply(envelope: Envelope): void {
    this.link.send(envelope, this.#ctx.now())
  }

  flush(): void {
    this.link.outbox.flush()
  }

  stop(end: ChatStreamEnd | undefined): void {
    this.#handshake?.abort()
    this.link.state = 'closed'
    this.#ctx.linkEnded(this.link, end)
  }

  #sendHello(message: HandshakeMessage): void {
    const { peerEndpoint, auth } = helloFieldsOf(message)
    this.reply(makeEnvelope(MessageType.DISC_HELLO, { peerEndpoint, blockchainInfo: this.#ctx.chainInfo(), auth }, this.#ctx.now()))
  }

  handleMessage(envelope: Envelope): void | Promise<void> {
    if (this.link.state !== 'established') {
      if (envelope.type !== MessageType.DISC_HELLO) throw new HandlerStateError(messageTypeName(envelope.type), this.link.state)
      return this.#hello(envelope)
    }
    switch (envelope.type) {
      case MessageType.DISC_HELLO:
        throw new DuplicateHelloError()
      case MessageType.DISC_DISCONNECT: {
        const { reason } = decodePayload(MessageType.DISC_DISCONNECT, envelope.payload)
        this.#ctx.log.info('peer disconnected', { remotePeer: this.link.label, reason })
        this.link.close(1000, closeReason(CloseToken.DISCONNECT, 'disconnect requested'))
        return
      }
      case MessageType.DISC_GET_PEERS:
        decodePayload(MessageType.DISC_GET_PEERS, envelope.payload)
        return this.reply(makeEnvelope(MessageType.DISC_PEERS, { peers: this.#ctx.peersFor(this.link) }))
      case MessageType.DISC_PEERS:
        return this.#ctx.learnPeers(decodePayload(MessageType.DISC_PEERS, envelope.payload).peers, this.link)
      case MessageType.SYNC_GET_BLOCKS: {
        const req = decodePayload(MessageType.SYNC_GET_BLOCKS, envelope.payload)
        // Answers can be large: none is built for a link whose send buffer is already full.
        this.link.outbox.ensureRoom()
        const blocks = blocksAnswer(this.#ctx.ledger, req.start, req.end, this.#ctx.syncAnswerBudget)
        return this.reply(makeEnvelope(MessageType.SYNC_BLOCKS, { requestId: req.requestId, blocks }))
      }
      case MessageType.SYNC_STATE_GET_SNAPSHOT: {
        const req = decodePayload(MessageType.SYNC_STATE_GET_SNAPSHOT, envelope.payload)
        this.link.outbox.ensureRoom()
        const ledger = this.#ctx.ledger
        return this.reply(
          makeEnvelope(MessageType.SYNC_STATE_SNAPSHOT, {
            requestId: req.requestId,
            height: ledger.height(),
            stateHash: ledger.stateHash(),
            entries: snapshotAnswer(ledger, this.#ctx.syncAnswerBudget),
          }),
        )
      }
      case MessageType.SYNC_STATE_GET_DELTAS: {
        const req = decodePayload(MessageType.SYNC_STATE_GET_DELTAS, envelope.payload)
        this.link.outbox.ensureRoom()
        const deltas = deltasAnswer(this.#ctx.ledger, req.start, req.end, this.#ctx.syncAnswerBudget)
        return this.reply(makeEnvelope(MessageType.SYNC_STATE_DELTAS, { requestId: req.requestId, deltas }))
      }
      case MessageType.SYNC_BLOCKS:
      case MessageType.SYNC_STATE_SNAPSHOT:
      case MessageType.SYNC_STATE_DELTAS: {
        const payload = decodePayload(envelope.type, envelope.payload)
        return this.#ctx.resolveRequest(payload.requestId, envelope.type, payload, this.link)
      }
      case MessageType.SYNC_BLOCK_ADDED: {
        // Every validator and relay linked announces each block: a copy of one this peer holds is not decoded past its number.
        const announced = peekAnnouncedBlockNumber(envelope.payload)
        if (announced !== undefined && announced < this.#ctx.ledger.height()) {
          this.#ctx.recordHeight(this.link.remoteId, announced + 1)
          return
        }
        const { block } = decodePayload(MessageType.SYNC_BLOCK_ADDED, envelope.payload)
        this.#ctx.recordHeight(this.link.remoteId, block.number + 1)
        return this.#ctx.blockAdded(block, this.link)
      }
      case MessageType.SYNC_COMMIT_PROOF:
        return this.#ctx.commitProof(decodePayload(MessageType.SYNC_COMMIT_PROOF, envelope.payload), this.link)
      case MessageType.RESPONSE: {
        const response = decodePayload(MessageType.RESPONSE, envelope.payload)
        if (response.status !== ResponseStatus.SUCCESS) {
          this.#ctx.refusedByPeer(this.link, { code: response.code ?? 'ERR_UNKNOWN', message: response.msg, inReplyTo: response.inReplyTo })
        }
        return
      }
      case MessageType.KEEPALIVE_PING: {
        const { nonce } = decodePayload(MessageType.KEEPALIVE_PING, envelope.payload)
        return this.reply(makeEnvelope(MessageType.KEEPALIVE_PONG, { nonce }))
      }
      case MessageType.KEEPALIVE_PONG:
        decodePayload(MessageType.KEEPALIVE_PONG, envelope.payload)
        return
      default:
        throw new UnknownTypeError(envelope.type)
    }
  }

  async #hello(envelope: Envelope): Promise<void> {
    const hello = decodePayload(MessageType.DISC_HELLO, envelope.payload)
    if (hello.auth === undefined) {
      throw new HandshakeError('malformed', 'DISC_HELLO without an auth map: this peer requires the authenticated handshake (wspeer-hello-v1)')
    }
    const handshake = this.#handshake!
    const answer = await handshake.receive(messageFromHello(hello.peerEndpoint, hello.auth))
    const result = handshake.result
    if (result === undefined) {
      // Acceptor after step 1: answer with step 2 and wait for the dialer's proof.
      if (answer !== undefined) this.#sendHello(answer)
      return
    }
    // Authenticated. The dialer's step 3 goes out first, so nothing the registration sends
    // (sync requests, consensus) can reach the acceptor before the proof it is waiting for.
    if (answer !== undefined) this.#sendHello(answer)
    this.link.remote = result.remote
    this.link.remotePublicKey = result.remotePublicKey
    // Registration can refuse the link (duplicate, peer cap); the error closes it.
    try {
      this.#ctx.register(this.link, hello.blockchainInfo)
    } catch (err) {
      this.link.remote = undefined
      throw err
    }
    this.link.state = 'established'
  }
}
