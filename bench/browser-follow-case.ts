/**
 * Case `browser.follow` (issue 20): a tab following a 4-validator PBFT network under 10,000 tx/s
 * of open-loop load keeps within 1 s of the head. Each round starts the PBFT case's processes
 * (bench/pbft-worker.ts: 4 validators and the load client, at PBFT's default batch size and
 * timeout, as `wspeer network` runs them) and a tab in a fresh Chromium context: the page
 * (bench/tab-follower.ts) starts a tab peer as the dashboard does, dials vp0 and discovers the
 * rest. Over one window, the tab reports, for every transaction of every block it applied, the
 * time from the transaction's submission to that block reaching the tab (an upper bound of its lag
 * behind the head, which committed the block after the submission), and the load client reports
 * the same for itself (a Node non-validator linked to every validator).
 */
import { summarizeRounds, type BenchOptions, type MeasuredResult } from './harness.js'
import { openBenchPage, withBenchBrowser, type Browser } from './browser-case.js'
import { linkPbftWorkers, pbftWarmupMs, PBFT_VALIDATORS, spawnPbftWorkers } from './pbft-case.js'
import { withWorkers } from './processes.js'
import type { BenchFollower, FollowMeasurement } from './tab-follower.js'

/** The offered load the issue names. */
export const FOLLOW_RATE = 10_000
/** How far behind the head the tab may be: the 1 s. */
export const FOLLOW_MAX_LAG_MS = 1000
/**
 * PBFT's own defaults for batch size and timeout (500, 1 s): the network a user starts.
 * BENCH_PBFT_OPTIONS overrides them for experiments, as in the PBFT cases; the notes name it.
 */
function consensusOptions(): Record<string, unknown> {
  const extra = process.env.BENCH_PBFT_OPTIONS ? (JSON.parse(process.env.BENCH_PBFT_OPTIONS) as Record<string, unknown>) : {}
  return { validators: PBFT_VALIDATORS, ...extra }
}

type Round = Record<string, number>

async function runRound(browser: Browser, pageUrl: string, options: BenchOptions, round: number, windows: number): Promise<Round[]> {
  const pbftOptions = consensusOptions()
  const workers = spawnPbftWorkers(pbftOptions)
  return withWorkers(workers.all, async () => {
    const urls = await linkPbftWorkers(workers)
    const { context, page, errors } = await openBenchPage(browser, pageUrl, 'benchFollower')
    try {
      const startArgs = { url: urls[0]!, id: `tab-follow${round}`, consensusOptions: pbftOptions, expectIds: PBFT_VALIDATORS }
      await page.evaluate((a) => (globalThis as unknown as { benchFollower: BenchFollower }).benchFollower.start(a.url, a), startArgs)
      await workers.client.request({ cmd: 'open', perSecond: FOLLOW_RATE, to: 'primary', validators: PBFT_VALIDATORS }, 'started')
      const out: Round[] = []
      for (let i = 0; i < windows; i++) {
        const span = { warmupMs: i === 0 ? pbftWarmupMs(options) : 0, durationMs: options.durationMs }
        const [tab, client] = await Promise.all([
          page.evaluate((w) => (globalThis as unknown as { benchFollower: BenchFollower }).benchFollower.measure(w.warmupMs, w.durationMs), span),
          workers.client.request({ cmd: 'measure', ...span }, 'measured', span.warmupMs + span.durationMs + 30_000),
        ])
        out.push(roundOf(tab, client))
      }
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)
      return out
    } finally {
      await context.close()
    }
  })
}

function roundOf(tab: FollowMeasurement, client: Record<string, unknown>): Round {
  const committed = ((client.committed as number) / (client.ms as number)) * 1000
  if (!(tab.transactions > 0)) throw new Error(`the tab applied no transaction in the window (client committed ${Math.round(committed)} tx/s)`)
  process.stderr.write(
    `  ${Math.round(committed)} tx/s committed; tab: ${tab.blocks} blocks, p50 ${tab.p50} ms, p99 ${tab.p99} ms, max ${tab.max} ms, height ${tab.height}; ` +
      `client p99 ${(client.p99 as number).toFixed(1)} ms, height ${client.height as number}\n`,
  )
  return {
    committed_per_s: committed,
    tab_p50_ms: tab.p50,
    tab_p99_ms: tab.p99,
    tab_max_ms: tab.max,
    tab_tx_per_s: (tab.transactions / tab.ms) * 1000,
    tab_blocks_per_s: (tab.blocks / tab.ms) * 1000,
    node_p99_ms: client.p99 as number,
  }
}

export function runBrowserFollow(options: BenchOptions): Promise<MeasuredResult> {
  return withBenchBrowser('tab-follower', async (browser, pageUrl, executablePath) => {
    const consecutive = options.consecutiveWindows === true
    const rounds: Round[] = []
    if (consecutive) rounds.push(...(await runRound(browser, pageUrl, options, 0, options.rounds)))
    else for (let r = 0; r < options.rounds; r++) rounds.push(...(await runRound(browser, pageUrl, options, r, 1)))
    return {
      status: 'measured',
      figures: summarizeRounds(rounds),
      targets: {
        tab_max_ms: { op: '<=', bound: FOLLOW_MAX_LAG_MS },
        committed_per_s: { op: '>=', bound: 0.95 * FOLLOW_RATE, label: `>= 0.95 x ${FOLLOW_RATE}` },
      },
      notes: {
        browser: `Chromium ${browser.version()} headless (playwright-core), ${executablePath}`,
        network: `${PBFT_VALIDATORS.length} PBFT validator processes, PBFT's default batch size and timeout, in-memory ledgers`,
        ...(process.env.BENCH_PBFT_OPTIONS ? { option_overrides: process.env.BENCH_PBFT_OPTIONS } : {}),
        load: `open loop, ${FOLLOW_RATE} tx/s offered to vp0 by a non-validator Node peer (the load client)`,
        tab: "startTabPeer from the browser entry (non-validator, pbft, IndexedDB ledger, default limits), dials vp0 and discovers the others, as the dashboard's tab does",
        tab_ms: "a transaction's submission (its timestamp) -> the tab applied its block: bounds the tab's lag behind the head; max over every transaction in the window",
        node_p99_ms: 'the same for the load client, a Node non-validator linked to every validator',
        warmup_ms: pbftWarmupMs(options),
        window_ms: options.durationMs,
        rounds: consecutive ? 'consecutive windows of one network and one tab (--quick)' : 'fresh processes and browser context per round',
      },
    } satisfies MeasuredResult
  })
}
