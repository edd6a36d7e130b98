/**
 * PBFT's normal case for one replica: requests, batches, pre-prepare, prepare, commit, execution.
 *
 * A request is forwarded to the primary only (backups learn it from the pre-prepare; the replica
 * that took it keeps it outstanding until it executes: a forward that finds no link to the primary
 * is retried every forwardRetryMs, a request that waits too long is re-broadcast to every replica
 * (see #onRequestTimer), and all it holds goes to each new primary). The primary (view mod N) cuts
 * a batch at batchSize or after batchTimeoutMs and pre-prepares it with the next sequence number
 * (up to h + L/2); backups prepare; 2f matching prepares plus the pre-prepare make it prepared, and
 * the replica commits; 2f+1 matching commits make it committed-local. Batches execute strictly in
 * sequence order, one block per non-null sequence number, with the batch's timestamp and proposer,
 * so every replica builds identical blocks. Duplicate transactions are left out by the primary and
 * skipped by the ledger.
 *
 * Null requests (a pre-prepare without a batch, digest '') go through prepare and commit like any
 * batch and consume their sequence number, but execute nothing and make no block, as in Fabric.
 * With nullRequestMs > 0 an idle primary sends them as a heartbeat (primary-watch.ts, which also
 * holds the request timer that finds a primary ignoring requests).
 *
 * A replica outside the agreeing view (in a view change alone, or restarted in an old view) still
 * follows: 2f+1 matching commits for a batch it holds execute it without its vote.
 *
 *   const normal = new NormalCase(core); core.normal = normal
 *   normal.submit(tx)
 */
import { describeError } from '../../errors.js'
import { toHex } from '../../util/bytes.js'
import { transactionBytes, transactionBytesMost, transactionsExceed } from '../../wire/block-size.js'
import { MessageType } from '../../wire/message-type.js'
import { EndpointType, type Block, type Transaction } from '../../wire/payload-types.js'
import { makeEnvelope } from '../../wire/payloads.js'
import { NULL_DIGEST, batchDigest, type PbftBatch } from './batch.js'
import type { CommitMsg, PrePrepareMsg, PrepareMsg } from './messages.js'
import { PrimaryWatch } from './primary-watch.js'
import { countMatching, type Cert, type NormalCasePart, type ReplicaCore } from './replica-core.js'

/** Batches a following replica keeps per sequence number at most (default 4): more means an equivocating primary. */
export const PBFT_MAX_FOLLOW_BATCHES = 4

/**
 * What a replica outside the agreeing view hears for one sequence number: pre-prepared batches by
 * digest, and each replica's latest commit ("view:digest").
 */
interface Followed {
  batches: Map<string, PbftBatch | null>
  commits: Map<number, string>
}

export class NormalCase implements NormalCasePart {
  readonly #core: ReplicaCore
  /** The primary's requests not yet in a batch of this view. */
  readonly #queue = new Map<string, Transaction>()
  /** What this replica heard outside the agreeing view, by sequence number (see #follow). */
  readonly #followed = new Map<number, Followed>()
  /** The request and null-request timers, which find a dead or idle primary (primary-watch.ts). */
  readonly #watch: PrimaryWatch

  constructor(core: ReplicaCore) {
    this.#core = core
    this.#watch = new PrimaryWatch(core, () => this.#sendNullRequest())
  }

  // ---- requests and batching ----

  /**
   * A client request submitted at this peer: kept, and forwarded to the primary. Not to every
   * replica: each would decode it once more than the pre-prepare already makes it, which cost a
   * third of a backup's receive work; the request timer's re-broadcast keeps the liveness that
   * forwarding to all gave.
   */
  submit(tx: Transaction): void {
    if (!this.#addRequest(tx)) return
    if (!this.#core.isPrimary()) this.#core.forwarder.add(tx)
    this.#afterRequests()
  }

  /** Requests another replica re-sent to every replica (req). */
  onRequests(txs: readonly Transaction[]): void {
    let added = false
    for (let i = 0; i < txs.length; i++) if (this.#addRequest(txs[i]!)) added = true
    if (added) this.#afterRequests()
  }

  /** Whether this replica holds the request unexecuted. */
  holds(txid: string): boolean {
    return this.#core.outstanding.has(txid)
  }

  #addRequest(tx: Transaction): boolean {
    const core = this.#core
    if (core.outstanding.has(tx.txid) || core.stack.ledger.hasTransaction(tx.txid)) return false
    if (core.outstanding.size >= core.cfg.maxOutstanding) {
      // Its client may have been told 202: say so, if not once per request.
      if (core.stats.dropped++ % 1000 === 0) core.log.warn('pbft request dropped: maxOutstanding requests wait here', { maxOutstanding: core.cfg.maxOutstanding, dropped: core.stats.dropped })
      return false
    }
    core.outstanding.set(tx.txid, tx)
    if (core.active && core.isPrimary()) this.#queue.set(tx.txid, tx)
    return true
  }

  #afterRequests(): void {
    this.#watch.armRequestTimer()
    this.tryCut(true)
  }

  oldestOutstanding(): Transaction[] {
    const x: Transaction[] = []
    for (const tx of this.#core.outstanding.values()) {
      if (x.length >= this.#core.cfg.batchSize) break
      x.push(tx)
    }
    return x
  }

  /**
   * Cuts full batches; `arrived` (new requests) also cuts a partial one when nothing is in flight
   * (every sequence number assigned is executed): there is then nothing for the batch timer to let
   * requests gather behind, and waiting for it would only add its timeout to their latency.
   */
  tryCut(arrived = false): void {
    const core = this.#core
    if (!core.active || !core.isPrimary() || core.stopped) return
    const limit = core.h + Math.floor(core.L / 2)
    while (this.#queue.size >= core.cfg.batchSize && core.seqNo < limit) this.#cutBatch()
    if (arrived && this.#queue.size > 0 && core.seqNo === core.lastExec && core.seqNo < limit) this.#cutBatch()
    if (this.#queue.size === 0) {
      core.timers.clear('batch')
    } else if (!core.timers.armed('batch')) {
      core.timers.start('batch', () => {
        if (core.active && core.isPrimary() && core.seqNo < core.h + Math.floor(core.L / 2)) this.#cutBatch()
        this.tryCut()
      }, core.cfg.batchTimeoutMs)
    }
  }

  #cutBatch(): void {
    const core = this.#core
    // Nothing queued is committed: #addRequest refuses committed requests, and forget drops
    // every request of every block this replica commits or applies.
    // Cut by count and by bytes. Bytes are bounded by UTF-16 length (no counting) until that
    // bound nears the cap; from then on counted exactly.
    const txs: Transaction[] = []
    const max = core.cfg.batchMaxBytes
    let bytes = 0
    let exact = false
    for (const [txid, tx] of this.#queue) {
      if (txs.length >= core.cfg.batchSize) break
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
    const proposer = core.cfg.validators[core.self] as string
    const batch: PbftBatch = { timestamp: Math.max(0, Math.floor(core.stack.clock.now())), proposer, txs }
    const d = batchDigest(batch)
    const n = ++core.seqNo
    const cert = core.cert(core.view, n)
    cert.digest = d
    cert.batch = batch
    core.batches.set(d, batch)
    core.stats.proposed++
    core.outbound.broadcast({ t: 'pp', v: core.view, n, r: core.self, b: batch })
    this.#watch.sawPrePrepare()
    this.check(n, cert)
  }

  /**
   * The idle primary's heartbeat: a pre-prepare of a null request with the next sequence number.
   * Not while requests wait (the batch timer pre-prepares them soon: requestTimeoutMs, which the
   * backups add to nullRequestMs, is forced above batchTimeoutMs) nor above h + L/2 (execution is
   * what is behind then, and the checkpoints that move h also restart pre-prepares).
   */
  #sendNullRequest(): void {
    const core = this.#core
    if (this.#queue.size > 0 || core.seqNo >= core.h + Math.floor(core.L / 2)) return
    const n = ++core.seqNo
    const cert = core.cert(core.view, n)
    cert.digest = NULL_DIGEST
    cert.batch = null
    core.stats.nullRequests++
    core.outbound.broadcast({ t: 'pp', v: core.view, n, r: core.self, b: null })
    this.#watch.sawPrePrepare()
    this.check(n, cert)
  }

  // ---- agreement ----

  onPrePrepare(msg: PrePrepareMsg, from: number): void {
    const core = this.#core
    if (from !== core.primary(core.view) || from === core.self) {
      core.stats.refused++
      return
    }
    // The primary is alive, even when this replica is too far behind to use what it sent.
    this.#watch.sawPrePrepare()
    if (!core.inWindow(msg.n)) return
    if (msg.b !== null && (msg.b.txs.length > core.cfg.batchSize || transactionsExceed(msg.b.txs, core.cfg.batchMaxBytes))) {
      core.stats.refused++
      return
    }
    const d = msg.b === null ? NULL_DIGEST : batchDigest(msg.b)
    const cert = core.cert(msg.v, msg.n)
    if (cert.batch !== undefined || cert.digest !== undefined) {
      if (cert.digest !== d) {
        core.stats.refused++
        core.log.warn('conflicting pre-prepare refused', { view: msg.v, n: msg.n, primary: from })
      }
      return
    }
    cert.digest = d
    cert.batch = msg.b
    if (msg.b !== null) core.batches.set(d, msg.b)
    if (msg.n > core.seqNo) core.seqNo = msg.n
    // The batch is logged with the prepare: after a crash of every replica, one that prepared must
    // still hold what it prepared, or the next view could re-propose a digest nobody can serve.
    core.outbound.record(msg)
    cert.prepares.set(core.self, d)
    core.outbound.broadcast({ t: 'p', v: msg.v, n: msg.n, r: core.self, d })
    this.check(msg.n, cert)
  }

  onPrepare(msg: PrepareMsg, from: number): void {
    const core = this.#core
    if (from === core.primary(core.view)) {
      core.stats.refused++
      return
    }
    if (!core.inWindow(msg.n)) return
    const cert = core.cert(msg.v, msg.n)
    if (cert.prepares.has(from)) return
    cert.prepares.set(from, msg.d)
    this.check(msg.n, cert)
  }

  onCommit(msg: CommitMsg, from: number): void {
    if (!this.#core.inWindow(msg.n)) return
    const cert = this.#core.cert(msg.v, msg.n)
    if (cert.commits.has(from)) return
    cert.commits.set(from, msg.d)
    this.check(msg.n, cert)
  }

  check(n: number, cert: Cert): void {
    const core = this.#core
    const d = cert.digest
    if (d === undefined || cert.batch === undefined) return
    if (!cert.prepared && countMatching(cert.prepares, d) >= 2 * core.cfg.f) cert.prepared = true
    if (cert.prepared && !cert.sentCommit) {
      cert.sentCommit = true
      cert.commits.set(core.self, d)
      core.outbound.broadcast({ t: 'c', v: cert.view, n, r: core.self, d })
    }
    // 2f+1 matching commits mean f+1 honest replicas prepared d: it is decided even if we missed prepares.
    if (!cert.committed && countMatching(cert.commits, d) >= 2 * core.cfg.f + 1) {
      cert.committed = true
      if (n === core.lastExec + 1) this.execute()
    }
  }

  /** A batch fetched by digest (rb): a new view installed on f+1 replicas' word may name batches this replica lacked. */
  onBatch(batch: PbftBatch): void {
    const core = this.#core
    const d = batchDigest(batch)
    if (!core.fetchingBatches.delete(d)) return
    core.batches.set(d, batch)
    for (const [n, cert] of core.certs) {
      if (cert.digest !== d || cert.batch !== undefined || cert.view !== core.view || !core.active) continue
      cert.batch = batch
      if (!core.isPrimary() && !cert.prepares.has(core.self)) {
        cert.prepares.set(core.self, d)
        core.outbound.broadcast({ t: 'p', v: cert.view, n, r: core.self, d })
      }
      this.check(n, cert)
    }
    for (const entry of this.#followed.values()) {
      for (const key of entry.commits.values()) {
        if (key.endsWith(`:${d}`) && entry.batches.size < PBFT_MAX_FOLLOW_BATCHES) entry.batches.set(d, batch)
      }
    }
    core.views.tryNewView()
    this.execute()
  }

  // ---- execution ----

  execute(): void {
    const core = this.#core
    let progressed = false
    while (!core.transfer.transferring && !core.stopped) {
      const n = core.lastExec + 1
      const cert = core.certs.get(n)
      let batch: PbftBatch | null | undefined
      if (cert !== undefined && cert.committed) batch = cert.batch
      if (batch === undefined) batch = this.#decidedWithoutVote(n)
      if (batch === undefined) break
      if (!this.#commitBlock(n, batch)) break
      this.#followed.delete(n)
      // A null request orders no request: it must not restart the request timer, or an idle
      // primary's heartbeats would hide that it ignores the requests waiting here.
      if (batch !== null) progressed = true
    }
    if (progressed) this.afterProgress()
  }

  follow(msg: PrePrepareMsg | CommitMsg, from: number): void {
    const core = this.#core
    if (msg.n <= core.lastExec || msg.n <= core.h || msg.n > core.h + core.L) return
    let entry = this.#followed.get(msg.n)
    if (entry === undefined) this.#followed.set(msg.n, (entry = { batches: new Map(), commits: new Map() }))
    if (msg.t === 'pp') {
      if (from !== core.primary(msg.v) || entry.batches.size >= PBFT_MAX_FOLLOW_BATCHES) return
      entry.batches.set(msg.b === null ? NULL_DIGEST : batchDigest(msg.b), msg.b)
    } else {
      entry.commits.set(from, `${msg.v}:${msg.d}`)
    }
    if (msg.n === core.lastExec + 1) this.execute()
  }

  /** The batch 2f+1 matching commits decided at n, when this replica also holds it. */
  #decidedWithoutVote(n: number): PbftBatch | null | undefined {
    const entry = this.#followed.get(n)
    if (entry === undefined) return undefined
    const counts = new Map<string, number>()
    for (const key of entry.commits.values()) {
      const count = (counts.get(key) ?? 0) + 1
      counts.set(key, count)
      if (count < 2 * this.#core.cfg.f + 1) continue
      const d = key.slice(key.indexOf(':') + 1)
      if (entry.batches.has(d)) return entry.batches.get(d) as PbftBatch | null
      // Decided, but the pre-prepare never reached us: the batch can be fetched by digest.
      if (d !== NULL_DIGEST) this.#core.fetchBatch(d)
    }
    return undefined
  }

  /** Executes sequence number n: a block for a batch, nothing for a null request; then the checkpoint. */
  #commitBlock(n: number, batch: PbftBatch | null): boolean {
    const core = this.#core
    const { ledger } = core.stack
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
        core.log.error('executing a committed batch failed; execution halted', { n, error: describeError(err) })
        return false
      }
      this.forget(batch.txs)
    }
    core.lastExec = n
    core.stats.executed++
    const executed = core.outbound.logging ? toHex(ledger.headHash()) : undefined
    // Logged, not sent: how a restart places its sequence numbers on its stored chain (promises.ts).
    if (executed !== undefined) core.outbound.record({ t: 'ck', n, r: core.self, d: executed })
    if (n % core.cfg.k === 0) {
      const d = executed ?? toHex(ledger.headHash())
      core.ownCheckpoints.set(n, d)
      core.outbound.broadcast({ t: 'ck', n, r: core.self, d })
      core.checkpoints.onCheckpoint({ t: 'ck', n, r: core.self, d }, core.self)
    }
    // Every replica announces blocks (issue #16): a follower links to a few validators, maybe only
    // one, and must hear of every block from whichever it has, in order on that link. Copies cost a
    // follower little: it reads only the number of a block it already holds (wire/block-added-peek.ts).
    // To a follower that does not keep up the peer drops announcements instead (peer/best-effort.ts).
    // The handles, not getNetworkInfo: that one hexes every key id and sorts, for every block.
    if (block !== undefined && core.stack.getNetworkHandles().some((e) => e.type !== EndpointType.VALIDATOR)) {
      core.stack.broadcast(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block }, core.stack.clock.now()), 'non-validator')
    }
    return true
  }

  forget(txs: readonly Transaction[]): void {
    for (let i = 0; i < txs.length; i++) {
      const txid = txs[i]!.txid
      this.#core.outstanding.delete(txid)
      this.#queue.delete(txid)
    }
  }

  /** Counted for the request timer (no timer work per batch), and the primary may cut more. */
  afterProgress(): void {
    this.#watch.progressed()
    this.tryCut()
  }

  /** Drops what the window no longer holds (the watermarks moved to n). */
  forgetBelow(n: number): void {
    for (const key of this.#followed.keys()) if (key <= n) this.#followed.delete(key)
  }

  // ---- view boundaries ----

  startTimers(): void {
    this.#watch.sawPrePrepare()
    this.#watch.armNullTimer()
  }

  viewChangeStarted(): void {
    this.#queue.clear()
    this.#core.timers.clear('batch')
    this.#watch.stopForViewChange()
  }

  newViewInstalled(reproposed: ReadonlySet<string>): void {
    const core = this.#core
    if (core.isPrimary()) {
      for (const [txid, tx] of core.outstanding) if (!reproposed.has(txid)) this.#queue.set(txid, tx)
    } else {
      // The new primary may never have heard of what this replica holds (it went to the old one).
      core.forwarder.sendAll([...core.outstanding.values()].filter((tx) => !reproposed.has(tx.txid)))
    }
    if (core.outstanding.size > 0) this.#watch.armRequestTimer()
    this.startTimers()
  }
}
