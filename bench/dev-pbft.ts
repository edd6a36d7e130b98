/**
 * Development helper (not part of `npm run bench`): one PBFT variant in one set of processes with a
 * long warm-up, then consecutive windows, for comparing changes with less JIT warm-up noise than
 * --quick. `npx tsx bench/dev-pbft.ts pbft.batch1 [warmupMs] [windows] [windowMs]`
 */
import { runPbftCase } from './pbft-case.js'
import type { ReportKey } from './harness.js'

const [key = 'pbft.batch1', warmup = '4000', windows = '4', windowMs = '1500'] = process.argv.slice(2)
const result = await runPbftCase(key as ReportKey, {
  quick: true,
  rounds: Number(windows),
  durationMs: Number(windowMs),
  warmupMs: Number(warmup),
  consecutiveWindows: true,
  only: [key],
})
const f = result.figures
for (const name of Object.keys(f)) process.stdout.write(`${name} ${f[name]!.value.toFixed(1)} (${f[name]!.min.toFixed(1)}..${f[name]!.max.toFixed(1)})\n`)
