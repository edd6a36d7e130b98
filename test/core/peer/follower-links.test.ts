/**
 * Followers cannot lock validators out (issue #16): a peer whose inbound slots are all taken by
 * non-validators still admits a validator, closing its oldest follower link with 4005; a follower
 * turned away for room hears where else to go before the close.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import '../../support/test-consenters.js'
import { MemoryNetwork } from '../../support/memory-network.js'

let net: MemoryNetwork
afterEach(async () => {
  await net?.stopAll()
})

describe('follower links', () => {
  it('a validator takes the slot of the oldest follower when inbound is full of followers', async () => {
    net = new MemoryNetwork()
    const limits = { maxInboundPeers: 2, discoveryPeriodMs: 60_000 }
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits })
    const followers = ['tab-1', 'tab-2'].map((id) => net.add({ id, role: 'non-validator', consensus: 'test-recording', limits: { discoveryPeriodMs: 60_000, redialBaseMs: 60_000, redialMaxMs: 60_000 } }))
    const vp1 = net.add({ id: 'vp1', role: 'validator', consensus: 'test-recording', limits })
    await Promise.all([vp0, ...followers, vp1].map((p) => p.start()))
    for (const f of followers) {
      void f.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
      await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id)).toContain(f.id), { timeout: 5000, interval: 5 })
    }
    const ends: { id: string; code: number; reason: string }[] = []
    followers[0]!.on('peer-disconnected', (e) => ends.push(e))

    void vp1.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id).sort()).toEqual(['tab-2', 'vp1']), { timeout: 5000, interval: 5 })
    await vi.waitFor(() => expect(ends).toHaveLength(1), { timeout: 5000, interval: 5 })
    expect(ends[0]).toMatchObject({ id: 'vp0', code: 4005 })
    expect(ends[0]!.reason).toContain('room made for a validator')
  })

  it('a follower past the cap is refused while validators still get in', async () => {
    net = new MemoryNetwork()
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits: { maxFollowerLinks: 1, discoveryPeriodMs: 60_000 } })
    const quiet = { discoveryPeriodMs: 60_000, redialBaseMs: 60_000, redialMaxMs: 60_000 }
    const tab1 = net.add({ id: 'tab-1', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    const tab2 = net.add({ id: 'tab-2', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    const vp1 = net.add({ id: 'vp1', role: 'validator', consensus: 'test-recording', limits: quiet })
    await Promise.all([vp0, tab1, tab2, vp1].map((p) => p.start()))
    void tab1.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id)).toEqual(['tab-1']), { timeout: 5000, interval: 5 })
    // Refused at registration: its chat ends without a link.
    await tab2.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    void vp1.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id).sort()).toEqual(['tab-1', 'vp1']), { timeout: 5000, interval: 5 })
    expect(tab2.status().peers.map((p) => p.id)).not.toContain('vp0')
  })

  it('a follower turned away for room learns the refusing peer\'s links and follows through another', async () => {
    net = new MemoryNetwork()
    // No periodic discovery and no redial within the test: what tab-2 learns, it learns from the refusal.
    const quiet = { discoveryPeriodMs: 60_000, redialBaseMs: 60_000, redialMaxMs: 60_000 }
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits: { ...quiet, maxFollowerLinks: 1 } })
    const vp1 = net.add({ id: 'vp1', role: 'validator', consensus: 'test-recording', limits: quiet })
    const tab1 = net.add({ id: 'tab-1', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    const tab2 = net.add({ id: 'tab-2', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    await Promise.all([vp0, vp1, tab1, tab2].map((p) => p.start()))
    void vp1.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    void tab1.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id).sort()).toEqual(['tab-1', 'vp1']), { timeout: 5000, interval: 5 })
    const ends: { id: string; code: number }[] = []
    tab2.on('peer-disconnected', (e) => ends.push(e))

    await tab2.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    expect(ends).toEqual([expect.objectContaining({ id: 'vp0', code: 4005 })])
    // (tab-1, with an address in this network, may be taken as a relay meanwhile.)
    await vi.waitFor(() => expect(tab2.status().peers.map((p) => p.id)).toContain('vp1'), { timeout: 5000, interval: 5 })
    expect(vp0.status().peers.map((p) => p.id).sort()).toEqual(['tab-1', 'vp1'])
  })

  it('a follower every validator turns away links to a relay it learned from them', async () => {
    net = new MemoryNetwork()
    const quiet = { discoveryPeriodMs: 60_000, redialBaseMs: 60_000, redialMaxMs: 60_000 }
    const full = { ...quiet, maxFollowerLinks: 1 }
    const vp0 = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits: full })
    const vp1 = net.add({ id: 'vp1', role: 'validator', consensus: 'test-recording', limits: full })
    // The relay takes vp0's one follower slot, tab-1 vp1's.
    const relay = net.add({ id: 'nvp0', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    const tab1 = net.add({ id: 'tab-1', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    const tab2 = net.add({ id: 'tab-2', role: 'non-validator', consensus: 'test-recording', limits: quiet })
    await Promise.all([vp0, vp1, relay, tab1, tab2].map((p) => p.start()))
    void vp1.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    void relay.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    void tab1.chatWithPeer(MemoryNetwork.address('vp1')).catch(() => undefined)
    await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id).sort()).toEqual(['nvp0', 'vp1']), { timeout: 5000, interval: 5 })
    await vi.waitFor(() => expect(vp1.status().peers.map((p) => p.id).sort()).toEqual(['tab-1', 'vp0']), { timeout: 5000, interval: 5 })
    const refusedBy: string[] = []
    tab2.on('peer-disconnected', (e) => refusedBy.push(`${e.id} ${e.code}`))

    // tab-2 knows only vp0. Refused, it learns vp1 and the relay; vp1 refuses too; the relay takes it.
    void tab2.chatWithPeer(MemoryNetwork.address('vp0')).catch(() => undefined)
    await vi.waitFor(() => expect(tab2.status().peers.map((p) => p.id)).toContain('nvp0'), { timeout: 5000, interval: 5 })
    // vp1 was dialed too (validators first); its refusal may land after the relay took the tab.
    await vi.waitFor(() => expect([...refusedBy].sort()).toEqual(['vp0 4005', 'vp1 4005']), { timeout: 5000, interval: 5 })
    expect(tab2.status().peers.every((p) => p.role === 'non-validator')).toBe(true)
  })
})
