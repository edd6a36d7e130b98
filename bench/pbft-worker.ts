/**
 * One process of the PBFT cases: a validator (a real wspeer peer running the pbft consenter with
 * an in-memory ledger) or the load client (a non-validator wspeer peer). The client dials every
 * validator, sends CHAIN_TRANSACTION envelopes to them in turn, in runs of 16 (a backup submits
 * what it receives and forwards it to the primary as a PBFT request), or every one to vp0, the
 * primary (the latency cases but the `_spread` one), and follows the chain like any
 * non-validator (SYNC_BLOCK_ADDED), so it learns each commit from its own `block-committed`
 * event and times it by txid. No HTTP: one POST per transaction would be what is measured.
 * Hashing is Node's native SHA-256, which the Node entry (src/node/index.ts) installs on import.
 *
 * A follower (`follower: true`, the `followers` case) is a non-validator that only follows: over a
 * window it reports each block's lag, from its proposer's timestamp to its arrival here (one
 * machine, one clock), and how many validators it is linked to. With `membership` and `keyDir` a
 * peer runs in a closed network (keys from `wspeer network`'s layout, ledger in memory), so
 * validators sign blocks and followers verify them (PROTOCOL.md 11.6), as on `npm start`.
 *
 * Commands (bench/processes.ts): listen, dial, closed, open, measure, stop.
 */
import { setPriority } from 'node:os'
import type { Transaction } from '../src/core/wire/payload-types.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { makeEnvelope } from '../src/core/wire/payloads.js'
import { resolveConfig, startNodePeer, type NodePeer } from '../src/node/index.js'
import { quantile } from './harness.js'
import { onCommand, reply, sleep, workerArgs } from './processes.js'

interface Args {
  id: string
  role: 'validator' | 'non-validator'
  consensusOptions: Record<string, unknown>
  limits: Record<string, number>
  payloadBytes: number
  /** A validator's data dir: its ledger then lives in LevelDB there (the durable variant). */
  dataDir?: string
  /** A closed network: the membership file, and this peer's key directory (its ledger stays in memory). */
  membership?: string
  keyDir?: string
  /** Only follows the chain and reports block lag (the `followers` case). */
  follower?: boolean
}

const args = workerArgs<Args>()
/** Niceness of follower processes (the `followers` case). */
const FOLLOWER_NICE = 10
const TXID_PREFIX = `${args.id}-`

let node: NodePeer | undefined

/**
 * Client state: the send time of every transaction not yet seen committed, in a ring indexed by
 * the sequence number in its txid (`client-<seq in base 36>`). A Map keyed by txid strings cost
 * the client about 7% of its CPU in profiles, CPU the validators share the two cores with; the
 * ring needs no string key. It holds more than any window or open-loop backlog; a transaction
 * never committed is overwritten PENDING_RING sends later.
 */
const PENDING_RING = 1 << 17
const sentAt = new Float64Array(PENDING_RING)
/** Sequence number in each slot, -1 when the slot holds nothing in flight. */
const slotSeq = new Float64Array(PENDING_RING).fill(-1)
let inFlight = 0
let committed = 0
let latencies: number[] = []
let recording = false
let onCommitted: (() => void) | undefined
let validators: string[] = []
let next = 0
let seq = 0
let filler = ''
/** A follower's block lags (ms) in the window. */
let lags: number[] = []

/**
 * BENCH_ALLOC_PROF=<dir>: a sampling profile of every allocation in the measured window, garbage
 * included (`--heap-prof` keeps only what is still alive at exit), written as
 * <dir>/<name>.heapprofile for Chrome DevTools. Where the young-generation GC's work comes from.
 */
async function startAllocationProfile(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.BENCH_ALLOC_PROF
  if (!dir) return undefined
  const { Session } = await import('node:inspector/promises')
  const { writeFile } = await import('node:fs/promises')
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  })
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling')
    await writeFile(`${dir}/${args.name}.heapprofile`, JSON.stringify(profile))
    session.disconnect()
  }
}

function makeTx(): Transaction {
  // The payload brings the transaction to about payloadBytes: txid, origin and timestamp included.
  const txid = `${TXID_PREFIX}${(seq++).toString(36)}`
  return { txid, payload: filler, timestamp: Date.now(), origin: args.id }
}

/** Transactions sent to one validator before the next (closed loops, spread open loops). */
const SPREAD_RUN = 16
/** A run longer than any bench: every transaction goes to the first validator, vp0 (the primary). */
const PRIMARY_ONLY_RUN = 2 ** 30

/** Sends `count` transactions, spread over the validators in runs of `run`. */
function send(count: number, run = SPREAD_RUN): void {
  const peer = node!.peer
  for (let i = 0; i < count; i++) {
    const txSeq = seq
    const tx = makeTx()
    const slot = txSeq % PENDING_RING
    if (slotSeq[slot] === -1) inFlight++
    slotSeq[slot] = txSeq
    sentAt[slot] = performance.now()
    const target = validators[Math.floor(next++ / run) % validators.length]!
    try {
      peer.unicast(makeEnvelope(MessageType.CHAIN_TRANSACTION, tx, tx.timestamp), target)
    } catch {
      slotSeq[slot] = -1
      inFlight--
    }
  }
}

function watchCommits(): void {
  node!.peer.on('block-committed', ({ block }) => {
    const now = performance.now()
    const txs = block.transactions
    for (let i = 0; i < txs.length; i++) {
      const txid = txs[i]!.txid
      if (!txid.startsWith(TXID_PREFIX)) continue
      const txSeq = Number.parseInt(txid.slice(TXID_PREFIX.length), 36)
      const slot = txSeq % PENDING_RING
      if (slotSeq[slot] !== txSeq) continue
      slotSeq[slot] = -1
      inFlight--
      committed++
      if (recording) latencies.push(now - sentAt[slot]!)
    }
    onCommitted?.()
  })
}

/** Closed loop: keeps `window` transactions in flight, refilled after every committed block. */
function closedLoop(window: number): void {
  const refill = (): void => {
    const room = window - inFlight
    if (room > 0) send(room)
  }
  onCommitted = refill
  refill()
}

/** Open loop: `perSecond` transactions, sent every millisecond tick as they fall due. */
function openLoop(perSecond: number, run: number): void {
  const startedAt = performance.now()
  let done = 0
  setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * perSecond)
    if (due > done) {
      send(due - done, run)
      done = due
    }
  }, 1)
}

async function listen(): Promise<void> {
  const argv = ['--id', args.id, '--port', '0', '--role', args.role, '--consensus', 'pbft', '--log-level', process.env.BENCH_LOG_LEVEL ?? 'error']
  argv.push('--consensus-options', JSON.stringify(args.consensusOptions))
  if (args.dataDir !== undefined) argv.push('--data-dir', args.dataDir)
  // What each --fsync policy costs the durable case: BENCH_FSYNC=never|checkpoint|block (default block).
  if (args.dataDir !== undefined && process.env.BENCH_FSYNC !== undefined) argv.push('--fsync', process.env.BENCH_FSYNC)
  if (args.membership !== undefined) argv.push('--membership', args.membership)
  if (args.keyDir !== undefined) argv.push('--data-dir', args.keyDir, '--ledger', 'memory')
  const config = resolveConfig({ argv })
  node = await startNodePeer({ ...config, limits: { ...config.limits, ...args.limits } })
  if (args.follower === true) {
    // Followers run at low priority: on a real network they have machines of their own, and here
    // thirty of them at the validators' priority would measure the two cores, not the protocol.
    setPriority(FOLLOWER_NICE)
    node.peer.on('block-committed', ({ block }) => {
      if (recording) lags.push(Date.now() - block.timestamp)
    })
  } else if (args.role === 'non-validator') {
    const overhead = JSON.stringify({ txid: `${args.id}-xxxxxx`, origin: args.id, timestamp: Date.now() }).length
    filler = 'x'.repeat(Math.max(1, args.payloadBytes - overhead))
    watchCommits()
  }
  reply({ reply: 'listening', url: node.address })
}

async function waitForPeers(n: number): Promise<string[]> {
  const peer = node!.peer
  const ids = (): string[] => peer.status().peers.map((p) => p.id)
  while (ids().length < n) await sleep(20)
  return ids()
}

/** A follower's window: block lag p99 and max, and blocks applied. */
function followerFigures(): Record<string, number> {
  const sorted = lags.sort((a, b) => a - b)
  return {
    lagP99: sorted.length === 0 ? Number.NaN : quantile(sorted, 0.99),
    lagMax: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    lagBlocks: sorted.length,
  }
}

/** This process's links at the end of the window: all of them, and those to validators. */
function linkFigures(): Record<string, number> {
  const peers = node!.peer.status().peers
  return { links: peers.length, validatorLinks: peers.filter((p) => p.role === 'validator').length }
}

onCommand(async (m) => {
  switch (m.cmd) {
    case 'listen':
      await listen()
      break
    case 'dial':
      for (const url of m.urls as string[]) {
        node!.peer.chatWithPeer(url).catch((err: unknown) => console.error(`[${args.id}] chat ended:`, (err as Error).message))
      }
      reply({ reply: 'connected', peers: await waitForPeers(m.expect as number) })
      break
    case 'closed':
      validators = m.validators as string[]
      closedLoop(m.window as number)
      reply({ reply: 'started' })
      break
    case 'open':
      validators = m.validators as string[]
      openLoop(m.perSecond as number, m.to === 'spread' ? SPREAD_RUN : PRIMARY_ONLY_RUN)
      reply({ reply: 'started' })
      break
    case 'measure': {
      await sleep(m.warmupMs as number)
      const cpu0 = process.cpuUsage()
      const m0 = node!.peer.metrics()
      const c0 = committed
      latencies = []
      lags = []
      recording = true
      const t0 = performance.now()
      const allocations = await startAllocationProfile()
      await sleep(m.durationMs as number)
      await allocations?.()
      recording = false
      const ms = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      const m1 = node!.peer.metrics()
      const sorted = latencies.sort((a, b) => a - b)
      reply({
        reply: 'measured',
        committed: committed - c0,
        ms,
        cpuMs: (cpu.user + cpu.system) / 1000,
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        ...(process.env.BENCH_PBFT_QUANTILES ? { quantiles: [0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1].map((q) => quantile(sorted, q).toFixed(1)).join(' ') } : {}),
        pending: inFlight,
        height: node!.peer.status().chain.height,
        framesSent: m1.framesSent - m0.framesSent,
        framesReceived: m1.framesReceived - m0.framesReceived,
        blocks: m1.blocksCommitted - m0.blocksCommitted,
        ...(args.follower === true ? followerFigures() : {}),
        ...linkFigures(),
        // State transfers so far (a replica that fell behind and caught up by SYNC_*).
        transfers: (node!.peer.status().consensus as { transfers?: number }).transfers ?? 0,
      })
      break
    }
    case 'stop':
      await Promise.race([node?.stop(), sleep(500)])
      process.exit(0)
  }
})
reply({ reply: 'ready' })
