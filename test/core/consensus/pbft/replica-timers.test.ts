import { describe, expect, it } from 'vitest'
import { ReplicaTimers } from '../../../../src/core/consensus/pbft/replica-timers.js'
import { ManualClock } from '../../../../src/core/util/clock.js'

describe('replica timers', () => {
  it('arms, fires, replaces and clears timers by name, each run through the given runner', () => {
    const clock = new ManualClock()
    const ran: string[] = []
    const timers = new ReplicaTimers(() => clock, (fn) => {
      ran.push('input')
      fn()
    })
    timers.start('batch', () => ran.push('batch'), 10)
    timers.start('request', () => ran.push('request'), 20)
    expect([timers.armed('batch'), timers.armed('request'), timers.armed('viewChange')]).toEqual([true, true, false])
    // Starting an armed timer replaces it: it fires once, at the new time.
    timers.start('batch', () => ran.push('batch again'), 30)
    clock.advance(25)
    expect(ran).toEqual(['input', 'request'])
    expect(timers.armed('request')).toBe(false)
    clock.advance(10)
    expect(ran).toEqual(['input', 'request', 'input', 'batch again'])
    timers.start('resend', () => ran.push('resend'), 5)
    timers.clear('resend')
    timers.clear('resend')
    clock.advance(10)
    expect(ran).toHaveLength(4)
    expect(clock.pending).toBe(0)
  })

  it('counts a timer as not armed while its work runs, so the work can arm it again', () => {
    const clock = new ManualClock()
    const timers = new ReplicaTimers(() => clock, (fn) => fn())
    let ticks = 0
    const tick = (): void => {
      expect(timers.armed('lagProbe')).toBe(false)
      if (++ticks < 3) timers.start('lagProbe', tick, 100)
    }
    timers.start('lagProbe', tick, 100)
    clock.advance(1000)
    expect(ticks).toBe(3)
  })

  it('clears every timer at stop, and starts none after', () => {
    const clock = new ManualClock()
    const timers = new ReplicaTimers(() => clock, (fn) => fn())
    let fired = 0
    for (const name of ['batch', 'request', 'viewChange', 'nullRequest', 'headProbe'] as const) timers.start(name, () => fired++, 10)
    timers.stop()
    timers.start('unsent', () => fired++, 10)
    clock.advance(100)
    expect(fired).toBe(0)
    expect(clock.pending).toBe(0)
    expect([timers.armed('batch'), timers.armed('unsent')]).toEqual([false, false])
  })
})
