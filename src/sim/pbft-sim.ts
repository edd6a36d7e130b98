/**
 * Deterministic simulation of the PBFT consenter: the real plugin (createPbftConsenter, the memory
 * ledger, the wire encoding) on an in-memory network driven by a seeded Scheduler. One seed picks
 * a fault plan (drops, duplicates, reordering, delay spikes, a partition, a crash and restart with
 * an empty ledger, one byzantine replica that equivocates, sends wrong digests, claims another
 * replica's id or stays silent) and a client load; the same seed always gives the same run.
 *
 * Checked after every event: no two honest replicas commit different blocks at the same height
 * (hash, hence state hash, compared; state hashes compared separately too), and no transaction is
 * in two canonical blocks. After the fault phase everything heals except the byzantine replica
 * (at most f faulty); probe requests are then submitted and must be committed by every honest
 * replica within `livenessBoundMs` of virtual time, and so must every transaction of the fault
 * phase that an honest replica accepted, unless that replica crashed after accepting it (pending
 * requests live in memory only).
 *
 * A crash of every replica (`crashAll`, a fraction of seeds' plans, or `plan.crashAll`) restarts
 * each from durable storage that loses its unflushed tail, as a machine losing its write cache
 * does: the ledger keeps the blocks stored SIM_STORE_DELAY_MS after they committed, and the
 * consensus log (memory-consensus-log.ts) the records made durable, each flush taking
 * SIM_LOG_FLUSH_MS. Replicas come back one by one. No block may then differ from one committed
 * before the crash (a fork: a commit a client was told of, undone), and the probes must commit.
 * `promiseLog: false` runs the same without the log, which is how the check was seen to fail.
 *
 * Null requests (PBFT's nullRequestMs) are off unless a plan turns them on: `nullRequests` (a
 * fraction of seeds) or `plan.nullRequestMs`. With them on, no honest block may come from a null
 * request (one block per non-null sequence number), and `primaryRecoveredMs` reports how long after
 * a crash of the first primary every live honest replica was working in a view with another one.
 *
 * In: SimOptions (a seed). Out: SimResult (ok, the violation if any, a trace to replay it).
 *
 *   const result = await runPbftSim({ seed: 7 })
 *   if (!result.ok) console.log(result.violation, result.trace.join('\n'))
 */
import type { BroadcastTarget, NetworkInfo, PeerInfo, Stack } from '../core/consensus/consenter.js'
import { createMemoryConsensusLog, type MemoryConsensusLog } from '../core/consensus/memory-consensus-log.js'
import { createPbftConsenter, type PbftConsenter } from '../core/consensus/pbft/pbft-consenter.js'
import { decodePbftMessage, encodePbftMessage, type PbftMessage } from '../core/consensus/pbft/messages.js'
import { batchDigest } from '../core/consensus/pbft/batch.js'
import { PeerNotFoundError } from '../core/errors.js'
import { createMemoryLedger } from '../core/ledger/memory-ledger.js'
import type { Ledger } from '../core/ledger/ledger.js'
import { toHex } from '../core/util/bytes.js'
import { silentLogger, type Logger } from '../core/util/logger.js'
import type { Envelope } from '../core/wire/envelope.js'
import { MessageType } from '../core/wire/message-type.js'
import { EndpointType, type Block, type PeerEndpoint } from '../core/wire/payload-types.js'
import { encodePayload } from '../core/wire/payloads.js'
import { Scheduler } from './scheduler.js'
import { seededRandom } from './seeded-random.js'

export type ByzantineMode = 'equivocate' | 'wrong-digest' | 'wrong-id' | 'silent'

export interface SimOptions {
  seed: number
  /** Replicas (default 4, f = 1). */
  n?: number
  /** Length of the fault phase in virtual ms (default 20,000). */
  faultMs?: number
  /** Probes must commit on every honest replica this long after the heal (default 60,000 virtual ms). */
  livenessBoundMs?: number
  /** Client transactions during the fault phase (default 80). */
  txs?: number
  /** Probe transactions after the heal (default 5). */
  probes?: number
  /** PBFT batch size (default 8, so runs cross many checkpoints). */
  batchSize?: number
  /** Keep every delivered message in the trace (replay mode). Default false: the last 200 lines. */
  fullTrace?: boolean
  /** Fraction of seeds (0..1) whose plan turns null requests on (default 0); see planFor. */
  nullRequests?: number
  /** Fraction of seeds (0..1) whose plan crashes every replica at once (default 0); see planFor. */
  crashAll?: number
  /** Whether replicas keep a consensus log (default true; it matters only across a crash of all). */
  promiseLog?: boolean
  /** Overrides of the seed's fault plan. */
  plan?: Partial<FaultPlan>
}

export interface FaultPlan {
  dropP: number
  duplicateP: number
  reorderP: number
  spikeP: number
  byzantine: { replica: number; mode: ByzantineMode } | null
  crash: { replica: number; at: number; restartAt: number } | null
  partition: { groups: number[][]; at: number; healAt: number } | null
  /** PBFT nullRequestMs of every replica; 0 = off. */
  nullRequestMs: number
  /** Every replica crashes at `at` and restarts from its durable storage from `restartAt` on, one by one. */
  crashAll: { at: number; restartAt: number } | null
}

export interface SimResult {
  seed: number
  ok: boolean
  violation?: string
  plan: FaultPlan
  /** Virtual ms from the heal until the last probe committed everywhere, when it did. */
  livenessMs?: number
  /**
   * With a crash of replica 0 (the first primary): virtual ms from the crash until every live
   * honest replica was active in a view whose primary is not replica 0, when that happened before
   * the restart.
   */
  primaryRecoveredMs?: number
  /**
   * The longest time, in virtual ms, from an honest replica accepting a fault-phase transaction
   * (one that must commit, see above) to its first commit anywhere, when all of them committed.
   */
  maxAcceptedLatencyMs?: number
  /** Each replica's view and whether it was active in it, when the run ended. */
  views: { id: string; view: number; active: boolean }[]
  height: number
  events: number
  trace: string[]
}

/** The liveness bound the simulation states and checks (virtual ms after the heal). */
export const SIM_LIVENESS_BOUND_MS = 60_000
const TRACE_TAIL = 200
const MAX_EVENTS = 3_000_000
const MODES: ByzantineMode[] = ['equivocate', 'wrong-digest', 'wrong-id', 'silent']

/** The shortest and longest nullRequestMs a plan picks when it turns null requests on. */
export const SIM_NULL_REQUEST_MS: readonly [number, number] = [200, 3000]
/** Virtual ms from a block's commit until its ledger store holds it (crash-all plans): a slow disk, so crashes lose tails. */
export const SIM_STORE_DELAY_MS = 40
/** Virtual ms a consensus log flush takes (crash-all plans); sends wait for it. */
export const SIM_LOG_FLUSH_MS = 1
/** Virtual ms between the restarts of replicas after a crash of all. */
export const SIM_RESTART_STAGGER_MS = 300

/**
 * The fault plan a seed stands for. `nullRequests` is the fraction of seeds whose plan turns null
 * requests on; it is drawn last, so the other faults of a seed do not depend on it.
 */
export function planFor(seed: number, n: number, faultMs: number, nullRequests = 0, crashAllFraction = 0): FaultPlan {
  const rnd = seededRandom(seed ^ 0x5eed)
  const pick = (k: number) => Math.floor(rnd() * k)
  const dropP = rnd() < 0.5 ? rnd() * 0.05 : 0
  const duplicateP = rnd() < 0.3 ? rnd() * 0.05 : 0
  const reorderP = rnd() < 0.3 ? rnd() * 0.2 : 0
  const spikeP = rnd() < 0.3 ? rnd() * 0.02 : 0
  let byzantine: FaultPlan['byzantine'] = null
  if (rnd() < 0.5) {
    const mode = MODES[pick(MODES.length)] as ByzantineMode
    byzantine = { replica: mode === 'equivocate' ? 0 : pick(n), mode }
  }
  let crash: FaultPlan['crash'] = null
  if (rnd() < 0.4) {
    let replica = pick(n)
    if (replica === byzantine?.replica) replica = (replica + 1) % n
    const at = 1000 + Math.floor(rnd() * (faultMs / 2))
    crash = { replica, at, restartAt: at + 1000 + Math.floor(rnd() * (faultMs / 3)) }
  }
  let partition: FaultPlan['partition'] = null
  if (rnd() < 0.4) {
    const at = Math.floor(rnd() * (faultMs / 2))
    const healAt = at + 1000 + Math.floor(rnd() * (faultMs / 3))
    if (rnd() < 0.5) {
      const alone = pick(n)
      partition = { groups: [[alone], [...Array(n).keys()].filter((i) => i !== alone)], at, healAt }
    } else {
      const half = Math.floor(n / 2)
      partition = { groups: [[...Array(half).keys()], [...Array(n - half).keys()].map((i) => i + half)], at, healAt }
    }
  }
  const [lo, hi] = SIM_NULL_REQUEST_MS
  const nullRequestMs = rnd() < nullRequests ? lo + Math.floor(rnd() * (hi - lo)) : 0
  // Drawn after everything else, so the other faults of a seed do not depend on it.
  let crashAll: FaultPlan['crashAll'] = null
  if (rnd() < crashAllFraction) {
    const at = 2000 + Math.floor(rnd() * (faultMs / 2))
    crashAll = { at, restartAt: at + 500 + Math.floor(rnd() * 2000) }
  }
  return { dropP, duplicateP, reorderP, spikeP, byzantine, crash, partition, nullRequestMs, crashAll }
}

interface SimNode {
  index: number
  id: string
  ledger: Ledger
  consenter: PbftConsenter
  crashed: boolean
  epoch: number
  honest: boolean
  /** The consensus log (crash-all plans with promiseLog). */
  consensusLog: MemoryConsensusLog | undefined
  /** Blocks the ledger store holds (crash-all plans): what a restart finds. */
  stored: number
}

class SimStack implements Stack {
  readonly ledger: Ledger
  readonly clock: Scheduler
  readonly log: Logger
  readonly sync: Stack['sync']
  readonly #sim: PbftSim
  readonly #id: string

  readonly consensusLog: MemoryConsensusLog | undefined

  constructor(sim: PbftSim, id: string, ledger: Ledger, consensusLog: MemoryConsensusLog | undefined) {
    this.#sim = sim
    this.#id = id
    this.ledger = ledger
    if (consensusLog !== undefined) this.consensusLog = consensusLog
    this.clock = sim.scheduler
    this.log = sim.fullTrace ? traceLogger((line) => sim.note(line), { peer: id }) : silentLogger
    this.sync = {
      peerHeights: () => new Map(sim.nodes.filter((n) => n.id !== id && !n.crashed).map((n) => [n.id, n.ledger.height()])),
      fetchBlocks: (peerId, start, end) => sim.fetchBlocks(id, peerId, start, end),
    }
  }

  broadcast(msg: Envelope, target: BroadcastTarget = 'all'): number {
    if (target === 'non-validator') return 0
    let count = 0
    for (const node of this.#sim.nodes) {
      if (node.id === this.#id) continue
      this.#sim.send(this.#id, node.id, msg)
      count++
    }
    return count
  }

  unicast(msg: Envelope, peerId: string): void {
    if (this.#sim.node(peerId) === undefined) throw new PeerNotFoundError(peerId)
    this.#sim.send(this.#id, peerId, msg)
  }

  getNetworkInfo(): NetworkInfo {
    const info = (id: string): PeerInfo => ({ id, address: '', role: 'validator' })
    const peers = this.#sim.nodes.filter((n) => n.id !== this.#id).map((n) => info(n.id))
    return { self: info(this.#id), validators: peers, peers }
  }

  getNetworkHandles(): PeerEndpoint[] {
    return this.#sim.nodes.filter((n) => n.id !== this.#id).map((n) => ({ id: n.id, address: '', type: EndpointType.VALIDATOR }))
  }

  async sign(): Promise<Uint8Array> {
    return new Uint8Array(0)
  }

  async verify(): Promise<boolean> {
    return true
  }
}

class PbftSim {
  readonly scheduler = new Scheduler()
  readonly nodes: SimNode[] = []
  readonly trace: string[] = []
  violation: string | undefined
  events = 0
  readonly #opts: Required<Omit<SimOptions, 'plan'>>
  /** Whether replicas have durable storage (a crash-all plan). */
  readonly #durable: boolean
  primaryRecoveredMs: number | undefined
  readonly plan: FaultPlan
  readonly #rnd: () => number
  readonly #validators: string[]
  readonly #linkLast = new Map<string, number>()
  readonly #canon = new Map<number, string>()
  readonly #canonState = new Map<number, string>()
  readonly #canonTx = new Set<string>()
  /** Equivocation: the digest each target group was told, per original digest. */
  readonly #forged = new Map<string, string>()
  #faulty = true
  #partitioned = false
  /** Fault-phase transactions that must commit: accepted by an honest replica that did not crash afterwards. */
  readonly #accepted: { txid: string; node: number; at: number }[] = []
  /** When each transaction was first committed by an honest replica. */
  readonly #firstCommit = new Map<string, number>()

  constructor(options: SimOptions) {
    this.#opts = {
      seed: options.seed,
      n: options.n ?? 4,
      faultMs: options.faultMs ?? 20_000,
      livenessBoundMs: options.livenessBoundMs ?? SIM_LIVENESS_BOUND_MS,
      txs: options.txs ?? 80,
      probes: options.probes ?? 5,
      batchSize: options.batchSize ?? 8,
      fullTrace: options.fullTrace ?? false,
      nullRequests: options.nullRequests ?? 0,
      crashAll: options.crashAll ?? 0,
      promiseLog: options.promiseLog ?? true,
    }
    this.plan = { ...planFor(options.seed, this.#opts.n, this.#opts.faultMs, this.#opts.nullRequests, this.#opts.crashAll), ...options.plan }
    this.#durable = this.plan.crashAll !== null
    this.#rnd = seededRandom(options.seed)
    this.#validators = [...Array(this.#opts.n).keys()].map((i) => `vp${i}`)
    for (let i = 0; i < this.#opts.n; i++) {
      const node = this.#makeNode(i, 0)
      this.nodes.push(node)
    }
  }

  node(id: string): SimNode | undefined {
    return this.nodes.find((n) => n.id === id)
  }

  #makeNode(index: number, epoch: number, from?: SimNode): SimNode {
    const id = this.#validators[index] as string
    const ledger = createMemoryLedger()
    // What survived: the stored blocks, and the consensus log's durable records.
    if (from !== undefined) for (const block of from.ledger.getBlocks(1, from.stored - 1, Number.MAX_SAFE_INTEGER)) ledger.applyBlock(structuredClone(block))
    const defer = (flush: () => void) => this.scheduler.at(this.scheduler.now() + SIM_LOG_FLUSH_MS, flush)
    let consensusLog: MemoryConsensusLog | undefined
    if (this.#durable && this.#opts.promiseLog) consensusLog = from?.consensusLog?.afterCrash({ defer }) ?? createMemoryConsensusLog({ defer })
    const stack = new SimStack(this, id, ledger, consensusLog)
    const consenter = createPbftConsenter(stack, {
      validators: this.#validators,
      batchSize: this.#opts.batchSize,
      nullRequestMs: this.plan.nullRequestMs,
    })
    const honest = this.plan.byzantine?.replica !== index
    const node: SimNode = { index, id, ledger, consenter, crashed: false, epoch, honest, consensusLog, stored: ledger.height() }
    if (honest) ledger.onBlock((block, hash) => this.#checkBlock(node, block, hash))
    if (this.#durable) {
      ledger.onBlock((block) => {
        this.scheduler.at(this.scheduler.now() + SIM_STORE_DELAY_MS, () => {
          if (!node.crashed) node.stored = Math.max(node.stored, block.number + 1)
        })
      })
    }
    return node
  }

  get fullTrace(): boolean {
    return this.#opts.fullTrace
  }

  note(line: string): void {
    this.#note(line)
  }

  #note(line: string): void {
    this.trace.push(`${this.scheduler.now()}ms ${line}`)
    if (!this.#opts.fullTrace && this.trace.length > TRACE_TAIL * 2) this.trace.splice(0, this.trace.length - TRACE_TAIL)
  }

  #checkBlock(node: SimNode, block: Block, hash: Uint8Array): void {
    const h = toHex(hash)
    const known = this.#canon.get(block.number)
    const state = toHex(block.stateHash)
    // Only null requests have no proposer: they must make no block.
    if (block.proposer === '') this.violation ??= `${node.id} committed block ${block.number} for a null request`
    if (known === undefined) {
      this.#canon.set(block.number, h)
      this.#canonState.set(block.number, state)
      for (const tx of block.transactions) {
        if (this.#canonTx.has(tx.txid)) this.violation ??= `transaction ${tx.txid} committed twice (again in block ${block.number})`
        this.#canonTx.add(tx.txid)
        this.#firstCommit.set(tx.txid, this.scheduler.now())
      }
    } else if (known !== h) {
      this.violation ??= `${node.id} committed block ${block.number} ${h.slice(0, 12)}, another honest replica ${known.slice(0, 12)}`
    } else if (this.#canonState.get(block.number) !== state) {
      this.violation ??= `${node.id} has a different state hash at height ${block.number}`
    }
    if (this.#opts.fullTrace) this.#note(`${node.id} commit #${block.number} ${h.slice(0, 8)} txs=${block.transactions.length}`)
  }

  // ---- network ----

  #blocked(a: number, b: number): boolean {
    if (!this.#partitioned || this.plan.partition === null) return false
    const group = (i: number) => this.plan.partition?.groups.findIndex((g) => g.includes(i))
    return group(a) !== group(b)
  }

  send(fromId: string, toId: string, env: Envelope): void {
    const from = this.node(fromId) as SimNode
    const to = this.node(toId) as SimNode
    let payload = env.payload
    if (!from.honest && env.type === MessageType.CONSENSUS) {
      const forged = this.#forge(from, to, payload)
      if (forged === undefined) return
      payload = forged
    }
    const copies = this.#faulty && this.#rnd() < this.plan.duplicateP ? 2 : 1
    for (let c = 0; c < copies; c++) {
      if (this.#faulty && this.#rnd() < this.plan.dropP) continue
      let latency = 1 + Math.floor(this.#rnd() * 3)
      if (this.#faulty && this.#rnd() < this.plan.spikeP) latency += Math.floor(this.#rnd() * 300)
      const link = `${fromId}>${toId}`
      let at = this.scheduler.now() + latency
      const reorder = this.#faulty && this.#rnd() < this.plan.reorderP
      if (!reorder) at = Math.max(at, this.#linkLast.get(link) ?? 0)
      this.#linkLast.set(link, Math.max(at, this.#linkLast.get(link) ?? 0))
      const epoch = to.epoch
      const copy = { ...env, payload: payload.slice() }
      this.scheduler.at(at, () => this.#deliver(from.index, to.index, epoch, copy))
    }
  }

  #deliver(from: number, to: number, epoch: number, env: Envelope): void {
    const target = this.nodes[to] as SimNode
    const source = this.nodes[from] as SimNode
    if (target.crashed || target.epoch !== epoch || source.crashed || this.#blocked(from, to)) return
    if (this.#opts.fullTrace) this.#note(`${source.id}->${target.id} ${describe(env)}`)
    target.consenter.recvMsg(env, source.id)
  }

  /** What a byzantine replica sends instead; undefined to send nothing. */
  #forge(from: SimNode, to: SimNode, payload: Uint8Array): Uint8Array | undefined {
    const mode = this.plan.byzantine?.mode
    if (mode === 'silent') return undefined
    let msg: PbftMessage
    try {
      msg = decodePbftMessage(payload)
    } catch {
      return payload
    }
    // A bundle is forged message by message.
    const forged = msg.t === 'm' ? { t: 'm' as const, m: msg.m.map((inner) => this.#forgeOne(to, inner)) } : this.#forgeOne(to, msg)
    return forged === msg ? payload : encodePbftMessage(forged)
  }

  #forgeOne(to: SimNode, msg: PbftMessage): PbftMessage {
    const mode = this.plan.byzantine?.mode
    if (mode === 'wrong-id' && msg.t !== 'req' && msg.t !== 'm') {
      msg = { ...msg, r: (msg.r + 1 + Math.floor(this.#rnd() * (this.#opts.n - 1))) % this.#opts.n } as PbftMessage
    } else if (mode === 'wrong-digest' && (msg.t === 'p' || msg.t === 'c' || msg.t === 'ck')) {
      msg = { ...msg, d: toHex(Uint8Array.from({ length: 32 }, () => Math.floor(this.#rnd() * 256))) }
    } else if (mode === 'equivocate' && to.index % 2 === 1) {
      if (msg.t === 'pp' && msg.b !== null) {
        const original = batchDigest(msg.b)
        const b = { ...msg.b, timestamp: msg.b.timestamp + 1 }
        this.#forged.set(original, batchDigest(b))
        msg = { ...msg, b }
      } else if (msg.t === 'p' || msg.t === 'c') {
        const alt = this.#forged.get(msg.d)
        if (alt !== undefined) msg = { ...msg, d: alt }
      }
    }
    return msg
  }

  async fetchBlocks(byId: string, peerId: string, start: number, end: number): Promise<Block[]> {
    const by = this.node(byId) as SimNode
    const peer = this.node(peerId)
    if (peer === undefined || peer.crashed || this.#blocked(by.index, peer.index)) throw new PeerNotFoundError(peerId)
    return peer.ledger.getBlocks(start, end, 1000).map((b) => structuredClone(b) as Block)
  }

  // ---- driving ----

  submit(node: SimNode, txid: string): void {
    const tx = { txid, payload: `v${txid}`, timestamp: this.scheduler.now(), origin: node.id }
    node.consenter.recvMsg({ type: MessageType.CHAIN_TRANSACTION, payload: encodePayload(MessageType.CHAIN_TRANSACTION, tx) }, node.id)
  }

  #liveHonest(): SimNode[] {
    return this.nodes.filter((n) => n.honest && !n.crashed)
  }

  async run(): Promise<SimResult> {
    const { faultMs, txs, probes, livenessBoundMs } = this.#opts
    const s = this.scheduler
    const { crash, partition, crashAll } = this.plan
    for (const node of this.nodes) node.consenter.start()
    this.#note(`plan ${JSON.stringify(this.plan)}`)
    for (let i = 0; i < txs; i++) {
      const at = Math.floor(this.#rnd() * faultMs)
      const pick = this.#rnd()
      s.at(at, () => {
        const live = this.#liveHonest()
        const node = live[Math.floor(pick * live.length)]
        if (node === undefined) return
        this.submit(node, `tx${i}`)
        // Pending requests live in memory only here: a crash of their acceptor may lose them.
        const lost = (crash !== null && crash.replica === node.index && crash.at >= s.now()) || (crashAll !== null && crashAll.restartAt >= s.now())
        if (!lost) this.#accepted.push({ txid: `tx${i}`, node: node.index, at: s.now() })
      })
    }
    if (crash !== null) {
      s.at(crash.at, () => this.#crash(crash.replica))
      s.at(crash.restartAt, () => this.#restart(crash.replica))
    }
    if (crashAll !== null) {
      s.at(crashAll.at, () => {
        for (const node of this.nodes) this.#crash(node.index)
      })
      for (let i = 0; i < this.nodes.length; i++) s.at(crashAll.restartAt + i * SIM_RESTART_STAGGER_MS, () => this.#restart(i))
    }
    if (partition !== null) {
      s.at(partition.at, () => {
        this.#partitioned = true
        this.#note(`partition ${JSON.stringify(partition.groups)}`)
      })
      s.at(partition.healAt, () => this.#heal())
    }
    s.at(faultMs, () => {
      this.#faulty = false
      this.#heal()
      for (const node of this.nodes) if (node.crashed) this.#restart(node.index)
      this.#note('faults healed')
    })
    const probeAt = faultMs + 1000
    const probeIds: string[] = []
    s.at(probeAt, () => {
      const live = this.#liveHonest()
      for (let i = 0; i < probes; i++) {
        const id = `probe${i}`
        probeIds.push(id)
        this.submit(live[i % live.length] as SimNode, id)
      }
    })
    const deadline = probeAt + livenessBoundMs
    let livenessMs: number | undefined
    while (this.violation === undefined) {
      const next = s.peek()
      if (next === undefined || next > deadline) break
      s.step()
      if (++this.events > MAX_EVENTS) {
        this.violation = `runaway: more than ${MAX_EVENTS} events`
        break
      }
      if (crash?.replica === 0 && this.primaryRecoveredMs === undefined && (this.nodes[0] as SimNode).crashed && this.#primaryReplaced()) {
        this.primaryRecoveredMs = s.now() - crash.at
      }
      // A state transfer runs on promises: let it finish before virtual time moves on.
      for (let round = 0; round < 100 && this.nodes.some((n) => !n.crashed && n.consenter.busy()); round++) {
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
      if (probeIds.length > 0 && s.now() >= probeAt && this.#probesDone(probeIds)) {
        livenessMs = s.now() - faultMs
        break
      }
    }
    if (this.violation === undefined && livenessMs === undefined) {
      const lag = this.#liveHonest().map((n) => `${n.id}:h${n.ledger.height()}:${JSON.stringify(n.consenter.status())}`)
      const lost = this.#accepted.filter((a) => !this.nodes.every((n) => !n.honest || n.ledger.hasTransaction(a.txid)))
      const lostText = lost.length === 0 ? '' : `; ${lost.length} accepted transactions not committed everywhere, first ${JSON.stringify(lost[0])}`
      this.violation = `liveness: probes or accepted transactions not committed on every honest replica within ${livenessBoundMs} ms after the heal (${lag.join(' ')})${lostText}`
    }
    const views = this.nodes.map((n) => ({ id: n.id, view: n.consenter.status().view ?? 0, active: n.consenter.status().active ?? false }))
    for (const node of this.nodes) node.consenter.stop()
    let maxAcceptedLatencyMs: number | undefined = 0
    for (const a of this.#accepted) {
      const at = this.#firstCommit.get(a.txid)
      if (at === undefined) maxAcceptedLatencyMs = undefined
      else if (maxAcceptedLatencyMs !== undefined) maxAcceptedLatencyMs = Math.max(maxAcceptedLatencyMs, at - a.at)
      if (maxAcceptedLatencyMs === undefined) break
    }
    return {
      seed: this.#opts.seed,
      ok: this.violation === undefined,
      ...(this.violation === undefined ? {} : { violation: this.violation }),
      plan: this.plan,
      ...(livenessMs === undefined ? {} : { livenessMs }),
      ...(this.primaryRecoveredMs === undefined ? {} : { primaryRecoveredMs: this.primaryRecoveredMs }),
      ...(maxAcceptedLatencyMs === undefined ? {} : { maxAcceptedLatencyMs }),
      views,
      height: Math.max(...this.nodes.map((n) => n.ledger.height())),
      events: this.events,
      trace: this.trace,
    }
  }

  /** Every live honest replica is active in a view whose primary is not replica 0. */
  #primaryReplaced(): boolean {
    return this.#liveHonest().every((node) => {
      const status = node.consenter.status()
      return status.active === true && status.primary !== 0
    })
  }

  #probesDone(ids: string[]): boolean {
    return this.nodes.every((n) => !n.honest || (ids.every((id) => n.ledger.hasTransaction(id)) && this.#accepted.every((a) => n.ledger.hasTransaction(a.txid))))
  }

  #heal(): void {
    if (this.#partitioned) this.#note('partition healed')
    this.#partitioned = false
  }

  #crash(index: number): void {
    const node = this.nodes[index] as SimNode
    if (node.crashed) return
    node.crashed = true
    node.consenter.stop()
    this.#note(`crash ${node.id}`)
  }

  #restart(index: number): void {
    const old = this.nodes[index] as SimNode
    if (!old.crashed) return
    const node = this.#makeNode(index, old.epoch + 1, this.#durable ? old : undefined)
    this.nodes[index] = node
    node.consenter.start()
    this.#note(this.#durable ? `restart ${node.id} at height ${node.ledger.height()} (of ${old.ledger.height()}) with ${node.consensusLog?.loaded.length ?? 0} log records` : `restart ${node.id} with an empty ledger`)
  }
}

function traceLogger(write: (line: string) => void, bound: Record<string, unknown>): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    if (level !== 'debug') write(`${level} ${msg} ${JSON.stringify({ ...bound, ...fields })}`)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => traceLogger(write, { ...bound, ...fields }) }
}

function describe(env: Envelope): string {
  if (env.type !== MessageType.CONSENSUS) return `type ${env.type}`
  try {
    return describeMessage(decodePbftMessage(env.payload))
  } catch (err) {
    return `undecodable ${String(err)}`
  }
}

function describeMessage(m: PbftMessage): string {
  switch (m.t) {
    case 'm':
      return `bundle[${m.m.map(describeMessage).join('; ')}]`
    case 'req':
      return `req x${m.x.length}`
    case 'pp':
      return `pp v${m.v} n${m.n} r${m.r} ${m.b === null ? 'null' : batchDigest(m.b).slice(0, 8)}`
    case 'p':
    case 'c':
      return `${m.t} v${m.v} n${m.n} r${m.r} ${m.d.slice(0, 8)}`
    case 'ck':
      return `ck n${m.n} r${m.r} ${m.d.slice(0, 8)}`
    case 'vc':
      return `vc v${m.v} r${m.r} h${m.h} P${m.P.length} Q${m.Q.length}`
    case 'nv':
      return `nv v${m.v} r${m.r} k${m.k[0]} X${m.X.map(([n, d]) => `${n}:${d.slice(0, 4) || 'null'}`).join(',')}`
    case 'fb':
      return `fb r${m.r} ${m.d.slice(0, 8)}`
    case 'rb':
      return `rb r${m.r}`
    case 'vs':
      return `vs v${m.v} r${m.r}`
  }
}

/** Runs one seed. */
export async function runPbftSim(options: SimOptions): Promise<SimResult> {
  return new PbftSim(options).run()
}


