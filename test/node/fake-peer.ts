/**
 * A Peer stand-in for the Node layer's tests: records accepted streams and submitted payloads,
 * answers status() and metrics() with fixed figures, and lets each test decide what submit does.
 */
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import type { MetricsSnapshot, Peer, PeerStatus, TransactionStatus } from '../../src/core/peer/peer-types.js'
import type { Block } from '../../src/core/wire/payload-types.js'

export interface FakePeer extends Peer {
  accepted: ChatStream[]
  submitted: string[]
  submitImpl: (payload: string, options?: { signal?: AbortSignal }) => Promise<{ txid: string }>
  /** Resolves with the next stream handed to acceptStream. */
  nextStream(): Promise<ChatStream>
  onAccept: (stream: ChatStream) => Promise<void>
  /** What transactionStatus answers, by txid; unknown otherwise. */
  statuses: Map<string, TransactionStatus>
  /** What block(n) answers, by number; undefined otherwise. */
  blocks: Map<number, { block: Block; hash: string }>
  /** What state(key) answers, by key; undefined otherwise. */
  stateValues: Map<string, string>
}

export function fakeStatus(id: string): PeerStatus {
  return {
    id,
    address: `ws://127.0.0.1:7051/chat`,
    role: 'validator',
    peers: [{ id: 'vp1', address: 'ws://127.0.0.1:7052/chat', role: 'validator' }],
    consensus: { plugin: 'noops' },
    chain: { height: 3, headHash: 'ab'.repeat(32) },
    identity: { keyId: 'cd'.repeat(20), mode: 'open', members: 0 },
    queues: [{ peer: 'vp1', depth: 2, bytes: 100, rejects: 1 }],
    queueLimits: { maxMessages: 1000, maxBytes: 16 * 1024 * 1024 },
    uptimeMs: 1234,
    lag: { claimedHeight: 3, blocks: 0, ms: null },
  }
}

export function fakeMetrics(): MetricsSnapshot {
  return {
    messagesReceived: { CONSENSUS: 5, DISC_HELLO: 1 },
    messagesSent: { CONSENSUS: 4 },
    framesReceived: 6,
    framesSent: 5,
    queues: [{ peer: 'vp1', depth: 2, bytes: 100, rejects: 1 }],
    queueRejectsTotal: 1,
    fanProcessed: 5,
    consenterErrors: 0,
    handlerErrors: 0,
    decodeErrors: 0,
    announcementsSkipped: 0,
    blocksCommitted: 2,
    transactionsCommitted: 7,
    connections: 1,
    dialsInFlight: 0,
    knownAddresses: 1,
  }
}

export function createFakePeer(id = 'vp0'): FakePeer {
  const waiters: ((stream: ChatStream) => void)[] = []
  const peer: FakePeer = {
    id,
    role: 'validator',
    membership: undefined,
    accepted: [],
    submitted: [],
    submitImpl: async (payload) => ({ txid: `tx-${peer.submitted.length}-${payload.length}` }),
    onAccept: async (stream) => {
      stream.close(1000, 'fake peer')
    },
    nextStream: () => new Promise((resolve) => waiters.push(resolve)),
    async start() {},
    async stop() {},
    async chatWithPeer() {},
    acceptStream(stream) {
      peer.accepted.push(stream)
      waiters.shift()?.(stream)
      return peer.onAccept(stream)
    },
    submit(payload, options) {
      peer.submitted.push(payload)
      return peer.submitImpl(payload, options)
    },
    statuses: new Map(),
    transactionStatus: (txid) => peer.statuses.get(txid) ?? { status: 'unknown' },
    blocks: new Map(),
    stateValues: new Map(),
    chainInfo: () => ({ height: 3, headHash: 'ab'.repeat(32), stateHash: 'cd'.repeat(32) }),
    block: (number) => peer.blocks.get(number),
    state: (key) => peer.stateValues.get(key),
    broadcast: () => 0,
    unicast() {},
    status: () => fakeStatus(id),
    metrics: () => fakeMetrics(),
    on: () => () => {},
  }
  return peer
}
