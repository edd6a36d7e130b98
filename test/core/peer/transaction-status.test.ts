import { afterEach, describe, expect, it, vi } from 'vitest'
import '../../support/test-consenters.js'
import { instances } from '../../support/test-consenters.js'
import { MemoryNetwork } from '../../support/memory-network.js'

let net: MemoryNetwork
afterEach(async () => {
  await net?.stopAll()
})

describe('peer.transactionStatus', () => {
  it('counts a submitted transaction pending while it waits in the local queue, before any consenter sees it', async () => {
    net = new MemoryNetwork()
    // test-gated blocks in recvMsg and has no isPending: only the peer's own tracking can say "pending".
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-gated' })
    await peer.start()
    const first = await peer.submit('a=1')
    const second = await peer.submit('b=2')
    await instances.get('vp0')!.waitFor(1)
    // The first is inside recvMsg (not finished), the second still queued: both pending.
    expect(peer.transactionStatus(first.txid)).toEqual({ status: 'pending' })
    expect(peer.transactionStatus(second.txid)).toEqual({ status: 'pending' })
    expect(peer.transactionStatus('never-sent')).toEqual({ status: 'unknown' })
    instances.get('vp0')!.release()
    await instances.get('vp0')!.waitFor(2)
    // Handed over: now the consenter's to report, and this one reports nothing.
    await vi.waitFor(() => expect(peer.transactionStatus(second.txid)).toEqual({ status: 'unknown' }), { timeout: 5000, interval: 5 })
    expect(peer.transactionStatus(first.txid)).toEqual({ status: 'unknown' })
  })

  it('on noops: pending until the block is cut, then committed with its block and index', async () => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'noops', consensusOptions: { blockWaitMs: 1000, blockSize: 3 } })
    await peer.start()
    const committed = new Promise<number>((resolve) => {
      const off = peer.on('block-committed', ({ block }) => {
        off()
        resolve(block.number)
      })
    })
    const txids: string[] = []
    for (let i = 0; i < 2; i++) txids.push((await peer.submit(`k${i}=v`)).txid)
    // Two of a block of three: the leader holds them until blockWaitMs.
    await vi.waitFor(() => expect(peer.status().consensus['pending']).toBe(2), { timeout: 5000, interval: 5 })
    for (const txid of txids) expect(peer.transactionStatus(txid)).toEqual({ status: 'pending' })
    expect(await committed).toBe(1)
    expect(peer.transactionStatus(txids[0]!)).toEqual({ status: 'committed', block: 1, index: 0 })
    expect(peer.transactionStatus(txids[1]!)).toEqual({ status: 'committed', block: 1, index: 1 })
  })
})
