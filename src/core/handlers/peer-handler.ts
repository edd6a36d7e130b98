import { DuplicateHelloError, HandlerStateError, HelloRefusedError, UnknownTypeError } from '../errors.js'
import type { ChatHandler } from '../chat/handle-chat.js'
import type { ChatStreamEnd } from '../chat/chat-stream.js'
import type { Link } from '../peer/link.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType, messageTypeName } from '../wire/message-type.js'
import { decodePayload, makeEnvelope } from '../wire/payloads.js'
import { ResponseStatus } from '../wire/payload-types.js'
import type { HandlerContext } from './handler-context.js'

/**
 * The peer handler of one link (Fabric's PeerHandler): a two-state machine.
 *
 *   created --DISC_HELLO--> established --(stream ends)--> closed
 *
 * The dialer sends HELLO first; the acceptor registers the link, then answers with its own HELLO;
 * the dialer registers on that answer. In `created` only HELLO is accepted: anything else is
 * refused with an error naming the type and the state, and not processed. A second HELLO is
 * refused. Established links serve discovery, sync and keepalive; CONSENSUS never reaches this
 * handler (the consensus handler in front of it takes those).
 */
export class PeerHandler implements ChatHandler {
  readonly link: Link
  readonly #ctx: HandlerContext

  constructor(link: Link, ctx: HandlerContext) {
    this.link = link
    this.#ctx = ctx
  }

  start(): void {
    if (this.link.initiated) this.#sendHello()
  }

  reply(envelope: Envelope): void {
    this.link.send(envelope, this.#ctx.now())
  }

  flush(): void {
    this.link.outbox.flush()
  }

  stop(end: ChatStreamEnd | undefined): void {
    this.link.state = 'closed'
    this.#ctx.linkEnded(this.link, end)
  }

  #sendHello(): void {
    this.reply(
      makeEnvelope(MessageType.DISC_HELLO, { peerEndpoint: this.#ctx.self, blockchainInfo: this.#ctx.chainInfo() }, this.#ctx.now()),
    )
  }

  handleMessage(envelope: Envelope): void {
    if (this.link.state !== 'established') {
      if (envelope.type !== MessageType.DISC_HELLO) throw new HandlerStateError(messageTypeName(envelope.type), this.link.state)
      return this.#hello(envelope)
    }
    switch (envelope.type) {
      case MessageType.DISC_HELLO:
        throw new DuplicateHelloError()
      case MessageType.DISC_DISCONNECT: {
        const { reason } = decodePayload(MessageType.DISC_DISCONNECT, envelope.payload)
        this.#ctx.log.info('peer disconnected', { peer: this.link.label, reason })
        this.link.close(1000, 'disconnect requested')
        return
      }
      case MessageType.DISC_GET_PEERS:
        decodePayload(MessageType.DISC_GET_PEERS, envelope.payload)
        return this.reply(makeEnvelope(MessageType.DISC_PEERS, { peers: this.#ctx.peersFor(this.link) }))
      case MessageType.DISC_PEERS:
        return this.#ctx.learnPeers(decodePayload(MessageType.DISC_PEERS, envelope.payload).peers, this.link)
      case MessageType.SYNC_GET_BLOCKS: {
        const req = decodePayload(MessageType.SYNC_GET_BLOCKS, envelope.payload)
        const blocks = req.end < req.start ? [] : this.#ctx.ledger.getBlocks(req.start, req.end, this.#ctx.maxBlocksPerSync)
        return this.reply(makeEnvelope(MessageType.SYNC_BLOCKS, { requestId: req.requestId, blocks }))
      }
      case MessageType.SYNC_STATE_GET_SNAPSHOT: {
        const req = decodePayload(MessageType.SYNC_STATE_GET_SNAPSHOT, envelope.payload)
        const ledger = this.#ctx.ledger
        return this.reply(
          makeEnvelope(MessageType.SYNC_STATE_SNAPSHOT, {
            requestId: req.requestId,
            height: ledger.height(),
            stateHash: ledger.stateHash(),
            entries: ledger.snapshot(),
          }),
        )
      }
      case MessageType.SYNC_STATE_GET_DELTAS: {
        const req = decodePayload(MessageType.SYNC_STATE_GET_DELTAS, envelope.payload)
        const deltas = []
        const last = Math.min(req.end, req.start + this.#ctx.maxBlocksPerSync - 1)
        for (let n = req.start; n <= last; n++) {
          const delta = this.#ctx.ledger.getDelta(n)
          if (delta === undefined) break
          deltas.push(delta)
        }
        return this.reply(makeEnvelope(MessageType.SYNC_STATE_DELTAS, { requestId: req.requestId, deltas }))
      }
      case MessageType.SYNC_BLOCKS:
      case MessageType.SYNC_STATE_SNAPSHOT:
      case MessageType.SYNC_STATE_DELTAS: {
        const payload = decodePayload(envelope.type, envelope.payload)
        return this.#ctx.resolveRequest(payload.requestId, envelope.type, payload, this.link)
      }
      case MessageType.SYNC_BLOCK_ADDED: {
        const { block } = decodePayload(MessageType.SYNC_BLOCK_ADDED, envelope.payload)
        this.#ctx.recordHeight(this.link.remoteId, block.number + 1)
        return this.#ctx.blockAdded(block, this.link)
      }
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

  #hello(envelope: Envelope): void {
    const hello = decodePayload(MessageType.DISC_HELLO, envelope.payload)
    const remote = hello.peerEndpoint
    if (remote.id === this.#ctx.self.id) throw new HelloRefusedError(`peer claims our own id ${JSON.stringify(remote.id)}`)
    this.link.remote = remote
    // Registration can refuse the link (duplicate, peer cap); the error closes it before any
    // answer goes out, so the remote never counts a link we are about to drop.
    try {
      this.#ctx.register(this.link, hello.blockchainInfo)
    } catch (err) {
      this.link.remote = undefined
      throw err
    }
    this.link.state = 'established'
    if (!this.link.initiated) this.#sendHello()
  }
}
