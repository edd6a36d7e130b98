/**
 * The pure parts of the benchmark harness: round statistics, the registry of benchmark cases, the
 * result JSON and the table. Nothing here spawns or times anything, so it is unit-tested
 * (test/bench/harness.test.ts). Figures enter as per-round samples (`summarize`); a case's result
 * leaves as one entry of the JSON (`BenchReport`) and rows of the table (`formatTable`).
 */

/** Every key the JSON report carries, in table order; a case not run still appears. */
export const REPORT_KEYS = [
  'transport.single',
  'transport.mesh',
  'pbft.batch1',
  'pbft.batch100',
  'pbft.batch100_durable',
  'pbft.batch500',
  'pbft.latency1k',
  'pbft.latency20k',
  'pbft.latency20k_spread',
  'flood',
  'browser',
  'browser.follow',
  'followers.node0',
  'followers.node10',
  'followers.node30',
  'followers.tabs25',
  'followers.tabs50',
  'validators.n4',
  'validators.n7',
  'validators.n16',
  'validators.n32',
] as const

export type ReportKey = (typeof REPORT_KEYS)[number]

/** One figure over several rounds: the median, with the spread beside it. */
export interface Figure {
  value: number
  min: number
  max: number
  rounds: number
  samples: number[]
}

/** A figure's target: `value >= min` or `value <= max`. */
export interface Target {
  op: '>=' | '<='
  bound: number
  /** How the target reads in the table, e.g. ">= 0.9". */
  label?: string
}

export interface MeasuredResult {
  status: 'measured'
  figures: Record<string, Figure>
  targets: Record<string, Target>
  /** Free-form context (sizes, rates, what the baseline did). */
  notes: Record<string, string | number>
}

export interface NotMeasured {
  status: 'not measured'
  reason: string
}

export type CaseResult = MeasuredResult | NotMeasured

export interface BenchOptions {
  quick: boolean
  /** Rounds per figure; at least MIN_ROUNDS. */
  rounds: number
  /** Measuring window of one round, ms. */
  durationMs: number
  /** Time a round runs before its window opens, ms. */
  warmupMs: number
  /**
   * Cases that honour it (transport, PBFT, browser) take their rounds as consecutive windows of one set of
   * processes per variant, the variants one after another: --quick, to save a process start per
   * round. Off: fresh processes every round, the variants interleaved.
   */
  consecutiveWindows?: boolean
  /** The `--only` selection, for cases that run several report keys together (PBFT). */
  only?: readonly string[]
}

/** Fewer rounds than this and a median says nothing about noise. */
export const MIN_ROUNDS = 3

/** A benchmark case: one report key, and either a way to measure it or why it cannot be. */
export type BenchCase =
  | { key: ReportKey; title: string; run: (options: BenchOptions) => Promise<MeasuredResult> }
  | { key: ReportKey; title: string; notMeasured: string }

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The q-quantile (0..1) of sorted values, nearest rank below; NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** Median, min and max of one figure's per-round samples. */
export function summarize(samples: readonly number[]): Figure {
  if (samples.length === 0) throw new RangeError('a figure needs at least one sample')
  for (const s of samples) if (!Number.isFinite(s)) throw new RangeError(`sample ${s} is not a finite number`)
  return { value: median(samples), min: Math.min(...samples), max: Math.max(...samples), rounds: samples.length, samples: [...samples] }
}

/** Turns per-round records (one object of numbers per round) into figures, key by key. */
export function summarizeRounds(rounds: readonly Record<string, number>[]): Record<string, Figure> {
  const out: Record<string, Figure> = {}
  const keys = new Set(rounds.flatMap((r) => Object.keys(r)))
  for (const key of keys) {
    out[key] = summarize(rounds.map((r) => r[key]).filter((v): v is number => v !== undefined))
  }
  return out
}

export function notMeasured(reason: string): NotMeasured {
  if (reason.trim() === '') throw new RangeError('a case that is not measured needs a reason')
  return { status: 'not measured', reason }
}

export function passes(value: number, target: Target): boolean {
  return target.op === '>=' ? value >= target.bound : value <= target.bound
}

/** A figure in the JSON: its median under its own name, min/max/rounds beside it. */
export interface JsonFigure {
  value: number
  min: number
  max: number
  rounds: number
  target?: string
  pass?: boolean
}

export type JsonEntry =
  | ({ status: 'measured'; notes: Record<string, string | number> } & Record<string, unknown>) // figures (JsonFigure) and anything else a case records
  | NotMeasured

export type BenchReport = Record<ReportKey, JsonEntry> & {
  meta: Record<string, string | number | boolean>
}

function targetLabel(target: Target): string {
  return target.label ?? `${target.op} ${target.bound}`
}

function toJsonEntry(result: CaseResult): JsonEntry {
  if (result.status === 'not measured') return { status: 'not measured', reason: result.reason }
  const entry: Record<string, unknown> = { status: 'measured' }
  for (const [name, figure] of Object.entries(result.figures)) {
    const target = result.targets[name]
    entry[name] = {
      value: figure.value,
      min: figure.min,
      max: figure.max,
      rounds: figure.rounds,
      ...(target === undefined ? {} : { target: targetLabel(target), pass: passes(figure.value, target) }),
    }
  }
  entry.notes = result.notes
  return entry as JsonEntry
}

/**
 * The report: every REPORT_KEYS entry is present. A key with no result is "not measured" with
 * `missingReason` (a case filtered out by --only, for instance).
 */
export function buildReport(
  results: ReadonlyMap<ReportKey, CaseResult>,
  meta: Record<string, string | number | boolean>,
  missingReason = 'not selected in this run (--only)',
): BenchReport {
  const report = { meta } as BenchReport
  for (const key of REPORT_KEYS) report[key] = toJsonEntry(results.get(key) ?? notMeasured(missingReason))
  return report
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  const abs = Math.abs(n)
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US')
  if (abs >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** A Markdown table: figure, median, [min..max], target, pass/fail; not-measured cases with their reason. */
export function formatTable(results: ReadonlyMap<ReportKey, CaseResult>, missingReason = 'not selected in this run (--only)'): string {
  const lines = ['| figure | median | min..max (rounds) | target | result |', '| --- | --- | --- | --- | --- |']
  for (const key of REPORT_KEYS) {
    const result = results.get(key) ?? notMeasured(missingReason)
    if (result.status === 'not measured') {
      lines.push(`| ${key} | not measured | | | ${result.reason} |`)
      continue
    }
    for (const [name, figure] of Object.entries(result.figures)) {
      const target = result.targets[name]
      const verdict = target === undefined ? '' : passes(figure.value, target) ? 'pass' : 'FAIL'
      lines.push(
        `| ${key} ${name} | ${formatNumber(figure.value)} | ${formatNumber(figure.min)}..${formatNumber(figure.max)} (${figure.rounds}) | ${
          target === undefined ? '' : targetLabel(target)
        } | ${verdict} |`,
      )
    }
  }
  return lines.join('\n')
}

/** Visits variants in a different order each round, so drift in machine load hits all of them alike. */
export function interleave<T>(variants: readonly T[], round: number): T[] {
  const n = variants.length
  if (n === 0) return []
  const shift = round % n
  const rotated = [...variants.slice(shift), ...variants.slice(0, shift)]
  // Round r starts with variant r; odd rounds reverse the rest, so neighbours change too.
  return round % 2 === 1 ? [rotated[0]!, ...rotated.slice(1).reverse()] : rotated
}

export interface CliOptions {
  json: string | undefined
  quick: boolean
  only: string[]
}

/** Parses `--json FILE`, `--quick`, `--only <case>` (repeatable, or comma-separated). */
export function parseArgs(argv: readonly string[]): CliOptions {
  const out: CliOptions = { json: undefined, quick: false, only: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--quick') out.quick = true
    else if (arg === '--json' || arg === '--only') {
      const value = argv[++i]
      if (value === undefined || value.startsWith('--')) throw new RangeError(`${arg} needs a value`)
      if (arg === '--json') out.json = value
      else out.only.push(...value.split(',').filter((s) => s !== ''))
    } else if (arg.startsWith('--json=')) out.json = arg.slice(7)
    else if (arg.startsWith('--only=')) out.only.push(...arg.slice(7).split(',').filter((s) => s !== ''))
    else throw new RangeError(`unknown argument ${arg} (expected --json FILE, --quick, --only <case>)`)
  }
  return out
}

/** Whether a case runs under `--only`: its key, or a prefix of it ("transport", "pbft"). */
/**
 * One case of a suite whose variants run together, interleaved: the first call runs every selected
 * variant (`run`), later calls read their own result from it. A variant not measured throws its reason.
 */
export function suiteCase(
  run: (only: readonly string[], options: BenchOptions) => Promise<Map<ReportKey, CaseResult>>,
): (key: ReportKey, options: BenchOptions) => Promise<MeasuredResult> {
  let suite: Promise<Map<ReportKey, CaseResult>> | undefined
  return async (key, options) => {
    suite ??= run(options.only ?? [], options)
    const result = (await suite).get(key)
    if (result === undefined) throw new Error(`${key} was not run`)
    if (result.status === 'not measured') throw new Error(result.reason.replace(/^failed: /, ''))
    return result
  }
}

export function selected(key: string, only: readonly string[]): boolean {
  return only.length === 0 || only.some((o) => key === o || key.startsWith(`${o}.`))
}
