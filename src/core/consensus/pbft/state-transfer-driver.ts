/**
 * When and from whom a PBFT replica that fell behind transfers state, and how it finds out that it
 * did: state-transfer.ts fetches and checks the chain; this decides when to run it (a target f+1
 * replicas vouch for), queues a later target behind a running transfer, retries with backoff from
 * every validator, and probes for lag on a quiet network.
 *
 * A replica that restarted behind, on a network with no traffic, would otherwise wait for the next
 * request to reveal the gap; and what was ordered while a transfer ran was beyond its watermarks
 * then. So every resendViewChangeMs it looks at the chain heights validators announced when they
 * linked, and once per height at which it falls quiet, and after each transfer, it sends its stable
 * checkpoint (and head): replicas past it answer with theirs (Checkpoints.helpLagging), from which
 * it transfers (f+1 matching, as for any transfer).
 *
 *   const transfer = new StateTransferDriver(core); core.transfer = transfer
 *   transfer.start({ n: 30, d }, [1, 2])
 */
import { describeError } from '../../errors.js'
import { toHex } from '../../util/bytes.js'
import { PBFT_MAX_VIEW_CHANGE_BACKOFF } from './config.js'
import type { ReplicaCore, StateTransferPart } from './replica-core.js'
import { transferState, type TransferTarget } from './state-transfer.js'

export class StateTransferDriver implements StateTransferPart {
  readonly #core: ReplicaCore
  #transferring = false
  /** The highest target that came while a transfer ran: taken next. */
  #nextTarget: { target: TransferTarget; peers: number[] } | undefined
  /** State transfers failed in a row (reported once, retried with backoff). */
  #failures = 0
  /** lastExec at the previous lag probe. */
  #probedAt = -1
  /** lastExec when this replica last asked the others for their heads (a quiet probe or a head probe). */
  #askedHeadsAt = -1

  constructor(core: ReplicaCore) {
    this.#core = core
  }

  /** Whether a state transfer is under way (execution waits for it). */
  get transferring(): boolean {
    return this.#transferring
  }

  start(target: TransferTarget, peers: number[]): void {
    const core = this.#core
    if (target.n <= core.lastExec || core.stopped) return
    if (this.#transferring) {
      if (this.#nextTarget === undefined || target.n > this.#nextTarget.target.n) this.#nextTarget = { target, peers }
      return
    }
    this.#transferring = true
    core.timers.clear('retry')
    const peerIds = peers.filter((r) => r !== core.self).map((r) => core.cfg.validators[r] as string)
    const fields = { from: core.lastExec, to: target.n, peers: peerIds }
    if (this.#failures > 0) core.log.debug('pbft state transfer', fields)
    else core.log.info('pbft state transfer', fields)
    let failure = 'no peer gave a hash chain to it'
    transferState(core.stack, target, peerIds, core.abort.signal)
      .catch((err: unknown) => {
        failure = describeError(err)
        return undefined
      })
      .then((applied) => {
        this.#transferring = false
        if (core.stopped) return
        const reached = applied !== undefined
        if (!reached) {
          // Reported once per run of failures, not on every retry; the retry adapts (below).
          if (this.#failures++ === 0) core.log.warn('pbft state transfer failed; retrying with backoff from every validator', { to: target.n, error: failure })
        } else if (this.#failures > 0) {
          core.log.info('pbft state transfer succeeded after retries', { to: target.n, failures: this.#failures })
          this.#failures = 0
        }
        if (reached) {
          for (const block of applied) core.normal.forget(block.transactions)
          core.stats.transfers++
          // The ledger now holds the state after sequence number target.n (block numbers say nothing).
          core.lastExec = target.n
          core.outbound.record({ t: 'ck', n: target.n, r: core.self, d: target.d })
          if (target.n % core.cfg.k === 0) {
            core.ownCheckpoints.set(target.n, target.d)
            core.checkpoints.moveWatermarks(target.n)
          }
          if (core.seqNo < target.n) core.seqNo = target.n
        }
        const next = this.#nextTarget
        if (reached && next === undefined) this.#armHeadProbe()
        this.#nextTarget = undefined
        if (next !== undefined && next.target.n > core.lastExec) this.start(next.target, next.peers)
        else if (!reached) {
          // Not the same request unchanged forever: every validator may serve the chain (it is
          // checked against the target's hash, so it needs no vouching), and the wait doubles.
          const everyone = core.cfg.validators.map((_, r) => r)
          const backoff = Math.min(2 ** (this.#failures - 1), PBFT_MAX_VIEW_CHANGE_BACKOFF)
          core.timers.start('retry', () => {
            this.start(target, everyone)
          }, core.cfg.requestTimeoutMs * backoff)
        }
        core.normal.execute()
        if (reached) core.normal.afterProgress()
      })
      .catch((err: unknown) => core.log.error('pbft state transfer: applying its result failed', { error: describeError(err) }))
  }

  /**
   * Run every resendViewChangeMs: when f+1 validators announced heights at least K blocks ahead (or
   * ahead at all, and this replica executed nothing since the last probe), or when it fell quiet at
   * a height it has not asked about yet, it sends its stable checkpoint.
   */
  probeLag(): void {
    const core = this.#core
    const executed = core.lastExec
    const stuck = executed === this.#probedAt
    this.#probedAt = executed
    if (this.#transferring) return
    const mine = core.stack.ledger.height()
    // K blocks behind, or behind at all while executing nothing since the last probe: a replica
    // that restarted within a checkpoint interval of the head would otherwise wait for the next
    // checkpoint, which may never come on a quiet network.
    const gap = stuck ? 1 : core.cfg.k
    let ahead = 0
    for (const [peer, height] of core.stack.sync.peerHeights()) {
      if (height >= mine + gap && core.cfg.validators.includes(peer)) ahead++
    }
    const d = core.ownCheckpoints.get(core.h)
    if (d === undefined) return
    // Heights heard at HELLO say nothing of blocks ordered since, and validators announce blocks
    // only to non-validators: a replica that missed the last few commits after linking (fewer than
    // K, so no checkpoint ahead reaches it) would wait for the next request on a quiet network. So
    // once per height at which a replica falls quiet, it sends its stable checkpoint and its head:
    // one behind it transfers from f+1 matching heads, one ahead of it answers with its own
    // (helpLagging), and replicas level with it hear only heads equal to their own.
    const quiet = stuck && executed !== this.#askedHeadsAt
    if (ahead < core.cfg.f + 1 && !quiet) return
    this.#askedHeadsAt = executed
    core.outbound.broadcast({ t: 'ck', n: core.h, r: core.self, d })
    if (quiet && executed > core.h) core.outbound.broadcast({ t: 'ck', n: executed, r: core.self, d: toHex(core.stack.ledger.headHash()) })
  }

  /**
   * What was ordered while a state transfer ran was beyond our watermarks then, and with no
   * traffic after it nothing would tell us: resendViewChangeMs after the transfer (the others
   * answer a lagging replica once per that period, see helpLagging), ask for their heads.
   */
  #armHeadProbe(): void {
    const core = this.#core
    if (core.timers.armed('headProbe')) return
    core.timers.start('headProbe', () => {
      const d = core.ownCheckpoints.get(core.h)
      if (!this.#transferring && d !== undefined) {
        this.#askedHeadsAt = core.lastExec
        core.outbound.broadcast({ t: 'ck', n: core.h, r: core.self, d })
      }
    }, core.cfg.resendViewChangeMs)
  }
}
