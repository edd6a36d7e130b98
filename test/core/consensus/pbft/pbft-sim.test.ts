import { describe, expect, it } from 'vitest'
import { SIM_LIVENESS_BOUND_MS, planFor, runPbftSim } from '../../../../src/sim/pbft-sim.js'

/** Seeds that found bugs (see the report in each case); kept as regression tests. */
const REGRESSIONS: Record<number, string> = {
  7: 'a state transfer started while executing the checkpoint block never finished (lastExec set too late)',
  14: 'null-request prepares and commits (empty digest) failed to decode, so view changes never completed',
  17: 'a replica alone in a later view never caught up (no commit following, no lag detection)',
  105: 'heads sent to a lagging replica moved its watermark off a multiple of K; view changes found no checkpoint',
  215: 'keeping only the latest view change per replica lost the 2f+1 quorum of an earlier view (deadlock)',
}

const SEEDS = Number(process.env.PBFT_SIM_SEEDS ?? 400)
const FIRST = Number(process.env.PBFT_SIM_FROM ?? 1)

describe('pbft deterministic simulation', () => {
  it.each(Object.entries(REGRESSIONS).map(([seed, bug]) => [Number(seed), bug] as const))('regression seed %i: %s', async (seed) => {
    const result = await runPbftSim({ seed })
    expect(result.violation).toBeUndefined()
  })

  it(`keeps every invariant and recovers within ${SIM_LIVENESS_BOUND_MS} ms on ${SEEDS} seeds from ${FIRST}`, async () => {
    console.log(`pbft sim: seeds ${FIRST}..${FIRST + SEEDS - 1} (replay one: npm run sim -- --seed S --trace)`)
    const failures: string[] = []
    let faulty = 0
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      const result = await runPbftSim({ seed })
      if (result.plan.byzantine !== null || result.plan.crash !== null || result.plan.partition !== null) faulty++
      if (!result.ok) failures.push(`seed ${seed}: ${result.violation}`)
    }
    expect(failures).toEqual([])
    // The seeds really exercise faults, not only the happy path.
    expect(faulty).toBeGreaterThan(SEEDS / 2)
  }, 60_000)

  it('tolerates f = 2 with seven replicas', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runPbftSim({ seed, n: 7 })
      expect(result.violation, `seed ${seed}`).toBeUndefined()
    }
  })

  it('replays a seed exactly', async () => {
    const a = await runPbftSim({ seed: 9, fullTrace: true })
    const b = await runPbftSim({ seed: 9, fullTrace: true })
    expect(a.trace.length).toBeGreaterThan(100)
    expect(b.trace).toEqual(a.trace)
    expect(b.events).toBe(a.events)
  })

  it('covers every fault kind across seeds', () => {
    const plans = Array.from({ length: 200 }, (_, i) => planFor(i + 1, 4, 20_000))
    const modes = new Set(plans.map((p) => p.byzantine?.mode).filter((m) => m !== undefined))
    expect([...modes].sort()).toEqual(['equivocate', 'silent', 'wrong-digest', 'wrong-id'])
    expect(plans.some((p) => p.crash !== null)).toBe(true)
    expect(plans.some((p) => p.partition !== null)).toBe(true)
    expect(plans.some((p) => p.dropP > 0 && p.duplicateP > 0 && p.reorderP > 0)).toBe(true)
  })
})
