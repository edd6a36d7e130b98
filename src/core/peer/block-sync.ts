/**
 * The peer's side of block sync, between its links and its chain: the chain heights linked peers
 * claim (in HELLO, then in each SYNC_BLOCK_ADDED), the SYNC_GET_BLOCKS requests this peer sends and
 * the answers that settle them (sync-client.ts pairs them by request id), and, on a non-validator,
 * the ChainFollower (chain-follower.ts) that applies announced blocks and catches up. A validator
 * gets its blocks from its consenter; for it this unit only keeps the heights and the requests its
 * consenter's state transfer makes through the Stack (`stackSync`).
 *
 * A non-validator with a membership takes a block only with validators' proof (SYNC_COMMIT_PROOF,
 * collected in commit-proofs.ts; the follower checks the hash chain up to it). It also relays: each
 * block it applies and each proof it completes go on to its own followers (`toFollowers`: the
 * non-validators that dialed it), so validators serve a few followers and the rest are served by
 * those. Duplicates die at each receiver, which drops a block below its height unread.
 *
 * In: links registered (with their HELLO height) and ended, SYNC_BLOCK_ADDED, SYNC_COMMIT_PROOF,
 * sync answers, the discovery period. Out: SYNC_GET_BLOCKS through `unicast`, blocks applied to
 * the ledger, relayed blocks and proofs.
 *
 *   const sync = new BlockSync({ role, ledger, log, clock, syncTimeoutMs, linked: registry, unicast })
 *   sync.linkRegistered(link.remoteId, hello.height)   // then, once the link is announced:
 *   sync.catchUpFrom(link, hello.height)               // a follower meeting a longer chain fetches it
 *   sync.blockAdded(block, link)                       // SYNC_BLOCK_ADDED
 *   createConsenterStack({ ..., sync: sync.stackSync })   // the consenter's state transfer
 *   sync.close()                                       // stop: every request fails
 */
import type { SyncHooks } from '../consensus/consenter.js'
import { AbortError, TransportError, describeError } from '../errors.js'
import type { Link } from '../handlers/link.js'
import type { Membership } from '../identity/membership.js'
import type { Ledger } from '../ledger/ledger.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType, messageTypeName } from '../wire/message-type.js'
import { makeEnvelope } from '../wire/payloads.js'
import { EndpointType, type Block, type BlocksPayload, type CommitProofPayload, type PeerRole } from '../wire/payload-types.js'
import { ChainFollower, type ChainSource } from './chain-follower.js'
import { CommitProofs, type ProvenBlock } from './commit-proofs.js'
import type { FollowerStatus } from './peer-types.js'
import { DEFAULT_MAX_PROOFS_VERIFYING, PROOFS_VERIFYING_PER_MEMBER, type PeerLimits } from './limits.js'
import { SyncClient } from './sync-client.js'

export interface BlockSyncOptions {
  /** This peer's role: only a non-validator follows announced blocks and catches up by itself. */
  role: PeerRole
  ledger: Ledger
  log: Logger
  clock: Clock
  /** How long a request waits for its answer. */
  syncTimeoutMs: number
  /** The registered links (the peer's PeerRegistry), read for the follower's retry. */
  linked: { values(): Iterable<Link>; get(peerId: string): Link | undefined }
  /** Sends to one linked peer; throws PeerNotFoundError when it is not linked (the peer's unicast). */
  unicast(envelope: Envelope, peerId: string): void
  /** The validators whose signatures prove blocks; without it a follower trusts announcements (open mode). */
  membership?: Membership
  /** Sends to the followers this peer serves (a relay's: the non-validators that dialed it), best effort. */
  toFollowers?: (envelope: Envelope) => void
  /** Whether this peer serves any follower now: a relay with none builds no envelope. */
  servesFollowers?: () => boolean
  /** The follower's bounds (limits.ts); each defaults to its DEFAULT_*. */
  limits?: Partial<Pick<PeerLimits, 'maxUnprovenBlocks' | 'proofSignaturesPerSigner' | 'maxProofsVerifying'>>
}

export class BlockSync {
  readonly #o: BlockSyncOptions
  readonly #client: SyncClient
  /** Keeps a non-validator's chain: announced blocks, catch-ups (chain-follower.ts). */
  readonly #follower: ChainFollower
  /** Chain heights linked peers last claimed, by peer ID. */
  readonly #heights = new Map<string, number>()
  /**
   * Validators' signatures (with a membership). A follower's, to verify what it takes; a
   * validator's, to hand its followers whole proofs, so one validator link is enough to follow.
   */
  readonly #proofs: CommitProofs | undefined
  #unsubscribeRelay: (() => void) | undefined
  /** SYNC_COMMIT_PROOF messages being verified now, the most allowed (limits.ts: maxProofsVerifying), and those dropped. */
  #verifying = 0
  readonly #maxVerifying: number
  #proofsDropped = 0
  /** The newest proof passed on to this relay's followers (its block is applied here). */
  #relayed: ProvenBlock | undefined

  constructor(options: BlockSyncOptions) {
    this.#o = options
    this.#client = new SyncClient(options.clock, options.syncTimeoutMs)
    const follows = options.role !== 'validator'
    this.#follower = new ChainFollower({
      ledger: options.ledger,
      log: options.log,
      fetchBlocks: (peerId, start, end, signal) => this.#fetchBlocks(peerId, start, end, signal),
      verifying: options.membership !== undefined,
      ...(options.limits?.maxUnprovenBlocks === undefined ? {} : { maxUnprovenBlocks: options.limits.maxUnprovenBlocks }),
    })
    const maxVerifying = options.limits?.maxProofsVerifying ?? DEFAULT_MAX_PROOFS_VERIFYING
    this.#maxVerifying = Math.max(maxVerifying, PROOFS_VERIFYING_PER_MEMBER * (options.membership?.members.length ?? 0))
    if (options.membership !== undefined) {
      this.#proofs = new CommitProofs({
        membership: options.membership,
        // A validator collects signatures of blocks it has committed too: it proves them to its followers.
        height: follows ? () => options.ledger.height() : () => 0,
        onProven: (proven, source) => this.#proven(proven, source),
        ...(options.limits?.proofSignaturesPerSigner === undefined ? {} : { perSigner: options.limits.proofSignaturesPerSigner }),
      })
    }
    const toFollowers = options.toFollowers
    if (follows && toFollowers !== undefined) {
      // A proof goes on only with its block applied here, so a follower that asks for the blocks below it gets them.
      this.#unsubscribeRelay = options.ledger.onBlock((block) => {
        const latest = this.#proofs?.latest
        const proven = latest !== undefined && latest.number === block.number
        if (proven) this.#relayed = latest
        // Encoding a block costs about what applying it does: not for nobody.
        if (options.servesFollowers?.() === false) return
        toFollowers(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block }, options.clock.now()))
        if (proven) toFollowers(this.#proofEnvelope(latest))
      })
    }
  }

  /** How this follower takes blocks: verifying or not, the latest proof, what it refused. */
  followerStatus(): FollowerStatus {
    const latest = this.#proofs?.latest
    return {
      verifying: this.#proofs !== undefined && this.#o.role !== 'validator',
      ...(latest === undefined ? {} : { proof: { number: latest.number, signers: latest.signatures.map((s) => s.signer) } }),
      refusedSignatures: this.#proofs?.refused ?? 0,
      refusedBlocks: this.#follower.refused,
      droppedProofs: this.#proofsDropped,
    }
  }

  /** What a new follower of this relay is sent first: the latest proof, so it can climb to it at once. */
  greetingForFollower(): Envelope | undefined {
    return this.#relayed === undefined ? undefined : this.#proofEnvelope(this.#relayed)
  }

  /** What the consenter's Stack offers for state transfer: the heights, and ranges fetched page by page. */
  readonly stackSync: SyncHooks = {
    peerHeights: () => this.#heights,
    fetchBlocks: (peerId, start, end, options) => this.#follower.fetchRange(peerId, start, end, options?.signal),
  }

  /** A link registered, with the chain height its HELLO claimed. */
  linkRegistered(peerId: string, height: number): void {
    this.#heights.set(peerId, height)
  }

  /**
   * A non-validator that meets a validator with a longer chain catches up at once, instead of
   * waiting for the next SYNC_BLOCK_ADDED to reveal the gap (a reloaded tab starts at genesis).
   */
  catchUpFrom(link: Link, height: number): void {
    if (this.#o.role === 'validator' || link.remote?.type !== EndpointType.VALIDATOR) return
    this.#follower.catchUp({ id: link.remoteId, label: link.label }, height)
  }

  /** A linked peer told its height after HELLO (SYNC_BLOCK_ADDED). */
  recordHeight(peerId: string, height: number): void {
    if (peerId !== '' && Number.isSafeInteger(height)) this.#heights.set(peerId, height)
  }

  /** SYNC_BLOCK_ADDED. Validators get blocks from their consenter; only non-validators follow it. */
  blockAdded(block: Block, from: Link): void {
    if (this.#o.role === 'validator') return
    this.#follower.follow(block, { id: from.remoteId, label: from.label })
  }

  /**
   * SYNC_COMMIT_PROOF: a follower counts it toward what it may take; a validator toward the whole
   * proofs it hands its followers (its own signatures come here too). Open mode has no use for it.
   * A bad signature is counted and logged, never used; the link stays (a relay may pass on what it
   * was given).
   */
  commitProof(payload: CommitProofPayload, from: Pick<Link, 'remoteId' | 'label' | 'remoteIsValidator'>): void {
    if (this.#proofs === undefined) return
    // A validator takes signatures only from validators: anyone else could make it verify floods.
    if (this.#o.role === 'validator' && !from.remoteIsValidator) return
    // Verified beside the link's receive loop, not in it: consensus messages on the same link must
    // not wait for a signature check. Bounded: past the cap a message is dropped (a later one proves more).
    if (this.#verifying >= this.#maxVerifying) {
      this.#proofsDropped++
      return
    }
    this.#verifying++
    this.#proofs
      .add(payload, from.remoteId)
      .then((outcome) => {
        if (outcome === 'refused') this.#o.log.warn('refused a commit proof: a signature is not a validator\'s', { remotePeer: from.label, number: payload.number })
      })
      .catch((err: unknown) => this.#o.log.error('could not check a commit proof', { remotePeer: from.label, error: describeError(err) }))
      .finally(() => this.#verifying--)
  }

  /** An answer to a request (SYNC_BLOCKS, ...); one no request from that peer awaits is dropped. */
  resolveRequest(requestId: number, type: number, payload: unknown, from: Link): void {
    if (!this.#client.resolve(requestId, type, from.remoteId, payload)) {
      this.#o.log.debug('unsolicited sync answer dropped', { remotePeer: from.label, type: messageTypeName(type), requestId })
    }
  }

  /** A registered link ended: its requests fail, its height is forgotten. */
  linkEnded(peerId: string): void {
    this.#client.failPeer(peerId, new TransportError(`link to ${peerId} ended`))
    this.#heights.delete(peerId)
  }

  /**
   * A follower whose fetch failed (an answer that timed out, a link that dropped mid-answer) would
   * wait for the next SYNC_BLOCK_ADDED to show its gap again, which never comes on a network with
   * nothing more to commit. Each discovery period, with no follow work pending, it catches up from
   * the linked validator that claimed the greatest height above its own.
   */
  retryCatchUp(): void {
    if (this.#o.role === 'validator') return
    const claims: [ChainSource, number][] = []
    for (const link of this.#o.linked.values()) {
      if (link.remote?.type === EndpointType.VALIDATOR) claims.push([{ id: link.remoteId, label: link.label }, this.#heights.get(link.remoteId) ?? 0])
    }
    this.#follower.retry(claims)
  }

  /** Fails every request (the peer stops). */
  close(): void {
    this.#unsubscribeRelay?.()
    this.#client.close(new AbortError('peer stopped'))
  }

  #proven(proven: ProvenBlock, sourceId: string): void {
    if (this.#o.role === 'validator') {
      // Only what this validator can serve: a follower fetches the blocks below the proof from it.
      if (proven.number < this.#o.ledger.height()) {
        this.#relayed = proven
        this.#o.toFollowers?.(this.#proofEnvelope(proven))
      }
      return
    }
    this.#follower.proven(proven.number, proven.blockHash, { id: sourceId, label: this.#o.linked.get(sourceId)?.label ?? sourceId })
  }

  #proofEnvelope(proven: ProvenBlock): Envelope {
    return makeEnvelope(MessageType.SYNC_COMMIT_PROOF, { number: proven.number, blockHash: proven.blockHash, signatures: proven.signatures }, this.#o.clock.now())
  }

  #fetchBlocks(peerId: string, start: number, end: number, signal?: AbortSignal): Promise<Block[]> {
    return this.#client
      .request<BlocksPayload>(
        peerId,
        MessageType.SYNC_BLOCKS,
        (requestId) => this.#o.unicast(makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId, start, end }), peerId),
        signal,
      )
      .then((answer) => answer.blocks)
  }
}
