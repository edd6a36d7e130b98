/**
 * How a PBFT replica finds that its primary is dead, or ignores requests, and how an idle primary
 * shows it is alive: the request timer and the null-request timer (Fabric's request and
 * nullrequest timeouts). Either one running out starts a view change (view-changes.ts).
 *
 * Both are cheap on a busy chain: executing a batch only counts progress and a pre-prepare only
 * stamps a time; the timers read those when they fire instead of being re-armed per batch.
 *
 *   const watch = new PrimaryWatch(core, () => sendNullRequest())
 *   watch.armRequestTimer() // requests wait here
 *   watch.sawPrePrepare()   // the primary is alive
 */
import type { ReplicaCore } from './replica-core.js'

export class PrimaryWatch {
  readonly #core: ReplicaCore
  /** The idle primary's heartbeat (normal-case.ts). */
  readonly #sendNullRequest: () => void
  /** The oldest outstanding request at the request timer's last tick (see #onRequestTimer). */
  #watched: string | undefined
  /** Whether #watched was re-sent to every replica. */
  #resent = false
  /** Non-null batches executed and state transfers completed: the chain moving, whoever's requests. */
  #progress = 0
  /** #progress at the request timer's last tick. */
  #progressAtTick = 0
  /** When the primary last sent (primary) or was last heard sending (backup) a pre-prepare. */
  #lastPrePrepareAt = 0

  constructor(core: ReplicaCore, sendNullRequest: () => void) {
    this.#core = core
    this.#sendNullRequest = sendNullRequest
  }

  /** The chain moved: a non-null batch executed, or a state transfer applied. */
  progressed(): void {
    this.#progress++
  }

  /** A view change began: neither timer runs until a new view is installed. */
  stopForViewChange(): void {
    this.#core.timers.clear('request')
    this.#watched = undefined
    this.#core.timers.clear('nullRequest')
  }

  /**
   * The request timer: while this replica holds outstanding requests in an active view, it ticks
   * every requestTimeoutMs and looks at the oldest of them (the first in `outstanding`, which keeps
   * arrival order). It tracks this replica's own requests, as PBFT's timer does, and nothing
   * executed restarts it: executing a batch only counts #progress, so busy chains cost no timer work.
   */
  armRequestTimer(): void {
    const core = this.#core
    if (core.timers.armed('request') || !core.active || core.stopped) return
    const first = core.outstanding.keys().next()
    if (first.done === true) return
    if (this.#watched === undefined) {
      // The wait of the request that made the set non-empty starts now.
      this.#watched = first.value
      this.#resent = false
      this.#progressAtTick = this.#progress
    }
    core.timers.start('request', () => {
      this.#onRequestTimer()
    }, core.cfg.requestTimeoutMs)
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
    const core = this.#core
    if (!core.active || core.stopped) return
    const first = core.outstanding.keys().next()
    if (first.done === true) {
      this.#watched = undefined
      return
    }
    const oldest = first.value
    const moved = this.#progress !== this.#progressAtTick
    this.#progressAtTick = this.#progress
    if (oldest !== this.#watched) {
      this.#watched = oldest
      this.#resent = false
    } else if (!this.#resent) {
      this.#resent = true
      core.outbound.broadcast({ t: 'req', x: core.normal.oldestOutstanding() })
    } else if (!moved) {
      core.log.info('pbft request timer expired: the oldest request waits and nothing executes', { view: core.view, primary: core.primary(core.view) })
      core.views.sendViewChange()
      return
    } else {
      core.forwarder.send(core.normal.oldestOutstanding())
    }
    this.armRequestTimer()
  }

  /** Counts a pre-prepare of the current view (sent as primary, or received from it) for the null-request timer. */
  sawPrePrepare(): void {
    if (this.#core.cfg.nullRequestMs > 0) this.#lastPrePrepareAt = this.#core.stack.clock.now()
  }

  /**
   * The null-request timer (nullRequestMs > 0, in an active view): nullRequestMs after the last
   * pre-prepare the primary sends a null request; nullRequestMs + requestTimeoutMs after the last
   * one it heard, a backup starts a view change. Re-arming on every pre-prepare would cost a timer
   * per batch, so pre-prepares only stamp #lastPrePrepareAt and the timer, when it fires early,
   * sleeps again until the deadline that stamp gives.
   */
  armNullTimer(): void {
    const core = this.#core
    core.timers.clear('nullRequest')
    if (core.cfg.nullRequestMs === 0 || !core.active || core.stopped) return
    const view = core.view
    const period = core.isPrimary() ? core.cfg.nullRequestMs : core.cfg.nullRequestMs + core.cfg.requestTimeoutMs
    const wait = Math.max(0, this.#lastPrePrepareAt + period - core.stack.clock.now())
    core.timers.start('nullRequest', () => {
      if (!core.active || core.stopped || core.view !== view) return
      if (core.stack.clock.now() < this.#lastPrePrepareAt + period) {
        this.armNullTimer()
        return
      }
      if (core.isPrimary()) {
        this.#sendNullRequest()
        // Stamped by the null request; when none could be sent, wait a whole period again.
        if (this.#lastPrePrepareAt + period <= core.stack.clock.now()) this.#lastPrePrepareAt = core.stack.clock.now()
        this.armNullTimer()
        return
      }
      core.log.info('pbft null request timer expired: no pre-prepare from the primary', { view, primary: core.primary(view) })
      core.views.sendViewChange()
    }, wait)
  }
}
