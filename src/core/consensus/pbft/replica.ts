/**
 * One PBFT replica (Castro and Liskov, batch mode as in Fabric v0.6's obcpbft): the state machine.
 * Deterministic: driven only by `receive` (a decoded message and the sender's replica index, which
 * the caller has authenticated), `submit` (a client request) and timers on the Stack's clock; it
 * never reads real time or randomness. It sends through the Stack and writes blocks to its ledger.
 *
 * This file is the replica's face: its lifecycle, its inputs and where each message goes. The
 * protocol lives in its parts, each with the state only it uses, around a shared core
 * (replica-core.ts: view, watermarks, the window's certificates, batches, requests):
 * - normal-case.ts: requests, batches, pre-prepare, prepare, commit, execution, null requests,
 *   and following a view this replica is not active in;
 * - checkpoints.ts: checkpoints, the low watermark, the consensus log's segments;
 * - state-transfer-driver.ts: when to fetch state from others (state-transfer.ts fetches it), and
 *   the probes that find a replica behind on a quiet network;
 * - view-changes.ts: view change, new view, joining the view the others are in;
 * - replica-restore.ts: a restart's place on the stored chain and its logged promises.
 *
 * Output: what one input (a message or a bundle of them, a client request, a timer) makes this
 * replica broadcast leaves when the input is done, a lone message as itself and several as
 * bundles (messages.ts); a unicast first sends what waits, so each link keeps the order
 * (outbound.ts). Timers are named and kept in one place (replica-timers.ts).
 *
 *   const replica = new Replica(stack, config, 0)
 *   replica.start()
 *   replica.receive(msg, 2)
 */
import type { Transaction } from '../../wire/payload-types.js'
import type { Stack } from '../consenter.js'
import { Checkpoints } from './checkpoints.js'
import type { PbftConfig } from './config.js'
import type { CommitMsg, PbftMessage, PrePrepareMsg, PrepareMsg } from './messages.js'
import { NormalCase } from './normal-case.js'
import { ReplicaCore, type ReplicaStats } from './replica-core.js'
import { restoreFromLog, startFromLedger } from './replica-restore.js'
import { StateTransferDriver } from './state-transfer-driver.js'
import { ViewChanges } from './view-changes.js'

export type { ReplicaStats } from './replica-core.js'

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

export class Replica {
  readonly self: number
  readonly #core: ReplicaCore
  readonly #normal: NormalCase
  readonly #checkpoints: Checkpoints
  readonly #transfer: StateTransferDriver
  readonly #views: ViewChanges

  constructor(stack: Stack, config: PbftConfig, self: number) {
    this.self = self
    const core = new ReplicaCore(stack, config, self)
    this.#core = core
    core.normal = this.#normal = new NormalCase(core)
    core.checkpoints = this.#checkpoints = new Checkpoints(core)
    core.transfer = this.#transfer = new StateTransferDriver(core)
    core.views = this.#views = new ViewChanges(core, (msg, from) => this.#receive(msg, from))
  }

  get stats(): ReplicaStats {
    return this.#core.stats
  }

  /**
   * Picks up where the ledger and the consensus log are (replica-restore.ts): with a log, in its
   * view with its votes, which it sends again; without one, one sequence number per stored block.
   */
  start(): void {
    const core = this.#core
    startFromLedger(core)
    const consensusLog = core.stack.consensusLog
    const loaded = consensusLog?.loaded ?? []
    if (loaded.length > 0) core.outbound.input(() => restoreFromLog(core, loaded, consensusLog?.loadedLabel ?? 0))
    this.#normal.startTimers()
    this.#armLagProbe()
    this.#views.announceView()
  }

  stop(): void {
    const core = this.#core
    core.stopped = true
    core.abort.abort()
    core.timers.stop()
    core.outbound.stop()
  }

  /** Whether a state transfer is under way (the simulation waits for it before moving time). */
  get transferring(): boolean {
    return this.#transfer.transferring
  }

  status(): ReplicaStatus {
    const core = this.#core
    return {
      ...core.stats,
      replica: this.self,
      view: core.view,
      primary: core.primary(core.view),
      active: core.active,
      h: core.h,
      lastExec: core.lastExec,
      seqNo: core.seqNo,
      outstanding: core.outstanding.size,
      unsent: core.forwarder.unsent,
      transferring: this.#transfer.transferring,
    }
  }

  /** Whether this replica holds the request unexecuted (GET /transactions/:txid answers "pending"). */
  holds(txid: string): boolean {
    return this.#normal.holds(txid)
  }

  // ---- input ----

  /** A client request submitted at this peer: kept, and forwarded to the primary (normal-case.ts). */
  submit(tx: Transaction): void {
    const core = this.#core
    if (core.stopped) return
    core.outbound.enter()
    try {
      this.#normal.submit(tx)
    } finally {
      core.outbound.leave()
    }
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
    const core = this.#core
    if (core.stopped) return
    core.outbound.enter()
    try {
      for (const msg of msgs) this.#receive(msg, from)
    } finally {
      core.outbound.leave()
    }
  }

  #receive(msg: PbftMessage, from: number): void {
    const core = this.#core
    if (core.stopped) return
    switch (msg.t) {
      case 'req':
        this.#normal.onRequests(msg.x)
        return
      case 'pp':
      case 'p':
      case 'c':
        this.#onVote(msg, from)
        return
      case 'ck':
        this.#checkpoints.onCheckpoint(msg, from)
        return
      case 'vc':
        this.#views.onViewChange(msg, from)
        return
      case 'vs':
        this.#views.onViewStatus(msg, from)
        return
      case 'nv':
        this.#views.onNewView(msg, from)
        return
      case 'fb': {
        const batch = core.batches.get(msg.d)
        if (batch !== undefined) core.outbound.unicast({ t: 'rb', r: this.self, b: batch }, from)
        return
      }
      case 'rb':
        this.#normal.onBatch(msg.b)
        return
      case 'm':
        // Bundles are opened by the consenter, which checks the sender of each message in them.
        return
    }
  }

  /**
   * A pre-prepare, prepare or commit: a vote in a later view counts toward joining it; outside the
   * agreeing view, pre-prepares and commits are followed; one of this view before its new view is
   * installed waits for it.
   */
  #onVote(msg: PrePrepareMsg | PrepareMsg | CommitMsg, from: number): void {
    const core = this.#core
    if (msg.v > core.view) this.#views.sawView(from, msg.v)
    if (msg.t !== 'p' && (msg.v !== core.view || !core.active)) this.#normal.follow(msg, from)
    if (msg.v === core.view && !core.active) {
      this.#views.holdForNewView(msg, from)
      return
    }
    if (msg.v !== core.view) return
    if (msg.t === 'pp') this.#normal.onPrePrepare(msg, from)
    else if (msg.t === 'p') this.#normal.onPrepare(msg, from)
    else this.#normal.onCommit(msg, from)
  }

  /** Every resendViewChangeMs: look for lag (state-transfer-driver.ts), and announce the view to validators linked since. */
  #armLagProbe(): void {
    this.#core.timers.start('lagProbe', () => {
      this.#transfer.probeLag()
      this.#views.announceView()
      this.#armLagProbe()
    }, this.#core.cfg.resendViewChangeMs)
  }
}
