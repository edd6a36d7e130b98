/**
 * noops: the consenter that orders transactions without fault tolerance (Fabric's `noops`).
 *
 * Fabric's noops let every validator cut its own blocks, so validators' chains diverged as soon as
 * two of them got transactions. Here one leader cuts blocks: the validator with the smallest ID
 * (code point order) among this peer, if it validates, and the validators it is connected to. In a
 * stable network every validator agrees on that leader and commits the same blocks.
 * It tolerates nothing else: a crashed leader loses the transactions it held, two peers that see
 * different validator sets can both lead and fork, and a lying peer is believed as far as the
 * ledger's hash checks allow. Tolerating faults is PBFT's job.
 *
 * Data in (`recvMsg`, one message at a time):
 * - CHAIN_TRANSACTION (from this peer's clients or relayed by a peer): the leader adds it to its
 *   batch; another validator forwards it to the leader as CONSENSUS {kind:'tx'}, a non-validator
 *   as CHAIN_TRANSACTION (only validators may send CONSENSUS), or holds it while no leader is
 *   reachable (up to `maxPending`, then drops and counts).
 * - CONSENSUS {kind:'tx'}: likewise; a peer that is not the leader in its own view passes it on
 *   once more at most (hops), else holds it for its next housekeeping tick.
 * - CONSENSUS {kind:'block'}: applied when it is the next block; a gap is fetched from the sender
 *   first; stale blocks are ignored; a block the ledger refuses is logged and counted. A block
 *   applied is announced (SYNC_BLOCK_ADDED) to this validator's non-validator links.
 * Data out: the leader cuts a block at `blockSize` (or `blockMaxBytes`) or `blockWaitMs` after its
 * first pending transaction, commits it through a ledger batch, and broadcasts it as CONSENSUS
 * {kind:'block'} to validators and SYNC_BLOCK_ADDED to non-validators; every other validator
 * announces it too once applied, so a follower linked to any validator hears of it.
 *
 * Before leading, a leader catches up: while any peer claims a greater height (stack.sync heights,
 * or heights learned from block messages) it fetches and applies the missing blocks; transactions
 * wait meanwhile. A claim that cannot be fetched (the peer left, an answer timed out under load)
 * is set aside until that peer claims more or its backoff ends: tried again `retryMs` x 2, 4, 8 ...
 * (at most NOOPS_CLAIM_RETRY_MAX_FACTOR x) after each failure. Without the retry a validator that
 * lost one answer stayed behind for good on a network with nothing more to commit.
 *
 * Timers (the batch timer and the housekeeping tick) come from stack.clock; stop() clears them.
 */
import { LedgerError, PeerNotFoundError, describeError } from '../../errors.js'
import { compareCodePoints } from '../../ledger/state-machine.js'
import { transactionProblem } from '../../ledger/block-hash.js'
import { pageBlocks, type FetchBlocks } from '../../ledger/page-blocks.js'
import type { TimerHandle } from '../../util/clock.js'
import type { Logger } from '../../util/logger.js'
import type { Envelope } from '../../wire/envelope.js'
import { MessageType } from '../../wire/message-type.js'
import { EndpointType, type Block, type Transaction } from '../../wire/payload-types.js'
import { makeEnvelope } from '../../wire/payloads.js'
import { transactionBytes } from '../../wire/block-size.js'
import type { Consenter, ConsenterOptions, Stack } from '../consenter.js'
import { decodeReceived, decodeTransaction } from '../decode-received.js'
import { NOOPS_CLAIM_RETRY_MAX_FACTOR, NOOPS_MAX_FORWARD_HOPS, NOOPS_PLUGIN_NAME, NOOPS_PROBE_BLOCKS } from './constants.js'
import { decodeNoopsMessage, encodeNoopsMessage, type NoopsMessage } from './noops-messages.js'
import { resolveNoopsOptions, type NoopsOptions } from './noops-options.js'

export type NoopsStatus = {
  /** The leader in this peer's view; null while no validator is reachable. */
  leader: string | null
  /** Transactions held here: the leader's next batch, or waiting for a leader. */
  pending: number
  /** Transactions forwarded to the leader and not yet seen in a block. */
  inFlight: number
  blocksProposed: number
  blocksApplied: number
  forwarded: number
  /** Transactions dropped because `maxPending` was reached (or a batch failed to execute). */
  dropped: number
  /** Blocks the ledger refused (bad number, previous hash or state hash). */
  rejected: number
  /** Messages that failed to decode or carried an invalid transaction. */
  invalid: number
  catchingUp: boolean
}

export interface NoopsConsenter extends Consenter {
  status(): NoopsStatus
  /** Whether this peer holds the transaction: pending here, or forwarded to the leader and not yet seen in a block. */
  isPending(txid: string): boolean
}

interface PendingTx {
  tx: Transaction
  /** Clock time it arrived here; a block is cut `blockWaitMs` after the oldest one. */
  at: number
  bytes: number
  /** Times it has been forwarded so far. */
  hops: number
}

/** Builds a noops consenter. Throws ConfigError for an option that is not a positive integer. */
export function createNoopsConsenter(stack: Stack, options: ConsenterOptions = {}): NoopsConsenter {
  return new NoopsConsenterImpl(stack, options)
}


class NoopsConsenterImpl implements NoopsConsenter {
  readonly name = NOOPS_PLUGIN_NAME
  readonly #stack: Stack
  readonly #opts: NoopsOptions
  readonly #log: Logger
  readonly #abort = new AbortController()
  #state: 'created' | 'running' | 'stopped' = 'created'
  #self = ''
  #unsubscribe: (() => void) | undefined

  #pending: PendingTx[] = []
  readonly #pendingIds = new Set<string>()
  #pendingBytes = 0
  /** Forwarded to `#leader` and not yet seen in a block; re-forwarded if the leader changes. */
  readonly #inFlight = new Map<string, Transaction>()
  #leader: string | undefined
  #dropWarned = false

  #batchTimer: TimerHandle | undefined
  #batchDeadline = 0
  #tickTimer: TimerHandle | undefined

  /** Heights learned from block messages (a sender of block n has height >= n + 1). */
  readonly #learnedHeights = new Map<string, number>()
  /** Height claims that could not be fetched, by peer; ignored until the peer claims more or `retryAt`. */
  readonly #failedClaims = new Map<string, { height: number; failures: number; retryAt: number }>()
  #lock: Promise<void> = Promise.resolve()
  #busy = 0
  #catchingUp = false
  /** Whether a block message came from the leader since the last housekeeping tick. */
  #heardFromLeader = false

  #blocksProposed = 0
  #blocksApplied = 0
  /** The newest block number this validator announced; its head is announced once when it passes it. */
  #announced = 0
  #forwarded = 0
  #dropped = 0
  #rejected = 0
  #invalid = 0

  constructor(stack: Stack, options: ConsenterOptions) {
    const { options: resolved, unknown } = resolveNoopsOptions(options)
    this.#stack = stack
    this.#opts = resolved
    this.#log = stack.log.child({ consenter: NOOPS_PLUGIN_NAME })
    if (unknown.length > 0) this.#log.warn('unknown noops options ignored', { options: unknown })
  }

  start(): void {
    if (this.#state !== 'created') return
    this.#state = 'running'
    this.#self = this.#stack.getNetworkInfo().self.id
    this.#unsubscribe = this.#stack.ledger.onBlock((block) => this.#forgetCommitted(block))
    this.#scheduleTick()
    this.#tick()
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    this.#clearBatchTimer()
    if (this.#tickTimer !== undefined) this.#stack.clock.clearTimeout(this.#tickTimer)
    this.#tickTimer = undefined
    this.#unsubscribe?.()
    this.#abort.abort()
    // Let a block application in progress finish, so nothing touches the ledger after stop resolves.
    await this.#lock
  }

  async recvMsg(msg: Envelope, sender: string): Promise<void> {
    if (this.#state !== 'running') {
      this.#log.debug('message ignored: not running', { type: msg.type, sender })
      return
    }
    if (msg.type === MessageType.CHAIN_TRANSACTION) {
      const tx = decodeReceived(decodeTransaction, msg.payload, this.#log, 'transaction', sender)
      if (tx === undefined) {
        this.#invalid++
        return
      }
      this.#accept(tx, 0, sender)
      this.#tick()
      return
    }
    if (msg.type !== MessageType.CONSENSUS) {
      this.#log.debug('message type not for noops ignored', { type: msg.type, sender })
      return
    }
    const message = decodeReceived(decodeNoopsMessage, msg.payload, this.#log, 'noops message', sender)
    if (message === undefined) {
      this.#invalid++
      return
    }
    if (message.kind === 'tx') {
      this.#accept(message.tx, message.hops, sender)
    } else {
      const { block } = message
      await this.#exclusive(() => this.#onBlockMessage(block, sender))
    }
    this.#tick()
  }

  isPending(txid: string): boolean {
    return this.#pendingIds.has(txid) || this.#inFlight.has(txid)
  }

  status(): NoopsStatus {
    return {
      leader: this.#leader ?? null,
      pending: this.#pending.length,
      inFlight: this.#inFlight.size,
      blocksProposed: this.#blocksProposed,
      blocksApplied: this.#blocksApplied,
      forwarded: this.#forwarded,
      dropped: this.#dropped,
      rejected: this.#rejected,
      invalid: this.#invalid,
      catchingUp: this.#catchingUp,
    }
  }

  // ---- transactions ----

  #accept(tx: Transaction, hops: number, sender: string): void {
    const problem = transactionProblem(tx)
    if (problem !== undefined) {
      this.#invalid++
      this.#log.warn('invalid transaction ignored', { sender, problem })
      return
    }
    // Executed once: the ledger would skip it anyway, but holding it would waste a slot.
    if (this.#stack.ledger.hasTransaction(tx.txid) || this.#pendingIds.has(tx.txid)) return
    // It came back (the leader changed its mind about leading): it is ours to place again.
    this.#inFlight.delete(tx.txid)
    if (this.#pending.length + this.#inFlight.size >= this.#opts.maxPending) {
      const oldest = this.#inFlight.keys().next()
      if (oldest.done === true) {
        this.#drop(1, 'pending transactions at maxPending')
        return
      }
      // The leader already has it; only the chance to resend it after a leader change is lost.
      this.#inFlight.delete(oldest.value)
    }
    const bytes = transactionBytes(tx)
    this.#pending.push({ tx, at: this.#stack.clock.now(), bytes, hops })
    this.#pendingIds.add(tx.txid)
    this.#pendingBytes += bytes
  }

  #drop(count: number, reason: string): void {
    this.#dropped += count
    if (!this.#dropWarned) {
      this.#dropWarned = true
      this.#log.warn('transactions dropped', { reason, dropped: this.#dropped, maxPending: this.#opts.maxPending })
    }
  }

  #takePending(count: number): PendingTx[] {
    const taken = this.#pending.splice(0, count)
    for (const entry of taken) {
      this.#pendingIds.delete(entry.tx.txid)
      this.#pendingBytes -= entry.bytes
    }
    if (this.#pending.length < this.#opts.maxPending / 2) this.#dropWarned = false
    return taken
  }

  #forgetCommitted(block: Block): void {
    let held = false
    for (const tx of block.transactions) {
      this.#inFlight.delete(tx.txid)
      if (this.#pendingIds.has(tx.txid)) held = true
    }
    if (!held) return
    const committed = new Set(block.transactions.map((tx) => tx.txid))
    const kept: PendingTx[] = []
    for (const entry of this.#pending) {
      if (committed.has(entry.tx.txid)) {
        this.#pendingIds.delete(entry.tx.txid)
        this.#pendingBytes -= entry.bytes
      } else {
        kept.push(entry)
      }
    }
    this.#pending = kept
  }

  // ---- the decision step ----

  /** Re-reads the network and does whatever is due: forward, catch up, or cut blocks. Never throws. */
  #tick(housekeeping = false): void {
    if (this.#state !== 'running') return
    try {
      this.#decide(housekeeping)
    } catch (err) {
      this.#log.error('noops tick failed', { error: describeError(err) })
    }
  }

  #decide(housekeeping: boolean): void {
    const leader = this.#currentLeader()
    if (leader !== this.#leader) this.#leaderChanged(leader)
    if (leader === undefined) {
      this.#clearBatchTimer()
      return
    }
    if (leader !== this.#self) {
      this.#clearBatchTimer()
      this.#forwardPending(leader, housekeeping)
      // Only validators sync here; a non-validator's peer follows SYNC_BLOCK_ADDED itself.
      if (housekeeping && this.#isValidator()) {
        if (this.#bestClaim() !== undefined) this.#startCatchUp()
        else if (!this.#heardFromLeader && !this.#failedClaims.has(leader)) this.#probeLeader(leader)
        this.#heardFromLeader = false
      }
      return
    }
    if (this.#bestClaim() !== undefined) {
      this.#clearBatchTimer()
      this.#startCatchUp()
      return
    }
    // A block application or catch-up is running; it ticks again when it ends.
    if (this.#busy > 0) return
    const now = this.#stack.clock.now()
    for (;;) {
      const first = this.#pending[0]
      if (first === undefined) {
        this.#clearBatchTimer()
        return
      }
      const full = this.#pending.length >= this.#opts.blockSize || this.#pendingBytes >= this.#opts.blockMaxBytes
      if (!full && now < first.at + this.#opts.blockWaitMs) {
        this.#armBatchTimer(first.at + this.#opts.blockWaitMs)
        return
      }
      this.#cutBlock()
    }
  }

  #currentLeader(): string | undefined {
    const info = this.#stack.getNetworkInfo()
    let best = info.self.role === 'validator' ? info.self.id : undefined
    for (const peer of info.validators) {
      if (peer.role !== 'validator' || peer.id === info.self.id) continue
      if (best === undefined || compareCodePoints(peer.id, best) < 0) best = peer.id
    }
    return best
  }

  #isValidator(): boolean {
    return this.#stack.getNetworkInfo().self.role === 'validator'
  }

  #leaderChanged(leader: string | undefined): void {
    this.#log.info('noops leader changed', { from: this.#leader ?? null, to: leader ?? null })
    this.#leader = leader
    // What the old leader held but never committed would be lost; the ledger executes resends once.
    for (const tx of this.#inFlight.values()) {
      if (this.#pendingIds.has(tx.txid) || this.#stack.ledger.hasTransaction(tx.txid)) continue
      const bytes = transactionBytes(tx)
      this.#pending.push({ tx, at: this.#stack.clock.now(), bytes, hops: 0 })
      this.#pendingIds.add(tx.txid)
      this.#pendingBytes += bytes
    }
    this.#inFlight.clear()
  }

  #forwardPending(leader: string, housekeeping: boolean): void {
    if (this.#pending.length === 0) return
    const held: PendingTx[] = []
    // Only validators speak CONSENSUS (peers refuse it from anyone else): a non-validator hands
    // its clients' transactions to the leader as what they are, CHAIN_TRANSACTION.
    const asClient = !this.#isValidator()
    let index = 0
    for (; index < this.#pending.length; index++) {
      const entry = this.#pending[index] as PendingTx
      if (entry.hops >= NOOPS_MAX_FORWARD_HOPS && !housekeeping) {
        held.push(entry)
        continue
      }
      const hops = entry.hops >= NOOPS_MAX_FORWARD_HOPS ? 1 : entry.hops + 1
      try {
        const envelope = asClient
          ? makeEnvelope(MessageType.CHAIN_TRANSACTION, entry.tx, this.#stack.clock.now())
          : this.#consensusEnvelope({ kind: 'tx', tx: entry.tx, hops })
        this.#stack.unicast(envelope, leader)
      } catch (err) {
        if (!(err instanceof PeerNotFoundError)) this.#log.warn('forwarding to the leader failed', { leader, error: describeError(err) })
        break
      }
      this.#forwarded++
      this.#pendingIds.delete(entry.tx.txid)
      this.#pendingBytes -= entry.bytes
      this.#inFlight.set(entry.tx.txid, entry.tx)
    }
    this.#pending = held.concat(this.#pending.slice(index))
  }

  // ---- leading ----

  #cutBlock(): void {
    const { ledger } = this.#stack
    const batch: Transaction[] = []
    let bytes = 0
    let count = 0
    while (count < this.#pending.length && batch.length < this.#opts.blockSize) {
      const entry = this.#pending[count] as PendingTx
      if (batch.length > 0 && bytes + entry.bytes > this.#opts.blockMaxBytes) break
      count++
      if (ledger.hasTransaction(entry.tx.txid)) continue
      batch.push(entry.tx)
      bytes += entry.bytes
    }
    this.#takePending(count)
    if (batch.length === 0) return
    const batchId = `noops/${this.#self}/${ledger.height()}`
    let block: Block
    try {
      ledger.beginTxBatch(batchId)
      ledger.execTxs(batchId, batch)
      block = ledger.commitTxBatch(batchId, { timestamp: Math.max(0, Math.floor(this.#stack.clock.now())), proposer: this.#self })
    } catch (err) {
      try {
        ledger.rollbackTxBatch(batchId)
      } catch {
        // The batch never opened, or commit already closed it.
      }
      this.#drop(batch.length, 'block execution failed')
      this.#log.error('noops block execution failed', { error: describeError(err), txs: batch.length })
      return
    }
    this.#blocksProposed++
    this.#log.debug('noops block proposed', { block: block.number, txs: block.transactions.length })
    try {
      this.#stack.broadcast(this.#consensusEnvelope({ kind: 'block', block }), 'validator')
    } catch (err) {
      this.#log.warn('noops block broadcast failed', { block: block.number, error: describeError(err) })
    }
    this.#announce(block)
  }

  /**
   * Announces this validator's head block if it is newer than the last one announced: after a
   * block message, a catch-up or a probe, once however many blocks they applied (a follower seeing
   * a gap pages the rest).
   */
  #announceHead(): void {
    if (!this.#isValidator()) return
    const head = this.#stack.ledger.height() - 1
    if (head <= this.#announced) return
    const block = this.#stack.ledger.getBlock(head)
    if (block !== undefined) this.#announce(block)
  }

  /**
   * SYNC_BLOCK_ADDED to linked non-validators. Every validator announces the blocks it cuts or
   * takes from the leader (issue #16): a follower (a tab keeps 3 links) may not be linked to the
   * leader, and would otherwise learn of no block. Copies cost it only a peek at the number.
   */
  #announce(block: Block): void {
    this.#announced = Math.max(this.#announced, block.number)
    // The handles, not getNetworkInfo: that one hexes every key id and sorts, for every block.
    if (!this.#stack.getNetworkHandles().some((e) => e.type !== EndpointType.VALIDATOR)) return
    try {
      this.#stack.broadcast(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block }, this.#stack.clock.now()), 'non-validator')
    } catch (err) {
      this.#log.warn('noops block announcement failed', { block: block.number, error: describeError(err) })
    }
  }

  #consensusEnvelope(message: NoopsMessage): Envelope {
    return { type: MessageType.CONSENSUS, timestamp: this.#stack.clock.now(), payload: encodeNoopsMessage(message) }
  }

  // ---- following and catching up ----

  async #onBlockMessage(block: Block, sender: string): Promise<void> {
    if (sender === this.#leader) this.#heardFromLeader = true
    this.#learnHeight(sender, block.number + 1)
    const { ledger } = this.#stack
    if (block.number < ledger.height()) {
      this.#log.debug('stale noops block ignored', { block: block.number, height: ledger.height(), sender })
      return
    }
    if (block.number > ledger.height() && !(await this.#fetchUpTo(sender, block.number))) {
      this.#log.warn('noops block gap not filled; block ignored', { block: block.number, height: ledger.height(), sender })
      return
    }
    this.#apply(block, sender)
    this.#announceHead()
  }

  #apply(block: Block, source: string): boolean {
    try {
      this.#stack.ledger.applyBlock(block)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      this.#rejected++
      this.#log.warn('noops block refused by the ledger', { block: block.number, source, error: err.message })
      return false
    }
    this.#blocksApplied++
    return true
  }

  /**
   * Fetches and applies blocks from one peer until the ledger reaches `height`; with Infinity (a
   * probe), until an answer brings nothing new, NOOPS_PROBE_BLOCKS asked at a time. False when it
   * stops short of `height`. The paging is page-blocks.ts'; the policy here: an answer that applied
   * something is followed by another request from the new head, even when it broke off (a gap, a
   * block the ledger refused); one that applied nothing, or failed, ends it.
   */
  async #fetchUpTo(peerId: string, height: number): Promise<boolean> {
    const { ledger } = this.#stack
    const probe = !Number.isFinite(height)
    // A failed request is logged and ends the paging as an empty answer would.
    const fetch: FetchBlocks = (peer, start, end, signal) =>
      this.#stack.sync.fetchBlocks(peer, start, end, { signal }).catch((err: unknown) => {
        // A probe's failure says nothing is known to be missing: a tick's worth of noise, not a warning.
        this.#log[probe ? 'debug' : 'warn']('fetching blocks failed', { remotePeer: peer, start, end, error: describeError(err) })
        return []
      })
    for (let again = true; again && ledger.height() < height; ) {
      again = false
      if (this.#state !== 'running') return false
      const blocksPerCall = probe ? NOOPS_PROBE_BLOCKS : undefined
      for await (const run of pageBlocks(fetch, peerId, ledger.height(), probe ? height : height - 1, { signal: this.#abort.signal, blocksPerCall })) {
        if (this.#state !== 'running' || !this.#applyRun(run.blocks, peerId)) return false
        // The pager asks next for the block after the run: when the head is elsewhere (a block was
        // refused) or the answer broke off, ask again from the head instead.
        again = run.broken || ledger.height() !== (run.blocks[0] as Block).number + run.blocks.length
        if (again) break
      }
    }
    return ledger.height() >= height
  }

  /** Applies what continues the ledger's head, in order (blocks below it are skipped); stops at a gap or a refused block. Whether any was applied. */
  #applyRun(blocks: readonly Block[], source: string): boolean {
    const { ledger } = this.#stack
    let progressed = false
    for (const block of blocks) {
      if (block.number < ledger.height()) continue
      if (block.number > ledger.height() || !this.#apply(block, source)) break
      progressed = true
    }
    return progressed
  }

  #learnHeight(peerId: string, height: number): void {
    if (height > (this.#learnedHeights.get(peerId) ?? 0)) this.#learnedHeights.set(peerId, height)
  }

  /**
   * Forgets claims that can no longer matter: at or below our height, or from peers no longer
   * linked. Both maps stay bounded by the peer cap, however many IDs come and go.
   */
  #pruneClaims(mine: number): void {
    const linked = new Set(this.#stack.getNetworkInfo().peers.map((p) => p.id))
    for (const [peer, height] of this.#learnedHeights) if (height <= mine || !linked.has(peer)) this.#learnedHeights.delete(peer)
    for (const [peer, failed] of this.#failedClaims) if (failed.height <= mine || !linked.has(peer)) this.#failedClaims.delete(peer)
  }

  /**
   * The validator claiming the greatest height above ours that has not failed us at that height.
   * Only validators: a follower (a tab, a non-validating peer) may hold any chain, for instance one
   * it kept from a network since started afresh, and a validator must never take its blocks.
   */
  #bestClaim(): { peer: string; height: number } | undefined {
    const mine = this.#stack.ledger.height()
    this.#pruneClaims(mine)
    const validators = new Set<string>()
    for (const e of this.#stack.getNetworkHandles()) if (e.type === EndpointType.VALIDATOR) validators.add(e.id)
    const claims = new Map([...this.#learnedHeights].filter(([peer]) => validators.has(peer)))
    for (const [peer, height] of this.#stack.sync.peerHeights()) {
      if (validators.has(peer) && height > (claims.get(peer) ?? 0)) claims.set(peer, height)
    }
    let best: { peer: string; height: number } | undefined
    const now = this.#stack.clock.now()
    for (const [peer, height] of claims) {
      if (peer === this.#self || height <= mine) continue
      const failed = this.#failedClaims.get(peer)
      if (failed !== undefined && failed.height >= height && now < failed.retryAt) continue
      if (best === undefined || height > best.height) best = { peer, height }
    }
    return best
  }

  #startCatchUp(): void {
    if (this.#catchingUp) return
    this.#catchingUp = true
    this.#exclusive(async () => {
      for (let claim = this.#bestClaim(); claim !== undefined && this.#state === 'running'; claim = this.#bestClaim()) {
        this.#log.info('noops catching up', { remotePeer: claim.peer, from: this.#stack.ledger.height(), to: claim.height })
        if (!(await this.#fetchUpTo(claim.peer, claim.height))) this.#claimFailed(claim.peer, claim.height)
      }
      this.#announceHead()
    })
      .catch((err: unknown) => this.#log.error('noops catch-up failed', { error: describeError(err) }))
      .finally(() => {
        this.#catchingUp = false
        this.#tick()
      })
  }

  #claimFailed(peer: string, height: number): void {
    const failures = (this.#failedClaims.get(peer)?.failures ?? 0) + 1
    const factor = Math.min(2 ** failures, NOOPS_CLAIM_RETRY_MAX_FACTOR)
    this.#failedClaims.set(peer, { height, failures, retryAt: this.#stack.clock.now() + factor * this.#opts.retryMs })
  }

  /**
   * Asks the leader for what follows this validator's head, and applies it. Heights are learned at
   * HELLO and from block messages, so a validator whose link was not up yet when the leader sent
   * its last block (a restart, a redial) knows of no greater height, and on a quiet network would
   * never learn it: a housekeeping tick with no block from the leader and no claim to follow asks.
   */
  #probeLeader(leader: string): void {
    if (this.#catchingUp || this.#busy > 0) return
    this.#catchingUp = true
    this.#exclusive(async () => {
      const { ledger } = this.#stack
      const from = ledger.height()
      await this.#fetchUpTo(leader, Number.POSITIVE_INFINITY)
      if (ledger.height() > from) this.#log.info('noops caught up from the leader', { remotePeer: leader, from, to: ledger.height() })
      this.#announceHead()
    })
      .catch((err: unknown) => this.#log.error('probing the leader failed', { remotePeer: leader, error: describeError(err) }))
      .finally(() => {
        this.#catchingUp = false
        this.#tick()
      })
  }

  /** Runs fn after every earlier exclusive section: the ledger sees one block source at a time. */
  #exclusive(fn: () => Promise<void> | void): Promise<void> {
    this.#busy++
    const run = this.#lock.then(fn).finally(() => {
      this.#busy--
    })
    this.#lock = run.catch(() => undefined)
    return run
  }

  // ---- timers ----

  #armBatchTimer(deadline: number): void {
    if (this.#batchTimer !== undefined && this.#batchDeadline === deadline) return
    this.#clearBatchTimer()
    this.#batchDeadline = deadline
    this.#batchTimer = this.#stack.clock.setTimeout(() => {
      this.#batchTimer = undefined
      this.#tick()
    }, deadline - this.#stack.clock.now())
  }

  #clearBatchTimer(): void {
    if (this.#batchTimer === undefined) return
    this.#stack.clock.clearTimeout(this.#batchTimer)
    this.#batchTimer = undefined
  }

  #scheduleTick(): void {
    this.#tickTimer = this.#stack.clock.setTimeout(() => {
      this.#tickTimer = undefined
      if (this.#state !== 'running') return
      this.#scheduleTick()
      this.#tick(true)
    }, this.#opts.retryMs)
  }
}
