import { describe, expect, it } from 'vitest'
import { PeerRegistry, incomingLinkWins, type RegistrableLink } from '../../../src/core/peer/peer-registry.js'
import { DuplicateLinkError, LimitExceededError } from '../../../src/core/errors.js'

let serial = 0
const link = (remoteId: string, initiated: boolean, remoteIsValidator = true): RegistrableLink => ({ serial: ++serial, remoteId, initiated, remoteIsValidator })
const follower = (remoteId: string, initiated = false): RegistrableLink => link(remoteId, initiated, false)
const caps = (maxPeers: number, maxInboundPeers = maxPeers, maxOutboundPeers = maxPeers, maxFollowerLinks = maxPeers) => ({
  maxPeers,
  maxInboundPeers,
  maxOutboundPeers,
  maxFollowerLinks,
})

describe('duplicate-link tie-break', () => {
  it('keeps the link dialed by the smaller ID, computed alike on both ends', () => {
    // A and B dial each other at once. Link 1: A dialed B. Link 2: B dialed A.
    // On A: link 1 is initiated (A dialed), link 2 is accepted.
    const onA = { l1: link('B', true), l2: link('B', false) }
    // On B: link 1 is accepted, link 2 initiated.
    const onB = { l1: link('A', false), l2: link('A', true) }
    // Whatever order each side registers them in, link 1 (dialed by A < B) must survive on both.
    for (const [first, second, self] of [
      [onA.l1, onA.l2, 'A'],
      [onA.l2, onA.l1, 'A'],
      [onB.l1, onB.l2, 'B'],
      [onB.l2, onB.l1, 'B'],
    ] as const) {
      const registry = new PeerRegistry<RegistrableLink>(self, caps(10))
      registry.register(first)
      let survivor: RegistrableLink
      try {
        const { replaced } = registry.register(second)
        expect(replaced).toBe(first)
        survivor = second
      } catch (err) {
        expect(err).toBeInstanceOf(DuplicateLinkError)
        expect((err as DuplicateLinkError).closeCode).toBe(4001)
        survivor = first
      }
      expect(registry.get(self === 'A' ? 'B' : 'A')).toBe(survivor)
      const isLink1 = survivor === onA.l1 || survivor === onB.l1
      expect(isLink1).toBe(true)
    }
  })

  it('a newer link dialed by the same peer replaces the older (reconnect)', () => {
    expect(incomingLinkWins(link('B', true), link('B', true), 'A')).toBe(true)
    expect(incomingLinkWins(link('A', false), link('A', false), 'B')).toBe(true)
  })

  it('a link dialed by the larger ID never displaces one dialed by the smaller', () => {
    expect(incomingLinkWins(link('B', true), link('B', false), 'A')).toBe(false)
    expect(incomingLinkWins(link('B', false), link('B', true), 'A')).toBe(true)
  })

  it('deregister only removes the registered link', () => {
    const registry = new PeerRegistry<RegistrableLink>('A', caps(10))
    const old = link('B', true)
    const fresh = link('B', true)
    registry.register(old)
    registry.register(fresh)
    expect(registry.deregister(old)).toBe(false)
    expect(registry.get('B')).toBe(fresh)
    expect(registry.deregister(fresh)).toBe(true)
    expect(registry.size).toBe(0)
  })

  it('refuses links past the peer cap', () => {
    const registry = new PeerRegistry<RegistrableLink>('A', caps(2))
    registry.register(link('B', true))
    registry.register(link('C', true))
    expect(() => registry.register(link('D', true))).toThrow(LimitExceededError)
    // A replacement for a known peer is not a new peer.
    expect(registry.register(link('B', true)).replaced).toBeDefined()
  })

  it('caps links by direction, so peers dialing in cannot take the slots this peer dials out with', () => {
    const registry = new PeerRegistry<RegistrableLink>('M', caps(5, 2, 2))
    registry.register(link('in1', false))
    registry.register(link('in2', false))
    expect(() => registry.register(link('in3', false))).toThrow(/inbound peer limit of 2/)
    // Outbound slots are still free.
    registry.register(link('out1', true))
    registry.register(link('out2', true))
    expect(() => registry.register(link('out3', true))).toThrow(/outbound peer limit of 2/)
    expect([registry.inbound, registry.outbound, registry.size]).toEqual([2, 2, 4])
    // A dropped link frees its own direction's slot.
    expect(registry.deregister(registry.get('in1')!)).toBe(true)
    expect([registry.inbound, registry.outbound]).toEqual([1, 2])
    registry.register(link('in3', false))
    // Replacing a link by one in the other direction counts against that direction.
    expect(() => registry.register(link('in2', true))).toThrow(/outbound peer limit/)
    expect(registry.get('in2')!.initiated).toBe(false)
  })
})

describe('followers and validators', () => {
  it('caps follower links, and counts them as they come and go', () => {
    const registry = new PeerRegistry<RegistrableLink>('vp0', caps(10, 10, 10, 2))
    const t1 = follower('tab-1')
    registry.register(t1)
    registry.register(follower('tab-2'))
    expect(registry.followers).toBe(2)
    expect(() => registry.register(follower('tab-3'))).toThrow(/follower link limit of 2/)
    // Validators are not followers: the follower cap does not touch them.
    registry.register(link('vp1', false))
    expect(registry.followers).toBe(2)
    registry.deregister(t1)
    expect(registry.followers).toBe(1)
    registry.register(follower('tab-3'))
    expect(registry.followers).toBe(2)
  })

  it('never locks a validator out: a full inbound cap gives up its oldest follower', () => {
    const registry = new PeerRegistry<RegistrableLink>('vp0', caps(10, 3, 5))
    const oldest = follower('tab-1')
    registry.register(oldest)
    registry.register(follower('tab-2'))
    registry.register(link('vp1', false))
    // Full: another follower is refused, a validator takes the oldest follower's slot.
    expect(() => registry.register(follower('tab-3'))).toThrow(/inbound peer limit of 3/)
    const { evicted } = registry.register(link('vp2', false))
    expect(evicted).toBe(oldest)
    expect(registry.has('tab-1')).toBe(false)
    expect(registry.has('vp2')).toBe(true)
    expect([registry.size, registry.inbound, registry.followers]).toEqual([3, 3, 1])
  })

  it('evicts only a follower in the full direction, and refuses when validators hold every slot', () => {
    const registry = new PeerRegistry<RegistrableLink>('vp0', caps(10, 2, 2))
    registry.register(follower('node-nv', true))
    registry.register(link('vp1', false))
    registry.register(link('vp2', false))
    // Inbound is full of validators; the outbound follower does not free an inbound slot.
    expect(() => registry.register(link('vp3', false))).toThrow(/inbound peer limit of 2 reached, all of it by validators/)
    expect(registry.has('node-nv')).toBe(true)
  })

  it('makes room under the total cap too', () => {
    const registry = new PeerRegistry<RegistrableLink>('vp0', caps(2, 2, 2))
    const tab = follower('tab-1')
    registry.register(tab)
    registry.register(link('vp1', true))
    expect(registry.register(link('vp2', false)).evicted).toBe(tab)
    expect(registry.size).toBe(2)
  })
})

