import { describe, expect, it } from 'vitest'
import { decodePbftMessage } from '../../../../src/core/consensus/pbft/index.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import type { FakeMessage } from '../../../support/fake-network.js'
import { pbftOf, usePbftFakeNetwork } from '../../../support/pbft-fake-network.js'

const { setup } = usePbftFakeNetwork()

const isRequest = (m: FakeMessage): boolean => m.envelope.type === MessageType.CONSENSUS && decodePbftMessage(m.envelope.payload).t === 'req'

describe('pbft isPending (GET /transactions/:txid "pending")', () => {
  it('is true at the replica that holds a request until it executes, false elsewhere and after', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 5000 })
    // vp2's forward to the primary is held back, so the request sits at vp2 alone.
    let hold = true
    n.filter = (m) => !(hold && m.from === 'vp2' && isRequest(m))
    const tx = n.submit('vp2', 'k=1')
    await n.advance(50)
    expect(pbftOf(n, 'vp2').isPending(tx.txid)).toBe(true)
    expect(pbftOf(n, 'vp0').isPending(tx.txid)).toBe(false)
    expect(pbftOf(n, 'vp2').isPending('never-sent')).toBe(false)
    hold = false
    n.filter = undefined
    // The request timer (5 s) re-sends it; then it commits everywhere and is pending nowhere.
    for (let waited = 0; !n.peer('vp2').ledger.hasTransaction(tx.txid); waited += 100) {
      if (waited > 20_000) throw new Error('request never committed')
      await n.advance(100)
    }
    await n.advance(200)
    for (const id of ['vp0', 'vp1', 'vp2', 'vp3']) expect(pbftOf(n, id).isPending(tx.txid)).toBe(false)
    expect(n.peer('vp2').ledger.locateTransaction(tx.txid)).toEqual({ block: 1, index: 0 })
  })
})
