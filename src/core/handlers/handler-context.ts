import type { Link } from './link.js'
import type { Logger } from '../util/logger.js'
import type { ChatStreamEnd } from '../chat/chat-stream.js'
import type { Block, BlockchainInfo, CommitProofPayload, PeerEndpoint } from '../wire/payload-types.js'
import type { Ledger } from '../ledger/ledger.js'
import type { Handshake } from '../identity/handshake.js'
import type { AnswerBudget } from './sync-answers.js'

/**
 * What the handlers of one link need from their peer. The peer implements it; tests can fake it.
 * Handlers hold no peer-wide state of their own.
 */
export interface HandlerContext {
  readonly self: PeerEndpoint
  readonly ledger: Ledger
  readonly log: Logger
  /** What one sync answer may hold (maxBlocksPerSync, and maxSyncAnswerBytes within the frame limit). */
  readonly syncAnswerBudget: AnswerBudget
  now(): number
  chainInfo(): BlockchainInfo
  /** A fresh authenticated handshake for this link (dialer or acceptor by `link.initiated`). */
  createHandshake(link: Link): Handshake
  /** Whether the link's authenticated remote may send CONSENSUS (a validator of this network). */
  mayConsent(link: Link): boolean
  /**
   * Registers a link whose handshake authenticated the remote (with the chain the remote announced), and opens
   * its consensus queue. Throws a
   * WspeerError with a close code (duplicate link, peer cap) when the link must not stay.
   */
  register(link: Link, chain: BlockchainInfo): void
  /** The link ended; forget it and close its queue (what it holds is still delivered). */
  linkEnded(link: Link, end: ChatStreamEnd | undefined): void
  /** Endpoints to answer DISC_GET_PEERS with (never the requester itself). */
  peersFor(link: Link): PeerEndpoint[]
  /** A DISC_PEERS list arrived. */
  learnPeers(peers: readonly unknown[], from: Link): void
  /** A peer told us its chain height after HELLO (SYNC_BLOCK_ADDED); the HELLO height comes with register. */
  recordHeight(peerId: string, height: number): void
  /** SYNC_BLOCK_ADDED from a link. */
  blockAdded(block: Block, from: Link): void
  /** SYNC_COMMIT_PROOF from a link: validators' signatures over a committed block (checked beside the receive loop). */
  commitProof(proof: CommitProofPayload, from: Link): void
  /** A RESPONSE(FAILURE) from the remote: it refused something we sent. */
  refusedByPeer(from: Link, refusal: { code: string; message: string; inReplyTo: number | undefined }): void
  /** An answer to one of our requests (SYNC_BLOCKS, SYNC_STATE_SNAPSHOT, SYNC_STATE_DELTAS). */
  resolveRequest(requestId: number, type: number, payload: unknown, from: Link): void
}
