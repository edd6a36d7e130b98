/**
 * Null requests (nullRequestMs > 0) on the fake network, with the shared ManualClock: the idle
 * primary's heartbeat, the backups' timer that finds a dead primary without client traffic, and
 * what a null request leaves in the ledger (nothing: one block per non-null sequence number).
 */
import { describe, expect, it } from 'vitest'
import { decodePbftMessage } from '../../../../src/core/consensus/pbft/index.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import { PBFT_TEST_VALIDATORS, chainOf, pbftOf, usePbftFakeNetwork } from '../../../support/pbft-fake-network.js'
import { FakeNetwork } from '../../../support/fake-network.js'

const validators = [...PBFT_TEST_VALIDATORS]
const { setup, addReplica } = usePbftFakeNetwork()
const pbft = pbftOf

/** Pre-prepares delivered so far, as "from>to:null" or "from>to:batch". */
function prePrepares(n: FakeNetwork): { from: string; n: number; isNull: boolean }[] {
  const out: { from: string; n: number; isNull: boolean }[] = []
  for (const m of n.delivered) {
    if (m.envelope.type !== MessageType.CONSENSUS) continue
    const msg = decodePbftMessage(m.envelope.payload)
    if (msg.t === 'pp') out.push({ from: m.from, n: msg.n, isNull: msg.b === null })
  }
  return out
}

describe('pbft null requests', () => {
  it('has an idle primary send one every nullRequestMs; they execute and checkpoint but make no block', async () => {
    const nullRequestMs = 500
    const idleMs = 6000
    const n = await setup({ nullRequestMs, k: 5, logMultiplier: 2 })
    await n.advance(idleMs)
    const sent = Math.floor(idleMs / nullRequestMs)
    expect(pbft(n, 'vp0').status().nullRequests).toBe(sent)
    const pps = prePrepares(n)
    expect(pps.every((p) => p.from === 'vp0' && p.isNull)).toBe(true)
    for (const id of validators) {
      expect(n.peer(id).ledger.height()).toBe(1)
      // Sequence numbers advance and checkpoints stabilize without a single block.
      expect(pbft(n, id).status()).toMatchObject({ view: 0, active: true, viewChanges: 0, lastExec: sent, executed: sent, h: sent - (sent % 5) })
    }
  })

  it('lets backups find a dead primary with no client traffic within nullRequestMs + requestTimeoutMs', async () => {
    const nullRequestMs = 500
    const requestTimeoutMs = 2000
    const n = await setup({ nullRequestMs, requestTimeoutMs })
    await n.advance(1200)
    const last = Math.max(...prePrepares(n).map((p) => p.n))
    expect(last).toBe(2) // at 500 and 1000 ms
    const lastAt = 1000
    n.isolate('vp0')
    await n.advance(lastAt + nullRequestMs + requestTimeoutMs - 10 - n.clock.now())
    for (const id of ['vp1', 'vp2', 'vp3']) expect(pbft(n, id).status()).toMatchObject({ view: 0, active: true })
    await n.advance(20)
    for (const id of ['vp1', 'vp2', 'vp3']) expect(pbft(n, id).status()).toMatchObject({ view: 1, primary: 1, active: true })
    // The new primary orders requests, and its own heartbeats start.
    const tx = n.submit('vp3', 'after=1')
    // The batch timer (default 1 s) cuts it; meanwhile the waiting request holds the heartbeat back.
    await n.advance(1000 + nullRequestMs * 3)
    for (const id of ['vp1', 'vp2', 'vp3']) {
      expect(n.peer(id).ledger.hasTransaction(tx.txid)).toBe(true)
      expect(n.peer(id).ledger.height()).toBe(2)
    }
    expect(pbft(n, 'vp1').status().nullRequests).toBeGreaterThanOrEqual(2)
  })

  it('is off by default: a dead primary goes unnoticed without client traffic', async () => {
    const n = await setup({ requestTimeoutMs: 2000 })
    n.isolate('vp0')
    await n.advance(30_000, 100)
    expect(prePrepares(n)).toEqual([])
    for (const id of ['vp1', 'vp2', 'vp3']) expect(pbft(n, id).status()).toMatchObject({ view: 0, active: true, viewChanges: 0 })
  })

  it('sends none while the primary is busy cutting batches', async () => {
    const n = await setup({ nullRequestMs: 300, batchSize: 1 })
    for (let i = 0; i < 40; i++) {
      n.submit('vp2', `busy${i}=1`)
      await n.advance(100)
    }
    expect(pbft(n, 'vp0').status()).toMatchObject({ nullRequests: 0, proposed: 40 })
    await n.advance(1000)
    expect(pbft(n, 'vp0').status().nullRequests).toBeGreaterThan(0)
  })

  it('keeps blocks numbered one per non-null sequence number, equal on every replica', async () => {
    const n = await setup({ nullRequestMs: 200, batchSize: 1, k: 5, logMultiplier: 2 })
    const txs = []
    for (let i = 0; i < 8; i++) {
      txs.push(n.submit(`vp${(i % 3) + 1}`, `mix${i}=${i}`))
      await n.advance(150 + (i % 3) * 400)
    }
    await n.advance(500)
    const chains = n.stacks().map(chainOf)
    for (const chain of chains) expect(chain).toEqual(chains[0])
    const ledger = n.peer('vp2').ledger
    expect(ledger.height()).toBe(txs.length + 1)
    const blocks = ledger.getBlocks(1, ledger.height())
    expect(blocks.map((b) => b.number)).toEqual(txs.map((_, i) => i + 1))
    expect(blocks.map((b) => b.transactions.map((t) => t.txid))).toEqual(txs.map((t) => [t.txid]))
    const nulls = pbft(n, 'vp0').status().nullRequests ?? 0
    expect(nulls).toBeGreaterThan(0)
    for (const id of validators) expect(pbft(n, id).status().lastExec).toBe(txs.length + nulls)
  })

  it('brings a replica cut off during null requests and transactions back by state transfer', async () => {
    const options = { nullRequestMs: 200, batchSize: 1, k: 5, logMultiplier: 2 }
    const n = await setup(options)
    n.isolate('vp3')
    for (const a of ['vp0', 'vp1', 'vp2']) for (const b of ['vp0', 'vp1', 'vp2']) if (a < b) n.connect(a, b)
    for (let i = 0; i < 6; i++) {
      n.submit('vp1', `cut${i}=1`)
      await n.advance(700)
    }
    expect(n.peer('vp3').ledger.height()).toBe(1)
    expect(pbft(n, 'vp1').status().lastExec).toBeGreaterThan(20)
    for (const other of ['vp0', 'vp1', 'vp2']) n.connect('vp3', other)
    await n.advance(5000)
    const chains = n.stacks().map(chainOf)
    for (const chain of chains) expect(chain).toEqual(chains[0])
    expect(n.peer('vp3').ledger.height()).toBe(7)
    expect(pbft(n, 'vp3').status().transfers).toBeGreaterThanOrEqual(1)
    expect(pbft(n, 'vp3').status().lastExec).toBe(pbft(n, 'vp1').status().lastExec)
  })

  it('lets a restarted replica with an empty ledger catch up although sequence numbers run ahead of blocks', async () => {
    const options = { nullRequestMs: 200, batchSize: 1, k: 5, logMultiplier: 2 }
    const n = await setup(options)
    for (let i = 0; i < 4; i++) {
      n.submit('vp1', `r${i}=1`)
      await n.advance(900)
    }
    await n.removePeer('vp2')
    const fresh = addReplica(n, 'vp2', options)
    for (const other of ['vp0', 'vp1', 'vp3']) n.connect('vp2', other)
    fresh.start()
    await n.advance(4000)
    const chains = n.stacks().map(chainOf)
    for (const chain of chains) expect(chain).toEqual(chains[0])
    expect(n.peer('vp2').ledger.height()).toBe(5)
    expect(fresh.status()).toMatchObject({ view: 0, active: true, lastExec: pbft(n, 'vp0').status().lastExec })
    // It took part again: it ordered a request after catching up.
    const tx = n.submit('vp2', 'late=1')
    await n.advance(500)
    for (const id of validators) expect(n.peer(id).ledger.hasTransaction(tx.txid)).toBe(true)
  })
})
