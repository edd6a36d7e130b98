/**
 * Runs the PBFT deterministic simulation over many seeds and prints every failing seed with a
 * replayable trace.
 *
 *   npm run sim -- --seeds 1000            seeds 1..1000
 *   npm run sim -- --seed 42               one seed, full trace on failure
 *   npm run sim -- --seed 42 --trace       one seed, full trace always
 *   npm run sim -- --seeds 200 --from 5000 seeds 5000..5199
 *   npm run sim -- --seeds 300 --null-requests 0.5
 *                                          null requests on in about half of the seeds' plans
 *   npm run sim -- --seeds 300 --crash-all 1
 *                                          every seed also crashes all replicas at once; they
 *                                          restart from storage that lost its unflushed tail
 *
 * Exit code 1 when any seed fails.
 */
import { DEFAULT_PBFT_REQUEST_TIMEOUT_MS } from '../src/core/consensus/pbft/config.js'
import { SIM_LIVENESS_BOUND_MS, runPbftSim, type SimResult } from '../src/sim/pbft-sim.js'

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

function fraction(name: string): number {
  const raw = flag(name)
  if (raw === undefined) return 0
  const value = Number(raw)
  if (!(value >= 0 && value <= 1)) {
    console.error(`--${name} must be a number from 0 to 1`)
    process.exit(2)
  }
  return value
}

function int(name: string, fallback: number): number {
  const raw = flag(name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer`)
    process.exit(2)
  }
  return value
}

async function main(): Promise<void> {
  const single = flag('seed')
  const showTrace = process.argv.includes('--trace')
  const seeds: number[] = []
  if (single !== undefined) seeds.push(int('seed', 0))
  else {
    const from = int('from', 1)
    const count = int('seeds', 100)
    for (let s = from; s < from + count; s++) seeds.push(s)
  }
  const nullRequests = fraction('null-requests')
  const crashAll = fraction('crash-all')
  const started = Date.now()
  const failed: SimResult[] = []
  let worst = 0
  let withNulls = 0
  let worstDetection: { ms: number; seed: number; bound: number } | undefined
  for (const seed of seeds) {
    const result = await runPbftSim({ seed, fullTrace: single !== undefined, nullRequests, crashAll })
    if (result.livenessMs !== undefined) worst = Math.max(worst, result.livenessMs)
    if (result.plan.nullRequestMs > 0) {
      withNulls++
      if (result.primaryRecoveredMs !== undefined && (worstDetection === undefined || result.primaryRecoveredMs > worstDetection.ms)) {
        worstDetection = { ms: result.primaryRecoveredMs, seed, bound: result.plan.nullRequestMs + DEFAULT_PBFT_REQUEST_TIMEOUT_MS }
      }
    }
    if (!result.ok) {
      failed.push(result)
      console.log(`FAIL seed ${seed}: ${result.violation}`)
      console.log(`  plan ${JSON.stringify(result.plan)}`)
      console.log(`  replay: npm run sim -- --seed ${seed} --trace`)
      if (single !== undefined) console.log(result.trace.join('\n'))
    } else if (showTrace) {
      console.log(result.trace.join('\n'))
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(
    `${seeds.length - failed.length}/${seeds.length} seeds passed in ${seconds} s; ` +
      `slowest recovery ${worst} virtual ms after the heal (bound ${SIM_LIVENESS_BOUND_MS} ms)`,
  )
  if (nullRequests > 0) {
    const detection =
      worstDetection === undefined
        ? 'no crashed first primary was replaced before its restart'
        : `slowest replacement of a crashed first primary ${worstDetection.ms} virtual ms after the crash ` +
          `(seed ${worstDetection.seed}, nullRequestMs + requestTimeoutMs = ${worstDetection.bound} ms)`
    console.log(`null requests on in ${withNulls} seeds; ${detection}`)
  }
  if (failed.length > 0) {
    console.log(`failing seeds: ${failed.map((r) => r.seed).join(' ')}`)
    process.exitCode = 1
  }
}

await main()
