/**
 * A replica's promises, as its consensus log (../consensus-log.ts) keeps them, and what a restart
 * rebuilds from them. A record is one encoded PBFT message (messages.ts), so the bytes a replica
 * sends are the bytes it logs:
 *
 * - what it sent that binds it: pre-prepares (as primary), prepares, commits, view changes and new
 *   views (`isPromise`), logged before they leave (outbound.ts);
 * - pre-prepares it accepted from the primary, logged with its prepare: the batch must outlive a
 *   crash of every replica, or a batch that prepared could be re-proposed by digest and fetched
 *   from no one;
 * - new views it installed;
 * - what it executed: a `ck` per sequence number, with the head hash after it. Null requests make
 *   no block, so block numbers say nothing of sequence numbers; these records are how a restart
 *   finds the sequence number its stored chain ends at (the highest one whose hash is a block's).
 *   A checkpoint vote is never a promise when sent: it only states the chain.
 *
 * A restarted replica is then in the highest view any record names, active in it when it installed
 * (or, as primary, sent) that view's new view or voted in it, and otherwise still in the view
 * change it logged. Its votes of that view rebuild its certificates; votes of earlier views rebuild
 * the P and Q sets its next view change must carry, as do the sets of the view changes it sent.
 * The caller drops what its stable checkpoint covers.
 */
import { NULL_DIGEST, batchDigest, type PbftBatch } from './batch.js'
import { decodePbftMessage, type NewViewMsg, type PbftMessage, type PrePrepareMsg, type ViewChangeMsg } from './messages.js'
import { addPrePrepared, addPrepared, type PrePreparedSet, type PreparedSet } from './view-change.js'

/** Whether a message this replica sends binds it (is logged before it leaves). */
export function isPromise(msg: PbftMessage): boolean {
  return msg.t === 'pp' || msg.t === 'p' || msg.t === 'c' || msg.t === 'vc' || msg.t === 'nv'
}

/** One sequence number of the restored view: the batch it was pre-prepared with, and this replica's votes. */
export interface RestoredCert {
  digest: string
  /** undefined when the record naming the digest came without its batch (a new view's assignment). */
  batch: PbftBatch | null | undefined
  /** Whether this replica sent its prepare (a backup) or the pre-prepare (the primary). */
  prepared: boolean
  /** Whether this replica sent its commit. */
  committed: boolean
}

export interface RestoredPromises {
  view: number
  /** False when the replica was in a view change for `view` (no new view installed yet). */
  active: boolean
  /** Head hash after each sequence number executed (ck records). */
  executed: Map<number, string>
  /** The latest view change this replica sent. */
  viewChange: ViewChangeMsg | undefined
  /** The one it sent for an earlier view before that. */
  previousViewChange: ViewChangeMsg | undefined
  /** The new view of `view`, when installed or sent. */
  newView: NewViewMsg | undefined
  /** Certificates of `view`, by sequence number. */
  certs: Map<number, RestoredCert>
  /** Prepared in earlier views: n -> the latest (digest, view). */
  pset: Map<number, { d: string; v: number }>
  /** Pre-prepared in earlier views: "n:d" -> the latest view. */
  qset: Map<string, { n: number; d: string; v: number }>
  /** Batches by digest, from every pre-prepare logged. */
  batches: Map<string, PbftBatch>
  /** The highest sequence number this replica pre-prepared or voted on in `view`. */
  seqNo: number
  /** Records that did not decode (a log written by another version, or damaged past its checks). */
  undecodable: number
}

/** Rebuilds a replica's promises from its log. `self` is its replica index, `primary` maps a view to its primary. */
export function restorePromises(records: readonly Uint8Array[], self: number, primary: (view: number) => number): RestoredPromises {
  const msgs: PbftMessage[] = []
  let undecodable = 0
  for (const record of records) {
    try {
      msgs.push(decodePbftMessage(record))
    } catch {
      undecodable++
    }
  }
  let view = 0
  const executed = new Map<number, string>()
  let viewChange: ViewChangeMsg | undefined
  let previousViewChange: ViewChangeMsg | undefined
  const newViews = new Map<number, NewViewMsg>()
  const batches = new Map<string, PbftBatch>()
  const voted = new Set<number>()
  for (const msg of msgs) {
    switch (msg.t) {
      case 'ck':
        executed.set(msg.n, msg.d)
        break
      case 'vc':
        if (msg.r !== self) break
        if (viewChange === undefined || msg.v >= viewChange.v) {
          if (viewChange !== undefined && viewChange.v < msg.v) previousViewChange = viewChange
          viewChange = msg
        } else if (previousViewChange === undefined || msg.v >= previousViewChange.v) previousViewChange = msg
        view = Math.max(view, msg.v)
        break
      case 'nv':
        newViews.set(msg.v, msg)
        view = Math.max(view, msg.v)
        break
      case 'pp':
        if (msg.r !== primary(msg.v)) break
        if (msg.b !== null) batches.set(batchDigest(msg.b), msg.b)
        voted.add(msg.v)
        view = Math.max(view, msg.v)
        break
      case 'p':
      case 'c':
        if (msg.r !== self) break
        voted.add(msg.v)
        view = Math.max(view, msg.v)
        break
      default:
        break
    }
  }
  const newView = newViews.get(view)
  const active = view === 0 || newView !== undefined || voted.has(view)
  const certs = new Map<number, RestoredCert>()
  const pset: PreparedSet = new Map()
  const qset: PrePreparedSet = new Map()
  const certOf = (n: number, d: string): RestoredCert => {
    let cert = certs.get(n)
    if (cert === undefined) certs.set(n, (cert = { digest: d, batch: d === NULL_DIGEST ? null : batches.get(d), prepared: false, committed: false }))
    return cert
  }
  let seqNo = 0
  if (active && newView !== undefined) {
    for (const [n, d] of newView.X) {
      certOf(n, d)
      seqNo = Math.max(seqNo, n)
    }
  }
  if (viewChange !== undefined) {
    for (const [n, d, v] of viewChange.P) addPrepared(pset, n, d, v)
    for (const [n, d, v] of viewChange.Q) addPrePrepared(qset, n, d, v)
  }
  for (const msg of msgs) {
    if (msg.t !== 'pp' && msg.t !== 'p' && msg.t !== 'c') continue
    if (msg.t !== 'pp' && msg.r !== self) continue
    if (msg.t === 'pp' && msg.r !== primary(msg.v)) continue
    const d = msg.t === 'pp' ? ppDigest(msg) : msg.d
    if (msg.v === view && active) {
      const cert = certOf(msg.n, d)
      // A second digest for one (view, n) would be a contradiction this replica never made: the
      // first one logged is the one it is bound by.
      if (cert.digest !== d) continue
      if (msg.t === 'pp') cert.batch = msg.b
      // The primary's pre-prepare is its vote; a backup's is its prepare; a commit implies both.
      if (msg.t !== 'pp' || msg.r === self) cert.prepared = true
      if (msg.t === 'c') cert.committed = true
      seqNo = Math.max(seqNo, msg.n)
    } else if (msg.v < view || !active) {
      addPrePrepared(qset, msg.n, d, msg.v)
      if (msg.t === 'c') addPrepared(pset, msg.n, d, msg.v)
    }
  }
  return {
    view,
    active,
    executed,
    viewChange,
    previousViewChange,
    newView: active ? newView : undefined,
    certs,
    pset,
    qset,
    batches,
    seqNo,
    undecodable,
  }
}

function ppDigest(msg: PrePrepareMsg): string {
  return msg.b === null ? NULL_DIGEST : batchDigest(msg.b)
}
