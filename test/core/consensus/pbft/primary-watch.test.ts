import { describe, expect, it, vi } from 'vitest'
import { PrimaryWatch } from '../../../../src/core/consensus/pbft/primary-watch.js'
import type { Transaction } from '../../../../src/core/wire/payload-types.js'
import { partBench } from '../../../support/pbft-replica-parts.js'

const tx = (i: number): Transaction => ({ txid: `t${i}`, payload: `k${i}=v`, timestamp: i, origin: 'vp1' })

/** Backup 1 (the primary is 0) watching, with `waiting` requests outstanding. */
function setup(self: number, waiting: number, options = {}) {
  const bench = partBench(self, options)
  for (let i = 0; i < waiting; i++) bench.core.outstanding.set(tx(i).txid, tx(i))
  const sendNullRequest = vi.fn()
  const watch = new PrimaryWatch(bench.core, sendNullRequest)
  return { ...bench, watch, sendNullRequest }
}

describe('pbft primary watch: the request timer', () => {
  it('re-sends the oldest request to every replica after one period, and starts a view change after another with nothing executed', () => {
    const { watch, clock, core, sent, views } = setup(1, 2)
    watch.armRequestTimer()
    clock.advance(core.cfg.requestTimeoutMs - 1)
    expect(sent).toEqual([])
    clock.advance(1)
    expect(sent).toEqual([{ to: 'all', msg: { t: 'req', x: [tx(0), tx(1)] } }])
    expect(views.sendViewChange).not.toHaveBeenCalled()
    clock.advance(core.cfg.requestTimeoutMs)
    expect(views.sendViewChange).toHaveBeenCalledTimes(1)
  })

  it('sends the request to the primary again instead when the chain moved meanwhile', () => {
    const { watch, clock, core, sent, views } = setup(1, 1)
    watch.armRequestTimer()
    clock.advance(core.cfg.requestTimeoutMs)
    expect(sent.map((s) => s.to)).toEqual(['all'])
    watch.progressed()
    clock.advance(core.cfg.requestTimeoutMs)
    expect(views.sendViewChange).not.toHaveBeenCalled()
    expect(sent.at(-1)).toEqual({ to: 'vp0', msg: { t: 'req', x: [tx(0)] } })
  })

  it('watches the next request from scratch once the oldest executed', () => {
    const { watch, clock, core, sent, views } = setup(1, 2)
    watch.armRequestTimer()
    clock.advance(core.cfg.requestTimeoutMs)
    expect(sent).toHaveLength(1)
    core.outstanding.delete('t0')
    // A new oldest request: watched from this tick, not re-sent yet.
    clock.advance(core.cfg.requestTimeoutMs)
    expect(sent).toHaveLength(1)
    clock.advance(core.cfg.requestTimeoutMs)
    expect(sent.at(-1)).toEqual({ to: 'all', msg: { t: 'req', x: [tx(1)] } })
    expect(views.sendViewChange).not.toHaveBeenCalled()
  })

  it('runs neither timer once a view change started', () => {
    const { watch, clock, core, sent, views } = setup(1, 1, { nullRequestMs: 500 })
    watch.armRequestTimer()
    watch.armNullTimer()
    watch.stopForViewChange()
    clock.advance(10 * core.cfg.requestTimeoutMs)
    expect(sent).toEqual([])
    expect(views.sendViewChange).not.toHaveBeenCalled()
  })
})

describe('pbft primary watch: the null-request timer', () => {
  it('makes an idle primary send a null request every nullRequestMs', () => {
    const { watch, clock, sendNullRequest } = setup(0, 0, { nullRequestMs: 500 })
    watch.sawPrePrepare()
    watch.armNullTimer()
    clock.advance(499)
    expect(sendNullRequest).not.toHaveBeenCalled()
    clock.advance(1)
    expect(sendNullRequest).toHaveBeenCalledTimes(1)
    clock.advance(500)
    expect(sendNullRequest).toHaveBeenCalledTimes(2)
  })

  it('makes a backup that hears no pre-prepare for nullRequestMs + requestTimeoutMs start a view change; each pre-prepare puts it off', () => {
    const { watch, clock, core, views } = setup(1, 0, { nullRequestMs: 500 })
    const period = 500 + core.cfg.requestTimeoutMs
    watch.sawPrePrepare()
    watch.armNullTimer()
    clock.advance(period - 100)
    watch.sawPrePrepare()
    clock.advance(period - 1)
    expect(views.sendViewChange).not.toHaveBeenCalled()
    clock.advance(1)
    expect(views.sendViewChange).toHaveBeenCalledTimes(1)
  })

  it('is off when nullRequestMs is 0', () => {
    const { watch, clock, sendNullRequest, views } = setup(0, 0)
    watch.armNullTimer()
    clock.advance(60_000)
    expect(sendNullRequest).not.toHaveBeenCalled()
    expect(views.sendViewChange).not.toHaveBeenCalled()
  })
})
