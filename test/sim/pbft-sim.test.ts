/**
 * The deterministic PBFT simulation (src/sim/pbft-sim.ts): regression seeds, a seed sweep with
 * every fault kind, seven replicas, and null requests.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_PBFT_REQUEST_TIMEOUT_MS } from '../../src/core/consensus/pbft/config.js'
import { planFor, runPbftSim, SIM_LIVENESS_BOUND_MS, SIM_NULL_REQUEST_MS, type FaultPlan } from '../../src/sim/pbft-sim.js'

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

const calm: Partial<FaultPlan> = { dropP: 0, duplicateP: 0, reorderP: 0, spikeP: 0, byzantine: null, partition: null }
/** Message latency is 1-3 virtual ms; a view change is three hops (view change, new view, install). */
const SLACK_MS = 20

describe('pbft simulation: what a replica accepted commits', () => {
  it('commits every transaction the backups accepted within a bound when the primary crashes under load, while the load goes on', async () => {
    // 2,000 transactions over 20 s (100 per second), the primary crashed at 5 s and back only at the heal.
    const crash = { replica: 0, at: 5000, restartAt: 30_000 }
    for (const seed of [1, 2, 3]) {
      const result = await runPbftSim({ seed, txs: 2000, plan: { ...calm, crash } })
      console.log(`seed ${seed}: longest accept-to-commit ${result.maxAcceptedLatencyMs} virtual ms`)
      expect(result.violation, `seed ${seed}`).toBeUndefined()
      // Two request timeouts to find the dead primary, a view change, and the re-forward: far
      // less than the 15 s of load left after the crash, which is when the old code let go.
      expect(result.maxAcceptedLatencyMs, `seed ${seed}`).toBeLessThanOrEqual(3 * DEFAULT_PBFT_REQUEST_TIMEOUT_MS + 1000)
    }
  })

  it('brings a primary restarted empty into the view the others moved to, voting again', async () => {
    const crash = { replica: 0, at: 5000, restartAt: 9000 }
    for (const seed of [1, 2, 3]) {
      const result = await runPbftSim({ seed, txs: 1000, plan: { ...calm, crash } })
      expect(result.violation, `seed ${seed}`).toBeUndefined()
      const [restarted, ...others] = result.views
      expect(others.every((v) => v.active && v.view === others[0]!.view && v.view > 0), JSON.stringify(result.views)).toBe(true)
      expect(restarted, `seed ${seed}`).toEqual({ id: 'vp0', view: others[0]!.view, active: true })
    }
  })
})

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

describe('pbft simulation: a crash of every replica, with durable storage that loses its unflushed tail', () => {
  const SEEDS = Number(process.env.PBFT_SIM_CRASH_ALL_SEEDS ?? 150)

  it(`forks no block and recovers on ${SEEDS} seeds, null requests on in half of them`, async () => {
    console.log(`pbft sim, crash of all: seeds 1..${SEEDS} (replay: npm run sim -- --seed S --crash-all 1 [--null-requests 1] --trace)`)
    const failures: string[] = []
    let lostTail = 0
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = await runPbftSim({ seed, crashAll: 1, nullRequests: seed % 2, txs: 400 })
      expect(result.plan.crashAll).not.toBeNull()
      if (result.trace.some((line) => / restart vp\d at height (\d+) \(of (?!\1\))/.test(line))) lostTail++
      if (!result.ok) failures.push(`seed ${seed}: ${result.violation}`)
    }
    expect(failures).toEqual([])
    console.log(`a restarted replica found a shorter chain than it had in ${lostTail} of ${SEEDS} seeds`)
    // The lost tail is really exercised: restarts find fewer blocks than were committed.
    expect(lostTail).toBeGreaterThan(0)
  }, 120_000)

  it('forks without the consensus log: the check can fail, and the log is what passes it', async () => {
    // The same seeds without PBFT's promises: a replica restarted in an old state votes for what
    // contradicts what it voted before, and blocks that were committed are committed again as others.
    const forks: number[] = []
    for (let seed = 1; seed <= 40; seed++) {
      const result = await runPbftSim({ seed, crashAll: 1, promiseLog: false })
      if (result.violation !== undefined && /committed block \d+ \w+, another honest replica/.test(result.violation)) forks.push(seed)
    }
    console.log(`without the log, seeds that forked: ${forks.join(' ')}`)
    expect(forks.length).toBeGreaterThan(0)
  }, 60_000)

  it('draws the crash of all last, leaving the other faults of a seed alone', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const base = planFor(seed, 4, 20_000)
      const all = planFor(seed, 4, 20_000, 0, 1)
      expect(base.crashAll).toBeNull()
      expect(all.crashAll).not.toBeNull()
      expect(all.crashAll!.restartAt).toBeGreaterThan(all.crashAll!.at)
      expect({ ...all, crashAll: null }).toEqual(base)
    }
  })
})
