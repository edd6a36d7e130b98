/**
 * A fake network of consenter Stacks, for testing consenters (noops, PBFT) without peers, sockets
 * or codecs. N stacks share one ManualClock; messages sent through a Stack queue in the network
 * and are delivered by `flush()`, one at a time, to the target's attached consenter
 * (`recvMsg(envelope, sender)`, awaited, as the engine does). Other message types land in the
 * target's inbox; SYNC_BLOCK_ADDED also updates heights and, by default, is applied to a
 * non-validator's ledger when it is the next block, as a non-validator peer would.
 *
 * Delivery order: one global FIFO by default; with `seed`, each step picks a random link (per-link
 * FIFO kept, as a TCP/WebSocket link is), from a seeded PRNG so a failing run can be replayed.
 * Links are explicit: connect/disconnect; messages in transit on a link that goes down are lost.
 * `filter` can drop or inspect any message. `sync.fetchBlocks` answers from the target's ledger,
 * at most `maxBlocksPerSync` blocks per call, like SYNC_GET_BLOCKS.
 *
 *   const net = new FakeNetwork({ clock: new ManualClock() })
 *   for (const id of ['vp0', 'vp1']) net.attach(id, createNoopsConsenter(net.addPeer(id), {}))
 *   net.connectAll(); await net.start()
 *   net.submit('vp1', 'a=1'); await net.advance(1000)
 */
import type {
  BroadcastTarget,
  Consenter,
  NetworkInfo,
  PeerInfo,
  Stack,
  SyncHooks,
} from '../../src/core/consensus/consenter.js'
import { AbortError, PeerNotFoundError, describeError } from '../../src/core/errors.js'
import { createMemoryLedger } from '../../src/core/ledger/memory-ledger.js'
import type { Ledger } from '../../src/core/ledger/ledger.js'
import { DEFAULT_MAX_BLOCKS_PER_SYNC } from '../../src/core/peer/limits.js'
import { ManualClock } from '../../src/core/util/clock.js'
import type { LogFields, LogLevel, Logger } from '../../src/core/util/logger.js'
import type { Envelope } from '../../src/core/wire/envelope.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { EndpointType, type Block, type PeerEndpoint, type PeerRole, type Transaction } from '../../src/core/wire/payload-types.js'
import { decodePayload, encodePayload } from '../../src/core/wire/payloads.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesEqual } from '../../src/core/util/bytes.js'

export interface FakeNetworkOptions {
  /** The clock every stack shares. Default: a new ManualClock at 0. */
  clock?: ManualClock
  /** With a seed, delivery picks a random link each step (seeded); without, one global FIFO. */
  seed?: number
  /** Blocks one fetchBlocks call returns at most. Default DEFAULT_MAX_BLOCKS_PER_SYNC. */
  maxBlocksPerSync?: number
  /**
   * Where peerHeights() comes from. 'hello' (default): the height each side had when a link came
   * up, raised by SYNC_BLOCK_ADDED, forgotten on disconnect, as a real peer learns it. 'live': the
   * connected peers' current ledger heights.
   */
  heights?: 'hello' | 'live'
  /** Apply SYNC_BLOCK_ADDED that is the next block to a non-validator's ledger, as its peer would. Default true. */
  followBlockAdded?: boolean
  /** Virtual ms a fetchBlocks answer takes (default 0: the next microtask), as a slow link's would. */
  fetchDelayMs?: number
}

export interface FakeMessage {
  from: string
  to: string
  envelope: Envelope
}

export interface LogRecord {
  level: LogLevel
  msg: string
  fields: LogFields
}

export interface FetchRecord {
  by: string
  from: string
  start: number
  end: number
  returned: number
}

/** Returns false to drop the message. */
export type MessageFilter = (msg: FakeMessage) => boolean

import { seededRandom } from '../../src/sim/seeded-random.js'

export { seededRandom }

/** A Logger that appends every call to `records`, with the fields its children bind. */
export function recordingLogger(records: LogRecord[], bound: LogFields = {}): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    records.push({ level, msg, fields: { ...bound, ...fields } })
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => recordingLogger(records, { ...bound, ...fields }),
  }
}

const byId = (a: PeerInfo, b: PeerInfo) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** One peer's Stack on the fake network, plus what tests inspect. */
export class FakeStack implements Stack {
  readonly id: string
  readonly role: PeerRole
  readonly ledger: Ledger
  readonly clock: ManualClock
  readonly log: Logger
  /** Everything this stack's consenter logged. */
  readonly logs: LogRecord[] = []
  /** Messages delivered here that no consenter took (SYNC_BLOCK_ADDED, RESPONSE, ...). */
  readonly inbox: FakeMessage[] = []
  readonly sync: SyncHooks
  /** Heights learned the 'hello' way, by peer ID. */
  readonly knownHeights = new Map<string, number>()
  consenter: Consenter | undefined
  readonly #net: FakeNetwork

  constructor(net: FakeNetwork, id: string, role: PeerRole, ledger: Ledger) {
    this.#net = net
    this.id = id
    this.role = role
    this.ledger = ledger
    this.clock = net.clock
    this.log = recordingLogger(this.logs, { peer: id })
    this.sync = {
      peerHeights: () => net.peerHeightsOf(this),
      fetchBlocks: (peerId, start, end, options) => net.fetchBlocks(this, peerId, start, end, options?.signal),
    }
  }

  broadcast(msg: Envelope, target: BroadcastTarget = 'all'): number {
    let count = 0
    for (const peer of this.#net.connectedPeers(this.id)) {
      if (target !== 'all' && peer.role !== target) continue
      this.#net.enqueue({ from: this.id, to: peer.id, envelope: msg })
      count++
    }
    return count
  }

  unicast(msg: Envelope, peerId: string): void {
    if (!this.#net.isConnected(this.id, peerId)) throw new PeerNotFoundError(peerId)
    this.#net.enqueue({ from: this.id, to: peerId, envelope: msg })
  }

  getNetworkInfo(): NetworkInfo {
    const peers = this.#net.connectedPeers(this.id).map((s) => s.info()).sort(byId)
    return { self: this.info(), validators: peers.filter((p) => p.role === 'validator'), peers }
  }

  getNetworkHandles(): PeerEndpoint[] {
    return this.#net.connectedPeers(this.id).map((s) => ({
      id: s.id,
      address: '',
      type: s.role === 'validator' ? EndpointType.VALIDATOR : EndpointType.NON_VALIDATOR,
    }))
  }

  /** A stand-in signature: SHA-256(id || data). Verifiable by anyone; not security, just plumbing. */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    return fakeSignature(this.id, data)
  }

  async verify(peerId: string, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
    return bytesEqual(signature, fakeSignature(peerId, data))
  }

  info(): PeerInfo {
    return { id: this.id, address: '', role: this.role }
  }

  /** Log records at a level (and, optionally, with a message). */
  logged(level: LogLevel, msg?: string): LogRecord[] {
    return this.logs.filter((r) => r.level === level && (msg === undefined || r.msg === msg))
  }
}

function fakeSignature(id: string, data: Uint8Array): Uint8Array {
  const h = sha256.create()
  h.update(new TextEncoder().encode(id))
  h.update(data)
  return h.digest()
}

export class FakeNetwork {
  readonly clock: ManualClock
  /** Errors thrown by recvMsg, as the engine would count them. */
  readonly errors: { peer: string; error: unknown }[] = []
  /** Every fetchBlocks call, in order. */
  readonly fetches: FetchRecord[] = []
  /** fetchBlocks calls still to fail, by asking peer (failFetches). */
  readonly #fetchFaults = new Map<string, number>()
  /** Every message delivered, in order. */
  readonly delivered: FakeMessage[] = []
  filter: MessageFilter | undefined
  readonly #stacks = new Map<string, FakeStack>()
  readonly #links = new Set<string>()
  #queue: FakeMessage[] = []
  readonly #random: (() => number) | undefined
  readonly #maxBlocksPerSync: number
  readonly #heights: 'hello' | 'live'
  readonly #followBlockAdded: boolean
  readonly #fetchDelayMs: number
  #txSeq = 0

  constructor(options: FakeNetworkOptions = {}) {
    this.clock = options.clock ?? new ManualClock()
    this.#random = options.seed === undefined ? undefined : seededRandom(options.seed)
    this.#maxBlocksPerSync = options.maxBlocksPerSync ?? DEFAULT_MAX_BLOCKS_PER_SYNC
    this.#heights = options.heights ?? 'hello'
    this.#followBlockAdded = options.followBlockAdded ?? true
    this.#fetchDelayMs = options.fetchDelayMs ?? 0
  }

  // ---- membership and links ----

  addPeer(id: string, role: PeerRole = 'validator', options: { ledger?: Ledger } = {}): FakeStack {
    if (this.#stacks.has(id)) throw new Error(`peer ${id} already on the fake network`)
    const stack = new FakeStack(this, id, role, options.ledger ?? createMemoryLedger())
    this.#stacks.set(id, stack)
    return stack
  }

  /** Attaches the consenter that receives this peer's CONSENSUS and CHAIN_TRANSACTION messages. */
  attach(id: string, consenter: Consenter): Consenter {
    this.peer(id).consenter = consenter
    return consenter
  }

  peer(id: string): FakeStack {
    const stack = this.#stacks.get(id)
    if (stack === undefined) throw new Error(`no peer ${id} on the fake network`)
    return stack
  }

  ids(): string[] {
    return [...this.#stacks.keys()].sort()
  }

  stacks(): FakeStack[] {
    return this.ids().map((id) => this.peer(id))
  }

  /** Starts every attached consenter. */
  async start(): Promise<void> {
    for (const stack of this.stacks()) await stack.consenter?.start()
  }

  /** Stops every attached consenter. */
  async stop(): Promise<void> {
    for (const stack of this.stacks()) await stack.consenter?.stop()
  }

  /** Stops a peer's consenter, drops its links and its queued messages, and forgets it (it can be re-added). */
  async removePeer(id: string): Promise<void> {
    const stack = this.peer(id)
    this.isolate(id)
    await stack.consenter?.stop()
    this.#queue = this.#queue.filter((m) => m.from !== id && m.to !== id)
    this.#stacks.delete(id)
  }

  connect(a: string, b: string): void {
    if (a === b) throw new Error('a peer cannot link to itself')
    const sa = this.peer(a)
    const sb = this.peer(b)
    this.#links.add(linkKey(a, b))
    // What each side's HELLO told the other.
    sa.knownHeights.set(b, sb.ledger.height())
    sb.knownHeights.set(a, sa.ledger.height())
  }

  disconnect(a: string, b: string): void {
    this.#links.delete(linkKey(a, b))
    this.#stacks.get(a)?.knownHeights.delete(b)
    this.#stacks.get(b)?.knownHeights.delete(a)
  }

  connectAll(): void {
    const ids = this.ids()
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) this.connect(ids[i] as string, ids[j] as string)
    }
  }

  /** Drops every link of a peer. */
  isolate(id: string): void {
    for (const other of this.ids()) if (other !== id) this.disconnect(id, other)
  }

  isConnected(a: string, b: string): boolean {
    return this.#links.has(linkKey(a, b))
  }

  connectedPeers(id: string): FakeStack[] {
    return this.stacks().filter((s) => s.id !== id && this.isConnected(id, s.id))
  }

  // ---- traffic ----

  /** Queues a client transaction at a peer (CHAIN_TRANSACTION from itself) and returns it. */
  submit(id: string, payload: string, txid = `tx-${++this.#txSeq}`): Transaction {
    const tx: Transaction = { txid, payload, timestamp: this.clock.now(), origin: id }
    this.enqueue({
      from: id,
      to: id,
      envelope: { type: MessageType.CHAIN_TRANSACTION, timestamp: tx.timestamp, payload: encodePayload(MessageType.CHAIN_TRANSACTION, tx) },
    })
    return tx
  }

  enqueue(msg: FakeMessage): void {
    // A copy of the bytes, as a socket would make: the sender may reuse its buffer.
    this.#queue.push({ ...msg, envelope: { ...msg.envelope, payload: msg.envelope.payload.slice() } })
  }

  /** Messages queued and not yet delivered. */
  get queued(): number {
    return this.#queue.length
  }

  /** Delivers one message; false when the queue is empty. */
  async deliverNext(): Promise<boolean> {
    const msg = this.#take()
    if (msg === undefined) return false
    const target = this.#stacks.get(msg.to)
    if (target === undefined) return true
    if (msg.from !== msg.to && !this.isConnected(msg.from, msg.to)) return true
    if (this.filter !== undefined && !this.filter(msg)) return true
    this.delivered.push(msg)
    const { type } = msg.envelope
    if (target.consenter !== undefined && (type === MessageType.CONSENSUS || type === MessageType.CHAIN_TRANSACTION)) {
      try {
        await target.consenter.recvMsg(msg.envelope, msg.from)
      } catch (error) {
        this.errors.push({ peer: msg.to, error })
        target.log.error('recvMsg threw', { error: describeError(error) })
      }
      return true
    }
    target.inbox.push(msg)
    if (type === MessageType.SYNC_BLOCK_ADDED) this.#blockAdded(target, msg.from, msg.envelope)
    return true
  }

  /**
   * Delivers until nothing is queued and nothing is running: after the queue empties it lets
   * pending promise callbacks run (one macrotask) and looks again, so background work (a
   * consenter's catch-up) that sends more is delivered too.
   */
  async flush(maxSteps = 1_000_000): Promise<number> {
    let steps = 0
    for (;;) {
      while (await this.deliverNext()) {
        if (++steps > maxSteps) throw new Error(`fake network did not settle within ${maxSteps} deliveries`)
      }
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.#queue.length === 0) return steps
    }
  }

  /** Moves the clock forward in steps of `stepMs`, delivering everything after each step. */
  async advance(ms: number, stepMs = 10): Promise<void> {
    await this.flush()
    let left = ms
    while (left > 0) {
      const step = Math.min(stepMs, left)
      this.clock.advance(step)
      left -= step
      await this.flush()
    }
  }

  // ---- sync hooks ----

  peerHeightsOf(stack: FakeStack): ReadonlyMap<string, number> {
    if (this.#heights === 'hello') return stack.knownHeights
    return new Map(this.connectedPeers(stack.id).map((s) => [s.id, s.ledger.height()]))
  }

  /** The next `count` fetchBlocks calls by `id` fail, as a sync answer that timed out would (recorded with returned -1). */
  failFetches(id: string, count: number): void {
    this.#fetchFaults.set(id, count)
  }

  async fetchBlocks(by: FakeStack, peerId: string, start: number, end: number, signal?: AbortSignal): Promise<Block[]> {
    if (signal?.aborted) throw new AbortError()
    // Answers arrive later, never inside the call.
    await Promise.resolve()
    if (this.#fetchDelayMs > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.#fetchDelayMs))
    if (signal?.aborted) throw new AbortError()
    const target = this.#stacks.get(peerId)
    if (target === undefined || !this.isConnected(by.id, peerId)) throw new PeerNotFoundError(peerId)
    const faults = this.#fetchFaults.get(by.id) ?? 0
    if (faults > 0) {
      this.#fetchFaults.set(by.id, faults - 1)
      this.fetches.push({ by: by.id, from: peerId, start, end, returned: -1 })
      throw new Error(`fetch from ${peerId} failed (injected)`)
    }
    // Copies, as decoding an answer would make: nothing is shared between ledgers.
    const blocks = target.ledger.getBlocks(start, end, this.#maxBlocksPerSync).map((b) => structuredClone(b) as Block)
    this.fetches.push({ by: by.id, from: peerId, start, end, returned: blocks.length })
    return blocks
  }

  #blockAdded(target: FakeStack, from: string, envelope: Envelope): void {
    const { block } = decodePayload(MessageType.SYNC_BLOCK_ADDED, envelope.payload)
    const known = target.knownHeights.get(from) ?? 0
    if (block.number + 1 > known) target.knownHeights.set(from, block.number + 1)
    if (this.#followBlockAdded && target.role === 'non-validator' && block.number === target.ledger.height()) {
      try {
        target.ledger.applyBlock(block)
      } catch (error) {
        this.errors.push({ peer: target.id, error })
      }
    }
  }

  #take(): FakeMessage | undefined {
    if (this.#queue.length === 0) return undefined
    if (this.#random === undefined) return this.#queue.shift()
    // A random link, then that link's oldest message: links interleave, each stays in order.
    const pick = this.#queue[Math.floor(this.#random() * this.#queue.length)] as FakeMessage
    const index = this.#queue.findIndex((m) => m.from === pick.from && m.to === pick.to)
    return this.#queue.splice(index, 1)[0]
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`
}
