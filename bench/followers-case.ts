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
 * The tab variants (`followers.tabs25`, `followers.tabs50`, the issue's 1,000 tx/s) run the same
 * network with T tabs instead of Node followers: each a fresh Chromium context running the
 * `browser.follow` page (bench/tab-follower.ts: a tab peer as the dashboard starts one, verifying
 * blocks against the membership it fetches from vp0, dialing vp0 and discovering the rest), all in
 * one headless Chromium. Their figures: tab_lag_p99_ms / tab_lag_max_ms (the worst tab's block age
 * on arrival, as for Node followers; a tab that applied no block in the window counts the whole
 * window), tabs_unlinked (tabs with no link at the end), tabs_without_blocks, and the links the
 * load client and the validators still hold (client_validator_links, validator_links_min).
 */
import { interleave, notMeasured, selected, suiteCase, summarizeRounds, type BenchOptions, type CaseResult, type MeasuredResult, type ReportKey } from './harness.js'
import { withClosedNetwork, type ClosedNetwork } from './closed-network.js'
import { pbftWarmupMs } from './pbft-case.js'
import { openBenchPage, withBenchBrowser, type Browser } from './browser-case.js'
import type { BenchFollower, FollowMeasurement } from './tab-follower.js'
import type { LogLevel } from '../src/browser/index.js'

/** Offered load (the 5,000 tx/s). */
export const FOLLOWERS_RATE = 5000
/** Offered load of the tab variants (the 1,000 tx/s). */
export const FOLLOWERS_TABS_RATE = 1000
/** How far behind the head every tab may be at most (the 2 s). */
export const FOLLOWERS_TABS_MAX_LAG_MS = 2000
/** Tabs that load their page and start their peer together: two cores also serve the network. */
export const TABS_OPENING_AT_ONCE = 5
/** Followers find the validators by discovery (a 5 s period), so the window starts after it. */
export const FOLLOWERS_MIN_WARMUP_MS = 7000

interface Variant {
  key: ReportKey
  followers: number
  tabs: number
}
const VARIANTS: Variant[] = [
  { key: 'followers.node0', followers: 0, tabs: 0 },
  { key: 'followers.node10', followers: 10, tabs: 0 },
  { key: 'followers.node30', followers: 30, tabs: 0 },
  { key: 'followers.tabs25', followers: 0, tabs: 25 },
  { key: 'followers.tabs50', followers: 0, tabs: 50 },
]
const rateOf = (v: Variant): number => (v.tabs > 0 ? FOLLOWERS_TABS_RATE : FOLLOWERS_RATE)

type Round = Record<string, number>
type Tab = Awaited<ReturnType<typeof openBenchPage>>
interface BenchBrowser {
  browser: Browser
  pageUrl: string
}

/** Opens `count` tabs (each a fresh context) that dial `url`; each has started once it first linked to a validator. */
async function openTabs(at: BenchBrowser, ids: string[], url: string, count: number, opened: Tab[]): Promise<void> {
  // BENCH_TAB_LOG=warn (or info, debug): each tab's log at that level, on stderr with its ID.
  const logLevel = process.env.BENCH_TAB_LOG as LogLevel | undefined
  for (let first = 0; first < count; first += TABS_OPENING_AT_ONCE) {
    const tabIds = Array.from({ length: Math.min(TABS_OPENING_AT_ONCE, count - first) }, (_, j) => `tab-f${first + j}`)
    await Promise.all(
      tabIds.map(async (id) => {
        const tab = await openBenchPage(at.browser, at.pageUrl, 'benchFollower')
        opened.push(tab)
        if (logLevel !== undefined) tab.page.on('console', (m) => process.stderr.write(`[${id}] ${m.text()}\n`))
        const args = { url, id, consensusOptions: { validators: ids }, expectIds: ids, anyOf: true, ...(logLevel === undefined ? {} : { logLevel }) }
        await tab.page.evaluate((a) => (globalThis as unknown as { benchFollower: BenchFollower }).benchFollower.start(a.url, a), args)
      }),
    )
  }
}

async function runVariant(v: Variant, options: BenchOptions, at: BenchBrowser | undefined): Promise<Round> {
  return withClosedNetwork(4, v.followers, {}, async (net) => {
    const tabs: Tab[] = []
    try {
      if (v.tabs > 0) await openTabs(at!, net.ids, net.urls[0]!, v.tabs, tabs)
      const round = await measure(v, net, tabs, options)
      const errors = tabs.flatMap((t) => t.errors)
      if (errors.length > 0) throw new Error(`page errors: ${errors.slice(0, 3).join('; ')}`)
      return round
    } finally {
      await Promise.all(tabs.map((t) => t.context.close().catch(() => undefined)))
    }
  })
}

async function measure(v: Variant, net: ClosedNetwork, tabs: Tab[], options: BenchOptions): Promise<Round> {
  await net.client.request({ cmd: 'open', perSecond: rateOf(v), to: 'primary', validators: net.ids }, 'started')
  const span = { warmupMs: Math.max(pbftWarmupMs(options), FOLLOWERS_MIN_WARMUP_MS), durationMs: options.durationMs }
  const [answers, tabAnswers] = await Promise.all([
    Promise.all(net.all.map((w) => w.request({ cmd: 'measure', ...span }, 'measured', span.warmupMs + span.durationMs + 60_000))),
    Promise.all(tabs.map((t) => t.page.evaluate((w) => (globalThis as unknown as { benchFollower: BenchFollower }).benchFollower.measure(w.warmupMs, w.durationMs), span))),
  ])
  const n = net.validators.length
  const client = answers[n]!
  const committed = client.committed as number
  if (!(committed > 0)) throw new Error(`nothing committed with ${v.followers} followers and ${v.tabs} tabs`)
  const validatorCpuMs = answers.slice(0, n).reduce((sum, a) => sum + (a.cpuMs as number), 0)
  const followerAnswers = answers.slice(n + 1)
  const round: Round = {
    committed_per_s: (committed / (client.ms as number)) * 1000,
    validator_cpu_us_per_tx: (validatorCpuMs * 1000) / committed,
    p99_ms: client.p99 as number,
  }
  let line = `  ${v.key}: ${Math.round(round.committed_per_s!)} tx/s, validators ${round.validator_cpu_us_per_tx!.toFixed(1)} us CPU/tx`
  if (followerAnswers.length > 0) {
    round.follower_lag_p99_ms = Math.max(...followerAnswers.map((a) => a.lagP99 as number))
    round.follower_lag_max_ms = Math.max(...followerAnswers.map((a) => a.lagMax as number))
    round.followers_unlinked = followerAnswers.filter((a) => (a.validatorLinks as number) === 0).length
    round.followers_without_blocks = followerAnswers.filter((a) => (a.lagBlocks as number) === 0).length
    line += `, worst follower lag p99 ${round.follower_lag_p99_ms.toFixed(0)} ms max ${round.follower_lag_max_ms.toFixed(0)} ms, ${round.followers_unlinked} without a validator link`
  }
  if (tabAnswers.length > 0) {
    Object.assign(round, tabFigures(tabAnswers, answers.slice(0, n), client))
    line += `, worst tab lag p99 ${round.tab_lag_p99_ms!.toFixed(0)} ms max ${round.tab_lag_max_ms!.toFixed(0)} ms, ${round.tabs_unlinked} tabs unlinked, ${round.tabs_without_blocks} without blocks, the client's links ${client.links as number}, tabs' links ${tabAnswers.map((t) => t.links).join(' ')}`
  }
  process.stderr.write(`${line}\n`)
  // BENCH_FOLLOWERS_DEBUG=1: every process's CPU over the window (validators, client, followers).
  if (process.env.BENCH_FOLLOWERS_DEBUG) process.stderr.write(`    CPU ms: ${answers.map((a) => Math.round(a.cpuMs as number)).join(' ')}; follower blocks: ${followerAnswers.map((a) => String(a.lagBlocks)).join(' ')}\n`)
  return round
}

/**
 * The tab figures of one round. A tab that applied no block in the window has no lag to report:
 * it counts in tabs_without_blocks and its lag is the whole window (it is at least that far behind).
 */
function tabFigures(tabs: FollowMeasurement[], validators: Record<string, unknown>[], client: Record<string, unknown>): Round {
  const lagOf = (t: FollowMeasurement, q: 'blockAgeP99' | 'blockAgeMax'): number => (t.blocks > 0 ? t[q] : t.ms)
  return {
    tab_lag_p99_ms: Math.max(...tabs.map((t) => lagOf(t, 'blockAgeP99'))),
    tab_lag_max_ms: Math.max(...tabs.map((t) => lagOf(t, 'blockAgeMax'))),
    tabs_unlinked: tabs.filter((t) => t.links === 0).length,
    tabs_without_blocks: tabs.filter((t) => t.blocks === 0).length,
    client_validator_links: client.validatorLinks as number,
    validator_links_min: Math.min(...validators.map((a) => a.validatorLinks as number)),
  }
}

function targetsFor(v: Variant): MeasuredResult['targets'] {
  if (v.key === 'followers.node30') return { cpu_per_tx_ratio: { op: '<=', bound: 1.25 }, follower_lag_max_ms: { op: '<=', bound: 1000 } }
  if (v.key === 'followers.tabs50') {
    return {
      tab_lag_max_ms: { op: '<=', bound: FOLLOWERS_TABS_MAX_LAG_MS },
      tabs_unlinked: { op: '<=', bound: 0 },
      client_validator_links: { op: '>=', bound: 4 },
      validator_links_min: { op: '>=', bound: 3 },
    }
  }
  return {}
}

async function runRounds(variants: Variant[], options: BenchOptions, at: BenchBrowser | undefined): Promise<Map<ReportKey, CaseResult>> {
  const rounds = new Map<ReportKey, Round[]>(variants.map((v) => [v.key, []]))
  const failures = new Map<ReportKey, string>()
  for (let r = 0; r < options.rounds; r++) {
    process.stderr.write(`  followers round ${r + 1}\n`)
    const got = new Map<ReportKey, Round>()
    for (const v of interleave(variants, r)) {
      if (failures.has(v.key)) continue
      try {
        got.set(v.key, await runVariant(v, options, at))
      } catch (err) {
        failures.set(v.key, `failed: ${(err as Error).message}`)
      }
    }
    // The CPU ratio compares Node followers with none at the same rate, round by round.
    const base = got.get('followers.node0')?.validator_cpu_us_per_tx
    for (const [key, round] of got) {
      if (base !== undefined && !key.startsWith('followers.tabs')) round.cpu_per_tx_ratio = round.validator_cpu_us_per_tx! / base
      rounds.get(key)!.push(round)
    }
  }
  const out = new Map<ReportKey, CaseResult>()
  for (const v of variants) {
    const failure = failures.get(v.key)
    if (failure !== undefined || rounds.get(v.key)!.length === 0) {
      out.set(v.key, notMeasured(failure ?? 'no round completed'))
      continue
    }
    out.set(v.key, { status: 'measured', figures: summarizeRounds(rounds.get(v.key)!), targets: targetsFor(v), notes: notesFor(v, at) })
  }
  return out
}

function notesFor(v: Variant, at: BenchBrowser | undefined): MeasuredResult['notes'] {
  const common = {
    validators: 4,
    network: 'closed membership: validators sign every 16th block and their head at rest, followers verify f+1 signatures',
    batch: "PBFT's defaults (500 transactions, 1 s timeout)",
    load: `open loop, ${rateOf(v)} tx/s to the primary`,
    lag: 'now - block proposer timestamp when the block reached the follower (same machine clock)',
    rounds: 'fresh processes per variant and round, variants interleaved',
  }
  if (v.tabs === 0) return { ...common, followers: v.followers, follower_priority: 'followers run at niceness 10: on a real network they have machines of their own' }
  return {
    ...common,
    tabs: v.tabs,
    browser: `Chromium ${at!.browser.version()} headless, one context per tab`,
    tab: `the dashboard's tab peer (startTabPeer: at most 3 links, membership fetched from vp0), dialing vp0; ${TABS_OPENING_AT_ONCE} tabs start at a time`,
  }
}

async function runSuite(only: readonly string[], options: BenchOptions): Promise<Map<ReportKey, CaseResult>> {
  const variants = VARIANTS.filter((v) => selected(v.key, only) || selected('followers', only))
  // The Node followers' ratio needs the no-follower baseline in every round.
  if (variants.some((v) => v.followers > 0) && !variants.includes(VARIANTS[0]!)) variants.unshift(VARIANTS[0]!)
  if (!variants.some((v) => v.tabs > 0)) return runRounds(variants, options, undefined)
  return withBenchBrowser('tab-follower', (browser, pageUrl) => runRounds(variants, options, { browser, pageUrl }))
}

/** One `followers` variant's result; the first call runs every selected variant, interleaved. */
export const runFollowersCase = suiteCase(runSuite)
