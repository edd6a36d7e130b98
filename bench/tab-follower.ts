/**
 * The page module of the `browser.follow` case (bench/browser-follow-case.ts bundles it with Vite
 * and serves it): a tab peer from wspeer's browser entry, exactly as the dashboard starts one (a
 * non-validator running the network's PBFT consenter, its chain in IndexedDB, default limits), that
 * follows a PBFT network under load. For every transaction in every block the tab applies, it
 * takes the time from the transaction's submission (its `timestamp`, set by the load client on the
 * same machine's clock) to the tab applying its block: the head committed that block after the
 * submission, so this time bounds how far the tab is behind the head. For every block it also takes
 * the block's age on arrival (now - the proposer's timestamp), the figure the Node followers of the
 * `followers` case report. The driver calls it through `window.benchFollower`: start(url, ...) ->
 * the peer IDs once linked to every one of `expectIds` (or, with `anyOf`, to one of them),
 * measure(warmup, duration) -> counts, latencies and links, stop().
 */
import { startTabPeer, type ConsenterOptions, type LogLevel, type TabPeer } from '../src/browser/index.js'
import { quantile } from './harness.js'
import { sleep, waitForLinks } from './tab-page.js'

let tab: TabPeer | undefined
let recording = false
let latencies: number[] = []
let blockAges: number[] = []
let transactions = 0
let blocks = 0

export interface FollowMeasurement {
  transactions: number
  blocks: number
  ms: number
  p50: number
  p99: number
  max: number
  height: number
  /** Block age on arrival (now - proposer timestamp), p99 and max over the window's blocks. */
  blockAgeP99: number
  blockAgeMax: number
  /** Links at the end of the window. */
  links: number
}

export interface BenchFollower {
  start(url: string, options: { id: string; consensusOptions: ConsenterOptions; expectIds: string[]; anyOf?: boolean; logLevel?: LogLevel }): Promise<string[]>
  measure(warmupMs: number, durationMs: number): Promise<FollowMeasurement>
  stop(): Promise<void>
}

const benchFollower: BenchFollower = {
  async start(url, options) {
    tab = await startTabPeer({ connect: url, id: options.id, consensus: 'pbft', consensusOptions: options.consensusOptions, logLevel: options.logLevel ?? 'error' })
    const peer = tab.peer
    peer.on('block-committed', ({ block }) => {
      const now = Date.now()
      blocks++
      const txs = block.transactions
      transactions += txs.length
      if (!recording) return
      blockAges.push(now - block.timestamp)
      for (let i = 0; i < txs.length; i++) latencies.push(now - txs[i]!.timestamp)
    })
    // The tab dials the first URL and discovers the rest, as a dashboard tab does.
    return waitForLinks(peer, (ids) => (options.anyOf === true ? options.expectIds.some((id) => ids.includes(id)) : options.expectIds.every((id) => ids.includes(id))))
  },
  async measure(warmupMs, durationMs) {
    await sleep(warmupMs)
    const t0 = performance.now()
    const tx0 = transactions
    const b0 = blocks
    latencies = []
    blockAges = []
    recording = true
    await sleep(durationMs)
    recording = false
    const ms = performance.now() - t0
    const sorted = latencies.sort((a, b) => a - b)
    const ages = blockAges.sort((a, b) => a - b)
    return {
      transactions: transactions - tx0,
      blocks: blocks - b0,
      ms,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
      height: tab?.peer.status().chain.height ?? 0,
      blockAgeP99: quantile(ages, 0.99),
      blockAgeMax: ages.length === 0 ? Number.NaN : ages[ages.length - 1]!,
      links: tab?.peer.status().peers.length ?? 0,
    }
  },
  async stop() {
    await tab?.stop()
  },
}

;(globalThis as unknown as { benchFollower: BenchFollower }).benchFollower = benchFollower
