/**
 * Block announcements to a follower that does not keep up are skipped, not queued (issue #16):
 * the rule (best-effort.ts) and the peer's broadcast that applies it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import '../../support/test-consenters.js'
import { createMemoryChatPair, type MemoryChatStream } from '../../../src/core/chat/memory-chat-stream.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { BEST_EFFORT_TO_FOLLOWERS, DEFAULT_FOLLOWER_BACKLOG_BYTES, skipForBacklog } from '../../../src/core/peer/best-effort.js'
import { DEFAULT_PEER_LIMITS } from '../../../src/core/peer/limits.js'
import type { Peer } from '../../../src/core/peer/peer-types.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope, makeResponse } from '../../../src/core/wire/payloads.js'
import { ResponseStatus, type Block } from '../../../src/core/wire/payload-types.js'
import { MemoryNetwork } from '../../support/memory-network.js'
import { RawLink } from '../../support/raw-link.js'

describe('skipForBacklog', () => {
  const follower = (backlogBytes: number) => ({ remoteIsValidator: false, backlogBytes })

  it('lists block announcements as best-effort, and is the default limit of every peer', () => {
    expect(BEST_EFFORT_TO_FOLLOWERS.has(MessageType.SYNC_BLOCK_ADDED)).toBe(true)
    expect(DEFAULT_PEER_LIMITS.followerBacklogBytes).toBe(DEFAULT_FOLLOWER_BACKLOG_BYTES)
  })

  it('skips a best-effort type to a follower past the limit, nothing else', () => {
    expect(skipForBacklog(follower(1025), MessageType.SYNC_BLOCK_ADDED, 1024)).toBe(true)
    // At the limit it is still sent.
    expect(skipForBacklog(follower(1024), MessageType.SYNC_BLOCK_ADDED, 1024)).toBe(false)
    // Other types are never skipped: they meet the send-buffer cap as before.
    for (const type of [MessageType.SYNC_BLOCKS, MessageType.RESPONSE, MessageType.CONSENSUS, MessageType.CHAIN_TRANSACTION]) {
      expect(skipForBacklog(follower(1 << 30), type, 1024)).toBe(false)
    }
    // A validator's link is never skipped, however far behind.
    expect(skipForBacklog({ remoteIsValidator: true, backlogBytes: 1 << 30 }, MessageType.SYNC_BLOCK_ADDED, 1024)).toBe(false)
  })
})

function someBlock(): Block {
  const ledger = createMemoryLedger()
  ledger.beginTxBatch('b1')
  ledger.execTxs('b1', [{ txid: 't1', payload: 'k=v', timestamp: 1, origin: 'vp0' }])
  return ledger.commitTxBatch('b1', { timestamp: 1, proposer: 'vp0' })
}

/** A raw remote linked to `peer` as `id`, whose stream on the peer's side is returned too. */
async function linked(peer: Peer, id: string, role: 'validator' | 'non-validator'): Promise<{ raw: RawLink; peerSide: MemoryChatStream }> {
  const [mine, peerSide] = createMemoryChatPair({ a: id, b: peer.id })
  void peer.acceptStream(peerSide).catch(() => undefined)
  const raw = await RawLink.established(mine, id, role, { dialedAddress: peer.status().address })
  return { raw, peerSide }
}

/** Sets what the transport reports as not yet sent: an in-memory stream's bufferedAmount is a plain field. */
function setBuffered(stream: MemoryChatStream, bytes: number): void {
  ;(stream as { bufferedAmount: number }).bufferedAmount = bytes
}

/** Envelopes `raw` receives up to a RESPONSE whose msg is `marker` (sent after what is under test, so it arrives after it). */
async function until(raw: RawLink, marker: string): Promise<Envelope[]> {
  const seen: Envelope[] = []
  for (;;) {
    const env = await raw.next()
    if (env.type === MessageType.RESPONSE && decodePayload(MessageType.RESPONSE, env.payload).msg === marker) return seen
    seen.push(env)
  }
}

describe('a peer broadcasting to a follower whose link has a backlog', () => {
  let net: MemoryNetwork
  afterEach(async () => {
    await net?.stopAll()
  })

  it('skips and counts the announcement, keeps the link, and sends everything else as before', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits: { discoveryPeriodMs: 60_000 } })
    await vp0.start()
    const tab = await linked(vp0, 'tab-1', 'non-validator')
    const vp1 = await linked(vp0, 'vp1', 'validator')
    const announce = makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block: someBlock() })

    // Past the limit: the follower's copy is skipped; the validator's, with the same backlog, is sent.
    setBuffered(tab.peerSide, DEFAULT_FOLLOWER_BACKLOG_BYTES + 1)
    setBuffered(vp1.peerSide, DEFAULT_FOLLOWER_BACKLOG_BYTES + 1)
    expect(vp0.broadcast(announce, 'non-validator')).toBe(0)
    expect(vp0.broadcast(announce, 'all')).toBe(1)
    expect(vp0.metrics().announcementsSkipped).toBe(2)
    // A type that is not best-effort still goes out to the follower.
    expect(vp0.broadcast(makeResponse(ResponseStatus.SUCCESS, 'after-skip'), 'non-validator')).toBe(1)
    expect((await until(tab.raw, 'after-skip')).map((e) => e.type)).not.toContain(MessageType.SYNC_BLOCK_ADDED)
    expect((await vp1.raw.next({ type: MessageType.SYNC_BLOCK_ADDED })).type).toBe(MessageType.SYNC_BLOCK_ADDED)

    // The link stayed up, and once it drained announcements flow again.
    expect(tab.peerSide.closed).toBe(false)
    expect(vp0.status().peers.map((p) => p.id).sort()).toEqual(['tab-1', 'vp1'])
    setBuffered(tab.peerSide, 0)
    expect(vp0.broadcast(announce, 'non-validator')).toBe(1)
    expect(vp0.broadcast(makeResponse(ResponseStatus.SUCCESS, 'drained'), 'non-validator')).toBe(1)
    expect((await until(tab.raw, 'drained')).map((e) => e.type)).toContain(MessageType.SYNC_BLOCK_ADDED)
    expect(vp0.metrics().announcementsSkipped).toBe(2)
  })

  it('honours a configured followerBacklogBytes', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits: { discoveryPeriodMs: 60_000, followerBacklogBytes: 100 } })
    await vp0.start()
    const tab = await linked(vp0, 'tab-1', 'non-validator')
    setBuffered(tab.peerSide, 101)
    expect(vp0.broadcast(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block: someBlock() }), 'non-validator')).toBe(0)
    expect(vp0.metrics().announcementsSkipped).toBe(1)
  })
})
