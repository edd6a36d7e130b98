/**
 * Runs the PBFT deterministic simulation over many seeds and prints every failing seed with a
 * replayable trace.
 *
 *   npm run sim -- --seeds 1000            seeds 1..1000
 *   npm run sim -- --seed 42               one seed, full trace on failure
 *   npm run sim -- --seed 42 --trace       one seed, full trace always
 *   npm run sim -- --seeds 200 --from 5000 seeds 5000..5199
 *
 * Exit code 1 when any seed fails.
 */
import { SIM_LIVENESS_BOUND_MS, runPbftSim, type SimResult } from '../src/sim/pbft-sim.js'

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
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
  const started = Date.now()
  const failed: SimResult[] = []
  let worst = 0
  for (const seed of seeds) {
    const result = await runPbftSim({ seed, fullTrace: single !== undefined })
    if (result.livenessMs !== undefined) worst = Math.max(worst, result.livenessMs)
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
  if (failed.length > 0) {
    console.log(`failing seeds: ${failed.map((r) => r.seed).join(' ')}`)
    process.exitCode = 1
  }
}

await main()
