/**
 * A tab links to a few Node peers, not to all (issue #16). The tab's own start needs a browser
 * (IndexedDB, WebSocket); here an in-memory peer runs with exactly the limits a tab runs with
 * (tabPeerLimits), among Node peers linked in memory.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TAB_DISCOVERY_PERIOD_MS, TAB_MAX_LINKS, TAB_REDIAL_MAX_MS, tabPeerLimits } from '../../src/browser/tab-peer.js'
import { MemoryNetwork } from '../support/memory-network.js'

let net: MemoryNetwork | undefined
afterEach(async () => {
  await net?.stopAll()
  net = undefined
})

describe('tabPeerLimits', () => {
  it('caps a tab at TAB_MAX_LINKS dialed links, with the tab timings; a maxPeers override moves both caps', () => {
    expect(TAB_MAX_LINKS).toBe(3)
    expect(tabPeerLimits()).toEqual({ discoveryPeriodMs: TAB_DISCOVERY_PERIOD_MS, redialMaxMs: TAB_REDIAL_MAX_MS, maxPeers: 3, maxOutboundPeers: 3 })
    expect(tabPeerLimits({ maxPeers: 5 })).toMatchObject({ maxPeers: 5, maxOutboundPeers: 5 })
    expect(tabPeerLimits({ maxPeers: 5, maxOutboundPeers: 2 })).toMatchObject({ maxPeers: 5, maxOutboundPeers: 2 })
  })
})

describe('a tab among six Node peers', () => {
  it('holds three links, one of them at least to a validator, and its transactions commit', async () => {
    net = new MemoryNetwork()
    const quick = { discoveryPeriodMs: 50, redialBaseMs: 20, redialMaxMs: 200 }
    const validators = ['vp0', 'vp1', 'vp2', 'vp3']
    const nodes = [
      ...validators.map((id) => net!.add({ id, role: 'validator', consensus: 'noops', consensusOptions: { blockWaitMs: 10 }, limits: quick, bootstrap: id === 'vp0' ? [] : [MemoryNetwork.address('vp0')] })),
      ...['nv0', 'nv1'].map((id) => net!.add({ id, role: 'non-validator', consensus: 'noops', limits: quick, bootstrap: [MemoryNetwork.address('vp0')] })),
    ]
    for (const node of nodes) await node.start()
    // Validators link to all five others; a non-validator linked to a validator dials no other follower.
    await vi.waitFor(() => expect(nodes.map((n) => n.status().peers.length)).toEqual([5, 5, 5, 5, 4, 4]), { timeout: 10_000, interval: 10 })

    // The page was served by a non-validator: the tab starts there and must still find a validator.
    const tab = net.add({ id: 'tab-1', role: 'non-validator', consensus: 'noops', limits: tabPeerLimits(quick), bootstrap: [MemoryNetwork.address('nv0')] })
    await tab.start()
    await vi.waitFor(
      () => {
        const peers = tab.status().peers
        expect(peers).toHaveLength(TAB_MAX_LINKS)
        expect(peers.some((p) => p.role === 'validator')).toBe(true)
      },
      { timeout: 10_000, interval: 10 },
    )
    // It never holds more, whatever discovery tells it over the next periods.
    let most = 0
    const off = tab.on('peer-connected', () => (most = Math.max(most, tab.status().peers.length)))
    const { txid } = await tab.submit('from=tab')
    await vi.waitFor(() => expect(tab.transactionStatus(txid).status).toBe('committed'), { timeout: 10_000, interval: 10 })
    off()
    expect(most).toBeLessThanOrEqual(TAB_MAX_LINKS)
    expect(tab.status().peers.length).toBeLessThanOrEqual(TAB_MAX_LINKS)
    expect(tab.metrics().dialsInFlight).toBe(0)
  })
})
