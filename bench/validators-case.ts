/**
 * Case `validators` (issue #16): how PBFT scales with the number of validators. A closed network
 * (bench/closed-network.ts) of N validator processes, N = 4, 7, 16, 32, batch 100, with the load
 * client keeping 4,000 transactions in flight spread over the validators in turn; the figure is
 * transactions committed per second at the client. Every validator is linked to every other and
 * the client to each before the load starts; the window opens after a warm-up that grows with N
 * (N processes start their optimizing compilers on two cores at once). Fresh processes per
 * variant and round, variants interleaved. Target: 32 validators commit at least 5,000 tx/s.
 */
import { interleave, notMeasured, selected, suiteCase, summarizeRounds, type BenchOptions, type CaseResult, type ReportKey } from './harness.js'
import { withClosedNetwork } from './closed-network.js'
import { BENCH_BATCH_TIMEOUT_MS, pbftWarmupMs } from './pbft-case.js'

/** Transactions in flight (as pbft.batch100). */
export const VALIDATORS_WINDOW = 4000
/** Warm-up per validator beyond the PBFT cases' own (250 ms): 32 processes warm up on two cores. */
export const VALIDATORS_WARMUP_PER_PEER_MS = 250
const VARIANTS: { key: ReportKey; n: number }[] = [
  { key: 'validators.n4', n: 4 },
  { key: 'validators.n7', n: 7 },
  { key: 'validators.n16', n: 16 },
  { key: 'validators.n32', n: 32 },
]

type Round = Record<string, number>

async function runVariant(n: number, options: BenchOptions): Promise<Round> {
  return withClosedNetwork(n, 0, { batchSize: 100, batchTimeoutMs: BENCH_BATCH_TIMEOUT_MS }, async (net) => {
    await net.client.request({ cmd: 'closed', window: VALIDATORS_WINDOW, validators: net.ids }, 'started')
    const span = { warmupMs: pbftWarmupMs(options) + n * VALIDATORS_WARMUP_PER_PEER_MS, durationMs: options.durationMs }
    const answers = await Promise.all(net.all.map((w) => w.request({ cmd: 'measure', ...span }, 'measured', span.warmupMs + span.durationMs + 60_000)))
    const client = answers[n]!
    const committed = client.committed as number
    if (!(committed > 0)) {
      const heights = answers.slice(0, n).map((a) => a.height as number)
      throw new Error(`nothing committed with ${n} validators (client height ${client.height as number}, validators' ${Math.min(...heights)}..${Math.max(...heights)})`)
    }
    const validatorCpuMs = answers.slice(0, n).reduce((sum, a) => sum + (a.cpuMs as number), 0)
    const round = {
      committed_per_s: (committed / (client.ms as number)) * 1000,
      p99_ms: client.p99 as number,
      validator_cpu_us_per_tx: (validatorCpuMs * 1000) / committed,
    }
    // Each process's share over its own window: a starved process's timers, and so its window, run late.
    const share = (a: Record<string, unknown>): number => (a.cpuMs as number) / (a.ms as number)
    const validatorShare = answers.slice(0, n).reduce((sum, a) => sum + share(a), 0)
    const window = `${(validatorShare * 100).toFixed(0)}% of a core for the validators, ${(share(client) * 100).toFixed(0)}% for the client`
    process.stderr.write(`  validators ${n}: ${Math.round(round.committed_per_s)} tx/s, p99 ${round.p99_ms.toFixed(0)} ms, ${round.validator_cpu_us_per_tx.toFixed(1)} us CPU/tx (${window})\n`)
    return round
  })
}

async function runSuite(only: readonly string[], options: BenchOptions): Promise<Map<ReportKey, CaseResult>> {
  const variants = VARIANTS.filter((v) => selected(v.key, only) || selected('validators', only))
  const rounds = new Map<ReportKey, Round[]>(variants.map((v) => [v.key, []]))
  const failures = new Map<ReportKey, string>()
  for (let r = 0; r < options.rounds; r++) {
    process.stderr.write(`  validators round ${r + 1}\n`)
    for (const v of interleave(variants, r)) {
      if (failures.has(v.key)) continue
      try {
        rounds.get(v.key)!.push(await runVariant(v.n, options))
      } catch (err) {
        failures.set(v.key, `failed: ${(err as Error).message}`)
      }
    }
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
      targets: v.n === 32 ? { committed_per_s: { op: '>=', bound: 5000 } } : {},
      notes: {
        validators: v.n,
        batch_size: 100,
        load: `closed loop, ${VALIDATORS_WINDOW} transactions in flight, spread over the validators`,
        warmup_ms: pbftWarmupMs(options) + v.n * VALIDATORS_WARMUP_PER_PEER_MS,
        network: 'closed membership (validators sign blocks for followers), every validator its own process',
      },
    })
  }
  return out
}

/** One `validators` variant's result; the first call runs every selected variant, interleaved. */
export const runValidatorsCase = suiteCase(runSuite)
