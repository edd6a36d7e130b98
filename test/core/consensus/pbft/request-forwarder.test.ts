import { describe, expect, it } from 'vitest'
import type { Stack } from '../../../../src/core/consensus/consenter.js'
import { decodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/messages.js'
import { PbftOutbound } from '../../../../src/core/consensus/pbft/outbound.js'
import { ReplicaTimers } from '../../../../src/core/consensus/pbft/replica-timers.js'
import { RequestForwarder } from '../../../../src/core/consensus/pbft/request-forwarder.js'
import { ManualClock } from '../../../../src/core/util/clock.js'
import { silentLogger } from '../../../../src/core/util/logger.js'
import type { Envelope } from '../../../../src/core/wire/envelope.js'
import type { Transaction } from '../../../../src/core/wire/payload-types.js'

const VALIDATORS = ['vp0', 'vp1', 'vp2', 'vp3']
const tx = (i: number): Transaction => ({ txid: `t${i}`, payload: `k${i}=v`, timestamp: i, origin: 'vp1' })

/** Replica 1's forwarder over a recording stack; `linked` says which peers a unicast reaches. */
function setup(batchSize = 3): {
  forwarder: RequestForwarder
  clock: ManualClock
  sent: { to: string; txids: string[] }[]
  linked: Set<string>
  view: { primary: number | undefined }
  waiting: Set<string>
} {
  const clock = new ManualClock()
  const sent: { to: string; txids: string[] }[] = []
  const linked = new Set(VALIDATORS)
  const record = (to: string, envelope: Envelope): void => {
    const msg = decodePbftMessage(envelope.payload) as Extract<PbftMessage, { t: 'req' }>
    sent.push({ to, txids: msg.x.map((t) => t.txid) })
  }
  const stack = {
    clock,
    broadcast: (envelope: Envelope) => (record('all', envelope), 3),
    unicast: (envelope: Envelope, peerId: string) => {
      if (!linked.has(peerId)) throw new Error('no link')
      record(peerId, envelope)
    },
  } as unknown as Stack
  const outbound = new PbftOutbound(stack, VALIDATORS, silentLogger)
  const timers = new ReplicaTimers(() => clock, (fn) => outbound.input(fn))
  const view = { primary: 0 as number | undefined }
  const waiting = new Set<string>()
  const forwarder = new RequestForwarder({
    outbound,
    timers,
    log: silentLogger,
    validators: VALIDATORS,
    self: 1,
    batchSize,
    forwardRetryMs: 100,
    primary: () => view.primary,
    waitsFor: (txid) => waiting.has(txid),
  })
  return { forwarder, clock, sent, linked, view, waiting }
}

describe('pbft request forwarder', () => {
  it('sends the requests of one tick to the primary in one message, or as soon as a batch waits', () => {
    const { forwarder, clock, sent } = setup(3)
    forwarder.add(tx(1))
    forwarder.add(tx(2))
    expect(sent).toEqual([])
    clock.advance(0)
    expect(sent).toEqual([{ to: 'vp0', txids: ['t1', 't2'] }])
    for (let i = 3; i <= 5; i++) forwarder.add(tx(i))
    expect(sent[1]).toEqual({ to: 'vp0', txids: ['t3', 't4', 't5'] })
    clock.advance(0)
    expect(sent).toHaveLength(2)
  })

  it('sends to every replica while no view is active, and nothing when this replica is the primary', () => {
    const { forwarder, sent, view } = setup()
    view.primary = undefined
    forwarder.sendAll([tx(1), tx(2), tx(3), tx(4)])
    expect(sent).toEqual([{ to: 'all', txids: ['t1', 't2', 't3'] }, { to: 'all', txids: ['t4'] }])
    view.primary = 1
    forwarder.send([tx(5)])
    expect(sent).toHaveLength(2)
  })

  it('keeps what found no link to the primary and retries it every forwardRetryMs while the replica waits for it', () => {
    const { forwarder, clock, sent, linked, view, waiting } = setup()
    linked.delete('vp0')
    for (const i of [1, 2, 3]) waiting.add(`t${i}`)
    forwarder.send([tx(1), tx(2), tx(3)])
    expect(forwarder.unsent).toBe(3)
    clock.advance(100)
    // Still no link: kept again.
    expect(sent).toEqual([])
    expect(forwarder.unsent).toBe(3)
    // t2 executed meanwhile; the primary is vp2 now.
    waiting.delete('t2')
    view.primary = 2
    clock.advance(100)
    expect(sent).toEqual([{ to: 'vp2', txids: ['t1', 't3'] }])
    expect(forwarder.unsent).toBe(0)
  })
})
