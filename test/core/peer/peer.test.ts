import { afterEach, describe, expect, it, vi } from 'vitest'
import '../../support/test-consenters.js'
import { instances } from '../../support/test-consenters.js'
import { MemoryNetwork } from '../../support/memory-network.js'
import { RawLink } from '../../support/raw-link.js'
import { createPeer } from '../../../src/core/peer/peer.js'
import { createMemoryChatPair } from '../../../src/core/chat/memory-chat-stream.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'
import { PeerNotFoundError, UnknownConsenterError } from '../../../src/core/errors.js'
import type { Peer } from '../../../src/core/peer/peer-types.js'
import { DEFAULT_QUEUE_MAX_MESSAGES } from '../../../src/core/peer/limits.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { toHex } from '../../../src/core/util/bytes.js'

const consensus = (n: number) => ({ type: MessageType.CONSENSUS, payload: new Uint8Array([n & 255, (n >> 8) & 255]) })

let net: MemoryNetwork
afterEach(async () => {
  await net?.stopAll()
})

function waitForPeers(peer: Peer, ids: string[]): Promise<void> {
  return vi.waitFor(
    () => {
      const have = peer.status().peers.map((p) => p.id)
      for (const id of ids) if (!have.includes(id)) throw new Error(`${peer.id} lacks ${id}; has ${have.join(',')}`)
    },
    { timeout: 5000, interval: 5 },
  )
}

describe('peer handler state machine', () => {
  it('refuses CONSENSUS before HELLO without processing it, then accepts HELLO and answers it', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const raw = new RawLink(peer)
    raw.send(consensus(1))
    const refusal = await raw.nextResponse()
    expect(refusal).toMatchObject({ status: 500, code: 'ERR_HANDLER_STATE', inReplyTo: MessageType.CONSENSUS })
    expect(refusal.msg).toBe('CONSENSUS is not accepted in state created')
    raw.send(makeEnvelope(MessageType.DISC_GET_PEERS, {}))
    expect((await raw.nextResponse()).msg).toBe('DISC_GET_PEERS is not accepted in state created')

    await raw.hello('vp9')
    await waitForPeers(peer, ['vp9'])

    // A second HELLO is refused; the link stays up and keeps working.
    raw.plainHello('vp9')
    expect(await raw.nextResponse()).toMatchObject({ code: 'ERR_DUPLICATE_HELLO' })
    raw.send(consensus(2))
    await instances.get('vp0')!.waitFor(1)
    expect(instances.get('vp0')!.received.map((m) => [m.sender, m.envelope.payload[0]])).toEqual([['vp9', 2]])
  })

  it('answers an unknown type with an error and keeps the link', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const raw = await RawLink.established(peer, 'vp1')
    raw.send({ type: 99, payload: new Uint8Array() })
    expect(await raw.nextResponse()).toMatchObject({ code: 'ERR_UNKNOWN_TYPE', inReplyTo: 99 })
    raw.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 5 }))
    const pong = await raw.next({ type: MessageType.KEEPALIVE_PONG })
    expect(decodePayload(MessageType.KEEPALIVE_PONG, pong.payload).nonce).toBe(5)
    expect(raw.stream.closed).toBe(false)
  })

  it('refuses a HELLO that claims our own id and closes with 1008', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const raw = new RawLink(peer)
    await expect(raw.hello('vp0')).rejects.toThrow()
    expect((await raw.stream.done).code).toBe(1008)
    expect(peer.status().peers).toEqual([])
  })

  it('refuses a HELLO without the auth map (an unauthenticated peer) with 1008 and registers nothing', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const raw = new RawLink(peer)
    raw.plainHello('vp1')
    expect(await raw.nextResponse()).toMatchObject({ code: 'ERR_HANDSHAKE', inReplyTo: MessageType.DISC_HELLO })
    expect((await raw.stream.done).code).toBe(1008)
    expect(peer.status().peers).toEqual([])
  })
})

describe('bounded consensus queue', () => {
  it('reports its bound in status, so a client can size a flood past it', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-gated', limits: { queueMaxMessages: 42, queueMaxBytes: 4096 } })
    expect(peer.status().queueLimits).toEqual({ maxMessages: 42, maxBytes: 4096 })
  })

  it('accepts exactly the bound under a 10x flood, refuses the rest to the sender, keeps the link and the other peers', async () => {
    net = new MemoryNetwork()
    const bound = 100
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-gated', limits: { queueMaxMessages: bound } })
    await peer.start()
    const flooder = await RawLink.established(peer, 'vp1')
    const honest = await RawLink.established(peer, 'vp2')

    const total = bound * 10
    for (let i = 0; i < total; i += 50) flooder.send(...Array.from({ length: 50 }, (_, j) => consensus(i + j)))
    const consenter = instances.get('vp0')!
    // Wait until every flood message is either queued, in the consenter, or refused.
    await vi.waitFor(
      () => {
        const rejects = peer.metrics().queueRejectsTotal
        const queued = peer.status().queues.find((q) => q.peer === 'vp1')?.depth ?? 0
        expect(rejects + queued + consenter.received.length).toBe(total)
      },
      { timeout: 5000, interval: 5 },
    )
    const accepted = total - peer.metrics().queueRejectsTotal
    // The consenter is blocked on the one message it took; the queue holds exactly the bound.
    expect(consenter.inFlight).toBe(1)
    expect(accepted).toBe(bound + consenter.received.length)
    const refusal = await flooder.nextResponse()
    expect(refusal).toMatchObject({ status: 500, code: 'ERR_QUEUE_FULL', msg: 'Message channel for vp1 full, rejecting' })
    expect(flooder.stream.closed).toBe(false)

    // The honest peer's messages still reach the consenter, fairly interleaved with the backlog.
    honest.send(consensus(7000), consensus(7001))
    consenter.release()
    await consenter.waitFor(accepted + 2)
    const fromHonest = consenter.received.map((m, i) => [m.sender, i] as const).filter(([s]) => s === 'vp2')
    expect(fromHonest).toHaveLength(2)
    // Round robin: the honest messages do not wait behind the whole backlog.
    expect(fromHonest[1]![1]).toBeLessThan(10)
    expect(consenter.received.filter((m) => m.sender === 'vp1')).toHaveLength(accepted)
  })
})

describe('registry policy', () => {
  it('a second link for the same ID replaces the first and loses nothing the first had queued', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-gated' })
    await peer.start()
    const first = await RawLink.established(peer, 'vp5')
    first.send(consensus(1), consensus(2), consensus(3))
    const consenter = instances.get('vp0')!
    await vi.waitFor(() => expect(peer.status().queues.find((q) => q.peer === 'vp5')?.depth).toBe(2), { timeout: 5000, interval: 5 })

    const second = await RawLink.established(peer, 'vp5')
    expect((await first.stream.done).code).toBe(4001)
    second.send(consensus(4))
    consenter.release()
    await consenter.waitFor(4)
    expect(consenter.received.map((m) => m.envelope.payload[0])).toEqual([1, 2, 3, 4])
    expect(peer.status().peers.map((p) => p.id)).toEqual(['vp5'])
  })

  it('simultaneous dials A<->B leave exactly one link, the same on both sides', async () => {
    net = new MemoryNetwork()
    const a = net.add({ id: 'A', role: 'validator', consensus: 'test-recording' })
    const b = net.add({ id: 'B', role: 'validator', consensus: 'test-recording' })
    await Promise.all([a.start(), b.start()])
    void a.chatWithPeer(MemoryNetwork.address('B')).catch(() => {})
    void b.chatWithPeer(MemoryNetwork.address('A')).catch(() => {})
    await vi.waitFor(
      () => {
        const open = net.links.filter((l) => !l.a.closed && !l.b.closed)
        expect(net.links).toHaveLength(2)
        expect(open).toHaveLength(1)
        // Registered on both ends (the survivor's handshake may finish after the loser closed).
        expect(a.status().peers.map((p) => p.id)).toEqual(['B'])
        expect(b.status().peers.map((p) => p.id)).toEqual(['A'])
      },
      { timeout: 5000, interval: 5 },
    )
    // The survivor is the link A dialed (A < B), i.e. the one whose acceptor is B.
    const survivor = net.links.find((l) => !l.a.closed)!
    expect(survivor.to).toBe('B')
    // The loser ended with 4001 and the ERR_DUPLICATE_LINK token (PROTOCOL.md 8.4, 13.1).
    const loser = net.links.find((l) => l !== survivor)!
    const end = await loser.a.done
    expect(end.code).toBe(4001)
    expect(end.reason).toMatch(/^ERR_DUPLICATE_LINK: /)
    // And it works both ways.
    a.unicast(consensus(1), 'B')
    b.unicast(consensus(2), 'A')
    await instances.get('A')!.waitFor(1)
    await instances.get('B')!.waitFor(1)
  })
})

describe('discovery, keepalive and handshake timers (manual clock)', () => {
  it('4 peers bootstrapped with one address all reach each other through DISC_PEERS', async () => {
    net = new MemoryNetwork()
    const clock = new ManualClock(1_000_000)
    const ids = ['vp0', 'vp1', 'vp2', 'vp3']
    const peers = ids.map((id, i) =>
      net.add({ id, role: 'validator', consensus: 'test-recording', clock, bootstrap: i === 0 ? [] : [MemoryNetwork.address('vp0')] }),
    )
    for (const peer of peers) await peer.start()
    await waitForPeers(peers[0]!, ['vp1', 'vp2', 'vp3'])
    // Nobody but vp0 is known yet; one discovery period later everyone knows everyone.
    expect(peers[1]!.status().peers.map((p) => p.id)).toEqual(['vp0'])
    clock.advance(5000)
    for (const peer of peers) await waitForPeers(peer, ids.filter((id) => id !== peer.id))
  })

  it('closes a link that never completes the handshake after the handshake timeout (1008)', async () => {
    net = new MemoryNetwork()
    const clock = new ManualClock()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', clock, limits: { handshakeTimeoutMs: 2000 } })
    await peer.start()
    const raw = new RawLink(peer)
    clock.advance(1000)
    expect(raw.stream.closed).toBe(false)
    clock.advance(1500)
    const end = await raw.stream.done
    expect(end.code).toBe(1008)
    expect(end.reason).toMatch(/handshake not completed within 2000 ms/)
    expect(peer.status().peers).toEqual([])
  })

  it('pings an idle link and closes a silent one (4003)', async () => {
    net = new MemoryNetwork()
    const clock = new ManualClock()
    const peer = net.add({
      id: 'vp0',
      role: 'validator',
      consensus: 'test-recording',
      clock,
      limits: { keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 3000 },
    })
    await peer.start()
    const raw = await RawLink.established(peer, 'vp1')
    clock.advance(1000)
    await raw.next({ type: MessageType.KEEPALIVE_PING })
    clock.advance(2500)
    expect((await raw.stream.done).code).toBe(4003)
    await vi.waitFor(() => expect(peer.status().peers).toEqual([]), { timeout: 5000, interval: 5 })
  })

  it('caps a hostile DISC_PEERS list, drops bad entries and bounds dials in flight', async () => {
    net = new MemoryNetwork()
    let dialing = 0
    let maxDialing = 0
    const attempted = new Set<string>()
    const peer = createPeer({
      id: 'vp0',
      role: 'validator',
      consensus: 'test-recording',
      address: 'ws://mem/vp0/chat',
      limits: { maxPeersList: 100, maxDialsInFlight: 4 },
      connect: (address) => {
        attempted.add(address)
        dialing++
        maxDialing = Math.max(maxDialing, dialing)
        // Never answers: every dial stays in flight.
        return new Promise(() => {})
      },
    })
    net.peers.set('vp0', peer)
    await peer.start()
    const raw = await RawLink.established(peer, 'evil')
    const peers = [
      { id: 'vp0', address: 'ws://mem/vp0/chat', type: 1 },
      { id: 'x1', address: 'http://not-ws/chat', type: 1 },
      { id: 'x2', address: 'not a url', type: 1 },
      ...Array.from({ length: 9_997 }, (_, i) => ({ id: `p${i}`, address: `ws://10.0.${i >> 8}.${i & 255}:7051/chat`, type: 1 })),
    ]
    raw.send(makeEnvelope(MessageType.DISC_PEERS, { peers: peers as never }))
    await vi.waitFor(() => expect(peer.metrics().knownAddresses).toBeGreaterThan(0), { timeout: 5000, interval: 5 })
    // 100 entries taken, of which 3 are bad (self, wrong scheme, not a URL).
    expect(peer.metrics().knownAddresses).toBe(97)
    expect(maxDialing).toBe(4)
    expect(peer.metrics().dialsInFlight).toBe(4)
    expect(attempted.has('ws://mem/vp0/chat')).toBe(false)
    await peer.stop()
  })
})

describe('stack and lifecycle', () => {
  it('unicast to an unknown ID is a clear error; broadcast honours roles', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    expect(() => peer.unicast(consensus(1), 'nobody')).toThrow(PeerNotFoundError)
    const validator = await RawLink.established(peer, 'vp1', 'validator')
    const tab = await RawLink.established(peer, 'tab1', 'non-validator')
    expect(peer.broadcast(consensus(1), 'validator')).toBe(1)
    expect(peer.broadcast(consensus(2), 'non-validator')).toBe(1)
    expect(peer.broadcast(consensus(3))).toBe(2)
    expect((await validator.next({ type: MessageType.CONSENSUS })).payload[0]).toBe(1)
    expect((await tab.next({ type: MessageType.CONSENSUS })).payload[0]).toBe(2)
  })

  it('an unknown consensus plugin fails at start, never falls back', async () => {
    const peer = createPeer({ id: 'vp0', role: 'validator', consensus: 'raft' })
    await expect(peer.start()).rejects.toBeInstanceOf(UnknownConsenterError)
  })

  it('queue default matches Fabric', () => {
    expect(DEFAULT_QUEUE_MAX_MESSAGES).toBe(1000)
  })
})

describe('events and catch-up', () => {
  it('reports a RESPONSE(FAILURE) from a peer as refused-by-peer', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const refusals: unknown[] = []
    peer.on('refused-by-peer', (r) => refusals.push(r))
    const raw = await RawLink.established(peer, 'vp1')
    raw.send(makeEnvelope(MessageType.RESPONSE, { status: 500, msg: 'Message channel for vp0 full, rejecting', code: 'ERR_QUEUE_FULL', inReplyTo: 21 }))
    await vi.waitFor(() => expect(refusals).toHaveLength(1), { timeout: 5000, interval: 5 })
    expect(refusals[0]).toEqual({ peer: 'vp1', code: 'ERR_QUEUE_FULL', message: 'Message channel for vp0 full, rejecting', inReplyTo: 'CONSENSUS' })
  })

  it('reports why a link ended in peer-disconnected, not a bare 1006', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits: { maxDecodeErrors: 1 } })
    await peer.start()
    const ends: { code: number; reason: string }[] = []
    peer.on('peer-disconnected', (e) => ends.push(e))
    const raw = await RawLink.established(peer, 'vp1')
    raw.sendBytes(new Uint8Array([0xc1]))
    await vi.waitFor(() => expect(ends).toHaveLength(1), { timeout: 5000, interval: 5 })
    expect(ends[0]!.code).toBe(1007)
    expect(ends[0]!.reason).toMatch(/frame/)
  })

  it('a non-validator joining late catches up from a validator at HELLO, without waiting for a new block', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'noops', consensusOptions: { blockWaitMs: 10 } })
    await vp0.start()
    for (let i = 0; i < 3; i++) {
      await vp0.submit(`k${i}=v`)
      await new Promise<void>((resolve) => {
        const off = vp0.on('block-committed', () => {
          off()
          resolve()
        })
      })
    }
    expect(vp0.status().chain.height).toBe(4)
    const tab = net.add({ id: 'tab1', role: 'non-validator', consensus: 'noops', bootstrap: [MemoryNetwork.address('vp0')] })
    await tab.start()
    await vi.waitFor(() => expect(tab.status().chain).toEqual(vp0.status().chain), { timeout: 5000, interval: 5 })
  })
})

describe('a follower whose fetch failed', () => {
  it('catches up on a later discovery tick, with no new block to show the gap', async () => {
    // Two blocks the raw validator below serves, made on a ledger of its own from the same genesis.
    const source = createMemoryLedger()
    const blocks = [1, 2].map((n) => {
      source.beginTxBatch(`b${n}`)
      source.execTxs(`b${n}`, [{ txid: `t${n}`, payload: `k${n}=v`, timestamp: n, origin: 'vp1' }])
      return source.commitTxBatch(`b${n}`, { timestamp: n, proposer: 'vp1' })
    })
    net = new MemoryNetwork()
    const limits = { syncTimeoutMs: 200, discoveryPeriodMs: 50 }
    const tab = net.add({ id: 'tab1', role: 'non-validator', consensus: 'test-recording', limits })
    await tab.start()
    const vp1 = await RawLink.established(tab, 'vp1')
    vp1.send(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block: blocks[1]! }))
    // The first ask for the gap goes unanswered and times out: the follower is left at genesis.
    const first = decodePayload(MessageType.SYNC_GET_BLOCKS, (await vp1.next({ type: MessageType.SYNC_GET_BLOCKS })).payload)
    expect(first).toMatchObject({ start: 1, end: 1 })
    // No further block comes; a discovery tick asks again for the gap (block 2 is held since its announcement).
    const again = decodePayload(MessageType.SYNC_GET_BLOCKS, (await vp1.next({ type: MessageType.SYNC_GET_BLOCKS })).payload)
    expect(again).toMatchObject({ start: 1, end: 1 })
    expect(tab.status().chain.height).toBe(1)
    // Its status says how far behind it is (no time at genesis: that block has no proposer time).
    expect(tab.status().lag).toEqual({ claimedHeight: 3, blocks: 2, ms: null })
    vp1.send(makeEnvelope(MessageType.SYNC_BLOCKS, { requestId: again.requestId, blocks: [blocks[0]!] }))
    await vi.waitFor(() => expect(tab.status().chain).toEqual({ height: 3, headHash: toHex(source.headHash()) }), { timeout: 5000, interval: 5 })
    expect(tab.status().lag).toEqual({ claimedHeight: 3, blocks: 0, ms: null })
  })
})

describe('acceptStream', () => {
  it('calls onEstablished once the link completed HELLO, never for one that did not', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const established: string[] = []
    const [mine, theirs] = createMemoryChatPair()
    // How the link ends (the network is torn down after the test) is not what this test checks.
    peer.acceptStream(theirs, { onEstablished: (remote) => established.push(remote.id) }).catch(() => {})
    const raw = new RawLink(mine)
    raw.send({ type: MessageType.CONSENSUS, payload: new Uint8Array([1]) })
    await raw.nextResponse()
    expect(established).toEqual([])
    await raw.hello('vp7', 'validator', { dialedAddress: peer.status().address })
    // The peer answers a ping only once the link is registered, and onEstablished runs at registration.
    raw.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 7 }))
    await raw.next({ type: MessageType.KEEPALIVE_PONG })
    expect(established).toEqual(['vp7'])
  })
})

describe('metrics under hostile input', () => {
  it('counts unknown type numbers under one UNKNOWN key, however many a sender invents', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    const raw = await RawLink.established(peer, 'vp1')
    for (let type = 100; type < 150; type++) raw.send({ type, payload: new Uint8Array() })
    await vi.waitFor(() => expect(peer.metrics().messagesReceived['UNKNOWN']).toBe(50), { timeout: 5000, interval: 5 })
    expect(Object.keys(peer.metrics().messagesReceived).sort()).toEqual(['DISC_HELLO', 'KEEPALIVE_PING', 'UNKNOWN'])
  })
})

describe('back-pressure on a full queue', () => {
  it('stops reading a link whose queue refused a message, and reads it again once it drained to half', async () => {
    net = new MemoryNetwork()
    const bound = 20
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-gated', limits: { queueMaxMessages: bound } })
    await peer.start()
    const [mine, theirs] = createMemoryChatPair()
    const calls: string[] = []
    Object.assign(theirs, { pauseReading: () => calls.push('pause'), resumeReading: () => calls.push('resume') })
    peer.acceptStream(theirs).catch(() => {}) // its end at teardown is not what this test checks
    const raw = await RawLink.established(mine, 'vp1', 'validator', { dialedAddress: peer.status().address })
    raw.send(...Array.from({ length: bound + 5 }, (_, i) => consensus(i)))
    expect(await raw.nextResponse()).toMatchObject({ code: 'ERR_QUEUE_FULL' })
    expect(calls[0]).toBe('pause')
    expect(calls).not.toContain('resume')
    instances.get('vp0')!.release()
    await vi.waitFor(() => expect(calls).toContain('resume'), { timeout: 5000, interval: 5 })
  })
})
