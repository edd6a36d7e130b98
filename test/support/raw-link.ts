import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { createMemoryChatPair } from '../../src/core/chat/memory-chat-stream.js'
import type { Peer } from '../../src/core/peer/peer-types.js'
import type { Envelope } from '../../src/core/wire/envelope.js'
import { decodeFrame, encodeFrame } from '../../src/core/wire/codec.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope } from '../../src/core/wire/payloads.js'
import { EndpointType, type PeerEndpoint, type ResponsePayload } from '../../src/core/wire/payload-types.js'
import { createHandshake, type Handshake } from '../../src/core/identity/handshake.js'
import { helloFieldsOf, messageFromHello, type HandshakeMessage } from '../../src/core/identity/handshake-messages.js'
import { generateKeyPair, type KeyPair } from '../../src/core/identity/key-pair.js'

export interface RawHelloOptions {
  /** The URL the handshake says was dialed (default: the peer's own address, or the stream's remote). */
  dialedAddress?: string
  /** Our key (default: a fresh one). */
  keyPair?: KeyPair
  /** Our advertised chat URL (default ''). */
  address?: string
}

const GENESIS_INFO = { height: 1, currentBlockHash: new Uint8Array(32), previousBlockHash: new Uint8Array(32) }
let pingNonce = 1_000_000

/**
 * A hand-driven remote end of a link to a peer: the test sends raw envelopes or bytes and reads
 * what the peer answers, one envelope at a time.
 */
export class RawLink {
  readonly stream: ChatStream
  readonly chat: Promise<void>
  readonly #inbox: Envelope[] = []
  readonly #waiters: (() => void)[] = []
  readonly #defaultDialed: string
  #ended = false

  /** Over an in-memory stream straight into `peer`, or over any stream already connected to one. */
  constructor(target: Peer | ChatStream) {
    if ('acceptStream' in target) {
      const [mine, theirs] = createMemoryChatPair({ a: 'raw', b: target.id })
      this.stream = mine
      this.chat = target.acceptStream(theirs).catch(() => undefined)
      this.#defaultDialed = target.status().address
    } else {
      this.stream = target
      this.chat = Promise.resolve()
      this.#defaultDialed = target.remote
    }
    this.#pump().catch(() => {}) // the stream's errors are caught inside; nothing else can reject
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

  /**
   * A link to `peer` that has completed the authenticated handshake as `id`: returns once the peer
   * has registered it (a keepalive ping sent after the handshake is answered only then).
   */
  static async established(
    target: Peer | ChatStream,
    id: string,
    role: 'validator' | 'non-validator' = 'validator',
    options: RawHelloOptions = {},
  ): Promise<RawLink> {
    const link = new RawLink(target)
    await link.hello(id, role, options)
    const nonce = ++pingNonce
    link.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce }))
    for (;;) {
      const pong = await link.next({ type: MessageType.KEEPALIVE_PONG })
      if (decodePayload(MessageType.KEEPALIVE_PONG, pong.payload).nonce === nonce) return link
    }
  }

  send(...envelopes: Envelope[]): void {
    this.stream.send(encodeFrame(envelopes))
  }

  sendBytes(bytes: Uint8Array): void {
    this.stream.send(bytes)
  }

  /** The DISC_HELLO envelope that carries one handshake message. */
  static helloEnvelope(message: HandshakeMessage): Envelope {
    const { peerEndpoint, auth } = helloFieldsOf(message)
    return makeEnvelope(MessageType.DISC_HELLO, { peerEndpoint, blockchainInfo: GENESIS_INFO, auth })
  }

  /** Starts a dialer handshake as `id` without running it: tests drive (or tamper with) its steps. */
  async dialerHandshake(id: string, role: 'validator' | 'non-validator' = 'validator', options: RawHelloOptions = {}): Promise<Handshake> {
    const self: PeerEndpoint = { id, address: options.address ?? '', type: role === 'validator' ? EndpointType.VALIDATOR : EndpointType.NON_VALIDATOR }
    return createHandshake({
      role: 'dialer',
      self,
      keyPair: options.keyPair ?? (await generateKeyPair()),
      dialedAddress: options.dialedAddress ?? this.#defaultDialed,
    })
  }

  /**
   * Steps 1 and 2 of a dialer handshake as `id`, and the step-3 HELLO it would send, unsent: a
   * test can send it on another link (a proof answering another session's challenge).
   */
  async confirmUnsent(id: string, role: 'validator' | 'non-validator' = 'validator', options: RawHelloOptions = {}): Promise<Envelope> {
    const handshake = await this.dialerHandshake(id, role, options)
    this.send(RawLink.helloEnvelope(handshake.start()!))
    const reply = decodePayload(MessageType.DISC_HELLO, (await this.next({ type: MessageType.DISC_HELLO })).payload)
    return RawLink.helloEnvelope((await handshake.receive(messageFromHello(reply.peerEndpoint, reply.auth)))!)
  }

  /**
   * Runs the dialer side of the authenticated handshake as `id`: step 1, the peer's step 2, our
   * step 3. Resolves once step 3 is sent (the peer registers the link when it has checked it);
   * rejects when the peer refuses or closes.
   */
  async hello(id: string, role: 'validator' | 'non-validator' = 'validator', options: RawHelloOptions = {}): Promise<void> {
    this.send(await this.confirmUnsent(id, role, options))
  }

  /** A HELLO without the auth map, as a peer that does not speak the authenticated handshake sends it. */
  plainHello(id: string, role: 'validator' | 'non-validator' = 'validator', address = ''): void {
    this.send(
      makeEnvelope(MessageType.DISC_HELLO, {
        peerEndpoint: { id, address, type: role === 'validator' ? EndpointType.VALIDATOR : EndpointType.NON_VALIDATOR },
        blockchainInfo: GENESIS_INFO,
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
