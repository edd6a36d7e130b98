import { describe, expect, it, vi } from 'vitest'
import { CloseCode, TransportError } from '../../../src/core/errors.js'
import type { Link } from '../../../src/core/handlers/link.js'
import { Discovery, dialOrder, type DiscoveryLimits, type LinkedPeers } from '../../../src/core/peer/discovery.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { EndpointType, type PeerEndpoint } from '../../../src/core/wire/payload-types.js'
import { recordingLogger, type LogRecord } from '../../support/fake-network.js'
import { linkTo } from '../../support/fake-link.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

const SELF = { id: 'vp0', address: 'ws://vp0/chat' }
const at = (id: string): string => `ws://${id}/chat`
const endpoint = (id: string, address = at(id)): PeerEndpoint => ({ id, address, type: EndpointType.VALIDATOR })

/** The registry as discovery reads it. */
class Linked implements LinkedPeers {
  readonly links = new Map<string, Link>()
  get size(): number {
    return this.links.size
  }
  get outbound(): number {
    return [...this.links.values()].filter((link) => link.initiated).length
  }
  has(peerId: string): boolean {
    return this.links.has(peerId)
  }
  values(): Iterable<Link> {
    return this.links.values()
  }
  add(link: Link): Link {
    this.links.set(link.remoteId, link)
    return link
  }
}

const LIMITS: DiscoveryLimits = {
  maxDialsInFlight: 2,
  maxPeers: 10,
  maxOutboundPeers: 5,
  maxPeersList: 3,
  maxKnownAddresses: 100,
  discoveryPeriodMs: 1000,
  redialBaseMs: 100,
  redialMaxMs: 1000,
}

/** A `random` under which dialOrder keeps the book's order within each rank (every swap is with itself). */
const KEEP_ORDER = (): number => 1 - Number.EPSILON

/**
 * A discovery whose dials wait until the test fails or ends them; like chatWithPeer, each counts
 * itself. Due addresses are dialed in the book's order unless `random` is given.
 */
function discoveryOver(limits: Partial<DiscoveryLimits> = {}, random: () => number = KEEP_ORDER, follower = false) {
  const clock = new ManualClock()
  const logs: LogRecord[] = []
  const linked = new Linked()
  const metrics = { peersListEntriesDropped: 0 }
  const dials: string[] = []
  const pending = new Map<string, { fail: (err: Error) => void; succeed: () => void; signal: AbortSignal }>()
  const sent: { to: string; type: number }[] = []
  let periods = 0
  const discovery: Discovery = new Discovery({
    self: SELF,
    limits: { ...LIMITS, ...limits },
    clock,
    log: recordingLogger(logs),
    linked,
    metrics,
    canDial: true,
    running: () => true,
    dial: (address, signal) => {
      dials.push(address)
      const settle = discovery.countDial()
      return new Promise<void>((resolve, reject) => {
        pending.set(address, { fail: reject, succeed: resolve, signal })
      }).finally(settle)
    },
    send: (link, envelope) => {
      sent.push({ to: link.remoteId, type: envelope.type })
      return true
    },
    onPeriod: () => periods++,
    random,
    follower,
  })
  return { clock, logs, linked, metrics, dials, pending, sent, discovery, periods: () => periods }
}

describe('discovery', () => {
  it('dials the bootstrap addresses, at most maxDialsInFlight at once, never its own or a bad one', async () => {
    const d = discoveryOver()
    d.discovery.addBootstrap([SELF.address, at('vp1'), 'http://vp2/chat', at('vp3'), at('vp4')])
    expect(d.discovery.knownAddresses).toBe(3)
    expect(d.logs.filter((r) => r.msg === 'ignoring bootstrap address that is not a ws:// URL').map((r) => r.fields)).toEqual([{ address: 'http://vp2/chat' }])
    d.discovery.start()
    expect(d.dials).toEqual([at('vp1'), at('vp3')])
    expect(d.discovery.dialsInFlight).toBe(2)
    // A failed dial frees its slot and backs off; the next due address takes the slot.
    d.pending.get(at('vp1'))!.fail(new TransportError('connection refused'))
    await vi.waitFor(() => expect(d.discovery.dialsInFlight).toBe(1), { timeout: 1000, interval: 1 })
    d.discovery.dialDue()
    expect(d.dials).toEqual([at('vp1'), at('vp3'), at('vp4')])
  })

  it('redials a failed address only after its backoff (half to all of redialBaseMs after one failure)', async () => {
    const d = discoveryOver({ maxDialsInFlight: 1 })
    d.discovery.addBootstrap([at('vp1')])
    d.discovery.start()
    d.pending.get(at('vp1'))!.fail(new TransportError('connection refused'))
    await vi.waitFor(() => expect(d.discovery.dialsInFlight).toBe(0), { timeout: 1000, interval: 1 })
    d.clock.advance(49)
    d.discovery.dialDue()
    expect(d.dials).toEqual([at('vp1')])
    d.clock.advance(51)
    d.discovery.dialDue()
    expect(d.dials).toEqual([at('vp1'), at('vp1')])
  })

  it('dials nothing past the peer or outbound caps, nor a peer already linked', () => {
    const d = discoveryOver({ maxOutboundPeers: 1 })
    d.linked.add(linkTo(endpoint('vp1'), at('vp1')))
    d.discovery.addBootstrap([at('vp2')])
    d.discovery.start()
    expect(d.dials).toEqual([])

    const e = discoveryOver()
    e.linked.add(linkTo(endpoint('vp1')))
    e.discovery.learnPeers([endpoint('vp1', 'ws://vp1-alias/chat')], linkTo(endpoint('vp9')))
    expect(e.dials).toEqual([])
  })

  it('drops itself and bad entries of a DISC_PEERS list, and what lies past maxPeersList; counts them, then dials', () => {
    const d = discoveryOver()
    const from = linkTo(endpoint('vp9'))
    d.discovery.learnPeers([endpoint('vp1'), endpoint(SELF.id, at('elsewhere')), { id: 'vp2', address: 'not a url' }], from)
    expect(d.metrics.peersListEntriesDropped).toBe(2)
    expect(d.logs.filter((r) => r.msg === 'dropped DISC_PEERS entries').map((r) => r.fields)).toEqual([{ remotePeer: 'vp9', dropped: 2, listed: 3 }])
    expect(d.discovery.knownAddresses).toBe(1)
    expect(d.dials).toEqual([at('vp1')])

    const e = discoveryOver()
    e.discovery.learnPeers(['vp1', 'vp2', 'vp3', 'vp4', 'vp5'].map((id) => endpoint(id)), from)
    expect(e.metrics.peersListEntriesDropped).toBe(2)
    expect(e.discovery.knownAddresses).toBe(3)

    // A bad entry inside the cap and two past it: three dropped, not two.
    const f = discoveryOver()
    f.discovery.learnPeers([{ id: 'vp0', address: 'not a url' }, ...['vp1', 'vp2', 'vp3', 'vp4'].map((id) => endpoint(id))], from)
    expect(f.metrics.peersListEntriesDropped).toBe(3)
    expect(f.discovery.knownAddresses).toBe(2)
  })

  it('answers DISC_GET_PEERS with linked peers that have an address, never the asker, at most maxPeersList', () => {
    const d = discoveryOver()
    const asker = d.linked.add(linkTo(endpoint('vp1')))
    d.linked.add(linkTo(endpoint('tab', '')))
    for (const id of ['vp2', 'vp3', 'vp4', 'vp5']) d.linked.add(linkTo(endpoint(id)))
    expect(d.discovery.peersFor(asker).map((p) => p.id)).toEqual(['vp2', 'vp3', 'vp4'])
  })

  it('marks a registered link\'s dialed and announced addresses connected, and makes both due again when it ends', () => {
    const d = discoveryOver()
    const link = linkTo(endpoint('vp1', 'ws://vp1.example/chat'), at('vp1'))
    d.discovery.linkRegistered(link)
    expect(d.discovery.knownAddresses).toBe(2)
    d.discovery.start()
    expect(d.dials).toEqual([])
    d.discovery.linkEnded(link, true)
    d.clock.advance(100)
    d.discovery.dialDue()
    expect(d.dials).toEqual([at('vp1'), 'ws://vp1.example/chat'])
  })

  it('backs off a peer that keeps closing the link for want of room (4005), and not one whose link lived', async () => {
    const d = discoveryOver({ redialBaseMs: 100, redialMaxMs: 10_000 })
    const link = linkTo(endpoint('vp1'), at('vp1'))
    d.discovery.linkRegistered(link)
    d.discovery.start()
    // Each refused link registered first (so no dial failed): the wait still doubles, 100 ms ceiling first.
    for (const ceiling of [100, 200, 400, 800]) {
      d.discovery.linkRegistered(link)
      d.discovery.linkEnded(link, true, CloseCode.TOO_MANY_PEERS)
      const before = d.dials.length
      d.clock.advance(ceiling / 2 - 1)
      d.discovery.dialDue()
      expect(d.dials).toHaveLength(before)
      d.clock.advance(ceiling / 2 + 1)
      d.discovery.dialDue()
      expect(d.dials).toHaveLength(before + 1)
      d.pending.get(at('vp1'))!.succeed()
      await vi.waitFor(() => expect(d.discovery.dialsInFlight).toBe(0), { timeout: 1000, interval: 1 })
    }
    // A link that ended otherwise resets it: redialed within redialBaseMs again.
    d.discovery.linkRegistered(link)
    d.discovery.linkEnded(link, true, CloseCode.GOING_AWAY)
    d.discovery.linkRegistered(link)
    d.discovery.linkEnded(link, true, CloseCode.TOO_MANY_PEERS)
    const before = d.dials.length
    d.clock.advance(100)
    d.discovery.dialDue()
    expect(d.dials).toHaveLength(before + 1)
  })

  it('asks every linked peer for its peers each period, then runs onPeriod; stop ends the period and aborts dials', () => {
    const d = discoveryOver()
    d.linked.add(linkTo(endpoint('vp1')))
    d.linked.add(linkTo(endpoint('vp2')))
    d.discovery.addBootstrap([at('vp3')])
    d.discovery.start()
    d.clock.advance(1000)
    expect(d.sent).toEqual([
      { to: 'vp1', type: MessageType.DISC_GET_PEERS },
      { to: 'vp2', type: MessageType.DISC_GET_PEERS },
    ])
    expect(d.periods()).toBe(1)
    d.discovery.stop()
    expect(d.pending.get(at('vp3'))!.signal.aborted).toBe(true)
    d.clock.advance(5000)
    expect(d.periods()).toBe(1)
  })
})

describe('which due addresses discovery dials first (issue #16: followers at scale)', () => {
  const entry = (id: string, validator: boolean | undefined) => ({ address: at(id), validator })

  it('orders validators first, then unknown roles, then non-validators, shuffled within each', () => {
    const seed = testSeed('dialOrder ranks')
    const random = seededRandom(seed)
    const entries = [entry('nv0', false), entry('x0', undefined), entry('vp0', true), entry('nv1', false), entry('vp1', true), entry('x1', undefined)]
    for (let i = 0; i < 20; i++) {
      const order = dialOrder(entries, random).map((e) => e.validator)
      expect(order).toEqual([true, true, undefined, undefined, false, false])
    }
  })

  it('spreads 50 tabs with 3 slots over 6 validators instead of all taking the same 3', () => {
    const seed = testSeed('dialOrder spread')
    const random = seededRandom(seed)
    const validators = ['vp0', 'vp1', 'vp2', 'vp3', 'vp4', 'vp5'].map((id) => entry(id, true))
    const picks = new Map<string, number>()
    const choices = new Set<string>()
    for (let tab = 0; tab < 50; tab++) {
      const chosen = dialOrder(validators, random).slice(0, 3).map((e) => e.address)
      choices.add([...chosen].sort().join(' '))
      for (const address of chosen) picks.set(address, (picks.get(address) ?? 0) + 1)
    }
    // 150 links over 6 peers: 25 each on average; every peer gets some, none nearly all.
    for (const v of validators) expect(picks.get(v.address) ?? 0, v.address).toBeGreaterThanOrEqual(10)
    for (const v of validators) expect(picks.get(v.address) ?? 0, v.address).toBeLessThanOrEqual(40)
    expect(choices.size).toBeGreaterThan(5)
  })

  it('dials validators first when the cap leaves few slots', () => {
    const d = discoveryOver({ maxPeers: 3, maxOutboundPeers: 3, maxDialsInFlight: 8, maxPeersList: 10 })
    const nonValidator = (id: string): PeerEndpoint => ({ id, address: at(id), type: EndpointType.NON_VALIDATOR })
    d.discovery.start()
    d.discovery.learnPeers([nonValidator('nv0'), nonValidator('nv1'), nonValidator('nv2'), endpoint('vp1'), endpoint('vp2'), nonValidator('nv3')], linkTo(endpoint('vp9')))
    expect(d.dials.slice(0, 2).sort()).toEqual([at('vp1'), at('vp2')])
    expect(d.dials).toHaveLength(3)
  })

  it('keeps the last free slot for a known validator while none is linked or dialed', async () => {
    const d = discoveryOver({ maxPeers: 3, maxOutboundPeers: 3, maxDialsInFlight: 8, maxPeersList: 10 })
    const nonValidator = (id: string): PeerEndpoint => ({ id, address: at(id), type: EndpointType.NON_VALIDATOR })
    d.linked.add(linkTo(nonValidator('nv0'), at('nv0')))
    d.linked.add(linkTo(nonValidator('nv1'), at('nv1')))
    d.discovery.start()
    // The only validator known fails its dial and backs off; a non-validator is due meanwhile.
    d.discovery.learnPeers([endpoint('vp1')], linkTo(endpoint('vp9')))
    expect(d.dials).toEqual([at('vp1')])
    d.pending.get(at('vp1'))!.fail(new TransportError('connection refused'))
    await vi.waitFor(() => expect(d.discovery.dialsInFlight).toBe(0), { timeout: 1000, interval: 1 })
    d.discovery.learnPeers([nonValidator('nv2')], linkTo(endpoint('vp9')))
    expect(d.dials).toEqual([at('vp1')])
    // Once its backoff ends the validator takes the slot.
    d.clock.advance(LIMITS.redialBaseMs)
    d.discovery.dialDue()
    expect(d.dials).toEqual([at('vp1'), at('vp1')])
  })

  it('a follower linked to a validator dials no other follower; one without a validator dials them (relays)', () => {
    const nonValidator = (id: string): PeerEndpoint => ({ id, address: at(id), type: EndpointType.NON_VALIDATOR })
    const linkedToValidator = discoveryOver({ maxPeers: 8, maxOutboundPeers: 8, maxDialsInFlight: 8, maxPeersList: 10 }, KEEP_ORDER, true)
    linkedToValidator.linked.add(linkTo(endpoint('vp1'), at('vp1')))
    linkedToValidator.discovery.start()
    linkedToValidator.discovery.learnPeers([nonValidator('nv1'), nonValidator('nv2'), endpoint('vp2')], linkTo(endpoint('vp1')))
    expect(linkedToValidator.dials).toEqual([at('vp2')])
    const alone = discoveryOver({ maxPeers: 8, maxOutboundPeers: 8, maxDialsInFlight: 8, maxPeersList: 10 }, KEEP_ORDER, true)
    alone.discovery.start()
    alone.discovery.learnPeers([nonValidator('nv1'), nonValidator('nv2')], linkTo(nonValidator('nv0')))
    expect(alone.dials.sort()).toEqual([at('nv1'), at('nv2')])
  })
})
