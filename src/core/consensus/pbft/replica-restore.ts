/**
 * A replica's start after a restart: where its stored chain ends in sequence numbers, and the
 * promises its consensus log holds (promises.ts reads them), taken back before it sends anything.
 *
 * Null requests make no block, so block numbers cannot say which sequence number the chain ends
 * at: the log's records of what was executed, each with the head hash after it, place it. The
 * votes above the checkpoint are sent again, executed or not: replicas that restarted with this
 * one rebuild their quorums from them, the others ignore the duplicates.
 *
 *   startFromLedger(core)
 *   if (log.loaded.length > 0) restoreFromLog(core, log.loaded, log.loadedLabel)
 */
import { toHex } from '../../util/bytes.js'
import type { PbftMessage } from './messages.js'
import { restorePromises } from './promises.js'
import type { ReplicaCore } from './replica-core.js'

/**
 * Blocks below the head a restart looks through for the head hashes its consensus log recorded
 * (default 1,024): the log keeps about a window (L sequence numbers) of them, and a stored chain
 * loses at most its unwritten tail.
 */
export const PBFT_RESTORE_SCAN_BLOCKS = 1024

/**
 * Starts from the ledger alone: one sequence number per stored block (no null request among
 * them), the low watermark the multiple of K at or below it. If that is wrong, the checkpoints of
 * the others move this replica by state transfer, which is anchored on hashes.
 */
export function startFromLedger(core: ReplicaCore): void {
  const { ledger } = core.stack
  core.lastExec = ledger.height() - 1
  core.h = core.lastExec - (core.lastExec % core.cfg.k)
  core.seqNo = core.lastExec
  core.ownCheckpoints.set(core.h, toHex(ledger.blockHash(core.h)!))
}

/**
 * Finds the sequence number the stored chain ends at: the highest one logged as executed whose
 * head hash is one of the top blocks' (a lost ledger tail moves it back), plus one per block
 * stored after it. The low watermark is the last stable checkpoint (the log's newest segment is
 * labelled with it), or the highest multiple of K below it on this chain when the ledger lost
 * it: never a checkpoint of this replica alone, whose votes above it others may still need.
 * Without a match (a log from before this ledger) it stays one sequence number per block.
 */
function placeOnLedger(core: ReplicaCore, executed: ReadonlyMap<number, string>, stable: number): void {
  const { ledger } = core.stack
  const top = ledger.height() - 1
  const blockOf = new Map<string, number>()
  for (let b = top; b >= 0 && top - b <= PBFT_RESTORE_SCAN_BLOCKS; b--) blockOf.set(toHex(ledger.blockHash(b)!), b)
  // Sequence number 0 is genesis, executed by no one.
  const seqs = [...executed, [0, toHex(ledger.blockHash(0)!)] as const].sort((a, b) => b[0] - a[0])
  const match = seqs.find(([, d]) => blockOf.has(d))
  if (match === undefined) return
  core.lastExec = match[0] + (top - blockOf.get(match[1])!)
  core.seqNo = Math.max(core.seqNo, core.lastExec)
  const checkpoint = seqs.find(([n, d]) => n % core.cfg.k === 0 && n <= Math.min(stable, core.lastExec) && blockOf.has(d))
  if (checkpoint === undefined) return
  core.ownCheckpoints.clear()
  core.h = checkpoint[0]
  // The checkpoints executed above it go in this replica's view changes, as they would have
  // without the restart: replicas whose stable checkpoints differ agree on a new view through them.
  for (const [n, d] of seqs) {
    if (n % core.cfg.k === 0 && n >= core.h && n <= core.lastExec && blockOf.has(d)) core.ownCheckpoints.set(n, d)
  }
}

/** Takes back the promises a consensus log holds, and sends its votes above the checkpoint again. */
export function restoreFromLog(core: ReplicaCore, records: readonly Uint8Array[], stable: number): void {
  const r = restorePromises(records, core.self, (v) => core.primary(v))
  if (r.undecodable > 0) core.log.warn('pbft consensus log: records that do not decode were skipped', { skipped: r.undecodable })
  placeOnLedger(core, r.executed, stable)
  // Votes above the checkpoint are kept, executed ones included: until a stable checkpoint covers
  // them, a view change must carry them in P and Q, or the next view could fill them with others.
  core.view = r.view
  core.active = r.active
  for (const [d, batch] of r.batches) core.batches.set(d, batch)
  for (const [n, e] of r.pset) if (n > core.h) core.pset.set(n, e)
  for (const [key, e] of r.qset) if (e.n > core.h) core.qset.set(key, e)
  core.views.restore(r)
  const primary = core.isPrimary()
  const repeat: PbftMessage[] = []
  for (const [n, c] of [...r.certs].sort((a, b) => a[0] - b[0])) {
    if (!core.inWindow(n)) continue
    const cert = core.cert(core.view, n)
    cert.digest = c.digest
    // null is a null request's batch, not a missing one.
    cert.batch = c.batch !== undefined ? c.batch : core.batches.get(c.digest)
    // Votes are sent again executed or not: replicas that lost their tail may need them to
    // commit what this one executed. A batch goes again only while it is not executed.
    const open = n > core.lastExec
    if (cert.batch === undefined && open) core.fetchBatch(c.digest)
    if (c.prepared && primary && cert.batch !== undefined && open) repeat.push({ t: 'pp', v: core.view, n, r: core.self, b: cert.batch })
    if (c.prepared && !primary) {
      cert.prepares.set(core.self, c.digest)
      repeat.push({ t: 'p', v: core.view, n, r: core.self, d: c.digest })
    }
    if (c.committed) {
      cert.prepared = true
      cert.sentCommit = true
      cert.commits.set(core.self, c.digest)
      repeat.push({ t: 'c', v: core.view, n, r: core.self, d: c.digest })
    }
    if (n > core.seqNo) core.seqNo = n
  }
  if (r.seqNo > core.seqNo) core.seqNo = r.seqNo
  core.log.info('pbft promises restored from the consensus log', { view: core.view, active: core.active, h: core.h, lastExec: core.lastExec, votes: core.certs.size })
  for (const msg of repeat) core.outbound.broadcast(msg)
  core.views.resumeAfterRestore()
}
