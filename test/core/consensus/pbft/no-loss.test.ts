import { describe, expect, it } from 'vitest'
import { decodePbftMessage } from '../../../../src/core/consensus/pbft/index.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import type { FakeMessage, FakeNetwork } from '../../../support/fake-network.js'
import { PBFT_TEST_VALIDATORS, expectSameChains, pbftOf, usePbftFakeNetwork } from '../../../support/pbft-fake-network.js'

/**
 * The paths by which a request accepted by one replica (answered 202 by its peer) could wait
 * forever (issue #14): each test fails on the code before its fix.
 */
const validators = [...PBFT_TEST_VALIDATORS]
const { setup, addReplica } = usePbftFakeNetwork()

/** A validator's view and whether it is active (not in a view change). */
const viewOf = (n: FakeNetwork, id: string): { view: number; active: boolean } => {
  const status = pbftOf(n, id).status()
  return { view: status.view ?? -1, active: status.active === true }
}

const pbftType = (m: FakeMessage): string | undefined =>
  m.envelope.type === MessageType.CONSENSUS ? decodePbftMessage(m.envelope.payload).t : undefined

/** Advances the clock in small steps until `done` holds; fails after `limitMs` of virtual time. */
async function advanceUntil(n: FakeNetwork, done: () => boolean, limitMs: number, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    if (waited >= limitMs) throw new Error(`not reached within ${limitMs} ms of virtual time: ${what}`)
    await n.advance(20)
  }
}

describe('pbft: an accepted request is never left behind', () => {
  it('re-forwards what a backup holds to the new primary as soon as it installs the new view', async () => {
    // The primary is gone and vp2's forwards never arrive while it is in view 0. Backups find the
    // dead primary by its silence (null requests), so no request timer decides the timing.
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000, nullRequestMs: 500, resendViewChangeMs: 10_000 })
    n.isolate('vp0')
    n.filter = (m) => !(m.from === 'vp2' && pbftType(m) === 'req' && pbftOf(n, 'vp2').status().view === 0)
    const tx = n.submit('vp2', 'held=1')
    await advanceUntil(n, () => viewOf(n, 'vp2').view >= 1 && viewOf(n, 'vp2').active, 10_000, 'vp2 in a new view')
    // Well before its request timer (1000 ms) would re-send it: the install itself forwarded it.
    await n.advance(400)
    expect(n.peer('vp1').ledger.hasTransaction(tx.txid)).toBe(true)
    expect(n.peer('vp2').ledger.hasTransaction(tx.txid)).toBe(true)
  })

  it('re-sends a request the primary never got although other requests keep committing', async () => {
    const n = await setup({ batchSize: 5, batchTimeoutMs: 50, requestTimeoutMs: 1000 })
    // The primary loses vp3's forward of one request; the rest of the load goes on.
    let lost = true
    n.filter = (m) => {
      if (!lost || m.from !== 'vp3' || m.to !== 'vp0' || pbftType(m) !== 'req') return true
      lost = false
      return false
    }
    const held = n.submit('vp3', 'lost=1')
    let i = 0
    // Others' batches commit every 100 ms: before the fix each one restarted vp3's request timer.
    await advanceUntil(
      n,
      () => {
        n.submit(`vp${(i++ % 2) + 1}`, `load${i}=1`)
        return n.peer('vp0').ledger.hasTransaction(held.txid)
      },
      5_000,
      'the held request committed under load',
    )
    await n.advance(500)
    expectSameChains(n.stacks())
    // Re-sent once, not a view change: the primary was only missing it.
    for (const id of validators) expect(pbftOf(n, id).status().view).toBe(0)
  })

  it('brings a restarted replica into the view the others work in, and orders what it accepts', async () => {
    const options = { batchSize: 2, batchTimeoutMs: 100, requestTimeoutMs: 1000 }
    const n = await setup(options)
    n.submit('vp1', 'a=1')
    await n.advance(300)
    // The primary drops out: the others move to view 1.
    n.isolate('vp0')
    n.submit('vp2', 'b=1')
    await advanceUntil(n, () => ['vp1', 'vp2', 'vp3'].every((id) => viewOf(n, id).view >= 1 && viewOf(n, id).active), 15_000, 'view 1')
    const { view } = viewOf(n, 'vp1')
    // vp0 comes back as a fresh process: view 0, empty ledger.
    await n.removePeer('vp0')
    const fresh = addReplica(n, 'vp0', options)
    for (const other of ['vp1', 'vp2', 'vp3']) n.connect('vp0', other)
    fresh.start()
    expect(fresh.status().view).toBe(0)
    // Load through the others shows it the later view; it joins at once.
    for (let i = 0; i < 4; i++) n.submit('vp1', `c${i}=1`)
    await advanceUntil(n, () => viewOf(n, 'vp0').view === view && viewOf(n, 'vp0').active, 5_000, 'the restarted replica in the current view')
    // A request accepted by the restarted replica commits.
    const tx = n.submit('vp0', 'after-restart=1')
    await advanceUntil(n, () => n.stacks().every((s) => s.ledger.hasTransaction(tx.txid)), 5_000, 'the restarted replica\'s request committed')
    // It votes again: with it in the view, one more replica lost (f = 1) does not stop commits.
    n.isolate('vp3')
    const late = n.submit('vp2', 'one-down=1')
    await advanceUntil(n, () => ['vp0', 'vp1', 'vp2'].every((id) => n.peer(id).ledger.hasTransaction(late.txid)), 5_000, 'commits with vp3 gone')
    expect(pbftOf(n, 'vp1').status().view).toBe(view)
  })

  it('commits a transaction submitted again at another replica once, before and after it committed', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100 })
    n.submit('vp1', 'x=1', 'same')
    n.submit('vp3', 'x=1', 'same')
    await n.advance(1000)
    n.submit('vp2', 'x=1', 'same')
    n.submit('vp0', 'x=1', 'same')
    await n.advance(1000)
    expectSameChains(n.stacks())
    const all = n.peer('vp0').ledger.getBlocks(1, 100).flatMap((b) => b.transactions.map((t) => t.txid))
    expect(all).toEqual(['same'])
    for (const id of validators) expect(pbftOf(n, id).status().outstanding).toBe(0)
  })
})
