/**
 * PBFT's view change for one replica: leaving a view, collecting view changes, the new primary's
 * new view, installing it, and joining a later view the others are already in. The pure parts
 * (which checkpoint a new view starts from, which batches it re-proposes) are view-change.ts.
 *
 * When the normal case gives up on the primary (its request or null-request timer), the replica
 * moves to the next view and broadcasts a view change (its checkpoints, P and Q sets); f+1 view
 * changes for later views make it join; the new primary sends a new view once 2f+1 agree,
 * re-proposing prepared batches and filling gaps with null requests. A view change that finds no
 * new view moves on after viewChangeTimeoutMs, doubling each time.
 *
 * Joining a later view: a replica announces its view (vs) when it starts and to validators that
 * link to it; one active in a later view answers with its view change and that view's new view,
 * and so does one that gets a view change for an earlier view than its own. f+1 replicas seen
 * voting in later views also make a replica ask (a view change for that view). f+1 replicas sending
 * the same new view vouch for it: it is installed without the view changes behind it, so a replica
 * restarted without a consensus log (in view 0, its own earlier view changes lost) votes again at
 * once. With a log, a restart comes back in its own view with its votes (promises.ts).
 *
 *   const views = new ViewChanges(core, (msg, from) => replica.replay(msg, from)); core.views = views
 *   views.sendViewChange()
 */
import { EndpointType } from '../../wire/payload-types.js'
import { NULL_DIGEST, type PbftBatch } from './batch.js'
import { PBFT_MAX_EARLY_MESSAGES, PBFT_MAX_VIEW_CHANGE_BACKOFF } from './config.js'
import type { CommitMsg, NewViewMsg, PbftMessage, PrePrepareMsg, PrepareMsg, SeqDigest, SeqDigestView, ViewChangeMsg, ViewStatusMsg } from './messages.js'
import type { RestoredPromises } from './promises.js'
import { HelpLimiter, type ReplicaCore, type ViewChangesPart } from './replica-core.js'
import { addPrePrepared, addPrepared, assignSequenceNumbers, selectCheckpoint } from './view-change.js'

/** Views a replica keeps another replica's view changes for at most (default 4). */
export const PBFT_MAX_VC_VIEWS_PER_REPLICA = 4

/** A message of a view that arrived before its new view was installed. */
interface HeldMessage {
  msg: PrePrepareMsg | PrepareMsg | CommitMsg
  from: number
}

export class ViewChanges implements ViewChangesPart {
  readonly #core: ReplicaCore
  /** Handles a held message as if it had just come (the replica's dispatch). */
  readonly #replay: (msg: PrePrepareMsg | PrepareMsg | CommitMsg, from: number) => void
  /** View changes for views >= ours: view -> replica -> message (a few views per replica at most). */
  readonly #vcs = new Map<number, Map<number, ViewChangeMsg>>()
  /** The views each replica has view changes stored for, ascending. */
  readonly #vcViews = new Map<number, number[]>()
  /** The view change this replica sent last (resent every resendViewChangeMs until a new view). */
  #myVc: ViewChangeMsg | undefined
  /** The latest new view each replica sent us (the primary's, or one relayed to help us join), for views >= ours. */
  readonly #nvFrom = new Map<number, NewViewMsg>()
  /** The highest view each other replica was seen active in, when above ours (see sawView). */
  readonly #laterViews = new Map<number, number>()
  /** Validators linked at the last view announcement (see announceView). */
  #announcedTo = new Set<string>()
  /** The new view of the current view change from its primary, waiting for its batches and view changes (tryNewView). */
  #pendingNv: NewViewMsg | undefined
  /** The last new view this replica installed or sent, relayed to replicas that ask (#helpBehind). */
  #lastNv: NewViewMsg | undefined
  /** Whether this replica, as the new primary, sent the new view of the current view change. */
  #nvSent = false
  /** Messages of this view that arrived before its new view was installed, replayed after (bounded by PBFT_MAX_EARLY_MESSAGES). */
  #heldForNewView: HeldMessage[] = []
  /** When each replica was last sent our view change and new view to catch up. */
  readonly #viewHelp: HelpLimiter
  /** Multiplier of viewChangeTimeoutMs, doubled by each view change that finds no new view. */
  #backoff = 1

  constructor(core: ReplicaCore, replay: (msg: PrePrepareMsg | PrepareMsg | CommitMsg, from: number) => void) {
    this.#core = core
    this.#replay = replay
    this.#viewHelp = new HelpLimiter(core)
  }

  holdForNewView(msg: PrePrepareMsg | PrepareMsg | CommitMsg, from: number): void {
    if (this.#heldForNewView.length < PBFT_MAX_EARLY_MESSAGES) this.#heldForNewView.push({ msg, from })
  }

  // ---- leaving a view ----

  sendViewChange(): void {
    const core = this.#core
    if (core.stopped) return
    // What this view prepared or pre-prepared joins P and Q before the log is dropped.
    for (const [n, cert] of core.certs) {
      if (cert.digest === undefined || n <= core.h) continue
      if (cert.prepared) addPrepared(core.pset, n, cert.digest, cert.view)
      addPrePrepared(core.qset, n, cert.digest, cert.view)
    }
    core.view++
    core.active = false
    this.#nvSent = false
    this.#heldForNewView = []
    core.certs.clear()
    core.normal.viewChangeStarted()
    core.timers.clear('viewChange')
    core.stats.viewChanges++
    const C: SeqDigest[] = [...core.ownCheckpoints].filter(([n]) => n >= core.h).sort((a, b) => a[0] - b[0])
    const P: SeqDigestView[] = [...core.pset].map(([n, e]) => [n, e.d, e.v] as SeqDigestView).sort((a, b) => a[0] - b[0])
    const Q: SeqDigestView[] = [...core.qset.values()].map((e) => [e.n, e.d, e.v] as SeqDigestView).sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
    const vc: ViewChangeMsg = { t: 'vc', v: core.view, r: core.self, h: core.h, C, P, Q }
    this.#myVc = vc
    this.#storeVc(vc, core.self)
    core.log.info('pbft view change', { view: core.view })
    core.outbound.broadcast(vc)
    this.#armResend()
    this.#onVcQuorum()
    this.tryNewView()
  }

  onViewChange(msg: ViewChangeMsg, from: number): void {
    const core = this.#core
    core.checkpoints.helpLagging(msg.h, from)
    if (msg.v <= core.view && core.active) {
      // A replica still waiting for this view, or for an earlier one: help it into ours.
      this.#helpBehind(from)
      return
    }
    if (msg.v < core.view) {
      // A replica still collecting view changes for a view this replica left without a new view
      // (its timer ran out) may lack ours for it, lost to a crash or a drop: without it, and with
      // fewer than f+1 replicas in the later view, it could wait forever.
      const mine = this.#vcs.get(msg.v)?.get(core.self)
      if (mine !== undefined && this.#viewHelp.may(from)) core.outbound.unicast(mine, from)
      return
    }
    const wellFormed = msg.P.every(([n]) => n > msg.h && n <= msg.h + core.L) && msg.Q.every(([n]) => n > msg.h && n <= msg.h + core.L)
    if (!wellFormed) {
      core.stats.refused++
      return
    }
    if (!this.#storeVc(msg, from)) return
    // f+1 replicas want a later view: at least one is honest, so join the smallest of them.
    const later: number[] = []
    for (const [r, views] of this.#vcViews) {
      const top = views[views.length - 1]
      if (r !== core.self && top !== undefined && top > core.view) later.push(top)
    }
    if (later.length >= core.cfg.f + 1) {
      core.view = Math.min(...later) - 1
      this.sendViewChange()
      return
    }
    this.#onVcQuorum()
  }

  // ---- helping others into our view, and joining theirs ----

  /**
   * Sends a replica that is in an earlier view, or still waiting for ours, our view change and the
   * new view of our view (every replica does, not only the primary: f+1 matching new views let it
   * join without the view changes behind them, see #vouchedNewView). At most once per resend
   * period per replica, or two active replicas would echo forever.
   */
  #helpBehind(from: number): void {
    const core = this.#core
    if (!core.active || core.view === 0 || !this.#viewHelp.may(from)) return
    if (this.#myVc?.v === core.view) core.outbound.unicast(this.#myVc, from)
    if (this.#lastNv?.v === core.view) core.outbound.unicast({ ...this.#lastNv, r: core.self }, from)
  }

  onViewStatus(msg: ViewStatusMsg, from: number): void {
    if (msg.v < this.#core.view) this.#helpBehind(from)
    else if (msg.v > this.#core.view) this.sawView(from, msg.v)
  }

  /**
   * Replica `from` is active in view v, above ours. Once f+1 replicas are (one of them honest), this
   * replica moves to the highest view f+1 of them reached and asks for it with a view change, which
   * the replicas in that view answer with the new view (#helpBehind). A replica that restarted in
   * view 0, or missed a view change, so votes again at once instead of only following the chain.
   */
  sawView(from: number, v: number): void {
    const core = this.#core
    if (from < 0 || from === core.self || v <= core.view) return
    if ((this.#laterViews.get(from) ?? -1) >= v) return
    this.#laterViews.set(from, v)
    const later: number[] = []
    for (const view of this.#laterViews.values()) if (view > core.view) later.push(view)
    if (later.length < core.cfg.f + 1) return
    later.sort((a, b) => b - a)
    const target = later[core.cfg.f] as number
    core.log.info('pbft joins the view f+1 replicas are in', { from: core.view, to: target })
    core.view = target - 1
    this.sendViewChange()
  }

  /**
   * Tells each validator linked since the last call which view this replica is active in (vs).
   * A replica restarted without a consensus log starts in view 0 however far the others went, and
   * one with a log may have missed view changes while down: one that is in a later view
   * answers with its view change and new view (#helpBehind), and this replica joins that view at
   * once instead of following the chain without a vote. Called at start and every
   * resendViewChangeMs (links come up after start); the others announce their view to it too.
   */
  announceView(): void {
    const core = this.#core
    const linked = new Set<string>()
    for (const e of core.stack.getNetworkHandles()) if (e.type === EndpointType.VALIDATOR) linked.add(e.id)
    if (core.active) {
      for (const id of linked) {
        const r = core.cfg.validators.indexOf(id)
        if (r >= 0 && r !== core.self && !this.#announcedTo.has(id)) core.outbound.unicast({ t: 'vs', v: core.view, r: core.self }, r)
      }
    }
    this.#announcedTo = linked
  }

  // ---- view changes held ----

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
    return [...(this.#vcs.get(this.#core.view)?.values() ?? [])].sort((a, b) => a.r - b.r)
  }

  // ---- the new view ----

  #onVcQuorum(): void {
    const core = this.#core
    if (core.active) return
    const set = this.#currentVcs()
    if (set.length < 2 * core.cfg.f + 1) return
    if (!core.timers.armed('viewChange')) {
      core.timers.start('viewChange', () => {
        this.#backoff = Math.min(this.#backoff * 2, PBFT_MAX_VIEW_CHANGE_BACKOFF)
        this.sendViewChange()
      }, core.cfg.viewChangeTimeoutMs * this.#backoff)
    }
    if (core.isPrimary() && !this.#nvSent) {
      const k = selectCheckpoint(set, core.cfg.f)
      const X = k === undefined ? undefined : assignSequenceNumbers(set, k[0], core.cfg.f, core.L)
      if (k !== undefined && X !== undefined) {
        const nv: NewViewMsg = { t: 'nv', v: core.view, r: core.self, V: set.map((vc) => vc.r), k, X }
        this.#nvSent = true
        this.#lastNv = nv
        this.#pendingNv = nv
        core.outbound.broadcast(nv)
      }
    }
    this.tryNewView()
  }

  /**
   * A new view from its primary, or relayed by another replica to help this one join (#helpBehind).
   * The primary's is checked against the view changes it names (tryNewView); f+1 replicas sending
   * the same one vouch for it (one of them is honest and installed it after that check).
   */
  onNewView(msg: NewViewMsg, from: number): void {
    const core = this.#core
    if (from < 0 || new Set(msg.V).size !== msg.V.length || msg.V.length < 2 * core.cfg.f + 1) {
      core.stats.refused++
      return
    }
    if (msg.v < core.view || (msg.v === core.view && core.active)) return
    this.#nvFrom.set(from, msg)
    if (from === core.primary(msg.v)) this.#pendingNv = msg
    if (msg.v > core.view && this.#vouchers(msg).length >= core.cfg.f + 1) {
      // Installed by at least one honest replica: move there; sendViewChange installs it.
      core.view = msg.v - 1
      this.sendViewChange()
      return
    }
    this.tryNewView()
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
      if (nv.v !== this.#core.view) continue
      const by = this.#vouchers(nv)
      if (by.length >= this.#core.cfg.f + 1) return { nv, by }
    }
    return undefined
  }

  tryNewView(): void {
    const core = this.#core
    if (core.active) return
    const vouched = this.#vouchedNewView()
    if (vouched !== undefined) {
      // Not checked against view changes (this replica may lack them, or have lost its own in a
      // restart), nor does it wait for the batches it re-proposes: their digests are pinned, and
      // batches still held by others come by fetch, the rest by state transfer.
      const { nv, by } = vouched
      for (const [n, d] of nv.X) {
        if (d !== NULL_DIGEST && n > core.h && n > nv.k[0] && !core.batches.has(d)) core.fetchBatch(d)
      }
      this.#install(nv, by)
      return
    }
    const nv = this.#pendingNv
    if (nv === undefined || nv.v !== core.view) return
    const set: ViewChangeMsg[] = []
    for (const r of nv.V) {
      const vc = this.#vcs.get(nv.v)?.get(r)
      if (vc === undefined || vc.v !== nv.v) return // wait for it: it is re-sent
      set.push(vc)
    }
    const k = selectCheckpoint(set, core.cfg.f)
    const X = k === undefined ? undefined : assignSequenceNumbers(set, k[0], core.cfg.f, core.L)
    if (k === undefined || X === undefined || k[0] !== nv.k[0] || k[1] !== nv.k[1] || !sameAssignments(X, nv.X)) {
      // It counts a view change of ours: one sent before a restart, which this replica no longer
      // knows, may differ from the one it holds now. Other replicas vouching for it will tell.
      if (nv.V.includes(core.self)) return
      core.log.warn('new view refused: it does not follow from its view changes', { view: nv.v })
      core.stats.refused++
      this.#pendingNv = undefined
      this.sendViewChange()
      return
    }
    let missing = false
    for (const [n, d] of X) {
      if (d === NULL_DIGEST || n <= core.h || n <= k[0] || core.batches.has(d)) continue
      missing = true
      core.fetchBatch(d)
    }
    if (missing) return
    const [cpN, cpD] = nv.k
    this.#install(nv, set.filter((vc) => vc.C.some(([n, d]) => n === cpN && d === cpD)).map((vc) => vc.r))
  }

  /** `vouchers`: replicas that hold the new view's checkpoint, to transfer state from when behind it. */
  #install(nv: NewViewMsg, vouchers: number[]): void {
    const core = this.#core
    core.active = true
    this.#pendingNv = undefined
    this.#lastNv = nv
    // Installed: a restart must come back active in this view, not in the view change before it.
    core.outbound.record(nv)
    core.fetchingBatches.clear()
    core.timers.clear('viewChange')
    core.timers.clear('resend')
    this.#backoff = 1
    this.#dropVcsBelow(core.view)
    for (const [r, other] of this.#nvFrom) if (other.v <= core.view) this.#nvFrom.delete(r)
    // Taken before the watermarks move: moving them garbage-collects batches no certificate holds yet.
    const chosen = new Map<string, PbftBatch>()
    for (const [, d] of nv.X) {
      const batch = core.batches.get(d)
      if (batch !== undefined) chosen.set(d, batch)
    }
    const [cpN, cpD] = nv.k
    if (cpN > core.h) {
      core.ownCheckpoints.set(cpN, cpD)
      core.checkpoints.moveWatermarks(cpN)
      if (core.lastExec < cpN) core.transfer.start({ n: cpN, d: cpD }, vouchers)
    }
    core.log.info('pbft new view', { view: core.view, checkpoint: cpN, reproposed: nv.X.length })
    const primary = core.isPrimary()
    let top = Math.max(core.h, cpN)
    const reproposed = new Set<string>()
    for (const [n, d] of nv.X) {
      if (n > top) top = n
      if (n <= core.h) continue
      const cert = core.cert(core.view, n)
      cert.digest = d
      const batch = d === NULL_DIGEST ? null : chosen.get(d)
      if (batch === undefined) continue // below the checkpoint we were missing: the transfer brings it
      cert.batch = batch
      if (batch !== null) {
        core.batches.set(d, batch)
        for (const tx of batch.txs) reproposed.add(tx.txid)
      }
      if (!primary) {
        cert.prepares.set(core.self, d)
        core.outbound.broadcast({ t: 'p', v: core.view, n, r: core.self, d })
      }
    }
    core.seqNo = top
    core.normal.newViewInstalled(reproposed)
    const held = this.#heldForNewView
    this.#heldForNewView = []
    for (const { msg, from } of held) this.#replay(msg, from)
    for (const [n, cert] of core.certs) core.normal.check(n, cert)
    core.normal.execute()
    core.normal.tryCut()
  }

  #armResend(): void {
    const core = this.#core
    core.timers.start('resend', () => {
      if (core.active || this.#myVc === undefined) return
      core.outbound.resend(this.#myVc)
      // Alone in a view change, this replica's requests would reach nobody else: the others order them.
      if (core.outstanding.size > 0) core.outbound.broadcast({ t: 'req', x: core.normal.oldestOutstanding() })
      for (const d of core.fetchingBatches) core.outbound.broadcast({ t: 'fb', r: core.self, d })
      if (this.#lastNv?.v === core.view && core.isPrimary()) core.outbound.resend({ ...this.#lastNv, r: core.self })
      this.#armResend()
    }, core.cfg.resendViewChangeMs)
  }

  // ---- the consensus log ----

  /** Its own view changes still held (the earlier ones answer replicas collecting for those views), the latest, and the last new view. */
  snapshot(): PbftMessage[] {
    const self = this.#core.self
    const out: PbftMessage[] = []
    for (const v of this.#vcViews.get(self) ?? []) if (v !== this.#myVc?.v) out.push(this.#vcs.get(v)!.get(self)!)
    if (this.#myVc !== undefined) out.push(this.#myVc)
    if (this.#lastNv !== undefined) out.push(this.#lastNv)
    return out
  }

  restore(r: RestoredPromises): void {
    const self = this.#core.self
    if (r.viewChange !== undefined) {
      this.#myVc = r.viewChange
      // As before the restart: its own view changes are in the store until a new view is installed.
      if (r.previousViewChange !== undefined) this.#storeVc(r.previousViewChange, self)
      this.#storeVc(r.viewChange, self)
    }
    this.#lastNv = r.newView
  }

  resumeAfterRestore(): void {
    const core = this.#core
    if (!core.active && this.#myVc?.v === core.view) {
      core.outbound.resend(this.#myVc)
      this.#armResend()
    }
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
