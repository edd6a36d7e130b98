/**
 * Command line of the wire fuzz harness (harness.ts):
 *
 *   npm run fuzz -- --frames 1500000 [--seed S] [--links N] [--replay HEX]
 *
 * Prints the seed first (so even a run that dies can be replayed), progress, then the summary:
 * frames and seed; RSS at start, after the warm-up and at the end, with the growth the pass
 * criterion is about (from the warm-up to the end, limit 50 MB) and the growth counting the
 * warm-up; heap, external and arrayBuffers; what the ledger accepted meanwhile; whether both peers
 * committed a transaction afterwards; PASS or each failure with what replays it.
 * Exits 0 when every property held, 1 on a failure, 2 on bad arguments. RSS is read after a forced
 * GC: with `node --expose-gc`, or else the harness enables GC through V8 flags itself.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_FUZZ_LINKS, formatReport, runFuzz } from './harness.js'

function usage(message: string): never {
  process.stderr.write(`${message}\nUsage: npm run fuzz -- --frames N [--seed S] [--links N] [--replay HEX]\n`)
  process.exit(2)
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) usage(`--${name} must be a positive integer`)
  return Number(text)
}

let values: Record<string, string | boolean | undefined>
try {
  values = parseArgs({
    args: process.argv.slice(2),
    options: { frames: { type: 'string' }, seed: { type: 'string' }, links: { type: 'string' }, replay: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }).values
} catch (err) {
  usage(err instanceof Error ? err.message : String(err))
}
if (values['help'] === true) usage('')
const replayHex = values['replay'] as string | undefined
if (replayHex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(replayHex)) usage('--replay must be an even number of hex digits')
const frames = positiveInt('frames', values['frames'] as string | undefined, 100_000)
const seedText = values['seed'] as string | undefined
if (seedText !== undefined && !/^\d+$/.test(seedText)) usage('--seed must be a non-negative integer')
const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(seedText) >>> 0
const links = positiveInt('links', values['links'] as string | undefined, DEFAULT_FUZZ_LINKS)

console.log(`fuzz: seed ${seed} (replay with --seed ${seed}), ${replayHex === undefined ? `${frames} frames` : 'one replayed frame'}, ${links} links`)
let lastFrameNote = ''
process.on('exit', (code) => {
  if (code !== 0 && lastFrameNote !== '') process.stderr.write(`fuzz: exiting with ${code}; ${lastFrameNote}\n`)
})
const report = await runFuzz({
  frames,
  seed,
  links,
  ...(replayHex === undefined ? {} : { replay: new Uint8Array(Buffer.from(replayHex, 'hex')) }),
  log: (line) => {
    lastFrameNote = `last progress: ${line}; replay with --seed ${seed}`
    console.log(line)
  },
})
console.log(formatReport(report))
process.exitCode = report.failures.length === 0 ? 0 : 1
