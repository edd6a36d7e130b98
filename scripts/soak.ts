/**
 * npm run soak -- --minutes M [--rate TX_PER_S] [--batch N]
 *
 * Memory under steady load (issue #15): four `wspeer start` PBFT validators (LevelDB ledgers, as
 * `wspeer network` runs them) and a load client in this process (a non-validator wspeer peer that
 * sends CHAIN_TRANSACTION envelopes to the validators in turn, in a closed loop of at most
 * `--rate` transactions a second, and counts commits from the blocks it follows). Every
 * SOAK_SAMPLE_MS it prints one JSON line: committed transactions and each validator's RSS
 * (/proc/<pid>/status VmRSS). At the end it prints a summary: RSS at the first sample past 100,000
 * committed, at the last sample, and the growth between, against the bound (50 MB between
 * 100,000 and 5,000,000 committed transactions); and the same between the medians of a minute of
 * samples from there and of the last minute, since single readings swing with garbage.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { MessageType } from '../src/core/wire/message-type.js'
import { makeEnvelope } from '../src/core/wire/payloads.js'
import { resolveConfig, startNodePeer } from '../src/node/index.js'
import { freePortRun } from '../src/node/free-ports.js'
import { Cluster } from '../src/node/nemesis/cluster.js'

/** How often RSS is sampled (5 s). */
const SOAK_SAMPLE_MS = 5000
/** Committed transactions at which the baseline RSS is taken (100,000, as the issue sets it). */
const SOAK_BASELINE_COMMITTED = 100_000
/** Allowed RSS growth past the baseline, MB (50). */
const SOAK_GROWTH_BOUND_MB = 50
/** Readings per window of the median comparison (12: one minute). */
const SOAK_MEDIAN_SAMPLES = 12
/** Transactions in flight at most (the closed loop's window). */
const SOAK_WINDOW = 4000

const { values } = parseArgs({ options: { minutes: { type: 'string' }, rate: { type: 'string' }, batch: { type: 'string' } }, strict: true })
const minutes = Number(values.minutes ?? '1')
const rate = Number(values.rate ?? '5000')
const batch = Number(values.batch ?? '100')
if (!(minutes > 0) || !(rate > 0) || !Number.isSafeInteger(batch) || batch < 1) {
  process.stderr.write('Usage: npm run soak -- --minutes <m> [--rate <tx/s>] [--batch <n>]\n')
  process.exit(2)
}

function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? null : Math.round(Number(kb) / 1024)
  } catch {
    return null
  }
}

const dataRoot = mkdtempSync(join(tmpdir(), 'wspeer-soak-'))
const cluster = new Cluster({ validators: 4, basePort: await freePortRun(4), dataRoot, logs: 'files', consensusOptions: { batchSize: batch } })
cluster.startAll()
const client = await startNodePeer({
  ...resolveConfig({ argv: ['--id', 'soak-client', '--port', '0', '--role', 'non-validator', '--consensus', 'pbft', '--validators', cluster.ids.join(','), '--log-level', 'error'] }),
  peers: cluster.ports.map((p) => `ws://127.0.0.1:${p}/chat`),
})
const peer = client.peer
const validatorIds = () => peer.status().peers.filter((p) => p.role === 'validator').map((p) => p.id)
while (validatorIds().length < 4) await new Promise((resolve) => setTimeout(resolve, 100))

let sent = 0
let committed = 0
peer.on('block-committed', ({ block }) => {
  for (const tx of block.transactions) if (tx.origin === 'soak-client') committed++
})
const filler = 'x'.repeat(200)
const startedAt = Date.now()
const tick = setInterval(() => {
  const due = Math.floor(((Date.now() - startedAt) / 1000) * rate)
  const targets = validatorIds()
  while (sent < due && sent - committed < SOAK_WINDOW && targets.length > 0) {
    const tx = { txid: `soak-${sent.toString(36)}`, payload: `k${sent % 1000}=${filler}`, timestamp: Date.now(), origin: 'soak-client' }
    try {
      peer.unicast(makeEnvelope(MessageType.CHAIN_TRANSACTION, tx, tx.timestamp), targets[Math.floor(sent / 16) % targets.length]!)
    } catch {
      break
    }
    sent++
  }
}, 5)

interface Sample {
  at_s: number
  committed: number
  rss_mb: (number | null)[]
}
const samples: Sample[] = []
const deadline = startedAt + minutes * 60_000
while (Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, Math.min(SOAK_SAMPLE_MS, deadline - Date.now())))
  const sample = { at_s: Math.round((Date.now() - startedAt) / 1000), committed, rss_mb: cluster.ids.map((_, i) => rssMb(cluster.pid(i))) }
  samples.push(sample)
  process.stdout.write(`${JSON.stringify(sample)}\n`)
}
clearInterval(tick)
await client.stop()
await cluster.stopAll()
rmSync(dataRoot, { recursive: true, force: true })

const baseline = samples.find((s) => s.committed >= SOAK_BASELINE_COMMITTED)
const last = samples[samples.length - 1]
const growth =
  baseline === undefined || last === undefined ? null : last.rss_mb.map((mb, i) => (mb === null || baseline.rss_mb[i] === null ? null : mb - baseline.rss_mb[i]!))
/**
 * One reading swings by tens of MB with the garbage a process holds until its next major GC, so
 * the same comparison is also made between medians of SOAK_MEDIAN_SAMPLES readings: the first that
 * many from the baseline on, and the last that many.
 */
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const windowMedians = (window: Sample[]): (number | null)[] =>
  cluster.ids.map((_, i) => {
    const values = window.map((s) => s.rss_mb[i]).filter((mb): mb is number => mb !== null)
    return values.length === 0 ? null : median(values)
  })
const baselineAt = baseline === undefined ? -1 : samples.indexOf(baseline)
const baselineWindow = baselineAt < 0 ? [] : samples.slice(baselineAt, baselineAt + SOAK_MEDIAN_SAMPLES)
const lastWindow = samples.slice(Math.max(baselineAt + SOAK_MEDIAN_SAMPLES, samples.length - SOAK_MEDIAN_SAMPLES))
const baselineMedians = windowMedians(baselineWindow)
const medianGrowth =
  baselineWindow.length === 0 || lastWindow.length === 0
    ? null
    : windowMedians(lastWindow).map((mb, i) => {
        const before = baselineMedians[i]
        return mb === null || before === null || before === undefined ? null : mb - before
      })
process.stdout.write(
  `${JSON.stringify({
    summary: true,
    minutes,
    rate,
    batch,
    committed: last?.committed ?? 0,
    committed_per_s: last === undefined ? 0 : Math.round(last.committed / last.at_s),
    baseline: baseline ?? null,
    last: last ?? null,
    growth_mb: growth,
    bound_mb: SOAK_GROWTH_BOUND_MB,
    within_bound: growth === null ? null : growth.every((g) => g !== null && g <= SOAK_GROWTH_BOUND_MB),
    median_window_samples: SOAK_MEDIAN_SAMPLES,
    median_growth_mb: medianGrowth,
    median_within_bound: medianGrowth === null ? null : medianGrowth.every((g) => g !== null && g <= SOAK_GROWTH_BOUND_MB),
    note: 'the bound is set for 5,000,000 committed transactions; a shorter run shows the trend',
  })}\n`,
)
