/**
 * What the parts of one PBFT replica share: the state every part reads (view, watermarks, the
 * certificates of the window, the batches, the requests waiting here), the infrastructure (Stack,
 * config, outbound, timers, forwarder), and the interface each part offers the others.
 *
 * Why a shared core: the protocol's sub-protocols are not independent. Executing a sequence number
 * makes a checkpoint, a stable checkpoint moves the window the normal case works in, a view change
 * clears it, a new view re-proposes into it and may start a state transfer. Each part (normal case,
 * checkpoints, state transfer, view change, restore) owns the fields only it uses and reaches the
 * others through the interfaces below, which replica.ts wires at construction; none imports
 * another, so each file can be read alone with this one beside it.
 *
 *   const core = new ReplicaCore(stack, config, self)
 *   core.normal = new NormalCase(core) // ... then the other parts
 */
import type { Logger } from '../../util/logger.js'
import type { Transaction } from '../../wire/payload-types.js'
import type { Stack } from '../consenter.js'
import type { PbftBatch } from './batch.js'
import { logSize, type PbftConfig } from './config.js'
import type { CheckpointMsg, CommitMsg, NewViewMsg, PbftMessage, PrePrepareMsg, PrepareMsg, ViewChangeMsg, ViewStatusMsg } from './messages.js'
import { PbftOutbound } from './outbound.js'
import type { RestoredPromises } from './promises.js'
import { ReplicaTimers } from './replica-timers.js'
import { RequestForwarder } from './request-forwarder.js'
import type { TransferTarget } from './state-transfer.js'
import type { PrePreparedSet, PreparedSet } from './view-change.js'

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

/** One sequence number's votes in one view. */
export interface Cert {
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

/** The normal case (normal-case.ts): requests, batches, pre-prepare, prepare, commit, execution. */
export interface NormalCasePart {
  onPrePrepare(msg: PrePrepareMsg, from: number): void
  onPrepare(msg: PrepareMsg, from: number): void
  onCommit(msg: CommitMsg, from: number): void
  /** A pre-prepare or commit heard outside the agreeing view: 2f+1 matching commits decide without a vote. */
  follow(msg: PrePrepareMsg | CommitMsg, from: number): void
  /** A batch fetched by digest (rb). */
  onBatch(batch: PbftBatch): void
  check(n: number, cert: Cert): void
  execute(): void
  /** Cuts batches the primary may cut now; `arrived` when new requests came. */
  tryCut(arrived?: boolean): void
  /** Drops executed requests from what waits here. */
  forget(txs: readonly Transaction[]): void
  /** The chain moved (a batch executed, a state transfer applied). */
  afterProgress(): void
  /** The watermarks moved to n: what it heard for sequence numbers up to n goes. */
  forgetBelow(n: number): void
  /** Up to a batch of the requests this replica waits for, oldest first. */
  oldestOutstanding(): Transaction[]
  /** Arms the timers of an active view (at start and when a new view is installed). */
  startTimers(): void
  /** A view change began: the primary's queue and the view's timers go. */
  viewChangeStarted(): void
  /** A new view is installed: what waits here goes to its primary (or its queue), timers restart. */
  newViewInstalled(reproposed: ReadonlySet<string>): void
}

/** Checkpoints and watermarks (checkpoints.ts). */
export interface CheckpointsPart {
  onCheckpoint(msg: CheckpointMsg, from: number): void
  moveWatermarks(n: number): void
  /** A replica whose stable checkpoint is `h` may be behind: send it our checkpoint and head. */
  helpLagging(h: number, from: number): void
}

/** State transfer and the probes that find a replica behind (state-transfer-driver.ts). */
export interface StateTransferPart {
  readonly transferring: boolean
  start(target: TransferTarget, peers: number[]): void
  probeLag(): void
}

/** View changes and new views (view-changes.ts). */
export interface ViewChangesPart {
  onViewChange(msg: ViewChangeMsg, from: number): void
  onViewStatus(msg: ViewStatusMsg, from: number): void
  onNewView(msg: NewViewMsg, from: number): void
  /** A message of this view that arrived before its new view: replayed once it is installed. */
  holdForNewView(msg: PrePrepareMsg | PrepareMsg | CommitMsg, from: number): void
  /** Replica `from` was seen voting in view v. */
  sawView(from: number, v: number): void
  sendViewChange(): void
  tryNewView(): void
  /** Tells validators linked since the last call which view this replica is active in. */
  announceView(): void
  /** What the log's next segment must carry: own view changes still held, and the last new view. */
  snapshot(): PbftMessage[]
  /** Takes back the view changes and new view a consensus log held, before votes are resent. */
  restore(r: RestoredPromises): void
  /** After a restore: a replica still in its view change sends it again. */
  resumeAfterRestore(): void
}

/**
 * Help goes at most once per resendViewChangeMs per replica, or two replicas helping each other
 * would echo forever.
 */
export class HelpLimiter {
  readonly #core: ReplicaCore
  readonly #sentAt = new Map<number, number>()

  constructor(core: ReplicaCore) {
    this.#core = core
  }

  /** Whether replica `to` may be sent help now (`self` never), and if so stamps it. */
  may(to: number): boolean {
    const core = this.#core
    if (to < 0 || to === core.self) return false
    const now = core.stack.clock.now()
    if (now - (this.#sentAt.get(to) ?? -Infinity) < core.cfg.resendViewChangeMs) return false
    this.#sentAt.set(to, now)
    return true
  }
}

export class ReplicaCore {
  readonly self: number
  readonly stack: Stack
  readonly cfg: PbftConfig
  readonly log: Logger
  /** The log size: the window above the low watermark h. */
  readonly L: number
  readonly abort = new AbortController()
  stopped = false
  /** Every timer, by name (replica-timers.ts); each runs its work as one input. */
  readonly timers: ReplicaTimers
  /** Where broadcasts wait for the end of the input being handled (outbound.ts). */
  readonly outbound: PbftOutbound
  /** How this replica's accepted requests reach the primary (request-forwarder.ts). */
  readonly forwarder: RequestForwarder

  view = 0
  /** False while a view change is under way. */
  active = true
  /** Low watermark: the last stable checkpoint. */
  h = 0
  /** The last sequence number executed (null requests make no block, so not a block number). */
  lastExec = 0
  /** The last sequence number assigned or seen re-proposed. */
  seqNo = 0

  /** The window's certificates, by sequence number. */
  readonly certs = new Map<number, Cert>()
  /** Batches by digest: pre-prepared, re-proposed or fetched, kept while a certificate or P/Q names them. */
  readonly batches = new Map<string, PbftBatch>()
  /** Requests this replica holds unexecuted, in arrival order. */
  readonly outstanding = new Map<string, Transaction>()
  /** Checkpoints this replica holds (executed or transferred), h included. */
  readonly ownCheckpoints = new Map<number, string>()
  /** Prepared certificates from past views, by n (view-change.ts `addPrepared`). */
  readonly pset: PreparedSet = new Map()
  /** Pre-prepared (n, d) from past views, with the highest view (view-change.ts `addPrePrepared`). */
  readonly qset: PrePreparedSet = new Map()
  /** Digests of batches asked for by digest (fb), whose rb answer is awaited. */
  readonly fetchingBatches = new Set<string>()

  readonly stats: ReplicaStats = { executed: 0, proposed: 0, nullRequests: 0, viewChanges: 0, refused: 0, dropped: 0, transfers: 0 }

  normal!: NormalCasePart
  checkpoints!: CheckpointsPart
  transfer!: StateTransferPart
  views!: ViewChangesPart

  constructor(stack: Stack, config: PbftConfig, self: number) {
    this.stack = stack
    this.cfg = config
    this.self = self
    this.L = logSize(config)
    this.log = stack.log.child({ replica: self })
    this.outbound = new PbftOutbound(stack, config.validators, this.log, stack.consensusLog)
    this.timers = new ReplicaTimers(() => stack.clock, (fn) => this.outbound.input(fn))
    this.forwarder = new RequestForwarder({
      outbound: this.outbound,
      timers: this.timers,
      log: this.log,
      validators: config.validators,
      self,
      batchSize: config.batchSize,
      forwardRetryMs: config.forwardRetryMs,
      primary: () => (this.active ? this.primary(this.view) : undefined),
      waitsFor: (txid) => this.outstanding.has(txid),
    })
  }

  primary(view: number): number {
    return view % this.cfg.n
  }

  isPrimary(): boolean {
    return this.primary(this.view) === this.self
  }

  inWindow(n: number): boolean {
    return n > this.h && n <= this.h + this.L
  }

  /** The certificate of n in `view`, a fresh one when the held one is of another view. */
  cert(view: number, n: number): Cert {
    let cert = this.certs.get(n)
    if (cert === undefined || cert.view !== view) {
      cert = { view, digest: undefined, batch: undefined, prepares: new Map(), commits: new Map(), prepared: false, sentCommit: false, committed: false }
      this.certs.set(n, cert)
    }
    return cert
  }

  /** Asks every replica for the batch with digest d (fb), once until its answer (rb) comes. */
  fetchBatch(d: string): void {
    if (this.fetchingBatches.has(d)) return
    this.fetchingBatches.add(d)
    this.outbound.broadcast({ t: 'fb', r: this.self, d })
  }
}

export function countMatching(votes: Map<number, string>, digest: string): number {
  let count = 0
  for (const d of votes.values()) if (d === digest) count++
  return count
}
