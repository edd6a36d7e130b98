/**
 * PBFT's promises, kept so a replica never contradicts what it sent before a crash (Castro and
 * Liskov's stable log; Fabric v0.6 persisted the same through its StatePersistor, CometBFT keeps a
 * WAL). Without it a validator restarted by kill -9 comes back in view 0 with an empty log: as
 * primary it gives sequence numbers already pre-prepared to other batches, as a backup it prepares
 * what contradicts its earlier prepares, and when more than f restart at once the network forks.
 *
 * What is kept (one record per promise, in the consenter store of consenter-store.ts):
 *   view        'vs' message: the view this replica was last active in (written when it installs one)
 *   vc          'vc' message: the last view change it sent (it is inactive while vc.v > view)
 *   nv          'nv' message: the last new view it sent as a new primary
 *   q/<n>/<d>   'pp' message: a pre-prepare it sent (primary) or accepted and prepared (backup)
 *   c/<n>       'c' message: the commit it sent for n (so n prepared there, in that view)
 *   x/<n>       JSON {"height"}: the chain height after it executed n (null requests make no block)
 *   k           JSON {"n","d","height"}: its last stable checkpoint and the chain height there
 * where <n> is the sequence number in 16 decimal digits. Records at or below the stable checkpoint
 * are deleted when it moves, so the log stays within the watermark window.
 *
 * Why sends wait, and what they wait for: a promise counts once another replica may have seen it,
 * so what an input makes a replica send leaves only once every record made before it is written.
 * `after(send)` runs `send` at once when nothing is waiting to be written, else when the write
 * holding the records is done, in call order. Records made while a write is in flight go in the
 * next one (group commit: one write per round trip of the disk, never one per message). A failed
 * write stops every later send: a replica that cannot keep its promises must not make more; it
 * says so once, at error level.
 *
 * Restore (`restore`): the view, the view change, the pre-prepares and commits above the stable
 * checkpoint, and the last sequence number executed: the stable checkpoint, then the highest x
 * record the ledger reaches, then each further ledger block matched to a pre-prepared batch by
 * digest (the store writes blocks behind the ledger, so either may be ahead after a crash). When
 * the ledger does not reach the stable checkpoint (a store discarded, or one that lost its tail
 * in a machine crash with --fsync never) the replica cannot tell what it executed: `certain` is
 * false and it must not act in its old view again (the replica starts a view change).
 */
import type { Logger } from '../../util/logger.js'
import { scheduleMacrotask } from '../../util/schedule.js'
import { LedgerStoreError, describeError } from '../../errors.js'
import { toHex } from '../../util/bytes.js'
import type { Ledger } from '../../ledger/ledger.js'
import type { ConsenterStore } from '../../ledger/consenter-store.js'
import { batchDigest } from './batch.js'
import { NULL_DIGEST, type PbftBatch } from './batch.js'
import { decodePbftMessage, encodePbftMessage, type CommitMsg, type NewViewMsg, type PrePrepareMsg, type ViewChangeMsg } from './messages.js'

/**
 * A pre-prepare this replica sent or prepared, with its batch. Backups keep the batch too, not
 * only the digest their promise needs: a byzantine primary may have shown the batch to no one else
 * (equivocation), and after a crash of every replica a digest nobody can resolve stalls the
 * sequence number for good (the simulation found this).
 */
export interface PrePrepared {
  v: number
  n: number
  /** The primary of view v. */
  primary: number
  d: string
  /** The batch; null for a null request. */
  b: PbftBatch | null
}

export interface RestoredPromises {
  /** The view to start in, and whether this replica was active in it (else `viewChange` is its view change for it). */
  view: number
  active: boolean
  viewChange: ViewChangeMsg | undefined
  /** The last new view it sent as a new primary (for `view` only when it was not installed yet). */
  newView: NewViewMsg | undefined
  /** Pre-prepares sent or prepared above `h`, any view. */
  prePrepares: PrePrepared[]
  /** Commits sent above `h`, any view. */
  commits: CommitMsg[]
  /** The stable checkpoint and its digest (the head hash there). */
  h: number
  hDigest: string
  /** The last sequence number executed, as far as the ledger shows. */
  lastExec: number
  /** Checkpoints (multiples of K) above h up to lastExec, with the head hash there: this replica's votes. */
  checkpoints: [n: number, d: string][]
  /** False when the ledger does not reach the stable checkpoint: what was executed is unknown. */
  certain: boolean
}

const VIEW = 'view'
const VIEW_CHANGE = 'vc'
const NEW_VIEW = 'nv'
const CHECKPOINT = 'k'
const seqKey = (prefix: string, n: number): string => `${prefix}/${String(n).padStart(16, '0')}`
const seqOf = (key: string): number => Number(key.slice(2, 18))
const encoder = new TextEncoder()
const decoder = new TextDecoder()
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

export class PromiseLog {
  readonly #store: ConsenterStore
  readonly #log: Logger
  /** Changes not yet handed to a write. */
  #queued = new Map<string, Uint8Array | undefined>()
  /** Sends waiting for the queued changes' write. */
  #waiting: (() => void)[] = []
  /** Sends waiting for the write in flight. */
  #inFlight: (() => void)[] = []
  #writing = false
  #failed = false
  #kickScheduled = false
  /** Keys held per sequence number (q, c, x), for deleting them when the checkpoint passes. */
  readonly #keys = new Map<number, Set<string>>()
  /** Chain height after each executed sequence number still in the window. */
  readonly #heights = new Map<number, number>()

  constructor(store: ConsenterStore, log: Logger) {
    this.#store = store
    this.#log = log
    for (const key of store.loaded().keys()) if (key.length === 18 && key[1] === '/') this.#index(seqOf(key), key)
  }

  /** What the store held at open, read against the ledger; undefined when it held nothing (a first start). */
  restore(ledger: Ledger, k: number): RestoredPromises | undefined {
    const records = this.#store.loaded()
    if (records.size === 0) return undefined
    let view = 0
    let viewChange: ViewChangeMsg | undefined
    let newView: NewViewMsg | undefined
    const prePrepares: PrePrepared[] = []
    const commits: CommitMsg[] = []
    const executed = new Map<number, number>()
    let checkpoint = { n: 0, d: toHex(ledger.blockHash(0)!), height: 1 }
    const read = (key: string, value: Uint8Array): void => {
      if (key === VIEW) {
        const msg = decodePbftMessage(value)
        if (msg.t === 'vs') view = msg.v
      } else if (key === VIEW_CHANGE) {
        const msg = decodePbftMessage(value)
        if (msg.t === 'vc') viewChange = msg
      } else if (key === NEW_VIEW) {
        const msg = decodePbftMessage(value)
        if (msg.t === 'nv') newView = msg
      } else if (key === CHECKPOINT) {
        const k = JSON.parse(decoder.decode(value)) as Partial<typeof checkpoint>
        if (!Number.isSafeInteger(k.n) || !Number.isSafeInteger(k.height) || typeof k.d !== 'string') throw new Error('not a checkpoint')
        checkpoint = k as typeof checkpoint
      } else if (key.startsWith('q/')) {
        const msg = decodePbftMessage(value)
        if (msg.t === 'pp') prePrepares.push({ v: msg.v, n: msg.n, primary: msg.r, d: msg.b === null ? NULL_DIGEST : batchDigest(msg.b), b: msg.b })
      } else if (key.startsWith('c/')) {
        const msg = decodePbftMessage(value)
        if (msg.t === 'c') commits.push(msg)
      } else if (key.startsWith('x/')) {
        const height = (JSON.parse(decoder.decode(value)) as { height: unknown }).height
        if (!Number.isSafeInteger(height)) throw new Error('no height')
        executed.set(seqOf(key), height as number)
      }
    }
    for (const [key, value] of records) {
      try {
        read(key, value)
      } catch (err) {
        throw new LedgerStoreError('ERR_LEDGER_CORRUPT', `the stored pbft record ${key} is unreadable (${describeError(err)}); discard the peer's ledger directory and restart it: it catches up from the others`, { cause: err })
      }
    }
    const active = viewChange === undefined || viewChange.v <= view
    if (!active) view = (viewChange as ViewChangeMsg).v
    const base = {
      view,
      active,
      viewChange: active ? undefined : viewChange,
      newView: active ? undefined : newView,
      prePrepares: prePrepares.filter((m) => m.n > checkpoint.n),
      commits: commits.filter((m) => m.n > checkpoint.n),
      h: checkpoint.n,
      hDigest: checkpoint.d,
    }
    const at = ledger.blockHash(checkpoint.height - 1)
    if (at === undefined || toHex(at) !== checkpoint.d) {
      // The ledger lost blocks behind the stable checkpoint: nothing tells what was executed.
      const lastExec = ledger.height() - 1
      const h = lastExec - (lastExec % k)
      return { ...base, h, hDigest: toHex(ledger.blockHash(h)!), lastExec, checkpoints: [], certain: false }
    }
    const heights = executedHeights(checkpoint, executed, base.prePrepares, ledger)
    let lastExec = checkpoint.n
    const checkpoints: [number, string][] = []
    for (const [n, height] of heights) {
      this.#heights.set(n, height)
      if (n > lastExec) lastExec = n
      if (n > checkpoint.n && n % k === 0) checkpoints.push([n, toHex(ledger.blockHash(height - 1)!)])
    }
    return { ...base, lastExec, checkpoints, certain: true }
  }

  // ---- records ----

  /** A first start: the replica begins at checkpoint h (digest d, chain height `height` there). */
  begin(h: number, d: string, height: number): void {
    this.#heights.set(h, height)
    this.#put(CHECKPOINT, json({ n: h, d, height }))
  }

  view(v: number, self: number): void {
    this.#put(VIEW, encodePbftMessage({ t: 'vs', v, r: self }))
  }

  viewChange(vc: ViewChangeMsg): void {
    this.#put(VIEW_CHANGE, encodePbftMessage(vc))
  }

  /** A pre-prepare sent (primary) or prepared (backup); `d` is its batch's digest, which the caller has. */
  /** The new view this replica sent as the new primary. */
  newView(nv: NewViewMsg): void {
    this.#put(NEW_VIEW, encodePbftMessage(nv))
  }

  prePrepared(msg: PrePrepareMsg, d: string): void {
    const key = `${seqKey('q', msg.n)}/${d}`
    this.#index(msg.n, key)
    this.#put(key, encodePbftMessage(msg))
  }

  committed(msg: CommitMsg): void {
    const key = seqKey('c', msg.n)
    this.#index(msg.n, key)
    this.#put(key, encodePbftMessage(msg))
  }

  /** `n` executed (or reached by state transfer), leaving the chain at `height`. */
  executed(n: number, height: number): void {
    const key = seqKey('x', n)
    this.#index(n, key)
    this.#heights.set(n, height)
    this.#put(key, json({ height }))
  }

  /** The stable checkpoint moved to n (digest d): its records and everything below go. */
  stable(n: number, d: string): void {
    const height = this.#heights.get(n)
    // Not executed here yet (a new view's checkpoint, reached by the transfer that follows): the
    // transfer's executed() and the next checkpoint record it; the old record stays true meanwhile.
    if (height === undefined) return
    this.#put(CHECKPOINT, json({ n, d, height }))
    for (const [seq, keys] of this.#keys) {
      if (seq > n) continue
      for (const key of keys) this.#put(key, undefined)
      this.#keys.delete(seq)
    }
    for (const seq of this.#heights.keys()) if (seq < n) this.#heights.delete(seq)
  }

  // ---- the gate ----

  /** The replica stopped: nothing more is written or sent (what was not written was never promised). */
  stop(): void {
    this.#failed = true
    this.#queued.clear()
    this.#waiting = []
    this.#inFlight = []
  }

  /** Whether nothing waits to be written: a send would leave at once. */
  get idle(): boolean {
    return !this.#writing && this.#queued.size === 0 && !this.#failed
  }

  /** Runs `send` once every record made so far is written; at once when none waits. */
  after(send: () => void): void {
    if (this.#failed) return
    if (this.#queued.size > 0) this.#waiting.push(send)
    else if (this.#writing) this.#inFlight.push(send)
    else send()
  }

  #put(key: string, value: Uint8Array | undefined): void {
    this.#queued.set(key, value)
    // The write starts on the next macrotask, not at once: every message the engine hands over
    // in this turn records into the same write. One write per input cost each validator a
    // LevelDB batch (and an fsync) per message, which the bench showed as a third of its CPU.
    if (!this.#kickScheduled) {
      this.#kickScheduled = true
      scheduleMacrotask(() => {
        this.#kickScheduled = false
        this.#kick()
      })
    }
  }

  #index(n: number, key: string): void {
    let keys = this.#keys.get(n)
    if (keys === undefined) this.#keys.set(n, (keys = new Set()))
    keys.add(key)
  }

  #kick(): void {
    if (this.#writing || this.#failed || this.#queued.size === 0) return
    const changes = this.#queued
    this.#queued = new Map()
    this.#inFlight = this.#waiting
    this.#waiting = []
    this.#writing = true
    this.#store.write(changes).then(
      () => {
        this.#writing = false
        const sends = this.#inFlight
        this.#inFlight = []
        for (const send of sends) send()
        this.#kick()
      },
      (err: unknown) => {
        this.#writing = false
        if (this.#failed) return
        this.#failed = true
        this.#inFlight = []
        this.#waiting = []
        this.#log.error('pbft could not write its promises; this replica sends nothing more (restart it once the store is writable)', { error: describeError(err) })
      },
    )
  }
}

/**
 * The sequence numbers executed, with the chain height after each: the checkpoint, the x records
 * the ledger reaches, then ledger blocks past those matched to pre-prepared batches (null requests
 * between them count as executed only when a later batch is).
 */
function executedHeights(checkpoint: { n: number; height: number }, executed: ReadonlyMap<number, number>, prePrepares: readonly PrePrepared[], ledger: Ledger): Map<number, number> {
  const heights = new Map<number, number>([[checkpoint.n, checkpoint.height]])
  let n = checkpoint.n
  let height = checkpoint.height
  // Not only consecutive records: a state transfer leaves one for its target alone.
  for (const [seq, after] of executed) {
    if (seq <= checkpoint.n || after > ledger.height()) continue
    heights.set(seq, after)
    if (seq > n) {
      n = seq
      height = after
    }
  }
  const bySeq = new Map<number, PrePrepared[]>()
  for (const msg of prePrepares) {
    const list = bySeq.get(msg.n)
    if (list === undefined) bySeq.set(msg.n, [msg])
    else list.push(msg)
  }
  let seq = n + 1
  while (height < ledger.height()) {
    const block = ledger.getBlock(height)
    const entries = bySeq.get(seq)
    if (block === undefined || entries === undefined) break
    // The batch digest is the block's body hash (batch.ts): the block proves which batch it executed.
    const d = batchDigest({ timestamp: block.timestamp, proposer: block.proposer, txs: [...block.transactions] })
    if (entries.some((m) => m.d === d)) {
      height++
      heights.set(seq, height)
    } else if (!entries.every((m) => m.d === NULL_DIGEST)) break
    seq++
  }
  return heights
}
