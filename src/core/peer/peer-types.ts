import type { ChainLag } from './chain-lag.js'
import type { BroadcastTarget, ConsenterOptions, PeerInfo } from '../consensus/consenter.js'
import type { Ledger } from '../ledger/ledger.js'
import type { PendingStore } from '../ledger/pending-store.js'
import type { ConsensusLog } from '../consensus/consensus-log.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import type { Block, PeerRole } from '../wire/payload-types.js'
import type { ChatStream } from '../chat/chat-stream.js'
import type { PeerLimits } from './limits.js'
import type { KeyPair } from '../identity/key-pair.js'
import type { Membership } from '../identity/membership.js'

/** Opens a client WebSocket chat stream to a chat URL; Node and browser entries supply one. */
export type ChatConnector = (address: string, options: { signal?: AbortSignal; maxFrameBytes: number }) => Promise<ChatStream>

export interface PeerConfig {
  /** Unique peer ID (`vp0`). */
  id: string
  role: PeerRole
  /** This peer's own chat URL as others should dial it; '' for peers that cannot listen. */
  address?: string
  /** Consenter plugin name (`noops`); unknown names fail at start. */
  consensus?: string
  consensusOptions?: ConsenterOptions
  /** Chat URLs to dial at start; discovery finds the rest. */
  bootstrap?: readonly string[]
  limits?: Partial<PeerLimits>
  connect?: ChatConnector
  /** Who this peer is and whom it lets in (SECURITY.md). */
  identity?: PeerIdentityConfig
  ledger?: Ledger
  /**
   * Where accepted transactions are kept until committed (ledger-store.ts): `submit` resolves
   * only once its transaction is stored, and `start` submits again what a previous run left.
   * Without it a transaction accepted just before a crash of this peer is lost.
   */
  pending?: PendingStore
  /**
   * Where the consenter keeps what it must not contradict after a restart (PBFT's view and votes,
   * consensus-log.ts). A durable peer passes one with its ledger; without it a validator that
   * restarts has forgotten what it voted, which is safe only while at most f crash at once.
   */
  consensusLog?: ConsensusLog
  clock?: Clock
  log?: Logger
}

export interface PeerIdentityConfig {
  /** This peer's Ed25519 key pair; a fresh in-memory pair is generated at start when absent. */
  keyPair?: KeyPair
  /**
   * The validator set bound to keys. Without it the peer runs in open development mode: any key
   * may claim any ID, and any peer announcing itself as a validator may send CONSENSUS.
   */
  membership?: Membership
  /**
   * Other URLs dialers may use to reach this peer (`ws://127.0.0.1:7051/chat` beside
   * `ws://localhost:7051/chat`, a proxy's URL): a handshake naming any address not in this list
   * or `address` was meant for someone else and is refused.
   */
  aliases?: readonly string[]
}

/** Identity and admission state for /status. */
export interface IdentityStatus {
  /** Key id of this peer's public key, 40 hex digits. */
  keyId: string
  /** 'closed': a membership file binds validators to keys; 'open': development mode, anyone may claim anything. */
  mode: 'closed' | 'open'
  /** Validators in the membership (0 in open mode). */
  members: number
}

export interface PeerStatus {
  id: string
  address: string
  role: PeerRole
  peers: PeerInfo[]
  consensus: { plugin: string } & Record<string, unknown>
  chain: { height: number; headHash: string }
  identity: IdentityStatus
  /** Per-connection consensus queue figures. */
  queues: QueueStatus[]
  /** The bound of each link's consensus queue (limits queueMaxMessages, queueMaxBytes): what a flood must pass. */
  queueLimits: { maxMessages: number; maxBytes: number }
  uptimeMs: number
  /** How far `chain` trails the highest height a linked peer claimed, in blocks and (when behind) in time (chain-lag.ts). */
  lag: ChainLag
  /** A non-validator's view of how it follows the chain; absent on validators. */
  follower?: FollowerStatus
}

/** How a follower takes blocks (PROTOCOL.md 11.6). */
export interface FollowerStatus {
  /** Whether blocks need validators' signatures (a membership is known); false in open mode. */
  verifying: boolean
  /** The highest block validators' signatures proved, and who signed it; absent before the first proof. */
  proof?: { number: number; signers: string[] }
  /** Signatures refused (not a member's, or not valid), over the peer's life. */
  refusedSignatures: number
  /** Blocks refused because they did not lead to the proven block, over the peer's life. */
  refusedBlocks: number
  /** Commit proofs dropped unread because the most allowed were being verified (limits `maxProofsVerifying`, or PROOFS_VERIFYING_PER_MEMBER per member: a flood), over the peer's life. */
  droppedProofs: number
}

export interface QueueStatus {
  peer: string
  depth: number
  bytes: number
  rejects: number
}

export interface MetricsSnapshot {
  /** Envelopes received, by type name. */
  messagesReceived: Record<string, number>
  /** Envelopes sent, by type name. */
  messagesSent: Record<string, number>
  framesReceived: number
  framesSent: number
  queues: QueueStatus[]
  /** Queue-full rejects over the peer's life, closed links included. */
  queueRejectsTotal: number
  /** Messages handed to `consenter.recvMsg`. */
  fanProcessed: number
  consenterErrors: number
  handlerErrors: number
  decodeErrors: number
  /** Block announcements not sent to a follower whose link had more than followerBacklogBytes unsent; it pages them instead. */
  announcementsSkipped: number
  blocksCommitted: number
  transactionsCommitted: number
  connections: number
  dialsInFlight: number
  knownAddresses: number
}

export interface PeerEvents extends Record<string, unknown> {
  'peer-connected': PeerInfo
  'peer-disconnected': PeerInfo & { code: number; reason: string }
  'block-committed': { block: Block; hash: string }
  /** A message refused (queue full, wrong state, decode error) with the error code. */
  'message-rejected': { peer: string; type: string; code: string; message: string }
  /** A peer answered one of our messages with RESPONSE(FAILURE). */
  'refused-by-peer': { peer: string; code: string; message: string; inReplyTo: string | undefined }
  'error': { error: Error; context: string }
}

/** The chain a peer reports (GET /chain): its stored head. */
export interface ChainInfo {
  height: number
  /** Hex. */
  headHash: string
  /** Hex: the state hash the head block carries. */
  stateHash: string
}

/**
 * What a peer knows of one transaction: committed (where), pending (this peer holds it accepted
 * and not yet committed: in its local queue, or held by its consenter), or unknown.
 */
export type TransactionStatus =
  | { status: 'committed'; block: number; index: number }
  | { status: 'pending' }
  | { status: 'unknown' }

export interface Peer {
  readonly id: string
  readonly role: PeerRole
  /** The validator membership this peer holds to (its keys prove blocks to followers); undefined in open mode. */
  readonly membership: Membership | undefined
  start(options?: { signal?: AbortSignal }): Promise<void>
  stop(): Promise<void>
  /** Dials a chat URL and runs the chat as initiator; resolves when the chat ends. */
  chatWithPeer(address: string, options?: { signal?: AbortSignal }): Promise<void>
  /**
   * Runs the server side of a chat on an accepted stream; resolves when it ends. `onEstablished`
   * is called once the link completed HELLO and was registered (servers count pending handshakes).
   */
  acceptStream(stream: ChatStream, options?: { onEstablished?: (remote: PeerInfo) => void }): Promise<void>
  /** Accepts a transaction for ordering; resolves once it is queued (not committed). */
  submit(payload: string, options?: { signal?: AbortSignal }): Promise<{ txid: string }>
  /** Where a transaction stands as this peer sees it (GET /transactions/:txid). */
  transactionStatus(txid: string): TransactionStatus
  /** Height, head hash and state hash of the chain this peer reports (its stored head; see status()). */
  chainInfo(): ChainInfo
  /** Block `number` with its hash, when this peer reports it (at or below its reported head). */
  block(number: number): { block: Block; hash: string } | undefined
  /** The value a key holds in the state of this peer's chain, or undefined. */
  state(key: string): string | undefined
  broadcast(msg: Envelope, target?: BroadcastTarget): number
  unicast(msg: Envelope, peerId: string): void
  status(): PeerStatus
  metrics(): MetricsSnapshot
  /** Subscribes to a typed event; returns the unsubscribe function. */
  on<K extends keyof PeerEvents & string>(type: K, listener: (detail: PeerEvents[K]) => void): () => void
}
