import { describe, expect, it } from 'vitest'
import { Checkpoints } from '../../../../src/core/consensus/pbft/checkpoints.js'
import { decodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/messages.js'
import { toHex } from '../../../../src/core/util/bytes.js'
import { partBench } from '../../../support/pbft-replica-parts.js'

const D = 'ab'.repeat(32)
const OTHER = 'cd'.repeat(32)
const ck = (n: number, r: number, d = D): PbftMessage & { t: 'ck' } => ({ t: 'ck', n, r, d })

/** Replica 1 with checkpoints alone, having executed up to `lastExec` (its own checkpoint at 10 being D). */
function setup(lastExec: number) {
  const bench = partBench(1)
  const checkpoints = new Checkpoints(bench.core)
  bench.core.checkpoints = checkpoints
  bench.core.lastExec = lastExec
  bench.core.seqNo = lastExec
  bench.core.ownCheckpoints.set(0, toHex(bench.core.stack.ledger.headHash()))
  if (lastExec >= 10) bench.core.ownCheckpoints.set(10, D)
  return { ...bench, checkpoints }
}

describe('pbft checkpoints', () => {
  it('moves the low watermark on 2f+1 matching checkpoints it reached, pruning the window and opening a log segment', () => {
    const { core, checkpoints, normal, consensusLog } = setup(12)
    core.cert(0, 9).digest = D
    core.cert(0, 11).digest = D
    core.pset.set(8, { d: D, v: 0 })
    checkpoints.onCheckpoint(ck(10, 0), 0)
    checkpoints.onCheckpoint(ck(10, 2), 2)
    expect(core.h).toBe(0)
    checkpoints.onCheckpoint(ck(10, 3), 3)
    expect(core.h).toBe(10)
    expect([...core.certs.keys()]).toEqual([11])
    expect(core.pset.size).toBe(0)
    expect(normal.forgetBelow).toHaveBeenCalledWith(10)
    expect(normal.tryCut).toHaveBeenCalled()
    // The new segment is labelled with the checkpoint and opens with it.
    const segment = consensusLog.segments().at(-1)!
    expect(segment.label).toBe(10)
    expect(segment.records.map((r) => decodePbftMessage(r))).toEqual([ck(10, 1)])
  })

  it('refuses a stable checkpoint that differs from its own state, and stays where it is', () => {
    const { core, checkpoints, logged, transfer } = setup(12)
    for (const r of [0, 2, 3]) checkpoints.onCheckpoint(ck(10, r, OTHER), r)
    expect(core.h).toBe(0)
    expect(logged).toContain("error a stable checkpoint differs from this replica's state")
    expect(transfer.start).not.toHaveBeenCalled()
  })

  it('transfers to a stable checkpoint it has not reached, from the replicas that vouched for it', () => {
    const { checkpoints, transfer } = setup(3)
    for (const r of [0, 2, 3]) checkpoints.onCheckpoint(ck(10, r), r)
    expect(transfer.start).toHaveBeenCalledWith({ n: 10, d: D }, [0, 2, 3])
  })

  it('looks again after batchTimeoutMs before transferring to f+1 matching checkpoints, and not at all once it got there', () => {
    const behind = setup(3)
    behind.checkpoints.onCheckpoint(ck(10, 0), 0)
    behind.checkpoints.onCheckpoint(ck(10, 2), 2)
    expect(behind.transfer.start).not.toHaveBeenCalled()
    behind.clock.advance(behind.core.cfg.batchTimeoutMs)
    expect(behind.transfer.start).toHaveBeenCalledWith({ n: 10, d: D }, [0, 2])

    const slow = setup(3)
    slow.checkpoints.onCheckpoint(ck(10, 0), 0)
    slow.checkpoints.onCheckpoint(ck(10, 2), 2)
    slow.core.lastExec = 10
    slow.clock.advance(slow.core.cfg.batchTimeoutMs)
    expect(slow.transfer.start).not.toHaveBeenCalled()
  })

  it('transfers on f+1 matching checkpoints above its window', () => {
    const { core, checkpoints, transfer } = setup(3)
    const far = core.L + 10
    checkpoints.onCheckpoint(ck(far, 0), 0)
    expect(transfer.start).not.toHaveBeenCalled()
    checkpoints.onCheckpoint(ck(far, 2), 2)
    expect(transfer.start).toHaveBeenCalledWith({ n: far, d: D }, [0, 2])
  })

  it('answers a checkpoint below its own with its checkpoint and head, at most once per resend period', () => {
    const { core, checkpoints, sent, clock } = setup(12)
    core.h = 10
    checkpoints.onCheckpoint(ck(0, 3), 3)
    const head = toHex(core.stack.ledger.headHash())
    // Its last checkpoint (10, above the asker's 0) and its head (12), to transfer from.
    expect(sent).toEqual([
      { to: 'vp3', msg: ck(10, 1) },
      { to: 'vp3', msg: ck(12, 1, head) },
    ])
    checkpoints.onCheckpoint(ck(0, 3), 3)
    expect(sent).toHaveLength(2)
    clock.advance(core.cfg.resendViewChangeMs)
    checkpoints.onCheckpoint(ck(0, 3), 3)
    expect(sent).toHaveLength(4)
  })
})
