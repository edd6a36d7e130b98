/**
 * `npm run bench` entry: runs the selected cases one after another (they would compete for the
 * CPU otherwise), prints the table, and writes the JSON report with `--json FILE`.
 *
 *   npm run bench -- --quick --only transport.single --json bench.json
 */
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { CASES } from './cases.js'
import { MIN_ROUNDS, buildReport, formatTable, notMeasured, parseArgs, selected, type BenchOptions, type CaseResult, type ReportKey } from './harness.js'
import { peerEnvText, peerNodeArgs } from '../src/node/peer-process.js'

/**
 * Full runs: 5 rounds of a 3 s window after 1 s warm-up, fresh processes each round; --quick: 3
 * rounds of 1 s after 0.5 s, and the transport, PBFT and browser rounds are consecutive windows of
 * one set of processes per variant (starting the processes is most of a quick run's time otherwise).
 */
export const FULL_OPTIONS: BenchOptions = { quick: false, rounds: 5, durationMs: 3000, warmupMs: 1000 }
export const QUICK_OPTIONS: BenchOptions = { quick: true, rounds: MIN_ROUNDS, durationMs: 1000, warmupMs: 500, consecutiveWindows: true }

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
    const t0 = Date.now()
    try {
      results.set(c.key, await c.run(options))
    } catch (err) {
      // One broken case must not hide the others' figures; it is reported, never given a number.
      results.set(c.key, notMeasured(`failed: ${(err as Error).message}`))
    }
    process.stderr.write(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`)
  }
  const cpu = cpus()[0]?.model ?? 'unknown'
  const meta = {
    date: new Date().toISOString(),
    quick: options.quick,
    rounds: options.rounds,
    rounds_mode:
      options.consecutiveWindows === true
        ? 'transport, pbft, browser: consecutive windows of one set of processes per variant, variants not interleaved; flood: fresh processes per round, interleaved'
        : 'fresh processes per round, variants interleaved',
    window_ms: options.durationMs,
    node: process.version,
    // The flags every worker process runs with: those `wspeer network` gives its peers.
    node_flags: peerNodeArgs().join(' '),
    // And the glibc malloc settings in their environment (peerProcessEnv), which move RSS and CPU.
    node_env: peerEnvText(process.env),
    // Whether ws masks and unmasks frames natively (bufferutil installed, not a dependency here):
    // it changes the figures. Measured with it: PBFT batch 100 about 8% faster, and the transport
    // cases' raw baseline 1.5-1.8x faster while wspeer's transport barely moved, so their ratio
    // targets would fail. WS_NO_BUFFER_UTIL=1 turns it off.
    ws_bufferutil: bufferutilLoads(),
    cpus: cpus().length,
    cpu,
    seconds: Math.round((Date.now() - started) / 1000),
  }
  console.log(formatTable(results))
  console.log(
    `\n${meta.quick ? '--quick' : 'full'} run, ${meta.rounds} rounds (${meta.rounds_mode}), ${meta.cpus} x ${cpu}, Node ${meta.node} (${meta.node_flags || 'no flags'}; ${meta.node_env}), ` +
      `ws bufferutil ${meta.ws_bufferutil ? 'on' : 'off'}, ${meta.seconds} s`,
  )
  if (cli.json !== undefined) writeFileSync(cli.json, JSON.stringify(buildReport(results, meta), null, 2) + '\n')
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})

/** Whether ws will use bufferutil in the workers (same environment, same node_modules). */
function bufferutilLoads(): boolean {
  if (process.env.WS_NO_BUFFER_UTIL) return false
  try {
    createRequire(import.meta.url)('bufferutil')
    return true
  } catch {
    return false
  }
}
