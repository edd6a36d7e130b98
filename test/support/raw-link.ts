import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { createMemoryChatPair } from '../../src/core/chat/memory-chat-stream.js'
import type { Peer } from '../../src/core/peer/peer-types.js'
import type { Envelope } from '../../src/core/wire/envelope.js'
import { decodeFrame, encodeFrame } from '../../src/core/wire/codec.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope } from '../../src/core/wire/payloads.js'
import { EndpointType, type ResponsePayload } from '../../src/core/wire/payload-types.js'

/**
 * A hand-driven remote end of a link to a peer: the test sends raw envelopes or bytes and reads
 * what the peer answers, one envelope at a time.
 */
export class RawLink {
  readonly stream: ChatStream
  readonly chat: Promise<void>
  readonly #inbox: Envelope[] = []
  readonly #waiters: (() => void)[] = []
  #ended = false

  /** Over an in-memory stream straight into `peer`, or over any stream already connected to one. */
  constructor(target: Peer | ChatStream) {
    if ('acceptStream' in target) {
      const [mine, theirs] = createMemoryChatPair({ a: 'raw', b: target.id })
      this.stream = mine
      this.chat = target.acceptStream(theirs).catch(() => undefined)
    } else {
      this.stream = target
      this.chat = Promise.resolve()
    }
    void this.#pump()
  }

  async #pump(): Promise<void> {
    try {
      for await (const frame of this.stream) {
        this.#inbox.push(...decodeFrame(frame))
        for (const wake of this.#waiters.splice(0)) wake()
      }
    } catch {
      // The peer closed with an error code; `done` tells the tests how.
    }
    this.#ended = true
    for (const wake of this.#waiters.splice(0)) wake()
  }

  /** A link to `peer` that has completed HELLO as `id`. */
  static async established(target: Peer | ChatStream, id: string, role: 'validator' | 'non-validator' = 'validator'): Promise<RawLink> {
    const link = new RawLink(target)
    link.hello(id, role)
    await link.next({ type: MessageType.DISC_HELLO })
    return link
  }

  send(...envelopes: Envelope[]): void {
    this.stream.send(encodeFrame(envelopes))
  }

  sendBytes(bytes: Uint8Array): void {
    this.stream.send(bytes)
  }

  hello(id: string, role: 'validator' | 'non-validator' = 'validator', address = ''): void {
    this.send(
      makeEnvelope(MessageType.DISC_HELLO, {
        peerEndpoint: { id, address, type: role === 'validator' ? EndpointType.VALIDATOR : EndpointType.NON_VALIDATOR },
        blockchainInfo: { height: 1, currentBlockHash: new Uint8Array(32), previousBlockHash: new Uint8Array(32) },
      }),
    )
  }

  /** The next envelope the peer sent, skipping keepalive traffic unless asked for. */
  async next(options: { type?: number; includeKeepalive?: boolean } = {}): Promise<Envelope> {
    for (;;) {
      const index = this.#inbox.findIndex(
        (env) =>
          (options.type === undefined || env.type === options.type) &&
          (options.includeKeepalive || options.type !== undefined || (env.type !== MessageType.KEEPALIVE_PING && env.type !== MessageType.KEEPALIVE_PONG)),
      )
      if (index >= 0) return this.#inbox.splice(index, 1)[0]!
      if (this.#ended) throw new Error('link ended before the expected envelope arrived')
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  async nextResponse(): Promise<ResponsePayload> {
    const env = await this.next({ type: MessageType.RESPONSE })
    return decodePayload(MessageType.RESPONSE, env.payload)
  }
}
