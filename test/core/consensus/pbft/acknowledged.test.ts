/**
 * "A 202 means the transaction will commit" (issue 14): each path by which a request a validator
 * accepted could wait forever, on the fake network with its virtual clock.
 */
import { describe, expect, it } from 'vitest'
import { decodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/index.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import { FakeNetwork, type FakeMessage } from '../../../support/fake-network.js'
import { expectSameChains, pbftOf, usePbftFakeNetwork } from '../../../support/pbft-fake-network.js'

const { setup, addReplica, track } = usePbftFakeNetwork()

/** The PBFT messages an envelope carries (a bundle's, opened). */
function pbftMessages(m: FakeMessage): PbftMessage[] {
  if (m.envelope.type !== MessageType.CONSENSUS) return []
  const msg = decodePbftMessage(m.envelope.payload)
  return msg.t === 'm' ? msg.m : [msg]
}

const carriesRequest = (m: FakeMessage): boolean => pbftMessages(m).some((x) => x.t === 'req')

/** Every txid in a replica's chain, in order. */
const committed = (n: FakeNetwork, id: string): string[] =>
  n.peer(id).ledger.getBlocks(1, n.peer(id).ledger.height()).flatMap((b) => b.transactions.map((t) => t.txid))

/** Advances in small steps until `done` holds; returns the virtual ms it took (fails past `limitMs`). */
async function until(n: FakeNetwork, done: () => boolean, limitMs: number): Promise<number> {
  const start = n.clock.now()
  while (!done()) {
    if (n.clock.now() - start > limitMs) throw new Error(`not done within ${limitMs} virtual ms`)
    await n.advance(10)
  }
  return n.clock.now() - start
}

describe('pbft: what a validator accepted commits', () => {
  it('re-forwards what a backup holds to the new primary when a new view is installed', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000 })
    // vp2's requests reach nobody while it is in view 0: the new primary can only learn tx A
    // from vp2's re-forward after the view change.
    n.filter = (m) => !(m.from === 'vp2' && pbftOf(n, 'vp2').status().view === 0 && carriesRequest(m))
    n.isolate('vp0')
    const a = n.submit('vp2', 'a=1')
    n.submit('vp3', 'b=1')
    await until(n, () => (pbftOf(n, 'vp2').status().view ?? 0) >= 1 && pbftOf(n, 'vp2').status().active === true, 20_000)
    // Well within the request timeout (1000 ms), which would otherwise re-send it.
    await until(n, () => ['vp1', 'vp2', 'vp3'].every((id) => n.peer(id).ledger.hasTransaction(a.txid)), 300)
    expectSameChains(['vp1', 'vp2', 'vp3'].map((id) => n.peer(id)))
  })

  it('re-sends a request whose forward was lost while other replicas\' requests keep committing', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000 })
    let dropped = 0
    // The first forward from vp2 is lost on the way (the link survives): nothing tells vp2.
    n.filter = (m) => !(m.from === 'vp2' && m.to === 'vp0' && carriesRequest(m) && dropped++ === 0)
    const lost = n.submit('vp2', 'lost=1')
    let i = 0
    // Load at other replicas: blocks commit all the time, so only a timer that follows vp2's
    // own oldest request re-sends it.
    const took = await until(
      n,
      () => {
        n.submit(i % 2 === 0 ? 'vp1' : 'vp3', `load${i++}=1`)
        return n.peer('vp0').ledger.hasTransaction(lost.txid)
      },
      2 * 1000 + 500,
    )
    expect(dropped).toBeGreaterThanOrEqual(1)
    expect(took).toBeGreaterThanOrEqual(1000)
    expect(pbftOf(n, 'vp2').status()).toMatchObject({ view: 0, viewChanges: 0 })
    await n.advance(1000)
    expectSameChains(n.stacks())
    expect(committed(n, 'vp1').filter((t) => t === lost.txid)).toHaveLength(1)
  })

  it('commits every request the backups accepted when the primary dies under load, while the load goes on', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000 })
    const backups = ['vp1', 'vp2', 'vp3']
    const accepted: { txid: string; at: number }[] = []
    const load = async (ms: number) => {
      for (let t = 0; t < ms; t += 20) {
        const tx = n.submit(backups[accepted.length % 3] as string, `k${accepted.length}=1`)
        accepted.push({ txid: tx.txid, at: n.clock.now() })
        await n.advance(20)
      }
    }
    await load(1000)
    await n.removePeer('vp0')
    await load(14_000)
    // While the load still runs: everything accepted more than 6 s ago is committed everywhere.
    const now = n.clock.now()
    const due = accepted.filter((a) => a.at <= now - 6000)
    expect(due.length).toBeGreaterThan(400)
    for (const id of backups) {
      const chain = new Set(committed(n, id))
      expect(due.filter((a) => !chain.has(a.txid)).map((a) => a.txid), id).toEqual([])
    }
    await load(1000)
    await n.advance(5000)
    const live = backups.map((id) => n.peer(id))
    expectSameChains(live)
    const chain = committed(n, 'vp1')
    expect(new Set(chain).size).toBe(chain.length)
    expect(chain.length).toBe(accepted.length)
  })

  it('keeps a request whose forward found no link to the primary, and sends it once the link is up', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 2000, forwardRetryMs: 50 })
    n.disconnect('vp2', 'vp0')
    const tx = n.submit('vp2', 'early=1')
    await n.advance(200)
    expect(n.peer('vp0').ledger.hasTransaction(tx.txid)).toBe(false)
    expect(n.peer('vp2').logged('info', 'pbft forward waits for a link to the primary')).toHaveLength(1)
    expect(pbftOf(n, 'vp2').status()).toMatchObject({ outstanding: 1, unsent: 1 })
    n.connect('vp2', 'vp0')
    // Well before the request timer (2000 ms) would re-send it to everyone.
    await until(n, () => n.peer('vp0').ledger.hasTransaction(tx.txid), 300)
    const reqs = n.delivered.filter(carriesRequest).map((m) => `${m.from}>${m.to}`)
    expect(reqs).toEqual(['vp2>vp0'])
    expect(pbftOf(n, 'vp2').status()).toMatchObject({ outstanding: 0, unsent: 0 })
  })

  it('commits a transaction once however often and wherever it is submitted: while outstanding, after commit, across a view change', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000 })
    n.submit('vp1', 'x=1', 'same')
    n.submit('vp2', 'x=1', 'same')
    n.submit('vp0', 'x=1', 'same')
    await n.advance(500)
    n.submit('vp3', 'x=1', 'same')
    n.submit('vp1', 'x=1', 'same')
    await n.advance(500)
    // Held by two backups when the primary goes: both re-send it to the next one.
    n.isolate('vp0')
    n.submit('vp2', 'y=1', 'again')
    n.submit('vp3', 'y=1', 'again')
    await until(n, () => n.peer('vp1').ledger.hasTransaction('again'), 20_000)
    n.submit('vp1', 'y=1', 'again')
    n.submit('vp3', 'x=1', 'same')
    await n.advance(3000)
    const live = ['vp1', 'vp2', 'vp3']
    expectSameChains(live.map((id) => n.peer(id)))
    expect(committed(n, 'vp1').sort()).toEqual(['again', 'same'])
    for (const id of live) expect(pbftOf(n, id).status().outstanding).toBe(0)
  })
})

describe('pbft: the one way an accepted request is let go while its replica runs', () => {
  it('drops requests past maxOutstanding, counted and logged, never silently', async () => {
    const n = await setup({ maxOutstanding: 2 })
    for (let i = 0; i < 4; i++) n.submit('vp1', `m${i}=1`)
    await n.flush()
    expect(pbftOf(n, 'vp1').status()).toMatchObject({ outstanding: 2, dropped: 2 })
    expect(n.peer('vp1').logged('warn', 'pbft request dropped: maxOutstanding requests wait here')).toHaveLength(1)
  })
})

describe('pbft: a restarted replica joins the current view', () => {
  const options = { batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000 }

  /** vp0 (the first primary) is killed, the others move to view 1, and vp0 comes back empty. */
  async function restartOldPrimary(opts: { dropViewStatus?: boolean } = {}) {
    const n = await setup(options)
    n.submit('vp1', 'before=1')
    await n.advance(300)
    await n.removePeer('vp0')
    n.submit('vp1', 'during=1')
    await until(n, () => ['vp1', 'vp2', 'vp3'].every((id) => pbftOf(n, id).status().view === 1 && pbftOf(n, id).status().active === true), 10_000)
    await until(n, () => n.peer('vp2').ledger.hasTransaction('tx-2'), 2000)
    if (opts.dropViewStatus === true) n.filter = (m) => !pbftMessages(m).some((x) => x.t === 'vs')
    const fresh = addReplica(n, 'vp0', options)
    for (const other of ['vp1', 'vp2', 'vp3']) n.connect('vp0', other)
    fresh.start()
    return n
  }

  it('asks the others when it starts, joins their view at once, votes, and its requests commit with one more validator paused', async () => {
    const n = await restartOldPrimary()
    await n.flush()
    expect(pbftOf(n, 'vp0').status()).toMatchObject({ view: 1, active: true })
    // vp2 pauses: vp0, vp1 and vp3 are 2f+1 in view 1 only if vp0 votes.
    n.isolate('vp2')
    const txs = Array.from({ length: 5 }, (_, i) => n.submit(i % 2 === 0 ? 'vp0' : 'vp3', `after${i}=1`))
    // No view change needed: well within the request timeout.
    await until(n, () => txs.every((tx) => ['vp0', 'vp1', 'vp3'].every((id) => n.peer(id).ledger.hasTransaction(tx.txid))), 500)
    expectSameChains(['vp0', 'vp1', 'vp3'].map((id) => n.peer(id)))
    for (const id of ['vp0', 'vp1', 'vp3']) expect(pbftOf(n, id).status().view).toBe(1)
  })

  it('joins on f+1 replicas\' votes in a later view when no view status reaches it', async () => {
    const n = await restartOldPrimary({ dropViewStatus: true })
    await n.advance(100)
    expect(pbftOf(n, 'vp0').status().view).toBe(0)
    n.submit('vp1', 'load=1')
    await until(n, () => pbftOf(n, 'vp0').status().view === 1 && pbftOf(n, 'vp0').status().active === true, 300)
    const tx = n.submit('vp0', 'mine=1')
    await until(n, () => ['vp1', 'vp2', 'vp3'].every((id) => n.peer(id).ledger.hasTransaction(tx.txid)), 500)
  })
})

describe('pbft: a replica that transferred state while the last batches were ordered', () => {
  it('asks for the head once the transfer is done, so it reaches it with no more traffic', async () => {
    const options = { batchSize: 1, k: 5, logMultiplier: 2, batchTimeoutMs: 50 }
    // Each block fetch takes 200 virtual ms: the last batches are ordered while vp3 transfers,
    // their messages beyond its watermarks then, and nothing comes after them.
    const n = track(new FakeNetwork({ fetchDelayMs: 200 }))
    for (const id of ['vp0', 'vp1', 'vp2', 'vp3']) addReplica(n, id, options)
    n.connectAll()
    await n.start()
    for (let i = 0; i < 23; i++) {
      n.submit('vp1', `r${i}=1`)
      await n.advance(20)
    }
    await n.removePeer('vp3')
    const fresh = addReplica(n, 'vp3', options)
    for (const other of ['vp0', 'vp1', 'vp2']) n.connect('vp3', other)
    fresh.start()
    for (let i = 0; i < 8; i++) {
      n.submit('vp1', `late${i}=1`)
      await n.advance(20)
    }
    await n.advance(10_000)
    expect(fresh.status().transfers).toBeGreaterThanOrEqual(1)
    expect(n.peer('vp3').ledger.height()).toBe(n.peer('vp1').ledger.height())
    expectSameChains(n.stacks())
  })
})
