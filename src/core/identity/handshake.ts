/**
 * The authenticated HELLO as a transport-free state machine: an in-band challenge-response that
 * binds a link to both peers' keys (PROTOCOL.md 8.1 is the spec).
 *
 *   dialer                                    acceptor
 *   start() -> step 1 {endpoint, nD, pkD, dialedAddress}
 *                                             receive(1) -> step 2 {endpoint, nA, pkA, sigA}
 *   receive(2) -> step 3 {sigD}   (dialer authenticated)
 *                                             receive(3) -> nothing   (acceptor authenticated)
 *
 * sigX = Ed25519 signature by X over handshakeTranscript(signer X, nD, nA, dialedAddress, both
 * endpoints with key ids and keys). Fresh nonces from both sides defeat replay; the dialed address
 * and both endpoints in the signed bytes defeat a relay that forwards one honest peer's handshake
 * to another.
 *
 * In: typed messages (handshake-messages.ts parses them out of DISC_HELLO), a Clock for the
 * timeout. Out: the next message to send, and `done`, which resolves with the authenticated
 * remote exactly once, or rejects with a HandshakeError (close code 1008). A refused handshake
 * never resolves `done`: the caller registers a link only from `done` (or `result`).
 */
import { HandshakeError, HandshakeTimeoutError, type HandshakeFailure } from '../errors.js'
import { bytesEqual, toHex } from '../util/bytes.js'
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js'
import type { PeerEndpoint } from '../wire/payload-types.js'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './ed25519.js'
import { keyIdOf } from './key-id.js'
import { verifySignature, type KeyPair } from './key-pair.js'
import type { Membership } from './membership.js'
import { NONCE_BYTES, type HandshakeMessage, type HelloConfirm, type HelloInit, type HelloReply } from './handshake-messages.js'
import { SignerRole, handshakeTranscript, type TranscriptEndpoint } from './handshake-transcript.js'

/** A link must complete its authenticated handshake within this time or is closed with 1008 (PROTOCOL.md 8.1; a peer limit: peer/limits.ts). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000

export type HandshakeRole = 'dialer' | 'acceptor'

export type HandshakeState =
  | 'new'
  | 'awaiting-init'
  | 'awaiting-reply'
  | 'awaiting-confirm'
  /** Signing or verifying; any message arriving now is out of turn. */
  | 'working'
  | 'authenticated'
  | 'failed'

export interface HandshakeOptions {
  role: HandshakeRole
  /** Our endpoint; its `pkiId` is replaced by our key id. */
  self: PeerEndpoint
  keyPair: KeyPair
  /** Dialer only: the URL this link was opened to. */
  dialedAddress?: string
  /**
   * Acceptor only: the URLs dialers may use to reach us (default: `[self.address]`). A step 1
   * naming any other address was meant for someone else and is refused ('wrong-address').
   */
  ownAddresses?: readonly string[]
  /** The validator set; without it any key may claim any non-member name (open development mode). */
  membership?: Membership
  clock?: Clock
  /** Default DEFAULT_HANDSHAKE_TIMEOUT_MS (10 s), counted from start(). */
  timeoutMs?: number
  /** Source of nonces (default crypto.getRandomValues); tests inject a seeded one. */
  randomBytes?: (length: number) => Uint8Array
}

export interface HandshakeResult {
  role: HandshakeRole
  /** The remote's endpoint as it signed it; `pkiId` is its key id. */
  remote: PeerEndpoint
  remotePublicKey: Uint8Array
  remoteKeyIdHex: string
}

export interface Handshake {
  readonly role: HandshakeRole
  readonly state: HandshakeState
  /** The authenticated remote, once `state` is 'authenticated'. */
  readonly result: HandshakeResult | undefined
  /** Why the handshake failed, once `state` is 'failed'. */
  readonly error: HandshakeError | undefined
  /** Resolves once authenticated; rejects with the HandshakeError that ended it. */
  readonly done: Promise<HandshakeResult>
  /** Starts the timeout; the dialer gets step 1 to send. Call once. */
  start(): HelloInit | undefined
  /**
   * Handles the remote's next message; returns what to send back, if anything. Throws (and
   * rejects `done` with) a HandshakeError when the message is refused; the handshake is then over.
   */
  receive(message: HandshakeMessage): Promise<HandshakeMessage | undefined>
  /** Ends the handshake (link closed, peer stopping): clears the timer, rejects `done`. */
  abort(): void
}

interface Remote {
  endpoint: PeerEndpoint
  publicKey: Uint8Array
  keyId: Uint8Array
  nonce: Uint8Array
}

export function createHandshake(options: HandshakeOptions): Handshake {
  return new HandshakeMachine(options)
}

class HandshakeMachine implements Handshake {
  readonly role: HandshakeRole
  readonly done: Promise<HandshakeResult>
  #state: HandshakeState = 'new'
  #result: HandshakeResult | undefined
  #error: HandshakeError | undefined
  #resolve!: (result: HandshakeResult) => void
  #reject!: (error: HandshakeError) => void
  #timer: TimerHandle | undefined
  readonly #opts: HandshakeOptions
  readonly #clock: Clock
  readonly #self: PeerEndpoint
  readonly #ownNonce: Uint8Array
  #remote: Remote | undefined
  #dialedAddress = ''

  constructor(options: HandshakeOptions) {
    if (options.role === 'dialer' && options.dialedAddress === undefined) throw new TypeError('a dialer handshake needs dialedAddress')
    this.role = options.role
    this.#opts = options
    this.#clock = options.clock ?? systemClock
    this.#self = { ...options.self, pkiId: options.keyPair.keyId }
    const random = options.randomBytes ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)))
    this.#ownNonce = random(NONCE_BYTES).slice()
    if (this.#ownNonce.length !== NONCE_BYTES) throw new TypeError(`randomBytes returned ${this.#ownNonce.length} bytes, not ${NONCE_BYTES}`)
    this.done = new Promise<HandshakeResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // Callers may rely on receive() throwing and never look at `done`; that is not an unhandled rejection.
    this.done.catch(() => undefined)
  }

  get state(): HandshakeState {
    return this.#state
  }

  get result(): HandshakeResult | undefined {
    return this.#result
  }

  get error(): HandshakeError | undefined {
    return this.#error
  }

  start(): HelloInit | undefined {
    if (this.#state !== 'new') throw new TypeError('handshake already started')
    const timeoutMs = this.#opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      this.#fail(new HandshakeTimeoutError(timeoutMs))
    }, timeoutMs)
    if (this.role === 'acceptor') {
      this.#state = 'awaiting-init'
      return undefined
    }
    this.#dialedAddress = this.#opts.dialedAddress ?? ''
    this.#state = 'awaiting-reply'
    return {
      step: 1,
      endpoint: this.#self,
      nonce: this.#ownNonce.slice(),
      publicKey: this.#opts.keyPair.publicKey.slice(),
      dialedAddress: this.#dialedAddress,
    }
  }

  abort(): void {
    if (this.#state !== 'authenticated' && this.#state !== 'failed') this.#fail(new HandshakeError('aborted', 'handshake aborted'))
  }

  async receive(message: HandshakeMessage): Promise<HandshakeMessage | undefined> {
    if (this.#state === 'failed') throw this.#error ?? new HandshakeError('aborted', 'handshake failed')
    const expected = this.#state === 'awaiting-init' ? 1 : this.#state === 'awaiting-reply' ? 2 : this.#state === 'awaiting-confirm' ? 3 : 0
    if (expected === 0 || message.step !== expected) {
      const err = new HandshakeError('unexpected-message', `handshake step ${Number(message.step) | 0} not expected in state ${this.#state}`)
      // After success a stray HELLO is the caller's duplicate-HELLO case; it does not undo the link.
      if (this.#state === 'authenticated') throw err
      throw this.#fail(err)
    }
    this.#state = 'working'
    try {
      switch (message.step) {
        case 1:
          return await this.#onInit(message as HelloInit)
        case 2:
          return await this.#onReply(message as HelloReply)
        case 3:
          return await this.#onConfirm(message as HelloConfirm)
      }
    } catch (err) {
      if (err instanceof HandshakeError) throw this.#fail(err)
      throw this.#fail(new HandshakeError('malformed', 'handshake message could not be processed', { cause: err }))
    }
    return undefined
  }

  /** Acceptor: check the dialer's claim, answer with our nonce and signature. */
  async #onInit(init: HelloInit): Promise<HelloReply> {
    this.#checkClaim(init.endpoint, init.publicKey, init.nonce)
    const ownAddresses = this.#opts.ownAddresses ?? [this.#self.address]
    if (typeof init.dialedAddress !== 'string' || !ownAddresses.includes(init.dialedAddress)) {
      throw new HandshakeError('wrong-address', 'the dialer meant to reach another address')
    }
    this.#dialedAddress = init.dialedAddress
    this.#remote = { endpoint: copyEndpoint(init.endpoint), publicKey: init.publicKey.slice(), keyId: keyIdOf(init.publicKey), nonce: init.nonce.slice() }
    const signature = await this.#opts.keyPair.sign(this.#transcript(SignerRole.ACCEPTOR))
    this.#stillWorking()
    this.#state = 'awaiting-confirm'
    return { step: 2, endpoint: this.#self, nonce: this.#ownNonce.slice(), publicKey: this.#opts.keyPair.publicKey.slice(), signature }
  }

  /** Dialer: check the acceptor's claim and signature, then prove our key in turn. */
  async #onReply(reply: HelloReply): Promise<HelloConfirm> {
    this.#checkClaim(reply.endpoint, reply.publicKey, reply.nonce)
    this.#remote = { endpoint: copyEndpoint(reply.endpoint), publicKey: reply.publicKey.slice(), keyId: keyIdOf(reply.publicKey), nonce: reply.nonce.slice() }
    await this.#verify(reply.signature, SignerRole.ACCEPTOR)
    const signature = await this.#opts.keyPair.sign(this.#transcript(SignerRole.DIALER))
    this.#stillWorking()
    this.#succeed()
    return { step: 3, endpoint: this.#self, signature }
  }

  /** Acceptor: the dialer's signature over the transcript with our nonce completes the proof. */
  async #onConfirm(confirm: HelloConfirm): Promise<undefined> {
    const remote = this.#remote
    if (remote === undefined || !sameEndpoint(confirm.endpoint, remote.endpoint)) {
      throw new HandshakeError('endpoint-changed', 'the confirming HELLO names another endpoint than the first')
    }
    await this.#verify(confirm.signature, SignerRole.DIALER)
    this.#succeed()
    return undefined
  }

  #checkClaim(endpoint: PeerEndpoint, publicKey: Uint8Array, nonce: Uint8Array): void {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) throw new HandshakeError('malformed', 'public key is not 32 bytes')
    if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new HandshakeError('bad-nonce', `nonce is not ${NONCE_BYTES} bytes`)
    // Our own nonce coming back means the remote is reflecting our messages, not answering them.
    if (bytesEqual(nonce, this.#ownNonce)) throw new HandshakeError('bad-nonce', 'the remote echoed our nonce')
    if (endpoint.id === this.#self.id) throw new HandshakeError('own-id', 'the remote claims our own peer id')
    if (bytesEqual(publicKey, this.#opts.keyPair.publicKey)) throw new HandshakeError('own-key', 'the remote presents our own public key')
    if (endpoint.pkiId === undefined || !bytesEqual(endpoint.pkiId, keyIdOf(publicKey))) {
      throw new HandshakeError('key-mismatch', 'the endpoint key id does not match the public key')
    }
    const refusal: HandshakeFailure | undefined = this.#opts.membership?.authorize(endpoint, publicKey)
    if (refusal !== undefined) {
      throw new HandshakeError(refusal, refusal === 'not-a-member' ? 'a validator claim from outside the membership' : 'the peer id is bound to another key in the membership')
    }
  }

  async #verify(signature: Uint8Array, signer: SignerRole): Promise<void> {
    const remote = this.#remote
    if (remote === undefined) throw new HandshakeError('unexpected-message', 'no remote claim to verify')
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) throw new HandshakeError('bad-signature', 'signature is not 64 bytes')
    const ok = await verifySignature(remote.publicKey, this.#transcript(signer), signature)
    this.#stillWorking()
    if (!ok) throw new HandshakeError('bad-signature', 'the handshake signature does not verify')
  }

  #transcript(signer: SignerRole): Uint8Array {
    const remote = this.#remote
    if (remote === undefined) throw new HandshakeError('unexpected-message', 'no remote claim yet')
    const mine: TranscriptEndpoint = { endpoint: this.#self, keyId: this.#opts.keyPair.keyId, publicKey: this.#opts.keyPair.publicKey }
    const theirs: TranscriptEndpoint = { endpoint: remote.endpoint, keyId: remote.keyId, publicKey: remote.publicKey }
    const dialerSide = this.role === 'dialer'
    return handshakeTranscript({
      signer,
      dialerNonce: dialerSide ? this.#ownNonce : remote.nonce,
      acceptorNonce: dialerSide ? remote.nonce : this.#ownNonce,
      dialedAddress: this.#dialedAddress,
      dialer: dialerSide ? mine : theirs,
      acceptor: dialerSide ? theirs : mine,
    })
  }

  /** After an await: the timeout or abort may have ended the handshake meanwhile. */
  #stillWorking(): void {
    if (this.#state !== 'working') throw this.#error ?? new HandshakeError('unexpected-message', 'handshake ended meanwhile')
  }

  #succeed(): void {
    const remote = this.#remote
    if (remote === undefined) throw new HandshakeError('unexpected-message', 'no remote to authenticate')
    this.#clearTimer()
    this.#state = 'authenticated'
    this.#result = { role: this.role, remote: remote.endpoint, remotePublicKey: remote.publicKey, remoteKeyIdHex: toHex(remote.keyId) }
    this.#resolve(this.#result)
  }

  #fail(error: HandshakeError): HandshakeError {
    if (this.#state === 'failed') return this.#error ?? error
    this.#clearTimer()
    this.#state = 'failed'
    this.#error = error
    this.#remote = undefined
    this.#reject(error)
    return error
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

function copyEndpoint(e: PeerEndpoint): PeerEndpoint {
  return { id: e.id, address: e.address, type: e.type, ...(e.pkiId === undefined ? {} : { pkiId: e.pkiId.slice() }) }
}

function sameEndpoint(a: PeerEndpoint, b: PeerEndpoint): boolean {
  return a.id === b.id && a.address === b.address && a.type === b.type && a.pkiId !== undefined && b.pkiId !== undefined && bytesEqual(a.pkiId, b.pkiId)
}
