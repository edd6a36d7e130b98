/**
 * The nemesis: a seeded fault-injection run against real `wspeer start` PBFT validators on
 * loopback, in the manner of Jepsen. It starts the validators, runs a load client that POSTs
 * transactions at a bounded rate to each validator in turn and records every 202, injects the
 * faults of a seeded plan (fault-plan.ts), heals, waits for quiescence (every validator answers,
 * all heads equal, nothing outstanding), then checks:
 * - forks: no two validators were ever seen with different block hashes at one height (each
 *   validator's /status is sampled all along the run);
 * - headsEqual: every validator ends on the same height and head hash;
 * - every acknowledged txid is committed exactly once: GET /transactions/<txid> on every
 *   validator finds it committed, at one (block, index) on all of them. A ledger refuses a second
 *   copy of a txid, so "doubled" counts txids that validators place differently;
 * - moved: just before each kill, the newest acknowledged transactions are looked up on the
 *   validators about to die; one reported committed there must end at that same (block, index).
 *   A validator reports a commit only once its block is written, so a crash can never take back
 *   a commit it reported;
 * - recoveryMs: from each fault's heal to the next commit any validator reports.
 * Acknowledged transactions that never commit are reported one by one (`lostTransactions`), with
 * the validator that acknowledged them and the first kill of that validator after it, if any.
 *
 *   const report = await runNemesis({ seed: 7, minutes: 0.5, validators: 4 })
 *   console.log(JSON.stringify(report)); process.exitCode = report.ok ? 0 : 1
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePortRun } from '../free-ports.js'
import { Cluster, type TxAnswer } from './cluster.js'
import { planFaults, type FaultKind, type PlannedFault } from './fault-plan.js'

/** Transactions per second the load client offers, all validators together (100). */
export const NEMESIS_DEFAULT_RATE = 100
/** Most POSTs the load client has in flight; past it, it waits (a stopped validator holds its share) (256). */
export const NEMESIS_MAX_IN_FLIGHT = 256
/** Validators when --validators is not given (4: f = 1). */
export const NEMESIS_DEFAULT_VALIDATORS = 4
/** How often each validator's /status is sampled (heads for the fork check, commits for recovery) (100 ms). */
export const NEMESIS_SAMPLE_MS = 100
/** Longest wait for the validators to connect at start (60 s). */
export const NEMESIS_START_TIMEOUT_MS = 60_000
/** Longest wait for quiescence after the last heal (120 s). */
export const NEMESIS_QUIESCE_TIMEOUT_MS = 120_000
/** Newest acknowledged transactions looked up on a validator just before it is killed (200). */
export const NEMESIS_PRE_KILL_SAMPLE = 200
/** GET /transactions/<txid> requests in flight during the check (32). */
export const NEMESIS_CHECK_CONCURRENCY = 32

export interface NemesisOptions {
  seed: number
  minutes: number
  validators?: number
  /** Transactions per second (default NEMESIS_DEFAULT_RATE). */
  rate?: number
  /** Fault kinds to plan (default fault-plan.ts DEFAULT_FAULT_KINDS; `kill-all` only when asked for). */
  kinds?: readonly FaultKind[]
  /** Progress lines (default: none). */
  log?: (line: string) => void
  /** Keep each validator's stderr in a file under the run's directory (default true); the directory is then kept. */
  keepLogs?: boolean
  quiesceTimeoutMs?: number
}

export interface FaultReport {
  kind: FaultKind
  /** Validator IDs hit, joined with "+". */
  target: string
  /** When the fault started, ms after the load started. */
  at: number
  /** When it was healed (restart, SIGCONT), ms after the load started. */
  healedAt: number
  /** From the heal to the next commit any validator reported; null if none came before quiescence. */
  recoveryMs: number | null
}

export interface LostTransaction {
  txid: string
  acknowledgedBy: string
  /** ms after the load started. */
  acknowledgedAt: number
  /** What each validator answers for it after quiescence. */
  answers: Record<string, string>
  /** The first kill of the acknowledging validator after the acknowledgement, if any. */
  killedAfter: { fault: number; msAfterAck: number } | null
}

export interface NemesisReport {
  seed: number
  validators: number
  minutes: number
  faults: FaultReport[]
  acknowledged: number
  committed: number
  lost: number
  doubled: number
  /** Transactions a validator reported committed before it was killed that ended elsewhere or nowhere. */
  moved: number
  forks: number
  headsEqual: boolean
  /** Whether the validators reached quiescence (equal heads, nothing outstanding) in time. */
  quiescent: boolean
  /** Every validator ends active in one view (reported; not part of ok). */
  viewsAgree: boolean
  ok: boolean
  lostTransactions: LostTransaction[]
  /** Final height per validator. */
  heights: Record<string, number>
  /** Each validator's PBFT state at the end (view, active, outstanding requests), for a run that did not quiesce. */
  consensus: Record<string, { view?: number; active?: boolean; outstanding?: number } | null>
  /** The run's directory (validator logs), when kept. */
  logDir?: string
}

interface Ack {
  txid: string
  validator: number
  at: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  const n = options.validators ?? NEMESIS_DEFAULT_VALIDATORS
  if (!(Number.isSafeInteger(n) && n >= 4)) throw new RangeError('the nemesis needs at least 4 validators (f >= 1)')
  if (!(options.minutes > 0)) throw new RangeError('minutes must be positive')
  const rate = options.rate ?? NEMESIS_DEFAULT_RATE
  const log = options.log ?? (() => {})
  const keepLogs = options.keepLogs ?? true
  const durationMs = Math.round(options.minutes * 60_000)
  const plan = planFaults({ seed: options.seed, validators: n, durationMs, ...(options.kinds === undefined ? {} : { kinds: options.kinds }) })
  const dataRoot = mkdtempSync(join(tmpdir(), `wspeer-nemesis-${options.seed}-`))
  const cluster = new Cluster({ validators: n, basePort: await freePortRun(n), dataRoot, logs: keepLogs ? 'files' : 'ignore' })
  log(`nemesis seed ${options.seed}: ${n} validators on ports ${cluster.ports[0]}-${cluster.ports[n - 1]}, ${plan.length} faults planned, logs in ${dataRoot}`)
  try {
    cluster.startAll()
    await waitConnected(cluster)
    return await runLoaded(cluster, plan, { ...options, n, rate, log, durationMs, dataRoot: keepLogs ? dataRoot : undefined })
  } finally {
    await cluster.stopAll()
    if (!keepLogs) rmSync(dataRoot, { recursive: true, force: true })
  }
}

async function waitConnected(cluster: Cluster): Promise<void> {
  const deadline = Date.now() + NEMESIS_START_TIMEOUT_MS
  for (;;) {
    const statuses = await Promise.all(cluster.ids.map((_, i) => cluster.status(i)))
    if (statuses.every((s) => s !== undefined && s.peers.length >= cluster.ids.length - 1)) return
    if (Date.now() > deadline) throw new Error(`validators not all connected within ${NEMESIS_START_TIMEOUT_MS} ms`)
    await sleep(200)
  }
}

interface RunContext extends NemesisOptions {
  n: number
  rate: number
  log: (line: string) => void
  durationMs: number
  dataRoot: string | undefined
}

async function runLoaded(cluster: Cluster, plan: readonly PlannedFault[], ctx: RunContext): Promise<NemesisReport> {
  const start = Date.now()
  const now = (): number => Date.now() - start

  // ---- monitor: heads by height (forks) and commit times (recovery) ----
  const hashesAt = new Map<number, Map<string, string>>()
  let forks = 0
  const commits: number[] = []
  let bestHeight = 0
  let monitoring = true
  const monitor = Promise.all(
    cluster.ids.map(async (id, i) => {
      while (monitoring) {
        const s = await cluster.status(i)
        if (s !== undefined) {
          const { height, headHash } = s.chain
          let seen = hashesAt.get(height)
          if (seen === undefined) hashesAt.set(height, (seen = new Map<string, string>()))
          if (![...seen.values()].includes(headHash) && seen.size > 0) {
            forks++
            ctx.log(`FORK at height ${height}: ${id} has ${headHash}, others ${[...seen].map(([v, h]) => `${v}:${h}`).join(' ')}`)
          }
          if (!seen.has(id)) seen.set(id, headHash)
          if (height > bestHeight) {
            bestHeight = height
            commits.push(now())
          }
        }
        await sleep(NEMESIS_SAMPLE_MS)
      }
    }),
  )

  // ---- load ----
  const acks: Ack[] = []
  let loading = true
  let inFlight = 0
  let sent = 0
  const load = (async () => {
    const posts = new Set<Promise<void>>()
    while (loading) {
      const due = Math.floor((now() * ctx.rate) / 1000)
      while (sent < due && inFlight < NEMESIS_MAX_IN_FLIGHT) {
        const seq = sent++
        const validator = seq % ctx.n
        inFlight++
        const post = cluster.submit(validator, `nemesis-${ctx.seed}-${seq}=${seq}`).then((txid) => {
          inFlight--
          if (txid !== undefined) acks.push({ txid, validator, at: now() })
        })
        posts.add(post)
        post.then(() => posts.delete(post), () => posts.delete(post))
      }
      await sleep(10)
    }
    await Promise.all(posts)
  })()

  // ---- faults ----
  const faults: FaultReport[] = []
  /** txid -> "block:index" a validator reported just before a kill. */
  const reported = new Map<string, string>()
  for (const fault of plan) {
    await sleep(fault.atMs - now())
    const target = fault.targets.map((t) => cluster.ids[t]!).join('+')
    const at = now()
    ctx.log(`${at} ms: ${fault.kind} ${target} for ${fault.downMs} ms`)
    if (fault.kind === 'kill' || fault.kind === 'kill-all') {
      await recordReported(cluster, fault.targets, acks, reported)
      await Promise.all(fault.targets.map((t) => cluster.kill(t)))
      await sleep(fault.downMs)
      for (const t of fault.targets) cluster.start(t)
    } else {
      for (const t of fault.targets) cluster.pause(t)
      await sleep(fault.downMs)
      for (const t of fault.targets) cluster.resume(t)
    }
    const healedAt = now()
    faults.push({ kind: fault.kind, target, at, healedAt, recoveryMs: null })
  }
  await sleep(ctx.durationMs - now())
  loading = false
  await load
  ctx.log(`${now()} ms: load stopped; ${sent} sent, ${acks.length} acknowledged; waiting for quiescence`)

  // ---- quiescence ----
  const quiescent = await waitQuiescent(cluster, ctx.quiesceTimeoutMs ?? NEMESIS_QUIESCE_TIMEOUT_MS)
  monitoring = false
  await monitor
  for (const fault of faults) {
    const next = commits.find((t) => t >= fault.healedAt)
    fault.recoveryMs = next === undefined ? null : next - fault.healedAt
  }
  const finals = await Promise.all(cluster.ids.map((_, i) => cluster.status(i)))
  const heights = Object.fromEntries(cluster.ids.map((id, i) => [id, finals[i]?.chain.height ?? -1]))
  const headsEqual = finals.every((s) => s !== undefined && s.chain.headHash === finals[0]!.chain.headHash && s.chain.height === finals[0]!.chain.height)
  ctx.log(`${now()} ms: quiescent ${quiescent}, heads ${headsEqual ? 'equal' : 'differ'} at ${JSON.stringify(heights)}; checking ${acks.length} transactions`)

  // ---- every acknowledged transaction, on every validator ----
  let committed = 0
  let doubled = 0
  const lostTransactions: LostTransaction[] = []
  // One pass over every acknowledged txid on every validator: lost, doubled, and whether one a
  // validator reported committed before a kill still sits where it said (moved).
  let moved = 0
  await eachLimited(acks, NEMESIS_CHECK_CONCURRENCY, async (ack) => {
    const answers = await Promise.all(cluster.ids.map((_, i) => cluster.transaction(i, ack.txid)))
    const place = reported.get(ack.txid)
    if (place !== undefined && !answers.every((a) => a.status === 'committed' && `${a.block}:${a.index}` === place)) {
      moved++
      ctx.log(`MOVED ${ack.txid}: reported committed at ${place} before a kill, now ${answers.map(describe).join(', ')}`)
    }
    const places = new Set(answers.filter((a) => a.status === 'committed').map((a) => (a.status === 'committed' ? `${a.block}:${a.index}` : '')))
    if (places.size === 0) {
      const kill = faults.findIndex((f) => ((f.kind === 'kill' && f.target === cluster.ids[ack.validator]) || f.kind === 'kill-all') && f.at >= ack.at)
      lostTransactions.push({
        txid: ack.txid,
        acknowledgedBy: cluster.ids[ack.validator]!,
        acknowledgedAt: ack.at,
        answers: Object.fromEntries(cluster.ids.map((id, i) => [id, describe(answers[i]!)])),
        killedAfter: kill < 0 ? null : { fault: kill, msAfterAck: faults[kill]!.at - ack.at },
      })
      return
    }
    committed++
    if (places.size > 1) doubled++
  })
  lostTransactions.sort((a, b) => a.acknowledgedAt - b.acknowledgedAt)
  const lost = lostTransactions.length
  const ok = quiescent && headsEqual && forks === 0 && lost === 0 && doubled === 0 && moved === 0 && acks.length > 0
  // Reported, not part of ok: see waitQuiescent.
  const views = finals.map((f) => `${f?.consensus.view ?? '?'}:${f?.consensus.active === false ? 'changing' : 'active'}`)
  const viewsAgree = views.every((v) => v === views[0] && v.endsWith(':active'))
  return {
    seed: ctx.seed,
    validators: ctx.n,
    minutes: ctx.minutes,
    faults,
    acknowledged: acks.length,
    committed,
    lost,
    doubled,
    moved,
    forks,
    headsEqual,
    quiescent,
    viewsAgree,
    ok,
    lostTransactions,
    heights,
    consensus: Object.fromEntries(
      cluster.ids.map((id, i) => {
        const c = finals[i]?.consensus
        return [id, c === undefined ? null : { view: c.view, active: c.active, outstanding: c.outstanding }]
      }),
    ),
    ...(ctx.dataRoot === undefined ? {} : { logDir: ctx.dataRoot }),
  }
}

/** Looks the newest acknowledged transactions up on the validators about to be killed; keeps what they report committed. */
async function recordReported(cluster: Cluster, targets: readonly number[], acks: readonly Ack[], reported: Map<string, string>): Promise<void> {
  const newest = acks.slice(-NEMESIS_PRE_KILL_SAMPLE)
  await Promise.all(
    targets.map((t) =>
      eachLimited(newest, NEMESIS_CHECK_CONCURRENCY, async (ack) => {
        const answer = await cluster.transaction(t, ack.txid)
        if (answer.status === 'committed') reported.set(ack.txid, `${answer.block}:${answer.index}`)
      }),
    ),
  )
}

function describe(answer: TxAnswer): string {
  if (answer.status === 'committed') return `committed ${answer.block}:${answer.index}`
  return answer.status === 'error' ? `error ${answer.detail}` : answer.status
}

/**
 * Every validator answers, on one head, with nothing outstanding, twice in a row. Whether they
 * also agree on the view is reported apart (viewsAgree): a replica left alone in a view change
 * still executes what the others commit, so nothing is lost, but it does not vote (see README).
 */
async function waitQuiescent(cluster: Cluster, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  let calm = 0
  while (Date.now() < deadline) {
    const statuses = await Promise.all(cluster.ids.map((_, i) => cluster.status(i)))
    const first = statuses[0]
    const still =
      first !== undefined &&
      statuses.every(
        (s) => s !== undefined && s.chain.headHash === first.chain.headHash && (s.consensus.outstanding ?? 0) === 0,
      )
    calm = still ? calm + 1 : 0
    if (calm >= 2) return true
    await sleep(250)
  }
  return false
}

async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!)
    }),
  )
}
