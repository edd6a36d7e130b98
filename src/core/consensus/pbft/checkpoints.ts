/**
 * PBFT's checkpoints and watermarks for one replica. Every K sequence numbers each replica
 * broadcasts the hash of its head block (the state after that sequence number); 2f+1 matching make
 * it stable, which moves the low watermark h, garbage-collects the window and starts a new segment
 * of the consensus log. A stable checkpoint this replica has not reached, or f+1 matching ones
 * above h + L, start a state transfer; f+1 matching ones it has not reached are looked at again
 * after batchTimeoutMs (a replica merely slow gets there by itself).
 *
 * Checkpoints at or below h come from replicas that may be behind (a restarted replica probing, or
 * asking for heads after a transfer): they get this replica's checkpoint and head (#helpLagging).
 *
 *   const checkpoints = new Checkpoints(core); core.checkpoints = checkpoints
 *   checkpoints.onCheckpoint(msg, from)
 */
import { toHex } from '../../util/bytes.js'
import type { PbftMessage, CheckpointMsg } from './messages.js'
import { HelpLimiter, type CheckpointsPart, type ReplicaCore } from './replica-core.js'
import type { TransferTarget } from './state-transfer.js'

/**
 * Claims of checkpoints above the window kept per replica at most, on average (default 4): a
 * replica behind collects f+1 matching ones, and a byzantine one announcing endless others pushes
 * out only the lowest.
 */
export const PBFT_MAX_AHEAD_CLAIMS_PER_REPLICA = 4

export class Checkpoints implements CheckpointsPart {
  readonly #core: ReplicaCore
  /** Checkpoint votes within the window: n -> replica -> digest. */
  readonly #votes = new Map<number, Map<number, string>>()
  /** Checkpoint votes above h + L: "n:d" -> replicas. */
  readonly #votesAbove = new Map<string, { n: number; d: string; from: Set<number> }>()
  /** f+1 matching checkpoints ahead of what we executed, looked at again after batchTimeoutMs before transferring. */
  #lagTarget: { target: TransferTarget; peers: number[] } | undefined
  /** When each lagging replica was last sent our checkpoint and head. */
  readonly #headHelp: HelpLimiter

  constructor(core: ReplicaCore) {
    this.#core = core
    this.#headHelp = new HelpLimiter(core)
  }

  onCheckpoint(msg: CheckpointMsg, from: number): void {
    const core = this.#core
    // A checkpoint at or below our stable one while we executed past it: its sender may be behind
    // (a restarted replica probing, or asking for heads after a transfer; helpLagging answers
    // once per resendViewChangeMs and only when we are past it).
    if (msg.n <= core.h) return this.helpLagging(msg.n, from)
    if (msg.n > core.h + core.L) {
      this.#onCheckpointAhead(msg, from)
      return
    }
    let votes = this.#votes.get(msg.n)
    if (votes === undefined) this.#votes.set(msg.n, (votes = new Map<number, string>()))
    if (votes.has(from)) return
    votes.set(from, msg.d)
    const voters = [...votes].filter(([, d]) => d === msg.d).map(([r]) => r)
    if (voters.length >= core.cfg.f + 1 && voters.length < 2 * core.cfg.f + 1 && msg.n > core.lastExec) {
      // f+1 say the chain reached n (one is honest). A replica merely a little slow gets there by
      // itself; one that missed messages does not, so look again later and transfer if still behind.
      this.#lagTarget = { target: { n: msg.n, d: msg.d }, peers: voters }
      if (!core.timers.armed('lagRecheck')) {
        core.timers.start('lagRecheck', () => {
          const lag = this.#lagTarget
          this.#lagTarget = undefined
          if (lag !== undefined && lag.target.n > core.lastExec) core.transfer.start(lag.target, lag.peers)
        }, core.cfg.batchTimeoutMs)
      }
    }
    // Heads sent to a lagging replica (helpLagging) are not checkpoints: they may start a transfer,
    // never move the watermarks, so every replica's h stays a multiple of K and view changes agree.
    if (voters.length < 2 * core.cfg.f + 1 || msg.n % core.cfg.k !== 0) return
    if (core.lastExec >= msg.n) {
      // Unknown only when a state transfer carried this replica past n: 2f+1 matching votes prove it.
      const mine = core.ownCheckpoints.get(msg.n) ?? (msg.n === core.lastExec ? toHex(core.stack.ledger.headHash()) : undefined)
      if (mine === undefined || mine === msg.d) {
        core.ownCheckpoints.set(msg.n, msg.d)
        this.moveWatermarks(msg.n)
      } else core.log.error('a stable checkpoint differs from this replica\'s state', { n: msg.n })
    } else {
      core.transfer.start({ n: msg.n, d: msg.d }, voters)
    }
  }

  /**
   * A replica whose view change or checkpoint shows it behind (its stable checkpoint is `h`) gets
   * our latest checkpoint and head, to transfer from; at most once per resendViewChangeMs each.
   */
  helpLagging(h: number, from: number): void {
    const core = this.#core
    if (core.lastExec <= h || core.transfer.transferring || !this.#headHelp.may(from)) return
    const cp = core.lastExec - (core.lastExec % core.cfg.k)
    const cpD = core.ownCheckpoints.get(cp)
    if (cp > h && cp < core.lastExec && cpD !== undefined) core.outbound.unicast({ t: 'ck', n: cp, r: core.self, d: cpD }, from)
    core.outbound.unicast({ t: 'ck', n: core.lastExec, r: core.self, d: toHex(core.stack.ledger.headHash()) }, from)
  }

  #onCheckpointAhead(msg: CheckpointMsg, from: number): void {
    const core = this.#core
    const key = `${msg.n}:${msg.d}`
    let entry = this.#votesAbove.get(key)
    if (entry === undefined) {
      // Bounded: each replica keeps at most a few claims here; the oldest go first.
      if (this.#votesAbove.size >= PBFT_MAX_AHEAD_CLAIMS_PER_REPLICA * core.cfg.n) {
        let lowest: string | undefined
        let lowN = Infinity
        for (const [k, e] of this.#votesAbove) if (e.n < lowN) [lowest, lowN] = [k, e.n]
        if (lowest !== undefined) this.#votesAbove.delete(lowest)
      }
      this.#votesAbove.set(key, (entry = { n: msg.n, d: msg.d, from: new Set() }))
    }
    entry.from.add(from)
    if (entry.from.size >= core.cfg.f + 1) core.transfer.start({ n: msg.n, d: msg.d }, [...entry.from])
  }

  moveWatermarks(n: number): void {
    const core = this.#core
    if (n <= core.h) return
    core.h = n
    for (const key of core.certs.keys()) if (key <= n) core.certs.delete(key)
    core.normal.forgetBelow(n)
    for (const key of this.#votes.keys()) if (key <= n) this.#votes.delete(key)
    for (const key of core.ownCheckpoints.keys()) if (key < n) core.ownCheckpoints.delete(key)
    for (const [key, e] of this.#votesAbove) if (e.n <= n) this.#votesAbove.delete(key)
    for (const key of core.pset.keys()) if (key <= n) core.pset.delete(key)
    for (const [key, e] of core.qset) if (e.n <= n) core.qset.delete(key)
    const live = new Set<string>()
    for (const cert of core.certs.values()) if (cert.digest !== undefined) live.add(cert.digest)
    for (const e of core.pset.values()) live.add(e.d)
    for (const e of core.qset.values()) live.add(e.d)
    for (const d of core.batches.keys()) if (!live.has(d)) core.batches.delete(d)
    if (core.seqNo < n) core.seqNo = n
    this.#rotateLog()
    core.normal.tryCut()
  }

  /**
   * A stable checkpoint starts a new segment of the consensus log. The snapshot opening it holds
   * what older segments alone would hold: the checkpoint itself, the view changes and the new view
   * this replica is bound by. Votes need no copy: one for n was logged in a segment labelled above
   * n - L, and segments go only once labelled at or below h - L (consensus-log.ts).
   */
  #rotateLog(): void {
    const core = this.#core
    const d = core.ownCheckpoints.get(core.h)
    if (d === undefined) return
    const snapshot: PbftMessage[] = [{ t: 'ck', n: core.h, r: core.self, d }, ...core.views.snapshot()]
    core.outbound.rotate(core.h, snapshot, core.h - core.L + 1)
  }
}
