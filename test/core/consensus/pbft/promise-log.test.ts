import { describe, expect, it } from 'vitest'
import { batchDigest, type PbftBatch } from '../../../../src/core/consensus/pbft/batch.js'
import type { CommitMsg, PrePrepareMsg, ViewChangeMsg } from '../../../../src/core/consensus/pbft/messages.js'
import { PromiseLog } from '../../../../src/core/consensus/pbft/promise-log.js'
import { createMemoryConsenterStore, type ConsenterStore, type ConsenterStoreChanges } from '../../../../src/core/ledger/consenter-store.js'
import { createMemoryLedger } from '../../../../src/core/ledger/memory-ledger.js'
import type { Ledger } from '../../../../src/core/ledger/ledger.js'
import { toHex } from '../../../../src/core/util/bytes.js'
import { silentLogger, type Logger } from '../../../../src/core/util/logger.js'

/** A store whose writes complete only when the test says so. */
function manualStore(initial: ReadonlyMap<string, Uint8Array> = new Map()) {
  const records = new Map(initial)
  const writes: { changes: ConsenterStoreChanges; done: () => void; fail: (err: Error) => void }[] = []
  const store: ConsenterStore = {
    loaded: () => initial,
    write: (changes) =>
      new Promise<void>((resolve, reject) => {
        writes.push({
          changes,
          done: () => {
            for (const [k, v] of changes) {
              if (v === undefined) records.delete(k)
              else records.set(k, v)
            }
            resolve()
          },
          fail: reject,
        })
      }),
  }
  return { store, writes, records }
}

/** Records a pre-prepare as the replica does. */
function prePrepared(log: PromiseLog, msg: PrePrepareMsg): void {
  log.prePrepared(msg, msg.b === null ? '' : batchDigest(msg.b))
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function batchOf(n: number, timestamp: number): PbftBatch {
  return { timestamp, proposer: 'vp0', txs: [{ txid: `t${n}-${timestamp}`, payload: `k${n}=${timestamp}`, timestamp, origin: 'vp0' }] }
}

/** Executes a batch on the ledger as the replica does. */
function execute(ledger: Ledger, n: number, batch: PbftBatch): void {
  const id = `pbft/${n}`
  ledger.beginTxBatch(id)
  ledger.execTxs(id, batch.txs)
  ledger.commitTxBatch(id, { timestamp: batch.timestamp, proposer: batch.proposer })
}

function errorsOf(): { log: Logger; errors: string[] } {
  const errors: string[] = []
  const log: Logger = { ...silentLogger, error: (msg: string) => errors.push(msg), child: () => log }
  return { log, errors }
}

describe('PromiseLog: nothing leaves before what it promises is written', () => {
  it('sends at once when nothing waits, and after the write holding earlier records otherwise, in call order', async () => {
    const { store, writes } = manualStore()
    const log = new PromiseLog(store, silentLogger)
    const sent: string[] = []
    log.after(() => sent.push('idle'))
    expect(sent).toEqual(['idle'])

    log.committed({ t: 'c', v: 0, n: 1, r: 1, d: 'aa' })
    log.after(() => sent.push('c1'))
    expect(sent).toEqual(['idle'])
    // The write starts on the next macrotask, so one input's records (and the next's) share it.
    expect(writes).toHaveLength(0)
    await flush()
    expect(writes).toHaveLength(1)

    // Recorded while the first write is in flight: grouped into the next write, not sent before it.
    log.committed({ t: 'c', v: 0, n: 2, r: 1, d: 'bb' })
    log.after(() => sent.push('c2'))
    log.committed({ t: 'c', v: 0, n: 3, r: 1, d: 'cc' })
    log.after(() => sent.push('c3'))
    writes[0]!.done()
    await flush()
    expect(sent).toEqual(['idle', 'c1'])
    expect(writes).toHaveLength(2)
    expect([...writes[1]!.changes.keys()].sort()).toEqual(['c/0000000000000002', 'c/0000000000000003'])
    writes[1]!.done()
    await flush()
    expect(sent).toEqual(['idle', 'c1', 'c2', 'c3'])
  })

  it('keeps a send that needs no record behind the sends already waiting', async () => {
    const { store, writes } = manualStore()
    const log = new PromiseLog(store, silentLogger)
    const sent: string[] = []
    log.view(1, 0)
    log.after(() => sent.push('after-record'))
    log.after(() => sent.push('no-record'))
    expect(sent).toEqual([])
    await flush()
    writes[0]!.done()
    await flush()
    expect(sent).toEqual(['after-record', 'no-record'])
  })

  it('sends nothing more after a failed write, and says so once', async () => {
    const { store, writes } = manualStore()
    const { log: logger, errors } = errorsOf()
    const log = new PromiseLog(store, logger)
    const sent: string[] = []
    log.committed({ t: 'c', v: 0, n: 1, r: 1, d: 'aa' })
    log.after(() => sent.push('c1'))
    await flush()
    writes[0]!.fail(new Error('disk full'))
    await flush()
    log.after(() => sent.push('later'))
    expect(sent).toEqual([])
    expect(errors).toHaveLength(1)
    expect(log.idle).toBe(false)
  })

  it('writes records that no send waits for (executions) on its own', async () => {
    const { store, writes } = manualStore()
    const log = new PromiseLog(store, silentLogger)
    log.executed(1, 2)
    await flush()
    expect(writes).toHaveLength(1)
    expect([...writes[0]!.changes.keys()]).toEqual(['x/0000000000000001'])
  })
})

describe('PromiseLog: restore', () => {
  async function recorded(fill: (log: PromiseLog, ledger: Ledger) => void): Promise<{ records: Map<string, Uint8Array>; ledger: Ledger }> {
    const store = createMemoryConsenterStore()
    const ledger = createMemoryLedger()
    const log = new PromiseLog(store, silentLogger)
    log.begin(0, toHex(ledger.blockHash(0)!), 1)
    fill(log, ledger)
    await flush()
    return { records: store.records, ledger }
  }

  it('finds nothing on a first start', () => {
    expect(new PromiseLog(createMemoryConsenterStore(), silentLogger).restore(createMemoryLedger(), 10)).toBeUndefined()
  })

  it('gives back the view, the pre-prepares and commits, and what the ledger shows executed', async () => {
    const b1 = batchOf(1, 10)
    const b2 = batchOf(2, 20)
    const { records, ledger } = await recorded((log, ledger) => {
      log.view(2, 1)
      prePrepared(log, { t: 'pp', v: 2, n: 1, r: 2, b: b1 })
      log.committed({ t: 'c', v: 2, n: 1, r: 1, d: batchDigest(b1) })
      execute(ledger, 1, b1)
      log.executed(1, ledger.height())
      prePrepared(log, { t: 'pp', v: 2, n: 2, r: 2, b: b2 })
    })
    const restored = new PromiseLog(createMemoryConsenterStore(records), silentLogger).restore(ledger, 10)!
    expect(restored).toMatchObject({ view: 2, active: true, lastExec: 1, h: 0, certain: true })
    expect(restored.prePrepares.map((m) => m.n).sort()).toEqual([1, 2])
    expect(restored.commits.map((m: CommitMsg) => [m.n, m.d])).toEqual([[1, batchDigest(b1)]])
  })

  it('matches ledger blocks past the last execution record to pre-prepared batches, null requests between them included', async () => {
    const b1 = batchOf(1, 10)
    const b3 = batchOf(3, 30)
    const other = batchOf(3, 31)
    const { records, ledger } = await recorded((log) => {
      prePrepared(log, { t: 'pp', v: 0, n: 1, r: 0, b: b1 })
      prePrepared(log, { t: 'pp', v: 0, n: 2, r: 0, b: null })
      prePrepared(log, { t: 'pp', v: 0, n: 3, r: 0, b: other })
      prePrepared(log, { t: 'pp', v: 1, n: 3, r: 1, b: b3 })
      prePrepared(log, { t: 'pp', v: 1, n: 4, r: 1, b: null })
    })
    // The blocks were written, their execution records were not (the crash came between).
    execute(ledger, 1, b1)
    execute(ledger, 3, b3)
    const restored = new PromiseLog(createMemoryConsenterStore(records), silentLogger).restore(ledger, 10)!
    // Sequence 4 (a trailing null request) is not counted: nothing after it shows it executed.
    expect(restored.lastExec).toBe(3)
    expect(restored.certain).toBe(true)
  })

  it('takes a state transfer\'s one record for its target, and gives back the checkpoints it passed with their head hashes', async () => {
    const { records, ledger } = await recorded((log, ledger) => {
      for (let n = 1; n <= 3; n++) {
        execute(ledger, n, batchOf(n, n))
        log.executed(n, ledger.height())
      }
      // A transfer from 3 to 12: blocks 4..12 applied, one record, for 12.
      for (let n = 4; n <= 12; n++) execute(ledger, n, batchOf(n, n))
      log.executed(12, ledger.height())
    })
    const restored = new PromiseLog(createMemoryConsenterStore(records), silentLogger).restore(ledger, 10)!
    expect(restored.lastExec).toBe(12)
    expect(restored.checkpoints).toEqual([])
    const { records: more, ledger: longer } = await recorded((log, ledger) => {
      for (let n = 1; n <= 11; n++) {
        execute(ledger, n, batchOf(n, n))
        log.executed(n, ledger.height())
      }
    })
    const again = new PromiseLog(createMemoryConsenterStore(more), silentLogger).restore(longer, 10)!
    expect(again.checkpoints).toEqual([[10, toHex(longer.blockHash(10)!)]])
  })

  it('does not count an execution record the ledger does not reach (its block was lost)', async () => {
    const b1 = batchOf(1, 10)
    const b2 = batchOf(2, 20)
    const { records } = await recorded((log, ledger) => {
      execute(ledger, 1, b1)
      log.executed(1, ledger.height())
      execute(ledger, 2, b2)
      log.executed(2, ledger.height())
    })
    const shorter = createMemoryLedger()
    execute(shorter, 1, b1)
    expect(new PromiseLog(createMemoryConsenterStore(records), silentLogger).restore(shorter, 10)!.lastExec).toBe(1)
  })

  it('is not certain when the ledger does not reach the stable checkpoint, and keeps the view change it was in', async () => {
    const vc: ViewChangeMsg = { t: 'vc', v: 3, r: 1, h: 0, C: [], P: [[1, 'aa'.repeat(32), 2]], Q: [[1, 'aa'.repeat(32), 2]] }
    const { records } = await recorded((log, ledger) => {
      for (let n = 1; n <= 10; n++) {
        execute(ledger, n, batchOf(n, n))
        log.executed(n, ledger.height())
      }
      log.view(2, 1)
      log.stable(10, 'ff'.repeat(32))
      log.viewChange(vc)
    })
    const restored = new PromiseLog(createMemoryConsenterStore(records), silentLogger).restore(createMemoryLedger(), 10)!
    expect(restored).toMatchObject({ view: 3, active: false, certain: false, lastExec: 0, h: 0 })
    expect(restored.viewChange).toEqual(vc)
  })

  it('refuses an unreadable record with ERR_LEDGER_CORRUPT, naming it', () => {
    const records = new Map([['view', new Uint8Array([0xc1])]])
    expect(() => new PromiseLog(createMemoryConsenterStore(records), silentLogger).restore(createMemoryLedger(), 10)).toThrow(
      expect.objectContaining({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringContaining('view') }),
    )
  })

  it('deletes what the stable checkpoint passes', async () => {
    const b1 = batchOf(1, 10)
    const b2 = batchOf(2, 20)
    const pp2: PrePrepareMsg = { t: 'pp', v: 0, n: 2, r: 0, b: b2 }
    const { records } = await recorded((log, ledger) => {
      prePrepared(log, { t: 'pp', v: 0, n: 1, r: 0, b: b1 })
      log.committed({ t: 'c', v: 0, n: 1, r: 1, d: batchDigest(b1) })
      execute(ledger, 1, b1)
      log.executed(1, ledger.height())
      prePrepared(log, pp2)
      log.stable(1, 'ab')
    })
    expect([...records.keys()].sort()).toEqual(['k', `q/0000000000000002/${batchDigest(b2)}`])
  })
})
