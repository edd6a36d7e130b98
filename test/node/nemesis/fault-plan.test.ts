import { describe, expect, it } from 'vitest'
import { ALL_FAULT_KINDS, NEMESIS_KILL_DOWN_MS, NEMESIS_PAUSE_DOWN_MS, NEMESIS_QUORUM_PAUSE_MS, NEMESIS_WARMUP_MS, planFaults } from '../../../src/node/nemesis/fault-plan.js'

describe('nemesis fault plan', () => {
  it('depends on the seed alone, and differs between seeds', () => {
    const a = planFaults({ seed: 7, validators: 4, durationMs: 120_000 })
    expect(planFaults({ seed: 7, validators: 4, durationMs: 120_000 })).toEqual(a)
    expect(planFaults({ seed: 8, validators: 4, durationMs: 120_000 })).not.toEqual(a)
  })

  it('runs every kind once early, stays within the run, hits f+1 only with the brief quorum pause and all only with kill-all', () => {
    for (const seed of [1, 2, 3, 42, 1000]) {
      for (const validators of [4, 7]) {
        const f = Math.floor((validators - 1) / 3)
        const plan = planFaults({ seed, validators, durationMs: 60_000 })
        expect(new Set(plan.slice(0, 3).map((p) => p.kind))).toEqual(new Set(['kill', 'pause', 'pause-quorum']))
        expect(plan[0]!.atMs).toBe(NEMESIS_WARMUP_MS)
        let end = 0
        for (const fault of plan) {
          expect(fault.atMs).toBeGreaterThanOrEqual(end)
          end = fault.atMs + fault.downMs
          expect(end).toBeLessThanOrEqual(60_000)
          const range = fault.kind === 'kill' || fault.kind === 'kill-all' ? NEMESIS_KILL_DOWN_MS : fault.kind === 'pause' ? NEMESIS_PAUSE_DOWN_MS : NEMESIS_QUORUM_PAUSE_MS
          expect(fault.downMs).toBeGreaterThanOrEqual(range[0])
          expect(fault.downMs).toBeLessThanOrEqual(range[1])
          expect(fault.targets).toHaveLength(fault.kind === 'pause-quorum' ? f + 1 : fault.kind === 'kill-all' ? validators : 1)
          expect(new Set(fault.targets).size).toBe(fault.targets.length)
          for (const t of fault.targets) expect(t >= 0 && t < validators).toBe(true)
        }
      }
    }
  })

  it('plans kill-all only when asked for, then early and on every validator', () => {
    expect(planFaults({ seed: 1, validators: 4, durationMs: 60_000 }).some((f) => f.kind === 'kill-all')).toBe(false)
    const plan = planFaults({ seed: 1, validators: 4, durationMs: 60_000, kinds: ALL_FAULT_KINDS })
    expect(new Set(plan.slice(0, 4).map((p) => p.kind))).toEqual(new Set(ALL_FAULT_KINDS))
    for (const fault of plan.filter((f) => f.kind === 'kill-all')) expect(fault.targets).toEqual([0, 1, 2, 3])
  })

  it('plans nothing when the run is shorter than the warm-up', () => {
    expect(planFaults({ seed: 1, validators: 4, durationMs: 2000 })).toEqual([])
  })
})
