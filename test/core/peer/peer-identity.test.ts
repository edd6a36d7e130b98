/**
 * The authenticated handshake as the peer runs it: links carry proven key ids, a membership
 * keeps impostors out, only validators may send CONSENSUS, and tampered, replayed or relayed
 * handshakes register nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import '../../support/test-consenters.js'
import { instances } from '../../support/test-consenters.js'
import { MemoryNetwork } from '../../support/memory-network.js'
import { RawLink } from '../../support/raw-link.js'
import { generateKeyPair, type KeyPair } from '../../../src/core/identity/key-pair.js'
import { validateMembership, type Membership } from '../../../src/core/identity/membership.js'
import { messageFromHello } from '../../../src/core/identity/handshake-messages.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'
import type { Peer } from '../../../src/core/peer/peer-types.js'
import type { Logger } from '../../../src/core/util/logger.js'

const consensus = (n: number) => ({ type: MessageType.CONSENSUS, payload: new Uint8Array([n]) })
const tx = (txid: string) => makeEnvelope(MessageType.CHAIN_TRANSACTION, { txid, payload: 'p', timestamp: 1, origin: 'x' })

let net: MemoryNetwork
afterEach(async () => {
  await net?.stopAll()
})

function membershipOf(members: Record<string, KeyPair>): Membership {
  return validateMembership({ validators: Object.entries(members).map(([id, key]) => ({ id, publicKey: toHex(key.publicKey) })) })
}

function waitForPeers(peer: Peer, ids: string[]): Promise<void> {
  return vi.waitFor(() => expect(peer.status().peers.map((p) => p.id).sort()).toEqual([...ids].sort()), { timeout: 5000, interval: 5 })
}

describe('authenticated links', () => {
  it('links two peers with each side knowing the key id the other proved', async () => {
    net = new MemoryNetwork()
    const [k0, k1] = [await generateKeyPair(), await generateKeyPair()]
    const membership = membershipOf({ vp0: k0, vp1: k1 })
    const vp0 = net.add({ id: 'vp0', role: 'validator', identity: { keyPair: k0, membership } })
    const vp1 = net.add({ id: 'vp1', role: 'validator', identity: { keyPair: k1, membership }, bootstrap: [MemoryNetwork.address('vp0')] })
    await vp0.start()
    await vp1.start()
    await waitForPeers(vp0, ['vp1'])
    await waitForPeers(vp1, ['vp0'])
    expect(vp0.status().identity).toEqual({ keyId: k0.keyIdHex, mode: 'closed', members: 2 })
    expect(vp0.status().peers[0]!.keyId).toBe(k1.keyIdHex)
    expect(vp1.status().peers[0]!.keyId).toBe(k0.keyIdHex)
  })

  it('says open development mode loudly at start-up and in status when there is no membership', async () => {
    net = new MemoryNetwork()
    const warnings: string[] = []
    const log: Logger = { debug() {}, info() {}, error() {}, warn: (msg) => void warnings.push(msg), child: () => log }
    const vp0 = net.add({ id: 'vp0', role: 'validator', log })
    await vp0.start()
    expect(vp0.status().identity).toMatchObject({ mode: 'open', members: 0, keyId: expect.stringMatching(/^[0-9a-f]{40}$/) })
    expect(warnings.filter((w) => w.startsWith('OPEN DEVELOPMENT MODE'))).toHaveLength(1)

    const k1 = await generateKeyPair()
    warnings.length = 0
    const vp1 = net.add({ id: 'vp1', role: 'validator', log, identity: { keyPair: k1, membership: membershipOf({ vp1: k1 }) } })
    await vp1.start()
    expect(warnings).toEqual([])
  })

  it('a non-validator without membership (a tab) says what it lacks at info level, not OPEN DEVELOPMENT MODE', async () => {
    net = new MemoryNetwork()
    const lines: string[] = []
    const log: Logger = { debug() {}, error() {}, info: (msg) => void lines.push(`info ${msg}`), warn: (msg) => void lines.push(`warn ${msg}`), child: () => log }
    const tab = net.add({ id: 'tab-1', role: 'non-validator', log })
    await tab.start()
    expect(lines.filter((l) => l.includes('OPEN DEVELOPMENT MODE'))).toEqual([])
    expect(lines.filter((l) => l.startsWith('info no membership: this non-validator orders nothing'))).toHaveLength(1)
    expect(tab.status().identity.mode).toBe('open')
  })
})

describe('membership', () => {
  it('refuses a member ID presented with another key (1008) and registers nothing', async () => {
    net = new MemoryNetwork()
    const [k0, k1] = [await generateKeyPair(), await generateKeyPair()]
    const vp0 = net.add({ id: 'vp0', role: 'validator', identity: { keyPair: k0, membership: membershipOf({ vp0: k0, vp1: k1 }) } })
    await vp0.start()
    const impostor = new RawLink(vp0)
    await expect(impostor.hello('vp1')).rejects.toThrow()
    expect((await impostor.stream.done).code).toBe(1008)
    expect(vp0.status().peers).toEqual([])
  })

  it('refuses a non-member that claims to be a validator, and lets it in as a non-validator', async () => {
    net = new MemoryNetwork()
    const k0 = await generateKeyPair()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', identity: { keyPair: k0, membership: membershipOf({ vp0: k0 }) } })
    await vp0.start()
    const claim = new RawLink(vp0)
    await expect(claim.hello('vp7', 'validator')).rejects.toThrow()
    expect((await claim.stream.done).code).toBe(1008)

    const client = await RawLink.established(vp0, 'client', 'non-validator')
    expect(vp0.status().peers.map((p) => p.id)).toEqual(['client'])
    // A non-member may submit transactions but not take part in consensus; the link stays.
    client.send(consensus(1))
    expect(await client.nextResponse()).toMatchObject({ code: 'ERR_NOT_A_MEMBER', inReplyTo: MessageType.CONSENSUS })
    client.send(tx('t1'))
    await instances.get('vp0')!.waitFor(1)
    expect(instances.get('vp0')!.received.map((m) => [m.sender, m.envelope.type])).toEqual([['client', MessageType.CHAIN_TRANSACTION]])
    expect(client.stream.closed).toBe(false)
  })

  it('in open mode takes CONSENSUS only from peers that announced themselves as validators', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await vp0.start()
    const tab = await RawLink.established(vp0, 'tab-1', 'non-validator')
    tab.send(consensus(1))
    expect(await tab.nextResponse()).toMatchObject({ code: 'ERR_NOT_A_MEMBER' })
    const validator = await RawLink.established(vp0, 'vp1', 'validator')
    validator.send(consensus(2))
    await instances.get('vp0')!.waitFor(1)
    expect(instances.get('vp0')!.received.map((m) => m.sender)).toEqual(['vp1'])
  })
})

describe('hostile handshakes (hostile-inputs.md 13, 14)', () => {
  it('refuses a step 3 whose signature covers another challenge (1008), registering nothing', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator' })
    await vp0.start()
    // Two sessions by the same key and endpoint; only the acceptor's challenges differ.
    const key = await generateKeyPair()
    const [a, b] = [new RawLink(vp0), new RawLink(vp0)]
    const [, stepB] = await Promise.all([a, b].map((raw) => raw.confirmUnsent('vp1', 'validator', { keyPair: key })))
    // Session b's proof, answering session a's challenge.
    a.send(stepB!)
    expect(await a.nextResponse()).toMatchObject({ code: 'ERR_HANDSHAKE', inReplyTo: MessageType.DISC_HELLO })
    expect((await a.stream.done).code).toBe(1008)
    expect(vp0.status().peers).toEqual([])
  })

  it('refuses a replayed handshake: recorded steps 1 and 3 of an earlier session (1008)', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator' })
    await vp0.start()
    // Record an honest session.
    const honest = new RawLink(vp0)
    const handshake = await honest.dialerHandshake('vp1')
    const step1 = RawLink.helloEnvelope(handshake.start()!)
    honest.send(step1)
    const reply = decodePayload(MessageType.DISC_HELLO, (await honest.next({ type: MessageType.DISC_HELLO })).payload)
    const step3 = RawLink.helloEnvelope((await handshake.receive(messageFromHello(reply.peerEndpoint, reply.auth)))!)
    honest.send(step3)
    await waitForPeers(vp0, ['vp1'])
    honest.stream.close(1000, 'done')
    await waitForPeers(vp0, [])

    // Replay it on a new connection: the acceptor's fresh nonce is not what step 3 signed.
    const replay = new RawLink(vp0)
    replay.send(step1)
    await replay.next({ type: MessageType.DISC_HELLO })
    replay.send(step3)
    expect(await replay.nextResponse()).toMatchObject({ code: 'ERR_HANDSHAKE' })
    expect((await replay.stream.done).code).toBe(1008)
    expect(vp0.status().peers).toEqual([])
  })

  it('refuses a handshake meant for another address (a relay forwarding it) with 1008', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator' })
    await vp0.start()
    const relayed = new RawLink(vp0)
    await expect(relayed.hello('vp1', 'validator', { dialedAddress: 'ws://mallory.example/chat' })).rejects.toThrow()
    expect((await relayed.stream.done).code).toBe(1008)
    expect(vp0.status().peers).toEqual([])
  })

  it('accepts a dial through a configured alias of the acceptor', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator', identity: { aliases: ['ws://proxy.example/chat'] } })
    await vp0.start()
    await RawLink.established(vp0, 'vp1', 'validator', { dialedAddress: 'ws://proxy.example/chat' })
    expect(vp0.status().peers.map((p) => p.id)).toEqual(['vp1'])
  })
})

describe('the stack lent to consenters', () => {
  it('signs with the peer key and verifies a linked peer against the key its handshake proved', async () => {
    net = new MemoryNetwork()
    const k1 = await generateKeyPair()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await vp0.start()
    await RawLink.established(vp0, 'vp1', 'validator', { keyPair: k1 })
    const stack = instances.get('vp0')!.stack
    const data = new TextEncoder().encode('view change 7')
    expect(await stack.verify('vp1', await k1.sign(data), data)).toBe(true)
    expect(await stack.verify('vp1', await k1.sign(data), new TextEncoder().encode('view change 8'))).toBe(false)
    expect(await stack.verify('nobody', await k1.sign(data), data)).toBe(false)
  })
})

describe('non-validators submit without speaking CONSENSUS', () => {
  async function submitFromTab(consensus: string, validators: string[]): Promise<void> {
    net = new MemoryNetwork()
    const keys = Object.fromEntries(await Promise.all(validators.map(async (id) => [id, await generateKeyPair()] as const)))
    const membership = membershipOf(keys)
    const options = consensus === 'pbft' ? { validators, batchSize: 1 } : {}
    const peers = validators.map((id, i) =>
      net.add({ id, role: 'validator', consensus, consensusOptions: options, identity: { keyPair: keys[id]!, membership }, bootstrap: validators.slice(0, i).map((v) => MemoryNetwork.address(v)) }),
    )
    const tab = net.add({ id: 'tab-1', role: 'non-validator', consensus, consensusOptions: options, bootstrap: validators.map((v) => MemoryNetwork.address(v)) })
    for (const peer of [...peers, tab]) await peer.start()
    for (const peer of peers) await waitForPeers(peer, [...validators.filter((id) => id !== peer.id), 'tab-1'])
    const refused: string[] = []
    for (const peer of peers) peer.on('message-rejected', (r) => refused.push(`${peer.id}<-${r.peer} ${r.code}`))
    await tab.submit('color=blue')
    await vi.waitFor(
      () => {
        expect([...peers, tab].map((p) => `${p.id}:${p.status().chain.height}`)).toEqual([...peers, tab].map((p) => `${p.id}:2`))
        expect(new Set([...peers, tab].map((p) => p.status().chain.headHash)).size).toBe(1)
      },
      { timeout: 10_000, interval: 10 },
    )
    expect(refused).toEqual([])
  }

  it('noops: a tab transaction reaches the leader as CHAIN_TRANSACTION and commits everywhere', async () => {
    await submitFromTab('noops', ['vp0', 'vp1'])
  })

  it('pbft: a tab transaction reaches every replica as CHAIN_TRANSACTION and commits everywhere', async () => {
    await submitFromTab('pbft', ['vp0', 'vp1', 'vp2', 'vp3'])
  })
})
