/**
 * Case 3: PBFT with 4 validator processes and a load client process on loopback (bench/pbft-worker.ts),
 * 250-byte transactions, in-memory ledgers; `pbft.batch100_durable` is batch 100 with the validators'
 * ledgers in LevelDB (`wspeer start`'s default, --fsync block), and its `in_memory_ratio` is its
 * rate over batch 100's in the same round.
 *   - `pbft.batch1`, `pbft.batch100`, `pbft.batch500`: closed loop, the client keeps a window of
 *     transactions in flight; the figure is transactions committed per second at the client.
 *   - `pbft.latency1k`, `pbft.latency20k`: open loop at a fixed offered rate; p50/p99 of the time
 *     from the client's send to the block reaching the client (it follows the chain as a
 *     non-validator), so every latency includes the block's trip back.
 * Every selected variant runs once per round, in fresh processes, in an order that changes from
 * round to round (harness `interleave`); the cases share one run (`runPbftSuite`, memoized).
 * With `consecutiveWindows` (--quick) each variant runs once, in one set of processes, and its
 * rounds are consecutive windows of that run (the warm-up before the first only).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { interleave, notMeasured, selected, suiteCase, summarizeRounds, type BenchOptions, type CaseResult, type MeasuredResult, type ReportKey } from './harness.js'
import { spawnWorker, withWorkers, type Worker } from './processes.js'
import { PAYLOAD_BYTES } from './transport-case.js'

export const PBFT_VALIDATORS = ['vp0', 'vp1', 'vp2', 'vp3']
/**
 * Partial batches are cut after this long (default 2 ms; the protocol's default is 1 s, which
 * would make every open-loop latency a batch timeout).
 */
export const BENCH_BATCH_TIMEOUT_MS = 2
/**
 * Warm-up of a full run's PBFT windows (the other cases keep the run's 1 s). Five fresh processes
 * on two cores spend their first seconds in V8's optimizing compilers and growing young
 * generations: consecutive 1 s windows of batch 1 from 0.5 s on measured 3.6k, 6.4k, 9.3k, 10.1k,
 * 9.3k, 8.9k, 9.0k, 8.7k tx/s. The targets are sustained rates of running validators, so the
 * window starts after that climb. --quick keeps its short warm-up (and says so in its notes).
 */
export const PBFT_FULL_WARMUP_MS = 3000
/** Queue limits of every bench peer: the client sends one envelope per transaction. */
export const PBFT_BENCH_LIMITS = { queueMaxMessages: 200_000, queueMaxBytes: 512 * 1024 * 1024 }

interface Variant {
  key: ReportKey
  batchSize: number
  /** Closed loop: transactions in flight. */
  window?: number
  /** Open loop: offered transactions per second. */
  rate?: number
  /**
   * Open loop: where the client sends. 'primary': every transaction to vp0, the primary of view 0,
   * as a client that follows `/status` would; 'spread': to the validators in turn (runs of 16, as
   * the closed loops do), so three in four take a backup's forward hop to the primary.
   */
  to?: 'primary' | 'spread'
  /** Validators keep their ledgers in LevelDB under a fresh temporary data dir (the client stays in memory). */
  durable?: boolean
}

export const PBFT_VARIANTS: Variant[] = [
  { key: 'pbft.batch1', batchSize: 1, window: 400 },
  { key: 'pbft.batch100', batchSize: 100, window: 4000 },
  { key: 'pbft.batch100_durable', batchSize: 100, window: 4000, durable: true },
  { key: 'pbft.batch500', batchSize: 500, window: 12_000 },
  { key: 'pbft.latency1k', batchSize: 500, rate: 1000, to: 'primary' },
  { key: 'pbft.latency20k', batchSize: 500, rate: 20_000, to: 'primary' },
  { key: 'pbft.latency20k_spread', batchSize: 500, rate: 20_000, to: 'spread' },
]

type Round = Record<string, number>

export function pbftWarmupMs(options: BenchOptions): number {
  return options.quick ? options.warmupMs : Math.max(options.warmupMs, PBFT_FULL_WARMUP_MS)
}

async function runWindows(v: Variant, options: BenchOptions, windows: number): Promise<Round[]> {
  // BENCH_PBFT_OPTIONS='{"logMultiplier":40}' overrides options for experiments; the report names it.
  const extra = process.env.BENCH_PBFT_OPTIONS ? (JSON.parse(process.env.BENCH_PBFT_OPTIONS) as Record<string, unknown>) : {}
  const consensusOptions = { validators: PBFT_VALIDATORS, batchSize: v.batchSize, batchTimeoutMs: BENCH_BATCH_TIMEOUT_MS, ...extra }
  const dataRoot = v.durable === true ? mkdtempSync(join(tmpdir(), 'wspeer-bench-')) : undefined
  const { validators, client, all } = spawnPbftWorkers(consensusOptions, dataRoot)
  try {
    return await runWorkers(v, options, windows, validators, client, all)
  } finally {
    if (dataRoot !== undefined) rmSync(dataRoot, { recursive: true, force: true })
  }
}

export interface PbftWorkers {
  validators: Worker[]
  client: Worker
  all: Worker[]
}

/**
 * Spawns the 4 validator processes and the load client, every one with `consensusOptions` and the
 * bench's queue limits; with `dataRoot` the validators keep their ledgers in LevelDB under it.
 */
export function spawnPbftWorkers(consensusOptions: Record<string, unknown>, dataRoot?: string): PbftWorkers {
  const common = { consensusOptions, limits: PBFT_BENCH_LIMITS, payloadBytes: PAYLOAD_BYTES }
  const validators = PBFT_VALIDATORS.map((id) =>
    spawnWorker('./pbft-worker.ts', id, { id, role: 'validator', ...common, ...(dataRoot === undefined ? {} : { dataDir: join(dataRoot, id) }) }),
  )
  const client = spawnWorker('./pbft-worker.ts', 'client', { id: 'client', role: 'non-validator', ...common })
  return { validators, client, all: [...validators, client] }
}

/** Starts every worker's peer and links them all; resolves with the validators' chat URLs. */
export async function linkPbftWorkers({ validators, client, all }: PbftWorkers): Promise<string[]> {
  await Promise.all(all.map((w) => w.wait('ready')))
  const urls = await Promise.all(validators.map(async (w) => (await w.request({ cmd: 'listen' }, 'listening')).url as string))
  await client.request({ cmd: 'listen' }, 'listening')
  // Each validator dials the ones before it, so vp0 (the primary of view 0, which sends every
  // pre-prepare) is the server end of all its links: WebSocket clients mask every frame they send.
  await Promise.all(validators.map((w, i) => w.request({ cmd: 'dial', urls: urls.slice(0, i), expect: PBFT_VALIDATORS.length - 1 }, 'connected')))
  await client.request({ cmd: 'dial', urls, expect: PBFT_VALIDATORS.length }, 'connected')
  return urls
}

async function runWorkers(v: Variant, options: BenchOptions, windows: number, validators: Worker[], client: Worker, all: Worker[]): Promise<Round[]> {
  return withWorkers(all, async () => {
    await linkPbftWorkers({ validators, client, all })
    if (v.window !== undefined) await client.request({ cmd: 'closed', window: v.window, validators: PBFT_VALIDATORS }, 'started')
    else await client.request({ cmd: 'open', perSecond: v.rate, to: v.to, validators: PBFT_VALIDATORS }, 'started')
    const out: Round[] = []
    for (let i = 0; i < windows; i++) out.push(await measureWindow(v, all, i === 0 ? pbftWarmupMs(options) : 0, options.durationMs))
    return out
  })
}

async function measureWindow(v: Variant, all: Worker[], warmupMs: number, durationMs: number): Promise<Round> {
  // Every process reports its CPU time over the same window: CPU per committed transaction is
  // the figure that other load on the machine does not move much.
  const answers = await Promise.all(all.map((w) => w.request({ cmd: 'measure', warmupMs, durationMs }, 'measured', warmupMs + durationMs + 30_000)))
  const m = answers[answers.length - 1]!
  const committed = m.committed as number
  const perSecond = (committed / (m.ms as number)) * 1000
  const cpuMs = answers.map((a) => a.cpuMs as number)
  const validatorCpuUs = (cpuMs.slice(0, -1).reduce((a, b) => a + b, 0) * 1000) / Math.max(1, committed)
  const clientCpuUs = (cpuMs[cpuMs.length - 1]! * 1000) / Math.max(1, committed)
  process.stderr.write(
    `  ${v.key}: ${Math.round(perSecond)} tx/s committed, p50 ${(m.p50 as number).toFixed(1)} ms, p99 ${(m.p99 as number).toFixed(1)} ms, ` +
      `CPU/tx ${validatorCpuUs.toFixed(1)} us validators + ${clientCpuUs.toFixed(1)} us client, CPU ms ${cpuMs.map((c) => Math.round(c)).join('/')}` +
        `, state transfers ${answers.slice(0, -1).map((a) => String(a.transfers)).join('/')}\n`,
  )
  // BENCH_PBFT_QUANTILES=1: the latency tail in more detail than p50/p99.
  if (m.quantiles !== undefined) process.stderr.write(`    latency quantiles 90/95/98/99/99.5/99.9/100: ${JSON.stringify(m.quantiles)}\n`)
  // BENCH_PBFT_FRAMES=1: frames each process sent and received per block it committed (where the per-write cost goes).
  if (process.env.BENCH_PBFT_FRAMES) {
    const per = (a: Record<string, unknown>, k: string): string => ((a[k] as number) / Math.max(1, a.blocks as number)).toFixed(2)
    process.stderr.write(`    frames sent/received per block: ${answers.map((a) => `${per(a, 'framesSent')}/${per(a, 'framesReceived')}`).join(' ')}\n`)
  }
  if (!(perSecond > 0)) throw new Error(`${v.key}: nothing committed in the window`)
  const cost = { validator_cpu_us_per_tx: validatorCpuUs, client_cpu_us_per_tx: clientCpuUs }
  if (v.window !== undefined) return { committed_per_s: perSecond, p50_ms: m.p50 as number, p99_ms: m.p99 as number, ...cost }
  return { p50_ms: m.p50 as number, p99_ms: m.p99 as number, committed_per_s: perSecond, ...cost }
}

function targetsFor(key: ReportKey): MeasuredResult['targets'] {
  switch (key) {
    case 'pbft.batch1':
      return { committed_per_s: { op: '>=', bound: 8000 } }
    case 'pbft.batch100':
      return { committed_per_s: { op: '>=', bound: 50_000 } }
    case 'pbft.batch100_durable':
      return { committed_per_s: { op: '>=', bound: 50_000 }, in_memory_ratio: { op: '>=', bound: 0.8 } }
    case 'pbft.latency20k':
      return { p99_ms: { op: '<=', bound: 20 } }
    default:
      return {}
  }
}

async function runSuite(only: readonly string[], options: BenchOptions): Promise<Map<ReportKey, CaseResult>> {
  const variants = PBFT_VARIANTS.filter((v) => selected(v.key, only))
  const rounds = new Map<ReportKey, Round[]>(variants.map((v) => [v.key, []]))
  const failures = new Map<ReportKey, string>()
  const consecutive = options.consecutiveWindows === true
  // Consecutive: one pass, each variant's rounds in one run; otherwise one pass per round.
  for (let r = 0; r < (consecutive ? 1 : options.rounds); r++) {
    process.stderr.write(consecutive ? `  pbft: ${options.rounds} consecutive windows per variant\n` : `  pbft round ${r + 1}\n`)
    for (const v of consecutive ? variants : interleave(variants, r)) {
      if (failures.has(v.key)) continue
      try {
        rounds.get(v.key)!.push(...(await runWindows(v, options, consecutive ? options.rounds : 1)))
      } catch (err) {
        failures.set(v.key, `failed: ${(err as Error).message}`)
      }
    }
  }
  // The durable variant's rate over the in-memory one's, round by round (both ran in each round).
  const durableRounds = rounds.get('pbft.batch100_durable')
  const memoryRounds = rounds.get('pbft.batch100')
  if (durableRounds !== undefined && memoryRounds !== undefined) {
    durableRounds.forEach((round, i) => {
      const memory = memoryRounds[i]?.committed_per_s
      if (memory !== undefined && round.committed_per_s !== undefined) round.in_memory_ratio = round.committed_per_s / memory
    })
  }
  const out = new Map<ReportKey, CaseResult>()
  for (const v of variants) {
    const failure = failures.get(v.key)
    if (failure !== undefined) {
      out.set(v.key, notMeasured(failure))
      continue
    }
    out.set(v.key, {
      status: 'measured',
      figures: summarizeRounds(rounds.get(v.key)!),
      targets: targetsFor(v.key),
      notes: {
        validators: PBFT_VALIDATORS.length,
        batch_size: v.batchSize,
        batch_timeout_ms: BENCH_BATCH_TIMEOUT_MS,
        ...(process.env.BENCH_PBFT_OPTIONS ? { option_overrides: process.env.BENCH_PBFT_OPTIONS } : {}),
        sha256: "Node's native (node:crypto), installed by the Node entry (src/node/native-hash.ts)",
        rounds: consecutive
          ? 'consecutive windows of one set of processes per variant, variants one after another (--quick)'
          : 'fresh processes per variant and round, variants interleaved',
        warmup_ms: pbftWarmupMs(options),
        payload_bytes: PAYLOAD_BYTES,
        load: v.window !== undefined ? `closed loop, ${v.window} transactions in flight` : `open loop, ${v.rate} tx/s offered`,
        client:
          v.to === 'primary'
            ? 'non-validator wspeer peer sending CHAIN_TRANSACTION to vp0 (the primary), commits seen through SYNC_BLOCK_ADDED'
            : 'non-validator wspeer peer sending CHAIN_TRANSACTION to the validators in turn (runs of 16), commits seen through SYNC_BLOCK_ADDED',
        latency: 'client send -> block applied at the client',
        validator_cpu_us_per_tx: 'CPU time of all 4 validator processes over the window / transactions committed in it',
      },
    })
  }
  return out
}

/** One PBFT case's result; the first call runs every selected PBFT variant, interleaved. */
export const runPbftCase = suiteCase(runSuite)
