/**
 * A replica's timers, by name, on the Stack's clock: one way to arm, test and clear each, and one
 * call that clears them all at stop (after which none starts). A timer counts as not armed from
 * the moment it fires, so its work may arm it again.
 *
 * Why names rather than a field per timer: the replica has eleven timers, and with a field each
 * they were armed, tested and cleared in three different ways, and stop() had to list every one.
 *
 *   const timers = new ReplicaTimers(() => stack.clock, (fn) => outbound.input(fn))
 *   if (!timers.armed('batch')) timers.start('batch', () => cutBatch(), 100)
 *   timers.stop()
 */
import type { Clock, TimerHandle } from '../../util/clock.js'

export type ReplicaTimer =
  /** The primary's batch timeout (batchTimeoutMs). */
  | 'batch'
  /** This replica's oldest outstanding request (requestTimeoutMs). */
  | 'request'
  /** A view change that found no new view (viewChangeTimeoutMs, backing off). */
  | 'viewChange'
  /** Resending this replica's view change (resendViewChangeMs). */
  | 'resend'
  /** Forwarding requests to the primary, gathered for one tick. */
  | 'forward'
  /** Retrying a failed state transfer (backing off). */
  | 'retry'
  /** The idle primary's null request, or a backup's wait for one (nullRequestMs). */
  | 'nullRequest'
  /** Looking for lag and announcing the view (resendViewChangeMs). */
  | 'lagProbe'
  /** Forwards that found no link to the primary (forwardRetryMs). */
  | 'unsent'
  /** Asking for heads after a state transfer (resendViewChangeMs). */
  | 'headProbe'
  /** Looking again at f+1 checkpoints ahead of what was executed before transferring (batchTimeoutMs). */
  | 'lagRecheck'

export class ReplicaTimers {
  readonly #clock: () => Clock
  readonly #run: (fn: () => void) => void
  readonly #handles = new Map<ReplicaTimer, TimerHandle>()
  #stopped = false

  /**
   * `clock` gives the clock to use at each call (the Stack's, read each time as the replica always
   * did); `run` runs a timer's work (the replica runs it as one input, so its broadcasts leave
   * together).
   */
  constructor(clock: () => Clock, run: (fn: () => void) => void) {
    this.#clock = clock
    this.#run = run
  }

  /** Arms `name` to run `fn` in `ms`, replacing the armed one if any; nothing once stopped. */
  start(name: ReplicaTimer, fn: () => void, ms: number): void {
    this.clear(name)
    if (this.#stopped) return
    this.#handles.set(
      name,
      this.#clock().setTimeout(() => {
        this.#handles.delete(name)
        this.#run(fn)
      }, ms),
    )
  }

  armed(name: ReplicaTimer): boolean {
    return this.#handles.has(name)
  }

  clear(name: ReplicaTimer): void {
    const handle = this.#handles.get(name)
    if (handle === undefined) return
    this.#clock().clearTimeout(handle)
    this.#handles.delete(name)
  }

  /** Clears every timer; none starts from now on (the replica stopped). */
  stop(): void {
    this.#stopped = true
    const clock = this.#clock()
    for (const handle of this.#handles.values()) clock.clearTimeout(handle)
    this.#handles.clear()
  }
}
