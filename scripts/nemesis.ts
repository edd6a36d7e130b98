/**
 * npm run nemesis -- --seed S --minutes M [--validators N] [--rate TX_PER_S] [--kill-all]
 *
 * Runs the fault-injection test (src/node/nemesis/nemesis.ts) against real `wspeer start` PBFT
 * validators on loopback and prints its report as JSON on stdout (progress on stderr). Exits 0
 * when every check passed, 1 when one failed (the seed is in the report: run it again with it),
 * 2 on bad arguments.
 */
import { parseArgs } from 'node:util'
import { ALL_FAULT_KINDS, DEFAULT_FAULT_KINDS } from '../src/node/nemesis/fault-plan.js'
import { NEMESIS_DEFAULT_RATE, NEMESIS_DEFAULT_VALIDATORS, runNemesis } from '../src/node/nemesis/nemesis.js'

const USAGE = `Usage: npm run nemesis -- --seed <int> --minutes <m> [--validators <n>] [--rate <tx/s>] [--kill-all]
  --seed        seed of the fault plan (default: random, printed)
  --minutes     length of the faulty period, may be fractional (default 1)
  --validators  PBFT validators, at least 4 (default ${NEMESIS_DEFAULT_VALIDATORS})
  --rate        transactions per second offered (default ${NEMESIS_DEFAULT_RATE})
  --kill-all    also kill -9 every validator at once (safe with PBFT's consensus log: README "Durability")
`

function number(text: string | undefined, name: string, fallback: number, integer: boolean): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value)) || value < 0) {
    process.stderr.write(`nemesis: ${name} must be a ${integer ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(text)}\n\n${USAGE}`)
    process.exit(2)
  }
  return value
}

let parsed
try {
  parsed = parseArgs({
    options: { seed: { type: 'string' }, minutes: { type: 'string' }, validators: { type: 'string' }, rate: { type: 'string' }, 'kill-all': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }).values
} catch (err) {
  process.stderr.write(`nemesis: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`)
  process.exit(2)
}
if (parsed.help === true) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const seed = number(parsed.seed, '--seed', Math.floor(Math.random() * 2 ** 31), true)
const minutes = number(parsed.minutes, '--minutes', 1, false)
const validators = number(parsed.validators, '--validators', NEMESIS_DEFAULT_VALIDATORS, true)
const rate = number(parsed.rate, '--rate', NEMESIS_DEFAULT_RATE, false)
process.stderr.write(`nemesis: seed ${seed}\n`)
try {
  const kinds = parsed['kill-all'] === true ? ALL_FAULT_KINDS : DEFAULT_FAULT_KINDS
  const report = await runNemesis({ seed, minutes, validators, rate, kinds, log: (line) => process.stderr.write(`nemesis: ${line}\n`) })
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  if (!report.ok) process.stderr.write(`nemesis: FAILED with seed ${seed} (replay: npm run nemesis -- --seed ${seed} --minutes ${minutes} --validators ${validators}${parsed['kill-all'] === true ? ' --kill-all' : ''})\n`)
  process.exitCode = report.ok ? 0 : 1
} catch (err) {
  process.stderr.write(`nemesis: seed ${seed}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
}
