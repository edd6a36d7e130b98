import type { Envelope } from '../wire/envelope.js'
import type { Block, PeerEndpoint, PeerRole } from '../wire/payload-types.js'
import type { Ledger } from '../ledger/ledger.js'
import type { ConsensusLog } from './consensus-log.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'

/**
 * The consenter plugin boundary (Fabric's `consensus.Consenter` and `consensus.Stack`). The engine
 * calls `recvMsg` strictly one message at a time and awaits it; a consenter never needs locks.
 */
export interface Consenter {
  readonly name: string
  start(): void | Promise<void>
  stop(): void | Promise<void>
  /**
   * One message: CONSENSUS from another peer, or CHAIN_TRANSACTION submitted to this peer (then
   * `sender` is this peer's own ID).
   */
  recvMsg(msg: Envelope, sender: string): void | Promise<void>
  /**
   * Whether this peer holds the transaction accepted but not yet committed (waiting to be ordered
   * or forwarded to the one that orders it). Feeds GET /transactions/:txid's "pending"; a consenter
   * without it never reports a transaction pending.
   */
  isPending?(txid: string): boolean
  /** Plugin-specific figures for `/status` (`consensus.*`). */
  status?(): Record<string, unknown>
}

/** Which connected peers a broadcast reaches. */
export type BroadcastTarget = 'all' | PeerRole

export interface PeerInfo {
  id: string
  address: string
  role: PeerRole
  /** Key id of the peer's public key (40 hex digits), as its handshake proved it. */
  keyId?: string
}

export interface NetworkInfo {
  self: PeerInfo
  /** Connected validators, sorted by ID; does not include self. */
  validators: PeerInfo[]
  /** Every connected peer, sorted by ID. */
  peers: PeerInfo[]
}

/** What the peer lends its consenter. */
export interface Stack {
  /** Sends to every connected peer of the role; returns how many links it was queued on. */
  broadcast(msg: Envelope, target?: BroadcastTarget): number
  /** Sends to one peer; throws PeerNotFoundError when it is not connected. */
  unicast(msg: Envelope, peerId: string): void
  getNetworkInfo(): NetworkInfo
  /** Endpoints of connected peers, as they announced themselves. */
  getNetworkHandles(): PeerEndpoint[]
  /** Signs bytes with this peer's Ed25519 key (the one its handshakes prove). */
  sign(data: Uint8Array): Promise<Uint8Array>
  /** Verifies a peer's signature over bytes: against the key its handshake proved, else its membership key; false when neither is known. */
  verify(peerId: string, signature: Uint8Array, data: Uint8Array): Promise<boolean>
  ledger: Ledger
  /** State transfer hooks. */
  sync: SyncHooks
  /**
   * Where the consenter keeps what it must not contradict after a restart (consensus-log.ts):
   * a durable peer lends one, an in-memory peer none (its promises die with it, as its chain does).
   */
  consensusLog?: ConsensusLog
  clock: Clock
  log: Logger
}

export interface SyncHooks {
  /** Chain heights peers last told us (HELLO, SYNC_BLOCK_ADDED), by peer ID. */
  peerHeights(): ReadonlyMap<string, number>
  /** Asks one peer for blocks start..end; resolves with what it sent (maybe fewer). */
  fetchBlocks(peerId: string, start: number, end: number, options?: { signal?: AbortSignal }): Promise<Block[]>
}

export interface ConsenterOptions {
  [key: string]: unknown
}

export type ConsenterFactory = (stack: Stack, options: ConsenterOptions) => Consenter
