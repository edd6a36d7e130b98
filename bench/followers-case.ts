/**
 * Case `followers` (issue #16): what followers cost the validators. A closed 4-validator PBFT
 * network (bench/closed-network.ts: PBFT's own batch size and timeout, 500 and 1 s, as
 * `wspeer network` runs them; validators sign blocks, followers verify them)
 * under 5,000 tx/s of open-loop load to the primary, with F Node followers (non-validators, each
 * its own process, linked to vp0 and finding the rest by discovery) for F = 0, 10 and 30, fresh
 * processes per variant and round, variants interleaved. Figures per variant:
 *   - committed_per_s at the load client;
 *   - validator_cpu_us_per_tx: the 4 validator processes' CPU over the window / committed;
 *   - cpu_per_tx_ratio: that over the same figure with no followers in the same round;
 *   - follower_lag_p99_ms / follower_lag_max_ms: the worst follower's p99 and maximum, over the
 *     window, of a block's age when it reached the follower (now - the proposer's timestamp:
 *     consensus, proof and delivery together, an upper bound of its lag behind the head);
 *   - followers_unlinked: followers with no validator link at the end (fed by relays, or not).
 * Tabs: `browser.follow` measures one tab at 10,000 tx/s; the many-tab variant is not built yet.
 */
import { interleave, notMeasured, selected, suiteCase, summarizeRounds, type BenchOptions, type CaseResult, type MeasuredResult, type ReportKey } from './harness.js'
import { withClosedNetwork } from './closed-network.js'
import { pbftWarmupMs } from './pbft-case.js'

/** Offered load (the 5,000 tx/s). */
export const FOLLOWERS_RATE = 5000
/** Followers find the validators by discovery (a 5 s period), so the window starts after it. */
export const FOLLOWERS_MIN_WARMUP_MS = 7000
const VARIANTS: { key: ReportKey; followers: number }[] = [
  { key: 'followers.node0', followers: 0 },
  { key: 'followers.node10', followers: 10 },
  { key: 'followers.node30', followers: 30 },
]

type Round = Record<string, number>

async function runVariant(followers: number, options: BenchOptions): Promise<Round> {
  return withClosedNetwork(4, followers, {}, async (net) => {
    await net.client.request({ cmd: 'open', perSecond: FOLLOWERS_RATE, to: 'primary', validators: net.ids }, 'started')
    const span = { warmupMs: Math.max(pbftWarmupMs(options), FOLLOWERS_MIN_WARMUP_MS), durationMs: options.durationMs }
    const answers = await Promise.all(net.all.map((w) => w.request({ cmd: 'measure', ...span }, 'measured', span.warmupMs + span.durationMs + 60_000)))
    const client = answers[net.validators.length]!
    const committed = client.committed as number
    if (!(committed > 0)) throw new Error(`nothing committed with ${followers} followers`)
    const validatorCpuMs = answers.slice(0, net.validators.length).reduce((sum, a) => sum + (a.cpuMs as number), 0)
    const followerAnswers = answers.slice(net.validators.length + 1)
    const round: Round = {
      committed_per_s: (committed / (client.ms as number)) * 1000,
      validator_cpu_us_per_tx: (validatorCpuMs * 1000) / committed,
      p99_ms: client.p99 as number,
    }
    if (followerAnswers.length > 0) {
      round.follower_lag_p99_ms = Math.max(...followerAnswers.map((a) => a.lagP99 as number))
      round.follower_lag_max_ms = Math.max(...followerAnswers.map((a) => a.lagMax as number))
      round.followers_unlinked = followerAnswers.filter((a) => (a.validatorLinks as number) === 0).length
      round.followers_without_blocks = followerAnswers.filter((a) => (a.lagBlocks as number) === 0).length
    }
    process.stderr.write(
      `  followers ${followers}: ${Math.round(round.committed_per_s!)} tx/s, validators ${round.validator_cpu_us_per_tx!.toFixed(1)} us CPU/tx` +
        (followerAnswers.length > 0 ? `, worst follower lag p99 ${round.follower_lag_p99_ms!.toFixed(0)} ms max ${round.follower_lag_max_ms!.toFixed(0)} ms, ${round.followers_unlinked} without a validator link` : '') +
        '\n',
    )
    // BENCH_FOLLOWERS_DEBUG=1: every process's CPU over the window (validators, client, followers).
    if (process.env.BENCH_FOLLOWERS_DEBUG) process.stderr.write(`    CPU ms: ${answers.map((a) => Math.round(a.cpuMs as number)).join(' ')}; follower blocks: ${followerAnswers.map((a) => String(a.lagBlocks)).join(' ')}\n`)
    return round
  })
}

function targetsFor(key: ReportKey): MeasuredResult['targets'] {
  if (key !== 'followers.node30') return {}
  return { cpu_per_tx_ratio: { op: '<=', bound: 1.25 }, follower_lag_max_ms: { op: '<=', bound: 1000 } }
}

async function runSuite(only: readonly string[], options: BenchOptions): Promise<Map<ReportKey, CaseResult>> {
  const variants = VARIANTS.filter((v) => selected(v.key, only) || selected('followers', only))
  // The ratio needs the no-follower baseline in every round.
  if (!variants.some((v) => v.followers === 0)) variants.unshift(VARIANTS[0]!)
  const rounds = new Map<ReportKey, Round[]>(variants.map((v) => [v.key, []]))
  const failures = new Map<ReportKey, string>()
  for (let r = 0; r < options.rounds; r++) {
    process.stderr.write(`  followers round ${r + 1}\n`)
    const got = new Map<number, Round>()
    for (const v of interleave(variants, r)) {
      if (failures.has(v.key)) continue
      try {
        got.set(v.followers, await runVariant(v.followers, options))
      } catch (err) {
        failures.set(v.key, `failed: ${(err as Error).message}`)
      }
    }
    const base = got.get(0)?.validator_cpu_us_per_tx
    for (const v of variants) {
      const round = got.get(v.followers)
      if (round === undefined) continue
      if (base !== undefined) round.cpu_per_tx_ratio = round.validator_cpu_us_per_tx! / base
      rounds.get(v.key)!.push(round)
    }
  }
  const out = new Map<ReportKey, CaseResult>()
  for (const v of variants) {
    const failure = failures.get(v.key)
    if (failure !== undefined || rounds.get(v.key)!.length === 0) {
      out.set(v.key, notMeasured(failure ?? 'no round completed'))
      continue
    }
    out.set(v.key, {
      status: 'measured',
      figures: summarizeRounds(rounds.get(v.key)!),
      targets: targetsFor(v.key),
      notes: {
        validators: 4,
        followers: v.followers,
        network: 'closed membership: validators sign every 16th block and their head at rest, followers verify f+1 signatures',
        batch: "PBFT's defaults (500 transactions, 1 s timeout)",
        load: `open loop, ${FOLLOWERS_RATE} tx/s to the primary`,
        lag: 'now - block proposer timestamp when the block reached the follower (same machine clock)',
        rounds: 'fresh processes per variant and round, variants interleaved',
        follower_priority: 'followers run at niceness 10: on a real network they have machines of their own',
      },
    })
  }
  return out
}

/** One `followers` variant's result; the first call runs every selected variant, interleaved. */
export const runFollowersCase = suiteCase(runSuite)
