import { describe, expect, it } from 'vitest'
import { BoundedQueue } from '../../../src/core/engine/bounded-queue.js'
import { QueueFullError } from '../../../src/core/errors.js'
import { LocalTransactions, MAX_TRANSACTION_PAYLOAD_BYTES } from '../../../src/core/peer/local-transactions.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload } from '../../../src/core/wire/payloads.js'
import type { Transaction } from '../../../src/core/wire/payload-types.js'
import { recordingLogger, type LogRecord } from '../../support/fake-network.js'

function localOver(options: { maxMessages?: number; pending?: readonly Transaction[] } = {}) {
  const logs: LogRecord[] = []
  const queue = new BoundedQueue({ name: 'vp0', maxMessages: options.maxMessages ?? 10, maxBytes: 1 << 20 })
  const pending = options.pending
  const local = new LocalTransactions({
    origin: 'vp0',
    clock: new ManualClock(1000),
    log: recordingLogger(logs),
    pending: pending === undefined ? undefined : { add: () => Promise.resolve(), pending: () => pending, storedHeight: () => 1 },
  })
  local.open(queue)
  return { logs, queue, local }
}

const tx = (txid: string): Transaction => ({ txid, payload: `${txid}=1`, timestamp: 1, origin: 'vp0' })

describe('local transactions', () => {
  it('queues an accepted payload as this peer\'s CHAIN_TRANSACTION, pending until the consenter takes it', () => {
    const { queue, local } = localOver()
    const accepted = local.accept('color=blue')
    expect(accepted).toMatchObject({ payload: 'color=blue', timestamp: 1000, origin: 'vp0' })
    expect(local.has(accepted.txid)).toBe(true)
    const queued = queue.shift()!
    expect(queued.sender).toBe('vp0')
    expect(queued.envelope.type).toBe(MessageType.CHAIN_TRANSACTION)
    expect(decodePayload(MessageType.CHAIN_TRANSACTION, queued.envelope.payload)).toEqual(accepted)
    local.taken(queued.envelope)
    expect(local.has(accepted.txid)).toBe(false)
  })

  it('refuses a payload that is not a string, or is over MAX_TRANSACTION_PAYLOAD_BYTES in UTF-8, queueing nothing', () => {
    const { queue, local } = localOver()
    expect(() => local.accept(42 as unknown as string)).toThrow(TypeError)
    // Two bytes a character in UTF-8: within the limit in characters, over it in bytes.
    const tooLarge = 'é'.repeat(MAX_TRANSACTION_PAYLOAD_BYTES / 2 + 1)
    expect(() => local.accept(tooLarge)).toThrow(expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' }))
    expect(() => local.accept('x'.repeat(MAX_TRANSACTION_PAYLOAD_BYTES))).not.toThrow()
    expect(queue.length).toBe(1)
  })

  it('throws QueueFullError when the local queue is full', () => {
    const { local } = localOver({ maxMessages: 1 })
    local.accept('a=1')
    expect(() => local.accept('b=1')).toThrow(QueueFullError)
  })

  it('resubmits what a previous run acknowledged, as far as the queue takes it, and says so', () => {
    const { logs, queue, local } = localOver({ maxMessages: 2, pending: [tx('t1'), tx('t2'), tx('t3')] })
    local.resubmitPending()
    expect(queue.length).toBe(2)
    expect(['t1', 't2', 't3'].map((txid) => local.has(txid))).toEqual([true, true, false])
    expect(logs.filter((r) => r.level !== 'debug').map((r) => [r.level, r.msg, r.fields.txid ?? r.fields.count])).toEqual([
      ['warn', 'pending transaction not resubmitted; the local queue is full', 't3'],
      ['info', 'resubmitted transactions acknowledged before the last stop', 2],
    ])
  })
})
