import type { ChatStream } from '../chat/chat-stream.js'
import { Outbox, type OutboxOptions } from '../chat/outbox.js'
import type { BoundedQueue } from '../engine/bounded-queue.js'
import type { Envelope } from '../wire/envelope.js'
import { EndpointType, type PeerEndpoint } from '../wire/payload-types.js'

/**
 * One connection to a remote peer: its stream, its outbox, what the remote said in HELLO, and its
 * consensus queue once established. Owned by the peer; handlers read and update it.
 */
export type LinkState = 'created' | 'established' | 'closed'

let nextSerial = 1

export class Link {
  readonly serial = nextSerial++
  readonly stream: ChatStream
  readonly initiated: boolean
  /** The address this peer dialed, for redialing; undefined on accepted links. */
  readonly dialedAddress: string | undefined
  readonly outbox: Outbox
  state: LinkState = 'created'
  /** The authenticated remote (set when the handshake succeeds); `pkiId` is its key id. */
  remote: PeerEndpoint | undefined
  /** The remote's Ed25519 public key, proven in the handshake. */
  remotePublicKey: Uint8Array | undefined
  queue: BoundedQueue | undefined
  readonly createdAt: number
  lastReceivedAt: number
  lastSentAt: number
  /** Called once the peer registered this link (its HELLO exchange succeeded). */
  onRegistered: (() => void) | undefined

  constructor(options: { stream: ChatStream; initiated: boolean; dialedAddress?: string; now: number; outbox: OutboxOptions }) {
    this.stream = options.stream
    this.initiated = options.initiated
    this.dialedAddress = options.dialedAddress
    this.outbox = new Outbox(options.stream, options.outbox)
    this.createdAt = options.now
    this.lastReceivedAt = options.now
    this.lastSentAt = options.now
  }

  /** The remote's peer ID; '' before HELLO. */
  get remoteId(): string {
    return this.remote?.id ?? ''
  }

  /** Whether the remote announced itself a validator (the handshake held it to the membership in closed mode). */
  get remoteIsValidator(): boolean {
    return this.remote?.type === EndpointType.VALIDATOR
  }

  /** For logs: the peer ID once known, else where the stream goes. */
  get label(): string {
    return this.remote?.id ?? this.stream.remote
  }

  /** Bytes queued for the remote and not yet sent (the outbox's and the transport's). */
  get backlogBytes(): number {
    return this.outbox.backlogBytes
  }

  send(envelope: Envelope, now: number): void {
    this.outbox.send(envelope)
    this.lastSentAt = now
  }

  close(code: number, reason: string): void {
    this.outbox.flush()
    this.stream.close(code, reason)
  }
}
