/**
 * The deterministic simulation with PBFT null requests on (the seed sweep without them is in
 * test/core/consensus/pbft/pbft-sim.test.ts): a crashed primary with no traffic is replaced within
 * the stated bound, and every invariant holds across seeds with null requests in their plans.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_PBFT_REQUEST_TIMEOUT_MS } from '../../src/core/consensus/pbft/config.js'
import { SIM_NULL_REQUEST_MS, planFor, runPbftSim, type FaultPlan } from '../../src/sim/pbft-sim.js'

const calm: Partial<FaultPlan> = { dropP: 0, duplicateP: 0, reorderP: 0, spikeP: 0, byzantine: null, partition: null }
/** Message latency is 1-3 virtual ms; a view change is three hops (view change, new view, install). */
const SLACK_MS = 20

describe('pbft simulation with null requests', () => {
  it('replaces a crashed primary with no client traffic within nullRequestMs + requestTimeoutMs', async () => {
    for (const nullRequestMs of [200, 500, 1700]) {
      const crash = { replica: 0, at: 5000, restartAt: 60_000 }
      const result = await runPbftSim({ seed: nullRequestMs, txs: 0, plan: { ...calm, crash, nullRequestMs } })
      expect(result.violation).toBeUndefined()
      const bound = nullRequestMs + DEFAULT_PBFT_REQUEST_TIMEOUT_MS + SLACK_MS
      console.log(`nullRequestMs ${nullRequestMs}: primary replaced ${result.primaryRecoveredMs} ms after the crash (bound ${bound})`)
      expect(result.primaryRecoveredMs).toBeDefined()
      expect(result.primaryRecoveredMs as number).toBeLessThanOrEqual(bound)
      // Not before the backups could know: the last heartbeat came at most nullRequestMs before the crash.
      expect(result.primaryRecoveredMs as number).toBeGreaterThanOrEqual(DEFAULT_PBFT_REQUEST_TIMEOUT_MS)
    }
  })

  it('without null requests the same crash goes unnoticed until traffic comes', async () => {
    const crash = { replica: 0, at: 5000, restartAt: 60_000 }
    const result = await runPbftSim({ seed: 1, txs: 0, plan: { ...calm, crash, nullRequestMs: 0 } })
    expect(result.violation).toBeUndefined()
    expect(result.primaryRecoveredMs).toBeUndefined()
  })

  const SEEDS = Number(process.env.PBFT_SIM_SEEDS ?? 300)
  const FIRST = Number(process.env.PBFT_SIM_FROM ?? 1)

  it(`keeps every invariant and recovers on ${SEEDS} seeds with null requests on`, async () => {
    console.log(`pbft sim with null requests: seeds ${FIRST}..${FIRST + SEEDS - 1} (replay: npm run sim -- --seed S --null-requests 1 --trace)`)
    const failures: string[] = []
    let faulty = 0
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      const result = await runPbftSim({ seed, nullRequests: 1 })
      expect(result.plan.nullRequestMs).toBeGreaterThanOrEqual(SIM_NULL_REQUEST_MS[0])
      if (result.plan.byzantine !== null || result.plan.crash !== null || result.plan.partition !== null) faulty++
      if (!result.ok) failures.push(`seed ${seed}: ${result.violation}`)
    }
    expect(failures).toEqual([])
    expect(faulty).toBeGreaterThan(SEEDS / 2)
  }, 60_000)

  it('tolerates f = 2 with seven replicas and null requests on', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runPbftSim({ seed, n: 7, nullRequests: 1 })
      expect(result.violation, `seed ${seed}`).toBeUndefined()
    }
  })

  it('turns null requests on for about the asked fraction of seeds, leaving the other faults of a seed alone', () => {
    const plans = Array.from({ length: 400 }, (_, i) => [planFor(i + 1, 4, 20_000), planFor(i + 1, 4, 20_000, 0.25)] as const)
    const on = plans.filter(([, p]) => p.nullRequestMs > 0).length
    expect(on).toBeGreaterThan(400 * 0.15)
    expect(on).toBeLessThan(400 * 0.35)
    for (const [off, maybe] of plans) {
      expect(off.nullRequestMs).toBe(0)
      expect({ ...maybe, nullRequestMs: 0 }).toEqual(off)
    }
  })
})
