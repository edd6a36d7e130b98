/**
 * `npm run bench` entry: runs the selected cases one after another (they would compete for the
 * CPU otherwise), prints the table, and writes the JSON report with `--json FILE`.
 *
 *   npm run bench -- --quick --only transport.single --json bench.json
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { CASES } from './cases.js'
import { MIN_ROUNDS, buildReport, formatTable, notMeasured, parseArgs, selected, type BenchOptions, type CaseResult, type ReportKey } from './harness.js'

/** Full runs: 5 rounds of a 3 s window after 1 s warm-up; --quick: 3 rounds of 1 s after 0.5 s. */
export const FULL_OPTIONS: BenchOptions = { quick: false, rounds: 5, durationMs: 3000, warmupMs: 1000 }
export const QUICK_OPTIONS: BenchOptions = { quick: true, rounds: MIN_ROUNDS, durationMs: 1000, warmupMs: 500 }

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2))
  const options = { ...(cli.quick ? QUICK_OPTIONS : FULL_OPTIONS), only: cli.only }
  const results = new Map<ReportKey, CaseResult>()
  const started = Date.now()
  for (const c of CASES) {
    if (!selected(c.key, cli.only)) continue
    if ('notMeasured' in c) {
      results.set(c.key, notMeasured(c.notMeasured))
      continue
    }
    process.stderr.write(`${c.key}: ${c.title}\n`)
    try {
      results.set(c.key, await c.run(options))
    } catch (err) {
      // One broken case must not hide the others' figures; it is reported, never given a number.
      results.set(c.key, notMeasured(`failed: ${(err as Error).message}`))
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown'
  const meta = {
    date: new Date().toISOString(),
    quick: options.quick,
    rounds: options.rounds,
    window_ms: options.durationMs,
    node: process.version,
    cpus: cpus().length,
    cpu,
    seconds: Math.round((Date.now() - started) / 1000),
  }
  console.log(formatTable(results))
  console.log(`\n${meta.quick ? '--quick' : 'full'} run, ${meta.rounds} rounds, ${meta.cpus} x ${cpu}, Node ${meta.node}, ${meta.seconds} s`)
  if (cli.json !== undefined) writeFileSync(cli.json, JSON.stringify(buildReport(results, meta), null, 2) + '\n')
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
