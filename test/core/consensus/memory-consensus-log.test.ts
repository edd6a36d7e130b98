import { describe, expect, it } from 'vitest'
import { createMemoryConsensusLog } from '../../../src/core/consensus/memory-consensus-log.js'

const bytes = (...xs: number[]) => Uint8Array.from(xs)

describe('memory consensus log', () => {
  it('is durable at once without a defer, and calls back in append order', () => {
    const log = createMemoryConsensusLog()
    const done: number[] = []
    log.append([bytes(1)], () => done.push(1))
    log.append([bytes(2), bytes(3)], () => done.push(2))
    expect(done).toEqual([1, 2])
    expect(log.afterCrash().loaded).toEqual([bytes(1), bytes(2), bytes(3)])
  })

  it('loses what was not flushed when it crashes, as a device losing its write cache', () => {
    const flushes: (() => void)[] = []
    const log = createMemoryConsensusLog({ defer: (flush) => flushes.push(flush) })
    const done: number[] = []
    log.append([bytes(1)], () => done.push(1))
    flushes.splice(0).forEach((f) => f())
    log.append([bytes(2)], () => done.push(2))
    const restarted = log.afterCrash()
    expect(done).toEqual([1])
    expect(restarted.loaded).toEqual([bytes(1)])
    expect(restarted.loadedLabel).toBe(0)
  })

  it('opens a segment with its snapshot on rotate and drops the segments below the mark', () => {
    const log = createMemoryConsensusLog()
    log.append([bytes(1)], () => {})
    log.rotate(10, [bytes(10)], 0)
    log.append([bytes(11)], () => {})
    log.rotate(20, [bytes(20)], 10)
    log.append([bytes(21)], () => {})
    expect(log.segments().map((s) => s.label)).toEqual([10, 20])
    const restarted = log.afterCrash()
    expect(restarted.loaded).toEqual([bytes(10), bytes(11), bytes(20), bytes(21)])
    expect(restarted.loadedLabel).toBe(20)
  })

  it('never calls back after close', async () => {
    const flushes: (() => void)[] = []
    const log = createMemoryConsensusLog({ defer: (flush) => flushes.push(flush) })
    await log.close()
    let called = false
    log.append([bytes(1)], () => (called = true))
    flushes.splice(0).forEach((f) => f())
    expect(called).toBe(false)
    expect(log.segments()).toEqual([])
  })
})
