import type { ChatStream, ChatStreamEnd } from '../chat/chat-stream.js'
import { CloseToken, closeReason } from '../chat/close-reason.js'
import type { BroadcastTarget, Consenter, PeerInfo } from '../consensus/consenter.js'
import { createConsenter } from '../consensus/registry.js'
import { createEngine, type Engine } from '../engine/engine.js'
import {
  AbortError,
  CloseCode,
  ConfigError,
  DuplicateLinkError,
  LimitExceededError,
  PeerNotFoundError,
  StreamClosedError,
  WspeerError,
  describeError,
} from '../errors.js'
import type { HandlerContext } from '../handlers/handler-context.js'
import type { Link } from '../handlers/link.js'
import { generateKeyPair } from '../identity/key-pair.js'
import type { Ledger } from '../ledger/ledger.js'
import { createMemoryLedger } from '../ledger/memory-ledger.js'
import { toHex } from '../util/bytes.js'
import { systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { TypedEventTarget } from '../util/typed-event-target.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType, messageTypeName } from '../wire/message-type.js'
import { makeEnvelope, makeResponse } from '../wire/payloads.js'
import { ResponseStatus, type Block, type BlockchainInfo, type PeerEndpoint, type PeerRole } from '../wire/payload-types.js'
import { MAX_PEER_ID_LENGTH } from '../wire/peer-id.js'
import { normalizeChatAddress } from './address-book.js'
import { skipForBacklog } from './best-effort.js'
import { BlockSync } from './block-sync.js'
import { chainLag } from './chain-lag.js'
import { ChatRunner } from './chat-runner.js'
import { createConsenterStack } from './consenter-stack.js'
import { Discovery } from './discovery.js'
import { Keepalive } from './keepalive.js'
import { SYNC_ANSWER_HEADROOM_BYTES, type PeerLimits } from './limits.js'
import { LocalTransactions, MAX_TRANSACTION_PAYLOAD_BYTES } from './local-transactions.js'
import { infoOf, linkedPeerInfos, roleToType, typeToRole } from './peer-info.js'
import { checkPeerConfig } from './peer-config.js'
import { PeerIdentity } from './peer-identity.js'
import type { Membership } from '../identity/membership.js'
import { CommitAttester } from './commit-attester.js'
import { PeerMetrics } from './peer-metrics.js'
import { PeerRegistry, type Displaced } from './peer-registry.js'
import { ReportedChain } from './reported-chain.js'
import type { ChainInfo, MetricsSnapshot, Peer, PeerConfig, PeerEvents, PeerStatus, TransactionStatus } from './peer-types.js'

/**
 * The peer: its lifecycle (start, stop), its public API, and the wiring of its parts. It keeps the
 * registry of established links (peer-registry.ts) and the engine, and says what happens, in which
 * order, when a link registers or ends (#register, #linkEnded): its queue, the parts that must
 * hear of it, the events. One engine per peer, so several peers can share a process or a page.
 * The parts own their state and know nothing of one another; what one needs of another comes
 * through this file:
 *
 *   peer-config.ts         the config's checks (ID, role, addresses, limits)
 *   peer-identity.ts       key pair, own addresses, membership: handshakes and CONSENSUS admission
 *   chat-runner.ts         every link's chat (handleChat with this peer's handlers and counters)
 *   discovery.ts           the address book, dials and redials, DISC_GET_PEERS / DISC_PEERS
 *   keepalive.ts           PINGs on idle links, 4003 for silent ones
 *   block-sync.ts          heights peers claim, sync requests, a non-validator's chain following
 *   local-transactions.ts  submitted transactions until the consenter takes them
 *   reported-chain.ts      the stored head it reports, blocks, where a transaction stands
 *   consenter-stack.ts     the Stack lent to the consenter
 *   best-effort.ts         what broadcast skips for followers that do not keep up
 *
 *   const peer = createPeer({ id: 'vp0', role: 'validator', address: 'ws://localhost:7051/chat', connect })
 *   await peer.start()
 *   peer.on('block-committed', ({ block }) => console.log(block.number))
 *   await peer.stop()
 */

/** Largest transaction payload a client may submit, in UTF-8 bytes (local-transactions.ts). */
export { MAX_TRANSACTION_PAYLOAD_BYTES }
/** Default consenter plugin. */
export const DEFAULT_CONSENSUS_PLUGIN = 'noops'
/** Longest accepted peer ID (the rule: wire/peer-id.ts). */
export { MAX_PEER_ID_LENGTH }

export function createPeer(config: PeerConfig): Peer {
  return new WspeerPeer(config)
}

class WspeerPeer extends TypedEventTarget<PeerEvents> implements Peer {
  readonly id: string
  readonly role: PeerRole
  readonly #limits: PeerLimits
  readonly #clock: Clock
  readonly #log: Logger
  readonly #ledger: Ledger
  readonly #self: PeerEndpoint
  readonly #config: PeerConfig
  readonly #identity: PeerIdentity
  readonly #registry: PeerRegistry<Link>
  readonly #chats: ChatRunner
  readonly #discovery: Discovery
  readonly #keepalive: Keepalive<Link>
  readonly #blockSync: BlockSync
  readonly #local: LocalTransactions
  readonly #reported: ReportedChain
  readonly #metrics = new PeerMetrics()
  readonly #consensusName: string
  #engine: Engine | undefined
  /** A validator's signatures for its followers (with a membership that lists it). */
  #attester: CommitAttester | undefined
  #consenter: Consenter | undefined
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new'
  #startedAt = 0
  #unsubscribeLedger: (() => void) | undefined

  constructor(config: PeerConfig) {
    super()
    const { address, ownAddresses, limits } = checkPeerConfig(config)
    this.id = config.id
    this.role = config.role
    this.#config = config
    this.#limits = limits
    this.#clock = config.clock ?? systemClock
    this.#log = (config.log ?? silentLogger).child({ peer: config.id })
    this.#ledger = config.ledger ?? createMemoryLedger()
    this.#self = { id: config.id, address, type: roleToType(config.role) }
    this.#registry = new PeerRegistry(config.id, this.#limits)
    this.#identity = new PeerIdentity({
      self: this.#self,
      config: config.identity,
      ownAddresses,
      clock: this.#clock,
      handshakeTimeoutMs: limits.handshakeTimeoutMs,
    })
    const running = (): boolean => this.#state === 'running'
    const send = (link: Link, envelope: Envelope): boolean => this.#trySend(link, envelope)
    this.#discovery = new Discovery({
      self: this.#self,
      limits: this.#limits,
      clock: this.#clock,
      log: this.#log,
      linked: this.#registry,
      metrics: this.#metrics,
      canDial: config.connect !== undefined,
      running,
      dial: (address, signal) => this.chatWithPeer(address, { signal }),
      send,
      onPeriod: () => this.#blockSync.retryCatchUp(),
      follower: config.role !== 'validator',
    })
    this.#keepalive = new Keepalive({
      limits: this.#limits,
      clock: this.#clock,
      log: this.#log,
      links: () => this.#chats.links,
      send,
      running,
      afterSweep: () => this.#discovery.dialDue(),
    })
    this.#blockSync = new BlockSync({
      role: config.role,
      ledger: this.#ledger,
      log: this.#log,
      clock: this.#clock,
      syncTimeoutMs: this.#limits.syncTimeoutMs,
      linked: this.#registry,
      unicast: (msg, peerId) => this.unicast(msg, peerId),
      ...(this.#identity.membership === undefined ? {} : { membership: this.#identity.membership }),
      toFollowers: (msg) => this.#toFollowers(msg),
      servesFollowers: () => this.#servesAnyFollower(),
      limits: this.#limits,
    })
    this.#local = new LocalTransactions({ origin: config.id, clock: this.#clock, log: this.#log, pending: config.pending })
    this.#consensusName = config.consensus ?? DEFAULT_CONSENSUS_PLUGIN
    this.#reported = new ReportedChain(this.#ledger, config.pending)
    this.#chats = new ChatRunner({
      limits: this.#limits,
      clock: this.#clock,
      log: this.#log,
      metrics: this.#metrics,
      handlerContext: this.#createHandlerContext(),
      running,
      onRejected: (detail) => this.dispatchTyped('message-rejected', detail),
    })
  }

  // ---- lifecycle ----

  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw new AbortError()
    if (this.#state !== 'new') throw new WspeerError('ERR_LIFECYCLE', `peer ${this.id} was already started`)
    const keyPair = this.#config.identity?.keyPair ?? (await generateKeyPair())
    this.#identity.adopt(keyPair)
    const stack = createConsenterStack({
      self: this.#self,
      linked: this.#registry,
      broadcast: (msg, target) => this.broadcast(msg, target),
      unicast: (msg, peerId) => this.unicast(msg, peerId),
      keyPair,
      membership: this.#identity.membership,
      ledger: this.#ledger,
      consensusLog: this.#config.consensusLog,
      sync: this.#blockSync.stackSync,
      clock: this.#clock,
      log: this.#log,
    })
    // Unknown plugin names fail here, before anything is listening (Fabric silently fell back to noops).
    const consenter = createConsenter(this.#consensusName, stack, this.#config.consensusOptions ?? {})
    const engine = createEngine({
      consenter,
      log: this.#log,
      fanQuantumBytes: this.#limits.fanQuantumBytes,
      // After the consenter took it, a submitted transaction is the consenter's to report.
      onHandled: (msg) => this.#local.taken(msg.envelope),
      onConsenterError: (err, msg) => {
        this.#emitError(err, `consenter failed on ${messageTypeName(msg.envelope.type)} from ${msg.sender}`)
      },
    })
    this.#consenter = consenter
    this.#engine = engine
    this.#local.open(
      engine.openQueue({
        name: this.id,
        maxMessages: this.#limits.localQueueMaxMessages,
        maxBytes: this.#limits.queueMaxBytes,
      }),
    )
    // A chain loaded from a store counts from what it holds, so the totals say what the chain has.
    this.#metrics.blocksCommitted = this.#ledger.height() - 1
    this.#metrics.transactionsCommitted = this.#ledger.transactionCount()
    this.#unsubscribeLedger = this.#ledger.onBlock((block, hash) => {
      this.#metrics.blocksCommitted++
      this.#metrics.transactionsCommitted += block.transactions.length
      this.dispatchTyped('block-committed', { block, hash: toHex(hash) })
    })
    await engine.start()
    if (this.role === 'validator' && this.#identity.membership?.get(this.id) !== undefined) {
      this.#attester = new CommitAttester({
        keyPair,
        signer: this.id,
        ledger: this.#ledger,
        clock: this.#clock,
        log: this.#log,
        everyBlocks: this.#limits.commitProofEveryBlocks,
        periodMs: this.#limits.commitProofPeriodMs,
        idleMs: this.#limits.commitProofIdleMs,
        send: (msg, signed) => {
          // Other validators gather it into whole proofs for their followers; so does this one.
          this.broadcast(msg, 'validator')
          this.#toFollowers(msg)
          this.#blockSync.commitProof(signed, { remoteId: this.id, label: this.id, remoteIsValidator: true })
        },
      })
      this.#attester.start()
    }
    this.#state = 'running'
    this.#startedAt = this.#clock.now()
    this.#local.resubmitPending()
    this.#discovery.addBootstrap(this.#config.bootstrap ?? [])
    this.#keepalive.start()
    this.#discovery.start()
    this.#log.info('peer started', { address: this.#self.address, role: this.role, consensus: consenter.name, keyId: keyPair.keyIdHex })
    this.#identity.logMode(this.role, this.#log)
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return
    const wasRunning = this.#state === 'running'
    this.#state = 'stopping'
    this.#keepalive.stop()
    this.#discovery.stop()
    await this.#chats.closeAll(CloseCode.GOING_AWAY, closeReason(CloseToken.STOPPING, 'peer stopping'))
    this.#blockSync.close()
    this.#attester?.stop()
    if (wasRunning) await this.#engine?.stop()
    this.#unsubscribeLedger?.()
    this.#state = 'stopped'
    this.#log.info('peer stopped')
  }

  get membership(): Membership | undefined {
    return this.#identity.membership
  }

  // ---- links ----

  async chatWithPeer(address: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const normalized = normalizeChatAddress(address)
    if (normalized === undefined) throw new ConfigError(`not a ws:// or wss:// chat URL: ${JSON.stringify(address)}`)
    this.#assertRunning()
    this.#discovery.remember(normalized)
    const connect = this.#config.connect
    if (connect === undefined) throw new ConfigError('this peer has no connector: pass `connect` in its config to dial others')
    const settleDial = this.#discovery.countDial()
    let stream: ChatStream
    try {
      stream = await connect(normalized, { maxFrameBytes: this.#limits.maxFrameBytes, ...(options.signal ? { signal: options.signal } : {}) })
    } catch (err) {
      settleDial()
      throw err
    }
    if (this.#state !== 'running') {
      settleDial()
      stream.close(CloseCode.GOING_AWAY, closeReason(CloseToken.STOPPING, 'peer stopping'))
      throw new AbortError('peer stopped while dialing')
    }
    const link = this.#chats.newLink(stream, true, normalized)
    // A dial is in flight until its HELLO exchange registers the link (or the chat ends).
    link.onRegistered = settleDial
    try {
      await this.#chats.run(link)
    } finally {
      settleDial()
    }
  }

  acceptStream(stream: ChatStream, options: { onEstablished?: (remote: PeerInfo) => void } = {}): Promise<void> {
    if (this.#state !== 'running') {
      stream.close(CloseCode.GOING_AWAY, closeReason(CloseToken.STOPPING, 'peer not running'))
      return Promise.resolve()
    }
    const link = this.#chats.newLink(stream, false, undefined)
    const onEstablished = options.onEstablished
    if (onEstablished !== undefined) link.onRegistered = () => onEstablished(infoOf(link.remote!))
    return this.#chats.run(link)
  }

  // ---- what handlers need ----

  #createHandlerContext(): HandlerContext {
    return {
      self: this.#self,
      ledger: this.#ledger,
      log: this.#log,
      syncAnswerBudget: {
        maxItems: this.#limits.maxBlocksPerSync,
        // Our frame limit stands for the asker's (every peer runs the protocol's 1 MiB by default).
        maxBytes: Math.min(this.#limits.maxSyncAnswerBytes, this.#limits.maxFrameBytes - SYNC_ANSWER_HEADROOM_BYTES),
      },
      now: () => this.#clock.now(),
      chainInfo: () => this.#ledger.info(),
      createHandshake: (link) => this.#identity.createHandshake(link),
      mayConsent: (link) => this.#identity.mayConsent(link),
      register: (link, chain) => this.#register(link, chain),
      linkEnded: (link, end) => this.#linkEnded(link, end),
      peersFor: (link) => this.#discovery.peersFor(link),
      learnPeers: (peers, from) => this.#discovery.learnPeers(peers, from),
      recordHeight: (peerId, height) => this.#blockSync.recordHeight(peerId, height),
      blockAdded: (block, from) => this.#blockSync.blockAdded(block, from),
      commitProof: (proof, from) => this.#blockSync.commitProof(proof, from),
      refusedByPeer: (from, refusal) => {
        const inReplyTo = refusal.inReplyTo === undefined ? undefined : messageTypeName(refusal.inReplyTo)
        this.#log.warn('peer refused a message', { remotePeer: from.label, code: refusal.code, remoteError: refusal.message, inReplyTo })
        this.dispatchTyped('refused-by-peer', { peer: from.label, code: refusal.code, message: refusal.message, inReplyTo })
      },
      resolveRequest: (requestId, type, payload, from) => this.#blockSync.resolveRequest(requestId, type, payload, from),
    }
  }

  /** A link's handshake succeeded: it joins the registry, gets its queue, and every part hears of it. */
  #register(link: Link, chain: BlockchainInfo): void {
    if (this.#state !== 'running') throw new WspeerError('ERR_LIFECYCLE', 'peer is stopping', { closeCode: CloseCode.GOING_AWAY })
    let displaced: Displaced<Link>
    try {
      displaced = this.#registry.register(link)
    } catch (err) {
      if (err instanceof LimitExceededError) this.#sendOtherPeers(link)
      throw err
    }
    const { replaced, evicted } = displaced
    link.onRegistered?.()
    this.#blockSync.linkRegistered(link.remoteId, chain.height)
    link.queue = this.#engine!.openQueue({
      name: link.remoteId,
      maxMessages: this.#limits.queueMaxMessages,
      maxBytes: this.#limits.queueMaxBytes,
    })
    link.queue.onDrained = () => link.stream.resumeReading?.()
    const remote = link.remote!
    this.#discovery.linkRegistered(link)
    if (evicted !== undefined) {
      this.#log.info('follower link closed to make room for a validator', { remotePeer: evicted.remoteId, validator: remote.id })
      const reason = 'room made for a validator; followers may link to another peer'
      this.#trySend(evicted, makeResponse(ResponseStatus.FAILURE, reason, { code: 'ERR_LIMIT' }))
      this.#sendOtherPeers(evicted)
      evicted.close(CloseCode.TOO_MANY_PEERS, closeReason('ERR_LIMIT', reason))
    }
    if (replaced !== undefined) {
      this.#log.info('link replaced by tie-break', { remotePeer: remote.id, kept: link.serial, closed: replaced.serial })
      // The replaced link keeps its queue until its loop ends: nothing it already queued is lost.
      // Its remote is told why first, as a RESPONSE (PROTOCOL.md 7.2), then by the close reason.
      const error = new DuplicateLinkError(remote.id)
      this.#trySend(replaced, makeResponse(ResponseStatus.FAILURE, 'superseded by a newer link to the same peer', { code: error.code }))
      replaced.close(CloseCode.DUPLICATE_LINK, closeReason(error.code, 'superseded by a newer link to the same peer'))
    } else {
      this.#log.info('peer connected', { remotePeer: remote.id, address: remote.address, initiated: link.initiated })
      this.dispatchTyped('peer-connected', infoOf(remote))
    }
    this.#blockSync.catchUpFrom(link, chain.height)
    if (this.#servesFollower(link)) {
      // A new follower learns at once how far it can climb (it would otherwise wait for the next proof).
      const greeting = this.#blockSync.greetingForFollower() ?? this.#attester?.latest
      if (greeting !== undefined) this.#trySend(link, greeting)
    }
  }

  /**
   * Before a link closes for want of room (4005), its remote hears where else to go: a tab or
   * follower that knows only this peer's address would otherwise redial it forever (issue #16).
   */
  #sendOtherPeers(link: Link): void {
    this.#trySend(link, makeEnvelope(MessageType.DISC_PEERS, { peers: this.#discovery.peersFor(link) }))
  }

  #linkEnded(link: Link, end: ChatStreamEnd | undefined): void {
    // Closing lets the fan drain what the queue still holds, then drop it.
    link.queue?.close()
    const code = end?.code ?? CloseCode.ABNORMAL
    const reason = end?.reason ?? ''
    const wasRegistered = this.#registry.deregister(link)
    if (wasRegistered) {
      const remote = link.remote!
      this.#blockSync.linkEnded(remote.id)
      this.#log.info('peer disconnected', { remotePeer: remote.id, code, reason })
      this.dispatchTyped('peer-disconnected', { ...infoOf(remote), code, reason })
    }
    // Its addresses become due for a redial (a dial that never registered backs off).
    this.#discovery.linkEnded(link, wasRegistered, code)
  }

  // ---- sending ----

  #trySend(link: Link, envelope: Envelope): boolean {
    try {
      link.send(envelope, this.#clock.now())
      return true
    } catch (err) {
      if (!(err instanceof StreamClosedError)) this.#log.debug('send failed', { remotePeer: link.label, error: describeError(err) })
      return false
    }
  }

  broadcast(msg: Envelope, target: BroadcastTarget = 'all'): number {
    let sent = 0
    for (const link of this.#registry.values()) {
      if (target !== 'all' && typeToRole(link.remote!.type) !== target) continue
      if (this.#sendUnlessBehind(link, msg)) sent++
    }
    return sent
  }

  /** Sends, except a best-effort envelope to a follower that does not keep up: it pages what it missed instead (best-effort.ts). */
  #sendUnlessBehind(link: Link, msg: Envelope): boolean {
    if (skipForBacklog(link, msg.type, this.#limits.followerBacklogBytes)) {
      this.#metrics.announcementsSkipped++
      return false
    }
    return this.#trySend(link, msg)
  }

  /**
   * The followers this peer serves blocks and proofs to: a validator's non-validator links, a
   * non-validator's links from the non-validators that dialed it (so relays form a tree, not a
   * loop of pairs relaying to each other both ways).
   */
  #servesFollower(link: Link): boolean {
    return link.remote !== undefined && !link.remoteIsValidator && (this.role === 'validator' || !link.initiated)
  }

  #servesAnyFollower(): boolean {
    for (const link of this.#registry.values()) if (this.#servesFollower(link)) return true
    return false
  }

  #toFollowers(msg: Envelope): void {
    for (const link of this.#registry.values()) if (this.#servesFollower(link)) this.#sendUnlessBehind(link, msg)
  }

  unicast(msg: Envelope, peerId: string): void {
    const link = this.#registry.get(peerId)
    if (link === undefined) throw new PeerNotFoundError(peerId)
    link.send(msg, this.#clock.now())
  }

  // ---- transactions and the chain ----

  async submit(payload: string, options: { signal?: AbortSignal } = {}): Promise<{ txid: string }> {
    if (options.signal?.aborted) throw new AbortError()
    this.#assertRunning()
    const tx = this.#local.accept(payload)
    // Queued first, so the consenter never waits on the disk; acknowledged only once stored, so a
    // crash after the answer cannot lose it (start() submits it again).
    await this.#config.pending?.add(tx)
    return { txid: tx.txid }
  }

  transactionStatus(txid: string): TransactionStatus {
    return this.#reported.transactionStatus(txid, (id) => this.#local.has(id) || this.#consenter?.isPending?.(id) === true)
  }

  chainInfo(): ChainInfo {
    return this.#reported.chainInfo()
  }

  block(number: number): { block: Block; hash: string } | undefined {
    return this.#reported.block(number)
  }

  state(key: string): string | undefined {
    // The state of the memory head, which may run a block or two ahead of the stored one: the
    // state map is kept only for the newest block.
    return this.#ledger.getState(key)
  }

  // ---- introspection ----

  status(): PeerStatus {
    const chain = this.#reported.head()
    // Heights are kept for registered links only (block-sync.ts forgets a link's when it ends).
    const lag = chainLag(chain.height, this.#blockSync.stackSync.peerHeights().values(), () => this.#reported.block(chain.height - 1)?.block.timestamp, this.#clock.now())
    return {
      id: this.id,
      address: this.#self.address,
      role: this.role,
      peers: linkedPeerInfos(this.#registry.values()),
      consensus: { ...(this.#consenter?.status?.() ?? {}), plugin: this.#consenter?.name ?? this.#consensusName },
      chain,
      identity: this.#identity.status(),
      queues: this.#queueStatus(),
      queueLimits: { maxMessages: this.#limits.queueMaxMessages, maxBytes: this.#limits.queueMaxBytes },
      uptimeMs: this.#state === 'new' ? 0 : this.#clock.now() - this.#startedAt,
      lag,
      ...(this.role === 'validator' ? {} : { follower: this.#blockSync.followerStatus() }),
    }
  }

  #queueStatus(): PeerStatus['queues'] {
    return (this.#engine?.queues ?? []).map((queue) => ({ peer: queue.name, depth: queue.length, bytes: queue.bytes, rejects: queue.rejects }))
  }

  metrics(): MetricsSnapshot {
    const m = this.#metrics
    return {
      messagesReceived: PeerMetrics.byName(m.received),
      messagesSent: PeerMetrics.byName(m.sent),
      framesReceived: m.framesReceived,
      framesSent: m.framesSent,
      queues: this.#queueStatus(),
      queueRejectsTotal: m.queueRejectsTotal,
      fanProcessed: this.#engine?.processed ?? 0,
      consenterErrors: this.#engine?.consenterErrors ?? 0,
      handlerErrors: m.handlerErrors,
      decodeErrors: m.decodeErrors,
      announcementsSkipped: m.announcementsSkipped,
      blocksCommitted: m.blocksCommitted,
      transactionsCommitted: m.transactionsCommitted,
      connections: this.#registry.size,
      dialsInFlight: this.#discovery.dialsInFlight,
      knownAddresses: this.#discovery.knownAddresses,
    }
  }

  // ---- helpers ----

  #assertRunning(): void {
    if (this.#state !== 'running') throw new WspeerError('ERR_NOT_RUNNING', `peer ${this.id} is not running (${this.#state})`)
  }

  /** Reports an error to listeners; the component that caught it has already logged it. */
  #emitError(err: unknown, context: string): void {
    const error = err instanceof Error ? err : new Error(String(err))
    this.dispatchTyped('error', { error, context })
  }
}
