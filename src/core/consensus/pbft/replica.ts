/**
 * One PBFT replica (Castro and Liskov, batch mode as in Fabric v0.6's obcpbft): the state machine.
 * Deterministic: driven only by `receive` (a decoded message and the sender's replica index, which
 * the caller has authenticated), `submit` (a client request) and timers on the Stack's clock; it
 * never reads real time or randomness. It sends through the Stack and writes blocks to its ledger.
 *
 * Normal case: a request is forwarded to the primary only (backups learn it from the pre-prepare;
 * the replica that took it keeps it outstanding until it executes: a forward that finds no link to
 * the primary is retried every forwardRetryMs, a request that waits too long is re-broadcast to
 * every replica (see #onRequestTimer), and all it holds goes to each new primary); the primary
 * (view mod N) cuts a batch at
 * batchSize or after batchTimeoutMs and pre-prepares it with the next sequence number (up to
 * h + L/2); backups prepare; 2f matching prepares plus the pre-prepare make it prepared, and the
 * replica commits; 2f+1 matching commits make it committed-local. Batches execute strictly in
 * sequence order, one block per non-null sequence number, with the batch's timestamp and proposer,
 * so every replica builds identical blocks. Duplicate transactions are left out by the primary and
 * skipped by the ledger.
 *
 * Null requests (a pre-prepare without a batch, digest '') go through prepare and commit like any
 * batch and consume their sequence number, but execute nothing and make no block, as in Fabric:
 * block numbers therefore trail sequence numbers by the null requests executed so far, and a
 * replica only ever relates the two through hashes (a checkpoint carries the head hash). They come
 * from view changes (gaps in the new view) and, when nullRequestMs > 0, from an idle primary: it
 * pre-prepares one after nullRequestMs without a pre-prepare, and a backup that hears no
 * pre-prepare from the primary for nullRequestMs + requestTimeoutMs starts a view change, so a dead
 * primary is found without client traffic (Fabric's nullrequest timeout).
 *
 * Checkpoints: every K sequence numbers each replica broadcasts the hash of its head block (the
 * state after that sequence number); 2f+1 matching make it stable, which moves the low watermark h
 * and garbage-collects the log. A stable checkpoint we have not reached, or f+1 matching ones above
 * h + L, start a state transfer.
 *
 * View change: when this replica's oldest request has waited requestTimeoutMs it is re-broadcast;
 * when it waits one more period and nothing executed meanwhile, the replica moves to the next view
 * and broadcasts a view change (its checkpoints, P and Q sets); f+1 view changes for later views
 * make it join; the new primary sends a new view once 2f+1 agree, re-proposing prepared batches
 * and filling gaps with null requests (see view-change.ts).
 *
 * Joining a later view: a replica announces its view (vs) when it starts and to validators that
 * link to it; one active in a later view answers with its view change and that view's new view,
 * and so does one that gets a view change for an earlier view than its own. f+1 replicas seen
 * voting in later views also make a replica ask (a view change for that view). f+1 replicas sending
 * the same new view vouch for it: it is installed without the view changes behind it, so a
 * replica restarted without a consensus log (in view 0, its own earlier view changes lost) votes
 * again at once. With a log, a restart comes back in its own view with its votes (promises.ts).
 *
 * Output: what one input (a message or a bundle of them, a client request, a timer) makes this
 * replica broadcast leaves when the input is done, a lone message as itself and several as
 * bundles (messages.ts); a unicast first sends what waits, so each link keeps the order
 * (outbound.ts). Timers are named and kept in one place (replica-timers.ts).
 */
import { describeError } from '../../errors.js'
import { toHex } from '../../util/bytes.js'
import type { Logger } from '../../util/logger.js'
import { transactionBytes, transactionBytesMost, transactionsExceed } from '../../wire/block-size.js'
import { MessageType } from '../../wire/message-type.js'
import { EndpointType, type Block, type Transaction } from '../../wire/payload-types.js'
import { makeEnvelope } from '../../wire/payloads.js'
import type { Stack } from '../consenter.js'
import { NULL_DIGEST, batchDigest, type PbftBatch } from './batch.js'
import { PBFT_MAX_EARLY_MESSAGES, PBFT_MAX_VIEW_CHANGE_BACKOFF, logSize, type PbftConfig } from './config.js'
import {
  type CheckpointMsg,
  type CommitMsg,
  type NewViewMsg,
  type PbftMessage,
  type PrePrepareMsg,
  type PrepareMsg,
  type SeqDigest,
  type SeqDigestView,
  type ViewChangeMsg,
  type ViewStatusMsg,
} from './messages.js'
import { PbftOutbound } from './outbound.js'
import { restorePromises } from './promises.js'
import { ReplicaTimers } from './replica-timers.js'
import { RequestForwarder } from './request-forwarder.js'
import { transferState, type TransferTarget } from './state-transfer.js'
import { assignSequenceNumbers, selectCheckpoint } from './view-change.js'

export interface ReplicaStats {
  /** Sequence numbers executed here, null requests included (they commit no block). */
  executed: number
  /** Batches this replica pre-prepared as primary. */
  proposed: number
  /** Null requests this replica pre-prepared as an idle primary (nullRequestMs > 0). */
  nullRequests: number
  /** View changes this replica started or joined. */
  viewChanges: number
  /** Messages refused: wrong replica id, wrong primary, conflicting pre-prepare, out of place. */
  refused: number
  /** Requests dropped because maxOutstanding was reached. */
  dropped: number
  /** State transfers completed. */
  transfers: number
}

export interface ReplicaStatus extends ReplicaStats {
  replica: number
  view: number
  primary: number
  /** False while a view change is under way. */
  active: boolean
  /** Low watermark: the last stable checkpoint. */
  h: number
  /** The last sequence number executed (not a block number: null requests make no block). */
  lastExec: number
  /** The last sequence number this replica assigned or saw re-proposed. */
  seqNo: number
  outstanding: number
  /** Outstanding requests whose forward waits for a link to the primary. */
  unsent: number
  transferring: boolean
}

interface Cert {
  view: number
  digest: string | undefined
  /** undefined until the pre-prepare arrives; null for a null request. */
  batch: PbftBatch | null | undefined
  prepares: Map<number, string>
  commits: Map<number, string>
  prepared: boolean
  sentCommit: boolean
  committed: boolean
}

type Early = { msg: PrePrepareMsg | PrepareMsg | CommitMsg; from: number }

/**
 * What a replica outside the agreeing view (in a view change alone, or restarted in an old view)
 * hears for one sequence number: pre-prepared batches by digest, and each replica's latest commit.
 * 2f+1 matching commits prove the batch decided, so it is executed without taking part.
 */
interface Follow {
  batches: Map<string, PbftBatch | null>
  commits: Map<number, string>
}

/** Batches a follower keeps per sequence number at most (default 4): more means an equivocating primary. */
export const PBFT_MAX_FOLLOW_BATCHES = 4
/**
 * Blocks below the head a restart looks through for the head hashes its consensus log recorded
 * (default 1,024): the log keeps about a window (L sequence numbers) of them, and a stored chain
 * loses at most its unwritten tail.
 */
export const PBFT_RESTORE_SCAN_BLOCKS = 1024
/** Views a replica keeps another replica's view changes for at most (default 4). */
export const PBFT_MAX_VC_VIEWS_PER_REPLICA = 4

function countMatching(votes: Map<number, string>, digest: string): number {
  let count = 0
  for (const d of votes.values()) if (d === digest) count++
  return count
}

export class Replica {
  readonly self: number
  readonly #stack: Stack
  readonly #cfg: PbftConfig
  readonly #log: Logger
  readonly #L: number
  readonly #abort = new AbortController()
  #stopped = false
  /** Every timer, by name (replica-timers.ts); each runs its work as one input. */
  readonly #timers: ReplicaTimers
  /** Where broadcasts wait for the end of the input being handled (outbound.ts). */
  readonly #outbound: PbftOutbound

  #view = 0
  #active = true
  #h = 0
  #lastExec = 0
  #seqNo = 0

  readonly #certs = new Map<number, Cert>()
  readonly #follow = new Map<number, Follow>()
  readonly #batches = new Map<string, PbftBatch>()
  readonly #outstanding = new Map<string, Transaction>()
  /** The primary's requests not yet in a batch of this view. */
  readonly #queue = new Map<string, Transaction>()
  /** How this replica's accepted requests reach the primary (request-forwarder.ts). */
  readonly #forwarder: RequestForwarder

  /** Checkpoint votes within the window: n -> replica -> digest. */
  readonly #checkpoints = new Map<number, Map<number, string>>()
  /** Checkpoint votes above h + L: "n:d" -> replicas. */
  readonly #checkpointsAbove = new Map<string, { n: number; d: string; from: Set<number> }>()
  /** Checkpoints this replica holds (executed or transferred), h included. */
  readonly #ownCheckpoints = new Map<number, string>()

  /** Prepared certificates from past views, by n. */
  readonly #pset = new Map<number, { d: string; v: number }>()
  /** Pre-prepared (n, d) from past views, with the highest view. */
  readonly #qset = new Map<string, { n: number; d: string; v: number }>()
  /** View changes for views >= ours: view -> replica -> message (a few views per replica at most). */
  readonly #vcs = new Map<number, Map<number, ViewChangeMsg>>()
  /** The views each replica has view changes stored for, ascending. */
  readonly #vcViews = new Map<number, number[]>()
  /** The view change this replica sent last (resent every resendViewChangeMs until a new view). */
  #myVc: ViewChangeMsg | undefined
  /** The latest new view each replica sent us (the primary's, or one relayed to help us join), for views >= ours. */
  readonly #nvFrom = new Map<number, NewViewMsg>()
  /** The highest view each other replica was seen active in, when above ours (see #sawView). */
  readonly #laterViews = new Map<number, number>()
  /** Validators linked at the last view announcement (see #announceView). */
  #announced = new Set<string>()
  /** The new view of the current view change from its primary, waiting for its batches and view changes (#tryNewView). */
  #pendingNv: NewViewMsg | undefined
  /** The last new view this replica installed or sent, relayed to replicas that ask (#helpBehind). */
  #lastNv: NewViewMsg | undefined
  /** Whether this replica, as the new primary, sent the new view of the current view change. */
  #nvSent = false
  /** Digests of batches asked for by digest (fb), whose rb answer is awaited. */
  #fetchingBatches = new Set<string>()
  /** Messages of this view that arrived before its new view was installed, replayed after (bounded by PBFT_MAX_EARLY_MESSAGES). */
  #heldForNewView: Early[] = []
  /** When each replica was last sent our view change and new view to catch up (see #onViewChange). */
  readonly #viewHelpSentAt = new Map<number, number>()
  /** When each lagging replica was last sent our checkpoint and head (#helpLagging). */
  readonly #headHelpSentAt = new Map<number, number>()
  /** f+1 matching checkpoints ahead of what we executed, looked at again after batchTimeoutMs before transferring. */
  #lagTarget: { target: TransferTarget; peers: number[] } | undefined
  /** Multiplier of viewChangeTimeoutMs, doubled by each view change that finds no new view. */
  #backoff = 1
  /** The oldest outstanding request at the request timer's last tick (see #onRequestTimer). */
  #watched: string | undefined
  /** Whether #watched was re-sent to every replica. */
  #complained = false
  /** Non-null batches executed and state transfers completed: the chain moving, whoever's requests. */
  #progress = 0
  /** #progress at the request timer's last tick. */
  #progressAtTick = 0

  #transferring = false
  #nextTarget: { target: TransferTarget; peers: number[] } | undefined

  /** #lastExec at the previous lag probe. */
  #probedAt = -1
  /** lastExec when this replica last asked the others for their heads (a quiet probe or a head probe). */
  #askedHeadsAt = -1
  /** State transfers failed in a row (reported once, retried with backoff). */
  #transferFailures = 0
  /** When the primary last sent (primary) or was last heard sending (backup) a pre-prepare. */
  #lastPrePrepareAt = 0

  readonly stats: ReplicaStats = { executed: 0, proposed: 0, nullRequests: 0, viewChanges: 0, refused: 0, dropped: 0, transfers: 0 }

  constructor(stack: Stack, config: PbftConfig, self: number) {
    this.#stack = stack
    this.#cfg = config
    this.self = self
    this.#L = logSize(config)
    this.#log = stack.log.child({ replica: self })
    this.#outbound = new PbftOutbound(stack, config.validators, this.#log, stack.consensusLog)
    this.#timers = new ReplicaTimers(() => stack.clock, (fn) => this.#outbound.input(fn))
    this.#forwarder = new RequestForwarder({
      outbound: this.#outbound,
      timers: this.#timers,
      log: this.#log,
      validators: config.validators,
      self,
      batchSize: config.batchSize,
      forwardRetryMs: config.forwardRetryMs,
      primary: () => (this.#active ? this.#primary(this.#view) : undefined),
      waitsFor: (txid) => this.#outstanding.has(txid),
    })
  }

  /**
   * Picks up where the ledger and the consensus log are. The log's promises (promises.ts) put it
   * back in its view with its votes, which it sends again: replicas that restarted with it rebuild
   * their quorums from them, the others ignore duplicates; its records of what was executed place
   * the stored chain's end on a sequence number (#placeOnLedger). Without a log, a stored ledger
   * is taken as having executed one sequence number per block (no null request among them); if
   * that is wrong, the checkpoints of the others move this replica by state transfer, which is
   * anchored on hashes.
   */
  start(): void {
    const { ledger } = this.#stack
    this.#lastExec = ledger.height() - 1
    this.#h = this.#lastExec - (this.#lastExec % this.#cfg.k)
    this.#seqNo = this.#lastExec
    this.#ownCheckpoints.set(this.#h, toHex(ledger.blockHash(this.#h)!))
    const loaded = this.#stack.consensusLog?.loaded ?? []
    if (loaded.length > 0) this.#outbound.input(() => this.#restore(loaded, this.#stack.consensusLog?.loadedLabel ?? 0))
    this.#sawPrePrepare()
    this.#armNullTimer()
    this.#armLagProbe()
    this.#announceView()
  }

  /**
   * Finds the sequence number the stored chain ends at: the highest one logged as executed whose
   * head hash is one of the top blocks' (a lost ledger tail moves it back), plus one per block
   * stored after it. The low watermark is the last stable checkpoint (the log's newest segment is
   * labelled with it), or the highest multiple of K below it on this chain when the ledger lost
   * it: never a checkpoint of this replica alone, whose votes above it others may still need.
   * Without a match (a log from before this ledger) it stays one sequence number per block.
   */
  #placeOnLedger(executed: ReadonlyMap<number, string>, stable: number): void {
    const { ledger } = this.#stack
    const top = ledger.height() - 1
    const blockOf = new Map<string, number>()
    for (let b = top; b >= 0 && top - b <= PBFT_RESTORE_SCAN_BLOCKS; b--) blockOf.set(toHex(ledger.blockHash(b)!), b)
    // Sequence number 0 is genesis, executed by no one.
    const seqs = [...executed, [0, toHex(ledger.blockHash(0)!)] as const].sort((a, b) => b[0] - a[0])
    const match = seqs.find(([, d]) => blockOf.has(d))
    if (match === undefined) return
    this.#lastExec = match[0] + (top - blockOf.get(match[1])!)
    this.#seqNo = Math.max(this.#seqNo, this.#lastExec)
    const checkpoint = seqs.find(([n, d]) => n % this.#cfg.k === 0 && n <= Math.min(stable, this.#lastExec) && blockOf.has(d))
    if (checkpoint === undefined) return
    this.#ownCheckpoints.clear()
    this.#h = checkpoint[0]
    // The checkpoints executed above it go in this replica's view changes, as they would have
    // without the restart: replicas whose stable checkpoints differ agree on a new view through them.
    for (const [n, d] of seqs) {
      if (n % this.#cfg.k === 0 && n >= this.#h && n <= this.#lastExec && blockOf.has(d)) this.#ownCheckpoints.set(n, d)
    }
  }

  /** Takes back the promises a consensus log holds, and sends its votes above the checkpoint again. */
  #restore(records: readonly Uint8Array[], stable: number): void {
    const r = restorePromises(records, this.self, (v) => this.#primary(v))
    if (r.undecodable > 0) this.#log.warn('pbft consensus log: records that do not decode were skipped', { skipped: r.undecodable })
    this.#placeOnLedger(r.executed, stable)
    // Votes above the checkpoint are kept, executed ones included: until a stable checkpoint covers
    // them, a view change must carry them in P and Q, or the next view could fill them with others.
    this.#view = r.view
    this.#active = r.active
    for (const [d, batch] of r.batches) this.#batches.set(d, batch)
    for (const [n, e] of r.pset) if (n > this.#h) this.#pset.set(n, e)
    for (const [key, e] of r.qset) if (e.n > this.#h) this.#qset.set(key, e)
    if (r.viewChange !== undefined) {
      this.#myVc = r.viewChange
      // As before the restart: its own view changes are in #vcs until a new view is installed.
      if (r.previousViewChange !== undefined) this.#storeVc(r.previousViewChange, this.self)
      this.#storeVc(r.viewChange, this.self)
    }
    this.#lastNv = r.newView
    const primary = this.#isPrimary()
    const repeat: PbftMessage[] = []
    for (const [n, c] of [...r.certs].sort((a, b) => a[0] - b[0])) {
      if (!this.#inWindow(n)) continue
      const cert = this.#cert(this.#view, n)
      cert.digest = c.digest
      // null is a null request's batch, not a missing one.
      cert.batch = c.batch !== undefined ? c.batch : this.#batches.get(c.digest)
      // Votes are sent again executed or not: replicas that lost their tail may need them to
      // commit what this one executed. A batch goes again only while it is not executed.
      const open = n > this.#lastExec
      if (cert.batch === undefined && open) this.#fetchBatch(c.digest)
      if (c.prepared && primary && cert.batch !== undefined && open) repeat.push({ t: 'pp', v: this.#view, n, r: this.self, b: cert.batch })
      if (c.prepared && !primary) {
        cert.prepares.set(this.self, c.digest)
        repeat.push({ t: 'p', v: this.#view, n, r: this.self, d: c.digest })
      }
      if (c.committed) {
        cert.prepared = true
        cert.sentCommit = true
        cert.commits.set(this.self, c.digest)
        repeat.push({ t: 'c', v: this.#view, n, r: this.self, d: c.digest })
      }
      if (n > this.#seqNo) this.#seqNo = n
    }
    if (r.seqNo > this.#seqNo) this.#seqNo = r.seqNo
    this.#log.info('pbft promises restored from the consensus log', { view: this.#view, active: this.#active, h: this.#h, lastExec: this.#lastExec, votes: this.#certs.size })
    for (const msg of repeat) this.#outbound.broadcast(msg)
    if (!this.#active && this.#myVc?.v === this.#view) {
      this.#outbound.broadcast(this.#myVc)
      this.#armResend()
    }
  }

  /**
   * Tells each validator linked since the last call which view this replica is active in (vs).
   * A replica restarted without a consensus log starts in view 0 however far the others went, and
   * one with a log may have missed view changes while down: one that is in a later view
   * answers with its view change and new view (#helpBehind), and this replica joins that view at
   * once instead of following the chain without a vote. Called at start and every
   * resendViewChangeMs (links come up after start); the others announce their view to it too.
   */
  #announceView(): void {
    const linked = new Set<string>()
    for (const e of this.#stack.getNetworkHandles()) if (e.type === EndpointType.VALIDATOR) linked.add(e.id)
    if (this.#active) {
      for (const id of linked) {
        const r = this.#cfg.validators.indexOf(id)
        if (r >= 0 && r !== this.self && !this.#announced.has(id)) this.#outbound.unicast({ t: 'vs', v: this.#view, r: this.self }, r)
      }
    }
    this.#announced = linked
  }

  /**
   * A replica that restarted behind, on a network with no traffic, would otherwise wait for the
   * next request to reveal the gap. Every resendViewChangeMs it looks at the chain heights
   * validators announced when they linked (HELLO); when f+1 of them are at least K blocks ahead
   * (or ahead at all, and this replica executed nothing since the last probe), or when it fell
   * quiet at a height it has not asked about yet, it sends its stable checkpoint, and replicas
   * past it answer with theirs and their head (#helpLagging), from which it transfers state (f+1
   * matching, as for any transfer).
   */
  #armLagProbe(): void {
    this.#timers.start('lagProbe', () => {
      this.#probeLag()
      this.#announceView()
      this.#armLagProbe()
    }, this.#cfg.resendViewChangeMs)
  }

  /**
   * What was ordered while a state transfer ran was beyond our watermarks then, and with no
   * traffic after it nothing would tell us: resendViewChangeMs after the transfer (the others
   * answer a lagging replica once per that period, see #helpLagging), ask for their heads.
   */
  #armHeadProbe(): void {
    if (this.#timers.armed('headProbe')) return
    this.#timers.start('headProbe', () => {
      const d = this.#ownCheckpoints.get(this.#h)
      if (!this.#transferring && d !== undefined) {
        this.#askedHeadsAt = this.#lastExec
        this.#outbound.broadcast({ t: 'ck', n: this.#h, r: this.self, d })
      }
    }, this.#cfg.resendViewChangeMs)
  }

  #probeLag(): void {
    const executed = this.#lastExec
    const stuck = executed === this.#probedAt
    this.#probedAt = executed
    if (this.#transferring) return
    const mine = this.#stack.ledger.height()
    // K blocks behind, or behind at all while executing nothing since the last probe: a replica
    // that restarted within a checkpoint interval of the head would otherwise wait for the next
    // checkpoint, which may never come on a quiet network.
    const gap = stuck ? 1 : this.#cfg.k
    let ahead = 0
    for (const [peer, height] of this.#stack.sync.peerHeights()) {
      if (height >= mine + gap && this.#cfg.validators.includes(peer)) ahead++
    }
    const d = this.#ownCheckpoints.get(this.#h)
    if (d === undefined) return
    // Heights heard at HELLO say nothing of blocks ordered since, and validators announce blocks
    // only to non-validators: a replica that missed the last few commits after linking (fewer than
    // K, so no checkpoint ahead reaches it) would wait for the next request on a quiet network. So
    // once per height at which a replica falls quiet, it sends its stable checkpoint and its head:
    // one behind it transfers from f+1 matching heads, one ahead of it answers with its own
    // (#helpLagging), and replicas level with it hear only heads equal to their own.
    const quiet = stuck && executed !== this.#askedHeadsAt
    if (ahead < this.#cfg.f + 1 && !quiet) return
    this.#askedHeadsAt = executed
    this.#outbound.broadcast({ t: 'ck', n: this.#h, r: this.self, d })
    if (quiet && executed > this.#h) this.#outbound.broadcast({ t: 'ck', n: executed, r: this.self, d: toHex(this.#stack.ledger.headHash()) })
  }

  stop(): void {
    this.#stopped = true
    this.#abort.abort()
    this.#timers.stop()
    this.#outbound.stop()
  }

  /** Whether a state transfer is under way (the simulation waits for it before moving time). */
  get transferring(): boolean {
    return this.#transferring
  }

  status(): ReplicaStatus {
    return {
      ...this.stats,
      replica: this.self,
      view: this.#view,
      primary: this.#primary(this.#view),
      active: this.#active,
      h: this.#h,
      lastExec: this.#lastExec,
      seqNo: this.#seqNo,
      outstanding: this.#outstanding.size,
      unsent: this.#forwarder.unsent,
      transferring: this.#transferring,
    }
  }

  // ---- input ----

  /**
   * A client request submitted at this peer: kept, and forwarded to the primary. Not to every
   * replica: each would decode it once more than the pre-prepare already makes it, which cost a
   * third of a backup's receive work; the request timer's re-broadcast keeps the liveness that
   * forwarding to all gave.
   */
  submit(tx: Transaction): void {
    if (this.#stopped) return
    this.#outbound.enter()
    try {
      this.#submit(tx)
    } finally {
      this.#outbound.leave()
    }
  }

  #submit(tx: Transaction): void {
    if (!this.#addRequest(tx)) return
    if (this.#isPrimary()) {
      this.#afterRequests()
      return
    }
    this.#forwarder.add(tx)
    this.#afterRequests()
  }

  /** A message from replica `from` (authenticated by the caller; `r` fields already checked against it). */
  receive(msg: PbftMessage, from: number): void {
    this.receiveAll([msg], from)
  }

  /**
   * Messages from replica `from` (a bundle's, in order), handled as one input: what they make this
   * replica broadcast leaves as one bundle (outbound.ts), so a bundle of pre-prepares is answered
   * by a bundle of prepares, and so on down the pipeline.
   */
  receiveAll(msgs: readonly PbftMessage[], from: number): void {
    if (this.#stopped) return
    this.#outbound.enter()
    try {
      for (const msg of msgs) this.#receive(msg, from)
    } finally {
      this.#outbound.leave()
    }
  }

  #receive(msg: PbftMessage, from: number): void {
    if (this.#stopped) return
    switch (msg.t) {
      case 'req': {
        let added = false
        for (let i = 0; i < msg.x.length; i++) if (this.#addRequest(msg.x[i]!)) added = true
        if (added) this.#afterRequests()
        return
      }
      case 'pp':
      case 'p':
      case 'c':
        if (msg.v > this.#view) this.#sawView(from, msg.v)
        if (msg.t !== 'p' && (msg.v !== this.#view || !this.#active)) this.#onFollow(msg, from)
        if (msg.v === this.#view && !this.#active) {
          if (this.#heldForNewView.length < PBFT_MAX_EARLY_MESSAGES) this.#heldForNewView.push({ msg, from })
          return
        }
        if (msg.v !== this.#view) return
        if (msg.t === 'pp') this.#onPrePrepare(msg, from)
        else if (msg.t === 'p') this.#onPrepare(msg, from)
        else this.#onCommit(msg, from)
        return
      case 'ck':
        this.#onCheckpoint(msg, from)
        return
      case 'vc':
        this.#onViewChange(msg, from)
        return
      case 'vs':
        this.#onViewStatus(msg, from)
        return
      case 'nv':
        this.#onNewView(msg, from)
        return
      case 'fb': {
        const batch = this.#batches.get(msg.d)
        if (batch !== undefined) this.#outbound.unicast({ t: 'rb', r: this.self, b: batch }, from)
        return
      }
      case 'm':
        // Bundles are opened by the consenter, which checks the sender of each message in them.
        return
      case 'rb': {
        const d = batchDigest(msg.b)
        if (!this.#fetchingBatches.delete(d)) return
        this.#batches.set(d, msg.b)
        // A new view installed on f+1 replicas' word may name batches this replica lacked.
        for (const [n, cert] of this.#certs) {
          if (cert.digest !== d || cert.batch !== undefined || cert.view !== this.#view || !this.#active) continue
          cert.batch = msg.b
          if (!this.#isPrimary() && !cert.prepares.has(this.self)) {
            cert.prepares.set(this.self, d)
            this.#outbound.broadcast({ t: 'p', v: cert.view, n, r: this.self, d })
          }
          this.#check(n, cert)
        }
        for (const entry of this.#follow.values()) {
          for (const key of entry.commits.values()) {
            if (key.endsWith(`:${d}`) && entry.batches.size < PBFT_MAX_FOLLOW_BATCHES) entry.batches.set(d, msg.b)
          }
        }
        this.#tryNewView()
        this.#execute()
        return
      }
    }
  }

  // ---- requests and batching ----

  #addRequest(tx: Transaction): boolean {
    if (this.#outstanding.has(tx.txid) || this.#stack.ledger.hasTransaction(tx.txid)) return false
    if (this.#outstanding.size >= this.#cfg.maxOutstanding) {
      // Its client may have been told 202: say so, if not once per request.
      if (this.stats.dropped++ % 1000 === 0) this.#log.warn('pbft request dropped: maxOutstanding requests wait here', { maxOutstanding: this.#cfg.maxOutstanding, dropped: this.stats.dropped })
      return false
    }
    this.#outstanding.set(tx.txid, tx)
    if (this.#active && this.#isPrimary()) this.#queue.set(tx.txid, tx)
    return true
  }

  #afterRequests(): void {
    if (!this.#timers.armed('request')) this.#armRequestTimer()
    this.#tryCut(true)
  }

  /** Up to a batch of the requests this replica waits for, oldest first. */
  #oldestOutstanding(): Transaction[] {
    const x: Transaction[] = []
    for (const tx of this.#outstanding.values()) {
      if (x.length >= this.#cfg.batchSize) break
      x.push(tx)
    }
    return x
  }

  /**
   * Cuts full batches; `arrived` (new requests) also cuts a partial one when nothing is in flight
   * (every sequence number assigned is executed): there is then nothing for the batch timer to let
   * requests gather behind, and waiting for it would only add its timeout to their latency.
   */
  #tryCut(arrived = false): void {
    if (!this.#active || !this.#isPrimary() || this.#stopped) return
    const limit = this.#h + Math.floor(this.#L / 2)
    while (this.#queue.size >= this.#cfg.batchSize && this.#seqNo < limit) this.#cutBatch()
    if (arrived && this.#queue.size > 0 && this.#seqNo === this.#lastExec && this.#seqNo < limit) this.#cutBatch()
    if (this.#queue.size === 0) {
      this.#timers.clear('batch')
    } else if (!this.#timers.armed('batch')) {
      this.#timers.start('batch', () => {
        if (this.#active && this.#isPrimary() && this.#seqNo < this.#h + Math.floor(this.#L / 2)) this.#cutBatch()
        this.#tryCut()
      }, this.#cfg.batchTimeoutMs)
    }
  }

  #cutBatch(): void {
    // Nothing queued is committed: #addRequest refuses committed requests, and #forget drops
    // every request of every block this replica commits or applies.
    // Cut by count and by bytes. Bytes are bounded by UTF-16 length (no counting) until that
    // bound nears the cap; from then on counted exactly.
    const txs: Transaction[] = []
    const max = this.#cfg.batchMaxBytes
    let bytes = 0
    let exact = false
    for (const [txid, tx] of this.#queue) {
      if (txs.length >= this.#cfg.batchSize) break
      let add = transactionBytesMost(tx)
      if (!exact && bytes + add > max) {
        exact = true
        bytes = 0
        for (const taken of txs) bytes += transactionBytes(taken)
      }
      if (exact) add = transactionBytes(tx)
      if (txs.length > 0 && bytes + add > max) break
      this.#queue.delete(txid)
      txs.push(tx)
      bytes += add
    }
    if (txs.length === 0) return
    const proposer = this.#cfg.validators[this.self] as string
    const batch: PbftBatch = { timestamp: Math.max(0, Math.floor(this.#stack.clock.now())), proposer, txs }
    const d = batchDigest(batch)
    const n = ++this.#seqNo
    const cert = this.#cert(this.#view, n)
    cert.digest = d
    cert.batch = batch
    this.#batches.set(d, batch)
    this.stats.proposed++
    this.#outbound.broadcast({ t: 'pp', v: this.#view, n, r: this.self, b: batch })
    this.#sawPrePrepare()
    this.#check(n, cert)
  }

  /**
   * The idle primary's heartbeat: a pre-prepare of a null request with the next sequence number.
   * Not while requests wait (the batch timer pre-prepares them soon: requestTimeoutMs, which the
   * backups add to nullRequestMs, is forced above batchTimeoutMs) nor above h + L/2 (execution is
   * what is behind then, and the checkpoints that move h also restart pre-prepares).
   */
  #sendNullRequest(): void {
    if (this.#queue.size > 0 || this.#seqNo >= this.#h + Math.floor(this.#L / 2)) return
    const n = ++this.#seqNo
    const cert = this.#cert(this.#view, n)
    cert.digest = NULL_DIGEST
    cert.batch = null
    this.stats.nullRequests++
    this.#outbound.broadcast({ t: 'pp', v: this.#view, n, r: this.self, b: null })
    this.#sawPrePrepare()
    this.#check(n, cert)
  }

  // ---- normal case ----

  #inWindow(n: number): boolean {
    return n > this.#h && n <= this.#h + this.#L
  }

  #cert(view: number, n: number): Cert {
    let cert = this.#certs.get(n)
    if (cert === undefined || cert.view !== view) {
      cert = { view, digest: undefined, batch: undefined, prepares: new Map(), commits: new Map(), prepared: false, sentCommit: false, committed: false }
      this.#certs.set(n, cert)
    }
    return cert
  }

  #onPrePrepare(msg: PrePrepareMsg, from: number): void {
    if (from !== this.#primary(this.#view) || from === this.self) {
      this.stats.refused++
      return
    }
    // The primary is alive, even when this replica is too far behind to use what it sent.
    this.#sawPrePrepare()
    if (!this.#inWindow(msg.n)) return
    if (msg.b !== null && (msg.b.txs.length > this.#cfg.batchSize || transactionsExceed(msg.b.txs, this.#cfg.batchMaxBytes))) {
      this.stats.refused++
      return
    }
    const d = msg.b === null ? NULL_DIGEST : batchDigest(msg.b)
    const cert = this.#cert(msg.v, msg.n)
    if (cert.batch !== undefined || cert.digest !== undefined) {
      if (cert.digest !== d) {
        this.stats.refused++
        this.#log.warn('conflicting pre-prepare refused', { view: msg.v, n: msg.n, primary: from })
      }
      return
    }
    cert.digest = d
    cert.batch = msg.b
    if (msg.b !== null) this.#batches.set(d, msg.b)
    if (msg.n > this.#seqNo) this.#seqNo = msg.n
    // The batch is logged with the prepare: after a crash of every replica, one that prepared must
    // still hold what it prepared, or the next view could re-propose a digest nobody can serve.
    this.#outbound.record(msg)
    cert.prepares.set(this.self, d)
    this.#outbound.broadcast({ t: 'p', v: msg.v, n: msg.n, r: this.self, d })
    this.#check(msg.n, cert)
  }

  #onPrepare(msg: PrepareMsg, from: number): void {
    if (from === this.#primary(this.#view)) {
      this.stats.refused++
      return
    }
    if (!this.#inWindow(msg.n)) return
    const cert = this.#cert(msg.v, msg.n)
    if (cert.prepares.has(from)) return
    cert.prepares.set(from, msg.d)
    this.#check(msg.n, cert)
  }

  #onCommit(msg: CommitMsg, from: number): void {
    if (!this.#inWindow(msg.n)) return
    const cert = this.#cert(msg.v, msg.n)
    if (cert.commits.has(from)) return
    cert.commits.set(from, msg.d)
    this.#check(msg.n, cert)
  }

  #check(n: number, cert: Cert): void {
    const d = cert.digest
    if (d === undefined || cert.batch === undefined) return
    if (!cert.prepared && countMatching(cert.prepares, d) >= 2 * this.#cfg.f) cert.prepared = true
    if (cert.prepared && !cert.sentCommit) {
      cert.sentCommit = true
      cert.commits.set(this.self, d)
      this.#outbound.broadcast({ t: 'c', v: cert.view, n, r: this.self, d })
    }
    // 2f+1 matching commits mean f+1 honest replicas prepared d: it is decided even if we missed prepares.
    if (!cert.committed && countMatching(cert.commits, d) >= 2 * this.#cfg.f + 1) {
      cert.committed = true
      if (n === this.#lastExec + 1) this.#execute()
    }
  }

  #execute(): void {
    let progressed = false
    while (!this.#transferring && !this.#stopped) {
      const n = this.#lastExec + 1
      const cert = this.#certs.get(n)
      let batch: PbftBatch | null | undefined
      if (cert !== undefined && cert.committed) batch = cert.batch
      if (batch === undefined) batch = this.#followed(n)
      if (batch === undefined) break
      if (!this.#commitBlock(n, batch)) break
      this.#follow.delete(n)
      // A null request orders no request: it must not restart the request timer, or an idle
      // primary's heartbeats would hide that it ignores the requests waiting here.
      if (batch !== null) progressed = true
    }
    if (progressed) this.#afterProgress()
  }

  #onFollow(msg: PrePrepareMsg | CommitMsg, from: number): void {
    if (msg.n <= this.#lastExec || msg.n <= this.#h || msg.n > this.#h + this.#L) return
    let entry = this.#follow.get(msg.n)
    if (entry === undefined) this.#follow.set(msg.n, (entry = { batches: new Map(), commits: new Map() }))
    if (msg.t === 'pp') {
      if (from !== this.#primary(msg.v) || entry.batches.size >= PBFT_MAX_FOLLOW_BATCHES) return
      entry.batches.set(msg.b === null ? NULL_DIGEST : batchDigest(msg.b), msg.b)
    } else {
      entry.commits.set(from, `${msg.v}:${msg.d}`)
    }
    if (msg.n === this.#lastExec + 1) this.#execute()
  }

  /** The batch 2f+1 matching commits decided at n, when this replica also holds it. */
  #followed(n: number): PbftBatch | null | undefined {
    const entry = this.#follow.get(n)
    if (entry === undefined) return undefined
    const counts = new Map<string, number>()
    for (const key of entry.commits.values()) {
      const count = (counts.get(key) ?? 0) + 1
      counts.set(key, count)
      if (count < 2 * this.#cfg.f + 1) continue
      const d = key.slice(key.indexOf(':') + 1)
      if (entry.batches.has(d)) return entry.batches.get(d) as PbftBatch | null
      // Decided, but the pre-prepare never reached us: the batch can be fetched by digest.
      if (d !== NULL_DIGEST) this.#fetchBatch(d)
    }
    return undefined
  }

  /** Asks every replica for the batch with digest d (fb), once until its answer (rb) comes. */
  #fetchBatch(d: string): void {
    if (this.#fetchingBatches.has(d)) return
    this.#fetchingBatches.add(d)
    this.#outbound.broadcast({ t: 'fb', r: this.self, d })
  }

  /** Executes sequence number n: a block for a batch, nothing for a null request; then the checkpoint. */
  #commitBlock(n: number, batch: PbftBatch | null): boolean {
    const { ledger } = this.#stack
    let block: Block | undefined
    if (batch !== null) {
      const id = `pbft/${n}`
      try {
        ledger.beginTxBatch(id)
        ledger.execTxs(id, batch.txs)
        block = ledger.commitTxBatch(id, { timestamp: batch.timestamp, proposer: batch.proposer })
      } catch (err) {
        try {
          ledger.rollbackTxBatch(id)
        } catch {
          // Commit already closed it, or it never opened.
        }
        this.#log.error('executing a committed batch failed; execution halted', { n, error: describeError(err) })
        return false
      }
      this.#forget(batch.txs)
    }
    this.#lastExec = n
    this.stats.executed++
    const executed = this.#outbound.logging ? toHex(ledger.headHash()) : undefined
    // Logged, not sent: how a restart places its sequence numbers on its stored chain (promises.ts).
    if (executed !== undefined) this.#outbound.record({ t: 'ck', n, r: this.self, d: executed })
    if (n % this.#cfg.k === 0) {
      const d = executed ?? toHex(ledger.headHash())
      this.#ownCheckpoints.set(n, d)
      this.#outbound.broadcast({ t: 'ck', n, r: this.self, d })
      this.#onCheckpoint({ t: 'ck', n, r: this.self, d }, this.self)
    }
    // Replicas 0..f announce blocks (f+1 of them, so f crashed ones are covered): non-validators
    // decode every copy they get, and N copies of every block cost them N times the work. The same
    // replicas announce every block, so each link carries them in order and followers need not fetch.
    // The handles, not getNetworkInfo: that one hexes every key id and sorts, for every block.
    if (block !== undefined && this.self <= this.#cfg.f && this.#stack.getNetworkHandles().some((e) => e.type !== EndpointType.VALIDATOR)) {
      this.#stack.broadcast(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block }, this.#stack.clock.now()), 'non-validator')
    }
    return true
  }

  #forget(txs: readonly Transaction[]): void {
    for (let i = 0; i < txs.length; i++) {
      const txid = txs[i]!.txid
      this.#outstanding.delete(txid)
      this.#queue.delete(txid)
    }
  }

  /** The chain moved: counted for the request timer (no timer work per batch), and the primary may cut more. */
  #afterProgress(): void {
    this.#progress++
    this.#tryCut()
  }

  // ---- checkpoints and watermarks ----

  #onCheckpoint(msg: CheckpointMsg, from: number): void {
    // A checkpoint at or below our stable one while we executed past it: its sender may be behind
    // (a restarted replica probing, or asking for heads after a transfer; #helpLagging answers
    // once per resendViewChangeMs and only when we are past it).
    if (msg.n <= this.#h) return this.#helpLagging(msg.n, from)
    if (msg.n > this.#h + this.#L) {
      this.#onCheckpointAhead(msg, from)
      return
    }
    let votes = this.#checkpoints.get(msg.n)
    if (votes === undefined) this.#checkpoints.set(msg.n, (votes = new Map<number, string>()))
    if (votes.has(from)) return
    votes.set(from, msg.d)
    const voters = [...votes].filter(([, d]) => d === msg.d).map(([r]) => r)
    if (voters.length >= this.#cfg.f + 1 && voters.length < 2 * this.#cfg.f + 1 && msg.n > this.#lastExec) {
      // f+1 say the chain reached n (one is honest). A replica merely a little slow gets there by
      // itself; one that missed messages does not, so look again later and transfer if still behind.
      this.#lagTarget = { target: { n: msg.n, d: msg.d }, peers: voters }
      if (!this.#timers.armed('lag')) {
        this.#timers.start('lag', () => {
          const lag = this.#lagTarget
          this.#lagTarget = undefined
          if (lag !== undefined && lag.target.n > this.#lastExec) this.#startTransfer(lag.target, lag.peers)
        }, this.#cfg.batchTimeoutMs)
      }
    }
    // Heads sent to a lagging replica (#helpLagging) are not checkpoints: they may start a transfer,
    // never move the watermarks, so every replica's h stays a multiple of K and view changes agree.
    if (voters.length < 2 * this.#cfg.f + 1 || msg.n % this.#cfg.k !== 0) return
    if (this.#lastExec >= msg.n) {
      // Unknown only when a state transfer carried this replica past n: 2f+1 matching votes prove it.
      const mine = this.#ownCheckpoints.get(msg.n) ?? (msg.n === this.#lastExec ? toHex(this.#stack.ledger.headHash()) : undefined)
      if (mine === undefined || mine === msg.d) {
        this.#ownCheckpoints.set(msg.n, msg.d)
        this.#moveWatermarks(msg.n)
      } else this.#log.error('a stable checkpoint differs from this replica\'s state', { n: msg.n })
    } else {
      this.#startTransfer({ n: msg.n, d: msg.d }, voters)
    }
  }

  /**
   * A replica whose view change or checkpoint shows it behind (its stable checkpoint is `h`) gets
   * our latest checkpoint and head, to transfer from; at most once per resendViewChangeMs each.
   */
  #helpLagging(h: number, from: number): void {
    if (this.#lastExec <= h || this.#transferring || !this.#mayHelp(this.#headHelpSentAt, from)) return
    const cp = this.#lastExec - (this.#lastExec % this.#cfg.k)
    const cpD = this.#ownCheckpoints.get(cp)
    if (cp > h && cp < this.#lastExec && cpD !== undefined) this.#outbound.unicast({ t: 'ck', n: cp, r: this.self, d: cpD }, from)
    this.#outbound.unicast({ t: 'ck', n: this.#lastExec, r: this.self, d: toHex(this.#stack.ledger.headHash()) }, from)
  }

  #onCheckpointAhead(msg: CheckpointMsg, from: number): void {
    const key = `${msg.n}:${msg.d}`
    let entry = this.#checkpointsAbove.get(key)
    if (entry === undefined) {
      // Bounded: each replica keeps at most a few claims here; the oldest go first.
      if (this.#checkpointsAbove.size >= 4 * this.#cfg.n) {
        let lowest: string | undefined
        let lowN = Infinity
        for (const [k, e] of this.#checkpointsAbove) if (e.n < lowN) [lowest, lowN] = [k, e.n]
        if (lowest !== undefined) this.#checkpointsAbove.delete(lowest)
      }
      this.#checkpointsAbove.set(key, (entry = { n: msg.n, d: msg.d, from: new Set() }))
    }
    entry.from.add(from)
    if (entry.from.size >= this.#cfg.f + 1) this.#startTransfer({ n: msg.n, d: msg.d }, [...entry.from])
  }

  #moveWatermarks(n: number): void {
    if (n <= this.#h) return
    this.#h = n
    for (const key of this.#certs.keys()) if (key <= n) this.#certs.delete(key)
    for (const key of this.#follow.keys()) if (key <= n) this.#follow.delete(key)
    for (const key of this.#checkpoints.keys()) if (key <= n) this.#checkpoints.delete(key)
    for (const key of this.#ownCheckpoints.keys()) if (key < n) this.#ownCheckpoints.delete(key)
    for (const [key, e] of this.#checkpointsAbove) if (e.n <= n) this.#checkpointsAbove.delete(key)
    for (const key of this.#pset.keys()) if (key <= n) this.#pset.delete(key)
    for (const [key, e] of this.#qset) if (e.n <= n) this.#qset.delete(key)
    const live = new Set<string>()
    for (const cert of this.#certs.values()) if (cert.digest !== undefined) live.add(cert.digest)
    for (const e of this.#pset.values()) live.add(e.d)
    for (const e of this.#qset.values()) live.add(e.d)
    for (const d of this.#batches.keys()) if (!live.has(d)) this.#batches.delete(d)
    if (this.#seqNo < n) this.#seqNo = n
    this.#rotateLog()
    this.#tryCut()
  }

  /**
   * A stable checkpoint starts a new segment of the consensus log. The snapshot opening it holds
   * what older segments alone would hold: the checkpoint itself, the view change and the new view
   * this replica is bound by. Votes need no copy: one for n was logged in a segment labelled
   * above n - L, and segments go only once labelled at or below h - L (consensus-log.ts).
   */
  #rotateLog(): void {
    const d = this.#ownCheckpoints.get(this.#h)
    if (d === undefined) return
    const snapshot: PbftMessage[] = [{ t: 'ck', n: this.#h, r: this.self, d }]
    // Its own view changes still held (the earlier ones answer replicas collecting for those views).
    for (const v of this.#vcViews.get(this.self) ?? []) if (v !== this.#myVc?.v) snapshot.push(this.#vcs.get(v)!.get(this.self)!)
    if (this.#myVc !== undefined) snapshot.push(this.#myVc)
    if (this.#lastNv !== undefined) snapshot.push(this.#lastNv)
    this.#outbound.rotate(this.#h, snapshot, this.#h - this.#L + 1)
  }

  // ---- state transfer ----

  #startTransfer(target: TransferTarget, peers: number[]): void {
    if (target.n <= this.#lastExec || this.#stopped) return
    if (this.#transferring) {
      if (this.#nextTarget === undefined || target.n > this.#nextTarget.target.n) this.#nextTarget = { target, peers }
      return
    }
    this.#transferring = true
    this.#timers.clear('retry')
    const peerIds = peers.filter((r) => r !== this.self).map((r) => this.#cfg.validators[r] as string)
    const fields = { from: this.#lastExec, to: target.n, peers: peerIds }
    if (this.#transferFailures > 0) this.#log.debug('pbft state transfer', fields)
    else this.#log.info('pbft state transfer', fields)
    let failure = 'no peer gave a hash chain to it'
    transferState(this.#stack, target, peerIds, this.#abort.signal)
      .catch((err: unknown) => {
        failure = describeError(err)
        return undefined
      })
      .then((applied) => {
        this.#transferring = false
        if (this.#stopped) return
        const reached = applied !== undefined
        if (!reached) {
          // Reported once per run of failures, not on every retry; the retry adapts (below).
          if (this.#transferFailures++ === 0) this.#log.warn('pbft state transfer failed; retrying with backoff from every validator', { to: target.n, error: failure })
        } else if (this.#transferFailures > 0) {
          this.#log.info('pbft state transfer succeeded after retries', { to: target.n, failures: this.#transferFailures })
          this.#transferFailures = 0
        }
        if (reached) {
          for (const block of applied) this.#forget(block.transactions)
          this.stats.transfers++
          // The ledger now holds the state after sequence number target.n (block numbers say nothing).
          this.#lastExec = target.n
          this.#outbound.record({ t: 'ck', n: target.n, r: this.self, d: target.d })
          if (target.n % this.#cfg.k === 0) {
            this.#ownCheckpoints.set(target.n, target.d)
            this.#moveWatermarks(target.n)
          }
          if (this.#seqNo < target.n) this.#seqNo = target.n
        }
        const next = this.#nextTarget
        if (reached && next === undefined) this.#armHeadProbe()
        this.#nextTarget = undefined
        if (next !== undefined && next.target.n > this.#lastExec) this.#startTransfer(next.target, next.peers)
        else if (!reached) {
          // Not the same request unchanged forever: every validator may serve the chain (it is
          // checked against the target's hash, so it needs no vouching), and the wait doubles.
          const everyone = this.#cfg.validators.map((_, r) => r)
          const backoff = Math.min(2 ** (this.#transferFailures - 1), PBFT_MAX_VIEW_CHANGE_BACKOFF)
          this.#timers.start('retry', () => {
            this.#startTransfer(target, everyone)
          }, this.#cfg.requestTimeoutMs * backoff)
        }
        this.#execute()
        if (reached) this.#afterProgress()
      })
      .catch((err: unknown) => this.#log.error('pbft state transfer: applying its result failed', { error: describeError(err) }))
  }

  // ---- view change ----

  #primary(view: number): number {
    return view % this.#cfg.n
  }

  #isPrimary(): boolean {
    return this.#primary(this.#view) === this.self
  }

  #sendViewChange(): void {
    if (this.#stopped) return
    // What this view prepared or pre-prepared joins P and Q before the log is dropped.
    for (const [n, cert] of this.#certs) {
      if (cert.digest === undefined || n <= this.#h) continue
      if (cert.prepared) {
        const old = this.#pset.get(n)
        if (old === undefined || old.v <= cert.view) this.#pset.set(n, { d: cert.digest, v: cert.view })
      }
      const key = `${n}:${cert.digest}`
      const old = this.#qset.get(key)
      if (old === undefined || old.v < cert.view) this.#qset.set(key, { n, d: cert.digest, v: cert.view })
    }
    this.#view++
    this.#active = false
    this.#nvSent = false
    this.#heldForNewView = []
    this.#certs.clear()
    this.#queue.clear()
    this.#timers.clear('batch')
    this.#timers.clear('request')
    this.#watched = undefined
    this.#timers.clear('viewChange')
    this.#timers.clear('nullRequest')
    this.stats.viewChanges++
    const C: SeqDigest[] = [...this.#ownCheckpoints].filter(([n]) => n >= this.#h).sort((a, b) => a[0] - b[0])
    const P: SeqDigestView[] = [...this.#pset].map(([n, e]) => [n, e.d, e.v] as SeqDigestView).sort((a, b) => a[0] - b[0])
    const Q: SeqDigestView[] = [...this.#qset.values()].map((e) => [e.n, e.d, e.v] as SeqDigestView).sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
    const vc: ViewChangeMsg = { t: 'vc', v: this.#view, r: this.self, h: this.#h, C, P, Q }
    this.#myVc = vc
    this.#storeVc(vc, this.self)
    this.#log.info('pbft view change', { view: this.#view })
    this.#outbound.broadcast(vc)
    this.#armResend()
    this.#onVcQuorum()
    this.#tryNewView()
  }

  #onViewChange(msg: ViewChangeMsg, from: number): void {
    this.#helpLagging(msg.h, from)
    if (msg.v <= this.#view && this.#active) {
      // A replica still waiting for this view, or for an earlier one: help it into ours.
      this.#helpBehind(from)
      return
    }
    if (msg.v < this.#view) {
      // A replica still collecting view changes for a view this replica left without a new view
      // (its timer ran out) may lack ours for it, lost to a crash or a drop: without it, and with
      // fewer than f+1 replicas in the later view, it could wait forever.
      const mine = this.#vcs.get(msg.v)?.get(this.self)
      if (mine !== undefined && this.#mayHelp(this.#viewHelpSentAt, from)) this.#outbound.unicast(mine, from)
      return
    }
    const wellFormed =
      msg.P.every(([n]) => n > msg.h && n <= msg.h + this.#L) && msg.Q.every(([n]) => n > msg.h && n <= msg.h + this.#L)
    if (!wellFormed) {
      this.stats.refused++
      return
    }
    if (!this.#storeVc(msg, from)) return
    // f+1 replicas want a later view: at least one is honest, so join the smallest of them.
    const later: number[] = []
    for (const [r, views] of this.#vcViews) {
      const top = views[views.length - 1]
      if (r !== this.self && top !== undefined && top > this.#view) later.push(top)
    }
    if (later.length >= this.#cfg.f + 1) {
      this.#view = Math.min(...later) - 1
      this.#sendViewChange()
      return
    }
    this.#onVcQuorum()
  }

  /**
   * Whether replica `to` may be sent help now, and if so stamps it in `sentAt`: help goes at most
   * once per resendViewChangeMs per replica, or two replicas helping each other would echo forever.
   */
  #mayHelp(sentAt: Map<number, number>, to: number): boolean {
    if (to < 0 || to === this.self) return false
    const now = this.#stack.clock.now()
    if (now - (sentAt.get(to) ?? -Infinity) < this.#cfg.resendViewChangeMs) return false
    sentAt.set(to, now)
    return true
  }

  /**
   * Sends a replica that is in an earlier view, or still waiting for ours, our view change and the
   * new view of our view (every replica does, not only the primary: f+1 matching new views let it
   * join without the view changes behind them, see #vouchedNewView). At most once per resend
   * period per replica, or two active replicas would echo forever.
   */
  #helpBehind(from: number): void {
    if (!this.#active || this.#view === 0 || !this.#mayHelp(this.#viewHelpSentAt, from)) return
    if (this.#myVc?.v === this.#view) this.#outbound.unicast(this.#myVc, from)
    if (this.#lastNv?.v === this.#view) this.#outbound.unicast({ ...this.#lastNv, r: this.self }, from)
  }

  #onViewStatus(msg: ViewStatusMsg, from: number): void {
    if (msg.v < this.#view) this.#helpBehind(from)
    else if (msg.v > this.#view) this.#sawView(from, msg.v)
  }

  /**
   * Replica `from` is active in view v, above ours. Once f+1 replicas are (one of them honest), this
   * replica moves to the highest view f+1 of them reached and asks for it with a view change, which
   * the replicas in that view answer with the new view (#helpBehind). A replica that restarted in
   * view 0, or missed a view change, so votes again at once instead of only following the chain.
   */
  #sawView(from: number, v: number): void {
    if (from < 0 || from === this.self || v <= this.#view) return
    if ((this.#laterViews.get(from) ?? -1) >= v) return
    this.#laterViews.set(from, v)
    const later: number[] = []
    for (const view of this.#laterViews.values()) if (view > this.#view) later.push(view)
    if (later.length < this.#cfg.f + 1) return
    later.sort((a, b) => b - a)
    const target = later[this.#cfg.f] as number
    this.#log.info('pbft joins the view f+1 replicas are in', { from: this.#view, to: target })
    this.#view = target - 1
    this.#sendViewChange()
  }

  /** Stores a view change; false when one from that replica for that view is already held. */
  #storeVc(vc: ViewChangeMsg, from: number): boolean {
    let byReplica = this.#vcs.get(vc.v)
    if (byReplica?.has(from)) return false
    if (byReplica === undefined) this.#vcs.set(vc.v, (byReplica = new Map<number, ViewChangeMsg>()))
    byReplica.set(from, vc)
    const views = this.#vcViews.get(from) ?? []
    views.push(vc.v)
    views.sort((a, b) => a - b)
    // Bounded: a replica announcing endless future views keeps only its latest few.
    while (views.length > PBFT_MAX_VC_VIEWS_PER_REPLICA) {
      const dropped = views.shift() as number
      this.#vcs.get(dropped)?.delete(from)
    }
    this.#vcViews.set(from, views)
    return true
  }

  #dropVcsBelow(view: number): void {
    for (const v of this.#vcs.keys()) if (v < view) this.#vcs.delete(v)
    for (const [r, views] of this.#vcViews) {
      const kept = views.filter((v) => v >= view)
      if (kept.length === 0) this.#vcViews.delete(r)
      else this.#vcViews.set(r, kept)
    }
  }

  #currentVcs(): ViewChangeMsg[] {
    return [...(this.#vcs.get(this.#view)?.values() ?? [])].sort((a, b) => a.r - b.r)
  }

  #onVcQuorum(): void {
    if (this.#active) return
    const set = this.#currentVcs()
    if (set.length < 2 * this.#cfg.f + 1) return
    if (!this.#timers.armed('viewChange')) {
      this.#timers.start('viewChange', () => {
        this.#backoff = Math.min(this.#backoff * 2, PBFT_MAX_VIEW_CHANGE_BACKOFF)
        this.#sendViewChange()
      }, this.#cfg.viewChangeTimeoutMs * this.#backoff)
    }
    if (this.#isPrimary() && !this.#nvSent) {
      const k = selectCheckpoint(set, this.#cfg.f)
      const X = k === undefined ? undefined : assignSequenceNumbers(set, k[0], this.#cfg.f, this.#L)
      if (k !== undefined && X !== undefined) {
        const nv: NewViewMsg = { t: 'nv', v: this.#view, r: this.self, V: set.map((vc) => vc.r), k, X }
        this.#nvSent = true
        this.#lastNv = nv
        this.#pendingNv = nv
        this.#outbound.broadcast(nv)
      }
    }
    this.#tryNewView()
  }

  /**
   * A new view from its primary, or relayed by another replica to help this one join (#helpBehind).
   * The primary's is checked against the view changes it names (#tryNewView); f+1 replicas sending
   * the same one vouch for it (one of them is honest and installed it after that check).
   */
  #onNewView(msg: NewViewMsg, from: number): void {
    if (from < 0 || new Set(msg.V).size !== msg.V.length || msg.V.length < 2 * this.#cfg.f + 1) {
      this.stats.refused++
      return
    }
    if (msg.v < this.#view || (msg.v === this.#view && this.#active)) return
    this.#nvFrom.set(from, msg)
    if (from === this.#primary(msg.v)) this.#pendingNv = msg
    if (msg.v > this.#view && this.#vouchers(msg).length >= this.#cfg.f + 1) {
      // Installed by at least one honest replica: move there; #sendViewChange installs it.
      this.#view = msg.v - 1
      this.#sendViewChange()
      return
    }
    this.#tryNewView()
  }

  /** The replicas that sent us this new view (the same view, checkpoint, view changes and assignments). */
  #vouchers(nv: NewViewMsg): number[] {
    const out: number[] = []
    for (const [r, other] of this.#nvFrom) {
      if (other.v === nv.v && other.k[0] === nv.k[0] && other.k[1] === nv.k[1] && sameReplicas(other.V, nv.V) && sameAssignments(other.X, nv.X)) out.push(r)
    }
    return out
  }

  /** A new view for our view that f+1 replicas sent us, if any. */
  #vouchedNewView(): { nv: NewViewMsg; by: number[] } | undefined {
    for (const nv of this.#nvFrom.values()) {
      if (nv.v !== this.#view) continue
      const by = this.#vouchers(nv)
      if (by.length >= this.#cfg.f + 1) return { nv, by }
    }
    return undefined
  }

  #tryNewView(): void {
    if (this.#active) return
    const vouched = this.#vouchedNewView()
    if (vouched !== undefined) {
      // Not checked against view changes (this replica may lack them, or have lost its own in a
      // restart), nor does it wait for the batches it re-proposes: their digests are pinned, and
      // batches still held by others come by fetch, the rest by state transfer.
      const { nv, by } = vouched
      for (const [n, d] of nv.X) {
        if (d !== NULL_DIGEST && n > this.#h && n > nv.k[0] && !this.#batches.has(d)) this.#fetchBatch(d)
      }
      this.#install(nv, by)
      return
    }
    const nv = this.#pendingNv
    if (nv === undefined || nv.v !== this.#view) return
    const set: ViewChangeMsg[] = []
    for (const r of nv.V) {
      const vc = this.#vcs.get(nv.v)?.get(r)
      if (vc === undefined || vc.v !== nv.v) return // wait for it: it is re-sent
      set.push(vc)
    }
    const k = selectCheckpoint(set, this.#cfg.f)
    const X = k === undefined ? undefined : assignSequenceNumbers(set, k[0], this.#cfg.f, this.#L)
    if (k === undefined || X === undefined || k[0] !== nv.k[0] || k[1] !== nv.k[1] || !sameAssignments(X, nv.X)) {
      // It counts a view change of ours: one sent before a restart, which this replica no longer
      // knows, may differ from the one it holds now. Other replicas vouching for it will tell.
      if (nv.V.includes(this.self)) return
      this.#log.warn('new view refused: it does not follow from its view changes', { view: nv.v })
      this.stats.refused++
      this.#pendingNv = undefined
      this.#sendViewChange()
      return
    }
    let missing = false
    for (const [n, d] of X) {
      if (d === NULL_DIGEST || n <= this.#h || n <= k[0] || this.#batches.has(d)) continue
      missing = true
      this.#fetchBatch(d)
    }
    if (missing) return
    const [cpN, cpD] = nv.k
    this.#install(nv, set.filter((vc) => vc.C.some(([n, d]) => n === cpN && d === cpD)).map((vc) => vc.r))
  }

  /** `vouchers`: replicas that hold the new view's checkpoint, to transfer state from when behind it. */
  #install(nv: NewViewMsg, vouchers: number[]): void {
    this.#active = true
    this.#pendingNv = undefined
    this.#lastNv = nv
    // Installed: a restart must come back active in this view, not in the view change before it.
    this.#outbound.record(nv)
    this.#fetchingBatches.clear()
    this.#timers.clear('viewChange')
    this.#timers.clear('resend')
    this.#backoff = 1
    this.#dropVcsBelow(this.#view)
    for (const [r, other] of this.#nvFrom) if (other.v <= this.#view) this.#nvFrom.delete(r)
    // Taken before the watermarks move: moving them garbage-collects batches no certificate holds yet.
    const chosen = new Map<string, PbftBatch>()
    for (const [, d] of nv.X) {
      const batch = this.#batches.get(d)
      if (batch !== undefined) chosen.set(d, batch)
    }
    const [cpN, cpD] = nv.k
    if (cpN > this.#h) {
      this.#ownCheckpoints.set(cpN, cpD)
      this.#moveWatermarks(cpN)
      if (this.#lastExec < cpN) this.#startTransfer({ n: cpN, d: cpD }, vouchers)
    }
    this.#log.info('pbft new view', { view: this.#view, checkpoint: cpN, reproposed: nv.X.length })
    const primary = this.#isPrimary()
    let top = Math.max(this.#h, cpN)
    const reproposed = new Set<string>()
    for (const [n, d] of nv.X) {
      if (n > top) top = n
      if (n <= this.#h) continue
      const cert = this.#cert(this.#view, n)
      cert.digest = d
      const batch = d === NULL_DIGEST ? null : chosen.get(d)
      if (batch === undefined) continue // below the checkpoint we were missing: the transfer brings it
      cert.batch = batch
      if (batch !== null) {
        this.#batches.set(d, batch)
        for (const tx of batch.txs) reproposed.add(tx.txid)
      }
      if (!primary) {
        cert.prepares.set(this.self, d)
        this.#outbound.broadcast({ t: 'p', v: this.#view, n, r: this.self, d })
      }
    }
    this.#seqNo = top
    if (primary) {
      for (const [txid, tx] of this.#outstanding) if (!reproposed.has(txid)) this.#queue.set(txid, tx)
    } else {
      // The new primary may never have heard of what this replica holds (it went to the old one).
      this.#forwarder.sendAll([...this.#outstanding.values()].filter((tx) => !reproposed.has(tx.txid)))
    }
    if (this.#outstanding.size > 0) this.#armRequestTimer()
    this.#sawPrePrepare()
    this.#armNullTimer()
    const early = this.#heldForNewView
    this.#heldForNewView = []
    for (const { msg, from } of early) this.#receive(msg, from)
    for (const [n, cert] of this.#certs) this.#check(n, cert)
    this.#execute()
    this.#tryCut()
  }

  // ---- timers ----

  /**
   * The request timer: while this replica holds outstanding requests in an active view, it ticks
   * every requestTimeoutMs and looks at the oldest of them (the first in #outstanding, which keeps
   * arrival order). It tracks this replica's own requests, as PBFT's timer does, and nothing
   * executed restarts it: executing a batch only counts #progress, so busy chains cost no timer work.
   */
  #armRequestTimer(): void {
    if (this.#timers.armed('request') || !this.#active || this.#stopped) return
    const first = this.#outstanding.keys().next()
    if (first.done === true) return
    if (this.#watched === undefined) {
      // The wait of the request that made the set non-empty starts now.
      this.#watched = first.value
      this.#complained = false
      this.#progressAtTick = this.#progress
    }
    this.#timers.start('request', () => {
      this.#onRequestTimer()
    }, this.#cfg.requestTimeoutMs)
  }

  /**
   * One tick. When the oldest request is another than at the last tick, it is watched from now (the
   * one before executed: PBFT restarts the timer for the next request). When the same one has waited
   * a whole period, it is re-sent to every replica (a forward lost to a crashed or restarted primary,
   * or never sent, should not cost a view); when it waits one more period and the chain did not move
   * either, the primary is taken for dead and the view changes. When the chain moved meanwhile, the
   * primary is alive and busy (a deep queue at the primary is not a fault): the request goes to it
   * again and is watched on. A primary that orders others' requests and never this one is therefore
   * not replaced (as in Fabric v0.6): its backups hold the request, and a later primary orders it.
   */
  #onRequestTimer(): void {
    if (!this.#active || this.#stopped) return
    const first = this.#outstanding.keys().next()
    if (first.done === true) {
      this.#watched = undefined
      return
    }
    const oldest = first.value
    const moved = this.#progress !== this.#progressAtTick
    this.#progressAtTick = this.#progress
    if (oldest !== this.#watched) {
      this.#watched = oldest
      this.#complained = false
    } else if (!this.#complained) {
      this.#complained = true
      this.#outbound.broadcast({ t: 'req', x: this.#oldestOutstanding() })
    } else if (!moved) {
      this.#log.info('pbft request timer expired: the oldest request waits and nothing executes', { view: this.#view, primary: this.#primary(this.#view) })
      this.#sendViewChange()
      return
    } else {
      this.#forwarder.send(this.#oldestOutstanding())
    }
    this.#armRequestTimer()
  }

  /** Counts a pre-prepare of the current view (sent as primary, or received from it) for the null-request timer. */
  #sawPrePrepare(): void {
    if (this.#cfg.nullRequestMs > 0) this.#lastPrePrepareAt = this.#stack.clock.now()
  }

  /**
   * The null-request timer (nullRequestMs > 0, in an active view): nullRequestMs after the last
   * pre-prepare the primary sends a null request; nullRequestMs + requestTimeoutMs after the last
   * one it heard, a backup starts a view change. Re-arming on every pre-prepare would cost a timer
   * per batch, so pre-prepares only stamp #lastPrePrepareAt and the timer, when it fires early,
   * sleeps again until the deadline that stamp gives.
   */
  #armNullTimer(): void {
    this.#timers.clear('nullRequest')
    if (this.#cfg.nullRequestMs === 0 || !this.#active || this.#stopped) return
    const view = this.#view
    const period = this.#isPrimary() ? this.#cfg.nullRequestMs : this.#cfg.nullRequestMs + this.#cfg.requestTimeoutMs
    const wait = Math.max(0, this.#lastPrePrepareAt + period - this.#stack.clock.now())
    this.#timers.start('nullRequest', () => {
      if (!this.#active || this.#stopped || this.#view !== view) return
      if (this.#stack.clock.now() < this.#lastPrePrepareAt + period) {
        this.#armNullTimer()
        return
      }
      if (this.#isPrimary()) {
        this.#sendNullRequest()
        // Stamped by the null request; when none could be sent, wait a whole period again.
        if (this.#lastPrePrepareAt + period <= this.#stack.clock.now()) this.#lastPrePrepareAt = this.#stack.clock.now()
        this.#armNullTimer()
        return
      }
      this.#log.info('pbft null request timer expired: no pre-prepare from the primary', { view, primary: this.#primary(view) })
      this.#sendViewChange()
    }, wait)
  }

  #armResend(): void {
    this.#timers.start('resend', () => {
      if (this.#active || this.#myVc === undefined) return
      this.#outbound.broadcast(this.#myVc)
      // Alone in a view change, this replica's requests would reach nobody else: the others order them.
      if (this.#outstanding.size > 0) this.#outbound.broadcast({ t: 'req', x: this.#oldestOutstanding() })
      for (const d of this.#fetchingBatches) this.#outbound.broadcast({ t: 'fb', r: this.self, d })
      if (this.#lastNv?.v === this.#view && this.#isPrimary()) this.#outbound.broadcast({ ...this.#lastNv, r: this.self })
      this.#armResend()
    }, this.#cfg.resendViewChangeMs)
  }

  /** Whether this replica holds the request unexecuted (GET /transactions/:txid answers "pending"). */
  holds(txid: string): boolean {
    return this.#outstanding.has(txid)
  }
}

function sameReplicas(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i])
}

function sameAssignments(a: readonly SeqDigest[], b: readonly SeqDigest[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as SeqDigest
    const y = b[i] as SeqDigest
    if (x[0] !== y[0] || x[1] !== y[1]) return false
  }
  return true
}
